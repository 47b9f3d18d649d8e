package memlimit

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// The hard memory limit of the process's cgroup caps every raise of the
// soft limit (Raised, Settled, RaiseTo): the soft limit is the heap's, and
// the rest of the process (stacks, the runtime, the mapped pages of the
// bbolt files) needs room below the hard limit, whose overrun is the OOM
// killer. Above the hard limit the soft one cannot help; a heap that needs
// more than the cap makes the collector run back to back (slower, not
// killed). The configured floor is never capped: an operator who sets a
// limit above the container's keeps it.
const hardShareNum, hardShareDen = 9, 10

// cgroupFS locates the cgroup files: procCgroup is /proc/self/cgroup,
// root the cgroup mount (/sys/fs/cgroup). Variables for the tests.
type cgroupFS struct{ procCgroup, root string }

// hostCgroups is this process's.
var hostCgroups = cgroupFS{procCgroup: "/proc/self/cgroup", root: "/sys/fs/cgroup"}

// hardLimit returns the hard memory limit that caps the raises (a variable
// for the tests).
var hardLimit = func() (int64, bool) { return hostCgroups.limit() }

// StubCgroupLimit makes every raise see a cgroup memory limit of hard
// bytes (ok false: none) instead of the host's, until restore is called:
// for the tests of memlimit's users, whose expectations must not depend
// on the cgroup of the machine they run on. Not safe while a Follow runs.
func StubCgroupLimit(hard int64, ok bool) (restore func()) {
	old := hardLimit
	hardLimit = func() (int64, bool) { return hard, ok }
	return func() { hardLimit = old }
}

// CgroupLimit returns the memory limit of the cgroup this process runs in
// (the lowest of its cgroup's and its ancestors'), in bytes, and false when
// none is set: cgroup v2's memory.max ("max": none) or cgroup v1's
// memory.limit_in_bytes (a value near 2^63: none).
func CgroupLimit() (int64, bool) { return hardLimit() }

// Cap returns the ceiling of every raise, 90 % of the cgroup's memory
// limit, and false when the cgroup sets none. A live heap above it keeps
// the soft limit below the heap: the collector runs back to back.
func Cap() (int64, bool) {
	hard, ok := hardLimit()
	if !ok {
		return 0, false
	}
	return hard / hardShareDen * hardShareNum, true
}

// capped returns want, at most 90 % of the cgroup's limit when one is set,
// but never under floor.
func capped(want, floor int64) int64 {
	if hard, ok := hardLimit(); ok {
		want = min(want, hard/hardShareDen*hardShareNum)
	}
	return max(want, floor)
}

// v1Unlimited: cgroup v1 reports no limit as the largest page-aligned
// int64 (9223372036854771712); anything from 2^62 up is taken as none.
const v1Unlimited = int64(1) << 62

// limit reads the limits of the cgroups /proc/self/cgroup names, v2 (the
// "0::" line) and v1 (the line whose controllers list memory), from the
// process's cgroup up to the mount's root, and returns the lowest. In a
// cgroup namespace the path is "/" and the root's files are the
// container's; where the mount shows only the container's subtree and the
// path is the host's, the missing directories are skipped up to the root.
func (c cgroupFS) limit() (int64, bool) {
	f, err := os.Open(c.procCgroup)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var best int64
	found := false
	take := func(n int64, ok bool) {
		if ok && (!found || n < best) {
			best, found = n, true
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		ctrls, p, ok := strings.Cut(rest, ":")
		if !ok || !strings.HasPrefix(p, "/") {
			continue
		}
		switch {
		case id == "0" && ctrls == "":
			take(walkUp(c.root, p, "memory.max"))
		case hasController(ctrls, "memory"):
			take(walkUp(filepath.Join(c.root, "memory"), p, "memory.limit_in_bytes"))
		}
	}
	return best, found
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// walkUp reads file in dir/p and each of p's parents up to dir itself and
// returns the lowest limit set.
func walkUp(dir, p, file string) (int64, bool) {
	var best int64
	found := false
	for p = path.Clean(p); ; p = path.Dir(p) {
		if n, ok := readLimit(filepath.Join(dir, filepath.FromSlash(p), file)); ok && (!found || n < best) {
			best, found = n, true
		}
		if p == "/" {
			return best, found
		}
	}
}

// readLimit reads one limit file: false for "max", a v1 "unlimited", no
// file or anything unreadable.
func readLimit(file string) (int64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= v1Unlimited {
		return 0, false
	}
	return n, true
}
