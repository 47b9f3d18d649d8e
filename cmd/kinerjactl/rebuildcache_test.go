package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// TestRebuildCacheSKPs: `projections rebuild --cache-skps` reaches the SKP
// projections' caches. With a cache of one SKP every SKP met out of turn is
// replayed (the rebuild says how many); with the default cache, which holds
// this seed's SKPs, none is. A negative size is a usage error.
func TestRebuildCacheSKPs(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "30", "--year", "2025"}, pgFlags...)...)
	replays := func(extra ...string) int {
		t.Helper()
		var out, errb bytes.Buffer
		args := append(append([]string{"projections", "rebuild", "skps,evaluations"}, pgFlags...), extra...)
		if err := run(context.Background(), args, func(string) string { return "" }, &out, &errb); err != nil {
			t.Fatalf("kinerjactl %v: %v\n%s", args, err, errb.String())
		}
		m := regexp.MustCompile(`replayed (\d+) streams`).FindStringSubmatch(errb.String())
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if n := replays(); n != 0 {
		t.Errorf("default cache: %d replays, want 0 (it holds every SKP of 30 employees)", n)
	}
	if n := replays("--cache-skps", "1"); n == 0 {
		t.Error("--cache-skps 1: no replay; the flag did not reach the caches")
	}
	if _, err := ctl(t, append(append([]string{"projections", "rebuild", "skps"}, pgFlags...), "--cache-skps", "-1")...); err == nil {
		t.Error("--cache-skps -1 was accepted")
	}
}
