package httpapi

// Business time cannot buy authority (issue 9 §3, domain.md §10): each case
// of the issue, through the API, on bbolt and on PostgreSQL.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

func TestBusinessTime(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Run("FormerAppraiser", func(t *testing.T) { formerAppraiser(t, newHarnessOn(t, backend)) })
			t.Run("LateFiling", func(t *testing.T) { lateFiling(t, newHarnessOn(t, backend)) })
			t.Run("EstablishBeforeSubmit", func(t *testing.T) { establishBeforeSubmit(t, newHarnessOn(t, backend)) })
			t.Run("DeliveryDatedBack", func(t *testing.T) { deliveryDatedBack(t, newHarnessOn(t, backend)) })
			t.Run("Acknowledgement", func(t *testing.T) { acknowledgement(t, newHarnessOn(t, backend)) })
			t.Run("MasterDataBackfill", func(t *testing.T) { masterDataBackfill(t, newHarnessOn(t, backend)) })
		})
	}
}

// field reports whether p names field among its errors.
func field(p Problem, name string) bool {
	for _, e := range p.Errors {
		if e.Field == name {
			return true
		}
	}
	return false
}

// A former appraiser, whose reporting line has moved, rates with an
// occurred_at from when they were still the appraiser: 403.
func formerAppraiser(t *testing.T, h *harness) {
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, hr, "PUT", "/v1/employees/"+nipE+"/reporting-line",
		map[string]string{"appraiser_nip": nipT, "appraiser_superior_nip": nipU, "effective_from": "2027-01-08"})
	rate := func(at *time.Time) map[string]any {
		b := map[string]any{"work_result": "SESUAI_EKSPEKTASI", "behaviour": "SESUAI_EKSPEKTASI", "rationale": "Baik"}
		if at != nil {
			b["occurred_at"] = at
		}
		return b
	}
	before := h.streamLen("skp-" + id)
	yesterday := h.clock.Now().Add(-24 * time.Hour)
	h.refused(http.StatusForbidden, "forbidden", &apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate(&yesterday))
	h.refused(http.StatusForbidden, "forbidden", &apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate(nil))
	// Just after midnight WIB, dated a few minutes back into A's last day:
	// within the tolerance, but A no longer holds the right.
	h.clock.Set(time.Date(2027, 1, 8, 0, 3, 0, 0, time.FixedZone("WIB", 7*3600)))
	minutes := h.clock.Now().Add(-5 * time.Minute)
	h.refused(http.StatusForbidden, "forbidden", &apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate(&minutes))
	if n := h.streamLen("skp-" + id); n != before {
		t.Fatalf("refused ratings appended: %d → %d events", before, n)
	}
	// The appraiser in effect rates; dating it back beyond the tolerance
	// within the day T holds the line is 422 (before it, T was no party).
	appT := caller{nipT, nil}
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	back := h.clock.Now().Add(-10*time.Minute - time.Second)
	p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &appT, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate(&back))
	if !field(p, "occurred_at") {
		t.Errorf("problem %+v does not name occurred_at", p)
	}
	h.must(http.StatusOK, appT, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate(nil))
}

// An employee files an objection after the window with filed_at or
// occurred_at inside it: refused, not 201 late:false. Only a clerk's
// backfill from paper records the earlier date.
func lateFiling(t *testing.T, h *harness) {
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.issuedAnnual(id) // 8 January 2027: the window closes on 22 January
	url := "/v1/skps/" + id + "/evaluations/2026/objection"
	h.clock.Set(time.Date(2027, 1, 26, 9, 0, 0, 0, time.UTC))
	inside := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
	before := h.streamLen("skp-" + id)
	p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", url, map[string]any{"reasons": "x", "filed_at": inside})
	if !field(p, "filed_at") {
		t.Errorf("problem %+v does not name filed_at", p)
	}
	p = h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", url, map[string]any{"reasons": "x", "occurred_at": inside})
	if !field(p, "occurred_at") {
		t.Errorf("problem %+v does not name occurred_at", p)
	}
	h.refused(http.StatusForbidden, "forbidden", &empE, "POST", url, map[string]any{"reasons": "x", "filed_at": inside, "paper_ref": "surat saya"})
	h.refused(http.StatusUnprocessableEntity, "objection_window_closed", &empE, "POST", url, map[string]any{"reasons": "x"})
	// A clerk without the paper's reference, or with an empty one: 422.
	p = h.refused(http.StatusUnprocessableEntity, "validation_failed", &clerk, "POST", url, map[string]any{"reasons": "x", "filed_at": inside})
	if !field(p, "filed_at") {
		t.Errorf("problem %+v does not name filed_at", p)
	}
	p = h.refused(http.StatusUnprocessableEntity, "validation_failed", &clerk, "POST", url, map[string]any{"reasons": "x", "filed_at": inside, "paper_ref": ""})
	if !field(p, "paper_ref") {
		t.Errorf("problem %+v does not name paper_ref", p)
	}
	h.refused(http.StatusBadRequest, "invalid_request", &clerk, "POST", url, map[string]any{"reasons": "x", "filed_at": inside, "paper_ref": 17})
	if n := h.streamLen("skp-" + id); n != before {
		t.Fatalf("refused filings appended: %d → %d events", before, n)
	}
	var ob ObjectionResponse
	h.must(http.StatusCreated, clerk, "POST", url, map[string]any{"reasons": "Diajukan tertulis", "filed_at": inside, "paper_ref": "Agenda 17/2026"}).decode(t, &ob)
	if ob.Late || ob.Backfill == nil || ob.Backfill.PaperRef != "Agenda 17/2026" || ob.Backfill.RecordedBy != clerk.sub || ob.Backfill.OnBehalfOf != nipE {
		t.Errorf("backfilled filing = %+v", ob)
	}
	// The audit trail flags it too: the envelope's reason names the paper.
	h.catchUp()
	var trail struct {
		Items []struct {
			Type, Reason string
			Actor        EventActor
		}
	}
	h.must(http.StatusOK, aud, "GET", "/v1/audit?stream=skp-"+id+"&type=skp.objection_filed.v1", nil).decode(t, &trail)
	if len(trail.Items) != 1 || trail.Items[0].Reason != "Entri susulan (backfill) · ref Agenda 17/2026" || trail.Items[0].Actor.NIP != clerk.sub {
		t.Errorf("audit trail of the backfilled filing = %+v", trail.Items)
	}
}

// An establishment dated before the submission it establishes: 422 naming
// the rule.
func establishBeforeSubmit(t *testing.T, h *harness) {
	h.cast()
	_, rhkA := h.establishedA()
	id := skpView(t, h.must(http.StatusCreated, empE, "POST", "/v1/skps", DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})).ID
	var c Created
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Imunisasi", Kind: "UTAMA", IntervenedRHKID: rhkA}).decode(t, &c)
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk/"+c.RHKID+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Puskesmas", Target: TargetBody{Value: 5, Unit: "puskesmas"}})
	h.clock.Advance(time.Hour)
	h.must(http.StatusOK, empE, "POST", "/v1/skps/"+id+"/submit", nil)
	h.clock.Advance(2 * time.Minute)
	p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", "/v1/skps/"+id+"/establish",
		map[string]any{"occurred_at": h.clock.Now().Add(-3 * time.Minute)})
	if !field(p, "occurred_at") || !strings.Contains(p.Errors[0].Message, "submit ≤ establish") {
		t.Errorf("problem %+v does not name the rule", p)
	}
	p = h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", "/v1/skps/"+id+"/establish",
		map[string]any{"occurred_at": h.clock.Now().Add(-48 * time.Hour)})
	if !field(p, "occurred_at") {
		t.Errorf("problem %+v does not name occurred_at", p)
	}
	v := skpView(t, h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/establish", map[string]any{"occurred_at": h.clock.Now().Add(-time.Minute)}))
	if v.Status != skp.StatusEstablished {
		t.Errorf("status = %s", v.Status)
	}
}

// A delivered_at long before the issue no longer makes the evaluation FINAL
// at once; a clerk backfills a paper delivery, flagged.
func deliveryDatedBack(t *testing.T, h *harness) {
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.clock.Set(time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
	h.clock.Set(time.Date(2027, 2, 3, 10, 0, 0, 0, time.UTC))
	url := "/v1/skps/" + id + "/evaluations/2026/issue"
	long := time.Date(2027, 1, 6, 10, 0, 0, 0, time.UTC)
	p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", url, map[string]any{"delivered_at": long})
	if !field(p, "delivered_at") {
		t.Errorf("problem %+v does not name delivered_at", p)
	}
	h.refused(http.StatusForbidden, "forbidden", &apprA, "POST", url, map[string]any{"delivered_at": long, "paper_ref": "BA 1"})
	h.refused(http.StatusForbidden, "forbidden", &clerk, "POST", url, map[string]any{"delivered_at": long})
	p = h.refused(http.StatusUnprocessableEntity, "validation_failed", &clerk, "POST", url, map[string]any{"delivered_at": long, "paper_ref": "BA 1"})
	if !field(p, "on_behalf_of") {
		t.Errorf("problem %+v does not name on_behalf_of", p)
	}
	h.refused(http.StatusForbidden, "forbidden", &clerk, "POST", url, map[string]any{"delivered_at": long, "paper_ref": "BA 1", "on_behalf_of": nipP})
	var ev EvaluationResponse
	h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id+"/evaluations/2026", nil).decode(t, &ev)
	if ev.Status != skp.EvalDraft {
		t.Fatalf("after refused issues: %s, want DRAFT", ev.Status)
	}
	h.must(http.StatusOK, clerk, "POST", url, map[string]any{"delivered_at": long, "paper_ref": "BA penyerahan 800/12", "on_behalf_of": nipA}).decode(t, &ev)
	if ev.DeliveryBackfill == nil || ev.DeliveryBackfill.PaperRef != "BA penyerahan 800/12" || ev.DeliveryBackfill.OnBehalfOf != nipA || ev.AppraiserNIP != nipA ||
		ev.ObjectionDeadline == nil || !ev.ObjectionDeadline.Equal(time.Date(2027, 1, 20, 16, 59, 59, 0, time.UTC)) {
		t.Errorf("backfilled delivery = %+v", ev)
	}
}

// The window runs from the later of the delivery and the employee's
// acknowledgement of receipt.
func acknowledgement(t *testing.T, h *harness) {
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.issuedAnnual(id) // 8 January 2027: deadline 22 January
	url := "/v1/skps/" + id + "/evaluations/2026/acknowledgement"
	h.clock.Set(time.Date(2027, 1, 20, 2, 0, 0, 0, time.UTC))
	h.refused(http.StatusForbidden, "forbidden", &apprA, "POST", url, nil)
	h.refused(http.StatusForbidden, "forbidden", &clerk, "POST", url, nil)
	p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", url, map[string]any{"received_at": h.clock.Now().Add(-time.Hour)})
	if !field(p, "received_at") {
		t.Errorf("problem %+v does not name received_at", p)
	}
	var ev EvaluationResponse
	h.must(http.StatusOK, empE, "POST", url, nil).decode(t, &ev)
	if ev.ReceivedAt == nil || ev.ObjectionDeadline == nil || !ev.ObjectionDeadline.Equal(time.Date(2027, 2, 3, 16, 59, 59, 0, time.UTC)) {
		t.Fatalf("after the receipt of 20 January: %+v", ev)
	}
	h.clock.Set(time.Date(2027, 1, 31, 2, 0, 0, 0, time.UTC))
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/evaluations/2026/objection", ObjectionBody{Reasons: "Bukti belum dinilai"})
}

// Issue 9 §4 through the API: an identifier from the future, and the
// per-SKP limits (here lowered to 1) refuse with 422 naming the field and
// change nothing.
func TestIdentifiersAndLimits(t *testing.T) {
	h := newHarness(t, func(s *settings) {
		s.appConfig.SKPs.Policy.SKPLimits = policy.SKPLimits{RHK: 1, IndicatorsPerRHK: 1, Realisations: 1, Evidence: 1, Feedback: 1}
	})
	h.cast()
	for _, n := range []string{"20000101 203001 1 001", "20000101 2030 21 1 001"} {
		p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &hr, "POST", "/v1/employees",
			CreateEmployeeBody{NIP: n, Name: "Calon", UnitID: "DINKES", Position: PositionBody{Kind: "PELAKSANA", Title: "x"}})
		if !field(p, "nip") {
			t.Errorf("%s: problem %+v does not name nip", n, p)
		}
	}
	_, rhkA := h.establishedA()
	id := skpView(t, h.must(http.StatusCreated, empE, "POST", "/v1/skps", DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})).ID
	var c Created
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Imunisasi", Kind: "UTAMA", IntervenedRHKID: rhkA}).decode(t, &c)
	rhk := c.RHKID
	before := h.streamLen("skp-" + id)
	p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Kedua", Kind: "TAMBAHAN"})
	if !field(p, "rhk") || !strings.Contains(p.Errors[0].Message, "limit_exceeded") {
		t.Errorf("problem %+v does not name the rhk limit", p)
	}
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk/"+rhk+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Puskesmas", Target: TargetBody{Value: 5, Unit: "puskesmas"}})
	p = h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", "/v1/skps/"+id+"/rhk/"+rhk+"/indicators",
		IndicatorBody{Aspect: "KUALITAS", Text: "Kedua", Target: TargetBody{Value: 1, Unit: "x"}})
	if !field(p, "indicators") {
		t.Errorf("problem %+v does not name the indicators limit", p)
	}
	if n := h.streamLen("skp-" + id); n != before+1 {
		t.Errorf("stream grew from %d to %d, want one indicator only", before, n)
	}
}

// Master data cannot buy authority either (issue 9 §3): a reporting line
// effective a year back would make its appraiser the appraiser of that
// past. An effective date before today is HR_ADMIN's backfill with the
// decree's paper_ref, within the maximum age; the backfill is recorded in
// the event, its envelope (the audit trail) and the employee's view.
func masterDataBackfill(t *testing.T, h *harness) {
	h.cast()
	stream := domain.EmployeeStream(nipE)
	h.clock.Set(time.Date(2026, 6, 10, 10, 0, 0, 0, policy.WIB))
	line := func(from string, paper ...string) map[string]any {
		b := map[string]any{"appraiser_nip": nipT, "appraiser_superior_nip": nipU, "effective_from": from}
		if len(paper) > 0 {
			b["paper_ref"] = paper[0]
		}
		return b
	}
	lineURL := "/v1/employees/" + nipE + "/reporting-line"
	before := h.streamLen(stream)
	for _, c := range []struct {
		name   string
		who    caller
		body   map[string]any
		status int
		field  string
	}{
		{"a year back without paper: the retroactive appraiser", hr, line("2025-06-10"), 422, "paper_ref"},
		{"a year back with paper: beyond the max age", hr, line("2025-06-10", "SK 800/1/2025"), 422, "effective_from"},
		{"91 days back with paper", hr, line("2026-03-10", "SK 800/1/2026"), 422, "effective_from"},
		{"yesterday without paper", hr, line("2026-06-09"), 422, "paper_ref"},
		{"paper on today's date", hr, line("2026-06-10", "SK 800/2/2026"), 422, "paper_ref"},
		{"367 days ahead", hr, line("2027-06-12"), 422, "effective_from"},
		{"paper with NUL", hr, line("2026-06-01", "SK\u0000 1"), 422, "paper_ref"},
		{"paper with a bidi override", hr, line("2026-06-01", "SK 1\u202e2"), 422, "paper_ref"},
		{"paper over 200 bytes", hr, line("2026-06-01", strings.Repeat("x", 201)), 422, "paper_ref"},
		{"a grievance clerk's backfill", clerk, line("2026-06-01", "SK 800/3/2026"), 403, ""},
		{"an auditor's", aud, line("2026-06-01", "SK 800/3/2026"), 403, ""},
		{"the appraiser's own", apprA, line("2026-06-01", "SK 800/3/2026"), 403, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			code := map[int]string{403: "forbidden", 422: "validation_failed"}[c.status]
			p := h.refused(c.status, code, &c.who, "PUT", lineURL, c.body)
			if c.field != "" && !field(p, c.field) {
				t.Errorf("problem %+v does not name %s", p, c.field)
			}
		})
	}
	h.t = t
	if n := h.streamLen(stream); n != before {
		t.Fatalf("refused backfills appended %d events", n-before)
	}
	// The backfill within the max age: recorded, flagged, once.
	var v employee.View
	h.must(http.StatusOK, hr, "PUT", lineURL, line("2026-06-01", "SK 800/55/2026")).decode(t, &v)
	last := v.ReportingLines[len(v.ReportingLines)-1]
	if last.Backfill == nil || last.Backfill.PaperRef != "SK 800/55/2026" || last.Backfill.RecordedBy != hr.sub || last.Appraiser != nipT {
		t.Fatalf("the backfilled line = %+v", last)
	}
	h.must(http.StatusOK, hr, "PUT", lineURL, line("2026-06-01", "SK 800/55/2026"))
	if n := h.streamLen(stream); n != before+1 {
		t.Errorf("the backfill and its repetition appended %d events, want 1", n-before)
	}
	var ev eventstore.Event
	for e, err := range h.store.ReadStream(h.ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		ev = e
	}
	if ev.Type != "employee.reporting_line_assigned.v1" || ev.SchemaVersion != 2 || !strings.Contains(string(ev.Data), `"backfill":{"paper_ref":"SK 800/55/2026","recorded_by":"hr-admin"}`) ||
		!strings.Contains(ev.Reason, "SK 800/55/2026") {
		t.Errorf("stored %s v%d reason %q: %s", ev.Type, ev.SchemaVersion, ev.Reason, ev.Data)
	}
	// An ordinary line from today and one a year ahead: no paper, no flag.
	h.must(http.StatusOK, hr, "PUT", lineURL, line("2026-06-10")).decode(t, &v)
	if l := v.ReportingLines[len(v.ReportingLines)-1]; l.Backfill != nil {
		t.Errorf("today's line is flagged %+v", l.Backfill)
	}
	h.must(http.StatusOK, hr, "PUT", lineURL, line("2027-06-10"))

	// The post and the unit head obey the same rule.
	pos := func(paper ...string) PositionChangeBody {
		b := PositionChangeBody{Position: PositionBody{Kind: "PELAKSANA", Title: "Pengelola Data"}, UnitID: "PEMKOT", EffectiveFrom: mustDate("2026-05-01")}
		if len(paper) > 0 {
			b.PaperRef = &paper[0]
		}
		return b
	}
	if p := h.refused(422, "validation_failed", &hr, "PUT", "/v1/employees/"+nipE+"/position", pos()); !field(p, "paper_ref") {
		t.Errorf("a backdated post without paper: %+v", p)
	}
	h.must(http.StatusOK, hr, "PUT", "/v1/employees/"+nipE+"/position", pos("SK 821/9/2026"))
	head := func(paper ...string) AssignHeadBody {
		b := AssignHeadBody{HeadNIP: nipA, EffectiveFrom: mustDate("2026-05-01")}
		if len(paper) > 0 {
			b.PaperRef = &paper[0]
		}
		return b
	}
	if p := h.refused(422, "validation_failed", &hr, "PUT", "/v1/units/DINKES/head", head()); !field(p, "paper_ref") {
		t.Errorf("a backdated head without paper: %+v", p)
	}
	h.refused(403, "forbidden", &clerk, "PUT", "/v1/units/DINKES/head", head("SK 821.2/5/2026"))
	var u struct {
		Head         string `json:"head_nip"`
		HeadBackfill *struct {
			PaperRef string `json:"paper_ref"`
		} `json:"head_backfill"`
	}
	h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/head", head("SK 821.2/5/2026")).decode(t, &u)
	if u.Head != nipA || u.HeadBackfill == nil || u.HeadBackfill.PaperRef != "SK 821.2/5/2026" {
		t.Errorf("the unit after the head's backfill: %+v", u)
	}
}
