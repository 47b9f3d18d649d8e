package app

import (
	"os"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
)

// The measurement aids of this package (TestReportsComputeMeasure,
// TestViewsFirstFoldMeasure) share their preamble: run only when their
// variable is set, and time what they measure in wall and CPU time.

// MeasureEnv returns the variable name of a measurement aid, skipping the
// test when it is not set.
func MeasureEnv(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Skipf("%s is not set (a measurement aid for docs/benchmarks.md)", name)
	}
	return v
}

// Measure runs f and returns its wall time and the CPU seconds the process
// used meanwhile (cpusample.Self; the process does nothing else).
func Measure(f func()) (wall time.Duration, cpu float64) {
	c0, t0 := cpusample.Self(), time.Now()
	f()
	return time.Since(t0), cpusample.Self() - c0
}
