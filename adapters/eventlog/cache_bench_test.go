package eventlog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
)

// BenchmarkCachedOwnAppend: a command's cycle on a stream this process
// writes (an SKP): load it, append one event, on a signed bbolt store
// whose stream holds n events already, while another stream is written
// between commands (the other clients' mutations).
func BenchmarkCachedOwnAppend(b *testing.B) {
	for _, n := range []int{20, 200} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			s := openSigned(b)
			log := newCached(s)
			ctx := context.Background()
			for range n {
				if err := appendNext(b, log, "skp-1", "e"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_, rev, _, err := log.Load(ctx, "skp-1")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := log.Append(ctx, "skp-1", domain.ExactRevision(rev), []domain.NewEvent{unitEvent("e")}); err != nil {
					b.Fatal(err)
				}
				if err := appendNext(b, log, "other", "o"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
