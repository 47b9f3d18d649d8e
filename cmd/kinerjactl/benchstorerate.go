package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// openAppendResult is the JSON line of `bench store --rate`: the store's
// appends at a fixed arrival rate, timed from their due times (see
// openLoop), the figure a mutation's open-loop p99 is compared with.
type openAppendResult struct {
	Bench     string  `json:"bench"`
	Store     string  `json:"store"`
	Mode      string  `json:"mode"`
	RateAsked float64 `json:"rate_asked"`
	OpenConns int     `json:"open_conns"`
	DurationS float64 `json:"duration_s"`
	// Requests is the measured appends sent (due at or after the
	// warm-up's end), OK of them succeeded and Errors failed; RPS and the
	// latencies are the successes' (a failure is only counted).
	Requests int     `json:"requests"`
	OK       int     `json:"ok"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	LagP99   float64 `json:"send_lag_p99_ms"`
	// CPUUS is this process's CPU per append (the store runs in it:
	// for bbolt, the whole cost of an append).
	CPUUS       float64 `json:"cpu_us_per_append"`
	ErrorSample string  `json:"error_sample,omitempty"`
}

// openAppends appends one event at a time at rate per second, one
// schedule over warmup and then d, measuring only the appends due after
// the warm-up (see openLoop), over conns connections; each connection writes
// its own streams, eventsPerStream events each with an exact expected
// revision, the data about payload bytes of JSON, as `bench store` does.
func openAppends(ctx context.Context, s eventstore.Store, store string, rate float64, warmup, d time.Duration, conns, eventsPerStream, payload int) (openAppendResult, error) {
	run := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	base := `{"skp_id":"196608011988031001-2026","period":"2026-Q1","work_result":"SESUAI_EKSPEKTASI","behaviour":"DI_ATAS_EKSPEKTASI","predikat":"BAIK","rationale":"`
	data := []byte(base + strings.Repeat("x", max(payload-len(base)-2, 0)) + `"}`)
	type conn struct {
		stream int
		next   uint64 // the next event's revision in the current stream
	}
	cs := make([]conn, conns)
	do := func(w, _ int) string {
		c := &cs[w]
		if c.next == uint64(eventsPerStream) {
			c.stream, c.next = c.stream+1, 0
		}
		stream := fmt.Sprintf("bench-%s-%d-%d", run, w, c.stream)
		exp := eventstore.NoStream
		if c.next > 0 {
			exp = eventstore.Exact(c.next - 1)
		}
		e := eventstore.EventData{
			ID: uuid.Must(uuid.NewV7()), Type: "bench.rating_assigned.v1", SchemaVersion: 1,
			OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "bench", Role: "SYSTEM"},
			CorrelationID: stream, Data: data,
		}
		if _, err := s.Append(ctx, stream, exp, e); err != nil {
			c.stream, c.next = c.stream+1, 0 // start a new stream after a failure
			return err.Error()
		}
		c.next++
		return ""
	}
	// One schedule over the warm-up and the duration: a backlog the
	// warm-up built is still queued when the measured appends come due.
	cpu0 := processCPU()
	o := openLoop{rate: rate, warmup: warmup, duration: d, workers: conns, measuring: func() { cpu0 = processCPU() }}
	t := o.run(ctx, realClock{}, do)
	cpu := processCPU() - cpu0
	r := openAppendResult{Bench: "append", Store: store, Mode: "open", RateAsked: rate, OpenConns: conns,
		DurationS: round3(t.elapsed.Seconds()), Requests: t.sent(), OK: len(t.latency), Errors: t.errs, ErrorSample: t.sample,
		RPS: round3(t.okRate())}
	if t.sent() > 0 {
		r.CPUUS = round3(float64(cpu.Microseconds()) / float64(t.sent()))
	}
	l := summarise(t.latency, true)
	r.P50, r.P90, r.P95, r.P99, r.Max = l.P50, l.P90, l.P95, l.P99, l.Max
	r.LagP99 = summarise(t.lag, false).P99
	return r, ctx.Err()
}
