package boltstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// BenchmarkKeyedAppend prices a keyed command's writes on bbolt with 16
// writers: its append, and its record — "file" as before issue 15's
// idemtx (the answer put after the append into idempotency.db, several to
// a transaction, as adapters/app/answers.go batches them), "claim" now
// (the claim in the append's transaction, the answer completing it in a
// later group commit). It reports the bytes the process wrote per command
// (/proc/self/io) and the commits (each an fsync) per command, both
// robust to the machine's load.
func BenchmarkKeyedAppend(b *testing.B) {
	answer := bytes.Repeat([]byte("a"), 600) // a 201's record: status, headers, body
	for _, mode := range []string{"file", "claim"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			s, err := boltstore.Open(filepath.Join(dir, "kinerja.db"), boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			idem := s.Idempotency()
			if mode == "file" {
				if idem, err = boltstore.OpenIdempotency(filepath.Join(dir, "idempotency.db")); err != nil {
					b.Fatal(err)
				}
				defer idem.Close()
			}
			ctx := context.Background()
			now := time.Now()
			// The background writer of answers: what is queued goes out
			// together every 5 ms.
			var mu sync.Mutex
			var queue []string
			var fileCommits atomic.Int64 // idempotency.db's own transactions
			stop := make(chan struct{})
			writerDone := make(chan struct{})
			go func() {
				defer close(writerDone)
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					mu.Lock()
					batch := queue
					queue = nil
					mu.Unlock()
					if len(batch) == 0 {
						continue
					}
					if mode == "file" {
						recs, exps := make([][]byte, len(batch)), make([]time.Time, len(batch))
						for i := range batch {
							recs[i], exps[i] = answer, now.Add(time.Hour)
						}
						if err := idem.PutMany(ctx, now, batch, recs, exps); err != nil {
							b.Error(err)
						}
						fileCommits.Add(1)
						continue
					}
					var wg sync.WaitGroup
					for _, k := range batch {
						wg.Go(func() {
							if _, err := idem.Complete(ctx, k, []byte("claim-"+k), answer, now, now.Add(time.Hour)); err != nil {
								b.Error(err)
							}
						})
					}
					wg.Wait()
				}
			}()
			var n atomic.Int64
			w0, c0 := writeBytes(b), s.WriteTxsForTest()
			b.SetParallelism(8) // 16 writers on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					key := fmt.Sprintf("%064x", i*2654435761) // spread as the hashed keys are
					actx := ctx
					if mode == "claim" {
						actx, _ = idem.Claim(ctx, key, []byte("claim-"+key), now, now.Add(time.Hour))
					}
					if _, err := s.Append(actx, "acct-"+strconv.FormatInt(i, 10), eventstore.NoStream, ev(int(i))); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					queue = append(queue, key)
					mu.Unlock()
				}
			})
			close(stop)
			<-writerDone
			b.StopTimer()
			b.ReportMetric(float64(writeBytes(b)-w0)/float64(b.N), "wbytes/op")
			// Each commit is an fsync (bbolt's fdatasync).
			b.ReportMetric(float64(s.WriteTxsForTest()-c0+uint64(fileCommits.Load()))/float64(b.N), "commits/op")
		})
	}
}

// writeBytes is what this process has caused to be written to storage.
func writeBytes(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skip("no /proc/self/io")
	}
	for _, l := range bytes.Split(raw, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("write_bytes: ")); ok {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			return n
		}
	}
	return 0
}
