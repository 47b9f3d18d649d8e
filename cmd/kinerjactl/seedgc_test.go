package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestSeedGC: the seeder collects at GOGC 400 under a 3 GiB soft limit,
// restores the runtime's settings after, and leaves them alone when the
// environment sets GOGC or GOMEMLIMIT.
func TestSeedGC(t *testing.T) {
	gc0, limit0 := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() { debug.SetGCPercent(gc0); debug.SetMemoryLimit(limit0) }()
	restore := seedGC(func(string) string { return "" })
	if gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); gc != 400 || limit != 3<<30 {
		t.Errorf("during the seed: GOGC %d, limit %d; want 400 and %d", gc, limit, 3<<30)
	}
	debug.SetGCPercent(400)
	restore()
	if gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); gc != 100 || limit != math.MaxInt64 {
		t.Errorf("after the seed: GOGC %d, limit %d; want them restored", gc, limit)
	}
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		restore := seedGC(func(k string) string {
			if k == v {
				return "200"
			}
			return ""
		})
		if gc := debug.SetGCPercent(100); gc != 100 {
			t.Errorf("%s set: the seed changed GOGC to %d", v, gc)
		}
		restore()
	}
}

// TestSeedCPUProfile: --cpuprofile writes a profile of the seed; a path
// that cannot be created fails the command before anything is seeded.
func TestSeedCPUProfile(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	bad := filepath.Join(dir, "no", "such", "dir", "cpu.prof")
	if _, err := ctl(t, "seed", "--data", data, "--employees", "8", "--year", "2025", "--cpuprofile", bad); err == nil {
		t.Fatal("seed with an uncreatable --cpuprofile succeeded")
	}
	if _, err := os.Stat(filepath.Join(data, "kinerja.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the store was opened before the profile failed: %v", err)
	}
	good := filepath.Join(dir, "cpu.prof")
	mustCtl(t, "seed", "--data", data, "--employees", "8", "--year", "2025", "--cpuprofile", good)
	if st, err := os.Stat(good); err != nil || st.Size() == 0 {
		t.Fatalf("profile: %v, %v", st, err)
	}
}
