package memreadmodel_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// BenchmarkLoadSnapshot loads the read-model snapshot of a kinerjad data
// directory (KINERJA_BENCH_SNAPSHOT_DATA: its kinerja.db, audit-signing.key
// and readmodels.snapshot, as a cold start leaves them) into empty read
// models, verified against the store as kinerjad's start-up does, and
// reports the file's MB/s, the process's CPU seconds per load (user and
// system, every goroutine) and the live heap the loaded models hold
// (after a collection). Skipped without the variable. For a CPU profile
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
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		cpu0 := processCPU(b)
		m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: s}})
		info, err := m.LoadSnapshot(context.Background(), path, memreadmodel.LoadOptions{Keys: []*merkle.Verifier{key.Verifier()}, Store: s})
		if err != nil {
			b.Fatal(err)
		}
		bytes += info.Bytes
		b.StopTimer()
		cpu += processCPU(b) - cpu0
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live = ms.HeapAlloc
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
		runtime.KeepAlive(m)
		runtime.GC()
		b.StartTimer()
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// processCPU is the process's user and system CPU time so far (on a
// loaded machine the wall time measures the load, this the work).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
