package memreadmodel_test

import (
	"context"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// benchEvents is the size of the synthetic ledger: KINERJA_BENCH_EVENTS, or
// 200,000.
func benchEvents(b *testing.B) int {
	if s := os.Getenv("KINERJA_BENCH_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 200_000
}

var (
	synthOnce sync.Once
	synth     []projections.Event
	synthHist projections.History
)

func syntheticEvents(b *testing.B) []projections.Event {
	synthOnce.Do(func() {
		synth = readmodeltest.Synthetic(benchEvents(b))
		synthHist = readmodeltest.NewSyntheticHistory(synth)
	})
	return synth
}

// rebuild applies events to every Sink of a fresh model, each Sink in its
// own goroutine as the runner does, in batches of batch.
func rebuild(b *testing.B, events []projections.Event, batch int, sinks func(*memreadmodel.Model) []projections.Sink) {
	m := memreadmodel.New(memreadmodel.Options{History: synthHist})
	var wg sync.WaitGroup
	for _, s := range sinks(m) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := s.Filter()
			buf := make([]projections.Event, 0, batch)
			for _, ev := range events {
				if !f.Match(ev.Stream, ev.Type) {
					continue
				}
				if buf = append(buf, ev); len(buf) == batch {
					if err := s.Apply(context.Background(), buf...); err != nil {
						b.Error(err)
						return
					}
					buf = buf[:0]
				}
			}
			if err := s.Apply(context.Background(), buf...); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkRebuild measures an embedded start-up's projection work: every
// projection rebuilt in memory from a synthetic ledger (events decoded
// once, as the runner decodes them), each Sink in its own goroutine, in
// batches of 1,000. events/s counts ledger events, each consumed by every
// projection that selects it.
//
//	KINERJA_BENCH_EVENTS=1000000 go test -run '^$' -bench Rebuild -benchtime 1x ./adapters/memreadmodel/
func BenchmarkRebuild(b *testing.B) {
	events := syntheticEvents(b)
	all := func(m *memreadmodel.Model) []projections.Sink { return m.Sinks() }
	b.Run("all", func(b *testing.B) { benchRebuild(b, events, all) })
	for _, name := range []string{"audit", "directory", "skps", "evaluations", "scores", "objections", "timeline"} {
		b.Run(name, func(b *testing.B) {
			benchRebuild(b, events, func(m *memreadmodel.Model) []projections.Sink { return []projections.Sink{m.Sink(name)} })
		})
	}
}

func benchRebuild(b *testing.B, events []projections.Event, sinks func(*memreadmodel.Model) []projections.Sink) {
	runtime.GC()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		rebuild(b, events, 1000, sinks)
	}
	b.ReportMetric(float64(len(events)*b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkDecode measures decoding the ledger's stored JSON (the runner's
// part of a start-up, once per event for every projection).
func BenchmarkDecode(b *testing.B) {
	events := syntheticEvents(b)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, ev := range events {
			if _, err := projections.Decode(ev.Event); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(events)*b.N)/time.Since(start).Seconds(), "events/s")
}

// startupStore writes the synthetic ledger into a bbolt file (once per
// process) and returns its path. Appends run on 256 writers, each owning
// the streams that hash to it, so that the global order interleaves the
// streams as the synthetic ledger does.
func startupStore(b *testing.B) string {
	// KINERJA_BENCH_BOLT names an existing store (a seeded province,
	// docs/benchmarks.md section 15) to start up over instead.
	if p := os.Getenv("KINERJA_BENCH_BOLT"); p != "" {
		return p
	}
	startupOnce.Do(func() {
		events := syntheticEvents(b)
		dir, err := os.MkdirTemp("", "kinerja-startup-bench")
		if err != nil {
			b.Fatal(err)
		}
		startupPath = filepath.Join(dir, "kinerja.db")
		s, err := boltstore.Open(startupPath, boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		const writers = 256
		chans := make([]chan eventstore.EventData, writers)
		streams := make([]chan string, writers)
		var wg sync.WaitGroup
		for w := range writers {
			chans[w], streams[w] = make(chan eventstore.EventData, 64), make(chan string, 64)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range chans[w] {
					if _, err := s.Append(context.Background(), <-streams[w], eventstore.Any, d); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		for _, ev := range events {
			h := fnv.New32a()
			h.Write([]byte(ev.Stream))
			w := h.Sum32() % writers
			streams[w] <- ev.Stream
			chans[w] <- ev.EventData
		}
		for w := range writers {
			close(chans[w])
		}
		wg.Wait()
	})
	return startupPath
}

var (
	startupOnce sync.Once
	startupPath string
)

// BenchmarkStartup measures an embedded start-up end to end: every event
// read from a bbolt store (ReadAll), decoded once, and applied to every
// projection, one goroutine per Sink, in batches of 1,000 (what the
// runner does); the SKP projections rebuild from the store on a cache
// miss. The ledger is written once, before the timer.
//
//	KINERJA_BENCH_EVENTS=1000000 go test -run '^$' -bench Startup -benchtime 1x -timeout 30m ./adapters/memreadmodel/
func BenchmarkStartup(b *testing.B) {
	path := startupStore(b)
	synth, synthHist = nil, nil // the ledger is on disk now; free the copy
	runtime.GC()
	b.ResetTimer()
	start := time.Now()
	total := 0
	for range b.N {
		s, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: s}})
		sinks := m.Sinks()
		chans := make([]chan []projections.Event, len(sinks))
		var wg sync.WaitGroup
		for i, sink := range sinks {
			chans[i] = make(chan []projections.Event, 8)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for batch := range chans[i] {
					if err := sink.Apply(context.Background(), batch...); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		batch := make([]projections.Event, 0, 1000)
		for ev, err := range s.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
			e, err := projections.Decode(ev)
			if err != nil {
				b.Fatal(err)
			}
			total++
			if batch = append(batch, e); len(batch) == cap(batch) {
				for _, c := range chans {
					c <- batch
				}
				batch = make([]projections.Event, 0, 1000)
			}
		}
		for _, c := range chans {
			c <- batch
			close(c)
		}
		wg.Wait()
		s.Close()
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkStartupRunner measures the start-up kinerjad really runs: the
// projection runner's catch-up (projections.CatchUpAll: one read of a
// bbolt store, each event admitted once, every Sink applying each batch
// concurrently) over the synthetic ledger. The ledger is written once,
// before the timer.
//
//	KINERJA_BENCH_EVENTS=1000000 go test -run '^$' -bench StartupRunner -benchtime 1x -timeout 30m ./adapters/memreadmodel/
func BenchmarkStartupRunner(b *testing.B) {
	path := startupStore(b)
	synth, synthHist = nil, nil // the ledger is on disk now; free the copy
	runtime.GC()
	b.ResetTimer()
	start := time.Now()
	total := 0
	for range b.N {
		s, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: s}})
		n, err := projections.CatchUpAll(context.Background(), s, m.Sinks(), projections.CatchUpOptions{Batch: 2000})
		if err != nil {
			b.Fatal(err)
		}
		total += n
		s.Close()
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/startup")
}
