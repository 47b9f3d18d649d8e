package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// verify --url and projections status --url ask a running kinerjad with
// the caller's token, and report what it answers.
func TestCommandsAskARunningKinerjad(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"code":"unauthenticated"}`, http.StatusUnauthorized)
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/audit/verify":
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "checked": 7, "size": 6, "checkpoints": 1})
		case "GET /v1/ops/projections":
			json.NewEncoder(w).Encode(map[string]any{"items": []map[string]any{{"name": "skps", "checkpoint": 5, "dead_letters": 2}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if out := mustCtl(t, "verify", "--url", srv.URL+"/", "--token", "tok"); !strings.Contains(out, `"checked": 7`) {
		t.Errorf("verify --url printed %s", out)
	}
	var rows []statusRow
	if err := json.Unmarshal([]byte(mustCtl(t, "projections", "status", "--url", srv.URL, "--token", "tok")), &rows); err != nil ||
		len(rows) != 1 || rows[0].Name != "skps" || rows[0].DeadLetters != 2 {
		t.Errorf("projections status --url = %+v, %v", rows, err)
	}
	if _, err := ctl(t, "verify", "--url", srv.URL, "--token", "wrong"); err == nil || !strings.Contains(err.Error(), "kinerjad answered 401") {
		t.Errorf("verify --url with a bad token: %v, want kinerjad's 401", err)
	}
}

// export --url asks GET /v1/audit/bundle of a running kinerjad and writes
// what it answers; its refusals are the command's errors.
func TestExportAsksARunningKinerjad(t *testing.T) {
	var asked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.Method + " " + r.URL.RequestURI()
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"code":"unauthenticated"}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"format": "kinerja-appeal-bundle/v1", "subject": "NIP 198211102004061444, year 2025",
			"streams": []map[string]any{{"stream": "employee-198211102004061444", "events": []map[string]any{{"type": "employee.registered.v1"}}}}})
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "bundle.json")
	mustCtl(t, "export", "--url", srv.URL, "--token", "tok", "--nip", "19821110 200406 1 444", "--year", "2025", "--out", out)
	if asked != "GET /v1/audit/bundle?nip=198211102004061444&year=2025" {
		t.Errorf("export --url asked %q", asked)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "employee.registered.v1") {
		t.Errorf("export --url wrote %s", b)
	}
	if _, err := ctl(t, "export", "--url", srv.URL, "--token", "bad", "--nip", "198211102004061444", "--year", "2025"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("export --url with a bad token: %v", err)
	}
}

// export --url passes --reason (a bundle with 360° answers needs one and
// is recorded as a disclosure by kinerjad); from the store, a bundle with
// 360° answers is refused, naming the round, since nothing would record
// the disclosure.
func TestExportOf360AnswersIsADisclosure(t *testing.T) {
	var asked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.RequestURI()
		json.NewEncoder(w).Encode(map[string]any{"format": "kinerja-appeal-bundle/v1"})
	}))
	defer srv.Close()
	mustCtl(t, "export", "--url", srv.URL, "--token", "tok", "--nip", "198211102004061444", "--year", "2025", "--reason", "Banding 7/2026",
		"--out", filepath.Join(t.TempDir(), "b.json"))
	if asked != "/v1/audit/bundle?nip=198211102004061444&reason=Banding+7%2F2026&year=2025" {
		t.Errorf("export --url --reason asked %q", asked)
	}
	answered := audit.Bundle{Streams: []audit.BundleStream{{Stream: "employee-198211102004061444"},
		{Stream: "skp-198211102004061444-2025-1", Events: []audit.BundleEvent{{Type: "skp.drafted.v1", Data: []byte(`{}`)},
			{Type: "skp.feedback_round_answered.v1", Data: []byte(`{"round_id":"r2","answers":[]}`)}}}}}
	if err := refuseUndisclosed(answered); err == nil || !strings.Contains(err.Error(), "198211102004061444-2025-1/r2") || !strings.Contains(err.Error(), "--reason") {
		t.Errorf("a store bundle with answers: %v", err)
	}
	answered.Streams[1].Events = answered.Streams[1].Events[:1]
	if err := refuseUndisclosed(answered); err != nil {
		t.Errorf("a store bundle without answers: %v", err)
	}
}
