package deadlinestore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// Improvement plans (issue 14): the appraiser's reminders to open the
// plan, of its follow-up and of its result go out once each, across
// restarts, on both backends; opening the plan and recording its result
// take the earlier items away.
func TestImprovementPlanTimers(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		pol := policy.Default()
		set := deadlines.DefaultSettings(pol)
		var pos eventstore.Position
		e1 := &stream{name: "skp-" + nipE + "-2026", pos: &pos}
		h := history{e1.name: e1}
		delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
		poor := skp.Scores{WorkResult: rating.BelowExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.ButuhPerbaikan}
		batch := issuedSKP(e1, nipE, pol, delivered)
		// The SKP was rated poorly: replace the rating and the issue.
		batch = batch[:3]
		e1.events = e1.events[:3]
		d := pol.ObjectionDeadline(delivered)
		batch = append(batch,
			e1.add(delivered.Add(-time.Hour), nipA, skp.RatingAssigned{Period: "2026", Scores: poor, Rationale: "kurang", AppraiserNIP: nipA}),
			e1.add(delivered, nipA, skp.EvaluationIssued{Period: "2026", Scores: poor, DeliveredAt: delivered, ObjectionDeadline: &d, AppraiserNIP: nipA}))

		var clock time.Time
		tick := func(b deadlines.Backend) {
			t.Helper()
			s, err := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Finalise: (&finaliser{}).finalise, Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sent := func(b deadlines.Backend) map[deadlines.Kind]int {
			t.Helper()
			out, err := b.Outbox(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			n := map[deadlines.Kind]int{}
			for _, m := range out {
				var r deadlines.Reminder
				if err := json.Unmarshal(m.Body, &r); err != nil {
					t.Fatal(err)
				}
				n[r.Item.Kind]++
			}
			return n
		}
		restart := func(b deadlines.Backend, closeB func()) (deadlines.Backend, func()) {
			closeB()
			return open(t)
		}

		b, closeB := open(t)
		defer func() { closeB() }()
		sink := deadlines.NewSink(b, deadlines.NewProjection(h, 0, set))
		if err := sink.Apply(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		inbox, err := b.ForRecipient(ctx, nipA)
		if err != nil || len(inbox) != 1 || inbox[0].Kind != deadlines.OpenImprovementPlan {
			t.Fatalf("the appraiser's inbox: %+v (%v)", inbox, err)
		}
		if its, err := b.(deadlines.KindReader).OfKinds(ctx, deadlines.OpenImprovementPlan, deadlines.ImprovementResult); err != nil || len(its) != 1 || its[0].Kind != deadlines.OpenImprovementPlan {
			t.Fatalf("OfKinds = %+v (%v), want the open-plan item alone", its, err)
		}
		if its, _ := b.(deadlines.KindReader).OfKinds(ctx, deadlines.ImprovementResult); len(its) != 0 {
			t.Fatalf("OfKinds(IMPROVEMENT_RESULT) = %+v before any plan", its)
		}
		clock = inbox[0].FireAt
		tick(b)
		b, closeB = restart(b, closeB)
		tick(b)
		if n := sent(b); n[deadlines.OpenImprovementPlan] != 1 {
			t.Fatalf("open-plan reminders %v, want 1", n)
		}

		// The appraiser opens the plan: the follow-up and result wait.
		follow := calendar.MustNew(2027, 8, 2)
		opened := clock.Add(time.Hour)
		ev := e1.add(opened, nipA, skp.ImprovementPlanOpened{Period: "2026", Predikat: rating.ButuhPerbaikan, Goals: "g", Actions: "a", FollowUpOn: follow, AppraiserNIP: nipA})
		sink = deadlines.NewSink(b, deadlines.NewProjection(h, 0, set))
		if err := sink.Apply(ctx, ev); err != nil {
			t.Fatal(err)
		}
		inbox, _ = b.ForRecipient(ctx, nipA)
		if len(inbox) != 2 || inbox[0].Kind == deadlines.OpenImprovementPlan || inbox[1].Kind == deadlines.OpenImprovementPlan {
			t.Fatalf("after opening, the appraiser's inbox: %+v", inbox)
		}
		clock = follow.Start(wib).Add(time.Minute) // the follow-up reminder (3 days before) and the result's
		tick(b)
		b, closeB = restart(b, closeB)
		tick(b)
		if n := sent(b); n[deadlines.ImprovementFollowUp] != 1 || n[deadlines.ImprovementResult] != 1 || n[deadlines.OpenImprovementPlan] != 1 {
			t.Fatalf("after the follow-up date: %v", n)
		}

		// The result is recorded before its deadline: no overdue notice.
		ev = e1.add(clock.Add(time.Hour), nipA, skp.ImprovementPlanResultRecorded{Period: "2026", Result: skp.Improved, Note: "ok", AppraiserNIP: nipA})
		sink = deadlines.NewSink(b, deadlines.NewProjection(h, 0, set))
		if err := sink.Apply(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if inbox, _ = b.ForRecipient(ctx, nipA); len(inbox) != 0 {
			t.Fatalf("after the result, the appraiser's inbox: %+v", inbox)
		}
		clock = clock.AddDate(0, 3, 0)
		tick(b)
		if n := sent(b); n[deadlines.ImprovementResult] != 1 || n[deadlines.ImprovementFollowUp] != 1 {
			t.Fatalf("after the result: %v", n)
		}
	})
}
