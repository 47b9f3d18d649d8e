package masterdata

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// UnitPath is the page of unit id, with the form of its organisation
// predikat.
func UnitPath(id string) string { return UnitsPath + "/" + url.PathEscape(id) }

// unitPage is one unit: its registration, head, organisation predikat per
// period with every change, and the form that sets a predikat.
type unitPage struct {
	page.Base
	Unit orgunit.View
	// ParentName is the parent unit's name.
	ParentName string
	// Periods are the rated periods, in order.
	Periods []string
	// Backfill: the caller enters the predikat from paper (HR_ADMIN, with
	// paper_ref).
	Backfill bool
	// CanRate: the caller may set the predikat (the form); CanManage: the
	// caller manages master data (the employees' link).
	CanRate, CanManage bool
	Form               form.State
	// HeadForm assigns the unit's head (for who manages master data);
	// Candidates are the unit's employees.
	HeadForm   form.State
	Candidates []directory.Employee
	// RenameForm corrects the unit's name (for who manages master data).
	RenameForm form.State
	// ZoneForm sets the time zone the unit works in (WIB, WITA, WIT), in
	// which its pages show times; Zones are the choices.
	ZoneForm form.State
	Zones    []string
	// Predikats are the organisation predikat's values.
	Predikats []string
	// Changed: a predikat was just recorded (?diubah=).
	Changed bool
}

// orgPredikats are the organisation predikat's values, best first.
var orgPredikats = []string{"ISTIMEWA", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"}

func (f *Feature) unitPage(r *page.Request, st form.State) (*unitPage, error) {
	ctx := r.Context()
	u, err := r.App().Unit(ctx, r.User, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := u.View(r.App().Today())
	// Who sets the predikat: the leader one level up (the head of the
	// parent unit today; of a root, its own head) or HR_ADMIN from paper.
	leader := ""
	if lu := v.ParentID; lu != "" {
		if p, err := r.App().Config().Units.Load(ctx, lu); err == nil && p != nil {
			leader, _ = p.HeadOn(r.App().Today())
		}
	} else {
		leader = v.Head
	}
	backfill := authz.Allowed(r.User, authz.RateUnit, authz.Subject{}, authz.Options{Backfill: true})
	d := &unitPage{Base: r.Base("masterdata", "masterdata.unit.title"), Unit: v, Backfill: backfill,
		CanRate:   backfill || authz.Allowed(r.User, authz.RateUnit, authz.Subject{UnitLeader: leader}, authz.Options{}),
		CanManage: r.Can(authz.ManageMasterData), Form: st, Predikats: orgPredikats, Changed: r.URL.Query().Get("diubah") != ""}
	if v.ParentID != "" {
		if p, err := r.App().Config().Directory.Unit(ctx, v.ParentID); err == nil {
			d.ParentName = p.Name
		}
	}
	for p := range v.Performance {
		d.Periods = append(d.Periods, p)
	}
	sortPeriods(d.Periods)
	var nips []string
	if v.Head != "" {
		nips = append(nips, v.Head)
	}
	d.Names = f.site.Names(ctx, nips...)
	if st.Stale {
		d.Form = d.Form.WithRevision(v.Revision)
	}
	if d.CanManage {
		d.HeadForm = form.New(r, UnitPath(v.ID)+"/kepala").WithRevision(v.Revision)
		d.HeadForm.Values = url.Values{"effective_from": {r.App().Today().String()}, "head_nip": {v.Head}}
		d.RenameForm = form.New(r, UnitPath(v.ID)+"/nama").WithRevision(v.Revision)
		d.RenameForm.Values = url.Values{"name": {v.Name}}
		d.ZoneForm = form.New(r, UnitPath(v.ID)+"/zona").WithRevision(v.Revision)
		d.ZoneForm.Values = url.Values{"zone": {v.Zone}}
		d.Zones = orgunit.Zones
		if d.Candidates, err = r.App().Config().Directory.EmployeesIn(ctx, []string{v.ID}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// sortPeriods orders "2026-Q1" before "2026-Q2" before "2026".
func sortPeriods(ps []string) {
	key := func(p string) string {
		if len(p) == 4 {
			return p + "-Z"
		}
		return p
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && key(ps[j]) < key(ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// headInput is what the head form posts: the body of PUT /v1/units/{id}/head.
type headInput struct {
	HeadNIP       string        `form:"head_nip"`
	EffectiveFrom calendar.Date `form:"effective_from"`
	// PaperRef is the decree of a head effective before today (HR's
	// backfill). Its field is head_paper_ref: the predikat form on the
	// same page has its own paper_ref.
	PaperRef string `form:"head_paper_ref"`
}

func (f *Feature) assignHead(w http.ResponseWriter, r *page.Request) error {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return err
	}
	if _, err := f.unitPage(r, form.State{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	var in headInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, page.Link(UnitPath(id), "diubah", "1"),
			func(ctx context.Context, svc app.Services, req domain.Request) error {
				_, err := svc.Units.AssignHead(ctx, backfill(req, in.PaperRef), orgunit.AssignHead{UnitID: id, HeadNIP: in.HeadNIP, EffectiveFrom: in.EffectiveFrom})
				return err
			})
		if err != nil || done {
			return err
		}
		if p, ok := st.Problems["paper_ref"]; ok { // the domain's name for the head form's head_paper_ref
			delete(st.Problems, "paper_ref")
			st.Problems["head_paper_ref"] = p
		}
	}
	d, err := f.unitPage(r, form.State{})
	if err != nil {
		return err
	}
	d.Form = form.New(r, UnitPath(id)+"/predikat").WithRevision(d.Unit.Revision)
	if st.Stale {
		st = st.WithRevision(d.Unit.Revision)
	}
	d.HeadForm = st
	return f.unit.Render(w, status, d)
}

// renameInput is what the rename form posts: the body of
// PUT /v1/units/{id}/name.
type renameInput struct {
	Name string `form:"name"`
}

func (f *Feature) renameUnit(w http.ResponseWriter, r *page.Request) error {
	var in renameInput
	return f.unitAct(w, r, &in, func(ctx context.Context, svc app.Services, req domain.Request) error {
		_, err := svc.Units.Rename(ctx, req, orgunit.Rename{UnitID: r.PathValue("id"), Name: in.Name})
		return err
	}, func(d *unitPage, st form.State) { d.RenameForm = st })
}

// zoneInput is what the zone form posts: the body of
// PUT /v1/units/{id}/zone.
type zoneInput struct {
	Zone string `form:"zone"`
}

func (f *Feature) setZone(w http.ResponseWriter, r *page.Request) error {
	var in zoneInput
	return f.unitAct(w, r, &in, func(ctx context.Context, svc app.Services, req domain.Request) error {
		_, err := svc.Units.SetZone(ctx, req, orgunit.SetZone{UnitID: r.PathValue("id"), Zone: in.Zone})
		return err
	}, func(d *unitPage, st form.State) { d.ZoneForm = st })
}

// unitAct runs one of the unit page's master-data forms (HR): in is
// decoded from the form and run records it; on success the page is shown
// again with its notice, otherwise the unit page comes back with the form
// (set puts it in its place) keeping what was typed, its problems, and
// the revision to send again when it was stale.
func (f *Feature) unitAct(w http.ResponseWriter, r *page.Request, in any,
	run func(context.Context, app.Services, domain.Request) error, set func(*unitPage, form.State)) error {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return err
	}
	if _, err := f.unitPage(r, form.State{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	st, ok, err := form.Decode(r, in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		if done, status, err = form.Submit(w, r, &st, page.Link(UnitPath(id), "diubah", "1"), run); err != nil || done {
			return err
		}
	}
	d, err := f.unitPage(r, form.State{})
	if err != nil {
		return err
	}
	d.Form = form.New(r, UnitPath(id)+"/predikat").WithRevision(d.Unit.Revision)
	if st.Stale {
		st = st.WithRevision(d.Unit.Revision)
	}
	set(d, st)
	return f.unit.Render(w, status, d)
}

func (f *Feature) showUnit(w http.ResponseWriter, r *page.Request) error {
	d, err := f.unitPage(r, form.State{})
	if err != nil {
		return err
	}
	d.Form = form.New(r, UnitPath(d.Unit.ID)+"/predikat").WithRevision(d.Unit.Revision)
	d.Form.Values = url.Values{"period": {strconv.Itoa(r.App().Today().Year())}}
	return f.unit.Render(w, http.StatusOK, d)
}

// rateInput is what the predikat form posts: the period of
// PUT /v1/units/{id}/performance/{period} and its body.
type rateInput struct {
	Period   string `form:"period"`
	Predikat string `form:"predikat"`
	Reason   string `form:"reason"`
	BasisRef string `form:"basis_ref"`
	PaperRef string `form:"paper_ref"`
}

func (f *Feature) rateUnit(w http.ResponseWriter, r *page.Request) error {
	// An unknown unit is not found before the form is read.
	if _, err := f.unitPage(r, form.State{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	var in rateInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, page.Link(UnitPath(id), "diubah", "1"),
			func(ctx context.Context, svc app.Services, req domain.Request) error {
				req.Reason = in.Reason
				_, err := svc.Units.RatePerformance(ctx, req, orgunit.RatePerformance{UnitID: id, Period: in.Period,
					Predikat: in.Predikat, Reason: in.Reason, BasisRef: in.BasisRef, PaperRef: in.PaperRef})
				return err
			})
		if err != nil || done {
			return err
		}
	}
	d, err := f.unitPage(r, st)
	if err != nil {
		return err
	}
	return f.unit.Render(w, status, d)
}
