// Package officials is the dashboard's form for registering an official
// without a NIP (a minister, a regent, a mayor…) whom reporting lines name
// as "official:{id}": POST /v1/officials, for HR administrators
// (authz.ManageMasterData). It is its own feature so that the master-data
// feature's owner can link to it (from the units or employees pages) by
// its path, OfficialsPath, without an import.
package officials

import (
	"context"
	"embed"
	"net/http"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/employee"
)

//go:embed *.html
var files embed.FS

// NewOfficialPath is the "register an official" form.
const NewOfficialPath = "/data-induk/pejabat/baru"

// Feature is the officials' pages.
type Feature struct {
	site    *page.Site
	newForm *page.Template[*newPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, newForm: page.MustParse[*newPage](site, files, "new.html", messages)}
}

// Routes registers the form.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+NewOfficialPath, f.show)
	r.Page("POST "+NewOfficialPath, f.post)
}

// newPage is the form.
type newPage struct {
	page.Base
	// Form is the form's state.
	Form form.State
	// Kinds are the choices of office.
	Kinds []string
	// Unit is the picker of the unit an official leads (empty: none).
	Unit page.UnitPicker
	// Created is the identity of the official just registered (?dibuat=).
	Created string
}

// newInput is what the form posts: the body of POST /v1/officials.
type newInput struct {
	ID     string `form:"id"`
	Kind   string `form:"kind"`
	Title  string `form:"title"`
	UnitID string `form:"unit_id"`
}

// kinds are the offices of employee.OfficialKind, in the order of the
// form's list.
var kinds = []employee.OfficialKind{employee.Minister, employee.CoordinatingMinister, employee.HeadOfAgency,
	employee.Governor, employee.Regent, employee.Mayor}

func (f *Feature) page(r *page.Request, st form.State) (*newPage, error) {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return nil, err
	}
	d := &newPage{Base: r.Base("officials", "officials.new.title"), Form: st}
	for _, k := range kinds {
		d.Kinds = append(d.Kinds, string(k))
	}
	if c := r.URL.Query().Get("dibuat"); employee.ValidOfficialID(c) {
		d.Created = employee.OfficialPrefix + c
	}
	units, err := r.App().Units(r.Context(), r.User)
	if err != nil {
		return nil, err
	}
	d.Unit = st.UnitPicker("unit_id", units, "")
	return d, nil
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	d, err := f.page(r, form.New(r, NewOfficialPath))
	if err != nil {
		return err
	}
	return f.newForm.Render(w, http.StatusOK, d)
}

func (f *Feature) post(w http.ResponseWriter, r *page.Request) error {
	var in newInput
	return form.Post(w, r, &in, form.Step{
		NextOf: func() string { return page.Link(NewOfficialPath, "dibuat", in.ID) },
		Check: func(st *form.State) {
			if units, err := r.App().Units(r.Context(), r.User); err != nil {
				st.AddProblem("", textUnitsUnread)
			} else {
				st.CheckUnit("unit_id", in.UnitID, units)
			}
		},
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.Employees.RegisterOfficial(ctx, req, employee.RegisterOfficial{ID: in.ID, Kind: in.Kind, Title: in.Title, UnitID: in.UnitID})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.page(r, st)
			if err != nil {
				return err
			}
			return f.newForm.Render(w, status, d)
		},
	})
}

// textUnitsUnread is the form's problem when the caller's units could not
// be read to check the unit picked (nothing is recorded).
var textUnitsUnread = i18n.Text{ID: "Daftar unit tidak dapat dibaca; coba lagi.", EN: "The units could not be read; try again."}
