package orgunit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

var start = time.Date(2026, 2, 2, 9, 0, 0, 0, policy.WIB)

const admin = "hr-admin"

func setup(tb testing.TB) (*domaintest.Env, *orgunit.Service) {
	tb.Helper()
	env := domaintest.New(tb, start)
	return env, &orgunit.Service{Handler: env.Handler, Policy: policy.Default()}
}

func hr(env *domaintest.Env) domain.Request { return env.Request(admin, domain.RoleHRAdmin) }

func mustRegister(tb testing.TB, env *domaintest.Env, s *orgunit.Service, id, parent string) {
	tb.Helper()
	if _, err := s.Register(context.Background(), hr(env), orgunit.Register{ID: id, Name: "Unit " + id, ParentID: parent}); err != nil {
		tb.Fatalf("Register(%s): %v", id, err)
	}
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name    string
		req     func(*domaintest.Env) domain.Request
		cmd     orgunit.Register
		wantErr error
	}{
		{name: "root unit", cmd: orgunit.Register{ID: "PEMKOT", Name: "Pemerintah Kota"}},
		{name: "child of an existing unit", cmd: orgunit.Register{ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "ROOT"}},
		{name: "unknown parent", cmd: orgunit.Register{ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "NOPE"}, wantErr: domain.ErrValidation},
		{name: "own parent", cmd: orgunit.Register{ID: "X", Name: "x", ParentID: "X"}, wantErr: domain.ErrValidation},
		{name: "id taken", cmd: orgunit.Register{ID: "ROOT", Name: "again"}, wantErr: domain.ErrConflict},
		{name: "id with a space", cmd: orgunit.Register{ID: "DIN KES", Name: "x"}, wantErr: domain.ErrValidation},
		{name: "empty name", cmd: orgunit.Register{ID: "A", Name: "  "}, wantErr: domain.ErrValidation},
		{name: "not HR admin", req: func(e *domaintest.Env) domain.Request { return e.Request("199001012015031001") },
			cmd: orgunit.Register{ID: "A", Name: "a"}, wantErr: domain.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, s := setup(t)
			mustRegister(t, env, s, "ROOT", "")
			req := hr(env)
			if tt.req != nil {
				req = tt.req(env)
			}
			_, err := s.Register(context.Background(), req, tt.cmd)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Register error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u, err := s.Get(context.Background(), tt.cmd.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v := u.View(calendar.Of(start, policy.WIB)); v.Name != tt.cmd.Name || v.ParentID != tt.cmd.ParentID {
				t.Errorf("view = %+v, want name %q parent %q", v, tt.cmd.Name, tt.cmd.ParentID)
			}
		})
	}
}

func TestGetUnknown(t *testing.T) {
	_, s := setup(t)
	if _, err := s.Get(context.Background(), "NOPE"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Get(NOPE) error = %v, want ErrNotFound", err)
	}
}

func TestRatePerformance(t *testing.T) {
	env, s := setup(t)
	ctx := context.Background()
	mustRegister(t, env, s, "DINKES", "")
	steps := []struct {
		name     string
		cmd      orgunit.RatePerformance
		wantErr  error
		wantNoOp bool
	}{
		{name: "first value needs no reason", cmd: orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BAIK"}},
		{name: "same value again is a no-op", cmd: orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BAIK"}, wantNoOp: true},
		{name: "change without reason", cmd: orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "ISTIMEWA"}, wantErr: domain.ErrValidation},
		{name: "change with reason", cmd: orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "ISTIMEWA", Reason: "audit finding corrected"}},
		{name: "quarter under the quarterly cadence", cmd: orgunit.RatePerformance{UnitID: "DINKES", Period: "2026-Q1", Predikat: "KURANG"}},
		{name: "month under the quarterly cadence", cmd: orgunit.RatePerformance{UnitID: "DINKES", Period: "2026-01", Predikat: "KURANG"}, wantErr: domain.ErrValidation},
		{name: "employee predikat is not an organisation predikat", cmd: orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "SANGAT_BAIK"}, wantErr: domain.ErrValidation},
		{name: "unknown unit", cmd: orgunit.RatePerformance{UnitID: "NOPE", Period: "2026", Predikat: "BAIK"}, wantErr: domain.ErrNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.cmd.PaperRef = "BA-PREDIKAT-2026" // HR_ADMIN enters it from paper
			c, err := s.RatePerformance(ctx, hr(env), st.cmd)
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("error = %v, want %v", err, st.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(c.Events) == 0; got != st.wantNoOp {
				t.Errorf("no-op = %v, want %v", got, st.wantNoOp)
			}
		})
	}
	u, err := s.Get(ctx, "DINKES")
	if err != nil {
		t.Fatal(err)
	}
	v := u.View(calendar.MustNew(2026, 6, 1))
	want := map[string]rating.OrgPredikat{"2026": rating.Istimewa, "2026-Q1": rating.OrgKurang}
	if diff := cmp.Diff(want, v.Performance); diff != "" {
		t.Errorf("performance mismatch (-want +got):\n%s", diff)
	}
	if len(v.History) != 3 {
		t.Fatalf("history has %d entries, want 3", len(v.History))
	}
	change := v.History[1]
	if change.Previous != rating.OrgBaik || change.Predikat != rating.Istimewa || change.Reason != "audit finding corrected" || change.Actor.ID != admin {
		t.Errorf("change = %+v, want BAIK→ISTIMEWA with the reason and actor", change)
	}
}

func TestRatePerformanceForbidden(t *testing.T) {
	env, s := setup(t)
	mustRegister(t, env, s, "DINKES", "")
	_, err := s.RatePerformance(context.Background(), env.Request("auditor", domain.RoleAuditor),
		orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BAIK", PaperRef: "BA-1"})
	if !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("error = %v, want ErrForbidden", err)
	}
}

func TestBuildTree(t *testing.T) {
	reg := func(id, parent string) orgunit.Registered {
		return orgunit.Registered{UnitID: id, Name: id, ParentID: parent}
	}
	tests := []struct {
		name    string
		units   []orgunit.Registered
		wantErr bool
	}{
		{name: "in order", units: []orgunit.Registered{reg("A", ""), reg("B", "A"), reg("C", "B"), reg("D", "A")}},
		{name: "children before parents", units: []orgunit.Registered{reg("C", "B"), reg("B", "A"), reg("A", "")}},
		{name: "empty", units: nil},
		{name: "unknown parent", units: []orgunit.Registered{reg("A", ""), reg("B", "Z")}, wantErr: true},
		{name: "duplicate id", units: []orgunit.Registered{reg("A", ""), reg("A", "")}, wantErr: true},
		{name: "two-unit cycle", units: []orgunit.Registered{reg("A", "B"), reg("B", "A")}, wantErr: true},
		{name: "self cycle", units: []orgunit.Registered{reg("A", "A")}, wantErr: true},
		{name: "cycle below a root", units: []orgunit.Registered{reg("R", ""), reg("A", "C"), reg("B", "A"), reg("C", "B")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := orgunit.BuildTree(tt.units)
			if (err != nil) != tt.wantErr {
				t.Errorf("BuildTree error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestTreeQueries(t *testing.T) {
	reg := func(id, parent string) orgunit.Registered { return orgunit.Registered{UnitID: id, ParentID: parent} }
	tree, err := orgunit.BuildTree([]orgunit.Registered{reg("A", ""), reg("B", "A"), reg("C", "B"), reg("D", "A"), reg("E", "")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A", "B", "C", "D"}, tree.Subtree("A")); diff != "" {
		t.Errorf("Subtree(A) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"B", "D"}, tree.Children("A")); diff != "" {
		t.Errorf("Children(A) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"B", "A"}, tree.Ancestors("C")); diff != "" {
		t.Errorf("Ancestors(C) mismatch (-want +got):\n%s", diff)
	}
	if tree.Subtree("Z") != nil || tree.Has("Z") {
		t.Error("unknown unit reported as present")
	}
}

// TestRatePerformanceWho: the leader one level up sets the organisation
// predikat with a basis; HR_ADMIN only as a backfill from paper; the
// unit's own head never (for a root unit, its own head); with a body named
// by the policy, that body's head instead of the leader.
func TestRatePerformanceWho(t *testing.T) {
	const (
		nipL = "197503032000031003" // head of PEMKOT
		nipH = "198502022010012002" // head of DINKES
		nipB = "196504041990031004" // head of TIMPENILAI
	)
	tests := []struct {
		name         string
		body         string // policy OrgPredikatBody
		caller       string
		roles        []domain.Role
		cmd          orgunit.RatePerformance
		wantErr      error
		wantField    string
		wantRole     domain.Role
		wantCapacity orgunit.Capacity
		wantBasis    string
	}{
		{name: "the leader one level up, with a basis", caller: nipL, cmd: orgunit.RatePerformance{UnitID: "DINKES", BasisRef: "800/1/2027"},
			wantRole: domain.RoleUnitLeader, wantCapacity: orgunit.CapacityLeader, wantBasis: "800/1/2027"},
		{name: "the leader without a basis", caller: nipL, cmd: orgunit.RatePerformance{UnitID: "DINKES"}, wantErr: domain.ErrValidation, wantField: "basis_ref"},
		{name: "a basis with a control character", caller: nipL, cmd: orgunit.RatePerformance{UnitID: "DINKES", BasisRef: "800/1\x00"},
			wantErr: domain.ErrValidation, wantField: "basis_ref"},
		{name: "a basis over 200 characters", caller: nipL, cmd: orgunit.RatePerformance{UnitID: "DINKES", BasisRef: strings.Repeat("x", 201)},
			wantErr: domain.ErrValidation, wantField: "basis_ref"},
		{name: "the unit's own head may not", caller: nipH, cmd: orgunit.RatePerformance{UnitID: "DINKES", BasisRef: "800/1/2027"}, wantErr: domain.ErrForbidden},
		{name: "HR_ADMIN without paper_ref may not", caller: admin, roles: []domain.Role{domain.RoleHRAdmin},
			cmd: orgunit.RatePerformance{UnitID: "DINKES", BasisRef: "800/1/2027"}, wantErr: domain.ErrForbidden},
		{name: "HR_ADMIN backfills from paper", caller: admin, roles: []domain.Role{domain.RoleHRAdmin},
			cmd:      orgunit.RatePerformance{UnitID: "DINKES", PaperRef: "Arsip 17"},
			wantRole: domain.RoleHRAdmin, wantCapacity: orgunit.CapacityBackfill, wantBasis: "Arsip 17"},
		{name: "paper_ref does not make the unit's head HR", caller: nipH, cmd: orgunit.RatePerformance{UnitID: "DINKES", PaperRef: "Arsip 17"}, wantErr: domain.ErrForbidden},
		{name: "a root unit: its own head", caller: nipL, cmd: orgunit.RatePerformance{UnitID: "PEMKOT", BasisRef: "800/2/2027"},
			wantRole: domain.RoleUnitLeader, wantCapacity: orgunit.CapacityLeader, wantBasis: "800/2/2027"},
		{name: "the body the policy names", body: "TIMPENILAI", caller: nipB, cmd: orgunit.RatePerformance{UnitID: "DINKES", BasisRef: "TPK/3"},
			wantRole: domain.RoleUnitLeader, wantCapacity: orgunit.CapacityPolicyBody, wantBasis: "TPK/3"},
		{name: "with a body named, the leader one level up may not", body: "TIMPENILAI", caller: nipL,
			cmd: orgunit.RatePerformance{UnitID: "DINKES", BasisRef: "800/1/2027"}, wantErr: domain.ErrForbidden},
		{name: "a vacant leader post: nobody but an HR backfill", caller: nipL, cmd: orgunit.RatePerformance{UnitID: "PUSKESMAS", BasisRef: "x"}, wantErr: domain.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := domaintest.New(t, start)
			pol := policy.Default()
			pol.OrgPredikatBody = tt.body
			s := &orgunit.Service{Handler: env.Handler, Policy: pol}
			emps := &employee.Service{Handler: env.Handler, Policy: pol}
			ctx := context.Background()
			mustRegister(t, env, s, "PEMKOT", "")
			mustRegister(t, env, s, "DINKES", "PEMKOT")
			mustRegister(t, env, s, "PUSKESMAS", "DINKES")
			mustRegister(t, env, s, "TIMPENILAI", "PEMKOT")
			jan := calendar.MustNew(2026, 1, 1)
			for unit, n := range map[string]string{"PEMKOT": nipL, "DINKES": nipH, "TIMPENILAI": nipB} {
				if _, err := emps.Register(ctx, hr(env), employee.Register{NIP: n, Name: "x", UnitID: unit, Position: employee.Position{Kind: "JPT_PRATAMA", Title: "x"}}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.AssignHead(ctx, domaintest.MasterData(hr(env), jan), orgunit.AssignHead{UnitID: unit, HeadNIP: n, EffectiveFrom: jan}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.AssignHead(ctx, domaintest.MasterData(hr(env), calendar.MustNew(2026, 2, 1)), orgunit.AssignHead{UnitID: "DINKES", HeadNIP: "", EffectiveFrom: calendar.MustNew(2026, 2, 1)}); err != nil {
				t.Fatal(err)
			}
			if tt.cmd.UnitID == "DINKES" || tt.cmd.UnitID == "PEMKOT" {
				// DINKES's own head is H again for these cases.
				if _, err := s.AssignHead(ctx, hr(env), orgunit.AssignHead{UnitID: "DINKES", HeadNIP: nipH, EffectiveFrom: calendar.MustNew(2026, 2, 2)}); err != nil {
					t.Fatal(err)
				}
			}
			tt.cmd.Period, tt.cmd.Predikat = "2026", "BAIK"
			c, err := s.RatePerformance(ctx, env.Request(tt.caller, tt.roles...), tt.cmd)
			if tt.wantErr != nil {
				var v *domain.ValidationError
				if !errors.Is(err, tt.wantErr) || (tt.wantField != "" && (!errors.As(err, &v) || v.Fields[0].Field != tt.wantField)) {
					t.Fatalf("error = %v, want %v on %q", err, tt.wantErr, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ev := c.Events[0].Event.(orgunit.PerformanceRated)
			if c.Events[0].Meta.Actor.Role != tt.wantRole || ev.Capacity != tt.wantCapacity || ev.BasisRef != tt.wantBasis {
				t.Errorf("recorded %+v as %s, want %s %s basis %q", ev, c.Events[0].Meta.Actor.Role, tt.wantRole, tt.wantCapacity, tt.wantBasis)
			}
		})
	}
}

func TestRename(t *testing.T) {
	env, s := setup(t)
	mustRegister(t, env, s, "PEMKOT", "")
	mustRegister(t, env, s, "DINKES", "PEMKOT")
	ctx := context.Background()
	for name, c := range map[string]struct {
		req     domain.Request
		cmd     orgunit.Rename
		wantErr error
	}{
		"empty name":    {hr(env), orgunit.Rename{UnitID: "DINKES", Name: "  "}, domain.ErrValidation},
		"name too long": {hr(env), orgunit.Rename{UnitID: "DINKES", Name: string(make([]rune, orgunit.MaxNameLen+1))}, domain.ErrValidation},
		"unknown unit":  {hr(env), orgunit.Rename{UnitID: "NOPE", Name: "x"}, domain.ErrNotFound},
		"not HR":        {env.Request("auditor", domain.RoleAuditor), orgunit.Rename{UnitID: "DINKES", Name: "x"}, domain.ErrForbidden},
	} {
		if _, err := s.Rename(ctx, c.req, c.cmd); !errors.Is(err, c.wantErr) {
			t.Errorf("%s: error = %v, want %v", name, err, c.wantErr)
		}
	}
	c, err := s.Rename(ctx, hr(env), orgunit.Rename{UnitID: "DINKES", Name: " Dinas Kesehatan Kota "})
	if err != nil || len(c.Events) != 1 {
		t.Fatalf("rename = %+v, %v", c, err)
	}
	if ev, ok := c.Events[0].Event.(orgunit.Renamed); !ok || ev.Name != "Dinas Kesehatan Kota" || ev.Previous != "Unit DINKES" {
		t.Errorf("event = %+v", c.Events[0].Event)
	}
	u, err := s.Get(ctx, "DINKES")
	if err != nil {
		t.Fatal(err)
	}
	if v := u.View(calendar.Of(start, policy.WIB)); v.Name != "Dinas Kesehatan Kota" || v.ParentID != "PEMKOT" {
		t.Errorf("after the rename: %+v", v)
	}
	// The same name again changes nothing.
	if c, err := s.Rename(ctx, hr(env), orgunit.Rename{UnitID: "DINKES", Name: "Dinas Kesehatan Kota"}); err != nil || len(c.Events) != 0 {
		t.Errorf("renaming to the name in effect = %+v, %v", c, err)
	}
}

// Authority on both dates: a leader whose headship ended at midnight cannot
// set the predikat with an occurred_at a few minutes back into their last
// day (within the tolerance); the new head can (issue 9 §3).
func TestRatePerformanceLeaderOnBothDates(t *testing.T) {
	const (
		nipL = "197503032000031003" // head of PEMKOT until 2 February
		nipN = "198804042012041004" // head of PEMKOT from 3 February
	)
	env, s := setup(t)
	emps := &employee.Service{Handler: env.Handler, Policy: s.Policy}
	ctx := context.Background()
	mustRegister(t, env, s, "PEMKOT", "")
	mustRegister(t, env, s, "DINKES", "PEMKOT")
	for _, n := range []string{nipL, nipN} {
		if _, err := emps.Register(ctx, hr(env), employee.Register{NIP: n, Name: "x", UnitID: "PEMKOT", Position: employee.Position{Kind: "JPT_PRATAMA", Title: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	jan, feb3 := calendar.MustNew(2026, 1, 1), calendar.MustNew(2026, 2, 3)
	if _, err := s.AssignHead(ctx, domaintest.MasterData(hr(env), jan), orgunit.AssignHead{UnitID: "PEMKOT", HeadNIP: nipL, EffectiveFrom: jan}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignHead(ctx, hr(env), orgunit.AssignHead{UnitID: "PEMKOT", HeadNIP: nipN, EffectiveFrom: feb3}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Set(feb3.Start(policy.WIB).Add(5 * time.Minute))
	cmd := orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BAIK", BasisRef: "800/1/2026"}
	late := env.Request(nipL)
	late.OccurredAt = feb3.Start(policy.WIB).Add(-2 * time.Minute) // L's last day, within the tolerance
	if _, err := s.RatePerformance(ctx, late, cmd); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("the former leader dated into their last day: error = %v, want forbidden", err)
	}
	if _, err := s.RatePerformance(ctx, env.Request(nipN), cmd); err != nil {
		t.Fatalf("the leader of today: %v", err)
	}
}

func TestSetZone(t *testing.T) {
	env, s := setup(t)
	mustRegister(t, env, s, "PEMKOT", "")
	mustRegister(t, env, s, "DINKES", "PEMKOT")
	ctx := context.Background()
	for name, c := range map[string]struct {
		req     domain.Request
		cmd     orgunit.SetZone
		wantErr error
	}{
		"empty zone":   {hr(env), orgunit.SetZone{UnitID: "DINKES", Zone: " "}, domain.ErrValidation},
		"other zone":   {hr(env), orgunit.SetZone{UnitID: "DINKES", Zone: "CET"}, domain.ErrValidation},
		"IANA name":    {hr(env), orgunit.SetZone{UnitID: "DINKES", Zone: "Asia/Makassar"}, domain.ErrValidation},
		"control char": {hr(env), orgunit.SetZone{UnitID: "DINKES", Zone: "WIT\x00"}, domain.ErrValidation},
		"unknown unit": {hr(env), orgunit.SetZone{UnitID: "NOPE", Zone: "WIT"}, domain.ErrNotFound},
		"not HR":       {env.Request("auditor", domain.RoleAuditor), orgunit.SetZone{UnitID: "DINKES", Zone: "WIT"}, domain.ErrForbidden},
	} {
		if _, err := s.SetZone(ctx, c.req, c.cmd); !errors.Is(err, c.wantErr) {
			t.Errorf("%s: error = %v, want %v", name, err, c.wantErr)
		}
	}
	c, err := s.SetZone(ctx, hr(env), orgunit.SetZone{UnitID: "DINKES", Zone: " wita "})
	if err != nil || len(c.Events) != 1 {
		t.Fatalf("set zone = %+v, %v", c, err)
	}
	if ev, ok := c.Events[0].Event.(orgunit.ZoneSet); !ok || ev.Zone != "WITA" || ev.Previous != "" {
		t.Errorf("event = %+v", c.Events[0].Event)
	}
	if c, err = s.SetZone(ctx, hr(env), orgunit.SetZone{UnitID: "DINKES", Zone: "WIT"}); err != nil || c.Events[0].Event.(orgunit.ZoneSet).Previous != "WITA" {
		t.Fatalf("second zone = %+v, %v", c, err)
	}
	u, err := s.Get(ctx, "DINKES")
	if err != nil {
		t.Fatal(err)
	}
	if v := u.View(calendar.Of(start, policy.WIB)); v.Zone != "WIT" {
		t.Errorf("after setting the zone: %+v", v)
	}
	if p, _ := s.Get(ctx, "PEMKOT"); p.View(calendar.Of(start, policy.WIB)).Zone != "" {
		t.Errorf("the parent took the zone")
	}
	// The zone in effect again changes nothing.
	if c, err := s.SetZone(ctx, hr(env), orgunit.SetZone{UnitID: "DINKES", Zone: "WIT"}); err != nil || len(c.Events) != 0 {
		t.Errorf("setting the zone in effect = %+v, %v", c, err)
	}
}
