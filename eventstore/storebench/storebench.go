// Package storebench drives an eventstore.Store with a fixed workload and
// measures it: W concurrent writers over N streams, a fixed number of events
// per stream (10 by default, about 300 bytes of JSON each), every append one
// event with an exact expected revision; and a full ReadAll. It is what
// `kinerjactl bench store` runs; the figures in docs/benchmarks.md come
// from it.
package storebench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Config is the workload.
type Config struct {
	// Writers is the number of concurrent writers (W).
	Writers int
	// Streams is the number of streams (N), spread over the writers.
	Streams int
	// EventsPerStream is how many events each stream gets, one per append
	// (default 10).
	EventsPerStream int
	// PayloadBytes is the approximate size of each event's JSON (default 300).
	PayloadBytes int
	// RunID makes stream names unique, so runs can repeat on one store
	// (default: a fresh random ID).
	RunID string
}

// Result is what one run measured. Latencies are in milliseconds.
type Result struct {
	Writers       int     `json:"writers"`
	Streams       int     `json:"streams"`
	Events        int     `json:"events"`
	Seconds       float64 `json:"seconds"`
	EventsPerSec  float64 `json:"events_per_sec"`
	P50Ms         float64 `json:"p50_ms"`
	P90Ms         float64 `json:"p90_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	ClientCPUSec  float64 `json:"client_cpu_sec"`
	ClientCPUPerc float64 `json:"client_cpu_percent"`
	Errors        int     `json:"errors"`
}

// ReadResult is what a ReadAll run measured.
type ReadResult struct {
	Events       int     `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	ClientCPUSec float64 `json:"client_cpu_sec"`
}

func (c *Config) setDefaults() {
	if c.Writers <= 0 {
		c.Writers = 1
	}
	if c.Streams <= 0 {
		c.Streams = c.Writers * 100
	}
	if c.EventsPerStream <= 0 {
		c.EventsPerStream = 10
	}
	if c.PayloadBytes <= 0 {
		c.PayloadBytes = 300
	}
	if c.RunID == "" {
		c.RunID = strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	}
}

// payload returns JSON of about n bytes shaped like a rating event.
func payload(n int) []byte {
	base := `{"skp_id":"196608011988031001-2026","period":"2026-Q1","work_result":"SESUAI_EKSPEKTASI","behaviour":"DI_ATAS_EKSPEKTASI","predikat":"BAIK","rationale":"`
	pad := max(n-len(base)-2, 0)
	return []byte(base + strings.Repeat("x", pad) + `"}`)
}

// Appends runs the append workload and returns its figures. It stops at the
// first error of each writer and counts it.
func Appends(ctx context.Context, s eventstore.Store, cfg Config) (Result, error) {
	cfg.setDefaults()
	data := payload(cfg.PayloadBytes)
	lat := make([][]time.Duration, cfg.Writers)
	errs := make([]error, cfg.Writers)
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := w; st < cfg.Streams; st += cfg.Writers {
				stream := fmt.Sprintf("bench-%s-%d", cfg.RunID, st)
				exp := eventstore.NoStream
				for range cfg.EventsPerStream {
					e := eventstore.EventData{
						ID: uuid.Must(uuid.NewV7()), Type: "bench.rating_assigned.v1", SchemaVersion: 1,
						OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "bench", Role: "SYSTEM"},
						CorrelationID: stream, Data: data,
					}
					t0 := time.Now()
					res, err := s.Append(ctx, stream, exp, e)
					lat[w] = append(lat[w], time.Since(t0))
					if err != nil {
						errs[w] = err
						return
					}
					exp = eventstore.Exact(res.Revision)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{Writers: cfg.Writers, Streams: cfg.Streams, Seconds: elapsed.Seconds(), ClientCPUSec: cpu.Seconds()}
	for _, err := range errs {
		if err != nil {
			r.Errors++
		}
	}
	r.Events = len(all) - r.Errors
	if len(all) > 0 {
		r.EventsPerSec = float64(r.Events) / elapsed.Seconds()
		r.P50Ms = ms(all[len(all)*50/100])
		r.P90Ms = ms(all[len(all)*90/100])
		r.P99Ms = ms(all[min(len(all)*99/100, len(all)-1)])
		r.MaxMs = ms(all[len(all)-1])
		r.ClientCPUPerc = 100 * cpu.Seconds() / elapsed.Seconds()
	}
	for _, err := range errs {
		if err != nil {
			return r, fmt.Errorf("storebench: %d writer(s) failed, first: %w", r.Errors, err)
		}
	}
	return r, nil
}

// ReadAll reads the whole store once and returns its figures.
func ReadAll(ctx context.Context, s eventstore.Store) (ReadResult, error) {
	cpu0 := cpuTime()
	start := time.Now()
	n := 0
	for _, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return ReadResult{}, fmt.Errorf("storebench: read all: %w", err)
		}
		n++
	}
	elapsed := time.Since(start)
	return ReadResult{Events: n, Seconds: elapsed.Seconds(), EventsPerSec: float64(n) / elapsed.Seconds(), ClientCPUSec: (cpuTime() - cpu0).Seconds()}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// SizeResult is what [Sizes] counted: the canonical bytes of a store's
// events, the figure a backend's on-disk size is compared with.
type SizeResult struct {
	// Events is the number of events read.
	Events int `json:"events"`
	// EnvelopeBytes sums the canonical envelopes ([eventstore.CanonicalEnvelope]).
	EnvelopeBytes int64 `json:"envelope_bytes"`
	// DataBytes sums the events' data (the JSON payloads).
	DataBytes int64 `json:"data_bytes"`
	// CanonicalBytes is EnvelopeBytes + DataBytes: what the hash chain covers,
	// without the 8-byte data length, the hash, the signature, the position
	// and RecordedAt that a store keeps beside it.
	CanonicalBytes int64 `json:"canonical_bytes"`
	// Signed is the number of events that carry a writer signature.
	Signed int `json:"signed"`
}

// Sizes reads every event of s and sums its canonical bytes (envelope and
// data).
func Sizes(ctx context.Context, s eventstore.Store) (SizeResult, error) {
	var r SizeResult
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return SizeResult{}, fmt.Errorf("storebench: read all: %w", err)
		}
		r.Events++
		r.EnvelopeBytes += int64(len(eventstore.CanonicalEnvelope(e.Stream, e.Revision, &e.EventData)))
		r.DataBytes += int64(len(e.Data))
		if e.Signature.KeyID != "" {
			r.Signed++
		}
	}
	r.CanonicalBytes = r.EnvelopeBytes + r.DataBytes
	return r, nil
}
