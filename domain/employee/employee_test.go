package employee_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, policy.WIB)

const (
	empE = "199001012015031001" // pelaksana
	empA = "198502022010012002" // pengawas
	empS = "197503032000031003" // administrator
	empB = "198804042012041004" // pengawas
	empC = "198205052008051005" // pengawas
	empP = "199106062016062006" // pelaksana
	empX = "199207072017071007" // not registered
)

type fixture struct {
	env   *domaintest.Env
	emps  *employee.Service
	units *orgunit.Service
}

func setup(tb testing.TB, pol policy.Policy) *fixture {
	tb.Helper()
	env := domaintest.New(tb, start)
	f := &fixture{env: env, emps: &employee.Service{Handler: env.Handler, Policy: pol}, units: &orgunit.Service{Handler: env.Handler, Policy: pol}}
	ctx := context.Background()
	for _, u := range []orgunit.Register{{ID: "PEMKOT", Name: "Pemerintah Kota"}, {ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"}} {
		if _, err := f.units.Register(ctx, f.hr(), u); err != nil {
			tb.Fatal(err)
		}
	}
	for n, kind := range map[string]employee.PositionKind{
		empE: employee.Pelaksana, empA: employee.Pengawas, empS: employee.Administrator,
		empB: employee.Pengawas, empC: employee.Pengawas, empP: employee.Pelaksana,
	} {
		if _, err := f.emps.Register(ctx, f.hr(), employee.Register{NIP: n, Name: "Pegawai " + n[:4], UnitID: "DINKES",
			Position: employee.Position{Kind: kind, Title: string(kind)}}); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

func (f *fixture) hr() domain.Request { return f.env.Request("hr-admin", domain.RoleHRAdmin) }

func (f *fixture) assign(tb testing.TB, emp, appr, sup string, from calendar.Date) {
	tb.Helper()
	if _, err := f.emps.AssignReportingLine(context.Background(), domaintest.MasterData(f.hr(), from), employee.AssignReportingLine{
		NIP: emp, AppraiserNIP: appr, SuperiorNIP: sup, EffectiveFrom: from}); err != nil {
		tb.Fatalf("assign %s ← %s/%s from %s: %v", emp, appr, sup, from, err)
	}
}

func fieldOf(err error) string {
	var v *domain.ValidationError
	if errors.As(err, &v) && len(v.Fields) > 0 {
		return v.Fields[0].Field
	}
	return ""
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name      string
		req       func(*fixture) domain.Request
		cmd       employee.Register
		wantErr   error
		wantField string
		want      employee.View
	}{
		{
			name: "PNS with spaces",
			cmd:  employee.Register{NIP: "19660801 198803 1 001", Name: " Budi ", UnitID: "DINKES", Position: employee.Position{Kind: "JF", Title: "Dokter Ahli Muda"}},
			want: employee.View{NIP: "196608011988031001", ASNType: nip.PNS, BirthDate: calendar.MustNew(1966, 8, 1), Sex: nip.Male,
				Name: "Budi", UnitID: "DINKES", Position: employee.Position{Kind: employee.JF, Title: "Dokter Ahli Muda"}},
		},
		{
			name: "PPPK",
			cmd:  employee.Register{NIP: "200012312024211001", Name: "Sari", UnitID: "DINKES", Position: employee.Position{Kind: "PELAKSANA", Title: "Pengadministrasi"}},
			want: employee.View{NIP: "200012312024211001", ASNType: nip.PPPK, BirthDate: calendar.MustNew(2000, 12, 31), Sex: nip.Male,
				Name: "Sari", UnitID: "DINKES", Position: employee.Position{Kind: employee.Pelaksana, Title: "Pengadministrasi"}},
		},
		{name: "already registered in another printed form", cmd: employee.Register{NIP: "19900101.201503.1.001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrConflict},
		{name: "invalid NIP", cmd: employee.Register{NIP: "19661301 198803 1 001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "nip"},
		{name: "date of birth after today", cmd: employee.Register{NIP: "202701012045031001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "nip"},
		{name: "appointed in a later year", cmd: employee.Register{NIP: "199001012027031001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "nip"},
		{name: "PPPK contract of a later year", cmd: employee.Register{NIP: "200012312027211001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "nip"},
		{name: "a TMT CPNS in the future", cmd: employee.Register{NIP: "20000101 203001 1 001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "nip"},
		{name: "a PPPK first contract in the future", cmd: employee.Register{NIP: "20000101 2030 21 1 001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "nip"},
		{name: "unknown unit", cmd: employee.Register{NIP: "19660801 198803 1 001", Name: "x", UnitID: "NOPE",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "unit_id"},
		{name: "unknown position kind", cmd: employee.Register{NIP: "19660801 198803 1 001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "ESELON_IV", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "position.kind"},
		{name: "missing title", cmd: employee.Register{NIP: "19660801 198803 1 001", Name: "x", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF"}}, wantErr: domain.ErrValidation, wantField: "position.title"},
		{name: "missing name", cmd: employee.Register{NIP: "19660801 198803 1 001", UnitID: "DINKES",
			Position: employee.Position{Kind: "JF", Title: "t"}}, wantErr: domain.ErrValidation, wantField: "name"},
		{name: "not HR admin", req: func(f *fixture) domain.Request { return f.env.Request(empA) },
			cmd:     employee.Register{NIP: "19660801 198803 1 001", Name: "x", UnitID: "DINKES", Position: employee.Position{Kind: "JF", Title: "t"}},
			wantErr: domain.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, policy.Default())
			req := f.hr()
			if tt.req != nil {
				req = tt.req(f)
			}
			c, err := f.emps.Register(context.Background(), req, tt.cmd)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Register error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantField != "" && fieldOf(err) != tt.wantField {
					t.Errorf("field = %q, want %q (%v)", fieldOf(err), tt.wantField, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e, err := f.emps.Get(context.Background(), tt.cmd.NIP)
			if err != nil {
				t.Fatal(err)
			}
			got := e.View(calendar.Of(start, policy.WIB))
			tt.want.Revision = c.Revision
			tt.want.ReportingLines = got.ReportingLines
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("view mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetUnknownOrMalformed(t *testing.T) {
	f := setup(t, policy.Default())
	for _, n := range []string{empX, "not a nip"} {
		if _, err := f.emps.Get(context.Background(), n); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", n, err)
		}
	}
}

func TestAssignReportingLineRules(t *testing.T) {
	jan1 := calendar.MustNew(2026, 1, 1)
	mar1 := calendar.MustNew(2026, 3, 1)
	tests := []struct {
		name      string
		pol       func(*policy.Policy)
		before    func(*fixture, testing.TB)
		req       func(*fixture) domain.Request
		cmd       employee.AssignReportingLine
		wantErr   error
		wantField string
	}{
		{name: "ordinary line", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: jan1}},
		{name: "NIPs in printed forms", cmd: employee.AssignReportingLine{NIP: "19900101 201503 1 001", AppraiserNIP: "19850202.201001.2.002", SuperiorNIP: empS, EffectiveFrom: jan1}},
		{name: "self-appraisal", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empE, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "appraiser is the superior", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empA, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "employee is the superior", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empE, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "unknown appraiser", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empX, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "unknown superior", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empX, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "malformed appraiser NIP", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: "12345", SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "unknown employee", cmd: employee.AssignReportingLine{NIP: empX, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrNotFound},
		{name: "missing effective date", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS},
			wantErr: domain.ErrValidation, wantField: "effective_from"},
		{name: "pelaksana as appraiser", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empP, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "pelaksana as Plt with a delegation", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empP, SuperiorNIP: empS,
			EffectiveFrom: jan1, Capacity: employee.Plt, DelegationRef: "SPT 800/12/2026"}},
		{name: "Plt without a delegation reference", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empP, SuperiorNIP: empS,
			EffectiveFrom: jan1, Capacity: employee.Plt}, wantErr: domain.ErrValidation, wantField: "delegation_ref"},
		{name: "unknown capacity", cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS,
			EffectiveFrom: jan1, Capacity: "ACTING", DelegationRef: "x"}, wantErr: domain.ErrValidation, wantField: "capacity"},
		{name: "pelaksana as appraiser when the rank rule is off", pol: func(p *policy.Policy) { p.AppraiserMinimumRank = false },
			cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empP, SuperiorNIP: empS, EffectiveFrom: jan1}},
		{name: "two-person cycle", before: func(f *fixture, tb testing.TB) { f.assign(tb, empB, empA, empS, jan1) },
			cmd:     employee.AssignReportingLine{NIP: empA, AppraiserNIP: empB, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "three-person cycle", before: func(f *fixture, tb testing.TB) {
			f.assign(tb, empA, empB, empS, jan1)
			f.assign(tb, empB, empC, empS, jan1)
		}, cmd: employee.AssignReportingLine{NIP: empC, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "cycle only from a later date", before: func(f *fixture, tb testing.TB) { f.assign(tb, empB, empA, empS, mar1) },
			cmd:     employee.AssignReportingLine{NIP: empA, AppraiserNIP: empB, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "no cycle when the new line ends before the loop would close", before: func(f *fixture, tb testing.TB) {
			f.assign(tb, empB, empA, empS, mar1)
			f.assign(tb, empA, empC, empS, mar1)
		}, cmd: employee.AssignReportingLine{NIP: empA, AppraiserNIP: empB, SuperiorNIP: empS, EffectiveFrom: jan1}},
		{name: "no cycle before the other line starts", before: func(f *fixture, tb testing.TB) {
			f.assign(tb, empA, empC, empS, mar1)
		}, cmd: employee.AssignReportingLine{NIP: empC, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: calendar.MustNew(2026, 2, 1)},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		// The superior of a line is the appraiser's own appraiser on the
		// line's date (issue 11; domain.md §2.1).
		{name: "superior matches the appraiser's appraiser", before: func(f *fixture, tb testing.TB) { f.assign(tb, empA, empS, empB, jan1) },
			cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: jan1}},
		{name: "superior differs from the appraiser's appraiser", before: func(f *fixture, tb testing.TB) { f.assign(tb, empA, empS, empB, jan1) },
			cmd:     employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empB, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "the appraiser's line starts the day after: nothing to compare", before: func(f *fixture, tb testing.TB) {
			f.assign(tb, empA, empS, empB, calendar.MustNew(2026, 1, 2))
		}, cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empB, EffectiveFrom: jan1}},
		{name: "the appraiser's line starts that very day", before: func(f *fixture, tb testing.TB) { f.assign(tb, empA, empS, empB, mar1) },
			cmd:     employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empB, EffectiveFrom: mar1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "mismatch accepted with a reason when the policy allows", pol: func(p *policy.Policy) { p.SuperiorMismatch = policy.SuperiorAcceptWithReason },
			before: func(f *fixture, tb testing.TB) { f.assign(tb, empA, empS, empB, jan1) },
			req: func(f *fixture) domain.Request {
				r := f.hr()
				r.Reason = "atasan langsung sedang tugas belajar; ditunjuk sesuai SK 800/5"
				return r
			},
			cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empB, EffectiveFrom: jan1}},
		{name: "mismatch without a reason when the policy allows one", pol: func(p *policy.Policy) { p.SuperiorMismatch = policy.SuperiorAcceptWithReason },
			before:  func(f *fixture, tb testing.TB) { f.assign(tb, empA, empS, empB, jan1) },
			cmd:     employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empB, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "mismatch with a reason under REFUSE", before: func(f *fixture, tb testing.TB) { f.assign(tb, empA, empS, empB, jan1) },
			req: func(f *fixture) domain.Request {
				r := f.hr()
				r.Reason = "alasan"
				return r
			},
			cmd:     employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empB, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "not HR admin", req: func(f *fixture) domain.Request { return f.env.Request(empS) },
			cmd: employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: jan1}, wantErr: domain.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := policy.Default()
			if tt.pol != nil {
				tt.pol(&pol)
			}
			f := setup(t, pol)
			if tt.before != nil {
				tt.before(f, t)
			}
			req := f.hr()
			if tt.req != nil {
				req = tt.req(f)
			}
			req = domaintest.MasterData(req, tt.cmd.EffectiveFrom)
			_, err := f.emps.AssignReportingLine(context.Background(), req, tt.cmd)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantField != "" && fieldOf(err) != tt.wantField {
					t.Errorf("field = %q, want %q (%v)", fieldOf(err), tt.wantField, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReportingLineEffectiveDating(t *testing.T) {
	f := setup(t, policy.Default())
	ctx := context.Background()
	f.assign(t, empE, empA, empS, calendar.MustNew(2026, 1, 1))
	f.assign(t, empE, empB, empS, calendar.MustNew(2026, 7, 1))
	appraiserOn := func(d calendar.Date) string {
		e, err := f.emps.Get(ctx, empE)
		if err != nil {
			t.Fatal(err)
		}
		l, ok := e.LineOn(d)
		if !ok {
			return ""
		}
		return l.Appraiser
	}
	tests := []struct {
		name string
		on   calendar.Date
		want string
	}{
		{name: "before any line", on: calendar.MustNew(2025, 12, 31), want: ""},
		{name: "first day of the first line", on: calendar.MustNew(2026, 1, 1), want: empA},
		{name: "the day before the second line", on: calendar.MustNew(2026, 6, 30), want: empA},
		{name: "first day of the second line", on: calendar.MustNew(2026, 7, 1), want: empB},
		{name: "long after", on: calendar.MustNew(2030, 1, 1), want: empB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appraiserOn(tt.on); got != tt.want {
				t.Errorf("appraiser on %s = %q, want %q", tt.on, got, tt.want)
			}
		})
	}

	// A line with the same date corrects the earlier one.
	f.assign(t, empE, empC, empS, calendar.MustNew(2026, 1, 1))
	if got := appraiserOn(calendar.MustNew(2026, 3, 1)); got != empC {
		t.Errorf("after correction, appraiser on 2026-03-01 = %q, want %q", got, empC)
	}
	// Repeating the line in effect changes nothing.
	c, err := f.emps.AssignReportingLine(ctx, domaintest.MasterData(f.hr(), calendar.MustNew(2026, 1, 1)), employee.AssignReportingLine{NIP: empE, AppraiserNIP: empC, SuperiorNIP: empS, EffectiveFrom: calendar.MustNew(2026, 1, 1)})
	if err != nil || len(c.Events) != 0 {
		t.Errorf("repeat = %d events, %v; want a no-op", len(c.Events), err)
	}
	// Repeating the superseded line A for 1 January is a new correction.
	c, err = f.emps.AssignReportingLine(ctx, domaintest.MasterData(f.hr(), calendar.MustNew(2026, 1, 1)), employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: calendar.MustNew(2026, 1, 1)})
	if err != nil || len(c.Events) != 1 {
		t.Errorf("re-correction = %d events, %v; want one event", len(c.Events), err)
	}
	e, _ := f.emps.Get(ctx, empE)
	v := e.View(calendar.MustNew(2026, 3, 1))
	if v.ReportingLine == nil || v.ReportingLine.Appraiser != empA || len(v.ReportingLines) != 4 {
		t.Errorf("view line = %+v with %d lines, want appraiser %s and 4 lines", v.ReportingLine, len(v.ReportingLines), empA)
	}
}

func TestChangePosition(t *testing.T) {
	f := setup(t, policy.Default())
	ctx := context.Background()
	if _, err := f.units.Register(ctx, f.hr(), orgunit.Register{ID: "BAPPEDA", Name: "Bappeda", ParentID: "PEMKOT"}); err != nil {
		t.Fatal(err)
	}
	newPos := employee.Position{Kind: employee.Pengawas, Title: "Kepala Subbidang"}
	cmd := employee.ChangePosition{NIP: empE, Position: newPos, UnitID: "BAPPEDA", EffectiveFrom: calendar.MustNew(2026, 4, 1), DecreeRef: "SK 821/2026"}
	c, err := f.emps.ChangePosition(ctx, f.hr(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	ev := c.Events[0].Event.(employee.PositionChanged)
	if ev.PreviousUnitID != "DINKES" || ev.PreviousPosition.Kind != employee.Pelaksana {
		t.Errorf("previous = %s %+v, want DINKES PELAKSANA", ev.PreviousUnitID, ev.PreviousPosition)
	}
	e, _ := f.emps.Get(ctx, empE)
	if got := e.UnitOn(calendar.MustNew(2026, 3, 31)); got != "DINKES" {
		t.Errorf("unit on 31 March = %s, want DINKES", got)
	}
	if got := e.UnitOn(calendar.MustNew(2026, 4, 1)); got != "BAPPEDA" {
		t.Errorf("unit on 1 April = %s, want BAPPEDA", got)
	}
	if c, err := f.emps.ChangePosition(ctx, f.hr(), cmd); err != nil || len(c.Events) != 0 {
		t.Errorf("repeat = %d events, %v; want a no-op", len(c.Events), err)
	}
	cmd.UnitID = "NOPE"
	if _, err := f.emps.ChangePosition(ctx, f.hr(), cmd); fieldOf(err) != "unit_id" {
		t.Errorf("unknown unit error = %v, want a validation error on unit_id", err)
	}
}

func TestAssignUnitHead(t *testing.T) {
	f := setup(t, policy.Default())
	ctx := context.Background()
	apr1 := calendar.MustNew(2026, 4, 1)
	if _, err := f.units.AssignHead(ctx, domaintest.MasterData(f.hr(), calendar.MustNew(2026, 1, 1)), orgunit.AssignHead{UnitID: "DINKES", HeadNIP: empS, EffectiveFrom: calendar.MustNew(2026, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.units.AssignHead(ctx, f.hr(), orgunit.AssignHead{UnitID: "DINKES", HeadNIP: empC, EffectiveFrom: apr1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.units.AssignHead(ctx, f.hr(), orgunit.AssignHead{UnitID: "DINKES", HeadNIP: empX, EffectiveFrom: apr1}); fieldOf(err) != "head_nip" {
		t.Errorf("unregistered head error = %v, want a validation error on head_nip", err)
	}
	if _, err := f.units.AssignHead(ctx, f.hr(), orgunit.AssignHead{UnitID: "NOPE", HeadNIP: empC, EffectiveFrom: apr1}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown unit error = %v, want ErrNotFound", err)
	}
	u, err := f.units.Get(ctx, "DINKES")
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[calendar.Date]string{
		calendar.MustNew(2025, 12, 31): "",
		calendar.MustNew(2026, 3, 31):  empS,
		apr1:                           empC,
	} {
		if got, _ := u.HeadOn(d); got != want {
			t.Errorf("HeadOn(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestRead(t *testing.T) {
	f := setup(t, policy.Default())
	f.assign(t, empE, empA, empS, calendar.MustNew(2026, 1, 1))
	tests := []struct {
		name    string
		caller  domain.Principal
		wantErr error
	}{
		{name: "the employee", caller: domain.Principal{ID: empE}},
		{name: "the appraiser", caller: domain.Principal{ID: empA}},
		{name: "the superior", caller: domain.Principal{ID: empS}},
		{name: "HR admin", caller: domain.Principal{ID: "hr", Roles: []domain.Role{domain.RoleHRAdmin}}},
		{name: "auditor", caller: domain.Principal{ID: "au", Roles: []domain.Role{domain.RoleAuditor}}},
		{name: "a colleague", caller: domain.Principal{ID: empP}, wantErr: domain.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := f.emps.Read(context.Background(), tt.caller, "19900101 201503 1 001")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Read error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.ReportingLine == nil || v.ReportingLine.Appraiser != empA || v.ASNType != nip.PNS {
				t.Errorf("view = %+v, want the line in effect", v)
			}
		})
	}
}
