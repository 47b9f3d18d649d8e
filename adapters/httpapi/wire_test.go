package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestOverTheWire runs a few calls through a real listener and client.
func TestOverTheWire(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	call := func(method, path, body string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+h.token(hr))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := call("POST", "/v1/units", `{"id":"PEMKOT","name":"Pemerintah Kota"}`, "X-Request-ID", "req-42")
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "/v1/units/PEMKOT" || resp.Header.Get("ETag") != `"0"` || resp.Header.Get("X-Request-ID") != "req-42" {
		t.Fatalf("create = %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// A body over the limit, sent chunked (no Content-Length).
	big := `{"id":"BIG","name":"` + strings.Repeat("x", 2<<20) + `"}`
	req, _ := http.NewRequest("POST", srv.URL+"/v1/units", io.NopCloser(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer "+h.token(hr))
	req.ContentLength = -1
	r2, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	var p Problem
	json.NewDecoder(r2.Body).Decode(&p)
	if r2.StatusCode != 413 || p.Code != "payload_too_large" {
		t.Errorf("chunked large body = %d %+v", r2.StatusCode, p)
	}
	// The event carries the request's ID as causation and correlation.
	for ev, err := range h.store.ReadStream(h.ctx, "unit-PEMKOT", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.CausationID != "req-42" || ev.CorrelationID != "req-42" || ev.Actor.ID != hr.sub || ev.Actor.Role != "HR_ADMIN" {
			t.Errorf("event envelope = %+v", ev.EventData)
		}
	}
	resp, body = call("POST", "/v1/units", `{"id":"DINKES","name":"Dinas","parent_id":"PEMKOT"}`, "X-Correlation-ID", "batch-7")
	if resp.StatusCode != 201 {
		t.Fatalf("create = %d %s", resp.StatusCode, body)
	}
	for ev, err := range h.store.ReadStream(h.ctx, "unit-DINKES", eventstore.ReadStreamOptions{}) {
		if err != nil || ev.CorrelationID != "batch-7" || ev.CausationID != resp.Header.Get("X-Request-ID") {
			t.Errorf("event envelope = %+v, %v", ev.EventData, err)
		}
	}
}
