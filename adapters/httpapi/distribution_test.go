package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// blockMode switches the harness's policy to BLOCK.
func blockMode(s *settings) {
	s.appConfig.Policy.DistributionMode = policy.Block
	s.appConfig.SKPs.Policy.DistributionMode = policy.Block
	s.appConfig.Distribution.Policy.DistributionMode = policy.Block
}

// establishedP drafts, plans and establishes P's SKP (P is E's colleague,
// appraised by A).
func (h *harness) establishedP(rhkA string) string {
	h.t.Helper()
	id := skpView(h.t, h.must(http.StatusCreated, peerP, "POST", "/v1/skps", DraftBody{NIP: nipP, Year: 2026, Approach: "KUANTITATIF"})).ID
	var c Created
	h.must(http.StatusCreated, peerP, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Terlaksananya posyandu", Kind: "UTAMA", IntervenedRHKID: rhkA}).decode(h.t, &c)
	h.must(http.StatusCreated, peerP, "POST", "/v1/skps/"+id+"/rhk/"+c.RHKID+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Posyandu aktif", Target: TargetBody{Value: 10, Unit: "posyandu"}})
	h.must(http.StatusOK, peerP, "POST", "/v1/skps/"+id+"/submit", nil)
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/establish", nil)
	return id
}

// blockCast sets up DINKES rated BAIK for 2026 with E and P established,
// and moves the clock past the year.
func blockCast(t *testing.T) (h *harness, idE, idP string) {
	h = newHarness(t, blockMode)
	h.cast()
	_, rhkA := h.establishedA()
	idE, _, _ = h.establishedE(rhkA)
	idP = h.establishedP(rhkA)
	h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/performance/2026", RateUnitBody{Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"})
	h.must(http.StatusOK, hr, "PUT", "/v1/units/PEMKOT/head", AssignHeadBody{common: decreed(), HeadNIP: nipS, EffectiveFrom: mustDate("2026-01-01")})
	h.clock.Set(time.Date(2027, 1, 6, 10, 0, 0, 0, time.UTC))
	return h, idE, idP
}

// TestDistributionBlocksIssue: in BLOCK mode the issue that would break the
// unit's pattern is refused with 422 distribution_blocked naming the rule
// and the counts, and nothing is written; rating the rest of the unit (the
// population as it stands) or the leader's justification lets it through.
func TestDistributionBlocksIssue(t *testing.T) {
	t.Run("refused, then repaired by the population", func(t *testing.T) {
		h, idE, idP := blockCast(t)
		h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+idE+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
		before := h.streamLen("skp-" + idE)
		p := h.refused(http.StatusUnprocessableEntity, "distribution_blocked", &apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
		for _, want := range []string{"BAIK.BAIK.max_70", "BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1", "DINKES", "1 of 1"} {
			if !strings.Contains(p.Detail, want) {
				t.Errorf("detail %q does not name %q", p.Detail, want)
			}
		}
		if h.streamLen("skp-"+idE) != before {
			t.Error("a refused issue wrote an event")
		}
		// Repeating it changes nothing.
		h.refused(http.StatusUnprocessableEntity, "distribution_blocked", &apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
		// P rated BUTUH_PERBAIKAN: P's issue never feeds the broken rules,
		// and with P counted E's BAIK is 1 of 2 (floor 70% = 1).
		h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+idP+"/evaluations/2026", RateBody{WorkResult: "DI_BAWAH_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Perlu perbaikan"})
		h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+idP+"/evaluations/2026/issue", nil)
		h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
		// Issued twice: the state refuses, not the distribution.
		h.refused(http.StatusConflict, "invalid_state", &apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
	})
	t.Run("a justification by the leader one level up covers it", func(t *testing.T) {
		h, idE, _ := blockCast(t)
		h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+idE+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
		h.refused(http.StatusUnprocessableEntity, "distribution_blocked", &apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
		body := JustifyDistributionBody{Counts: map[rating.Predikat]int{rating.Baik: 1}, Justification: "Unit kecil; satu pegawai dinilai."}
		// Not the appraiser, not the unit's own staff: only the head of PEMKOT.
		h.refused(http.StatusForbidden, "forbidden", &apprA, "POST", "/v1/units/DINKES/distribution/2026/justifications", body)
		h.refused(http.StatusForbidden, "forbidden", &hr, "POST", "/v1/units/DINKES/distribution/2026/justifications", body)
		h.refused(http.StatusUnprocessableEntity, "validation_failed", &supS, "POST", "/v1/units/DINKES/distribution/2026/justifications",
			JustifyDistributionBody{Counts: map[rating.Predikat]int{rating.Baik: 1}, Justification: "ada\x07kontrol"})
		h.must(http.StatusCreated, supS, "POST", "/v1/units/DINKES/distribution/2026/justifications", body)
		h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
	})
	t.Run("no organisation predikat: undetermined, nothing blocked", func(t *testing.T) {
		h, idE, _ := blockCast(t)
		var rep struct {
			Undetermined bool             `json:"undetermined"`
			Violations   []map[string]any `json:"violations"`
			Population   int              `json:"population"`
		}
		h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+idE+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
		h.must(http.StatusOK, analyst, "GET", "/v1/reports/distribution?unit=PEMKOT&period=2026", nil).decode(t, &rep)
		if !rep.Undetermined || len(rep.Violations) != 0 || rep.Population != 1 {
			t.Errorf("PEMKOT report = %+v, want undetermined", rep)
		}
		h.must(http.StatusOK, analyst, "GET", "/v1/reports/distribution?unit=DINKES&period=2026", nil).decode(t, &rep)
		if rep.Undetermined || len(rep.Violations) == 0 {
			t.Errorf("DINKES report = %+v, want determined with violations", rep)
		}
		// A quarter has no predikat: its issue is not checked.
		h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+idE+"/evaluations/2026-Q4", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
		h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026-Q4/issue", nil)
	})
}

// TestFeedbackGiversAPI: the appraiser assigns X (BAPPEDA) as team lead of
// E's SKP; X then gives feedback; adversarial inputs are refused and change
// nothing.
func TestFeedbackGiversAPI(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, rhkE, _ := h.establishedE(rhkA)
	url := "/v1/skps/" + id + "/feedback-givers"
	fb := FeedbackBody{About: FeedbackAboutBody{RHKID: rhkE}, Text: "Koordinasi lintas unit baik"}
	h.refused(http.StatusNotFound, "not_found", &outX, "POST", "/v1/skps/"+id+"/feedback", fb)
	before := h.streamLen("skp-" + id)
	h.refused(http.StatusForbidden, "forbidden", &empE, "POST", url, FeedbackGiverBody{GiverNIP: nipX, Kind: "TEAM_LEAD"})
	h.refused(http.StatusNotFound, "not_found", &outX, "POST", url, FeedbackGiverBody{GiverNIP: nipX, Kind: "TEAM_LEAD"})
	h.refused(http.StatusNotFound, "not_found", &apprA, "POST", "/v1/skps/"+nipX+"-2026/feedback-givers", FeedbackGiverBody{GiverNIP: nipX, Kind: "TEAM_LEAD"})
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", url, FeedbackGiverBody{GiverNIP: nipX, Kind: "PEER"})
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", url, FeedbackGiverBody{GiverNIP: nipX, Kind: "TEAM_LEAD", AssignmentRef: "SK\u0007"})
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", url, FeedbackGiverBody{GiverNIP: nipE, Kind: "TEAM_LEAD"})
	h.refused(http.StatusBadRequest, "invalid_request", &apprA, "POST", url, `{"giver_nip":"`+nipX+`","kind":"TEAM_LEAD","extra":1}`)
	if h.streamLen("skp-"+id) != before {
		t.Fatal("a refused assignment wrote an event")
	}
	v := skpView(t, h.must(http.StatusOK, apprA, "POST", url, FeedbackGiverBody{GiverNIP: nipX, Kind: "TEAM_LEAD", AssignmentRef: "SK Tim 800/7"}))
	if len(v.FeedbackGivers) != 1 || v.FeedbackGivers[0].NIP != nipX {
		t.Fatalf("givers = %+v", v.FeedbackGivers)
	}
	// A double submit records nothing new.
	h.must(http.StatusOK, apprA, "POST", url, FeedbackGiverBody{GiverNIP: nipX, Kind: "TEAM_LEAD", AssignmentRef: "SK Tim 800/7"})
	if h.streamLen("skp-"+id) != before+1 {
		t.Errorf("a repeated assignment appended again")
	}
	h.must(http.StatusCreated, outX, "POST", "/v1/skps/"+id+"/feedback", fb)
	v = skpView(t, h.must(http.StatusOK, outX, "GET", "/v1/skps/"+id, nil))
	if last := v.Feedback[len(v.Feedback)-1]; last.GiverNIP != nipX || last.Relationship != "TEAM_LEAD" {
		t.Errorf("feedback = %+v", last)
	}
	h.must(http.StatusOK, hr, "POST", url, FeedbackGiverBody{GiverNIP: nipX, Revoke: true})
	h.refused(http.StatusForbidden, "forbidden", &outX, "POST", "/v1/skps/"+id+"/feedback", fb)
}

// TestRatingGroundsAPI: per-RHK ratings and per-value notes through the
// rating call, shown with the capaian of each indicator; someone else's RHK
// and control characters are refused and change nothing.
func TestRatingGroundsAPI(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, rhkE, indE := h.establishedE(rhkA)
	url := "/v1/skps/" + id + "/evaluations/2026-Q1"
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: indE, Value: 4})
	body := RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Sesuai bukti dukung",
		WorkResults:    []skp.RHKRating{{RHKID: rhkE, Rating: rating.AboveExpectation, Rationale: "4 dari 5 puskesmas, tepat waktu"}},
		BehaviourNotes: []skp.ValueNote{{Value: berakhlak.Kolaboratif, Note: "Koordinasi dengan kader baik"}}}
	h.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC)) // the quarter has ended
	before := h.streamLen("skp-" + id)
	foreign := body
	foreign.WorkResults = []skp.RHKRating{{RHKID: rhkA, Rating: rating.AboveExpectation, Rationale: "RHK milik atasan"}}
	if p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "PUT", url, foreign); p.Errors[0].Field != "work_results[0].rhk_id" {
		t.Errorf("foreign RHK problem = %+v", p)
	}
	ctl := body
	ctl.WorkResults = []skp.RHKRating{{RHKID: rhkE, Rating: rating.AboveExpectation, Rationale: "a\u001bb"}}
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "PUT", url, ctl)
	h.refused(http.StatusForbidden, "forbidden", &empE, "PUT", url, body)
	if h.streamLen("skp-"+id) != before {
		t.Fatal("a refused rating wrote")
	}
	h.must(http.StatusOK, apprA, "PUT", url, body)
	h.must(http.StatusOK, apprA, "PUT", url, body) // a double submit: nothing new
	if got := h.streamLen("skp-" + id); got != before+2 {
		t.Errorf("events after rating twice = %d, want %d (rating + grounds)", got, before+2)
	}
	var ev EvaluationResponse
	h.must(http.StatusOK, empE, "GET", url, nil).decode(t, &ev)
	if ev.Grounds == nil || len(ev.Grounds.WorkResults) != 1 || ev.Grounds.WorkResults[0].RHKID != rhkE || len(ev.Grounds.BehaviourNotes) != 1 {
		t.Errorf("grounds = %+v", ev.Grounds)
	}
	if len(ev.Achievements) != 1 || ev.Achievements[0].Percent == nil || *ev.Achievements[0].Percent != 80 || ev.Achievements[0].Direction != skp.HigherIsBetter {
		t.Errorf("achievements = %+v, want 80%% (4 of 5)", ev.Achievements)
	}
}

// TestAppraiserInUnitByPeriod: with APPRAISER_IN_UNIT the population is
// counted by the unit the appraiser was in for the period, not the unit the
// appraiser is in now (issue 11).
func TestAppraiserInUnitByPeriod(t *testing.T) {
	h := newHarness(t, func(s *settings) {
		s.appConfig.Policy.DistributionPopulation = policy.AppraiserInUnit
	})
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.clock.Set(time.Date(2027, 1, 6, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
	// A moves to BAPPEDA from 2027.
	h.must(http.StatusOK, hr, "PUT", "/v1/employees/"+nipA+"/position", PositionChangeBody{common: decreed(), Position: PositionBody{Kind: "JPT_PRATAMA", Title: "Kepala Bappeda"},
		UnitID: "BAPPEDA", EffectiveFrom: mustDate("2027-01-01"), DecreeRef: "SK 821/1"})
	var rep struct {
		Population int `json:"population"`
	}
	h.must(http.StatusOK, analyst, "GET", "/v1/reports/distribution?unit=DINKES&period=2026", nil).decode(t, &rep)
	if rep.Population != 1 {
		t.Errorf("DINKES 2026 population = %d, want 1 (A appraised from DINKES in 2026)", rep.Population)
	}
	h.must(http.StatusOK, analyst, "GET", "/v1/reports/distribution?unit=BAPPEDA&period=2026", nil).decode(t, &rep)
	if rep.Population != 0 {
		t.Errorf("BAPPEDA 2026 population = %d, want 0", rep.Population)
	}
}
