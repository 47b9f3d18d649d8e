package distribution_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

const (
	sb = rating.SangatBaik
	b  = rating.Baik
	bp = rating.ButuhPerbaikan
	km = rating.KurangMisconduct
	sk = rating.SangatKurang
)

// TestSE3_2023 is the table of domain.md §4.4 with its boundary cases:
// exactly 70 % / 60 % / 10 %, rounding on a unit of 7 (ceil for minimums,
// floor for maximums), a unit of 5 (60 % is exactly 3), a unit of 1 and an
// empty unit.
func TestSE3_2023(t *testing.T) {
	tests := []struct {
		name   string
		org    rating.OrgPredikat
		counts distribution.Counts
		want   []string
	}{
		// ISTIMEWA: SANGAT_BAIK at most 70 %.
		{name: "istimewa, exactly 70% of 10", org: rating.Istimewa, counts: distribution.Counts{sb: 7, b: 3}},
		{name: "istimewa, 80% of 10", org: rating.Istimewa, counts: distribution.Counts{sb: 8, b: 2}, want: []string{"ISTIMEWA.SANGAT_BAIK.max_70"}},
		{name: "istimewa, unit of 7: 4 allowed (4.9 rounded down)", org: rating.Istimewa, counts: distribution.Counts{sb: 4, b: 3}},
		{name: "istimewa, unit of 7: 5 too many", org: rating.Istimewa, counts: distribution.Counts{sb: 5, b: 2}, want: []string{"ISTIMEWA.SANGAT_BAIK.max_70"}},
		{name: "istimewa, unit of 1 rated SANGAT_BAIK", org: rating.Istimewa, counts: distribution.Counts{sb: 1}, want: []string{"ISTIMEWA.SANGAT_BAIK.max_70"}},
		{name: "istimewa, every other predikat allowed", org: rating.Istimewa, counts: distribution.Counts{bp: 3, km: 3, sk: 4}},
		{name: "istimewa, empty unit", org: rating.Istimewa, counts: distribution.Counts{}},

		// BAIK: BAIK at most 70 %; at least one BUTUH_PERBAIKAN and/or KURANG_MISCONDUCT.
		{name: "baik, exactly 70% with 3 BP", org: rating.OrgBaik, counts: distribution.Counts{b: 7, bp: 3}},
		{name: "baik, 80%", org: rating.OrgBaik, counts: distribution.Counts{b: 8, bp: 2}, want: []string{"BAIK.BAIK.max_70"}},
		{name: "baik, nobody in BP or K/M", org: rating.OrgBaik, counts: distribution.Counts{b: 7, sb: 3}, want: []string{"BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1"}},
		{name: "baik, one K/M is enough", org: rating.OrgBaik, counts: distribution.Counts{b: 7, sb: 2, km: 1}},
		{name: "baik, unit of 7 with 4 BAIK", org: rating.OrgBaik, counts: distribution.Counts{b: 4, sb: 2, bp: 1}},
		{name: "baik, unit of 7 with 5 BAIK", org: rating.OrgBaik, counts: distribution.Counts{b: 5, sb: 1, bp: 1}, want: []string{"BAIK.BAIK.max_70"}},
		{name: "baik, unit of 1 in BP", org: rating.OrgBaik, counts: distribution.Counts{bp: 1}},
		{name: "baik, unit of 1 in BAIK breaks both rules", org: rating.OrgBaik, counts: distribution.Counts{b: 1},
			want: []string{"BAIK.BAIK.max_70", "BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1"}},
		{name: "baik, empty unit", org: rating.OrgBaik, counts: nil},

		// BUTUH_PERBAIKAN: BP at least 60 %; SANGAT_BAIK at most 10 %.
		{name: "butuh perbaikan, exactly 60% and 10%", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 6, sb: 1, b: 3}},
		{name: "butuh perbaikan, 50% BP", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 5, b: 5}, want: []string{"BUTUH_PERBAIKAN.BUTUH_PERBAIKAN.min_60"}},
		{name: "butuh perbaikan, 20% SB", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 6, sb: 2, b: 2}, want: []string{"BUTUH_PERBAIKAN.SANGAT_BAIK.max_10"}},
		{name: "butuh perbaikan, unit of 7 needs 5 BP (4.2 rounded up)", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 4, b: 3}, want: []string{"BUTUH_PERBAIKAN.BUTUH_PERBAIKAN.min_60"}},
		{name: "butuh perbaikan, unit of 7 with 5 BP", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 5, b: 2}},
		{name: "butuh perbaikan, unit of 7 allows no SB (0.7 rounded down)", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 5, sb: 1, b: 1}, want: []string{"BUTUH_PERBAIKAN.SANGAT_BAIK.max_10"}},
		{name: "butuh perbaikan, unit of 5: 60% is exactly 3", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 3, b: 2}},
		{name: "butuh perbaikan, unit of 1 in BAIK", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{b: 1}, want: []string{"BUTUH_PERBAIKAN.BUTUH_PERBAIKAN.min_60"}},

		// KURANG: K/M at least 60 %; BP at least 10 %; SANGAT_BAIK at most 10 %.
		{name: "kurang, exactly at every bound", org: rating.OrgKurang, counts: distribution.Counts{km: 6, bp: 1, sb: 1, b: 2}},
		{name: "kurang, 50% K/M", org: rating.OrgKurang, counts: distribution.Counts{km: 5, bp: 1, b: 4}, want: []string{"KURANG.KURANG_MISCONDUCT.min_60"}},
		{name: "kurang, no BP", org: rating.OrgKurang, counts: distribution.Counts{km: 6, b: 4}, want: []string{"KURANG.BUTUH_PERBAIKAN.min_10"}},
		{name: "kurang, 20% SB", org: rating.OrgKurang, counts: distribution.Counts{km: 6, bp: 2, sb: 2}, want: []string{"KURANG.SANGAT_BAIK.max_10"}},
		{name: "kurang, unit of 7: 5 K/M and 1 BP", org: rating.OrgKurang, counts: distribution.Counts{km: 5, bp: 1, b: 1}},
		{name: "kurang, unit of 7: 4 K/M", org: rating.OrgKurang, counts: distribution.Counts{km: 4, bp: 1, b: 2}, want: []string{"KURANG.KURANG_MISCONDUCT.min_60"}},
		{name: "kurang, everything wrong", org: rating.OrgKurang, counts: distribution.Counts{sb: 10},
			want: []string{"KURANG.KURANG_MISCONDUCT.min_60", "KURANG.BUTUH_PERBAIKAN.min_10", "KURANG.SANGAT_BAIK.max_10"}},

		// SANGAT_KURANG: SK at least 60 %; K/M + BP together at least 10 %; no SANGAT_BAIK.
		{name: "sangat kurang, 60% SK and 10% K/M", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 6, km: 1, b: 3}},
		{name: "sangat kurang, 60% SK and 10% BP", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 6, bp: 1, b: 3}},
		{name: "sangat kurang, K/M and BP together", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 12, km: 1, bp: 1, b: 6}},
		{name: "sangat kurang, neither K/M nor BP", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 6, b: 4}, want: []string{"SANGAT_KURANG.KURANG_MISCONDUCT+BUTUH_PERBAIKAN.min_10"}},
		{name: "sangat kurang, one SB is too many", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 6, km: 1, sb: 1, b: 2}, want: []string{"SANGAT_KURANG.SANGAT_BAIK.max_0"}},
		{name: "sangat kurang, 50% SK", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 5, km: 1, b: 4}, want: []string{"SANGAT_KURANG.SANGAT_KURANG.min_60"}},
		{name: "sangat kurang, unit of 7: 5 SK and 1 BP", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 5, bp: 1, b: 1}},
		{name: "sangat kurang, unit of 7: 4 SK", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 4, bp: 1, b: 2}, want: []string{"SANGAT_KURANG.SANGAT_KURANG.min_60"}},
		{name: "sangat kurang, unit of 1 in SK", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 1}, want: []string{"SANGAT_KURANG.KURANG_MISCONDUCT+BUTUH_PERBAIKAN.min_10"}},
		{name: "sangat kurang, empty unit", org: rating.OrgSangatKurang, counts: distribution.Counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range distribution.SE3_2023.Check(tt.org, tt.counts) {
				got = append(got, v.Rule)
				if v.Detail == "" {
					t.Errorf("violation %s has no detail", v.Rule)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	r := distribution.Evaluate(distribution.SE3_2023, rating.OrgBaik, distribution.Counts{b: 8, bp: 2})
	if r.Population != 10 || r.Counts[sb] != 0 || r.Counts[b] != 8 || r.Shares[b] != 0.8 || r.Pattern != "SE_MENPANRB_3_2023" || len(r.Violations) != 1 {
		t.Errorf("Evaluate = %+v", r)
	}
	if len(r.Counts) != 5 || len(r.Shares) != 5 {
		t.Errorf("counts and shares cover %d and %d predikat, want 5", len(r.Counts), len(r.Shares))
	}
	empty := distribution.Evaluate(distribution.SE3_2023, rating.Istimewa, nil)
	if empty.Population != 0 || empty.Violations == nil || len(empty.Violations) != 0 {
		t.Errorf("empty Evaluate = %+v, want no violations (an empty list)", empty)
	}
}

func TestGate(t *testing.T) {
	r := distribution.Evaluate(distribution.SE3_2023, rating.OrgBaik, distribution.Counts{b: 10})
	clean := distribution.Evaluate(distribution.SE3_2023, rating.OrgBaik, distribution.Counts{b: 7, bp: 3})
	all := r.Violations
	tests := []struct {
		name      string
		mode      policy.DistributionMode
		result    distribution.Result
		justified []distribution.Violation
		wantOpen  int
	}{
		{name: "no violation", mode: policy.Warn, result: clean},
		{name: "no violation, block mode", mode: policy.Block, result: clean},
		{name: "warn without justification", mode: policy.Warn, result: r, wantOpen: 2},
		{name: "warn, justified", mode: policy.Warn, result: r, justified: all},
		{name: "warn, half justified", mode: policy.Warn, result: r, justified: all[:1], wantOpen: 1},
		{name: "block without justification", mode: policy.Block, result: r, wantOpen: 2},
		{name: "block, justified (a justification covers in BLOCK mode too)", mode: policy.Block, result: r, justified: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := distribution.Gate(tt.mode, tt.result, tt.justified)
			if tt.wantOpen == 0 {
				if err != nil {
					t.Fatalf("Gate = %v, want nil", err)
				}
				return
			}
			var d *distribution.DeviationError
			if !errors.As(err, &d) || !errors.Is(err, domain.ErrInvalidState) || len(d.Violations) != tt.wantOpen {
				t.Fatalf("Gate = %v, want a DeviationError with %d violations", err, tt.wantOpen)
			}
		})
	}
}

const (
	nipLeader = "197503032000031003" // head of PEMKOT
	nipHead   = "198502022010012002" // head of DINKES
)

func setup(tb testing.TB, mode policy.DistributionMode) (*domaintest.Env, *distribution.Service, *orgunit.Service) {
	tb.Helper()
	// The master data is recorded as the year begins (its heads are then
	// effective from that day, no backfill); the tests run in January 2027.
	env := domaintest.New(tb, time.Date(2026, 1, 1, 8, 0, 0, 0, policy.WIB))
	pol := policy.Default()
	pol.DistributionMode = mode
	units := &orgunit.Service{Handler: env.Handler, Policy: pol}
	emps := &employee.Service{Handler: env.Handler, Policy: pol}
	ctx := context.Background()
	hr := env.Request("hr", domain.RoleHRAdmin)
	must := func(_ domain.Committed, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(units.Register(ctx, hr, orgunit.Register{ID: "PEMKOT", Name: "Pemkot"}))
	must(units.Register(ctx, hr, orgunit.Register{ID: "DINKES", Name: "Dinkes", ParentID: "PEMKOT"}))
	for _, n := range []string{nipLeader, nipHead} {
		must(emps.Register(ctx, hr, employee.Register{NIP: n, Name: "x", UnitID: "PEMKOT", Position: employee.Position{Kind: "JPT_PRATAMA", Title: "x"}}))
	}
	jan := calendar.MustNew(2026, 1, 1)
	must(units.AssignHead(ctx, hr, orgunit.AssignHead{UnitID: "PEMKOT", HeadNIP: nipLeader, EffectiveFrom: jan}))
	must(units.AssignHead(ctx, hr, orgunit.AssignHead{UnitID: "DINKES", HeadNIP: nipHead, EffectiveFrom: jan}))
	env.Clock.Set(time.Date(2027, 1, 10, 9, 0, 0, 0, policy.WIB))
	hr = env.Request("hr", domain.RoleHRAdmin)
	must(units.RatePerformance(ctx, hr, orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"}))
	return env, &distribution.Service{Handler: env.Handler, Policy: pol, Pattern: distribution.SE3_2023}, units
}

func TestJustify(t *testing.T) {
	deviating := distribution.Counts{b: 9, sb: 1}
	tests := []struct {
		name      string
		mode      policy.DistributionMode
		caller    string
		roles     []domain.Role
		cmd       distribution.Justify
		wantErr   error
		wantField string
	}{
		{name: "the leader one level up justifies", caller: nipLeader,
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026", Counts: deviating, Justification: "unit kecil, semua berkinerja baik"}},
		{name: "the unit's own head may not", caller: nipHead,
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026", Counts: deviating, Justification: "x"}, wantErr: domain.ErrForbidden},
		{name: "HR admin may not", caller: "hr", roles: []domain.Role{domain.RoleHRAdmin},
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026", Counts: deviating, Justification: "x"}, wantErr: domain.ErrForbidden},
		{name: "nothing to justify", caller: nipLeader,
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026", Counts: distribution.Counts{b: 7, bp: 3}, Justification: "x"}, wantErr: domain.ErrValidation, wantField: "counts"},
		{name: "no organisation predikat for the period", caller: nipLeader,
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026-Q1", Counts: deviating, Justification: "x"}, wantErr: domain.ErrInvalidState},
		{name: "block mode: a justification is what lets a deviating issue through", mode: policy.Block, caller: nipLeader,
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026", Counts: deviating, Justification: "unit kecil"}},
		{name: "unknown unit", caller: nipLeader,
			cmd: distribution.Justify{UnitID: "NOPE", Period: "2026", Counts: deviating, Justification: "x"}, wantErr: domain.ErrNotFound},
		{name: "negative count", caller: nipLeader,
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026", Counts: distribution.Counts{b: -1}, Justification: "x"}, wantErr: domain.ErrValidation, wantField: "counts"},
		{name: "no justification text", caller: nipLeader,
			cmd: distribution.Justify{UnitID: "DINKES", Period: "2026", Counts: deviating}, wantErr: domain.ErrValidation, wantField: "justification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := policy.Warn
			if tt.mode != "" {
				mode = tt.mode
			}
			env, s, units := setup(t, mode)
			_, err := s.Justify(context.Background(), env.Request(tt.caller, tt.roles...), tt.cmd)
			if tt.wantErr != nil {
				var v *domain.ValidationError
				if !errors.Is(err, tt.wantErr) || (tt.wantField != "" && (!errors.As(err, &v) || v.Fields[0].Field != tt.wantField)) {
					t.Fatalf("Justify error = %v, want %v on %q", err, tt.wantErr, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec, err := s.Load(context.Background(), "DINKES", "2026")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := units.Get(context.Background(), "DINKES")
			org, _ := u.Predikat("2026")
			res := distribution.Evaluate(s.Pattern, org, deviating)
			if err := distribution.Gate(mode, res, rec.Justified()); err != nil {
				t.Errorf("Gate after the justification = %v, want nil", err)
			}
			js := rec.Justifications()
			if len(js) != 1 || js[0].Actor.ID != nipLeader || js[0].Actor.Role != domain.RoleUnitLeader {
				t.Errorf("justifications = %+v", js)
			}
		})
	}
}
