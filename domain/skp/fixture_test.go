package skp_test

import (
	"context"
	"errors"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// The cast. E is appraised by A (appraiser) whose superior is S; A is
// appraised by S with superior T. P is E's colleague in DINKES; X works in
// BAPPEDA. B is another official who may take over as E's appraiser.
const (
	nipE = "199001012015031001" // employee, PELAKSANA, DINKES
	nipA = "198502022010012002" // appraiser, JPT_PRATAMA, DINKES
	nipS = "197503032000031003" // appraiser's superior, JPT_MADYA, PEMKOT
	nipT = "196504041990031004" // S's appraiser, JPT_UTAMA, PEMKOT
	nipP = "199106062016062006" // peer, PELAKSANA, DINKES
	nipX = "199207072017071007" // outsider, PELAKSANA, BAPPEDA
	nipB = "198808082012081008" // another official, PENGAWAS, DINKES
	nipU = "197909092005091009" // another superior, JPT_MADYA, PEMKOT

	hrAdmin = "hr-admin"
	clerk   = "clerk-1"
	auditor = "auditor-1"
)

var (
	wib   = policy.WIB
	jan1  = calendar.MustNew(2026, 1, 1)
	start = time.Date(2026, 1, 5, 9, 0, 0, 0, wib)
	// annualAt is when fixtures rate and issue the annual evaluation of
	// 2026: a period is rated only after it ends, so on the first Monday of
	// 2027, 52 weeks after start (same weekday, so working-day windows
	// count alike).
	annualAt = start.AddDate(0, 0, 364)
)

type fixture struct {
	tb    domaintest.TB
	env   *domaintest.Env
	pol   policy.Policy
	skps  *skp.Service
	emps  *employee.Service
	units *orgunit.Service
	ctx   context.Context
	// A's established SKP and its RHK, the target of E's cascading links.
	skpA, rhkA string
}

func newFixture(tb domaintest.TB, change ...func(*policy.Policy)) *fixture {
	tb.Helper()
	pol := policy.Default()
	for _, c := range change {
		c(&pol)
	}
	env := domaintest.New(tb, start)
	f := &fixture{tb: tb, env: env, pol: pol, ctx: context.Background(),
		skps:  &skp.Service{Handler: env.Handler, Policy: pol},
		emps:  &employee.Service{Handler: env.Handler, Policy: pol},
		units: &orgunit.Service{Handler: env.Handler, Policy: pol},
	}
	for _, u := range []orgunit.Register{{ID: "PEMKOT", Name: "Pemerintah Kota"}, {ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"},
		{ID: "BAPPEDA", Name: "Bappeda", ParentID: "PEMKOT"}} {
		f.ok(f.units.Register(f.ctx, f.hr(), u))
	}
	for _, e := range []struct {
		nip, unit string
		kind      employee.PositionKind
	}{
		{nipE, "DINKES", employee.Pelaksana}, {nipA, "DINKES", employee.JPTPratama}, {nipS, "PEMKOT", employee.JPTMadya},
		{nipT, "PEMKOT", employee.JPTUtama}, {nipP, "DINKES", employee.Pelaksana}, {nipX, "BAPPEDA", employee.Pelaksana},
		{nipB, "DINKES", employee.Pengawas}, {nipU, "PEMKOT", employee.JPTMadya},
	} {
		f.ok(f.emps.Register(f.ctx, f.hr(), employee.Register{NIP: e.nip, Name: "Pegawai " + e.nip[:8], UnitID: e.unit,
			Position: employee.Position{Kind: e.kind, Title: string(e.kind)}}))
	}
	f.line(nipE, nipA, nipS, jan1)
	f.line(nipP, nipA, nipS, jan1)
	f.line(nipA, nipS, nipT, jan1)
	f.line(nipS, nipT, nipU, jan1)

	// A's SKP, established by S, with one UTAMA RHK citing the PK.
	id, _ := f.draft(nipA)
	f.skpA = id
	f.rhkA = f.addRHK(nipA, id, skp.RHKFields{Text: "Meningkatnya cakupan imunisasi", Kind: "UTAMA", PKRef: "PK-DINKES-2026-01"})
	f.addIndicator(nipA, id, f.rhkA)
	f.ok(f.skps.Submit(f.ctx, f.req(nipA), skp.Submit{SKPID: id}))
	f.ok(f.skps.Establish(f.ctx, f.req(nipS), skp.Establish{SKPID: id}))
	return f
}

func (f *fixture) req(caller string, roles ...domain.Role) domain.Request {
	return f.env.Request(caller, roles...)
}

func (f *fixture) hr() domain.Request { return f.req(hrAdmin, domain.RoleHRAdmin) }

// paper returns a backfill request by caller naming the paper ref.
func (f *fixture) paper(caller, ref string, roles ...domain.Role) domain.Request {
	r := f.req(caller, roles...)
	r.Backfill = &domain.BackfillRequest{PaperRef: ref}
	return r
}

// ok fails the test on err; it takes the committed result so calls read
// f.ok(service.Command(...)).
func (f *fixture) ok(_ domain.Committed, err error) {
	f.tb.Helper()
	if err != nil {
		f.tb.Fatalf("unexpected error: %v", err)
	}
}

func (f *fixture) line(emp, appr, sup string, from calendar.Date) {
	f.tb.Helper()
	f.ok(f.emps.AssignReportingLine(f.ctx, domaintest.MasterData(f.hr(), from), employee.AssignReportingLine{NIP: emp, AppraiserNIP: appr, SuperiorNIP: sup, EffectiveFrom: from}))
}

func (f *fixture) draft(who string) (string, domain.Committed) {
	f.tb.Helper()
	id, c, err := f.skps.Draft(f.ctx, f.req(who), skp.Draft{NIP: who, Year: 2026, Approach: "KUANTITATIF"})
	if err != nil {
		f.tb.Fatalf("draft for %s: %v", who, err)
	}
	return id, c
}

func (f *fixture) addRHK(who, id string, fields skp.RHKFields) string {
	f.tb.Helper()
	rhk, _, err := f.skps.AddRHK(f.ctx, f.req(who), skp.AddRHK{SKPID: id, RHKFields: fields})
	if err != nil {
		f.tb.Fatalf("add RHK: %v", err)
	}
	return rhk
}

func (f *fixture) addIndicator(who, id, rhk string) string {
	f.tb.Helper()
	ind, _, err := f.skps.AddIndicator(f.ctx, f.req(who), skp.AddIndicator{SKPID: id, RHKID: rhk, IndicatorFields: skp.IndicatorFields{
		Aspect: "KUANTITAS", Text: "Jumlah balita diimunisasi", Target: skp.Target{Value: 120, Unit: "balita"}}})
	if err != nil {
		f.tb.Fatalf("add indicator: %v", err)
	}
	return ind
}

// draftedE drafts E's SKP with one linked UTAMA RHK and one indicator.
func (f *fixture) draftedE() (id, rhk, ind string) {
	f.tb.Helper()
	id, _ = f.draft(nipE)
	rhk = f.addRHK(nipE, id, skp.RHKFields{Text: "Terlaksananya imunisasi di posyandu", Kind: "UTAMA", IntervenedRHKID: f.rhkA})
	ind = f.addIndicator(nipE, id, rhk)
	return id, rhk, ind
}

// establishedE returns E's SKP, established by A.
func (f *fixture) establishedE() (id, rhk, ind string) {
	f.tb.Helper()
	id, rhk, ind = f.draftedE()
	f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
	f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
	return id, rhk, ind
}

// issuedE returns E's SKP with the annual evaluation rated and issued now.
func (f *fixture) issuedE(wr, bh string) string {
	f.tb.Helper()
	id, _, _ := f.establishedE()
	f.at(annualAt)
	f.rate(id, "2026", wr, bh, "")
	f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026"}))
	return id
}

func (f *fixture) rate(id, period, wr, bh, reason string) {
	f.tb.Helper()
	f.after(period)
	f.ok(f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: period, WorkResult: wr, Behaviour: bh, Rationale: "sesuai bukti dukung", Reason: reason}))
}

// after moves the clock, when it is earlier, to 09:00 WIB on the day after
// period p ends: a period is rated and issued only after it ends (issue 11
// Timing). Fixtures that rate call it first.
func (f *fixture) after(p string) {
	f.tb.Helper()
	end := period.MustParse(p).End().AddDays(1)
	at := time.Date(end.Year(), end.Month(), end.Day(), 9, 0, 0, 0, wib)
	if f.env.Clock.Now().Before(at) {
		f.env.Clock.Set(at)
	}
}

// at moves the clock to t when it is earlier.
func (f *fixture) at(t time.Time) {
	if f.env.Clock.Now().Before(t) {
		f.env.Clock.Set(t)
	}
}

func (f *fixture) view(id string) skp.View {
	f.tb.Helper()
	v, err := f.skps.Read(f.ctx, domain.Principal{ID: auditor, Roles: []domain.Role{domain.RoleAuditor}}, id, skp.AsOf{})
	if err != nil {
		f.tb.Fatalf("read %s: %v", id, err)
	}
	return v
}

func (f *fixture) evaluation(id, period string) skp.EvaluationView {
	f.tb.Helper()
	for _, e := range f.view(id).Evaluations {
		if e.Period == period {
			return e
		}
	}
	f.tb.Fatalf("no evaluation %s in %s", period, id)
	return skp.EvaluationView{}
}

// kind names the error kind of err for table tests.
func kind(err error) string {
	for _, k := range []struct {
		name string
		err  error
	}{
		{"not_found", domain.ErrNotFound}, {"conflict", domain.ErrConflict}, {"invalid_state", domain.ErrInvalidState},
		{"forbidden", domain.ErrForbidden}, {"validation", domain.ErrValidation},
		{"window_closed", domain.ErrObjectionWindowClosed}, {"concurrency", domain.ErrConcurrency},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

// field returns the first field of a validation error.
func field(err error) string {
	var v *domain.ValidationError
	if errors.As(err, &v) && len(v.Fields) > 0 {
		return v.Fields[0].Field
	}
	return ""
}

// expect checks err against a wanted kind ("" for success) and, for
// validation errors, a wanted field.
func expect(tb domaintest.TB, err error, wantKind, wantField string) {
	tb.Helper()
	if got := kind(err); got != wantKind {
		tb.Fatalf("error kind = %q (%v), want %q", got, err, wantKind)
	}
	if wantField != "" && field(err) != wantField {
		tb.Fatalf("field = %q (%v), want %q", field(err), err, wantField)
	}
}
