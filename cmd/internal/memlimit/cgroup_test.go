package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// fakeCgroups builds a cgroup mount under a temp dir: files maps a path
// under the mount to its content; proc is /proc/self/cgroup's content.
func fakeCgroups(t *testing.T, proc string, files map[string]string) cgroupFS {
	t.Helper()
	dir := t.TempDir()
	c := cgroupFS{procCgroup: filepath.Join(dir, "proc-self-cgroup"), root: filepath.Join(dir, "sys-fs-cgroup")}
	if err := os.WriteFile(c.procCgroup, []byte(proc), 0o600); err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		p = filepath.Join(c.root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

const gib = int64(1) << 30

// TestCgroupLimit: v2 and v1 limits are read from the process's cgroup and
// its ancestors (the lowest wins); "max", v1's near-2^63 "unlimited",
// garbage and missing files are no limit; a host path the mount does not
// show falls back to the mount's root (a cgroup namespace's view).
func TestCgroupLimit(t *testing.T) {
	const v1None = "9223372036854771712\n"
	for _, c := range []struct {
		name  string
		proc  string
		files map[string]string
		want  int64 // 0: none
	}{
		{"v2 own", "0::/svc/kinerjad\n", map[string]string{"svc/kinerjad/memory.max": "4294967296\n", "memory.max": "max\n"}, 4 * gib},
		{"v2 parent lower", "0::/svc/kinerjad\n", map[string]string{"svc/kinerjad/memory.max": "max\n", "svc/memory.max": "3221225472\n"}, 3 * gib},
		{"v2 max everywhere", "0::/svc/kinerjad\n", map[string]string{"svc/kinerjad/memory.max": "max\n"}, 0},
		{"v2 namespace root", "0::/\n", map[string]string{"memory.max": "2147483648\n"}, 2 * gib},
		{"v2 host path not mounted", "0::/host/a/b\n", map[string]string{"memory.max": "2147483648\n"}, 2 * gib},
		{"v2 garbage", "0::/\n", map[string]string{"memory.max": "lots\n"}, 0},
		{"v2 zero", "0::/\n", map[string]string{"memory.max": "0\n"}, 0},
		{"v1 own", "5:devices:/x\n4:memory:/process_api/abc\n0::/\n",
			map[string]string{"memory/process_api/abc/memory.limit_in_bytes": "6442450944\n", "memory/memory.limit_in_bytes": v1None}, 6 * gib},
		{"v1 unlimited", "4:memory:/process_api/abc\n0::/\n",
			map[string]string{"memory/process_api/abc/memory.limit_in_bytes": v1None, "memory/memory.limit_in_bytes": v1None}, 0},
		{"v1 joined controllers", "3:cpuacct,memory:/a\n", map[string]string{"memory/a/memory.limit_in_bytes": "1073741824\n"}, gib},
		{"v1 and v2: the lower", "4:memory:/\n0::/\n", map[string]string{"memory/memory.limit_in_bytes": "5368709120\n", "memory.max": "4294967296\n"}, 4 * gib},
		{"not memory controller", "4:memoryx:/a\n", map[string]string{"memory/a/memory.limit_in_bytes": "1073741824\n"}, 0},
		{"malformed lines", "garbage\n4:memory\n0::relative\n", map[string]string{"memory.max": "1073741824\n"}, 0},
	} {
		got, ok := fakeCgroups(t, c.proc, c.files).limit()
		if c.want == 0 && ok {
			t.Errorf("%s: limit %d, want none", c.name, got)
		}
		if c.want != 0 && (!ok || got != c.want) {
			t.Errorf("%s: limit %d (%v), want %d", c.name, got, ok, c.want)
		}
	}
	if _, ok := (cgroupFS{procCgroup: filepath.Join(t.TempDir(), "absent")}).limit(); ok {
		t.Error("no /proc/self/cgroup: a limit")
	}
}

// withHardLimit makes the raises see a cgroup limit of hard bytes (0: none).
func withHardLimit(t *testing.T, hard int64) {
	t.Helper()
	old := hardLimit
	hardLimit = func() (int64, bool) { return hard, hard > 0 }
	t.Cleanup(func() { hardLimit = old })
}

// TestRaisesCapped: Raised, Settled and RaiseTo stop at 90 % of the
// cgroup's limit, never under the floor (or, for RaiseTo, the current
// limit), and are uncapped without one.
func TestRaisesCapped(t *testing.T) {
	const mib = int64(1) << 20
	withHardLimit(t, 4*gib)
	cap90 := 4 * gib / 10 * 9
	if got, ok := Raised(gib, gib, 3*gib); got != cap90 || !ok {
		t.Errorf("Raised over a 3 GiB heap = %d MiB, %v; want %d MiB", got/mib, ok, cap90/mib)
	}
	if got, ok := Raised(gib, cap90, 3*gib); got != cap90 || ok {
		t.Errorf("Raised at the cap = %d MiB, %v; want %d MiB, false", got/mib, ok, cap90/mib)
	}
	if got, ok := Raised(gib, gib, gib); got != 1536*mib || !ok {
		t.Errorf("Raised under the cap = %d MiB, %v; want 1536 MiB", got/mib, ok)
	}
	if got := Settled(gib, 3*gib); got != cap90 {
		t.Errorf("Settled over a 3 GiB heap = %d MiB, want %d", got/mib, cap90/mib)
	}
	if got := Settled(5*gib, 3*gib); got != 5*gib {
		t.Errorf("Settled with a floor above the cap = %d MiB, want the floor", got/mib)
	}

	old := debug.SetMemoryLimit(gib)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	if prev, set, ok := RaiseTo(8 * gib); prev != gib || set != cap90 || !ok || debug.SetMemoryLimit(-1) != cap90 {
		t.Errorf("RaiseTo(8 GiB) = %d, %d, %v; limit %d MiB; want the cap %d MiB", prev/mib, set/mib, ok, debug.SetMemoryLimit(-1)/mib, cap90/mib)
	}
	debug.SetMemoryLimit(5 * gib) // an operator's limit above the cap: never lowered
	if _, set, ok := RaiseTo(8 * gib); ok || set != 5*gib || debug.SetMemoryLimit(-1) != 5*gib {
		t.Errorf("RaiseTo over a limit above the cap: set %d MiB, %v; want it kept at 5 GiB", set/mib, ok)
	}

	withHardLimit(t, 0)
	debug.SetMemoryLimit(gib)
	if _, set, ok := RaiseTo(8 * gib); !ok || set != 8*gib {
		t.Errorf("RaiseTo without a cgroup limit: set %d MiB, %v; want 8 GiB", set/mib, ok)
	}
	if got := Settled(gib, 3*gib); got != 4608*mib {
		t.Errorf("Settled without a cgroup limit = %d MiB, want 4608", got/mib)
	}
}
