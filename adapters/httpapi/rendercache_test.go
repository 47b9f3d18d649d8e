package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// TestRenderedViewFollowsTheClock: a current view is served from the render
// cache, but never past the moment a derived status changes (the objection
// window closing), and never for another revision.
func TestRenderedViewFollowsTheClock(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "ok"})
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026/issue", nil)
	annual := func() (skp.EvaluationView, uint64) {
		t.Helper()
		v := skpView(t, h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id, nil))
		for _, e := range v.Evaluations {
			if e.Period == "2026" {
				return e, v.Revision
			}
		}
		t.Fatal("no annual evaluation")
		return skp.EvaluationView{}, 0
	}
	e, rev := annual()
	if e.Status != skp.EvalIssued || e.ObjectionDeadline == nil {
		t.Fatalf("issued evaluation = %+v", e)
	}
	if e2, _ := annual(); e2.Status != skp.EvalIssued { // served again (from the cache)
		t.Fatalf("second read = %s", e2.Status)
	}
	h.clock.Set(e.ObjectionDeadline.Add(-time.Second))
	if e3, _ := annual(); e3.Status != skp.EvalIssued {
		t.Errorf("a second before the deadline: %s, want ISSUED", e3.Status)
	}
	h.clock.Set(e.ObjectionDeadline.Add(time.Second))
	if e4, rev4 := annual(); e4.Status != skp.EvalFinal || rev4 != rev {
		t.Errorf("a second after the deadline: %s (revision %d), want FINAL at the same revision %d", e4.Status, rev4, rev)
	}
	// A new event is a new revision: never the old rendering.
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026/finalise", nil)
	if e5, rev5 := annual(); rev5 == rev || !e5.FinalityRecorded {
		t.Errorf("after finalise: revision %d (was %d), finality recorded %v", rev5, rev, e5.FinalityRecorded)
	}
}
