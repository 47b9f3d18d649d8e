// Package evaluation is the dashboard's evaluation forms: the appraiser's
// inbox of periods to rate, rating a period (the predikat derived by the
// matrix, shown before confirming, beside the indicators' achievement),
// issuing and delivering, and the employee's acknowledgement of receipt.
//
// It is wired (web.New registers it) and has no page yet: the next pages
// follow the pattern of package masterdata (a page struct embedding
// page.Base and a form.State, a template in this directory, the words in
// messages.go, the commands run through form.Submit on the application
// layer's services). See docs/web.md.
package evaluation

import "github.com/kinerja-ledger/kinerja/adapters/web/page"

// Feature is the evaluation pages.
type Feature struct {
	site *page.Site
}

// New returns the feature on site.
func New(site *page.Site) *Feature { return &Feature{site: site} }

// Routes registers the evaluation pages (none yet).
func (f *Feature) Routes(r *page.Router) {}
