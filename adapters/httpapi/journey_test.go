package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// TestJourney walks the whole journey of issue 5 through the handler:
// master data, an SKP cascaded from the appraiser's, execution, quarterly
// and annual ratings, a revision, issue, an objection decided CHANGED,
// then time travel, score history, events, audit and reports.
func TestJourney(t *testing.T) {
	h := newHarness(t)
	h.cast()

	// Master data as the API shows it.
	var unit UnitResponse
	h.must(http.StatusOK, empE, "GET", "/v1/units/PEMKOT", nil).decode(t, &unit)
	if len(unit.Children) != 2 || unit.Children[0].ID != "BAPPEDA" || unit.Children[1].ID != "DINKES" {
		t.Errorf("PEMKOT children = %+v, want BAPPEDA and DINKES", unit.Children)
	}
	var emp employee.View
	h.must(http.StatusOK, apprA, "GET", "/v1/employees/19900101.201503.1.001", nil).decode(t, &emp)
	if emp.NIP != nipE || emp.ReportingLine == nil || emp.ReportingLine.Appraiser != nipA || emp.ASNType != "PNS" || emp.Sex != "LAKI_LAKI" ||
		emp.BirthDate.String() != "1990-01-01" {
		t.Errorf("employee = %+v", emp)
	}

	skpA, rhkA := h.establishedA()
	id, rhkE, indE := h.establishedE(rhkA)
	if id != nipE+"-2026" {
		t.Fatalf("SKP id = %s", id)
	}
	v := skpView(t, h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id, nil))
	if v.Status != skp.StatusEstablished || v.Version != 1 || v.Late || v.AppraiserNIP != nipA || len(v.Plan) != 1 ||
		v.Plan[0].IntervenedRHKID != rhkA || v.Plan[0].IntervenedSKPID != skpA {
		t.Fatalf("established SKP = %+v", v)
	}

	// Execution: realisation, evidence, feedback from the appraiser and a
	// colleague.
	h.clock.Advance(80 * 24 * time.Hour) // late March
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: indE, Value: 2, Narrative: "2 puskesmas"})
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/evidence", EvidenceBody{IndicatorID: indE, URI: "https://files.example/laporan.pdf",
		SHA256: strings.Repeat("ab", 32), Filename: "laporan.pdf", MediaType: "application/pdf", Size: 1024})
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/feedback", FeedbackBody{About: FeedbackAboutBody{RHKID: rhkE}, Text: "Bagus, lanjutkan"})
	h.must(http.StatusCreated, peerP, "POST", "/v1/skps/"+id+"/feedback", FeedbackBody{About: FeedbackAboutBody{Behaviour: "KOLABORATIF"}, Text: "Kerja sama baik"})

	// Quarterly rating and issue (periodic: final at once), once the
	// quarter has ended.
	h.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC))
	var rr RatingResponse
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026-Q1",
		RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "Sesuai rencana"}).decode(t, &rr)
	if rr.Predikat != rating.Derive(rating.MeetsExpectation, rating.AboveExpectation) || rr.Period != "2026-Q1" {
		t.Errorf("Q1 rating = %+v", rr)
	}
	var ev EvaluationResponse
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026-Q1/issue", nil).decode(t, &ev)
	if ev.Status != skp.EvalFinal {
		t.Errorf("issued Q1 status = %s, want FINAL", ev.Status)
	}

	// Annual rating, then a revision with a reason, dated
	// a few minutes after it occurred.
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026",
		RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target tercapai"})
	t1 := h.clock.Now()
	h.clock.Advance(24 * time.Hour)
	occurred := h.clock.Now().Add(-6 * time.Minute) // within the backdating tolerance
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026",
		map[string]any{"work_result": "DI_BAWAH_EKSPEKTASI", "behaviour": "SESUAI_EKSPEKTASI", "rationale": "Satu puskesmas tertinggal",
			"reason": "Data realisasi Q4 dikoreksi", "occurred_at": occurred})
	t2 := h.clock.Now()
	h.clock.Advance(24 * time.Hour)

	// Issue, objection, explanations from both parties, decision.
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026/issue", nil)
	h.clock.Advance(3 * 24 * time.Hour)
	var ob ObjectionResponse
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/evaluations/2026/objection", ObjectionBody{Reasons: "Data Q4 belum lengkap saat dinilai"}).decode(t, &ob)
	if ob.Status != skp.OpenObjection || ob.AddressedTo != nipS {
		t.Fatalf("objection = %+v", ob)
	}
	h.must(http.StatusCreated, supS, "POST", "/v1/skps/"+id+"/evaluations/2026/objection/explanation-requests", ExplanationRequestBody{From: "APPRAISER"})
	h.must(http.StatusCreated, supS, "POST", "/v1/skps/"+id+"/evaluations/2026/objection/explanation-requests", ExplanationRequestBody{From: "EMPLOYEE"})
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026/objection/explanations", ExplanationBody{Text: "Data Q4 terlambat"})
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/evaluations/2026/objection/explanations", ExplanationBody{Text: "Bukti terlampir"})
	h.clock.Advance(24 * time.Hour)
	h.must(http.StatusOK, supS, "POST", "/v1/skps/"+id+"/evaluations/2026/objection/decision",
		DecisionBody{Outcome: "CHANGED", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", DecisionText: "Bukti Q4 diterima"}).decode(t, &ev)
	if ev.Status != skp.EvalFinal || ev.WorkResult != rating.MeetsExpectation || ev.Behaviour != rating.AboveExpectation ||
		ev.Objection == nil || ev.Objection.Decision == nil {
		t.Fatalf("decided evaluation = %+v", ev)
	}

	// as_of at three moments: after the first annual rating, after the
	// revision, and now.
	annual := func(v skp.View) skp.EvaluationView {
		t.Helper()
		for _, e := range v.Evaluations {
			if e.Period == "2026" {
				return e
			}
		}
		t.Fatalf("no annual evaluation in %+v", v.Evaluations)
		return skp.EvaluationView{}
	}
	at := func(tm time.Time) skp.View {
		return skpView(t, h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id+"?as_of="+url.QueryEscape(tm.Format(time.RFC3339Nano)), nil))
	}
	e1, e2, e3 := annual(at(t1)), annual(at(t2)), annual(skpView(t, h.must(http.StatusOK, aud, "GET", "/v1/skps/"+id, nil)))
	if e1.WorkResult != rating.MeetsExpectation || e1.Predikat != rating.Baik || e1.Status != skp.EvalDraft {
		t.Errorf("as of t1 = %s/%s %s %s, want SESUAI/SESUAI BAIK DRAFT", e1.WorkResult, e1.Behaviour, e1.Predikat, e1.Status)
	}
	if e2.WorkResult != rating.BelowExpectation || e2.Predikat != rating.Derive(rating.BelowExpectation, rating.MeetsExpectation) {
		t.Errorf("as of t2 = %s/%s %s, want DI_BAWAH/SESUAI", e2.WorkResult, e2.Behaviour, e2.Predikat)
	}
	if e3.Predikat != rating.Derive(rating.MeetsExpectation, rating.AboveExpectation) || e3.Predikat == e2.Predikat {
		t.Errorf("now = %s, want the decision's predikat", e3.Predikat)
	}
	// revision: the SKP after its first event is a draft.
	if v := skpView(t, h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id+"?revision=0", nil)); v.Status != skp.StatusDraft || v.Revision != 0 {
		t.Errorf("revision 0 = %s @%d", v.Status, v.Revision)
	}
	// An ETag that matches answers 304 for a view fixed in time; the
	// current view depends on the time too, so it is always sent.
	cur := skpView(t, h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id, nil))
	if r := h.request(&empE, "GET", "/v1/skps/"+id+"?revision=0", nil, "If-None-Match", etag(0)); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match revision=0 = %d, want 304", r.status)
	}
	if r := h.request(&empE, "GET", "/v1/skps/"+id, nil, "If-None-Match", etag(cur.Revision)); r.status != http.StatusOK {
		t.Errorf("If-None-Match current = %d, want 200", r.status)
	}

	// Score history with previous values and sources.
	var sh ScoreHistory
	h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id+"/score-history", nil).decode(t, &sh)
	var annualEntries []skp.ScoreEntry
	for _, e := range sh.Items {
		if e.Period == "2026" {
			annualEntries = append(annualEntries, e)
		}
	}
	if len(annualEntries) != 3 {
		t.Fatalf("annual score history = %+v, want 3 entries", annualEntries)
	}
	if annualEntries[0].Previous != nil || annualEntries[1].Previous == nil || annualEntries[1].Previous.WorkResult != rating.MeetsExpectation ||
		annualEntries[1].Reason != "Data realisasi Q4 dikoreksi" || annualEntries[1].Source != skp.SourceAppraiser ||
		!annualEntries[1].OccurredAt.Equal(occurred.UTC().Truncate(time.Microsecond)) ||
		annualEntries[2].Source != skp.SourceObjection || annualEntries[2].Previous.WorkResult != rating.BelowExpectation ||
		!annualEntries[0].Superseded || annualEntries[2].Superseded {
		t.Errorf("annual score history = %+v", annualEntries)
	}

	// Events: every one, in order, with a hash chain that verifies.
	var evs EventList
	h.must(http.StatusOK, aud, "GET", "/v1/skps/"+id+"/events", nil).decode(t, &evs)
	if len(evs.Items) != h.streamLen("skp-"+id) || len(evs.Items) < 20 {
		t.Fatalf("events = %d, stream has %d", len(evs.Items), h.streamLen("skp-"+id))
	}
	chain := eventstore.NewVerifier()
	for i, e := range evs.Items {
		if e.Revision != uint64(i) || e.Position == 0 || len(e.Hash) != 64 || e.Actor.NIP == "" || e.Actor.Role == "" || len(e.Data) == 0 {
			t.Fatalf("event %d = %+v", i, e)
		}
		var stored eventstore.Event
		for se, err := range h.store.ReadStream(h.ctx, "skp-"+id, eventstore.ReadStreamOptions{From: e.Revision, Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			stored = se
		}
		if hex.EncodeToString(stored.Hash[:]) != e.Hash || string(stored.Data) != string(e.Data) {
			t.Fatalf("event %d differs from the store", i)
		}
		if err := chain.Check(stored); err != nil {
			t.Fatalf("chain: %v", err)
		}
	}
	if evs.Items[0].Type != "skp.drafted.v1" || evs.Items[0].Actor.NIP != nipE || evs.Items[0].Actor.Role != "EMPLOYEE" {
		t.Errorf("first event = %+v", evs.Items[0])
	}

	// Lists: HR sees every SKP, E the ones E is a party to, X none.
	var page SKPPage
	h.must(http.StatusOK, hr, "GET", "/v1/skps?year=2026", nil).decode(t, &page)
	if len(page.Items) != 2 {
		t.Errorf("HR list = %d items, want 2", len(page.Items))
	}
	h.must(http.StatusOK, empE, "GET", "/v1/skps", nil).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != id {
		t.Errorf("E's list = %+v", page.Items)
	}
	r := h.must(http.StatusOK, outX, "GET", "/v1/skps?unit=DINKES", nil)
	r.decode(t, &page)
	if len(page.Items) != 0 || r.header.Get(PositionHeader) == "" {
		t.Errorf("X's list = %+v (position %q)", page.Items, r.header.Get(PositionHeader))
	}
	h.must(http.StatusOK, hr, "GET", "/v1/skps?limit=1", nil).decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor == nil {
		t.Fatalf("first page = %+v", page)
	}
	var page2 SKPPage
	h.must(http.StatusOK, hr, "GET", "/v1/skps?limit=1&cursor="+url.QueryEscape(*page.NextCursor), nil).decode(t, &page2)
	if len(page2.Items) != 1 || page2.Items[0].ID == page.Items[0].ID {
		t.Errorf("second page = %+v", page2)
	}

	// The employee timeline and score history (read models).
	var tl TimelinePage
	h.must(http.StatusOK, empE, "GET", "/v1/employees/"+nipE+"/timeline?limit=5", nil).decode(t, &tl)
	if len(tl.Items) != 5 || tl.Next == nil {
		t.Errorf("timeline = %d items, next %v", len(tl.Items), tl.Next)
	}
	var es EmployeeScores
	h.must(http.StatusOK, aud, "GET", "/v1/employees/"+nipE+"/score-history", nil).decode(t, &es)
	if len(es.Items) != 4 {
		t.Errorf("employee score history = %d entries, want 4", len(es.Items))
	}
	var reg ObjectionList
	h.must(http.StatusOK, clerk, "GET", "/v1/objections?unit=PEMKOT", nil).decode(t, &reg)
	if len(reg.Items) != 1 || reg.Items[0].Outcome != "CHANGED" {
		t.Errorf("objection register = %+v", reg.Items)
	}

	// Audit: a signed checkpoint, the trail, an inclusion proof that
	// verifies against the checkpoint, and a clean verification.
	cp := h.sign()
	var gotCP audit.Checkpoint
	h.must(http.StatusOK, aud, "GET", "/v1/audit/checkpoint", nil).decode(t, &gotCP)
	if gotCP.Size != cp.Size || gotCP.RootHash != cp.RootHash || gotCP.Signature == "" {
		t.Errorf("checkpoint = %+v, want %+v", gotCP, cp)
	}
	if err := audit.OpenCheckpoint(gotCP, h.vkey); err != nil {
		t.Errorf("checkpoint does not verify: %v", err)
	}
	var trail AuditPage
	h.must(http.StatusOK, aud, "GET", "/v1/audit?stream=skp-"+id+"&limit=3", nil).decode(t, &trail)
	if len(trail.Items) != 3 || trail.Next == nil || trail.Items[0].Stream != "skp-"+id || trail.Items[0].Actor.NIP != nipE {
		t.Fatalf("audit page = %+v", trail)
	}
	var more AuditPage
	h.must(http.StatusOK, aud, "GET", "/v1/audit?stream=skp-"+id+"&limit=3&after="+itoa(*trail.Next), nil).decode(t, &more)
	if len(more.Items) != 3 || more.Items[0].Seq <= trail.Items[2].Seq {
		t.Errorf("next audit page = %+v", more)
	}
	seq := trail.Items[1].Seq
	var proof InclusionProof
	h.must(http.StatusOK, aud, "GET", "/v1/audit/proof?seq="+itoa(seq), nil).decode(t, &proof)
	if proof.Size != cp.Size || proof.RootHash != cp.RootHash || proof.LeafHash != trail.Items[1].LeafHash || proof.Checkpoint == nil {
		t.Fatalf("proof = %+v", proof)
	}
	if err := merkle.VerifyInclusion(proof.LeafHash, proof.Seq, proof.Size, proof.Proof, cp.RootHash); err != nil {
		t.Errorf("inclusion proof does not verify: %v", err)
	}
	var small InclusionProof
	h.must(http.StatusOK, aud, "GET", "/v1/audit/proof?seq=0&size=5", nil).decode(t, &small)
	if small.Size != 5 || small.Checkpoint != nil || len(small.Proof) != 3 {
		t.Errorf("proof in a smaller tree = %+v", small)
	}
	var rep audit.Report
	h.must(http.StatusOK, aud, "POST", "/v1/audit/verify", nil).decode(t, &rep)
	if !rep.OK || rep.Checked == 0 || rep.Checkpoints != 1 || len(rep.Problems) != 0 {
		t.Errorf("verify = %+v", rep)
	}
	// The appeal bundle of the employee's year verifies offline against the
	// checkpoint key, and holds their SKP; bad requests change nothing.
	var bundle audit.Bundle
	h.must(http.StatusOK, aud, "GET", "/v1/audit/bundle?nip="+nipE+"&year=2026", nil).decode(t, &bundle)
	if br := audit.VerifyBundle(bundle, h.vkey); !br.OK || !br.Trusted || br.Proven == 0 || len(bundle.Streams) != 2 || bundle.Streams[1].Stream != "skp-"+id {
		t.Errorf("bundle: %d streams, report %+v", len(bundle.Streams), br)
	}
	for _, bad := range []struct {
		path   string
		who    caller
		status int
	}{
		{"/v1/audit/bundle?nip=" + nipE + "&year=2026", analyst, 403},
		{"/v1/audit/bundle?nip=" + nipE + "&year=2026", empE, 403},
		{"/v1/audit/bundle?year=2026", aud, 400},
		{"/v1/audit/bundle?nip=" + nipE, aud, 400},
		{"/v1/audit/bundle?nip=" + nipE + "&year=99999", aud, 400},
		{"/v1/audit/bundle?nip=" + nipE + "&year=twenty", aud, 400},
		{"/v1/audit/bundle?nip=12345&year=2026", aud, 400},
		{"/v1/audit/bundle?nip=%00&year=2026", aud, 400},
		{"/v1/audit/bundle?nip=199001012015031999&year=2026", aud, 404},
	} {
		h.must(bad.status, bad.who, "GET", bad.path, nil)
	}

	// Reports in the three formats.
	r = h.must(http.StatusOK, analyst, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026", nil)
	if r.header.Get(PositionHeader) == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("progress headers = %v", r.header)
	}
	var progress struct {
		Total struct {
			SKPs     int            `json:"skps"`
			ByStatus map[string]int `json:"by_status"`
			Missing  int            `json:"missing"`
		} `json:"total"`
	}
	r.decode(t, &progress)
	if progress.Total.SKPs != 2 || progress.Total.ByStatus["ESTABLISHED"] != 2 || progress.Total.Missing != 5 {
		t.Errorf("progress = %+v", progress)
	}
	r = h.must(http.StatusOK, analyst, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&sep=,&codes=1", nil, "Accept", "text/csv")
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || len(rows) != 4 || rows[0][0] != "unit_id" || r.header.Get(PositionHeader) == "" {
		t.Errorf("progress CSV = %q, %v (%v)", r.body, err, r.header)
	}
	// For people by default: Indonesian headers, ';' behind a byte-order
	// mark.
	r = h.must(http.StatusOK, analyst, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&format=csv", nil)
	if !bytes.HasPrefix(r.body, []byte("\uFEFFKode unit;Nama unit;")) {
		t.Errorf("default progress CSV = %q", r.body)
	}
	for _, q := range []string{"&sep=|", "&codes=2", "&lang=fr"} {
		if r := h.request(&analyst, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&format=csv"+q, nil); r.status != http.StatusBadRequest {
			t.Errorf("progress CSV with %s = %d, want 400", q, r.status)
		}
	}
	r = h.must(http.StatusOK, hr, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&format=xlsx&codes=1", nil)
	f, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("progress XLSX: %v", err)
	}
	xrows, err := f.GetRows(f.GetSheetName(0))
	if err != nil || len(xrows) != 4 || xrows[0][0] != "unit_id" || !slices.Contains(xrows[1], "Pemerintah Kota") {
		t.Errorf("progress XLSX rows = %v, %v", xrows, err)
	}
	f.Close()
	var dist struct {
		Counts map[string]int `json:"counts"`
	}
	h.must(http.StatusOK, aud, "GET", "/v1/reports/distribution?unit=PEMKOT&period=2026", nil).decode(t, &dist)
	if dist.Counts[string(rating.Derive(rating.MeetsExpectation, rating.AboveExpectation))] != 1 {
		t.Errorf("distribution counts = %v", dist.Counts)
	}
	r = h.must(http.StatusOK, hr, "GET", "/v1/reports/objections?unit=DINKES&format=csv&codes=1&sep=,", nil)
	if rows, _ := csv.NewReader(bytes.NewReader(r.body)).ReadAll(); len(rows) != 2 || rows[1][slices.Index(rows[0], "outcome")] != "CHANGED" {
		t.Errorf("objections CSV = %q", r.body)
	}
	var evl EvaluationList
	h.must(http.StatusOK, analyst, "GET", "/v1/evaluations?unit=PEMKOT&period=2026-Q1", nil).decode(t, &evl)
	if len(evl.Items) != 1 || evl.Items[0].Status != "FINAL" {
		t.Errorf("evaluations = %+v", evl.Items)
	}

	// Operations.
	if r := h.request(nil, "GET", "/healthz", nil); r.status != http.StatusOK {
		t.Errorf("healthz = %d", r.status)
	}
	if r := h.request(nil, "GET", "/readyz", nil); r.status != http.StatusOK {
		t.Errorf("readyz = %d", r.status)
	}
	if r := h.request(nil, "GET", "/metrics", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `kinerja_http_requests_total{method="PUT",route="/v1/skps/{id}/evaluations/{period}",status="200"}`) {
		t.Errorf("metrics = %d %.300s", r.status, r.body)
	}
	// Nothing personal in the logs: no names, no tokens, no bodies.
	logs := h.logs.String()
	for _, leak := range []string{"Pegawai 1990", "Bearer", "eyJ", "Bukti Q4", "puskesmas"} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
