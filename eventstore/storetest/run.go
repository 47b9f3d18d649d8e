package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// testCase is one conformance case. Each gets fresh storage from the backend.
type testCase struct {
	name string
	run  func(t *testing.T, h *harness)
}

// Run runs every conformance case against b as subtests of t.
func Run(t *testing.T, b Backend) {
	t.Helper()
	if b.NewLocation == nil || b.Open == nil {
		t.Fatal("storetest: Backend needs NewLocation and Open")
	}
	groups := [][]testCase{appendCases(), validationCases(), idempotencyCases(), concurrencyCases(),
		readStreamCases(), asOfCases(), readAllCases(), subscribeCases(), integrityCases(),
		contextCases(), lifecycleCases()}
	for _, g := range groups {
		for _, c := range g {
			t.Run(c.name, func(t *testing.T) {
				c.run(t, newHarness(t, b))
			})
		}
	}
}

// CaseCount returns the number of cases Run runs (crash and tamper cases
// included; they skip where a backend does not support them).
func CaseCount() int {
	n := 0
	for _, g := range [][]testCase{appendCases(), validationCases(), idempotencyCases(), concurrencyCases(),
		readStreamCases(), asOfCases(), readAllCases(), subscribeCases(), integrityCases(),
		contextCases(), lifecycleCases()} {
		n += len(g)
	}
	return n
}

// harness holds one case's storage and store.
type harness struct {
	t   *testing.T
	b   Backend
	loc string
	s   eventstore.Store
	cfg Config
}

func newHarness(t *testing.T, b Backend) *harness {
	t.Helper()
	return &harness{t: t, b: b, loc: b.NewLocation(t)}
}

// store opens the case's store on first use with DefaultConfig.
func (h *harness) store() eventstore.Store {
	h.t.Helper()
	if h.s == nil {
		h.open(eventstore.Limits{})
	}
	return h.s
}

// open (re)opens the store with limits and the suite's writer key, closing
// a previous one.
func (h *harness) open(lim eventstore.Limits) eventstore.Store {
	h.t.Helper()
	cfg := DefaultConfig()
	cfg.Limits = lim
	return h.openWith(cfg)
}

// openWith (re)opens the store with cfg, closing a previous one.
func (h *harness) openWith(cfg Config) eventstore.Store {
	h.t.Helper()
	h.close()
	s, err := h.b.Open(h.loc, cfg)
	if err != nil {
		h.t.Fatalf("Open(%s) = %v", h.loc, err)
	}
	h.s, h.cfg = s, cfg
	h.t.Cleanup(func() { h.close() })
	return s
}

// reopen closes and opens the store again with the same configuration.
func (h *harness) reopen() eventstore.Store {
	h.t.Helper()
	return h.openWith(h.cfg)
}

func (h *harness) close() {
	if h.s != nil {
		if err := h.s.Close(); err != nil {
			h.t.Errorf("Close() = %v", err)
		}
		h.s = nil
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// baseTime is the OccurredAt of generated events (with sub-microsecond
// digits and a zone, to test normalisation).
var baseTime = time.Date(2026, 3, 31, 10, 0, 0, 123456789, time.FixedZone("WIB", 7*3600))

// ev returns a valid event with a fresh ID.
func ev(typ string, data string) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 1,
		OccurredAt:    baseTime,
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		CorrelationID: "corr-1",
		CausationID:   "cause-1",
		Reason:        "because",
		Data:          []byte(data),
	}
}

// evs returns n valid events of type test.happened.v1.
func evs(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = ev("test.happened.v1", `{"n":`+strconv.Itoa(i)+`}`)
	}
	return out
}

// mustAppend appends and fails the test on error.
func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedRevision, events ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctx(t), stream, exp, events...)
	if err != nil {
		t.Fatalf("Append(%s, %s, %d events) = %v", stream, exp, len(events), err)
	}
	return res
}

// readStream collects a stream read; err is the first error yielded.
func readStream(t *testing.T, s eventstore.Store, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.Event, error) {
	t.Helper()
	var out []eventstore.Event
	for e, err := range s.ReadStream(ctx(t), stream, opts) {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

func mustReadStream(t *testing.T, s eventstore.Store, stream string, opts eventstore.ReadStreamOptions) []eventstore.Event {
	t.Helper()
	out, err := readStream(t, s, stream, opts)
	if err != nil {
		t.Fatalf("ReadStream(%s, %+v) = %v", stream, opts, err)
	}
	return out
}

func mustReadAll(t *testing.T, s eventstore.Store, opts eventstore.ReadAllOptions) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for e, err := range s.ReadAll(ctx(t), opts) {
		if err != nil {
			t.Fatalf("ReadAll(%+v) = %v", opts, err)
		}
		out = append(out, e)
	}
	return out
}

// revisions returns the revisions of events.
func revisions(events []eventstore.Event) []uint64 {
	out := make([]uint64, len(events))
	for i, e := range events {
		out[i] = e.Revision
	}
	return out
}
