// Package history is the dashboard's "my history": what the ledger
// recorded about the signed-in person — on their own SKPs and on those
// they take part in (as appraiser, superior, colleague giving feedback),
// on their employee record and reporting line — by whom, in which role,
// when it happened and when it was recorded, newest first, from the
// timeline read model (app.Timeline, which decides who may read it).
package history

import (
	"embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

//go:embed *.html
var files embed.FS

// Path is the page's path.
const Path = "/riwayat-saya"

// pageSize is how many items a page shows.
const pageSize = 50

// Feature is the history page.
type Feature struct {
	site *page.Site
	mine *page.Template[*historyPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, mine: page.MustParse[*historyPage](site, files, "history.html", messages)}
}

// Routes registers the page.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+Path, f.show)
}

// historyPage is the caller's history.
type historyPage struct {
	page.Base
	Items []item
	// Next is the link to older items ("" on the last page).
	Next string
	// Position is how far the timeline had read (-1: unknown).
	Position int64
}

// item is one recorded event about the caller.
type item struct {
	timeline.Item
	// What is the event's name in the page's language.
	What string
	// SKPID is the SKP the event belongs to ("" for other streams): the
	// page links to it as it was recorded then.
	SKPID string
	// Own is true when the caller recorded it themselves.
	Own bool
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	var before eventstore.Position
	if s := r.URL.Query().Get("sebelum"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			return page.BadParam("error.after", s)
		}
		before = eventstore.Position(n)
	}
	d := &historyPage{Base: r.Base("history", "history.title"), Position: f.site.Position(r.Context(), timeline.Name)}
	list, err := r.App().Timeline(r.Context(), r.User, r.User.ID, before, pageSize+1)
	if err != nil {
		return err
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		d.Next = page.Link(Path, "sebelum", strconv.FormatUint(uint64(list[pageSize-1].Position), 10))
	}
	nips := []string{r.User.ID}
	for _, it := range list {
		x := item{Item: it, What: d.T("event." + it.Type), Own: it.ActorID == r.User.ID}
		if x.What == "event."+it.Type {
			x.What = it.Summary
		}
		if id, ok := strings.CutPrefix(it.Stream, domain.SKPStreamPrefix); ok {
			x.SKPID = id
		}
		d.Items = append(d.Items, x)
		nips = append(nips, it.ActorID)
	}
	d.Names = f.site.Names(r.Context(), nips...)
	return f.mine.Render(w, http.StatusOK, d)
}
