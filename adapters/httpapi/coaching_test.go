package httpapi

import (
	"net/http"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Coaching and development through the API: the appraiser records, the
// employee reads, outsiders see nothing, an outcome is final.
func TestDevelopmentThroughAPI(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	base := "/v1/skps/" + id
	h.refused(http.StatusForbidden, "forbidden", &empE, "POST", base+"/competency-gaps", GapBody{Competency: "Analisis data"})
	h.refused(http.StatusNotFound, "not_found", &outX, "POST", base+"/competency-gaps", GapBody{Competency: "Analisis data"})
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", base+"/development-actions",
		DevelopmentActionBody{Kind: "TRAINING", Title: "Pelatihan", DueDate: "1990-01-01"})
	var gap, action DevelopmentCreated
	h.must(http.StatusCreated, apprA, "POST", base+"/competency-gaps", GapBody{Competency: "Analisis data"}).decode(t, &gap)
	h.must(http.StatusCreated, apprA, "POST", base+"/development-actions",
		DevelopmentActionBody{GapID: gap.ID, Kind: "TRAINING", Title: "Pelatihan analisis data", DueDate: "2026-06-30"}).decode(t, &action)
	h.must(http.StatusCreated, apprA, "POST", base+"/coaching", CoachingBody{Kind: "COACHING", Period: "2026-Q1", HeldOn: "2026-01-20", Text: "Pendampingan pengolahan data"})
	h.must(http.StatusOK, apprA, "POST", base+"/development-actions/"+action.ID+"/outcome", OutcomeBody{Outcome: "COMPLETED"})
	h.refused(http.StatusConflict, "invalid_state", &apprA, "POST", base+"/development-actions/"+action.ID+"/outcome", OutcomeBody{Outcome: "CANCELLED"})
	h.refused(http.StatusNotFound, "not_found", &apprA, "POST", base+"/development-actions/nope/outcome", OutcomeBody{Outcome: "CANCELLED"})
	var dev skp.Development
	h.must(http.StatusOK, empE, "GET", base+"/development", nil).decode(t, &dev)
	if len(dev.Gaps) != 1 || len(dev.Actions) != 1 || dev.Actions[0].Outcome != skp.OutcomeCompleted || dev.Actions[0].GapID != gap.ID || len(dev.Coaching) != 1 {
		t.Errorf("development = %+v", dev)
	}
	h.refused(http.StatusNotFound, "not_found", &outX, "GET", base+"/development", nil)
}
