package home

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"home.draft":          {ID: "Buat SKP baru", EN: "Draft a new SKP"},
	"home.history":        {ID: "Riwayat saya", EN: "My history"},
	"home.title":          {ID: "Beranda", EN: "Home"},
	"home.welcome":        {ID: "Selamat datang,", EN: "Welcome,"},
	"home.units":          {ID: "Dasbor unit", EN: "Unit dashboards"},
	"home.units.hint":     {ID: "Pilih unit untuk melihat progres SKP dan distribusi predikat.", EN: "Choose a unit to see SKP progress and the predikat distribution."},
	"home.skps.all":       {ID: "SKP", EN: "SKPs"},
	"home.skps.mine":      {ID: "SKP saya dan yang saya nilai", EN: "My SKPs and those I appraise"},
	"home.skps.none":      {ID: "Belum ada SKP.", EN: "No SKPs yet."},
	"home.more":           {ID: "Lainnya", EN: "More"},
	"home.inbox":          {ID: "Kotak masuk", EN: "Inbox"},
	"home.waiting":        {ID: "menunggu tindakan Anda", EN: "waiting for you"},
	"home.overdue":        {ID: "lewat tenggat", EN: "overdue"},
	"home.year.switch":    {ID: "Pilih tahun", EN: "Choose the year"},
	"home.cut":            {ID: "Daftar dipotong; gunakan dasbor unit atau pencarian pegawai untuk mempersempit.", EN: "The list is cut; use a unit dashboard or the employee search to narrow it."},
	"home.employees":      {ID: "pegawai", EN: "employees"},
	"home.missing":        {ID: "belum ada SKP", EN: "without an SKP"},
	"home.subunits":       {ID: "sub-unit", EN: "sub-units"},
	"home.subunits.below": {ID: "unit di bawahnya (lihat dasbor unit)", EN: "units below (see the unit dashboard)"},
	"home.masterdata":     {ID: "Data induk (unit dan pegawai)", EN: "Master data (units and employees)"},
	"home.official.new":   {ID: "Daftarkan pejabat (Plt/Plh, pejabat penilai dari luar)", EN: "Register an official (Plt/Plh, an appraising official from outside)"},
}
