package main

import (
	"bytes"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

// TestServingGCPercent: once kinerjad serves, the collector's target is
// --serving-gc-percent under a soft memory limit; an operator's GOGC, a
// zero percent and the absence of any limit (where nothing would bound
// the heap) leave the runtime's target alone. Fails if the start-up's
// target is kept (no applyServingGC) or if it is raised without a limit.
func TestServingGCPercent(t *testing.T) {
	oldGC, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) })
	gcPercent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name    string
		percent int
		limit   int64
		getenv  func(string) string
		want    int
	}{
		{"under the limit", 400, 1536 << 20, env(), 400},
		{"another percent", 250, 1536 << 20, env(), 250},
		{"GOGC set", 400, 1536 << 20, env("GOGC", "150"), 100},
		{"GOGC off", 400, 1536 << 20, env("GOGC", "off"), 100},
		{"zero percent", 0, 1536 << 20, env(), 100},
		{"no limit", 400, math.MaxInt64, env(), 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(c.limit)
			if got := applyServingGC(c.percent, c.getenv, quiet); got != c.want {
				t.Errorf("applyServingGC returned %d, want %d", got, c.want)
			}
			if got := gcPercent(); got != c.want {
				t.Errorf("GC percent %d, want %d", got, c.want)
			}
			if got := debug.SetMemoryLimit(-1); got != c.limit {
				t.Errorf("the memory limit changed to %d", got)
			}
		})
	}
	// The log says which target is in effect and why.
	var buf bytes.Buffer
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1536 << 20)
	applyServingGC(400, env(), slog.New(slog.NewTextHandler(&buf, nil)))
	if !strings.Contains(buf.String(), "gc_percent") || !strings.Contains(buf.String(), "percent=400") {
		t.Errorf("log %q, want a gc_percent line with percent=400", buf.String())
	}
}

// TestServingGCPercentFlag: the default is DefaultServingGCPercent, the
// flag and its variable set it, and a negative value is refused.
func TestServingGCPercentFlag(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServingGCPercent != DefaultServingGCPercent || DefaultServingGCPercent != 400 {
		t.Errorf("default %d (const %d), want 400", c.ServingGCPercent, DefaultServingGCPercent)
	}
	if c, err = parseConfig([]string{"--serving-gc-percent", "0"}, none, io.Discard); err != nil || c.ServingGCPercent != 0 {
		t.Errorf("--serving-gc-percent 0: %d, %v", c.ServingGCPercent, err)
	}
	if c, err = parseConfig(nil, func(k string) string {
		if k == "KINERJA_SERVING_GC_PERCENT" {
			return "200"
		}
		return ""
	}, io.Discard); err != nil || c.ServingGCPercent != 200 {
		t.Errorf("KINERJA_SERVING_GC_PERCENT=200: %d, %v", c.ServingGCPercent, err)
	}
	if _, err := parseConfig([]string{"--serving-gc-percent", "-1"}, none, io.Discard); err == nil {
		t.Error("--serving-gc-percent -1 was accepted")
	}
}
