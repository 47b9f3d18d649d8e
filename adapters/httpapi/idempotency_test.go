package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
)

func TestIdempotencyRepeatAndReuse(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, ind := h.establishedE(rhkA)
	url := "/v1/skps/" + id + "/realisations"
	body := RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 3, Narrative: "tiga"}
	stream := "skp-" + id

	first := h.must(http.StatusCreated, empE, "POST", url, body, "Idempotency-Key", "real-1")
	n := h.streamLen(stream)
	head := h.headLen()

	// The same request: the first response, nothing appended.
	again := h.must(http.StatusCreated, empE, "POST", url, body, "Idempotency-Key", "real-1")
	if !bytes.Equal(again.body, first.body) || again.header.Get("ETag") != first.header.Get("ETag") || again.header.Get("Idempotency-Replayed") != "true" {
		t.Errorf("repeat = %s %v, want %s", again.body, again.header, first.body)
	}
	if h.streamLen(stream) != n || h.headLen() != head {
		t.Fatalf("the repeat appended")
	}

	// The same key with another body: 422, nothing appended.
	other := body
	other.Value = 4
	h.refused(422, "idempotency_key_reused", &empE, "POST", url, other, "Idempotency-Key", "real-1")
	// … or another path, or another If-Match.
	h.refused(422, "idempotency_key_reused", &empE, "POST", "/v1/skps/"+id+"/evidence", other, "Idempotency-Key", "real-1")
	h.refused(422, "idempotency_key_reused", &empE, "POST", url, body, "Idempotency-Key", "real-1", "If-Match", first.header.Get("ETag"))
	if h.streamLen(stream) != n {
		t.Fatalf("a reused key appended")
	}

	// Keys are the caller's: another caller's identical key is its own.
	h.must(http.StatusCreated, hr, "POST", "/v1/units", CreateUnitBody{ID: "K9", Name: "K9", ParentID: "PEMKOT"}, "Idempotency-Key", "real-1")

	// A refusal is kept too: the repeat of a 4xx gets the same 4xx.
	bad := RealisationBody{Period: "2031-Q1", IndicatorID: ind, Value: 1}
	p1 := h.refused(422, "validation_failed", &empE, "POST", url, bad, "Idempotency-Key", "bad-1")
	p2 := h.refused(422, "validation_failed", &empE, "POST", url, bad, "Idempotency-Key", "bad-1")
	if p1.RequestID != p2.RequestID {
		t.Errorf("the repeated refusal is not the first response (request IDs %s, %s)", p1.RequestID, p2.RequestID)
	}

	// Across a restart.
	h.restart()
	again = h.must(http.StatusCreated, empE, "POST", url, body, "Idempotency-Key", "real-1")
	if !bytes.Equal(again.body, first.body) || h.streamLen(stream) != n {
		t.Errorf("after restart: %s (stream %d → %d)", again.body, n, h.streamLen(stream))
	}
	h.refused(422, "idempotency_key_reused", &empE, "POST", url, other, "Idempotency-Key", "real-1")

	// After the retention, the key is free again. The expired records are
	// not swept by a request (kinerjad's background sweeper does it,
	// app.SweepIdempotency): they are still there for the sweep.
	h.clock.Advance(31 * 24 * time.Hour)
	h.must(http.StatusCreated, hr, "POST", "/v1/units", CreateUnitBody{ID: "K10", Name: "K10", ParentID: "PEMKOT"}, "Idempotency-Key", "sweeper")
	if n, err := h.idem.DeleteExpired(h.ctx, h.clock.Now()); n == 0 || err != nil {
		t.Errorf("DeleteExpired after requests past the retention = %d, %v; want the expired records (no request sweeps)", n, err)
	}
	h.must(http.StatusCreated, empE, "POST", url, RealisationBody{Period: "2026-Q2", IndicatorID: ind, Value: 5}, "Idempotency-Key", "real-1")
}

// TestIdempotencyAfterLostResponse simulates a crash between the append
// and the storing of the response: the record is gone, the repeat runs the
// command again, and the derived event IDs keep it from appending twice.
func TestIdempotencyAfterLostResponse(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()

	draft := DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}
	first := skpView(t, h.must(http.StatusCreated, empE, "POST", "/v1/skps", draft, "Idempotency-Key", "draft-1"))
	var c Created
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+first.ID+"/rhk", RHKBody{Text: "RHK", Kind: "UTAMA", IntervenedRHKID: rhkA}, "Idempotency-Key", "rhk-1").decode(t, &c)
	head := h.headLen()

	// Lose every stored response.
	if err := h.idem.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(h.dir, "idempotency.db")); err != nil {
		t.Fatal(err)
	}
	h.openServer()

	r := h.must(http.StatusCreated, empE, "POST", "/v1/skps", draft, "Idempotency-Key", "draft-1")
	if v := skpView(t, r); v.ID != first.ID || r.header.Get("Idempotency-Replayed") != "reconstructed" {
		t.Errorf("repeat of the draft = %s %v", v.ID, r.header)
	}
	// The reconstructed answer is now the key's: the next repeat replays it.
	if again := h.must(http.StatusCreated, empE, "POST", "/v1/skps", draft, "Idempotency-Key", "draft-1"); again.header.Get("Idempotency-Replayed") != "true" ||
		!bytes.Equal(again.body, r.body) || again.header.Get("ETag") != r.header.Get("ETag") {
		t.Errorf("second repeat of the draft = %v %s; want the stored reconstruction %s", again.header, again.body, r.body)
	}
	r = h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+first.ID+"/rhk", RHKBody{Text: "RHK", Kind: "UTAMA", IntervenedRHKID: rhkA}, "Idempotency-Key", "rhk-1")
	if v := skpView(t, r); len(v.Plan) != 1 || v.Plan[0].ID != c.RHKID {
		t.Errorf("repeat of the RHK = %+v", v.Plan)
	}
	if h.headLen() != head {
		t.Fatalf("repeats after a lost response appended %d events", h.headLen()-head)
	}
	// A new key still works.
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+first.ID+"/rhk", RHKBody{Text: "RHK 2", Kind: "TAMBAHAN"}, "Idempotency-Key", "rhk-2")
}

func TestIdempotencyConcurrentRepeats(t *testing.T) {
	h := newHarness(t)
	h.cast()
	h.catchUp()
	head := h.headLen()
	body := CreateUnitBody{ID: "CONC", Name: "Concurrent", ParentID: "PEMKOT"}
	var wg sync.WaitGroup
	out := make([]response, 8)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = h.request(&hr, "POST", "/v1/units", body, "Idempotency-Key", "conc-1")
		}()
	}
	wg.Wait()
	for _, r := range out {
		if r.status != http.StatusCreated || !bytes.Equal(r.body, out[0].body) {
			t.Errorf("concurrent repeat = %d %s, want 201 %s", r.status, r.body, out[0].body)
		}
	}
	if h.headLen() != head+1 {
		t.Errorf("8 concurrent repeats appended %d events, want 1", h.headLen()-head)
	}
}

// TestIdempotencyKeepsNoFailedReconstructionNor499 drives the middleware
// with stand-in handlers: a 499 (the client went away, perhaps before the
// append) is never the key's answer, and neither is a reconstruction that
// failed (marked "Idempotency-Replayed: reconstructed" but not a 2xx):
// the next repeat runs the handler again and its success is then the
// key's. A reconstruction that succeeded is kept.
func TestIdempotencyKeepsNoFailedReconstructionNor499(t *testing.T) {
	h := newHarness(t)
	var runs int
	answer := func(status int, reconstructed bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs++
			if reconstructed {
				w.Header().Set("Idempotency-Replayed", "reconstructed")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"run":%d}`, runs)
		})
	}
	send := func(key string, next http.Handler) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/units", strings.NewReader(`{"id":"X"}`))
		req = req.WithContext(context.WithValue(req.Context(), principalKey, domain.Principal{ID: "hr-1"}))
		req.Header.Set("Idempotency-Key", key)
		rec := httptest.NewRecorder()
		h.srv.idempotent(next).ServeHTTP(rec, req)
		return rec
	}
	for _, c := range []struct {
		name          string
		status        int
		reconstructed bool
	}{{"client gone", 499, false}, {"client gone during reconstruction", 499, true},
		{"reconstruction refused", http.StatusUnprocessableEntity, true}, {"reconstruction not found", http.StatusNotFound, true}} {
		key := "fail-" + strings.ReplaceAll(c.name, " ", "-")
		if rec := send(key, answer(c.status, c.reconstructed)); rec.Code != c.status {
			t.Fatalf("%s: first = %d", c.name, rec.Code)
		}
		before := runs
		rec := send(key, answer(http.StatusCreated, c.reconstructed))
		if rec.Code != http.StatusCreated || runs != before+1 || rec.Header().Get("Idempotency-Replayed") == "true" {
			t.Errorf("%s: the repeat = %d %s (replayed %q); want the handler run again, not the %d replayed",
				c.name, rec.Code, rec.Body, rec.Header().Get("Idempotency-Replayed"), c.status)
			continue
		}
		if again := send(key, answer(http.StatusCreated, false)); again.Header().Get("Idempotency-Replayed") != "true" || again.Body.String() != rec.Body.String() {
			t.Errorf("%s: the repeat after the success = %d %s %v; want it replayed", c.name, again.Code, again.Body, again.Header())
		}
	}
	// A first answer that is a refusal is kept, as before.
	send("refused", answer(http.StatusUnprocessableEntity, false))
	if rec := send("refused", answer(http.StatusCreated, false)); rec.Code != http.StatusUnprocessableEntity || rec.Header().Get("Idempotency-Replayed") != "true" {
		t.Errorf("repeat of a refusal = %d %v; want the 422 replayed", rec.Code, rec.Header())
	}
}
