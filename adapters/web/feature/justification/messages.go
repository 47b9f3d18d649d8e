package justification

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"justification.title":  {ID: "Justifikasi distribusi predikat", EN: "Justify the distribution of predikat"},
	"justification.hint":   {ID: "Bila sebaran predikat pegawai unit ini menyimpang dari pola SE MenPANRB 3/2023 untuk predikat organisasinya, pimpinan satu tingkat di atas mencatat alasannya. Isikan jumlah pegawai per predikat sesuai rekap unit.", EN: "When the unit's distribution of predikat deviates from the pattern of SE MenPANRB 3/2023 for its organisation predikat, the leader one level up records why. Enter the number of employees per predikat from the unit's recap."},
	"justification.counts": {ID: "Jumlah pegawai per predikat", EN: "Employees per predikat"},
	"justification.text":   {ID: "Alasan penyimpangan", EN: "Why the distribution deviates"},
	"justification.submit": {ID: "Catat justifikasi", EN: "Record the justification"},
	"justification.done":   {ID: "Justifikasi telah dicatat.", EN: "The justification was recorded."},
	"justification.before": {ID: "Justifikasi yang telah dicatat", EN: "Justifications recorded"},
	"justification.none":   {ID: "Belum ada.", EN: "None yet."},
}
