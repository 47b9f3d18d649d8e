package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/projections/skps"
)

func TestSummarise(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		want latency
	}{
		{"empty", nil, latency{}},
		{"one", ms(7), latency{P50: 7, P90: 7, P95: 7, P99: 7, Max: 7}},
		{"unsorted hundred", func() []time.Duration {
			var xs []int
			for i := 100; i >= 1; i-- {
				xs = append(xs, i)
			}
			return ms(xs...)
		}(), latency{P50: 50, P90: 90, P95: 95, P99: 99, Max: 100}},
		{"ten", ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), latency{P50: 5, P90: 9, P95: 10, P99: 10, Max: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarise(tt.in, true); got != tt.want {
				t.Errorf("summarise = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// checkLatency fails unless l's percentiles are ordered and not negative.
func checkLatency(t *testing.T, what string, l latency) {
	t.Helper()
	if l.P50 < 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max || (l.P95 != 0 && (l.P95 < l.P90 || l.P95 > l.P99)) {
		t.Errorf("%s = %+v: percentiles out of order", what, l)
	}
}

// benchLag runs bench lag briefly with extra flags and checks the line is
// sane (never its figures).
func benchLag(t *testing.T, store string, extra ...string) lagResult {
	t.Helper()
	args := append([]string{"bench", "lag", "--store", store, "--rate", "200", "--duration", "500ms", "--warmup", "100ms",
		"--employees", "20", "--writers", "4"}, extra...)
	out := mustCtl(t, args...)
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("bench lag printed %d lines, want 1:\n%s", n, out)
	}
	var r lagResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bench lag printed %s: %v", out, err)
	}
	if r.Bench != "lag" || r.Store != store || r.Events <= 0 || r.RateTarget != 200 || r.RateAchieved <= 0 || r.SKPs <= 0 || r.Writers <= 0 {
		t.Errorf("bench lag = %+v", r)
	}
	if r.AppendErrors != 0 || r.Unseen != 0 || r.DeadLetters != 0 {
		t.Errorf("bench lag: %d append errors, %d events unseen, %d dead letters; want none", r.AppendErrors, r.Unseen, r.DeadLetters)
	}
	checkLatency(t, "append_ms", r.Append)
	checkLatency(t, "lag_all_ms", r.LagAll)
	checkLatency(t, "lag_skps_ms", r.LagSKPs)
	// Every event's lag to all read models includes its lag to skps.
	if r.LagSKPs.P50 > r.LagAll.P50 || r.LagSKPs.Max > r.LagAll.Max {
		t.Errorf("skps lag %+v exceeds the lag to all read models %+v", r.LagSKPs, r.LagAll)
	}
	if _, ok := r.P99ByReadModel[skps.Name]; !ok || len(r.P99ByReadModel) != 6 {
		t.Errorf("p99_ms_by_read_model = %v, want the six read models of SKP events", r.P99ByReadModel)
	}
	return r
}

func TestBenchLagBolt(t *testing.T) {
	r := benchLag(t, "bolt")
	if r.ReadModels != "memory" {
		t.Errorf("read_models = %q, want memory", r.ReadModels)
	}
}

func TestBenchLagPostgres(t *testing.T) {
	r := benchLag(t, "postgres", "--postgres-url", postgresURL(t))
	if r.ReadModels != "postgres" {
		t.Errorf("read_models = %q, want postgres", r.ReadModels)
	}
}

func TestBenchLagRefusesBadFlags(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "8")
	for _, args := range [][]string{
		{"--store", "kurrentdb"},
		{"--store", "postgres"},
		{"--rate", "0"},
		{"--employees", "3"},
		{"--writers", "0"},
		{"--data", data}, // holds a store already
	} {
		if _, err := ctl(t, append([]string{"bench", "lag", "--duration", "100ms"}, args...)...); err == nil {
			t.Errorf("bench lag %v succeeded, want an error", args)
		}
	}
}
