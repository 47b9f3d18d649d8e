package memreadmodel_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// BenchmarkLoadSnapshot loads the read-model snapshot of a kinerjad data
// directory (KINERJA_BENCH_SNAPSHOT_DATA: its kinerja.db, audit-signing.key
// and readmodels.snapshot, as a cold start leaves them) into empty read
// models, verified against the store as kinerjad's start-up does, and
// reports the file's MB/s, the process's CPU seconds per load (user and
// system, every goroutine) and the live heap the loaded models hold
// (after a collection), and of it the bytes per audit entry (what
// emptying the trail frees) and per SKP (the rest, every other read model,
// per SKP; KINERJA_BENCH_TABLES=1 logs each read model's share). Skipped
// without the variable. For a CPU profile
// of the load alone (KINERJA_BENCH_HEAPPROFILE=FILE writes the heap
// profile of the loaded models):
//
//	KINERJA_BENCH_SNAPSHOT_DATA=/tmp/snapload/w20k go test -run '^$' -bench LoadSnapshot -benchtime 3x -cpuprofile cpu.out ./adapters/memreadmodel/
func BenchmarkLoadSnapshot(b *testing.B) {
	dir := os.Getenv("KINERJA_BENCH_SNAPSHOT_DATA")
	if dir == "" {
		b.Skip("KINERJA_BENCH_SNAPSHOT_DATA names no data directory")
	}
	skey, err := os.ReadFile(filepath.Join(dir, "audit-signing.key"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := merkle.ParseSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		b.Fatal(err)
	}
	s, err := boltstore.Open(filepath.Join(dir, "kinerja.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	path := filepath.Join(dir, memreadmodel.SnapshotFile)
	var bytes int64
	var live uint64
	var perEntry, perSKP float64
	var cpu float64
	b.ResetTimer()
	for range b.N {
		cpu0 := cpusample.Self()
		m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: s}})
		info, err := m.LoadSnapshot(context.Background(), path, memreadmodel.LoadOptions{Keys: []*merkle.Verifier{key.Verifier()}, Store: s})
		if err != nil {
			b.Fatal(err)
		}
		bytes += info.Bytes
		b.StopTimer()
		cpu += cpusample.Self() - cpu0
		live = liveHeap()
		if hp := os.Getenv("KINERJA_BENCH_HEAPPROFILE"); hp != "" {
			f, err := os.Create(hp)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.WriteHeapProfile(f); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		// The audit trail's share: what emptying it frees, per entry; the
		// rest per SKP.
		if err := m.Sink(audit.Name).Reset(context.Background()); err != nil {
			b.Fatal(err)
		}
		rest := liveHeap()
		perEntry = float64(live-rest) / float64(max(info.AuditSize, 1))
		perSKP = float64(rest) / float64(max(memreadmodel.SKPCount(m), 1))
		if os.Getenv("KINERJA_BENCH_TABLES") != "" {
			// Each other read model's share, emptied one after the other.
			b.Logf("audit: %.1f MiB (%d entries)", float64(live-rest)/(1<<20), info.AuditSize)
			for _, sink := range m.Sinks()[1:] {
				n := memreadmodel.SKPCount(m)
				if err := sink.Reset(context.Background()); err != nil {
					b.Fatal(err)
				}
				after := liveHeap()
				b.Logf("%s: %.1f MiB (%d SKPs)", sink.Name(), float64(rest-after)/(1<<20), n)
				rest = after
			}
		}
		runtime.KeepAlive(m)
		runtime.GC()
		b.StartTimer()
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	b.ReportMetric(perEntry, "live-B/audit-entry")
	b.ReportMetric(perSKP, "live-B/SKP-other-models")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
}

// liveHeap is the heap in use after two collections (the second frees
// what the first's finalizers let go).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
