package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// A caller who may not see an SKP learns nothing from If-Match: not that
// it exists, not its revision. Nor does drafting tell an outsider which
// NIPs are registered.
func TestPreconditionsDiscloseNothing(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	submit := "/v1/skps/" + id + "/submit"
	plain := h.request(&outX, "POST", submit, nil)
	stale := h.request(&outX, "POST", submit, nil, "If-Match", `"0"`)
	missing := h.request(&outX, "POST", "/v1/skps/"+nipX+"-2026/submit", nil, "If-Match", `"0"`)
	for name, r := range map[string]response{"no If-Match": plain, "stale If-Match": stale, "If-Match on a missing SKP": missing} {
		if r.status != http.StatusNotFound || strings.Contains(string(r.body), "revision") {
			t.Errorf("outsider, %s: %d %s; want a plain 404", name, r.status, r.body)
		}
	}
	// The parties still get the precondition failure.
	if r := h.request(&empE, "POST", submit, nil, "If-Match", `"0"`); r.status != http.StatusPreconditionFailed {
		t.Errorf("employee, stale If-Match: %d %s; want 412", r.status, r.body)
	}
	registered := h.request(&outX, "POST", "/v1/skps", DraftBody{NIP: nipE, Year: 2027, Approach: "KUANTITATIF"})
	unknown := h.request(&outX, "POST", "/v1/skps", DraftBody{NIP: "199901012020121001", Year: 2027, Approach: "KUANTITATIF"})
	if registered.status != http.StatusForbidden || unknown.status != registered.status {
		t.Errorf("outsider drafting for a registered NIP: %d, for an unknown one: %d; want the same 403", registered.status, unknown.status)
	}
}

// losingLog loses every append race while lose is set.
type losingLog struct {
	domain.EventLog
	lose *atomic.Bool
}

func (l losingLog) Append(ctx context.Context, stream string, e domain.Expected, evs []domain.NewEvent) (uint64, error) {
	if l.lose.Load() {
		return 0, fmt.Errorf("lost a race: %w", domain.ErrConcurrency)
	}
	return l.EventLog.Append(ctx, stream, e, evs)
}

// The 409 of a command that lost every race is contention (not conflict):
// it says "repeat" with Retry-After, so a repeat of its Idempotency-Key
// runs the command again instead of replaying it.
func TestRetryableConflictIsNotReplayed(t *testing.T) {
	var lose atomic.Bool
	h := newHarness(t, func(c *settings) {
		hd := *c.SKPs.Handler
		hd.Log = losingLog{EventLog: hd.Log, lose: &lose}
		svc := *c.SKPs
		svc.Handler = &hd
		c.SKPs = &svc
	})
	h.cast()
	_, rhkA := h.establishedA()
	id, _, ind := h.establishedE(rhkA)
	url := "/v1/skps/" + id + "/realisations"
	body := RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 3}
	lose.Store(true)
	first := h.request(&empE, "POST", url, body, "Idempotency-Key", "k1")
	if first.status != http.StatusConflict || strings.Contains(string(first.body), "attempts") || first.problem(t).Code != "contention" ||
		first.header.Get("Retry-After") == "" {
		t.Fatalf("first = %d %v %s; want 409 contention with Retry-After, without internals", first.status, first.header, first.body)
	}
	lose.Store(false)
	if again := h.request(&empE, "POST", url, body, "Idempotency-Key", "k1"); again.status != http.StatusCreated || again.header.Get("Idempotency-Replayed") != "" {
		t.Errorf("repeat = %d (replayed %q) %s; want the command run: 201", again.status, again.header.Get("Idempotency-Replayed"), again.body)
	}
}

// The current view changes with time alone (an evaluation becomes FINAL
// when its objection window closes), so it is never answered 304; as_of
// may not look into the future.
func TestTimeDependentViews(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026",
		RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target tercapai"})
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026/issue", nil)
	r := h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id, nil)
	if v := skpView(t, r); v.Evaluations[0].Status != skp.EvalIssued {
		t.Fatalf("after issue: %s", v.Evaluations[0].Status)
	}
	future := h.clock.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)
	if f := h.request(&empE, "GET", "/v1/skps/"+id+"?as_of="+future, nil); f.status != http.StatusBadRequest {
		t.Errorf("as_of in the future = %d %s; want 400", f.status, f.body)
	}
	h.clock.Advance(20 * 24 * time.Hour)
	later := h.request(&empE, "GET", "/v1/skps/"+id, nil, "If-None-Match", r.header.Get("ETag"))
	if later.status != http.StatusOK {
		t.Fatalf("after the window, If-None-Match = %d; want 200", later.status)
	}
	if v := skpView(t, later); v.Evaluations[0].Status != skp.EvalFinal {
		t.Errorf("after the window: %s, want FINAL", v.Evaluations[0].Status)
	}
}

// A cursor the service did not issue is the client's mistake.
func TestBadCursor(t *testing.T) {
	h := newHarness(t)
	h.cast()
	for _, c := range []string{"!!", "%E2%82%AC"} {
		if r := h.request(&empE, "GET", "/v1/skps?cursor="+c, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"cursor"`) {
			t.Errorf("cursor %q: %d %s; want 400 naming the cursor", c, r.status, r.body)
		}
	}
}
