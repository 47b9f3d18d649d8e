package esdbstore_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/esdbstore"
	"github.com/kinerja-ledger/kinerja/adapters/esdbstore/esdbtest"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestCloseLeavesNoGoroutines: appends, reads, a subscription that is
// stopped, and Close leave no goroutine of the store or the client behind.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	time.Sleep(20 * time.Millisecond)
	before := runtime.NumGoroutine()
	s, err := esdbstore.Open(srv.ConnectionString(), esdbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		mustAppend(t, s, "s-1", eventstore.Any, event(`{}`), event(`{}`))
	}
	readAll(t, s)
	for _, err := range s.ReadStream(testCtx(t), "s-1", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	sub := subscribe(t, s, eventstore.SubscribeOptions{})
	sub.wait(t, 10)
	sub.cancel()
	<-sub.done
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
