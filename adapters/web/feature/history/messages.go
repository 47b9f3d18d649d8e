package history

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"history.title":  {ID: "Riwayat saya", EN: "My history"},
	"history.hint":   {ID: "Semua yang tercatat di buku besar tentang Anda: oleh siapa, dalam peran apa, kapan terjadi dan kapan dicatat. Terbaru di atas.", EN: "Everything the ledger recorded about you: by whom, in which role, when it happened and when it was recorded. Newest first."},
	"history.what":   {ID: "Peristiwa", EN: "Event"},
	"history.by":     {ID: "Dicatat oleh", EN: "Recorded by"},
	"history.me":     {ID: "Anda sendiri", EN: "You"},
	"history.myrole": {ID: "Peran Anda", EN: "Your role"},
	"history.older":  {ID: "Lebih lama", EN: "Older"},
	"history.none":   {ID: "Belum ada yang tercatat tentang Anda.", EN: "Nothing has been recorded about you yet."},
}
