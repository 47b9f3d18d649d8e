package pgstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// benchPayload is a ≈300-byte JSON document, the size the ledger writes.
var benchPayload = []byte(`{"skp_id":"skp-196608011988031001-2026","period":"2026-Q1","rhk":"Menyusun laporan kinerja unit secara tepat waktu","indicator":"Laporan diterima atasan paling lambat tanggal 10","target":{"kuantitas":12,"kualitas":100,"waktu":12},"work_result":"SESUAI_EKSPEKTASI","note":"-"}`)

func benchEvent() eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          "skp.rating_assigned.v1",
		SchemaVersion: 1,
		OccurredAt:    time.Now(),
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		CorrelationID: "bench",
		Data:          benchPayload,
	}
}

func benchStore(b *testing.B, opts pgstore.Options) *pgstore.Store {
	b.Helper()
	url, schema := splitLocation(newLocation(b))
	opts.Schema = schema
	s, err := pgstore.Connect(context.Background(), url, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppend is the workload: W writers over fresh streams, 10
// events per stream, one append per event with an exact expected revision,
// ≈300-byte JSON. It reports events/s and the p50/p99 latency of one append.
// "nogroup" runs the same with group commit off (one statement per append).
func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		name    string
		writers int
		opts    pgstore.Options
	}{
		{"writers=1", 1, pgstore.Options{}},
		{"writers=16", 16, pgstore.Options{}},
		{"writers=16/nogroup", 16, pgstore.Options{NoGroupCommit: true}},
		{"writers=64", 64, pgstore.Options{}},
		{"writers=16/committers=1", 16, pgstore.Options{Committers: 1}},
		{"writers=16/committers=4", 16, pgstore.Options{Committers: 4}},
		{"writers=16/committers=2/start=4", 16, pgstore.Options{Committers: 2, BatchStart: 4}},
		{"writers=16/committers=3/start=4", 16, pgstore.Options{Committers: 3, BatchStart: 4}},
		{"writers=16/committers=4/start=4", 16, pgstore.Options{Committers: 4, BatchStart: 4}},
		{"writers=16/committers=4/start=2", 16, pgstore.Options{Committers: 4, BatchStart: 2}},
		{"writers=16/committers=8/start=2", 16, pgstore.Options{Committers: 8, BatchStart: 2}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := benchStore(b, tc.opts)
			runAppendLoad(b, s, tc.writers)
			if st := s.Stats(); st.Statements > 0 {
				b.ReportMetric(float64(st.Appends)/float64(st.Statements), "appends/stmt")
			}
		})
	}
}

func runAppendLoad(b *testing.B, s eventstore.Store, writers int) {
	ctx := context.Background()
	var next atomic.Int64
	next.Store(-1)
	lat := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	var streamSeq atomic.Int64
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stream string
			var rev int
			for next.Add(1) < int64(b.N) {
				if stream == "" || rev == 10 {
					stream = fmt.Sprintf("bench-%d", streamSeq.Add(1))
					rev = 0
				}
				exp := eventstore.NoStream
				if rev > 0 {
					exp = eventstore.Exact(uint64(rev - 1))
				}
				t0 := time.Now()
				if _, err := s.Append(ctx, stream, exp, benchEvent()); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				rev++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
	}
}

// BenchmarkReadAll reads 20,000 stored events with ReadAll and reports
// events/s.
func BenchmarkReadAll(b *testing.B) {
	s := benchStore(b, pgstore.Options{})
	ctx := context.Background()
	const streams, each = 2000, 10
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < streams; i += 16 {
				batch := make([]eventstore.EventData, each)
				for j := range batch {
					batch[j] = benchEvent()
				}
				if _, err := s.Append(ctx, fmt.Sprintf("read-%d", i), eventstore.NoStream, batch...); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
