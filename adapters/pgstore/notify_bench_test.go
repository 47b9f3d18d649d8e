package pgstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// BenchmarkNotify compares the two ways of waking subscribers of other
// processes: a NOTIFY sent by the store after its commits, at most one per
// NotifyInterval (what the store does), and a NOTIFY inside every appending
// transaction, here from a statement-level AFTER INSERT trigger. A
// transaction that notifies holds a cluster-wide lock from pre-commit until
// its commit record is flushed, so the second serialises commits.
func BenchmarkNotify(b *testing.B) {
	for _, writers := range []int{1, 16} {
		for _, mode := range []string{"after-commit", "in-transaction"} {
			b.Run(fmt.Sprintf("writers=%d/%s", writers, mode), func(b *testing.B) {
				url, schema := migrated(b)
				opts := Options{}
				if mode == "in-transaction" {
					conn := rawConn(b, url)
					_, err := conn.Exec(tctx(b), fmt.Sprintf(`
						CREATE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $$
						BEGIN PERFORM pg_notify(%[3]s, ''); RETURN NULL; END $$;
						CREATE TRIGGER events_notify AFTER INSERT ON %[2]s FOR EACH STATEMENT EXECUTE FUNCTION %[1]s();`,
						ident(schema, "notify_trigger"), ident(schema, "events"), "'"+channelName(schema)+"'"))
					if err != nil {
						b.Fatal(err)
					}
					opts.NotifyInterval = time.Hour // the trigger notifies instead
				}
				s := openOn(b, url, schema, opts)
				// One subscriber in another store, as a projector would be.
				sub := openOn(b, url, schema, Options{})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var delivered atomic.Int64
				go func() {
					for _, err := range sub.SubscribeAll(ctx, eventstore.SubscribeOptions{}) {
						if err != nil {
							return
						}
						delivered.Add(1)
					}
				}()
				lat := appendLoad(b, s, writers)
				slices.Sort(lat)
				b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			})
		}
	}
}

// appendLoad runs b.N single-event appends from writers goroutines, 10 per
// stream with exact expected revisions, and returns their latencies.
func appendLoad(b *testing.B, s *Store, writers int) []time.Duration {
	var next atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			rev, stream := 10, ""
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				if rev == 10 {
					stream, rev = fmt.Sprintf("w%d-%d", w, n), 0
				}
				exp := eventstore.NoStream
				if rev > 0 {
					exp = eventstore.Exact(uint64(rev - 1))
				}
				t0 := time.Now()
				if _, err := s.Append(context.Background(), stream, exp, ev(`{"skp_id":"skp-196608011988031001-2026","period":"2026-Q1","rhk":"Menyusun laporan kinerja unit secara tepat waktu","indicator":"Laporan diterima atasan paling lambat tanggal 10","target":{"kuantitas":12,"kualitas":100,"waktu":12},"work_result":"SESUAI_EKSPEKTASI","note":"-"}`)); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(t0))
				rev++
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	return all
}
