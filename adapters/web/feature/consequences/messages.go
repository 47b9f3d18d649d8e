package consequences

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"csq.title":            {ID: "Konsekuensi hasil penilaian", EN: "Consequences of the results"},
	"csq.intro":            {ID: "Angka Kredit jabatan fungsional, faktor kinerja TPP, dan daftar penghargaan, hanya dari penilaian tahunan yang telah final. Perubahan sesudahnya tidak menghapus apa pun: ia diterbitkan sebagai koreksi yang merujuk terbitan semula.", EN: "Angka Kredit of functional posts, the TPP performance factor and the recognition list, only from final annual evaluations. A later change deletes nothing: it is published as a correction that refers to the original."},
	"csq.choose":           {ID: "Pilih tahun dan unit", EN: "Choose the year and unit"},
	"csq.unit.hint":        {ID: "Kode unit; kosongkan untuk seluruh instansi.", EN: "Unit code; leave empty for the whole agency."},
	"csq.final":            {ID: "Penilaian final", EN: "Final evaluations"},
	"csq.recognised":       {ID: "Sangat Baik (penghargaan)", EN: "Sangat Baik (recognition)"},
	"csq.corrections":      {ID: "Koreksi", EN: "Corrections"},
	"csq.corrections.why":  {ID: "Koreksi diterbitkan ketika predikat final berubah (keberatan yang diputus sesudah final, atau revisi); penarikan ketika SKP dibatalkan sesudahnya.", EN: "A correction is published when a final predikat changes (an objection decided after finality, or a revision); a retraction when the SKP is cancelled afterwards."},
	"csq.total.ak":         {ID: "Jumlah Angka Kredit", EN: "Total Angka Kredit"},
	"csq.current":          {ID: "Terbitan yang berlaku", EN: "Current publications"},
	"csq.current.caption":  {ID: "Terbitan terakhir setiap penilaian, dengan peristiwa sumbernya", EN: "The latest publication of each evaluation, with its source events"},
	"csq.jenjang":          {ID: "Jenjang (koefisien)", EN: "Level (coefficient)"},
	"csq.months":           {ID: "Bulan", EN: "Months"},
	"csq.ak":               {ID: "Angka Kredit", EN: "Angka Kredit"},
	"csq.tpp":              {ID: "Faktor TPP", EN: "TPP factor"},
	"csq.kind":             {ID: "Jenis", EN: "Kind"},
	"csq.kind.original":    {ID: "Terbitan", EN: "Original"},
	"csq.kind.correction":  {ID: "Koreksi", EN: "Correction"},
	"csq.kind.retraction":  {ID: "Ditarik (SKP dibatalkan)", EN: "Retracted (SKP cancelled)"},
	"csq.sources":          {ID: "Sumber", EN: "Sources"},
	"csq.events":           {ID: "peristiwa", EN: "events"},
	"csq.position":         {ID: "posisi", EN: "position"},
	"csq.corrects":         {ID: "mengoreksi", EN: "corrects"},
	"csq.none":             {ID: "Belum ada penilaian tahunan yang final.", EN: "No annual evaluation is final yet."},
	"csq.recognition":      {ID: "Daftar penghargaan (Sangat Baik)", EN: "Recognition list (Sangat Baik)"},
	"csq.recognition.none": {ID: "Belum ada pegawai dengan predikat Sangat Baik yang final.", EN: "No employee has a final Sangat Baik yet."},
}
