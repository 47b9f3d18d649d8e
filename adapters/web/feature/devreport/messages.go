package devreport

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"dev.title":           {ID: "Laporan pengembangan kompetensi", EN: "Development report"},
	"dev.intro":           {ID: "Tindakan pengembangan yang melewati tenggat tanpa hasil, dan kesenjangan kompetensi yang paling sering ditemukan: bahan rencana pelatihan BKD.", EN: "Development actions past their due date with no outcome, and the competency gaps found most often: input for the BKD's training plan."},
	"dev.choose":          {ID: "Pilih tahun dan unit", EN: "Choose the year and unit"},
	"dev.unit.hint":       {ID: "Kode unit (beserta sub-unitnya); kosongkan untuk seluruh instansi.", EN: "Unit code (with its sub-units); leave empty for the whole agency."},
	"dev.actions":         {ID: "Tindakan pengembangan", EN: "Development actions"},
	"dev.open":            {ID: "Belum ada hasil", EN: "Without an outcome"},
	"dev.overdue":         {ID: "Melewati tenggat", EN: "Overdue"},
	"dev.gaps":            {ID: "Kesenjangan kompetensi", EN: "Competency gaps"},
	"dev.asof":            {ID: "Per tanggal", EN: "As of"},
	"dev.overdue.caption": {ID: "Tindakan pengembangan yang melewati tenggat, yang paling lama lebih dulu", EN: "Overdue development actions, the most overdue first"},
	"dev.overdue.none":    {ID: "Tidak ada tindakan pengembangan yang melewati tenggat.", EN: "No development action is overdue."},
	"dev.action":          {ID: "Tindakan", EN: "Action"},
	"dev.competency":      {ID: "Kompetensi", EN: "Competency"},
	"dev.due":             {ID: "Tenggat", EN: "Due"},
	"dev.days":            {ID: "Hari terlambat", EN: "Days overdue"},
	"dev.kind.TRAINING":   {ID: "pelatihan", EN: "training"},
	"dev.kind.MENTORING":  {ID: "mentoring", EN: "mentoring"},
	"dev.kind.ASSIGNMENT": {ID: "penugasan", EN: "assignment"},
	"dev.top":             {ID: "Kesenjangan kompetensi terbanyak", EN: "Most frequent competency gaps"},
	"dev.top.caption":     {ID: "Kompetensi menurut jumlah kesenjangan yang dicatat", EN: "Competencies by the number of gaps recorded"},
	"dev.count":           {ID: "Jumlah", EN: "Count"},
	"dev.employees":       {ID: "Pegawai", EN: "Employees"},
	"dev.share":           {ID: "Porsi", EN: "Share"},
	"dev.top.none":        {ID: "Belum ada kesenjangan kompetensi yang dicatat.", EN: "No competency gap is recorded yet."},
}
