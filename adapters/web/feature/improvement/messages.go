package improvement

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"improvement.title":                  {ID: "Rencana perbaikan kinerja", EN: "Improvement plan"},
	"improvement.crumbs":                 {ID: "Jejak navigasi", EN: "Breadcrumbs"},
	"improvement.hint":                   {ID: "Predikat akhir BUTUH PERBAIKAN atau lebih rendah memerlukan rencana perbaikan kinerja: sasaran, tindakan, dan tanggal tindak lanjut (bawaan enam bulan setelah penilaian final). Pengingat dikirim ke kotak masuk pejabat penilai.", EN: "A final predikat of BUTUH PERBAIKAN or lower calls for an improvement plan: goals, actions and a follow-up date (by default six months after the evaluation became final). Reminders go to the appraiser's inbox."},
	"improvement.period":                 {ID: "Periode", EN: "Period"},
	"improvement.notneeded":              {ID: "Predikat ini tidak memerlukan rencana perbaikan kinerja.", EN: "This predikat needs no improvement plan."},
	"improvement.notfinal":               {ID: "Rencana perbaikan dibuka setelah penilaian final (masa keberatan berakhir atau keberatan diputus).", EN: "The plan is opened once the evaluation is final (the objection window over, or the objection decided)."},
	"improvement.noright":                {ID: "Rencana perbaikan dibuka dan hasilnya dicatat oleh pejabat penilai atau admin kepegawaian.", EN: "The appraiser in effect or HR opens the plan and records its result."},
	"improvement.goals":                  {ID: "Sasaran perbaikan", EN: "Goals"},
	"improvement.actions":                {ID: "Tindakan (pembinaan, pelatihan, pendampingan)", EN: "Actions (coaching, training, mentoring)"},
	"improvement.followup":               {ID: "Tanggal tindak lanjut", EN: "Follow-up date"},
	"improvement.followup.hint":          {ID: "Kosongkan untuk enam bulan setelah penilaian final.", EN: "Leave empty for six months after finality."},
	"improvement.open":                   {ID: "Buka rencana perbaikan", EN: "Open the improvement plan"},
	"improvement.opened":                 {ID: "Dibuka oleh", EN: "Opened by"},
	"improvement.result":                 {ID: "Hasil", EN: "Result"},
	"improvement.note":                   {ID: "Catatan hasil", EN: "Note on the result"},
	"improvement.record":                 {ID: "Catat hasil", EN: "Record the result"},
	"improvement.pending":                {ID: "Hasil belum dicatat.", EN: "The result is not recorded yet."},
	"improvement.done.buka":              {ID: "Rencana perbaikan telah dibuka.", EN: "The improvement plan was opened."},
	"improvement.done.hasil":             {ID: "Hasil rencana perbaikan telah dicatat.", EN: "The improvement plan's result was recorded."},
	"improvement.result.IMPROVED":        {ID: "Membaik", EN: "Improved"},
	"improvement.result.PARTLY_IMPROVED": {ID: "Membaik sebagian", EN: "Partly improved"},
	"improvement.result.NOT_IMPROVED":    {ID: "Tidak membaik", EN: "Not improved"},
}
