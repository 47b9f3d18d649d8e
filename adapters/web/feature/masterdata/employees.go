package masterdata

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// Paths of the employee pages (the {nip} ones are built by EmployeePath).
const (
	EmployeesPath   = "/data-induk/pegawai"
	NewEmployeePath = "/data-induk/pegawai/baru"
)

// EmployeePath is the page of employee n (a normalised NIP); suffix ""
// for the page itself, "/atasan" for the reporting-line form, "/jabatan"
// for the position form.
func EmployeePath(n, suffix string) string { return EmployeesPath + "/" + url.PathEscape(n) + suffix }

// employeesPage lists the employees of one unit.
type employeesPage struct {
	page.Base
	// Unit is the unit shown; Picker the filter's unit field (never the
	// whole tree: page.UnitPicker).
	Unit   directory.Unit
	Picker page.UnitPicker
	// Employees are the unit's employees, by name.
	Employees []directory.Employee
	// CanManage: the caller may register employees.
	CanManage bool
}

func (f *Feature) showEmployees(w http.ResponseWriter, r *page.Request) error {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return err
	}
	ctx := r.Context()
	dir := r.App().Config().Directory
	units, err := r.App().Units(ctx, r.User)
	if err != nil {
		return err
	}
	d := &employeesPage{Base: r.Base("masterdata", "masterdata.employees.title"), CanManage: true}
	id := r.URL.Query().Get("unit")
	if id == "" {
		if tree := page.UnitTree(units); len(tree) > 0 {
			id = tree[0].ID
		}
	}
	d.Picker = page.NewUnitPicker(r.Lang, "unit", id, units, "")
	d.Picker.ID = "f-unit"
	if d.Picker.Error != "" {
		// No unit of the caller's agency has this ID: the page answers
		// 404 with the problem beside the field and the units matching
		// what was typed (the picker's search), listing nobody.
		return f.employees.Render(w, http.StatusNotFound, d)
	}
	if id != "" {
		if d.Unit, err = dir.Unit(ctx, id); err != nil {
			return err
		}
		if d.Employees, err = dir.EmployeesIn(ctx, []string{id}); err != nil {
			return err
		}
	}
	slices.SortFunc(d.Employees, func(a, b directory.Employee) int { return strings.Compare(a.Name+a.NIP, b.Name+b.NIP) })
	var nips []string
	for _, e := range d.Employees {
		nips = append(nips, e.AppraiserNIP)
	}
	d.Names = f.site.Names(ctx, nips...)
	return f.employees.Render(w, http.StatusOK, d)
}

// newEmployeePage is the "new employee" form.
type newEmployeePage struct {
	page.Base
	Form form.State
	// Unit is the picker of the employee's unit.
	Unit page.UnitPicker
	// Kinds are the position kinds.
	Kinds []employee.PositionKind
}

// positionInput is the API's {kind, title}.
type positionInput struct {
	Kind  string `form:"kind"`
	Title string `form:"title"`
}

// newEmployeeInput is what the form posts: the fields of POST /v1/employees.
type newEmployeeInput struct {
	NIP      string        `form:"nip"`
	Name     string        `form:"name"`
	UnitID   string        `form:"unit_id"`
	Position positionInput `form:"position"`
}

func (f *Feature) newEmployeePage(r *page.Request, st form.State) (*newEmployeePage, error) {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return nil, err
	}
	units, err := r.App().Units(r.Context(), r.User)
	if err != nil {
		return nil, err
	}
	d := &newEmployeePage{Base: r.Base("masterdata", "masterdata.employee.new.title"), Form: st,
		Unit: st.UnitPicker("unit_id", units, ""), Kinds: employee.PositionKinds()}
	d.Unit.Required = true
	return d, nil
}

func (f *Feature) showNewEmployee(w http.ResponseWriter, r *page.Request) error {
	st := form.New(r, NewEmployeePath)
	st.Values = url.Values{"unit_id": {r.URL.Query().Get("unit")}}
	d, err := f.newEmployeePage(r, st)
	if err != nil {
		return err
	}
	return f.newEmployee.Render(w, http.StatusOK, d)
}

func (f *Feature) createEmployee(w http.ResponseWriter, r *page.Request) error {
	var in newEmployeeInput
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
		st.CheckUnit("unit_id", in.UnitID, units)
		ok = !st.HasProblems()
	}
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, page.Link(EmployeePath(nip.Normalize(in.NIP), ""), "dibuat", "1"),
			func(ctx context.Context, svc app.Services, req domain.Request) error {
				_, err := svc.Employees.Register(ctx, req, employee.Register{NIP: in.NIP, Name: in.Name, UnitID: in.UnitID,
					Position: employee.Position{Kind: employee.PositionKind(in.Position.Kind), Title: in.Position.Title}})
				return err
			})
		if err != nil || done {
			return err
		}
	}
	d, err := f.newEmployeePage(r, st)
	if err != nil {
		return err
	}
	return f.newEmployee.Render(w, status, d)
}

// employeePage is one employee: the record in effect today, the reporting
// lines ever recorded, and the links to the forms that correct them.
type employeePage struct {
	page.Base
	Employee employee.View
	// UnitName is the name of the employee's unit.
	UnitName string
	// CanManage: the caller may correct the record (the forms' links).
	CanManage bool
	// Notice is what was just recorded (?dibuat=, ?diubah=, ?dilepas=).
	Created, Changed, Released bool
}

func (f *Feature) showEmployee(w http.ResponseWriter, r *page.Request) error {
	ctx := r.Context()
	v, err := r.App().Config().Employees.Read(ctx, r.User, r.PathValue("nip"))
	if err != nil {
		return err
	}
	d := &employeePage{Base: r.Base("masterdata", "masterdata.employee.title"), Employee: v, CanManage: r.Can(authz.ManageMasterData),
		Created: r.URL.Query().Get("dibuat") != "", Changed: r.URL.Query().Get("diubah") != "", Released: r.URL.Query().Get("dilepas") != ""}
	if u, err := r.App().Config().Directory.Unit(ctx, v.UnitID); err == nil {
		d.UnitName = u.Name
	}
	nips := []string{v.NIP}
	for _, l := range v.ReportingLines {
		nips = append(nips, l.Appraiser, l.Superior)
	}
	d.Names = f.site.Names(ctx, nips...)
	return f.employee.Render(w, http.StatusOK, d)
}

// editEmployeePage is a form that corrects one employee's record (the
// reporting line, or the position and unit): the record as it is now, and
// the form, which carries the revision it was rendered from.
type editEmployeePage struct {
	page.Base
	Employee employee.View
	Form     form.State
	// UnitName is the name of the employee's unit in effect today.
	UnitName string
	// units are the caller's units (the position form's picker,
	// UnitField); Kinds the position kinds; Capacities the appraiser's
	// capacities.
	units      []directory.Unit
	Kinds      []employee.PositionKind
	Capacities []employee.Capacity
	// Candidates are the people offered as appraiser or superior: those
	// of the employee's unit and of the units above it.
	Candidates []directory.Employee
}

// editEmployee reads employee n for a correction form: HR only; an
// unknown or malformed NIP is not found.
func (f *Feature) editEmployee(r *page.Request, titleKey string, st form.State) (*editEmployeePage, error) {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return nil, err
	}
	ctx := r.Context()
	// Another agency's employee is not found, as an unknown one is.
	if _, err := r.App().Config().Employees.Read(ctx, r.User, r.PathValue("nip")); err != nil {
		return nil, err
	}
	e, err := r.App().Config().Employees.Get(ctx, r.PathValue("nip"))
	if err != nil {
		return nil, err
	}
	v := e.View(r.App().Today())
	d := &editEmployeePage{Base: r.Base("masterdata", titleKey), Employee: v, Form: st, Kinds: employee.PositionKinds(),
		Capacities: []employee.Capacity{employee.Definitif, employee.Plt, employee.Plh, employee.Delegate}}
	dir := r.App().Config().Directory
	units, err := r.App().Units(ctx, r.User)
	if err != nil {
		return nil, err
	}
	d.units = units
	parent := map[string]string{}
	for _, u := range units {
		parent[u.ID] = u.ParentID
		if u.ID == v.UnitID {
			d.UnitName = u.Name
		}
	}
	var chain []string
	for id := v.UnitID; id != "" && len(chain) < 64 && !slices.Contains(chain, id); id = parent[id] {
		chain = append(chain, id)
	}
	cands, err := dir.EmployeesIn(ctx, chain)
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		if c.NIP != v.NIP {
			d.Candidates = append(d.Candidates, c)
		}
	}
	slices.SortFunc(d.Candidates, func(a, b directory.Employee) int { return strings.Compare(a.Name+a.NIP, b.Name+b.NIP) })
	nips := []string{v.NIP}
	for _, l := range v.ReportingLines {
		nips = append(nips, l.Appraiser, l.Superior)
	}
	d.Names = f.site.Names(ctx, nips...)
	if st.Stale {
		// Show the record as it is now; sending the form again applies
		// it over this revision.
		d.Form = d.Form.WithRevision(v.Revision)
	}
	return d, nil
}

// lineInput is what the reporting-line form posts: the fields of
// PUT /v1/employees/{nip}/reporting-line.
type lineInput struct {
	AppraiserNIP  string        `form:"appraiser_nip"`
	SuperiorNIP   string        `form:"appraiser_superior_nip"`
	EffectiveFrom calendar.Date `form:"effective_from"`
	Capacity      string        `form:"capacity"`
	DelegationRef string        `form:"delegation_ref"`
	// Reason is recorded with the line (a rule may ask for it, such as a
	// superior who is not the appraiser's own appraiser).
	Reason string `form:"reason"`
	// PaperRef is the decree (SK) of a line effective before today: HR's
	// backfill (domain.md §10).
	PaperRef string `form:"paper_ref"`
}

// backfill makes req HR's backfill from the decree paperRef when the form
// names one (a master-data act effective before today); the domain judges
// whether the date asks for it.
func backfill(req domain.Request, paperRef string) domain.Request {
	if paperRef = strings.TrimSpace(paperRef); paperRef != "" {
		req.Backfill = &domain.BackfillRequest{PaperRef: paperRef}
	}
	return req
}

func (f *Feature) showLine(w http.ResponseWriter, r *page.Request) error {
	d, err := f.editEmployee(r, "masterdata.line.title", form.State{})
	if err != nil {
		return err
	}
	d.Form = form.New(r, EmployeePath(d.Employee.NIP, "/atasan")).WithRevision(d.Employee.Revision)
	d.Form.Values = url.Values{"effective_from": {r.App().Today().String()}, "capacity": {string(employee.Definitif)}}
	if l := d.Employee.ReportingLine; l != nil {
		d.Form.Values.Set("appraiser_nip", l.Appraiser)
		d.Form.Values.Set("appraiser_superior_nip", l.Superior)
	}
	return f.line.Render(w, http.StatusOK, d)
}

func (f *Feature) assignLine(w http.ResponseWriter, r *page.Request) error {
	var in lineInput
	return f.employeeAct(w, r, f.line, "masterdata.line.title", &in, "diubah",
		func(ctx context.Context, svc app.Services, req domain.Request, n string) error {
			req.Reason = in.Reason
			_, err := svc.Employees.AssignReportingLine(ctx, backfill(req, in.PaperRef), employee.AssignReportingLine{NIP: n,
				AppraiserNIP: in.AppraiserNIP, SuperiorNIP: in.SuperiorNIP, EffectiveFrom: in.EffectiveFrom,
				Capacity: employee.Capacity(in.Capacity), DelegationRef: in.DelegationRef})
			return err
		})
}

// employeeAct runs one of an employee's master-data forms (HR): the
// employee must exist and the caller be HR before the form is read (a form
// for nobody is not found, not a problem beside a field); in is decoded
// from the form and run records it for the employee's NIP. On success the
// employee's page follows with the notice; otherwise tmpl comes back with
// the form, keeping what was typed and its problems.
func (f *Feature) employeeAct(w http.ResponseWriter, r *page.Request, tmpl *page.Template[*editEmployeePage], titleKey string,
	in any, notice string, run func(context.Context, app.Services, domain.Request, string) error) error {
	if _, err := f.editEmployee(r, titleKey, form.State{}); err != nil {
		return err
	}
	n := nip.Normalize(r.PathValue("nip"))
	st, ok, err := form.Decode(r, in)
	if err != nil {
		return err
	}
	if u, picks := in.(interface{ unitID() string }); picks && ok {
		units, err := r.App().Units(r.Context(), r.User)
		if err != nil {
			return err
		}
		st.CheckUnit("unit_id", u.unitID(), units)
		ok = !st.HasProblems()
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, page.Link(EmployeePath(n, ""), notice, "1"),
			func(ctx context.Context, svc app.Services, req domain.Request) error { return run(ctx, svc, req, n) })
		if err != nil || done {
			return err
		}
	}
	d, err := f.editEmployee(r, titleKey, st)
	if err != nil {
		return err
	}
	return tmpl.Render(w, status, d)
}

// positionInput is what the position form posts: a new post or unit from
// a date on, with the decree that orders it.
type changePositionInput struct {
	Position      positionInput `form:"position"`
	UnitID        string        `form:"unit_id"`
	EffectiveFrom calendar.Date `form:"effective_from"`
	DecreeRef     string        `form:"decree_ref"`
	// PaperRef is the decree of a change effective before today (HR's
	// backfill); it may repeat DecreeRef.
	PaperRef string `form:"paper_ref"`
}

// unitID is the unit picked: employeeAct checks it is the caller's.
func (in *changePositionInput) unitID() string { return in.UnitID }

func (f *Feature) showPosition(w http.ResponseWriter, r *page.Request) error {
	d, err := f.editEmployee(r, "masterdata.position.title", form.State{})
	if err != nil {
		return err
	}
	d.Form = form.New(r, EmployeePath(d.Employee.NIP, "/jabatan")).WithRevision(d.Employee.Revision)
	d.Form.Values = url.Values{"effective_from": {r.App().Today().String()}, "unit_id": {d.Employee.UnitID},
		"position.kind": {string(d.Employee.Position.Kind)}, "position.title": {d.Employee.Position.Title}}
	return f.position.Render(w, http.StatusOK, d)
}

func (f *Feature) changePosition(w http.ResponseWriter, r *page.Request) error {
	var in changePositionInput
	return f.employeeAct(w, r, f.position, "masterdata.position.title", &in, "diubah",
		func(ctx context.Context, svc app.Services, req domain.Request, n string) error {
			_, err := svc.Employees.ChangePosition(ctx, backfill(req, in.PaperRef), employee.ChangePosition{NIP: n,
				Position: employee.Position{Kind: employee.PositionKind(in.Position.Kind), Title: in.Position.Title},
				UnitID:   in.UnitID, EffectiveFrom: in.EffectiveFrom, DecreeRef: in.DecreeRef})
			return err
		})
}

// releaseInput is what the transfer-release form posts: the fields of
// PUT /v1/employees/{nip}/transfer-release.
type releaseInput struct {
	ToAgency  string        `form:"to_agency"`
	ExpiresOn calendar.Date `form:"expires_on"`
	DecreeRef string        `form:"decree_ref"`
}

// releaseDays is the default span of a release the form offers (the
// domain allows up to employee.MaxReleaseDays).
const releaseDays = 30

func (f *Feature) showRelease(w http.ResponseWriter, r *page.Request) error {
	d, err := f.editEmployee(r, "masterdata.release.title", form.State{})
	if err != nil {
		return err
	}
	d.Form = form.New(r, EmployeePath(d.Employee.NIP, "/lolos-butuh")).WithRevision(d.Employee.Revision)
	d.Form.Values = url.Values{"expires_on": {r.App().Today().AddDays(releaseDays).String()}}
	return f.release.Render(w, http.StatusOK, d)
}

// releaseTransfer records the release (surat lolos butuh) of an employee
// of the caller's agency to another agency, which may then record the
// move. Another agency's employee is not found, as an unknown one is
// (editEmployee, and the domain again).
func (f *Feature) releaseTransfer(w http.ResponseWriter, r *page.Request) error {
	var in releaseInput
	return f.employeeAct(w, r, f.release, "masterdata.release.title", &in, "dilepas",
		func(ctx context.Context, svc app.Services, req domain.Request, n string) error {
			_, err := svc.Employees.ReleaseTransfer(ctx, req, employee.ReleaseTransfer{NIP: n, ToAgency: in.ToAgency,
				ExpiresOn: in.ExpiresOn, DecreeRef: in.DecreeRef})
			return err
		})
}

// UnitField is the position form's unit picker: the units near the
// employee's unit (or those matching what was typed).
func (d *editEmployeePage) UnitField() page.UnitPicker {
	p := d.Form.UnitPicker("unit_id", d.units, d.Employee.UnitID)
	p.Required = true
	return p
}
