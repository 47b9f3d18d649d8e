package deadlines_test

import (
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// issuedWith is issued with the given scores.
func issuedWith(pol policy.Policy, delivered time.Time, sc skp.Scores) *journey {
	j := established(time.Date(2026, 1, 20, 9, 0, 0, 0, wib))
	j.add(delivered.Add(-time.Hour), nipA, skp.RatingAssigned{Period: "2026", Scores: sc, Rationale: "ok", AppraiserNIP: nipA, PolicyVersion: "test"})
	d := pol.ObjectionDeadline(delivered)
	return j.add(delivered, nipA, skp.EvaluationIssued{Period: "2026", Scores: sc, DeliveredAt: delivered, ObjectionDeadline: &d, AppraiserNIP: nipA, PolicyVersion: "test"})
}

var poor = skp.Scores{WorkResult: rating.BelowExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.ButuhPerbaikan}

// Issue 14: a final predikat of BUTUH_PERBAIKAN or worse waits for the
// appraiser's improvement plan from finality; an open plan waits for its
// follow-up, then its result; a recorded result waits for nothing.
func TestImprovementPlanItems(t *testing.T) {
	pol := policy.Default()
	set := deadlines.DefaultSettings(pol)
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	final := pol.ObjectionDeadline(delivered).Add(time.Second)

	if _, ok := find(deadlines.Items(issued(pol, delivered).skp(), set), deadlines.OpenImprovementPlan, "2026"); ok {
		t.Fatal("a BAIK evaluation waits for an improvement plan")
	}
	j := issuedWith(pol, delivered, poor)
	it, ok := find(deadlines.Items(j.skp(), set), deadlines.OpenImprovementPlan, "2026")
	wantDue := pol.Date(final).AddDays(deadlines.DefaultImprovementPlanDays).End(wib).UTC()
	if !ok || it.Recipient != nipA || !it.From.Equal(final) || !it.Due.Equal(wantDue) || it.FireAt.Before(final) {
		t.Fatalf("open-plan item %+v (ok %v), want from %v due %v", it, ok, final, wantDue)
	}
	// Configurable.
	set7 := set
	set7.ImprovementPlanDays = 7
	if it7, _ := find(deadlines.Items(j.skp(), set7), deadlines.OpenImprovementPlan, "2026"); !it7.Due.Equal(pol.Date(final).AddDays(7).End(wib).UTC()) {
		t.Errorf("7-day plan due %v", it7.Due)
	}

	opened := final.Add(24 * time.Hour)
	follow := calendar.MustNew(2027, 8, 2)
	j.add(opened, nipA, skp.ImprovementPlanOpened{Period: "2026", Predikat: rating.ButuhPerbaikan, Goals: "g", Actions: "a", FollowUpOn: follow, AppraiserNIP: nipA})
	items := deadlines.Items(j.skp(), set)
	if _, ok := find(items, deadlines.OpenImprovementPlan, "2026"); ok {
		t.Error("the opened plan still waits to be opened")
	}
	fu, ok := find(items, deadlines.ImprovementFollowUp, "2026")
	if !ok || !fu.From.Equal(opened) || !fu.Due.Equal(follow.End(wib).UTC()) || !fu.FireAt.Equal(fu.Due.AddDate(0, 0, -set.LeadDays)) {
		t.Fatalf("follow-up item %+v", fu)
	}
	res, ok := find(items, deadlines.ImprovementResult, "2026")
	if !ok || !res.From.Equal(follow.Start(wib).UTC()) || !res.FireAt.Equal(res.From) || !res.Due.Equal(follow.AddDays(deadlines.DefaultImprovementResultDays).End(wib).UTC()) {
		t.Fatalf("result item %+v", res)
	}
	var notices map[deadlines.Kind]int = map[deadlines.Kind]int{}
	for _, it := range items {
		if it.Notice > 0 {
			notices[it.Kind]++
		}
	}
	if notices[deadlines.ImprovementFollowUp] != 0 || notices[deadlines.ImprovementResult] != set.OverdueNotices {
		t.Errorf("overdue notices %v", notices)
	}

	j.add(follow.Start(wib).Add(10*time.Hour), nipA, skp.ImprovementPlanResultRecorded{Period: "2026", Result: skp.Improved, Note: "ok", AppraiserNIP: nipA})
	for _, it := range deadlines.Items(j.skp(), set) {
		switch it.Kind {
		case deadlines.OpenImprovementPlan, deadlines.ImprovementFollowUp, deadlines.ImprovementResult:
			t.Errorf("item after the result: %+v", it)
		}
	}
}

// While an objection is open the evaluation is not final: no plan waits.
func TestNoImprovementPlanUnderObjection(t *testing.T) {
	pol := policy.Default()
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	j := issuedWith(pol, delivered, poor)
	d := pol.ObjectionDeadline(delivered)
	j.add(delivered.Add(48*time.Hour), nipE, skp.ObjectionFiled{ObjectionID: "obj-1", Period: "2026", FiledAt: delivered.Add(48 * time.Hour),
		Reasons: "tidak sesuai", AddressedTo: nipS, AppraiserNIP: nipA, Evaluation: poor, Deadline: d})
	if it, ok := find(deadlines.Items(j.skp(), deadlines.DefaultSettings(pol)), deadlines.OpenImprovementPlan, "2026"); ok {
		t.Fatalf("a plan waits under objection: %+v", it)
	}
}
