package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
)

// TestCrashKeyedRecordWithEvents: while 8 clients send keyed creates
// (Idempotency-Key), kinerjad is SIGKILLed at a random moment, twice.
// After the restart, for every request answered 2xx before a kill, the
// same key with another body is refused (422: the key's record committed
// with the events, so no crash leaves events without it) and the same
// request again gets the first answer or its reconstruction, never a
// second append. Every request in flight at a kill, retried, is applied
// exactly once. Before the records moved into the store's file, a 2xx
// answer's record was written after it was returned, in idempotency.db,
// and a kill in between let the other body run: a second append under
// one key.
func TestCrashKeyedRecordWithEvents(t *testing.T) {
	data := t.TempDir()
	type req struct{ key, id string }
	var mu sync.Mutex
	var acked, unknown []req
	for round := range 2 {
		cmd, s := startCrashChild(t, data)
		if round == 0 {
			s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: "ROOT", Name: "Induk"}, nil)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					r := req{key: fmt.Sprintf("k-%d-%d-%d", round, w, i), id: fmt.Sprintf("U%d-%d-%d", round, w, i)}
					a, err := s.do("hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: r.id, Name: "Unit " + r.id, ParentID: "ROOT"}, "Idempotency-Key", r.key)
					mu.Lock()
					switch {
					case err != nil:
						unknown = append(unknown, r) // cut by the kill: applied or not
					case a.status == 201:
						acked = append(acked, r)
					default:
						t.Errorf("POST /v1/units %s: %d %s", r.id, a.status, a.body)
					}
					mu.Unlock()
					if err != nil || a.status != 201 {
						return
					}
				}
			})
		}
		time.Sleep(time.Duration(800+rand.IntN(800)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		close(stop)
		wg.Wait()
	}
	if len(acked) < 16 {
		t.Fatalf("only %d keyed requests answered before the kills", len(acked))
	}
	s := startServer(t, data)
	refused, replayed, reconstructed := 0, 0, 0
	for _, r := range acked {
		other := httpapi.CreateUnitBody{ID: r.id + "-X", Name: "Another unit", ParentID: "ROOT"}
		if a := s.call("hr-admin", hrAdmin, "POST", "/v1/units", other, "Idempotency-Key", r.key); a.status != 422 {
			t.Errorf("key %s (answered 201 before a kill) with another body after the restart: %d %s, want 422 (a second append under one key)", r.key, a.status, a.body)
			continue
		}
		refused++
		a := s.call("hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: r.id, Name: "Unit " + r.id, ParentID: "ROOT"}, "Idempotency-Key", r.key)
		switch rp := a.header.Get("Idempotency-Replayed"); {
		case a.status == 201 && rp == "true":
			replayed++
		case a.status == 201 && rp == "reconstructed":
			reconstructed++
		default:
			t.Errorf("repeat of %s after the restart: %d %s (replayed %q), want 201 replayed", r.key, a.status, a.body, rp)
		}
	}
	for _, r := range unknown {
		a := s.call("hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: r.id, Name: "Unit " + r.id, ParentID: "ROOT"}, "Idempotency-Key", r.key)
		if a.status != 201 {
			t.Errorf("retry of %s, in flight at a kill: %d %s, want 201 (first, replayed or reconstructed)", r.key, a.status, a.body)
		}
	}
	for _, r := range append(append([]req(nil), acked...), unknown...) {
		if a := s.call("hr-admin", hrAdmin, "GET", "/v1/units/"+r.id, nil); a.status != 200 {
			t.Errorf("unit %s missing: %d", r.id, a.status)
		}
		if a := s.call("hr-admin", hrAdmin, "GET", "/v1/units/"+r.id+"-X", nil); a.status != 404 {
			t.Errorf("unit %s-X exists (%d): the key %s was applied to a second request", r.id, a.status, r.key)
		}
	}
	verifyAudit(t, s)
	t.Logf("%d keyed requests answered 201 before 2 kills: %d refused with another body, %d replayed, %d reconstructed; %d in flight retried", len(acked), refused, replayed, reconstructed, len(unknown))
}
