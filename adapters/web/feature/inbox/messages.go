package inbox

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"inbox.title":   {ID: "Kotak masuk", EN: "Inbox"},
	"inbox.lead":    {ID: "Yang menunggu tindakan Anda, tenggat terdekat lebih dulu. Pengingat dikirim beberapa hari sebelum tenggat.", EN: "What waits for you, the nearest deadline first. Reminders go out a few days before each deadline."},
	"inbox.none":    {ID: "Tidak ada yang menunggu Anda.", EN: "Nothing waits for you."},
	"inbox.count":   {ID: "Menunggu", EN: "Waiting"},
	"inbox.overdue": {ID: "Lewat tenggat", EN: "Overdue"},
	"inbox.caption": {ID: "Yang menunggu Anda", EN: "What waits for you"},
	"inbox.what":    {ID: "Tindakan", EN: "Action"},
	"inbox.due":     {ID: "Tenggat", EN: "Deadline"},
	"inbox.left":    {ID: "Sisa waktu", EN: "Time left"},
	"inbox.open":    {ID: "Buka SKP", EN: "Open the SKP"},
	"inbox.justify": {ID: "Buka formulir justifikasi", EN: "Open the justification form"},
	"inbox.unit":    {ID: "Unit", EN: "Unit"},
	"inbox.link":    {ID: "Tautan", EN: "Link"},

	"inbox.kind.SUBMIT_SKP":            {ID: "Ajukan SKP untuk ditetapkan", EN: "Submit the SKP for establishment"},
	"inbox.kind.ESTABLISH_SKP":         {ID: "Tetapkan atau kembalikan SKP", EN: "Establish or return the SKP"},
	"inbox.kind.RATE_PERIOD":           {ID: "Nilai periode yang telah berakhir", EN: "Rate the period that has ended"},
	"inbox.kind.ISSUE_EVALUATION":      {ID: "Terbitkan dan serahkan hasil evaluasi", EN: "Issue and deliver the evaluation"},
	"inbox.kind.OBJECTION_WINDOW":      {ID: "Batas waktu mengajukan keberatan", EN: "Last day to file an objection"},
	"inbox.kind.DECIDE_OBJECTION":      {ID: "Putuskan keberatan", EN: "Decide the objection"},
	"inbox.kind.GIVE_EXPLANATION":      {ID: "Berikan keterangan atas keberatan", EN: "Give the explanation asked for the objection"},
	"inbox.kind.SIGN_AMENDED_PLAN":     {ID: "Tandatangani rencana SKP yang diubah", EN: "Sign the amended plan"},
	"inbox.kind.JUSTIFY_DISTRIBUTION":  {ID: "Beri justifikasi distribusi predikat unit (penerbitan tertahan, mode BLOCK)", EN: "Justify the unit's predikat distribution (issuing is held, BLOCK mode)"},
	"inbox.kind.FINALISE_EVALUATION":   {ID: "Pencatatan final oleh sistem", EN: "Finality recorded by the system"},
	"inbox.kind.OPEN_IMPROVEMENT_PLAN": {ID: "Buka rencana perbaikan kinerja", EN: "Open the improvement plan"},
	"inbox.kind.IMPROVEMENT_FOLLOW_UP": {ID: "Tindak lanjut rencana perbaikan kinerja", EN: "Follow up the improvement plan"},
	"inbox.kind.IMPROVEMENT_RESULT":    {ID: "Catat hasil rencana perbaikan kinerja", EN: "Record the improvement plan's result"},

	"inbox.due.left":   {ID: "sisa {n} hari", EN: "{n} days left"},
	"inbox.due.today":  {ID: "hari ini", EN: "today"},
	"inbox.due.passed": {ID: "tenggat telah lewat", EN: "the deadline has passed"},
	"inbox.due.late":   {ID: "terlambat {n} hari", EN: "{n} days overdue"},
}
