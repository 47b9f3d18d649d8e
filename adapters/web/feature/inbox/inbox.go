// Package inbox is the dashboard's inbox ("Kotak masuk"): what waits for
// the signed-in person, the nearest deadline first — SKPs to submit,
// establish or return, periods to rate, evaluations to issue, objections
// to decide (a Plt/Plh's or an escalated decider's too), explanations
// asked, an amended plan to sign, a distribution to justify (BLOCK mode;
// linked to the justification form), and an open objection window with
// the days left. The items are the deadline process manager's
// (projections/deadlines), read through the application layer
// (app.Inbox), which shows a person their own inbox only.
package inbox

import (
	"embed"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

//go:embed *.html
var files embed.FS

// Path is the inbox's address.
const Path = "/kotak-masuk"

// Feature is the inbox.
type Feature struct {
	site  *page.Site
	inbox *page.Template[*Inbox]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, inbox: page.MustParse[*Inbox](site, files, "inbox.html", messages)}
}

// Routes registers the inbox.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+Path, f.show)
}

// Inbox is the page's model.
type Inbox struct {
	page.Base
	// Items are what waits for the caller, the nearest deadline first.
	Items []Row
	// Overdue counts the items past their deadline.
	Overdue int
}

// Row is one item as the page shows it.
type Row struct {
	app.InboxItem
	// What is the item's kind in words; Left how its deadline stands.
	What, Left string
	// Justify is the justification form of a JUSTIFY_DISTRIBUTION item
	// (the feature justification's address, written here: a feature
	// imports no other); "" for the others, which link to their SKP.
	Justify string
}

// justifyPath is the justification form of unit's distribution for per
// (justification.FormPath).
func justifyPath(unit, per string) string {
	return "/unit/" + url.PathEscape(unit) + "/distribusi/" + url.PathEscape(per) + "/justifikasi"
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	items, err := r.App().Inbox(r.Context(), r.User, "")
	if err != nil {
		return err
	}
	d := &Inbox{Base: r.Base("inbox", "inbox.title"), Items: make([]Row, len(items))}
	for i, it := range items {
		d.Items[i] = Row{InboxItem: it, What: What(d.Lang, it), Left: DaysLeft(d.Lang, it)}
		if it.Kind == deadlines.JustifyDistribution {
			d.Items[i].Justify = justifyPath(it.UnitID, it.Period)
		}
		if it.Overdue {
			d.Overdue++
		}
	}
	return f.inbox.Render(w, http.StatusOK, d)
}

// What names what an item waits for, in lang.
func What(lang string, it app.InboxItem) string {
	return msg(lang, "inbox.kind."+string(it.Kind))
}

// DaysLeft says how the item's deadline stands, in lang.
func DaysLeft(lang string, it app.InboxItem) string {
	switch n := it.DaysLeft; {
	case it.Overdue && n >= 0:
		return msg(lang, "inbox.due.passed")
	case n < 0:
		return fmtN(msg(lang, "inbox.due.late"), -n)
	case n == 0:
		return msg(lang, "inbox.due.today")
	default:
		return fmtN(msg(lang, "inbox.due.left"), n)
	}
}

func msg(lang, key string) string { return i18n.For(messages).T(lang, key) }

// fmtN puts n in place of {n} in text.
func fmtN(text string, n int) string { return strings.ReplaceAll(text, "{n}", strconv.Itoa(n)) }
