package eventstore

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// BenchmarkHeadsRetained reports the heap a global feed's record of stream
// heads keeps per stream (retained_B/stream), for the compact headTable
// and for the map[string]Head it replaced, whose keys were the decoded
// names of each stream's first event (a fresh allocation each, as
// boltstore's and pgstore's decoders make). 200,000 streams named like
// the ledger's (a prefix and a UUID).
func BenchmarkHeadsRetained(b *testing.B) {
	const streams = 200_000
	names := make([]string, streams)
	for i := range names {
		names[i] = fmt.Sprintf("skp-%s", uuid.New())
	}
	retained := func(b *testing.B, fill func() any) {
		var keep any
		for b.Loop() {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			keep = fill()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/streams, "retained_B/stream")
		}
		runtime.KeepAlive(keep)
	}
	h := Head{Exists: true, Revision: 3}
	b.Run("headTable", func(b *testing.B) {
		retained(b, func() any {
			t := newHeadTable()
			for _, n := range names {
				t.put(strings.Clone(n), h) // the decoded name, dropped after the event
			}
			return t
		})
	})
	b.Run("map[string]Head", func(b *testing.B) {
		retained(b, func() any {
			m := map[string]Head{}
			for _, n := range names {
				m[strings.Clone(n)] = h
			}
			return m
		})
	})
}
