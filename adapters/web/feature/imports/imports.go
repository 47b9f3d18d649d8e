// Package imports is the dashboard's bulk imports for HR administrators:
// units, employees and reporting lines from a spreadsheet, checked row by
// row before anything is recorded, each row one keyed command (so that an
// import sent twice records once).
//
// It is wired (web.New registers it) and has no page yet: the next pages
// follow the pattern of package masterdata (a page struct embedding
// page.Base and a form.State, a template in this directory, the words in
// messages.go, the commands run through form.Submit on the application
// layer's services). See docs/web.md.
package imports

import "github.com/kinerja-ledger/kinerja/adapters/web/page"

// Feature is the import pages.
type Feature struct {
	site *page.Site
}

// New returns the feature on site.
func New(site *page.Site) *Feature { return &Feature{site: site} }

// Routes registers the import pages (none yet).
func (f *Feature) Routes(r *page.Router) {}
