package skp_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func TestIDs(t *testing.T) {
	tests := []struct {
		name    string
		open    []bool
		want    string
		wantErr string
	}{
		{name: "first of the year", open: nil, want: "199001012015031001-2026"},
		{name: "after a cancelled one", open: []bool{false}, want: "199001012015031001-2026-2"},
		{name: "after two ended ones", open: []bool{false, false}, want: "199001012015031001-2026-3"},
		{name: "the first is open", open: []bool{true}, wantErr: "conflict"},
		{name: "the second is open", open: []bool{false, true}, wantErr: "conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := skp.NextID(nipE, 2026, tt.open)
			expect(t, err, tt.wantErr, "")
			if got != tt.want {
				t.Errorf("NextID = %q, want %q", got, tt.want)
			}
			if got == "" {
				return
			}
			n, year, seq, err := skp.ParseID(got)
			if err != nil || n != nipE || year != 2026 || seq != len(tt.open)+1 {
				t.Errorf("ParseID(%q) = %s, %d, %d, %v", got, n, year, seq, err)
			}
		})
	}
	for _, bad := range []string{"", "199001012015031001", "199001012015031001-26", "199001012015031001-2026-1",
		"199001012015031001-2026-02", "19900101201503100-2026", "199001012015031001-2026-2-3", "x99001012015031001-2026"} {
		if _, _, _, err := skp.ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) succeeded, want error", bad)
		}
	}
}

func TestDraft(t *testing.T) {
	tests := []struct {
		name      string
		pol       func(*policy.Policy)
		before    func(*fixture)
		caller    func(*fixture) domain.Request
		cmd       skp.Draft
		wantKind  string
		wantField string
		wantID    string
	}{
		{name: "employee drafts", cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, wantID: nipE + "-2026"},
		{name: "NIP in a printed form", cmd: skp.Draft{NIP: "19900101 201503 1 001", Year: 2026, Approach: "KUALITATIF"}, wantID: nipE + "-2026"},
		{name: "HR admin drafts on behalf", caller: func(f *fixture) domain.Request { return f.hr() },
			cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, wantID: nipE + "-2026"},
		{name: "HR admin may not when configured off", pol: func(p *policy.Policy) { p.HRAdminMayDraft = false },
			caller: func(f *fixture) domain.Request { return f.hr() }, cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, wantKind: "forbidden"},
		{name: "appraiser may not draft for the employee", caller: func(f *fixture) domain.Request { return f.req(nipA) },
			cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, wantKind: "forbidden"},
		{name: "unknown employee", caller: func(f *fixture) domain.Request { return f.hr() },
			cmd: skp.Draft{NIP: "200012312024211001", Year: 2026, Approach: "KUANTITATIF"}, wantKind: "validation", wantField: "nip"},
		{name: "invalid NIP", cmd: skp.Draft{NIP: "123", Year: 2026, Approach: "KUANTITATIF"}, wantKind: "validation", wantField: "nip"},
		{name: "year out of range", cmd: skp.Draft{NIP: nipE, Year: 26, Approach: "KUANTITATIF"}, wantKind: "validation", wantField: "year"},
		{name: "unknown approach", cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "CAMPURAN"}, wantKind: "validation", wantField: "approach"},
		{name: "an open SKP for the year exists", before: func(f *fixture) { f.draft(nipE) },
			cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, wantKind: "conflict"},
		{name: "another year is fine", before: func(f *fixture) { f.draft(nipE) },
			cmd: skp.Draft{NIP: nipE, Year: 2027, Approach: "KUANTITATIF"}, wantID: nipE + "-2027"},
		{name: "after a cancellation the next number", before: func(f *fixture) {
			id, _ := f.draft(nipE)
			f.ok(f.skps.Cancel(f.ctx, f.hr(), skp.Cancel{SKPID: id, Reason: "salah input"}))
		}, cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, wantID: nipE + "-2026-2"},
		{name: "after a closure for a position change the next number", before: func(f *fixture) {
			id, _ := f.draft(nipE)
			f.ok(f.skps.Close(f.ctx, f.hr(), skp.Close{SKPID: id, EffectiveFrom: calendar.MustNew(2026, 4, 1), Reason: "mutasi"}))
		}, cmd: skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, wantID: nipE + "-2026-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var change []func(*policy.Policy)
			if tt.pol != nil {
				change = append(change, tt.pol)
			}
			f := newFixture(t, change...)
			if tt.before != nil {
				tt.before(f)
			}
			req := f.req(nipE)
			if tt.caller != nil {
				req = tt.caller(f)
			}
			id, _, err := f.skps.Draft(f.ctx, req, tt.cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if id != tt.wantID {
				t.Fatalf("id = %q, want %q", id, tt.wantID)
			}
			if id == "" {
				return
			}
			v := f.view(id)
			if v.Status != skp.StatusDraft || v.AppraiserNIP != nipA || v.AppraiserSuperiorNIP != nipS || v.Year != tt.cmd.Year {
				t.Errorf("view = status %s appraiser %s superior %s year %d; want DRAFT %s %s %d",
					v.Status, v.AppraiserNIP, v.AppraiserSuperiorNIP, v.Year, nipA, nipS, tt.cmd.Year)
			}
			if onBehalf := req.Caller.ID == hrAdmin; v.DraftedOnBehalf != onBehalf {
				t.Errorf("drafted on behalf = %v, want %v", v.DraftedOnBehalf, onBehalf)
			}
			if v.Employee.UnitID != "DINKES" || v.Employee.Position.Kind != employee.Pelaksana || v.Cadence != "QUARTERLY" {
				t.Errorf("snapshot = %+v cadence %s, want DINKES PELAKSANA QUARTERLY", v.Employee, v.Cadence)
			}
		})
	}
}

func TestConcurrentDraftsOneWins(t *testing.T) {
	f := newFixture(t)
	const n = 8
	var wg sync.WaitGroup
	kinds := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.skps.Draft(f.ctx, f.req(nipE), skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})
			kinds[i] = kind(err)
		}()
	}
	wg.Wait()
	won := 0
	for _, k := range kinds {
		switch k {
		case "":
			won++
		case "conflict":
		default:
			t.Errorf("a concurrent draft failed with %q, want success or conflict", k)
		}
	}
	if won != 1 {
		t.Errorf("%d drafts succeeded, want exactly 1 (%v)", won, kinds)
	}
}

func TestPlanEditing(t *testing.T) {
	type env struct {
		f            *fixture
		id, rhk, ind string
	}
	utama := func(link string) skp.RHKFields {
		return skp.RHKFields{Text: "Tersusunnya laporan", Kind: "UTAMA", IntervenedRHKID: link}
	}
	indicator := skp.IndicatorFields{Aspect: "WAKTU", Text: "Laporan tepat waktu", Target: skp.Target{Value: 12, Unit: "bulan"}}
	tests := []struct {
		name      string
		before    func(*env)
		do        func(*env) error
		wantKind  string
		wantField string
	}{
		{name: "add an RHK with a pending link", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: utama("")})
			return err
		}},
		{name: "add an RHK linked to the appraiser's RHK", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: utama(e.f.rhkA)})
			return err
		}},
		{name: "link to an unknown RHK", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: utama("nope")})
			return err
		}, wantKind: "validation", wantField: "intervened_rhk_id"},
		{name: "link to an RHK that is not the appraiser's", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: utama(e.rhk)})
			return err
		}, wantKind: "validation", wantField: "intervened_rhk_id"},
		{name: "unknown kind", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: skp.RHKFields{Text: "x", Kind: "POKOK"}})
			return err
		}, wantKind: "validation", wantField: "kind"},
		{name: "empty text", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: skp.RHKFields{Text: " ", Kind: "UTAMA"}})
			return err
		}, wantKind: "validation", wantField: "text"},
		{name: "the appraiser may not edit", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipA), skp.AddRHK{SKPID: e.id, RHKFields: utama("")})
			return err
		}, wantKind: "forbidden"},
		{name: "an outsider does not see the SKP", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipX), skp.AddRHK{SKPID: e.id, RHKFields: utama("")})
			return err
		}, wantKind: "not_found"},
		{name: "unknown SKP", do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: nipE + "-2030", RHKFields: utama("")})
			return err
		}, wantKind: "not_found"},
		{name: "change an RHK", do: func(e *env) error {
			return errOf(e.f.skps.ChangeRHK(e.f.ctx, e.f.req(nipE), skp.ChangeRHK{SKPID: e.id, RHKID: e.rhk, RHKFields: skp.RHKFields{Text: "baru", Kind: "TAMBAHAN"}}))
		}},
		{name: "change an unknown RHK", do: func(e *env) error {
			return errOf(e.f.skps.ChangeRHK(e.f.ctx, e.f.req(nipE), skp.ChangeRHK{SKPID: e.id, RHKID: "nope", RHKFields: utama("")}))
		}, wantKind: "not_found"},
		{name: "remove an RHK", do: func(e *env) error {
			return errOf(e.f.skps.RemoveRHK(e.f.ctx, e.f.req(nipE), skp.RemoveRHK{SKPID: e.id, RHKID: e.rhk}))
		}},
		{name: "remove an unknown RHK", do: func(e *env) error {
			return errOf(e.f.skps.RemoveRHK(e.f.ctx, e.f.req(nipE), skp.RemoveRHK{SKPID: e.id, RHKID: "nope"}))
		}, wantKind: "not_found"},
		{name: "add an indicator", do: func(e *env) error {
			_, _, err := e.f.skps.AddIndicator(e.f.ctx, e.f.req(nipE), skp.AddIndicator{SKPID: e.id, RHKID: e.rhk, IndicatorFields: indicator})
			return err
		}},
		{name: "indicator on an unknown RHK", do: func(e *env) error {
			_, _, err := e.f.skps.AddIndicator(e.f.ctx, e.f.req(nipE), skp.AddIndicator{SKPID: e.id, RHKID: "nope", IndicatorFields: indicator})
			return err
		}, wantKind: "not_found"},
		{name: "unknown aspect", do: func(e *env) error {
			bad := indicator
			bad.Aspect = "MUTU"
			_, _, err := e.f.skps.AddIndicator(e.f.ctx, e.f.req(nipE), skp.AddIndicator{SKPID: e.id, RHKID: e.rhk, IndicatorFields: bad})
			return err
		}, wantKind: "validation", wantField: "aspect"},
		{name: "negative target", do: func(e *env) error {
			bad := indicator
			bad.Target.Value = -1
			_, _, err := e.f.skps.AddIndicator(e.f.ctx, e.f.req(nipE), skp.AddIndicator{SKPID: e.id, RHKID: e.rhk, IndicatorFields: bad})
			return err
		}, wantKind: "validation", wantField: "target.value"},
		{name: "target without unit", do: func(e *env) error {
			bad := indicator
			bad.Target.Unit = ""
			_, _, err := e.f.skps.AddIndicator(e.f.ctx, e.f.req(nipE), skp.AddIndicator{SKPID: e.id, RHKID: e.rhk, IndicatorFields: bad})
			return err
		}, wantKind: "validation", wantField: "target.unit"},
		{name: "change an indicator", do: func(e *env) error {
			return errOf(e.f.skps.ChangeIndicator(e.f.ctx, e.f.req(nipE), skp.ChangeIndicator{SKPID: e.id, IndicatorID: e.ind, IndicatorFields: indicator}))
		}},
		{name: "change an unknown indicator", do: func(e *env) error {
			return errOf(e.f.skps.ChangeIndicator(e.f.ctx, e.f.req(nipE), skp.ChangeIndicator{SKPID: e.id, IndicatorID: "nope", IndicatorFields: indicator}))
		}, wantKind: "not_found"},
		{name: "remove an indicator", do: func(e *env) error {
			return errOf(e.f.skps.RemoveIndicator(e.f.ctx, e.f.req(nipE), skp.RemoveIndicator{SKPID: e.id, IndicatorID: e.ind}))
		}},
		{name: "edit after submission", before: func(e *env) {
			e.f.ok(e.f.skps.Submit(e.f.ctx, e.f.req(nipE), skp.Submit{SKPID: e.id}))
		}, do: func(e *env) error {
			return errOf(e.f.skps.RemoveIndicator(e.f.ctx, e.f.req(nipE), skp.RemoveIndicator{SKPID: e.id, IndicatorID: e.ind}))
		}, wantKind: "invalid_state"},
		{name: "edit after establishment", before: func(e *env) {
			e.f.ok(e.f.skps.Submit(e.f.ctx, e.f.req(nipE), skp.Submit{SKPID: e.id}))
			e.f.ok(e.f.skps.Establish(e.f.ctx, e.f.req(nipA), skp.Establish{SKPID: e.id}))
		}, do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: utama("")})
			return err
		}, wantKind: "invalid_state"},
		{name: "edit after an amendment is opened", before: func(e *env) {
			e.f.ok(e.f.skps.Submit(e.f.ctx, e.f.req(nipE), skp.Submit{SKPID: e.id}))
			e.f.ok(e.f.skps.Establish(e.f.ctx, e.f.req(nipA), skp.Establish{SKPID: e.id}))
			e.f.ok(e.f.skps.Amend(e.f.ctx, e.f.req(nipA), skp.Amend{SKPID: e.id, Reason: "reorganisasi"}))
		}, do: func(e *env) error {
			_, _, err := e.f.skps.AddRHK(e.f.ctx, e.f.req(nipE), skp.AddRHK{SKPID: e.id, RHKFields: utama("")})
			return err
		}},
		{name: "appraiser sets a behaviour expectation", do: func(e *env) error {
			return errOf(e.f.skps.SetBehaviourExpectation(e.f.ctx, e.f.req(nipA), skp.SetBehaviourExpectation{SKPID: e.id, Value: "AKUNTABEL", Expectation: "Laporan keuangan tertib"}))
		}},
		{name: "expectation for an unknown value", do: func(e *env) error {
			return errOf(e.f.skps.SetBehaviourExpectation(e.f.ctx, e.f.req(nipA), skp.SetBehaviourExpectation{SKPID: e.id, Value: "INTEGRITAS", Expectation: "x"}))
		}, wantKind: "validation", wantField: "value"},
		{name: "employee may not set an expectation", do: func(e *env) error {
			return errOf(e.f.skps.SetBehaviourExpectation(e.f.ctx, e.f.req(nipE), skp.SetBehaviourExpectation{SKPID: e.id, Value: "AKUNTABEL", Expectation: "x"}))
		}, wantKind: "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, rhk, ind := f.draftedE()
			e := &env{f: f, id: id, rhk: rhk, ind: ind}
			if tt.before != nil {
				tt.before(e)
			}
			before := f.env.Log.Len()
			err := tt.do(e)
			expect(t, err, tt.wantKind, tt.wantField)
			if appended := f.env.Log.Len() - before; (tt.wantKind == "") != (appended == 1) {
				t.Errorf("appended %d events, want %d", appended, map[bool]int{true: 1}[tt.wantKind == ""])
			}
		})
	}
}

func errOf(_ domain.Committed, err error) error { return err }

func TestPlanViewAfterEdits(t *testing.T) {
	f := newFixture(t)
	id, rhk, ind := f.draftedE()
	rhk2 := f.addRHK(nipE, id, skp.RHKFields{Text: "Tambahan", Kind: "TAMBAHAN"})
	ind2 := f.addIndicator(nipE, id, rhk2)
	f.ok(f.skps.ChangeIndicator(f.ctx, f.req(nipE), skp.ChangeIndicator{SKPID: id, IndicatorID: ind,
		IndicatorFields: skp.IndicatorFields{Aspect: "KUALITAS", Text: "Mutu", Target: skp.Target{Value: 90, Unit: "%"}}}))
	f.ok(f.skps.RemoveRHK(f.ctx, f.req(nipE), skp.RemoveRHK{SKPID: id, RHKID: rhk2}))
	want := []skp.RHK{{ID: rhk, Text: "Terlaksananya imunisasi di posyandu", Kind: skp.Utama, IntervenedRHKID: f.rhkA, IntervenedSKPID: f.skpA,
		Indicators: []skp.Indicator{{ID: ind, Aspect: skp.Kualitas, Text: "Mutu", Target: skp.Target{Value: 90, Unit: "%"}}}}}
	if diff := cmp.Diff(want, f.view(id).Plan); diff != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", diff)
	}
	// The removed RHK took its indicator with it.
	_, err := f.skps.ChangeIndicator(f.ctx, f.req(nipE), skp.ChangeIndicator{SKPID: id, IndicatorID: ind2,
		IndicatorFields: skp.IndicatorFields{Aspect: "KUALITAS", Text: "x", Target: skp.Target{Value: 1, Unit: "x"}}})
	expect(t, err, "not_found", "")
}

func TestSubmit(t *testing.T) {
	tests := []struct {
		name      string
		build     func(*fixture) string
		caller    string
		wantKind  string
		wantField string
	}{
		{name: "complete plan", build: func(f *fixture) string { id, _, _ := f.draftedE(); return id }},
		{name: "no RHK at all", build: func(f *fixture) string { id, _ := f.draft(nipE); return id },
			wantKind: "validation", wantField: "rhk"},
		{name: "only TAMBAHAN", build: func(f *fixture) string {
			id, _ := f.draft(nipE)
			f.addIndicator(nipE, id, f.addRHK(nipE, id, skp.RHKFields{Text: "x", Kind: "TAMBAHAN"}))
			return id
		}, wantKind: "validation", wantField: "rhk"},
		{name: "RHK without an indicator", build: func(f *fixture) string {
			id, _, _ := f.draftedE()
			f.addRHK(nipE, id, skp.RHKFields{Text: "x", Kind: "TAMBAHAN"})
			return id
		}, wantKind: "validation"},
		{name: "UTAMA with a pending link", build: func(f *fixture) string {
			id, _ := f.draft(nipE)
			f.addIndicator(nipE, id, f.addRHK(nipE, id, skp.RHKFields{Text: "x", Kind: "UTAMA"}))
			return id
		}, wantKind: "validation"},
		{name: "UTAMA citing only the PK is not enough below JPT", build: func(f *fixture) string {
			id, _ := f.draft(nipE)
			f.addIndicator(nipE, id, f.addRHK(nipE, id, skp.RHKFields{Text: "x", Kind: "UTAMA", PKRef: "PK-1"}))
			return id
		}, wantKind: "validation"},
		{name: "a link gone stale after the appraiser's amendment", build: func(f *fixture) string {
			id, _, _ := f.draftedE()
			f.ok(f.skps.Amend(f.ctx, f.req(nipS), skp.Amend{SKPID: f.skpA, Reason: "RHK diganti"}))
			rhk := f.addRHK(nipA, f.skpA, skp.RHKFields{Text: "baru", Kind: "UTAMA", PKRef: "PK-2"})
			f.addIndicator(nipA, f.skpA, rhk)
			f.ok(f.skps.RemoveRHK(f.ctx, f.req(nipA), skp.RemoveRHK{SKPID: f.skpA, RHKID: f.rhkA}))
			f.ok(f.skps.AcknowledgePlan(f.ctx, f.req(nipA), skp.AcknowledgePlan{SKPID: f.skpA}))
			f.ok(f.skps.Establish(f.ctx, f.req(nipS), skp.Establish{SKPID: f.skpA}))
			return id
		}, wantKind: "validation"},
		{name: "the appraiser may not submit", build: func(f *fixture) string { id, _, _ := f.draftedE(); return id },
			caller: nipA, wantKind: "forbidden"},
		{name: "submitted twice", build: func(f *fixture) string {
			id, _, _ := f.draftedE()
			f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
			return id
		}, wantKind: "invalid_state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := tt.build(f)
			caller := nipE
			if tt.caller != "" {
				caller = tt.caller
			}
			_, err := f.skps.Submit(f.ctx, f.req(caller), skp.Submit{SKPID: id})
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind == "" && f.view(id).Status != skp.StatusSubmitted {
				t.Errorf("status = %s, want SUBMITTED", f.view(id).Status)
			}
		})
	}
}

func TestJPTMayCitePK(t *testing.T) {
	f := newFixture(t)
	// A is JPT_PRATAMA: the fixture established A's SKP with a PK citation only.
	if v := f.view(f.skpA); v.Status != skp.StatusEstablished || v.Version != 1 {
		t.Fatalf("A's SKP = %s v%d, want ESTABLISHED v1", v.Status, v.Version)
	}
}

func TestLifecycleTransitions(t *testing.T) {
	type step struct {
		name      string
		do        func(f *fixture, id string) error
		wantKind  string
		wantField string
		want      skp.Status
	}
	submit := func(who string) func(*fixture, string) error {
		return func(f *fixture, id string) error {
			return errOf(f.skps.Submit(f.ctx, f.req(who), skp.Submit{SKPID: id}))
		}
	}
	ret := func(who, reason string) func(*fixture, string) error {
		return func(f *fixture, id string) error {
			return errOf(f.skps.Return(f.ctx, f.req(who), skp.Return{SKPID: id, Reason: reason}))
		}
	}
	establish := func(who string) func(*fixture, string) error {
		return func(f *fixture, id string) error {
			return errOf(f.skps.Establish(f.ctx, f.req(who), skp.Establish{SKPID: id}))
		}
	}
	amend := func(who, reason string) func(*fixture, string) error {
		return func(f *fixture, id string) error {
			return errOf(f.skps.Amend(f.ctx, f.req(who), skp.Amend{SKPID: id, Reason: reason}))
		}
	}
	acknowledge := func(who string) func(*fixture, string) error {
		return func(f *fixture, id string) error {
			return errOf(f.skps.AcknowledgePlan(f.ctx, f.req(who), skp.AcknowledgePlan{SKPID: id}))
		}
	}
	steps := []step{
		{name: "establish a draft", do: establish(nipA), wantKind: "invalid_state", want: skp.StatusDraft},
		{name: "return a draft", do: ret(nipA, "x"), wantKind: "invalid_state", want: skp.StatusDraft},
		{name: "amend a draft", do: amend(nipA, "x"), wantKind: "invalid_state", want: skp.StatusDraft},
		{name: "submit", do: submit(nipE), want: skp.StatusSubmitted},
		{name: "return without reason", do: ret(nipA, ""), wantKind: "validation", wantField: "reason", want: skp.StatusSubmitted},
		{name: "return by the employee", do: ret(nipE, "x"), wantKind: "forbidden", want: skp.StatusSubmitted},
		{name: "return by the superior", do: ret(nipS, "x"), wantKind: "forbidden", want: skp.StatusSubmitted},
		{name: "return with reason", do: ret(nipA, "indikator kurang terukur"), want: skp.StatusDraft},
		{name: "submit again", do: submit(nipE), want: skp.StatusSubmitted},
		{name: "establish by the employee", do: establish(nipE), wantKind: "forbidden", want: skp.StatusSubmitted},
		{name: "establish by HR admin", do: func(f *fixture, id string) error {
			return errOf(f.skps.Establish(f.ctx, f.hr(), skp.Establish{SKPID: id}))
		}, wantKind: "forbidden", want: skp.StatusSubmitted},
		{name: "establish", do: establish(nipA), want: skp.StatusEstablished},
		{name: "establish again", do: establish(nipA), wantKind: "invalid_state", want: skp.StatusEstablished},
		{name: "submit an established SKP", do: submit(nipE), wantKind: "invalid_state", want: skp.StatusEstablished},
		{name: "amend without reason", do: amend(nipA, ""), wantKind: "validation", want: skp.StatusEstablished},
		{name: "amend by the superior", do: amend(nipS, "x"), wantKind: "forbidden", want: skp.StatusEstablished},
		{name: "amend by the employee (domain.md §3.3)", do: amend(nipE, "penugasan baru"), want: skp.StatusAmendment},
		{name: "amend twice", do: amend(nipA, "again"), wantKind: "invalid_state", want: skp.StatusAmendment},
		{name: "establish before the employee signed", do: establish(nipA), wantKind: "invalid_state", want: skp.StatusAmendment},
		{name: "the appraiser cannot sign for the employee", do: acknowledge(nipA), wantKind: "forbidden", want: skp.StatusAmendment},
		{name: "the employee signs the amended plan", do: acknowledge(nipE), want: skp.StatusAmendment},
		{name: "an edit after the signature needs a new one", do: func(f *fixture, id string) error {
			rhk, _, err := f.skps.AddRHK(f.ctx, f.req(nipE), skp.AddRHK{SKPID: id, RHKFields: skp.RHKFields{Text: "Tugas tambahan", Kind: "TAMBAHAN"}})
			if err != nil {
				return err
			}
			f.addIndicator(nipE, id, rhk)
			return errOf(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
		}, wantKind: "invalid_state", want: skp.StatusAmendment},
		{name: "remove the unsigned edit", do: func(f *fixture, id string) error {
			v := f.view(id)
			return errOf(f.skps.RemoveRHK(f.ctx, f.req(nipE), skp.RemoveRHK{SKPID: id, RHKID: v.Plan[len(v.Plan)-1].ID}))
		}, want: skp.StatusAmendment},
		{name: "establish the amendment", do: establish(nipA), want: skp.StatusEstablished},
		{name: "acknowledge with no amendment open", do: acknowledge(nipE), wantKind: "invalid_state", want: skp.StatusEstablished},
		{name: "cancel without reason", do: func(f *fixture, id string) error {
			return errOf(f.skps.Cancel(f.ctx, f.hr(), skp.Cancel{SKPID: id}))
		}, wantKind: "validation", want: skp.StatusEstablished},
		{name: "cancel by the employee", do: func(f *fixture, id string) error {
			return errOf(f.skps.Cancel(f.ctx, f.req(nipE), skp.Cancel{SKPID: id, Reason: "x"}))
		}, wantKind: "forbidden", want: skp.StatusEstablished},
		{name: "cancel", do: func(f *fixture, id string) error {
			return errOf(f.skps.Cancel(f.ctx, f.hr(), skp.Cancel{SKPID: id, Reason: "duplikat"}))
		}, want: skp.StatusCancelled},
		{name: "cancel twice", do: func(f *fixture, id string) error {
			return errOf(f.skps.Cancel(f.ctx, f.hr(), skp.Cancel{SKPID: id, Reason: "x"}))
		}, wantKind: "invalid_state", want: skp.StatusCancelled},
		{name: "amend a cancelled SKP", do: amend(nipA, "x"), wantKind: "invalid_state", want: skp.StatusCancelled},
	}
	f := newFixture(t)
	id, _, _ := f.draftedE()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			expect(t, st.do(f, id), st.wantKind, st.wantField)
			if got := f.view(id).Status; got != st.want {
				t.Fatalf("status = %s, want %s", got, st.want)
			}
		})
	}
	v := f.view(id)
	if len(v.Versions) != 2 || v.Versions[0].Version != 1 || v.Versions[1].Version != 2 || v.Version != 2 {
		t.Errorf("versions = %+v, want 1 and 2 with 2 in effect", v.Versions)
	}
	var kinds []string
	for _, n := range v.Notes {
		kinds = append(kinds, n.Kind)
	}
	if diff := cmp.Diff([]string{"RETURNED", "AMENDMENT_OPENED", "CANCELLED"}, kinds); diff != "" {
		t.Errorf("notes mismatch (-want +got):\n%s", diff)
	}
}

func TestEstablishLateness(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{name: "on 31 January", at: time.Date(2026, 1, 31, 23, 0, 0, 0, wib), want: false},
		{name: "on 1 February", at: time.Date(2026, 2, 1, 0, 0, 1, 0, wib), want: true},
		{name: "long after", at: time.Date(2026, 6, 1, 10, 0, 0, 0, wib), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, _, _ := f.draftedE()
			f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
			f.env.Clock.Set(tt.at)
			f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
			v := f.view(id)
			if v.Late != tt.want || v.Versions[0].Late != tt.want {
				t.Errorf("late = %v, want %v", v.Late, tt.want)
			}
			// An amendment established later is never "late": lateness is about version 1.
			f.ok(f.skps.Amend(f.ctx, f.req(nipA), skp.Amend{SKPID: id, Reason: "x"}))
			f.ok(f.skps.AcknowledgePlan(f.ctx, f.req(nipE), skp.AcknowledgePlan{SKPID: id}))
			f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
			if v := f.view(id); v.Late != tt.want || v.Versions[1].Late {
				t.Errorf("after amendment late = %v (v2 late %v), want %v and false", v.Late, v.Versions[1].Late, tt.want)
			}
		})
	}
}

// An establishment is not a paper act anyone may backfill: a date more
// than the tolerance back is refused (domain.md §10), and naming a paper
// does not help the appraiser, who holds no backfill.
func TestEstablishCannotBeBackdated(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.draftedE()
	f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
	f.env.Clock.Set(time.Date(2026, 2, 10, 9, 0, 0, 0, wib))
	req := f.req(nipA)
	req.OccurredAt = time.Date(2026, 1, 30, 9, 0, 0, 0, wib) // "signed on paper on 30 January"
	_, err := f.skps.Establish(f.ctx, req, skp.Establish{SKPID: id})
	expect(t, err, "validation", "occurred_at")
	req.Backfill = &domain.BackfillRequest{PaperRef: "SKP/2026/017"}
	_, err = f.skps.Establish(f.ctx, req, skp.Establish{SKPID: id})
	expect(t, err, "forbidden", "")
	f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
	if !f.view(id).Late {
		t.Error("late = false for an establishment recorded on 10 February")
	}
}

func TestAppraiserInEffectChanges(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.draftedE()
	f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
	mar1 := calendar.MustNew(2026, 3, 1)
	f.line(nipE, nipB, nipS, mar1)
	f.env.Clock.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, wib))
	_, err := f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id})
	expect(t, err, "forbidden", "")
	// B's link check needs B's established SKP; the old link names A's RHK.
	_, err = f.skps.Establish(f.ctx, f.req(nipB), skp.Establish{SKPID: id})
	expect(t, err, "validation", "")
	// A may not date the act back to when A was the appraiser: A no longer
	// holds the right at recording (403 before any word on the date).
	req := f.req(nipA)
	req.OccurredAt = time.Date(2026, 2, 27, 9, 0, 0, 0, wib)
	_, err = f.skps.Establish(f.ctx, req, skp.Establish{SKPID: id})
	expect(t, err, "forbidden", "")
	// Just after midnight, dated a few minutes back into the last day A
	// held the line: within the tolerance, but A no longer holds the right
	// at recording.
	f.env.Clock.Set(time.Date(2026, 3, 1, 0, 3, 0, 0, wib))
	req = f.req(nipA)
	req.OccurredAt = time.Date(2026, 2, 28, 23, 58, 0, 0, wib)
	_, err = f.skps.Establish(f.ctx, req, skp.Establish{SKPID: id})
	expect(t, err, "forbidden", "")
	// On 28 February A still held it on both dates.
	f.env.Clock.Set(time.Date(2026, 2, 28, 9, 0, 0, 0, wib))
	f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
	if v := f.view(id); v.AppraiserNIP != nipA {
		t.Errorf("recorded appraiser = %s, want %s", v.AppraiserNIP, nipA)
	}
}

func TestClose(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	_, err := f.skps.Close(f.ctx, f.req(nipA), skp.Close{SKPID: id, EffectiveFrom: calendar.MustNew(2026, 5, 1)})
	expect(t, err, "forbidden", "")
	_, err = f.skps.Close(f.ctx, f.hr(), skp.Close{SKPID: id, EffectiveFrom: calendar.MustNew(2027, 5, 1)})
	expect(t, err, "validation", "effective_from")
	f.ok(f.skps.Close(f.ctx, f.hr(), skp.Close{SKPID: id, EffectiveFrom: calendar.MustNew(2026, 5, 1), Reason: "mutasi ke Bappeda"}))
	if got := f.view(id).Status; got != skp.StatusClosed {
		t.Errorf("status = %s, want CLOSED_FOR_POSITION_CHANGE", got)
	}
	_, _, err = f.skps.RecordRealisation(f.ctx, f.req(nipE), skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: "x"})
	expect(t, err, "invalid_state", "")
}
