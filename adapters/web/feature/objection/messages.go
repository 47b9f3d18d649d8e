package objection

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"objections.title":         {ID: "Register keberatan", EN: "Objection register"},
	"objections.caption":       {ID: "Keberatan atas hasil penilaian kinerja", EN: "Objections to performance evaluations"},
	"objections.count":         {ID: "Jumlah", EN: "Count"},
	"objections.overdue":       {ID: "Lewat batas keputusan", EN: "Decision overdue"},
	"objections.overdue.badge": {ID: "Lewat batas", EN: "Overdue"},
	"objections.judged":        {ID: "dinilai pada", EN: "as judged at"},
	"objections.filed":         {ID: "Diajukan", EN: "Filed"},
	"objections.window":        {ID: "Batas pengajuan", EN: "Filing deadline"},
	"objections.due":           {ID: "Batas keputusan", EN: "Decision due"},
	"objections.outcome":       {ID: "Hasil", EN: "Outcome"},
	"objections.none":          {ID: "Tidak ada keberatan.", EN: "No objections."},
	"objections.explanations":  {ID: "keterangan diberikan/diminta:", EN: "explanations given/asked:"},
}
