// Package domaintest provides test support for the domain packages: a
// settable clock, a deterministic ID generator, and a command handler over
// an in-memory event log that round-trips every event through the JSON
// codec. It does no I/O.
package domaintest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/domain/memlog"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// IDs returns sequential UUIDs (…0001, …0002, …), safe for concurrent use.
type IDs struct {
	mu sync.Mutex
	n  uint64
}

// New returns the next UUID.
func (g *IDs) New() uuid.UUID {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	var u uuid.UUID
	u[6], u[8] = 0x40, 0x80 // version 4, RFC 4122 variant: a well-formed UUID
	for i := range 6 {
		u[15-i] = byte(g.n >> (8 * i))
	}
	return u
}

// Env is a ready test environment.
type Env struct {
	// Clock drives both the handler's now and the log's recorded_at.
	Clock *Clock
	// Log is the in-memory event log (with the JSON round trip).
	Log *memlog.Log
	// Handler runs commands on Log.
	Handler *domain.Handler
}

// TB is the part of testing.TB the helpers use; *testing.T and *rapid.T
// both satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

var _ TB = (testing.TB)(nil)

// New returns an environment whose clock starts at start.
func New(tb TB, start time.Time) *Env {
	tb.Helper()
	clock := NewClock(start)
	log := memlog.New(clock.Now, eventcodec.Registry())
	ids := &IDs{}
	return &Env{Clock: clock, Log: log, Handler: &domain.Handler{Log: log, Now: clock.Now, NewID: ids.New}}
}

// Request returns a request by caller with the given token roles, occurring
// now.
func (e *Env) Request(caller string, roles ...domain.Role) domain.Request {
	return domain.Request{Caller: domain.Principal{ID: caller, Roles: roles}, CorrelationID: "test", OccurredAt: e.Clock.Now()}
}

// Decree is the paper_ref fixtures give an HR backfill of master data.
const Decree = "SK 800/1/2026 (fixture)"

// MasterData returns req as HR sends a master-data act (a reporting line, a
// post change, a unit head) effective from d: when d lies before the day of
// req.OccurredAt (in WIB, beyond the default tolerance), a backfill naming
// [Decree], as HR enters a decree after its TMT (domain.md §10); otherwise
// req unchanged.
func MasterData(req domain.Request, d calendar.Date) domain.Request {
	return MasterDataAt(req, req.OccurredAt, d)
}

// MasterDataAt is [MasterData] for a request recorded at now (a request
// whose OccurredAt the handler fills).
func MasterDataAt(req domain.Request, now time.Time, d calendar.Date) domain.Request {
	if !now.IsZero() && bizdate.Default().EffectiveBackdated(now, d.AddDays(1).Start(policy.WIB)) {
		req.Backfill = &domain.BackfillRequest{PaperRef: Decree}
	}
	return req
}
