package people

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"people.title":          {ID: "Cari pegawai", EN: "Find employees"},
	"people.lead":           {ID: "Cari menurut nama (tanpa membedakan huruf besar dan tanda aksen), awal NIP, unit beserta sub-unitnya, atau jenis jabatan.", EN: "Search by name (ignoring case and accents), the first digits of the NIP, a unit with its sub-units, or the kind of post."},
	"people.name":           {ID: "Nama", EN: "Name"},
	"people.match":          {ID: "Cocokkan nama", EN: "Match the name"},
	"people.match.contains": {ID: "memuat", EN: "contains"},
	"people.match.prefix":   {ID: "diawali", EN: "starts with"},
	"people.nip":            {ID: "Awal NIP", EN: "NIP starts with"},
	"people.unit":           {ID: "Unit", EN: "Unit"},
	"people.kind":           {ID: "Jenis jabatan", EN: "Kind of post"},
	"people.all":            {ID: "Semua", EN: "All"},
	"people.search":         {ID: "Cari", EN: "Search"},
	"people.caption":        {ID: "Pegawai yang ditemukan, urut nama lalu NIP", EN: "Employees found, by name then NIP"},
	"people.continued":      {ID: "lanjutan", EN: "continued"},
	"people.col.name":       {ID: "Nama", EN: "Name"},
	"people.col.title":      {ID: "Jabatan", EN: "Post"},
	"people.more":           {ID: "Tampilkan berikutnya", EN: "Show more"},
	"people.none":           {ID: "Tidak ada pegawai yang cocok.", EN: "No employee matches."},
	"people.skp":            {ID: "Status SKP", EN: "SKP status"},
	"people.year":           {ID: "Tahun SKP", EN: "SKP year"},
	"people.skp.none":       {ID: "Belum ada SKP", EN: "No SKP"},
}
