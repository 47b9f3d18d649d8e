// Package masterdata is the dashboard's master data, for HR
// administrators: the units, the employees of a unit, an employee's
// reporting line (appraiser and appraiser's superior from a date),
// position or unit (a correction or a move, from a date), and the release
// of an employee to another agency (surat lolos butuh). Its "new unit" form is the
// pattern every form of the dashboard follows:
//
//   - the GET handler fills a page struct (embedding page.Base) with a
//     fresh form.State and renders it; the page offers the form only when
//     the caller may use it (Request.Can, or the domain's answer);
//   - the POST handler decodes the form into an input struct whose `form`
//     tags are the API's field names (form.Decode), runs the command with
//     form.Submit on the application layer's services (keyed by the form's
//     idempotency key: a double submit records once), and on success
//     redirects to the page that shows the result (post-redirect-get);
//   - a form with problems is rendered again, with what the person typed,
//     the problems beside each field, and the status Submit gives.
//
// The server decides again when the command runs (domain/authz through
// the domain service): the page's offer is a courtesy, not the check.
package masterdata

import (
	"context"
	"embed"
	"net/http"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

//go:embed *.html
var files embed.FS

// Paths of the master-data pages.
const (
	UnitsPath   = "/data-induk/unit"
	NewUnitPath = "/data-induk/unit/baru"
)

// Feature is the master-data pages.
type Feature struct {
	site        *page.Site
	units       *page.Template[*unitsPage]
	newUnit     *page.Template[*newUnitPage]
	employees   *page.Template[*employeesPage]
	newEmployee *page.Template[*newEmployeePage]
	employee    *page.Template[*employeePage]
	line        *page.Template[*editEmployeePage]
	position    *page.Template[*editEmployeePage]
	release     *page.Template[*editEmployeePage]
	unit        *page.Template[*unitPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site,
		units:       page.MustParse[*unitsPage](site, files, "units.html", messages),
		newUnit:     page.MustParse[*newUnitPage](site, files, "unit_new.html", messages),
		employees:   page.MustParse[*employeesPage](site, files, "employees.html", messages),
		newEmployee: page.MustParse[*newEmployeePage](site, files, "employee_new.html", messages),
		employee:    page.MustParse[*employeePage](site, files, "employee.html", messages),
		line:        page.MustParse[*editEmployeePage](site, files, "employee_line.html", messages),
		position:    page.MustParse[*editEmployeePage](site, files, "employee_position.html", messages),
		release:     page.MustParse[*editEmployeePage](site, files, "employee_release.html", messages),
		unit:        page.MustParse[*unitPage](site, files, "unit.html", messages)}
}

// Routes registers the master-data pages.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+UnitsPath, f.showUnits)
	r.Page("GET "+NewUnitPath, f.showNewUnit)
	r.Page("POST "+NewUnitPath, f.createUnit)
	r.Page("GET "+UnitsPath+"/{id}", f.showUnit)
	r.Page("POST "+UnitsPath+"/{id}/predikat", f.rateUnit)
	r.Page("POST "+UnitsPath+"/{id}/kepala", f.assignHead)
	r.Page("POST "+UnitsPath+"/{id}/nama", f.renameUnit)
	r.Page("POST "+UnitsPath+"/{id}/zona", f.setZone)
	r.Page("GET "+EmployeesPath, f.showEmployees)
	r.Page("GET "+NewEmployeePath, f.showNewEmployee)
	r.Page("POST "+NewEmployeePath, f.createEmployee)
	r.Page("GET "+EmployeesPath+"/{nip}", f.showEmployee)
	r.Page("GET "+EmployeesPath+"/{nip}/atasan", f.showLine)
	r.Page("POST "+EmployeesPath+"/{nip}/atasan", f.assignLine)
	r.Page("GET "+EmployeesPath+"/{nip}/jabatan", f.showPosition)
	r.Page("POST "+EmployeesPath+"/{nip}/jabatan", f.changePosition)
	r.Page("GET "+EmployeesPath+"/{nip}/lolos-butuh", f.showRelease)
	r.Page("POST "+EmployeesPath+"/{nip}/lolos-butuh", f.releaseTransfer)
}

// unitsPage lists the units.
type unitsPage struct {
	page.Base
	// Units are the page of the units shown, depth first (page.Paginate:
	// a province holds thousands of units, 647 KB of HTML at 2,097);
	// UnitsNav its navigation.
	Units    []page.UnitRow
	UnitsNav page.ListNav
	// CanManage: the caller may register units (the link to the form).
	CanManage bool
	// Created is the unit just registered (?dibuat=), shown as a notice.
	Created string
}

func (f *Feature) showUnits(w http.ResponseWriter, r *page.Request) error {
	d := &unitsPage{Base: r.Base("masterdata", "masterdata.units.title"), CanManage: r.Can(authz.ManageMasterData),
		Created: r.URL.Query().Get("dibuat")}
	units, err := r.App().Units(r.Context(), r.User)
	if err != nil {
		return err
	}
	if d.Units, d.UnitsNav, err = page.Paginate(r, unitsList, page.UnitTree(units), unitsOrder); err != nil {
		return err
	}
	return f.units.Render(w, http.StatusOK, d)
}

// unitsList pages the units of the master data, in the tree's order (a
// page of 250 rows is ≈ 80 KB of HTML; the 2,000-employee agency's 212
// units fit on one).
var unitsList = page.ListSpec{Name: "units", Size: 250, Sorts: []string{"tree"}}

// unitsOrder keeps the tree's order (depth first): ties keep the order of
// the items.
var unitsOrder = map[string]func(a, b page.UnitRow) int{"tree": func(page.UnitRow, page.UnitRow) int { return 0 }}

// newUnitPage is the "new unit" form.
type newUnitPage struct {
	page.Base
	// Form is the form's state: key, values, problems.
	Form form.State
	// Parent is the picker of the unit a new unit is placed under (empty:
	// a top unit).
	Parent page.UnitPicker
}

// newUnitInput is what the form posts: the fields of POST /v1/units.
type newUnitInput struct {
	ID       string `form:"id"`
	Name     string `form:"name"`
	ParentID string `form:"parent_id"`
	Reason   string `form:"reason"`
}

func (f *Feature) newUnitPage(r *page.Request, st form.State) (*newUnitPage, error) {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return nil, err
	}
	d := &newUnitPage{Base: r.Base("masterdata", "masterdata.unit.new.title"), Form: st}
	units, err := r.App().Units(r.Context(), r.User)
	if err != nil {
		return nil, err
	}
	d.Parent = st.UnitPicker("parent_id", units, "")
	return d, nil
}

func (f *Feature) showNewUnit(w http.ResponseWriter, r *page.Request) error {
	d, err := f.newUnitPage(r, form.New(r, NewUnitPath))
	if err != nil {
		return err
	}
	return f.newUnit.Render(w, http.StatusOK, d)
}

func (f *Feature) createUnit(w http.ResponseWriter, r *page.Request) error {
	var in newUnitInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		units, err := r.App().Units(r.Context(), r.User)
		if err != nil {
			return err
		}
		st.CheckUnit("parent_id", in.ParentID, units)
		ok = !st.HasProblems()
	}
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, page.Link(UnitsPath, "dibuat", in.ID),
			func(ctx context.Context, svc app.Services, req domain.Request) error {
				req.Reason = in.Reason
				_, err := svc.Units.Register(ctx, req, orgunit.Register{ID: in.ID, Name: in.Name, ParentID: in.ParentID})
				return err
			})
		if err != nil || done {
			return err
		}
	}
	d, err := f.newUnitPage(r, st)
	if err != nil {
		return err
	}
	return f.newUnit.Render(w, status, d)
}
