// Package home is the dashboard's start page: the caller's SKPs (or every
// SKP, for the roles that see them all), the unit dashboards for the
// report roles, and links to the registers the caller may open. (The
// inbox of what waits for the caller is feature inbox, in the navigation.)
package home

import (
	"embed"
	"net/http"

	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

//go:embed *.html
var files embed.FS

// Feature is the start page.
type Feature struct {
	site *page.Site
	home *page.Template[*Home]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, home: page.MustParse[*Home](site, files, "home.html", messages)}
}

// Routes registers the start page.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /{$}", f.show)
}

// Home is the start page's model.
type Home struct {
	page.Base
	// Units are the units, depth first, for the report roles.
	Units []page.UnitRow
	// SKPs are the SKPs the caller may see (at most 100).
	SKPs []skps.Summary
	// SeesAll is true when SKPs are every SKP, not only the caller's.
	SeesAll bool
	// Reports, Register and Audit say which links the caller is offered.
	Reports, Register, Audit bool
	// MasterData: the caller manages master data (HR): the page links to
	// the master data and to the "register an official" form.
	MasterData bool
	// CurrentYear is this year in the policy's zone.
	CurrentYear int
	// Waiting and Overdue count the caller's inbox (feature inbox).
	Waiting, Overdue int
	// Employee is true when the caller is a registered employee: the page
	// links to their history and to drafting an SKP.
	Employee bool
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	ctx := r.Context()
	a := r.App()
	d := &Home{Base: r.Base("home", "home.title"), SeesAll: r.Can(authz.ListAllSKPs), Reports: r.Can(authz.ReadReports),
		Register: r.Can(authz.ReadObjectionRegister), Audit: r.Can(authz.ReadAudit), CurrentYear: a.Today().Year(),
		MasterData: r.Can(authz.ManageMasterData)}
	if d.Reports {
		units, err := a.Config().Directory.Units(ctx)
		if err != nil {
			return err
		}
		d.Units = page.UnitTree(units)
	}
	list, _, err := a.ListSKPs(ctx, r.User, skps.Query{Limit: 100})
	if err != nil {
		return err
	}
	d.SKPs = list
	waiting, err := a.Inbox(ctx, r.User, "")
	if err != nil {
		return err
	}
	for _, it := range waiting {
		d.Waiting++
		if it.Overdue {
			d.Overdue++
		}
	}
	d.Names = f.site.Names(ctx, r.User.ID)
	d.Employee = d.Names[r.User.ID] != ""
	return f.home.Render(w, http.StatusOK, d)
}
