package esdbstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/esdbstore"
	"github.com/kinerja-ledger/kinerja/adapters/esdbstore/esdbtest"
	"github.com/kinerja-ledger/kinerja/eventstore/storebench"
)

// BenchmarkAppends runs the storebench workload (one event per append,
// exact expected revisions, ≈300-byte JSON) against the in-process server.
// The figures say what the adapter and the client cost on this machine (a
// claim and an append per event, over loopback gRPC), not what a KurrentDB
// node would do.
func BenchmarkAppends(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := esdbstore.Open(esdbtest.Start(b), esdbstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var last storebench.Result
			for range b.N {
				r, err := storebench.Appends(context.Background(), s, storebench.Config{Writers: writers, Streams: 4 * writers})
				if err != nil {
					b.Fatal(err)
				}
				last = r
			}
			b.ReportMetric(last.EventsPerSec, "events/s")
			b.ReportMetric(last.P50Ms, "p50_ms")
			b.ReportMetric(last.P99Ms, "p99_ms")
			r, err := storebench.ReadAll(context.Background(), s)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.EventsPerSec, "read_events/s")
		})
	}
}
