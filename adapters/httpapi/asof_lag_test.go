package httpapi

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// An as-of report is answered from read models that have read up to its
// cut, never from one still behind: the evaluations projection is paused
// when E's annual evaluation is rated, and the distribution at the
// rating's position is refused as not ready (503 with Retry-After) rather
// than served without the rating — and kept so — until the projection
// has caught up. The same for the SKP projection and the progress
// report, at a ledger position and at an instant.
func TestAsOfReportsWaitForLaggingReadModels(t *testing.T) {
	h := newHarness(t)
	f := h.at(stageEstablished)
	h.pause(evaluations.Name, skps.Name)
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+f.id+"/evaluations/2026",
		RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
	head, err := h.store.Head(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour) // the instant below is settled
	instant := time.Date(2027, 1, 8, 10, 0, 1, 0, time.UTC).Format(time.RFC3339)
	cuts := []string{strconv.FormatUint(uint64(head), 10), instant}
	for _, cut := range cuts {
		for _, path := range []string{"/v1/reports/distribution?unit=DINKES&period=2026&as_of=" + cut, "/v1/reports/progress?unit=DINKES&year=2026&as_of=" + cut} {
			r := h.request(&analyst, "GET", path, nil)
			if r.status != http.StatusServiceUnavailable || r.problem(t).Code != "unavailable" || r.header.Get("Retry-After") == "" {
				t.Errorf("GET %s with the projections behind the cut: %d %s (Retry-After %q), want 503 unavailable", path, r.status, r.body, r.header.Get("Retry-After"))
			}
		}
	}
	h.pause()
	for _, cut := range cuts {
		var dist struct {
			Population int            `json:"population"`
			Counts     map[string]int `json:"counts"`
			AsOf       string         `json:"as_of"`
		}
		h.must(http.StatusOK, analyst, "GET", "/v1/reports/distribution?unit=DINKES&period=2026&as_of="+cut, nil).decode(t, &dist)
		if dist.Population != 1 || dist.Counts["BAIK"] != 1 {
			t.Errorf("distribution as of %s once caught up: population %d, counts %v; want E's BAIK", cut, dist.Population, dist.Counts)
		}
	}
}

// The evaluations projection may have read further than the SKP
// projection: a row changed after the cut, of a revision the SKP summary
// has not reached, is rebuilt at the cut rather than taken as today's.
func TestAsOfEvaluationsAheadOfTheSKPs(t *testing.T) {
	h := newHarness(t)
	f := h.at(stageEstablished)
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+f.id+"/evaluations/2026",
		RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
	cut, err := h.store.Head(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	h.pause(skps.Name)
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+f.id+"/evaluations/2026",
		RateBody{common: common{Reason: "Koreksi penilaian"}, WorkResult: "DI_ATAS_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "Sangat baik"})
	h.catchUp()
	var dist struct {
		Counts map[string]int `json:"counts"`
	}
	h.must(http.StatusOK, analyst, "GET", "/v1/reports/distribution?unit=DINKES&period=2026&as_of="+strconv.FormatUint(uint64(cut), 10), nil).decode(t, &dist)
	if dist.Counts["BAIK"] != 1 || dist.Counts["SANGAT_BAIK"] != 0 {
		t.Errorf("distribution at the first rating, the SKP projection behind the second: %v, want BAIK (the rating then)", dist.Counts)
	}
}
