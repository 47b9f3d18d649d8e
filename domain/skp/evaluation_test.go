package skp_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func TestRate(t *testing.T) {
	const (
		atas   = "DI_ATAS_EKSPEKTASI"
		sesuai = "SESUAI_EKSPEKTASI"
		bawah  = "DI_BAWAH_EKSPEKTASI"
	)
	tests := []struct {
		name      string
		setup     func(f *fixture, id string)
		caller    func(f *fixture) domain.Request
		cmd       skp.Rate
		wantKind  string
		wantField string
		want      *skp.Scores
		wantNoOp  bool
	}{
		{name: "first rating derives the predikat", cmd: skp.Rate{Period: "2026", WorkResult: atas, Behaviour: atas, Rationale: "r"},
			want: &skp.Scores{WorkResult: atas, Behaviour: atas, Predikat: rating.SangatBaik}},
		{name: "behaviour below caps the predikat", cmd: skp.Rate{Period: "2026-Q1", WorkResult: atas, Behaviour: bawah, Rationale: "r"},
			want: &skp.Scores{WorkResult: atas, Behaviour: bawah, Predikat: rating.KurangMisconduct}},
		{name: "HR admin never rates", caller: func(f *fixture) domain.Request { return f.hr() },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"}, wantKind: "forbidden"},
		{name: "the superior does not rate", caller: func(f *fixture) domain.Request { return f.req(nipS) },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"}, wantKind: "forbidden"},
		{name: "the employee does not rate", caller: func(f *fixture) domain.Request { return f.req(nipE) },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"}, wantKind: "forbidden"},
		{name: "a period outside the SKP year", cmd: skp.Rate{Period: "2027", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "period"},
		{name: "a month under the quarterly cadence", cmd: skp.Rate{Period: "2026-03", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "period"},
		{name: "a predikat is not a rating", cmd: skp.Rate{Period: "2026", WorkResult: "BAIK", Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "work_result"},
		{name: "missing behaviour", cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "behaviour"},
		{name: "missing work result", cmd: skp.Rate{Period: "2026", Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "work_result"},
		{name: "missing rationale", cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai},
			wantKind: "validation", wantField: "rationale"},
		{name: "replacing without a reason", setup: func(f *fixture, id string) { f.rate(id, "2026", sesuai, sesuai, "") },
			cmd: skp.Rate{Period: "2026", WorkResult: atas, Behaviour: sesuai, Rationale: "r"}, wantKind: "validation", wantField: "reason"},
		{name: "replacing with a reason", setup: func(f *fixture, id string) { f.rate(id, "2026", sesuai, sesuai, "") },
			cmd:  skp.Rate{Period: "2026", WorkResult: bawah, Behaviour: sesuai, Rationale: "r", Reason: "bukti baru"},
			want: &skp.Scores{WorkResult: bawah, Behaviour: sesuai, Predikat: rating.ButuhPerbaikan}},
		{name: "repeating the rating changes nothing", setup: func(f *fixture, id string) { f.rate(id, "2026", sesuai, sesuai, "") },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "sesuai bukti dukung"}, wantNoOp: true,
			want: &skp.Scores{WorkResult: sesuai, Behaviour: sesuai, Predikat: rating.Baik}},
		{name: "rating after issue", setup: func(f *fixture, id string) {
			f.rate(id, "2026", sesuai, sesuai, "")
			f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026"}))
		}, cmd: skp.Rate{Period: "2026", WorkResult: atas, Behaviour: atas, Rationale: "r", Reason: "x"}, wantKind: "invalid_state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, _, _ := f.establishedE()
			if tt.setup != nil {
				tt.setup(f, id)
			}
			req := f.req(nipA)
			if tt.caller != nil {
				req = tt.caller(f)
			}
			tt.cmd.SKPID = id
			c, err := f.skps.Rate(f.ctx, req, tt.cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.want == nil {
				return
			}
			if got := len(c.Events) == 0; got != tt.wantNoOp {
				t.Errorf("no-op = %v, want %v", got, tt.wantNoOp)
			}
			ev := f.evaluation(id, tt.cmd.Period)
			if diff := cmp.Diff(*tt.want, ev.Scores); diff != "" {
				t.Errorf("scores mismatch (-want +got):\n%s", diff)
			}
			if ev.Status != skp.EvalDraft {
				t.Errorf("status = %s, want DRAFT", ev.Status)
			}
		})
	}
}

func TestRateBeforeEstablishment(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.draftedE()
	_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "r"})
	expect(t, err, "invalid_state", "")
}

func TestRevisionRecordsOldAndNew(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	f.env.Clock.Advance(time.Hour)
	f.rate(id, "2026", "DI_ATAS_EKSPEKTASI", "DI_ATAS_EKSPEKTASI", "capaian melampaui target")
	h := f.evaluation(id, "2026").History
	if len(h) != 2 {
		t.Fatalf("history has %d entries, want 2", len(h))
	}
	first, second := h[0], h[1]
	if !first.Superseded || second.Superseded {
		t.Errorf("superseded = %v, %v; want true, false", first.Superseded, second.Superseded)
	}
	wantPrev := skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Baik}
	if second.Previous == nil || *second.Previous != wantPrev || second.Source != skp.SourceAppraiser ||
		second.Reason != "capaian melampaui target" || second.Actor.ID != nipA || second.SupersedesEventID != first.EventID {
		t.Errorf("revision entry = %+v, want previous %+v, source APPRAISER, the reason, actor A, superseding %s", second, wantPrev, first.EventID)
	}
	if second.Predikat != rating.SangatBaik {
		t.Errorf("predikat = %s, want SANGAT_BAIK", second.Predikat)
	}
	// The envelope carries the reason the rules required.
	events, _, _, err := f.env.Log.Load(f.ctx, domain.SKPStream(id))
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if _, ok := last.Event.(skp.RatingRevised); !ok || last.Meta.Reason != "capaian melampaui target" || last.Meta.Actor.Role != domain.RoleAppraiser {
		t.Errorf("last event = %T with meta %+v, want a revision with the reason in the envelope", last.Event, last.Meta)
	}
}

func TestUnitHeadRating(t *testing.T) {
	// A heads DINKES; A's SKP is rated by S. The work result follows the
	// organisation predikat of DINKES through the policy's mapping.
	tests := []struct {
		name       string
		org        string
		workResult string
		wantKind   string
		want       rating.Rating
	}{
		{name: "no organisation predikat yet", workResult: "SESUAI_EKSPEKTASI", wantKind: "invalid_state"},
		{name: "ISTIMEWA, derived", org: "ISTIMEWA", want: rating.AboveExpectation},
		{name: "BAIK, derived", org: "BAIK", want: rating.MeetsExpectation},
		{name: "BAIK, matching", org: "BAIK", workResult: "SESUAI_EKSPEKTASI", want: rating.MeetsExpectation},
		{name: "BAIK, contradicting", org: "BAIK", workResult: "DI_ATAS_EKSPEKTASI", wantKind: "validation"},
		{name: "BUTUH_PERBAIKAN", org: "BUTUH_PERBAIKAN", want: rating.BelowExpectation},
		{name: "KURANG", org: "KURANG", want: rating.BelowExpectation},
		{name: "SANGAT_KURANG", org: "SANGAT_KURANG", want: rating.BelowExpectation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.ok(f.units.AssignHead(f.ctx, f.hr(), orgunit.AssignHead{UnitID: "DINKES", HeadNIP: nipA, EffectiveFrom: jan1}))
			if tt.org != "" {
				f.ok(f.units.RatePerformance(f.ctx, f.hr(), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: tt.org, PaperRef: "BA-PREDIKAT-2026"}))
			}
			_, err := f.skps.Rate(f.ctx, f.req(nipS), skp.Rate{SKPID: f.skpA, Period: "2026", WorkResult: tt.workResult,
				Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "r"})
			expect(t, err, tt.wantKind, "")
			if tt.wantKind != "" {
				return
			}
			ev := f.evaluation(f.skpA, "2026")
			if ev.WorkResult != tt.want || ev.UnitHead == nil || ev.UnitHead.UnitID != "DINKES" || string(ev.UnitHead.OrgPredikat) != tt.org {
				t.Errorf("evaluation = %s with basis %+v, want %s from DINKES %s", ev.WorkResult, ev.UnitHead, tt.want, tt.org)
			}
			if ev.Predikat != rating.Derive(tt.want, rating.AboveExpectation) {
				t.Errorf("predikat = %s, want the matrix value", ev.Predikat)
			}
		})
	}
}

func TestRequireOrgPredikat(t *testing.T) {
	f := newFixture(t, func(p *policy.Policy) { p.RequireOrgPredikat = true })
	id, _, _ := f.establishedE()
	_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026-Q1", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "r"})
	expect(t, err, "invalid_state", "")
	f.ok(f.units.RatePerformance(f.ctx, f.hr(), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026-Q1", Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"}))
	f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
}

func TestIssue(t *testing.T) {
	tests := []struct {
		name      string
		pol       func(*policy.Policy)
		rate      string // period rated before issuing ("" for none)
		caller    string
		cmd       func(f *fixture) skp.Issue
		wantKind  string
		wantField string
		// wantDeadline is the deadline in WIB, "" for none.
		wantDeadline string
		wantStatus   skp.EvaluationStatus
	}{
		{name: "annual, delivered now", rate: "2026", cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} },
			wantDeadline: "2026-01-19T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "annual, delivered earlier", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-5 * time.Minute)}
		}, wantDeadline: "2026-01-19T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "working-day window", pol: func(p *policy.Policy) { p.ObjectionWorkingDays = true }, rate: "2026",
			cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantDeadline: "2026-01-23T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "quarterly is final on issue by default", rate: "2026-Q1", cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026-Q1"} },
			wantStatus: skp.EvalFinal},
		{name: "quarterly with periodic objections allowed", pol: func(p *policy.Policy) { p.PeriodicObjections = true }, rate: "2026-Q1",
			cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026-Q1"} }, wantDeadline: "2026-01-19T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "delivered in the future", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(time.Minute)}
		}, wantKind: "validation", wantField: "delivered_at"},
		{name: "delivered before the rating", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-48 * time.Hour)}
		}, wantKind: "validation", wantField: "delivered_at"},
		{name: "not rated", cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "not_found"},
		{name: "by the employee", rate: "2026", caller: nipE, cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "forbidden"},
		{name: "by HR admin", rate: "2026", caller: hrAdmin, cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var change []func(*policy.Policy)
			if tt.pol != nil {
				change = append(change, tt.pol)
			}
			f := newFixture(t, change...)
			id, _, _ := f.establishedE()
			if tt.rate != "" {
				f.rate(id, tt.rate, "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
			}
			f.env.Clock.Advance(10 * time.Minute)
			cmd := tt.cmd(f)
			cmd.SKPID = id
			caller := nipA
			if tt.caller != "" {
				caller = tt.caller
			}
			req := f.req(caller)
			if caller == hrAdmin {
				req = f.hr()
			}
			_, err := f.skps.Issue(f.ctx, req, cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind != "" {
				return
			}
			ev := f.evaluation(id, cmd.Period)
			var deadline string
			if ev.ObjectionDeadline != nil {
				deadline = ev.ObjectionDeadline.In(wib).Format(time.RFC3339)
			}
			if deadline != tt.wantDeadline || ev.Status != tt.wantStatus || ev.DeliveredAt == nil {
				t.Errorf("deadline %q status %s delivered %v; want %q %s", deadline, ev.Status, ev.DeliveredAt, tt.wantDeadline, tt.wantStatus)
			}
			_, err = f.skps.Issue(f.ctx, req, cmd)
			expect(t, err, "invalid_state", "")
		})
	}
}

func TestFinality(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	_, err := f.skps.Finalise(f.ctx, f.req(nipE), skp.Finalise{SKPID: id, Period: "2026"})
	expect(t, err, "invalid_state", "")
	// The last second of the 14th day: still open.
	f.env.Clock.Set(time.Date(2026, 1, 19, 23, 59, 59, 0, wib))
	if st := f.evaluation(id, "2026").Status; st != skp.EvalIssued {
		t.Fatalf("status on the last second = %s, want ISSUED", st)
	}
	f.env.Clock.Set(time.Date(2026, 1, 20, 0, 0, 0, 0, wib))
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalFinal || ev.FinalReason != skp.WindowElapsed {
		t.Fatalf("status after the window = %s (%s), want FINAL (WINDOW_ELAPSED)", ev.Status, ev.FinalReason)
	}
	_, err = f.skps.Finalise(f.ctx, f.req(nipX), skp.Finalise{SKPID: id, Period: "2026"})
	expect(t, err, "not_found", "")
	c, err := f.skps.Finalise(f.ctx, f.req(nipE), skp.Finalise{SKPID: id, Period: "2026"})
	if err != nil || len(c.Events) != 1 {
		t.Fatalf("Finalise = %d events, %v; want one event", len(c.Events), err)
	}
	c, err = f.skps.Finalise(f.ctx, f.hr(), skp.Finalise{SKPID: id, Period: "2026"})
	if err != nil || len(c.Events) != 0 {
		t.Errorf("second Finalise = %d events, %v; want a no-op", len(c.Events), err)
	}
	// A final annual evaluation ends the SKP's life: no cancellation.
	_, err = f.skps.Cancel(f.ctx, f.hr(), skp.Cancel{SKPID: id, Reason: "x"})
	expect(t, err, "invalid_state", "")
}

func TestReadAsOf(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	rev := f.view(id).Revision
	recorded := f.env.Clock.Now()
	f.env.Clock.Advance(time.Hour)
	f.rate(id, "2026", "DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "koreksi")
	auditorP := domain.Principal{ID: auditor, Roles: []domain.Role{domain.RoleAuditor}}
	tests := []struct {
		name string
		asOf skp.AsOf
		want rating.Rating
	}{
		{name: "now", want: rating.AboveExpectation},
		{name: "by revision", asOf: skp.AsOf{Revision: &rev}, want: rating.MeetsExpectation},
		{name: "by recorded time", asOf: skp.AsOf{RecordedAt: recorded}, want: rating.MeetsExpectation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := f.skps.Read(f.ctx, auditorP, id, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Evaluations[0].WorkResult; got != tt.want {
				t.Errorf("work result = %s, want %s", got, tt.want)
			}
		})
	}
	early := time.Date(2025, 1, 1, 0, 0, 0, 0, wib)
	_, err := f.skps.Read(f.ctx, auditorP, id, skp.AsOf{RecordedAt: early})
	expect(t, err, "not_found", "")
}

func TestReadVisibility(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	tests := []struct {
		name            string
		caller          domain.Principal
		readKind        string
		historyKind     string
		wantHistoryRows int
	}{
		{name: "employee", caller: domain.Principal{ID: nipE}, wantHistoryRows: 1},
		{name: "appraiser", caller: domain.Principal{ID: nipA}, wantHistoryRows: 1},
		{name: "superior", caller: domain.Principal{ID: nipS}, wantHistoryRows: 1},
		{name: "auditor", caller: domain.Principal{ID: auditor, Roles: []domain.Role{domain.RoleAuditor}}, wantHistoryRows: 1},
		{name: "HR admin reads but not the history", caller: domain.Principal{ID: hrAdmin, Roles: []domain.Role{domain.RoleHRAdmin}}, historyKind: "forbidden"},
		{name: "HR analyst reads but not the history", caller: domain.Principal{ID: "an", Roles: []domain.Role{domain.RoleHRAnalyst}}, historyKind: "forbidden"},
		{name: "peer sees nothing", caller: domain.Principal{ID: nipP}, readKind: "not_found", historyKind: "not_found"},
		{name: "outsider sees nothing", caller: domain.Principal{ID: nipX}, readKind: "not_found", historyKind: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.skps.Read(f.ctx, tt.caller, id, skp.AsOf{})
			expect(t, err, tt.readKind, "")
			h, err := f.skps.ScoreHistory(f.ctx, tt.caller, id)
			expect(t, err, tt.historyKind, "")
			if len(h) != tt.wantHistoryRows {
				t.Errorf("history rows = %d, want %d", len(h), tt.wantHistoryRows)
			}
		})
	}
	// After a new reporting line, the former appraiser still reads what they rated.
	f.line(nipE, nipB, nipS, calendar.MustNew(2026, 1, 2))
	if _, err := f.skps.Read(f.ctx, domain.Principal{ID: nipA}, id, skp.AsOf{}); err != nil {
		t.Errorf("former appraiser read: %v", err)
	}
	if _, err := f.skps.Read(f.ctx, domain.Principal{ID: nipB}, id, skp.AsOf{}); err != nil {
		t.Errorf("new appraiser read: %v", err)
	}
}
