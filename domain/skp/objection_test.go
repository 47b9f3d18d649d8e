package skp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func (f *fixture) file(id string, req domain.Request, filedAt time.Time) error {
	f.tb.Helper()
	_, _, err := f.skps.FileObjection(f.ctx, req, skp.FileObjection{SKPID: id, Period: "2026", Reasons: "bukti dukung belum dipertimbangkan", FiledAt: filedAt})
	return err
}

func (f *fixture) ask(id, from string) {
	f.tb.Helper()
	if _, _, err := f.skps.RequestExplanation(f.ctx, f.req(nipS), skp.RequestExplanation{SKPID: id, Period: "2026", From: from}); err != nil {
		f.tb.Fatalf("request explanation from %s: %v", from, err)
	}
}

func TestFileObjection(t *testing.T) {
	deadline := time.Date(2027, 1, 18, 23, 59, 59, 0, wib)
	tests := []struct {
		name      string
		pol       func(*policy.Policy)
		setup     func(f *fixture, id string)
		now       time.Time // clock when filing (zero: unchanged)
		caller    func(f *fixture) domain.Request
		filedAt   time.Time
		period    string
		wantKind  string
		wantField string
		wantLate  bool
	}{
		{name: "employee files within the window"},
		{name: "on the last second of the window", now: deadline},
		{name: "a day late", now: deadline.Add(24 * time.Hour), wantKind: "window_closed"},
		{name: "one second late", now: deadline.Add(time.Second), wantKind: "window_closed"},
		{name: "clerk backfills a paper filing made in time", now: deadline.Add(72 * time.Hour),
			caller:  func(f *fixture) domain.Request { return f.paper(clerk, "Agenda 17/2026", domain.RoleGrievanceClerk) },
			filedAt: deadline.Add(-time.Hour)},
		{name: "clerk backfills a paper filing made late", now: deadline.Add(72 * time.Hour),
			caller:  func(f *fixture) domain.Request { return f.paper(clerk, "Agenda 18/2026", domain.RoleGrievanceClerk) },
			filedAt: deadline.Add(2 * time.Hour), wantKind: "window_closed"},
		{name: "clerk dates a filing back without its paper", now: deadline.Add(72 * time.Hour),
			caller:  func(f *fixture) domain.Request { return f.req(clerk, domain.RoleGrievanceClerk) },
			filedAt: deadline.Add(-time.Hour), wantKind: "validation", wantField: "filed_at"},
		{name: "clerk records a filing made now", caller: func(f *fixture) domain.Request { return f.req(clerk, domain.RoleGrievanceClerk) }},
		{name: "employee dates a late filing back into the window", now: deadline.Add(72 * time.Hour),
			filedAt: deadline.Add(-time.Hour), wantKind: "validation", wantField: "filed_at"},
		{name: "employee dates a late filing back by occurred_at", now: deadline.Add(72 * time.Hour),
			caller: func(f *fixture) domain.Request {
				r := f.req(nipE)
				r.OccurredAt = deadline.Add(-time.Hour)
				return r
			}, wantKind: "validation", wantField: "occurred_at"},
		{name: "employee files a minute late, dated within the tolerance", now: deadline.Add(time.Minute),
			filedAt: deadline.Add(-time.Minute)},
		{name: "employee files 11 minutes late, dated 11 minutes back", now: deadline.Add(11 * time.Minute),
			filedAt: deadline.Add(-time.Second), wantKind: "validation", wantField: "filed_at"},
		{name: "employee may not backfill", now: deadline.Add(72 * time.Hour),
			caller: func(f *fixture) domain.Request { return f.paper(nipE, "surat saya") }, filedAt: deadline.Add(-time.Hour), wantKind: "forbidden"},
		{name: "nothing is filed after recorded finality, not even a backfill", now: deadline.Add(72 * time.Hour),
			setup: func(f *fixture, id string) {
				f.env.Clock.Set(deadline.Add(time.Hour))
				f.ok(f.skps.Finalise(f.ctx, f.req(nipE), skp.Finalise{SKPID: id, Period: "2026"}))
			},
			caller:  func(f *fixture) domain.Request { return f.paper(clerk, "Agenda 19/2026", domain.RoleGrievanceClerk) },
			filedAt: deadline.Add(-time.Hour), wantKind: "window_closed"},
		{name: "nothing late is recorded after recorded finality", pol: func(p *policy.Policy) { p.RecordLateObjections = true },
			now: deadline.Add(72 * time.Hour),
			setup: func(f *fixture, id string) {
				f.env.Clock.Set(deadline.Add(time.Hour))
				f.ok(f.skps.Finalise(f.ctx, f.req(nipE), skp.Finalise{SKPID: id, Period: "2026"}))
			}, wantKind: "window_closed"},
		{name: "filing date in the future", filedAt: annualAt.Add(24 * time.Hour), wantKind: "validation", wantField: "filed_at"},
		{name: "filing date before the delivery", filedAt: annualAt.Add(-24 * time.Hour), wantKind: "validation", wantField: "filed_at"},
		{name: "late filing recorded when configured", pol: func(p *policy.Policy) { p.RecordLateObjections = true },
			now: deadline.Add(49 * time.Hour), wantLate: true},
		{name: "the appraiser may not file", caller: func(f *fixture) domain.Request { return f.req(nipA) }, wantKind: "forbidden"},
		{name: "HR admin may not file", caller: func(f *fixture) domain.Request { return f.hr() }, wantKind: "forbidden"},
		{name: "an outsider does not see it", caller: func(f *fixture) domain.Request { return f.req(nipX) }, wantKind: "not_found"},
		{name: "a second objection while one is open", setup: func(f *fixture, id string) {
			if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
				f.tb.Fatalf("%v", err)
			}
		}, wantKind: "conflict"},
		{name: "again after a withdrawal, within the window", setup: func(f *fixture, id string) {
			if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
				f.tb.Fatalf("%v", err)
			}
			f.ok(f.skps.WithdrawObjection(f.ctx, f.req(nipE), skp.WithdrawObjection{SKPID: id, Period: "2026"}))
		}},
		{name: "again after a decision", setup: func(f *fixture, id string) {
			if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
				f.tb.Fatalf("%v", err)
			}
			f.ask(id, "APPRAISER")
			f.ask(id, "EMPLOYEE")
			f.ok(f.skps.DecideObjection(f.ctx, f.req(nipS), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "sudah sesuai"}))
		}, wantKind: "conflict"},
		{name: "a periodic evaluation", period: "2026-Q1", wantKind: "validation", wantField: "period"},
		{name: "a period never rated", period: "2026-Q2", pol: func(p *policy.Policy) { p.PeriodicObjections = true }, wantKind: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var change []func(*policy.Policy)
			if tt.pol != nil {
				change = append(change, tt.pol)
			}
			f := newFixture(t, change...)
			id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
			f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
			f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026-Q1"}))
			if tt.setup != nil {
				tt.setup(f, id)
			}
			if !tt.now.IsZero() {
				f.env.Clock.Set(tt.now)
			}
			req := f.req(nipE)
			if tt.caller != nil {
				req = tt.caller(f)
			}
			p := "2026"
			if tt.period != "" {
				p = tt.period
			}
			oid, _, err := f.skps.FileObjection(f.ctx, req, skp.FileObjection{SKPID: id, Period: p, Reasons: "alasan", FiledAt: tt.filedAt})
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind == "window_closed" {
				var w *skp.WindowClosedError
				if !errors.As(err, &w) || !w.Deadline.Equal(deadline) {
					t.Errorf("error = %v, want a *WindowClosedError with deadline %v", err, deadline)
				}
			}
			if tt.wantKind != "" {
				return
			}
			ev := f.evaluation(id, "2026")
			o := ev.Objection
			if o == nil || o.ID != oid || o.Status != skp.OpenObjection || o.Late != tt.wantLate || o.AddressedTo != nipS || o.AppraiserNIP != nipA {
				t.Fatalf("objection = %+v, want open (late %v) addressed to S about A's evaluation", o, tt.wantLate)
			}
			wantStatus := skp.EvalUnderObjection
			if tt.wantLate {
				wantStatus = skp.EvalFinal // the window passed; a late filing does not reopen it
			}
			if ev.Status != wantStatus {
				t.Errorf("evaluation status = %s, want %s", ev.Status, wantStatus)
			}
			if req.Caller.ID == clerk && o.RecordedByClerk != clerk {
				t.Errorf("recorded by clerk = %q, want %q", o.RecordedByClerk, clerk)
			}
			if b := req.Backfill; b != nil && (o.Backfill == nil || o.Backfill.PaperRef != b.PaperRef || o.Backfill.RecordedBy != clerk || o.Backfill.OnBehalfOf != nipE) {
				t.Errorf("backfill = %+v, want the paper %q recorded by the clerk for the employee", o.Backfill, b.PaperRef)
			} else if b == nil && o.Backfill != nil {
				t.Errorf("an ordinary filing is flagged as a backfill: %+v", o.Backfill)
			}
		})
	}
}

func TestObjectionNotIssued(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	expect(t, f.file(id, f.req(nipE), time.Time{}), "invalid_state", "")
}

func TestObjectionProcedure(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI") // KURANG_MISCONDUCT
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	type step struct {
		name      string
		do        func() error
		wantKind  string
		wantField string
	}
	decide := func(who, outcome, wr, bh string) func() error {
		return func() error {
			return errOf(f.skps.DecideObjection(f.ctx, f.req(who), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: outcome,
				WorkResult: wr, Behaviour: bh, DecisionText: "perilaku sesuai bukti"}))
		}
	}
	ask := func(who, from string) func() error {
		return func() error {
			_, _, err := f.skps.RequestExplanation(f.ctx, f.req(who), skp.RequestExplanation{SKPID: id, Period: "2026", From: from})
			return err
		}
	}
	explain := func(who string) func() error {
		return func() error {
			return errOf(f.skps.SubmitExplanation(f.ctx, f.req(who), skp.SubmitExplanation{SKPID: id, Period: "2026", Text: "penjelasan"}))
		}
	}
	steps := []step{
		{name: "rating is locked during the objection", do: func() error {
			return errOf(f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "r", Reason: "x"}))
		}, wantKind: "invalid_state"},
		{name: "decide before asking anyone", do: decide(nipS, "UPHELD", "", ""), wantKind: "invalid_state"},
		{name: "the appraiser may not ask", do: ask(nipA, "EMPLOYEE"), wantKind: "forbidden"},
		{name: "a clerk may not ask", do: func() error {
			_, _, err := f.skps.RequestExplanation(f.ctx, f.req(clerk, domain.RoleGrievanceClerk), skp.RequestExplanation{SKPID: id, Period: "2026", From: "EMPLOYEE"})
			return err
		}, wantKind: "forbidden"},
		{name: "an outsider does not see the objection", do: ask(nipX, "EMPLOYEE"), wantKind: "not_found"},
		{name: "ask an unknown party", do: ask(nipS, "HR"), wantKind: "validation", wantField: "from"},
		{name: "the employee explains before being asked", do: explain(nipE), wantKind: "invalid_state"},
		{name: "the superior asks the employee", do: ask(nipS, "EMPLOYEE")},
		{name: "the employee explains", do: explain(nipE)},
		{name: "the appraiser explains before being asked", do: explain(nipA), wantKind: "invalid_state"},
		{name: "the superior does not explain", do: explain(nipS), wantKind: "forbidden"},
		{name: "decide with only the employee asked", do: decide(nipS, "UPHELD", "", ""), wantKind: "invalid_state"},
		{name: "the superior asks the appraiser", do: ask(nipS, "APPRAISER")},
		{name: "the appraiser explains", do: explain(nipA)},
		{name: "the appraiser may never decide", do: decide(nipA, "CHANGED", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI"), wantKind: "forbidden"},
		{name: "HR admin may not decide", do: func() error {
			return errOf(f.skps.DecideObjection(f.ctx, f.hr(), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "x"}))
		}, wantKind: "forbidden"},
		{name: "CHANGED without ratings", do: decide(nipS, "CHANGED", "", ""), wantKind: "validation", wantField: "work_result"},
		{name: "CHANGED to the same ratings", do: decide(nipS, "CHANGED", "SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI"), wantKind: "validation", wantField: "outcome"},
		{name: "UPHELD with ratings", do: decide(nipS, "UPHELD", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI"), wantKind: "validation", wantField: "outcome"},
		{name: "unknown outcome", do: decide(nipS, "REJECTED", "", ""), wantKind: "validation", wantField: "outcome"},
		{name: "the superior changes the result", do: decide(nipS, "CHANGED", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")},
		{name: "the decision is final", do: decide(nipS, "UPHELD", "", ""), wantKind: "invalid_state"},
		{name: "no withdrawal after the decision", do: func() error {
			return errOf(f.skps.WithdrawObjection(f.ctx, f.req(nipE), skp.WithdrawObjection{SKPID: id, Period: "2026"}))
		}, wantKind: "invalid_state"},
		{name: "no new objection after the decision", do: func() error { return f.file(id, f.req(nipE), time.Time{}) }, wantKind: "conflict"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := f.env.Log.Len()
			expect(t, st.do(), st.wantKind, st.wantField)
			if st.wantKind != "" && f.env.Log.Len() != before {
				t.Errorf("a refused step appended %d events", f.env.Log.Len()-before)
			}
		})
	}
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalFinal || ev.FinalReason != skp.ObjectionDecidedFinal {
		t.Errorf("status = %s (%s), want FINAL (OBJECTION_DECIDED)", ev.Status, ev.FinalReason)
	}
	want := skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Baik}
	if ev.Scores != want {
		t.Errorf("scores = %+v, want %+v", ev.Scores, want)
	}
	last := ev.History[len(ev.History)-1]
	prev := skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.BelowExpectation, Predikat: rating.KurangMisconduct}
	if last.Source != skp.SourceObjection || last.Previous == nil || *last.Previous != prev || last.Actor.ID != nipS || last.ObjectionID != ev.Objection.ID {
		t.Errorf("last history entry = %+v, want an OBJECTION revision by S from %+v", last, prev)
	}
	d := ev.Objection.Decision
	if d == nil || d.Outcome != skp.Changed || d.Previous != prev || d.Result != want || d.DecidedBy != nipS {
		t.Errorf("decision = %+v", d)
	}
	if len(ev.Objection.Requests) != 2 || len(ev.Objection.Explanations) != 2 {
		t.Errorf("requests %d, explanations %d; want 2 and 2", len(ev.Objection.Requests), len(ev.Objection.Explanations))
	}
	// The former appraiser's view of the SKP stays available.
	if _, err := f.skps.Read(f.ctx, domain.Principal{ID: nipS}, id, skp.AsOf{}); err != nil {
		t.Errorf("superior read: %v", err)
	}
}

func TestDecisionWithWaiver(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.ask(id, "EMPLOYEE")
	f.ok(f.skps.DecideObjection(f.ctx, f.req(nipS), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD",
		DecisionText: "tetap", WaiverReason: "pejabat penilai telah pensiun"}))
	if d := f.evaluation(id, "2026").Objection.Decision; d == nil || d.WaiverReason == "" || d.Result != d.Previous {
		t.Errorf("decision = %+v, want UPHELD with the waiver", d)
	}
}

// The decider is the appraiser's superior as of the filing date, even after
// the reporting line changes.
func TestDeciderAsOfFilingDate(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A now answers to U, so U is the superior of A's appraisees (the
	// superior of a line is the appraiser's own appraiser, issue 11).
	f.line(nipA, nipU, nipT, calendar.MustNew(2027, 1, 6))
	f.line(nipE, nipA, nipU, calendar.MustNew(2027, 1, 6))
	f.env.Clock.Set(time.Date(2027, 1, 7, 9, 0, 0, 0, wib))
	_, _, err := f.skps.RequestExplanation(f.ctx, f.req(nipU), skp.RequestExplanation{SKPID: id, Period: "2026", From: "EMPLOYEE"})
	expect(t, err, "forbidden", "")
	f.ask(id, "EMPLOYEE")
	f.ask(id, "APPRAISER")
	_, err = f.skps.DecideObjection(f.ctx, f.req(nipU), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "x"})
	expect(t, err, "forbidden", "")
	f.ok(f.skps.DecideObjection(f.ctx, f.req(nipS), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "x"}))
}

// A superior who was the original appraiser may not decide.
func TestDeciderIsNotTheOriginalAppraiser(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	// From the filing date, A is recorded as the superior (B appraises).
	f.line(nipE, nipB, nipA, calendar.MustNew(2027, 1, 4))
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.skps.RequestExplanation(f.ctx, f.req(nipA), skp.RequestExplanation{SKPID: id, Period: "2026", From: "EMPLOYEE"})
	expect(t, err, "forbidden", "")
	_, err = f.skps.DecideObjection(f.ctx, f.req(nipA), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "x", WaiverReason: "w"})
	expect(t, err, "forbidden", "")
}

func TestLateFilingRecordedThenRejected(t *testing.T) {
	f := newFixture(t, func(p *policy.Policy) { p.RecordLateObjections = true })
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	f.env.Clock.Set(time.Date(2027, 1, 22, 10, 0, 0, 0, wib))
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	o := f.evaluation(id, "2026").Objection
	if !o.Late || o.DaysLate != 4 {
		t.Errorf("late %v, days late %d; want true, 4", o.Late, o.DaysLate)
	}
	_, err := f.skps.DecideObjection(f.ctx, f.req(nipS), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "CHANGED",
		WorkResult: "DI_ATAS_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", DecisionText: "x"})
	expect(t, err, "validation", "outcome")
	f.ok(f.skps.DecideObjection(f.ctx, f.req(nipS), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "ditolak: lewat waktu"}))
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalFinal || ev.FinalReason != skp.WindowElapsed || ev.Objection.Status != skp.DecidedObjection {
		t.Errorf("status %s (%s), objection %s; want FINAL (WINDOW_ELAPSED), DECIDED", ev.Status, ev.FinalReason, ev.Objection.Status)
	}
}

func TestWithdrawal(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	_, err := f.skps.WithdrawObjection(f.ctx, f.req(nipE), skp.WithdrawObjection{SKPID: id, Period: "2026"})
	expect(t, err, "not_found", "")
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.skps.WithdrawObjection(f.ctx, f.req(clerk, domain.RoleGrievanceClerk), skp.WithdrawObjection{SKPID: id, Period: "2026"})
	expect(t, err, "forbidden", "")
	f.ok(f.skps.WithdrawObjection(f.ctx, f.req(nipE), skp.WithdrawObjection{SKPID: id, Period: "2026", Reason: "sudah dijelaskan"}))
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalIssued || ev.Objection.Status != skp.WithdrawnObjection {
		t.Errorf("status %s, objection %s; want ISSUED, WITHDRAWN", ev.Status, ev.Objection.Status)
	}
	_, err = f.skps.WithdrawObjection(f.ctx, f.req(nipE), skp.WithdrawObjection{SKPID: id, Period: "2026"})
	expect(t, err, "invalid_state", "")
	f.env.Clock.Set(time.Date(2027, 1, 19, 0, 0, 0, 0, wib))
	if st := f.evaluation(id, "2026").Status; st != skp.EvalFinal {
		t.Errorf("after the window status = %s, want FINAL", st)
	}
}

func TestPeriodicObjectionsWhenAllowed(t *testing.T) {
	f := newFixture(t, func(p *policy.Policy) { p.PeriodicObjections = true })
	id, _, _ := f.establishedE()
	f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026-Q1"}))
	if _, _, err := f.skps.FileObjection(f.ctx, f.req(nipE), skp.FileObjection{SKPID: id, Period: "2026-Q1", Reasons: "x"}); err != nil {
		t.Fatal(err)
	}
	if st := f.evaluation(id, "2026-Q1").Status; st != skp.EvalUnderObjection {
		t.Errorf("status = %s, want UNDER_OBJECTION", st)
	}
}
