package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMemorySnapshotLoadCgroupCap: the limit raised before a snapshot load
// stays under the cgroup memory limit when one is set ("max": none, no
// file: none), and never under the configured floor.
func TestMemorySnapshotLoadCgroupCap(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const gib = int64(1) << 30
	floor, heap := 2*gib, 4*gib // heap×1.25 = 5 GiB
	uncapped := heap / snapshotLoadDen * snapshotLoadNum
	limited := file("limited", "4294967296\n") // 4 GiB
	for _, c := range []struct {
		name        string
		floor, want int64
		path        string
	}{
		{"cgroup 4 GiB", floor, 4 * gib / 10 * 9, limited},
		{"cgroup max", floor, uncapped, file("max", "max\n")},
		{"no cgroup file", floor, uncapped, filepath.Join(dir, "absent")},
		{"garbage", floor, uncapped, file("garbage", "lots\n")},
		{"floor above the cap", 4 * gib, 4 * gib, limited},
	} {
		if got := snapshotLoadLimit(c.floor, heap, c.path); got != c.want {
			t.Errorf("%s: limit %d MiB, want %d MiB", c.name, got>>20, c.want>>20)
		}
	}
}
