package httpapi

// A table of every mutation route with a body that succeeds in a state the
// case sets up: the boundary tests send each route adversarial bodies (and
// the fuzz test arbitrary ones) and check that they are refused with a 4xx
// that changes nothing, and that the valid body still succeeds after.

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// fixture is the state a route case starts from.
type fixture struct {
	rhkA, id, rhkE, indE string
}

// stage brings a harness to the state a case needs.
type stage int

const (
	stageCast        stage = iota // units, employees, reporting lines; A's SKP established
	stageDraft                    // E's SKP in DRAFT with one cascaded RHK and one indicator
	stageSubmitted                // E's SKP submitted
	stageEstablished              // E's SKP established
	stageRated                    // E's annual evaluation rated (January 2027, after the year)
	stageIssued                   // … and issued
	stageObjection                // … and objected to
	stageRequested                // … explanations requested of both parties
	stageExplained                // … and given by both
	stageWindowOver               // issued, and the objection window has passed
)

// routeCase is one mutation route with a body that succeeds at its stage.
type routeCase struct {
	name   string
	stage  stage
	who    caller
	method string
	path   func(f fixture) string
	body   func(f fixture) map[string]any
	status int
}

// casePrep adds what a case needs beyond its stage.
var casePrep = map[string]func(h *harness){
	"skps.development_outcome": func(h *harness) {
		var c DevelopmentCreated
		h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+nipE+"-2026/development-actions",
			DevelopmentActionBody{Kind: "MENTORING", Title: "Pendampingan", DueDate: "2026-06-30"}).decode(h.t, &c)
		preppedAction = c.ID
	},
	// A release names another agency: B's root.
	"employees.transfer-release": func(h *harness) {
		h.must(http.StatusCreated, hrB, "POST", "/v1/units", CreateUnitBody{ID: "PEMPROV", Name: "Pemerintah Provinsi"})
	},
	"skps.feedback_round_answer":     openRound,
	"skps.feedback_round_close":      openRound,
	"skps.feedback_round_disclosure": openRound,
	"skps.plan_acknowledgement": func(h *harness) {
		h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+nipE+"-2026/amendment", ActionBody{common{Reason: "penugasan baru"}})
	},
	// A period is rated only after it ends.
	"evaluations.rate": func(h *harness) { h.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC)) },
	// A quarter rated BUTUH_PERBAIKAN and issued is final at once
	// (objections to quarters are not allowed by default).
	"evaluations.improvement_plan": poorQuarter,
	"evaluations.improvement_result": func(h *harness) {
		poorQuarter(h)
		h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+nipE+"-2026/evaluations/2026-Q1/improvement-plan",
			ImprovementPlanBody{Goals: "Laporan tepat waktu", Actions: "Pendampingan"})
	},
	"units.justification": func(h *harness) {
		h.must(http.StatusOK, hr, "PUT", "/v1/units/PEMKOT/head", AssignHeadBody{common: decreed(), HeadNIP: nipS, EffectiveFrom: mustDate("2026-01-01")})
		h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/performance/2026", RateUnitBody{Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"})
	},
}

// mutationCases covers every mutation route of the API (TestRouteCasesCoverEveryMutation
// keeps it so).
func mutationCases() []routeCase {
	skp := func(suffix string) func(f fixture) string {
		return func(f fixture) string { return "/v1/skps/" + f.id + suffix }
	}
	fixed := func(p string) func(fixture) string { return func(fixture) string { return p } }
	none := func(fixture) map[string]any { return map[string]any{} }
	ev := "/evaluations/2026"
	return []routeCase{
		{"officials.create", stageCast, hr, "POST", fixed("/v1/officials"),
			func(fixture) map[string]any {
				return map[string]any{"id": "MENKES", "kind": "MINISTER", "title": "Menteri Kesehatan"}
			}, 201},
		{"units.create", stageCast, hr, "POST", fixed("/v1/units"),
			func(fixture) map[string]any {
				return map[string]any{"id": "NEWU", "name": "Unit Baru", "parent_id": "PEMKOT"}
			}, 201},
		{"units.performance", stageCast, hr, "PUT", fixed("/v1/units/DINKES/performance/2026"),
			func(fixture) map[string]any {
				return map[string]any{"predikat": "BAIK", "paper_ref": "BA-PREDIKAT-2026"}
			}, 200},
		{"units.head", stageCast, hr, "PUT", fixed("/v1/units/DINKES/head"),
			func(fixture) map[string]any {
				return map[string]any{"head_nip": nipA, "effective_from": "2026-01-01", "paper_ref": decree}
			}, 200},
		{"units.rename", stageCast, hr, "PUT", fixed("/v1/units/DINKES/name"),
			func(fixture) map[string]any { return map[string]any{"name": "Dinas Kesehatan Kota Sukamaju"} }, 200},
		{"units.zone", stageCast, hr, "PUT", fixed("/v1/units/DINKES/zone"),
			func(fixture) map[string]any { return map[string]any{"zone": "WITA"} }, 200},
		{"units.justification", stageCast, supS, "POST", fixed("/v1/units/DINKES/distribution/2026/justifications"),
			func(fixture) map[string]any {
				return map[string]any{"counts": map[string]any{"SANGAT_BAIK": 10}, "justification": "Semua pegawai berprestasi"}
			}, 201},
		{"employees.create", stageCast, hr, "POST", fixed("/v1/employees"),
			func(fixture) map[string]any {
				return map[string]any{"nip": "199908082020121008", "name": "Pegawai Baru", "unit_id": "DINKES",
					"position": map[string]any{"kind": "PELAKSANA", "title": "Staf"}}
			}, 201},
		{"employees.line", stageCast, hr, "PUT", fixed("/v1/employees/" + nipP + "/reporting-line"),
			func(fixture) map[string]any {
				return map[string]any{"appraiser_nip": nipA, "appraiser_superior_nip": nipS, "effective_from": "2026-01-02", "paper_ref": decree}
			}, 200},
		{"employees.position", stageCast, hr, "PUT", fixed("/v1/employees/" + nipP + "/position"),
			func(fixture) map[string]any {
				return map[string]any{"position": map[string]any{"kind": "PELAKSANA", "title": "Staf Baru"}, "unit_id": "DINKES",
					"effective_from": "2026-01-02", "decree_ref": "SK-1", "paper_ref": "SK-1"}
			}, 200},
		{"employees.transfer-release", stageCast, hrAgA, "PUT", fixed("/v1/employees/" + nipP + "/transfer-release"),
			func(fixture) map[string]any {
				return map[string]any{"to_agency": "PEMPROV", "expires_on": "2026-01-31", "decree_ref": "800/1/2026"}
			}, 200},
		{"skps.draft", stageCast, peerP, "POST", fixed("/v1/skps"),
			func(fixture) map[string]any {
				return map[string]any{"nip": nipP, "year": 2026, "approach": "KUANTITATIF"}
			}, 201},
		{"skps.rhk.add", stageDraft, empE, "POST", skp("/rhk"),
			func(fixture) map[string]any { return map[string]any{"text": "Tersusunnya laporan", "kind": "TAMBAHAN"} }, 201},
		{"skps.rhk.change", stageDraft, empE, "PUT", func(f fixture) string { return "/v1/skps/" + f.id + "/rhk/" + f.rhkE },
			func(f fixture) map[string]any {
				return map[string]any{"text": "Terlaksananya imunisasi", "kind": "UTAMA", "intervened_rhk_id": f.rhkA}
			}, 200},
		{"skps.rhk.remove", stageDraft, empE, "DELETE", func(f fixture) string { return "/v1/skps/" + f.id + "/rhk/" + f.rhkE }, none, 200},
		{"skps.indicator.add", stageDraft, empE, "POST", func(f fixture) string { return "/v1/skps/" + f.id + "/rhk/" + f.rhkE + "/indicators" },
			func(fixture) map[string]any {
				return map[string]any{"aspect": "KUALITAS", "text": "Laporan diterima", "target": map[string]any{"value": 1, "unit": "dokumen"}}
			}, 201},
		{"skps.indicator.change", stageDraft, empE, "PUT", func(f fixture) string { return "/v1/skps/" + f.id + "/indicators/" + f.indE },
			func(fixture) map[string]any {
				return map[string]any{"aspect": "KUANTITAS", "text": "Puskesmas", "target": map[string]any{"value": 6, "unit": "puskesmas"}}
			}, 200},
		{"skps.indicator.remove", stageDraft, empE, "DELETE", func(f fixture) string { return "/v1/skps/" + f.id + "/indicators/" + f.indE }, none, 200},
		{"skps.expectation", stageDraft, apprA, "PUT", skp("/behaviour-expectations/KOLABORATIF"),
			func(fixture) map[string]any { return map[string]any{"expectation": "Aktif dalam tim"} }, 200},
		{"skps.submit", stageDraft, empE, "POST", skp("/submit"), none, 200},
		{"skps.return", stageSubmitted, apprA, "POST", skp("/return"),
			func(fixture) map[string]any { return map[string]any{"reason": "Lengkapi indikator"} }, 200},
		{"skps.establish", stageSubmitted, apprA, "POST", skp("/establish"), none, 200},
		{"skps.plan_acknowledgement", stageEstablished, empE, "POST", skp("/plan-acknowledgement"), none, 200},
		{"skps.amendment", stageEstablished, apprA, "POST", skp("/amendment"),
			func(fixture) map[string]any { return map[string]any{"reason": "Perubahan target"} }, 200},
		{"skps.cancel", stageDraft, hr, "POST", skp("/cancel"),
			func(fixture) map[string]any { return map[string]any{"reason": "Salah input"} }, 200},
		{"skps.close", stageEstablished, hr, "POST", skp("/close"),
			func(fixture) map[string]any {
				return map[string]any{"effective_from": "2026-06-01", "reason": "Mutasi"}
			}, 200},
		{"skps.realisation", stageEstablished, empE, "POST", skp("/realisations"),
			func(f fixture) map[string]any {
				return map[string]any{"period": "2026-Q1", "indicator_id": f.indE, "value": 2, "narrative": "2 puskesmas"}
			}, 201},
		{"skps.evidence", stageEstablished, empE, "POST", skp("/evidence"),
			func(f fixture) map[string]any {
				return map[string]any{"indicator_id": f.indE, "uri": "https://files.example/laporan.pdf", "sha256": strings.Repeat("ab", 32),
					"filename": "laporan.pdf", "media_type": "application/pdf", "size": 1024}
			}, 201},
		{"skps.feedback_givers", stageEstablished, apprA, "POST", skp("/feedback-givers"),
			func(fixture) map[string]any {
				return map[string]any{"giver_nip": nipX, "kind": "TEAM_LEAD", "assignment_ref": "SK Tim 800/7"}
			}, 200},
		{"skps.coaching", stageEstablished, apprA, "POST", skp("/coaching"),
			func(fixture) map[string]any {
				return map[string]any{"kind": "DIALOGUE", "period": "2026-Q1", "held_on": "2026-03-10", "text": "Capaian dibahas", "agreements": "Kunjungan tiap pekan"}
			}, 201},
		{"skps.competency_gaps", stageEstablished, apprA, "POST", skp("/competency-gaps"),
			func(fixture) map[string]any {
				return map[string]any{"competency": "Analisis data", "description": "Olah data desa"}
			}, 201},
		{"skps.development_actions", stageEstablished, apprA, "POST", skp("/development-actions"),
			func(fixture) map[string]any {
				return map[string]any{"kind": "TRAINING", "title": "Pelatihan analisis data", "due_date": "2026-06-30"}
			}, 201},
		{"skps.development_outcome", stageEstablished, apprA, "POST",
			func(f fixture) string {
				return "/v1/skps/" + f.id + "/development-actions/" + preppedAction + "/outcome"
			},
			func(fixture) map[string]any { return map[string]any{"outcome": "COMPLETED", "note": "Bersertifikat"} }, 200},
		{"skps.feedback_rounds", stageEstablished, apprA, "POST", skp("/feedback-rounds"),
			func(fixture) map[string]any {
				return map[string]any{"period": "2026-Q1", "invitees": []any{map[string]any{"nip": nipP, "group": "PEER"}, map[string]any{"nip": nipX, "group": "PEER"}}}
			}, 201},
		{"skps.feedback_round_answer", stageEstablished, peerP, "PUT", skp("/feedback-rounds/r1/answer"),
			func(fixture) map[string]any { return map[string]any{"answers": answersBody()} }, 200},
		{"skps.feedback_round_close", stageEstablished, apprA, "POST", skp("/feedback-rounds/r1/close"),
			func(fixture) map[string]any { return map[string]any{} }, 200},
		{"skps.feedback_round_disclosure", stageEstablished, aud, "POST", skp("/feedback-rounds/r1/disclosure"),
			func(fixture) map[string]any { return map[string]any{"reason": "Pemeriksaan Inspektorat"} }, 200},
		{"skps.feedback", stageEstablished, apprA, "POST", skp("/feedback"),
			func(f fixture) map[string]any {
				return map[string]any{"about": map[string]any{"rhk_id": f.rhkE}, "text": "Bagus, lanjutkan"}
			}, 201},
		{"skps.self_assessment", stageEstablished, empE, "POST", skp("/self-assessments"),
			func(f fixture) map[string]any {
				return map[string]any{"period": "2026-Q1", "text": "Target triwulan tercapai", "rhk_notes": []any{map[string]any{"rhk_id": f.rhkE, "note": "Dua posyandu"}}}
			}, 201},
		{"evaluations.rate", stageEstablished, apprA, "PUT", skp("/evaluations/2026-Q1"),
			func(fixture) map[string]any {
				return map[string]any{"work_result": "SESUAI_EKSPEKTASI", "behaviour": "SESUAI_EKSPEKTASI", "rationale": "Sesuai rencana"}
			}, 200},
		{"evaluations.issue", stageRated, apprA, "POST", skp(ev + "/issue"), none, 200},
		{"evaluations.finalise", stageWindowOver, empE, "POST", skp(ev + "/finalise"), none, 200},
		{"evaluations.acknowledgement", stageIssued, empE, "POST", skp(ev + "/acknowledgement"), none, 200},
		{"objections.file", stageIssued, empE, "POST", skp(ev + "/objection"),
			func(fixture) map[string]any { return map[string]any{"reasons": "Data belum lengkap"} }, 201},
		{"objections.request", stageObjection, supS, "POST", skp(ev + "/objection/explanation-requests"),
			func(fixture) map[string]any { return map[string]any{"from": "APPRAISER"} }, 201},
		{"objections.explanation", stageRequested, apprA, "POST", skp(ev + "/objection/explanations"),
			func(fixture) map[string]any { return map[string]any{"text": "Data terlambat"} }, 201},
		{"objections.decision", stageExplained, supS, "POST", skp(ev + "/objection/decision"),
			func(fixture) map[string]any {
				return map[string]any{"outcome": "UPHELD", "decision_text": "Penilaian tetap"}
			}, 200},
		{"evaluations.improvement_plan", stageEstablished, apprA, "POST", skp("/evaluations/2026-Q1/improvement-plan"),
			func(fixture) map[string]any {
				return map[string]any{"goals": "Laporan tepat waktu", "actions": "Pendampingan mingguan", "follow_up_on": "2026-09-01"}
			}, 201},
		{"evaluations.improvement_result", stageEstablished, apprA, "POST", skp("/evaluations/2026-Q1/improvement-plan/result"),
			func(fixture) map[string]any {
				return map[string]any{"result": "IMPROVED", "note": "Laporan kini tepat waktu"}
			}, 200},
		{"objections.withdrawal", stageObjection, empE, "POST", skp(ev + "/objection/withdrawal"), none, 200},
		{"objections.decider", stageObjection, supS, "POST", skp(ev + "/objection/decider"),
			func(fixture) map[string]any {
				return map[string]any{"basis": "DELEGATION_PLH", "decider_nip": nipU, "ref": "Surat Perintah Plh 800/9"}
			}, 200},
	}
}

// at brings a new harness to stage s and returns the fixture.
func (h *harness) at(s stage) fixture {
	h.t.Helper()
	h.cast()
	var f fixture
	_, f.rhkA = h.establishedA()
	if s == stageCast {
		return f
	}
	f.id = skpView(h.t, h.must(http.StatusCreated, empE, "POST", "/v1/skps", DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})).ID
	var c Created
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+f.id+"/rhk", RHKBody{Text: "Terlaksananya imunisasi", Kind: "UTAMA", IntervenedRHKID: f.rhkA}).decode(h.t, &c)
	f.rhkE = c.RHKID
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+f.id+"/rhk/"+f.rhkE+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Puskesmas", Target: TargetBody{Value: 5, Unit: "puskesmas"}}).decode(h.t, &c)
	f.indE = c.IndicatorID
	steps := []func(){
		stageSubmitted:   func() { h.must(http.StatusOK, empE, "POST", "/v1/skps/"+f.id+"/submit", nil) },
		stageEstablished: func() { h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+f.id+"/establish", nil) },
		stageRated: func() {
			h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
			h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+f.id+"/evaluations/2026",
				RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
		},
		stageIssued: func() { h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+f.id+"/evaluations/2026/issue", nil) },
		stageObjection: func() {
			if s == stageWindowOver {
				return
			}
			h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+f.id+"/evaluations/2026/objection", ObjectionBody{Reasons: "Data belum lengkap"})
		},
		stageRequested: func() {
			for _, from := range []string{"APPRAISER", "EMPLOYEE"} {
				h.must(http.StatusCreated, supS, "POST", "/v1/skps/"+f.id+"/evaluations/2026/objection/explanation-requests", ExplanationRequestBody{From: from})
			}
		},
		stageExplained: func() {
			for _, c := range []caller{apprA, empE} {
				h.must(http.StatusCreated, c, "POST", "/v1/skps/"+f.id+"/evaluations/2026/objection/explanations", ExplanationBody{Text: "Penjelasan"})
			}
		},
		stageWindowOver: func() { h.clock.Advance(20 * 24 * time.Hour) },
	}
	for st := stageSubmitted; st <= s; st++ {
		if s == stageWindowOver && st > stageIssued && st < stageWindowOver {
			continue
		}
		steps[st]()
	}
	return f
}

// setUp brings a new harness to the state of c.
func (h *harness) setUp(c routeCase) fixture {
	h.t.Helper()
	f := h.at(c.stage)
	if prep := casePrep[c.name]; prep != nil {
		prep(h)
	}
	return f
}

// TestRouteCasesCoverEveryMutation keeps mutationCases in step with the
// routes: every mutation route has a case whose valid body succeeds.
func TestRouteCasesCoverEveryMutation(t *testing.T) {
	srv := newHarness(t).srv
	cases := mutationCases()
	seen := map[string]bool{}
	for _, c := range cases {
		seen[routeOf(t, srv, c.method, c.path(fixture{id: "X", rhkE: "R", indE: "I"}))] = true
	}
	for _, r := range mutationRoutes(t, srv) {
		if !seen[r] {
			t.Errorf("no route case for %s", r)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			f := h.setUp(c)
			h.must(c.status, c.who, c.method, c.path(f), c.body(f))
		})
	}
}

// routeOf returns "METHOD template" of the route serving method and path.
func routeOf(t testing.TB, s *Server, method, path string) string {
	t.Helper()
	var m mux.RouteMatch
	if !s.router.Match(httptest.NewRequest(method, path, nil), &m) || m.Route == nil {
		t.Fatalf("no route serves %s %s", method, path)
	}
	tpl, err := m.Route.GetPathTemplate()
	if err != nil {
		t.Fatal(err)
	}
	return method + " " + tpl
}

// mutationRoutes returns "METHOD template" of every route that changes
// something: every method but GET, except the audit verification (a read).
func mutationRoutes(t testing.TB, s *Server) []string {
	t.Helper()
	var out []string
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			// The evidence upload takes a multipart file, not a JSON body:
			// TestEvidenceFiles sends it its adversarial cases.
			// So does the import (TestImports).
			if m != http.MethodGet && tpl != "/v1/audit/verify" && tpl != evidenceFilesPath && tpl != importsPath {
				out = append(out, m+" "+tpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openRound opens round r1 of E's SKP with P and X as peers.
func openRound(h *harness) {
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+nipE+"-2026/feedback-rounds", FeedbackRoundBody{Period: "2026-Q1",
		Invitees: []skp.RoundInvitee{{NIP: nipP, Group: skp.GroupPeer}, {NIP: nipX, Group: skp.GroupPeer}}})
}

// answersBody rates the seven values.
func answersBody() []any {
	var out []any
	for _, v := range berakhlak.Values() {
		out = append(out, map[string]any{"value": string(v), "rating": "SESUAI_EKSPEKTASI", "comment": "Konsisten"})
	}
	return out
}

// preppedAction is the development action the outcome case's preparation
// planned (the route cases run one at a time).
var preppedAction = "X"

// poorQuarter rates E's first quarter BUTUH_PERBAIKAN and issues it.
func poorQuarter(h *harness) {
	h.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+nipE+"-2026/evaluations/2026-Q1",
		RateBody{WorkResult: "DI_BAWAH_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target tidak tercapai"})
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+nipE+"-2026/evaluations/2026-Q1/issue", nil)
}
