package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// accessLine is one line of the access log.
type accessLine struct {
	Level      string   `json:"level"`
	Msg        string   `json:"msg"`
	RequestID  string   `json:"request_id"`
	Method     string   `json:"method"`
	Route      string   `json:"route"`
	Status     int      `json:"status"`
	DurationMS *float64 `json:"duration_ms"`
	Subject    string   `json:"subject"`
	Code       string   `json:"code"`
}

// accessLines returns the access-log lines in logs.
func accessLines(t *testing.T, logs string) []accessLine {
	t.Helper()
	var out []accessLine
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var a accessLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("log line %s: %v", l, err)
		}
		if a.Msg == "request" {
			out = append(out, a)
		}
	}
	return out
}

// Every request has one access-log line with its request ID, method,
// route template, status, duration, subject and, for an error, the code;
// never the raw path, a token or a body.
func TestAccessLog(t *testing.T) {
	h := newHarness(t)
	h.cast()
	before := len(accessLines(t, h.logs.String()))
	type call struct {
		who            *caller
		method, path   string
		body           any
		route, subject string
		status         int
		code           string
	}
	calls := []call{
		{&hr, "GET", "/v1/employees/" + nipE, nil, "/v1/employees/{nip}", hr.sub, 200, ""},
		{&outX, "GET", "/v1/employees/" + nipE + "/timeline", nil, "/v1/employees/{nip}/timeline", nipX, 404, "not_found"},
		{&hr, "POST", "/v1/units", CreateUnitBody{ID: "RAHASIA", Name: "Biro Nama Rahasia", ParentID: "PEMKOT"}, "/v1/units", hr.sub, 201, ""},
		{&hr, "POST", "/v1/units", `{"id":"X","name":"Tanpa\u0000Nama"}`, "/v1/units", hr.sub, 422, "validation_failed"},
		{nil, "GET", "/v1/skps/" + nipE + "-2026", nil, "/v1/skps/{id}", "", 401, "unauthenticated"},
		{&hr, "GET", "/v1/no/" + nipE, nil, "unmatched", "", 404, "not_found"}, // no route: answered before authentication
		{nil, "GET", "/healthz", nil, "/healthz", "", 200, ""},
	}
	var ids []string
	for _, c := range calls {
		r := h.request(c.who, c.method, c.path, c.body, "X-Request-ID", "")
		if r.status != c.status {
			t.Fatalf("%s %s = %d %s", c.method, c.path, r.status, r.body)
		}
		ids = append(ids, r.header.Get("X-Request-ID"))
	}
	logs := h.logs.String()
	lines := accessLines(t, logs)[before:]
	if len(lines) != len(calls) {
		t.Fatalf("%d access-log lines for %d requests:\n%s", len(lines), len(calls), logs)
	}
	for i, c := range calls {
		l := lines[i]
		if l.Level != "INFO" || l.RequestID != ids[i] || l.Method != c.method || l.Route != c.route || l.Status != c.status ||
			l.DurationMS == nil || *l.DurationMS < 0 || l.Subject != c.subject || l.Code != c.code {
			t.Errorf("%s %s: access line %+v, want route %s, status %d, subject %q, code %q", c.method, c.path, l, c.route, c.status, c.subject, c.code)
		}
	}
	for i, l := range strings.Split(logs, "\n") {
		if i < before || !strings.Contains(l, `"msg":"request"`) {
			continue
		}
		for _, leak := range []string{"/v1/employees/" + nipE, "-2026", "Rahasia", "Tanpa", "Bearer", "eyJ"} {
			if strings.Contains(l, leak) {
				t.Errorf("access line holds %q: %s", leak, l)
			}
		}
	}
}

// AccessLog serves other handlers too (kinerjad wraps the dashboard), with
// the route it is given.
func TestAccessLogWrapsOtherHandlers(t *testing.T) {
	var buf bytes.Buffer
	h := AccessLog(slog.New(slog.NewJSONHandler(&buf, nil)), "dashboard", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requestID(r) == "" {
			t.Error("no request ID for the wrapped handler")
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/pegawai/"+nipE+"?q=rahasia", nil))
	lines := accessLines(t, buf.String())
	if len(lines) != 1 || lines[0].Route != "dashboard" || lines[0].Status != http.StatusTeapot || lines[0].RequestID != rec.Header().Get("X-Request-ID") ||
		strings.Contains(buf.String(), nipE) || strings.Contains(buf.String(), "rahasia") {
		t.Errorf("access log = %s", buf.String())
	}
}

// PUT …/feedback-rounds/{round}/answer is logged without its caller (the
// giver), whether it is recorded or refused, and so is the GET of one's
// invitation (its timing next to an answer would name the giver); other
// routes keep theirs.
func TestAccessLogLeavesOutTheGiver(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	base := "/v1/skps/" + id + "/feedback-rounds"
	h.must(http.StatusCreated, apprA, "POST", base, FeedbackRoundBody{Period: "2026", Invitees: []skp.RoundInvitee{{NIP: nipP, Group: skp.GroupPeer}}})
	before := len(accessLines(t, h.logs.String()))
	h.must(http.StatusOK, peerP, "PUT", base+"/r1/answer", answers("Rapi"))
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &peerP, "PUT", base+"/r1/answer", `{"answers":[]}`)
	h.must(http.StatusOK, peerP, "GET", base+"/r1/answer", nil)
	h.must(http.StatusOK, peerP, "GET", "/v1/employees/"+nipP, nil)
	lines := accessLines(t, h.logs.String())[before:]
	if len(lines) != 4 || lines[0].Subject != "REDACTED" || lines[1].Subject != "REDACTED" || lines[2].Subject != "REDACTED" || lines[3].Subject != nipP {
		t.Fatalf("access lines %+v", lines)
	}
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "/answer") && strings.Contains(l, nipP) {
			t.Errorf("a log line of an answer names the giver: %s", l)
		}
	}
}
