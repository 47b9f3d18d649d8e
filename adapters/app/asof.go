package app

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// Cut names a past state of the ledger that the unit reports can be
// shown at (the as-of control): everything recorded at or before an
// instant, or, when Position is set, every event at or before a ledger
// position (an audit trail's position names one exact state, where an
// instant may fall between the appends of one moment). The edges check
// that it is not in the future.
type Cut struct {
	At       time.Time
	Position eventstore.Position
}

// IsZero reports whether c names no past state (now).
func (c Cut) IsZero() bool { return c.At.IsZero() && c.Position == 0 }

// String is the cut as the API names it: the position, or the instant in
// RFC 3339 (UTC).
func (c Cut) String() string {
	if c.Position != 0 {
		return strconv.FormatUint(uint64(c.Position), 10)
	}
	if c.At.IsZero() {
		return ""
	}
	return c.At.UTC().Format(time.RFC3339Nano)
}

func (c Cut) key() string {
	if c.Position != 0 {
		return "p" + strconv.FormatUint(uint64(c.Position), 10)
	}
	return "t" + c.At.UTC().Format(time.RFC3339Nano)
}

// pastSettled is how long after an instant its state is taken as
// settled: an append in flight at the instant may be recorded at it and
// committed a little later, so a cut more recent than this is rebuilt for
// each report rather than kept.
const pastSettled = time.Minute

// pastWait bounds how long an as-of report waits for the read models it
// reads to have read up to its cut (they are usually a moment behind the
// head); past it the report is refused as not ready (503 unavailable,
// with Retry-After), never answered from read models that lack part of
// the cut. (A variable for the tests.)
var pastWait = 2 * time.Second

// pastMax bounds the cuts whose rebuilt SKPs are kept, and pastEntriesMax
// what their memos hold together (rebuilt SKPs, their evaluations, kept
// answers): past either, the oldest cuts are forgotten.
const (
	pastMax        = 16
	pastEntriesMax = 50_000
)

// pastSlots bounds the as-of reports computed at once across callers, and
// a caller computes one at a time (a report of a cut not kept reads a
// stream per SKP changed since the cut: up to every SKP of the
// deployment); a report waits pastSlotWait for its turn, then is refused
// as not ready (503, Retry-After). A report kept in the report cache takes
// no slot.
const (
	pastSlots    = 2
	pastSlotWait = 5 * time.Second
)

// pastCache keeps, per cut, what was rebuilt of the SKPs changed since it:
// the state of the ledger at a past cut never changes (an event appended
// now is recorded now, at a later position), so a rebuilt SKP serves
// every later report of that cut, and a report after new appends rebuilds
// only the SKPs changed since the last one (the others are in the memo, or
// unchanged since the cut and read from today's rows). Only what was
// computed from read models that had read up to the cut is kept
// (App.pastReady).
type pastCache struct {
	mu    sync.Mutex
	cuts  map[string]*pastMemo
	order []string // oldest first

	// The slots of pastSlots, and each caller's own.
	slots   chan struct{}
	callers map[string]*callerSlot
}

type callerSlot struct {
	ch   chan struct{}
	refs int
}

type pastMemo struct {
	skps, evals sync.Map
	// answers keeps whole ForPeriod answers (settled cuts only).
	answers *sync.Map
	// target is the position the read models must have read for the
	// cut: the cut's position, or for an instant the head observed once
	// it had settled (every event recorded at or before it is at or
	// before that head).
	target eventstore.Position
	// size is how many entries the memo held when last counted.
	size int
}

func (c *pastCache) memo(cut Cut) *pastMemo {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cut.key()
	if m, ok := c.cuts[k]; ok {
		return m
	}
	if c.cuts == nil {
		c.cuts = map[string]*pastMemo{}
	}
	if len(c.order) >= pastMax {
		delete(c.cuts, c.order[0])
		c.order = c.order[1:]
	}
	m := &pastMemo{answers: &sync.Map{}}
	c.cuts[k] = m
	c.order = append(c.order, k)
	return m
}

// counted recounts m's entries after a report and forgets the oldest
// other cuts while the memos hold more than pastEntriesMax together.
func (c *pastCache) counted(m *pastMemo) {
	if m == nil {
		return
	}
	n := 0
	count := func(any, any) bool { n++; return true }
	m.skps.Range(count)
	m.evals.Range(count)
	if m.answers != nil {
		m.answers.Range(count)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m.size = n
	total := 0
	for _, k := range c.order {
		total += c.cuts[k].size
	}
	for i := 0; total > pastEntriesMax && i < len(c.order); {
		k := c.order[i]
		if c.cuts[k] == m {
			i++
			continue
		}
		total -= c.cuts[k].size
		delete(c.cuts, k)
		c.order = append(c.order[:i], c.order[i+1:]...)
	}
}

// turn waits for a slot to compute an as-of report for caller (one of
// pastSlots, and the caller's own), and returns its release.
func (c *pastCache) turn(ctx context.Context, caller string) (func(), error) {
	c.mu.Lock()
	if c.slots == nil {
		c.slots = make(chan struct{}, pastSlots)
		c.callers = map[string]*callerSlot{}
	}
	cs := c.callers[caller]
	if cs == nil {
		cs = &callerSlot{ch: make(chan struct{}, 1)}
		c.callers[caller] = cs
	}
	cs.refs++
	slots := c.slots
	c.mu.Unlock()
	leave := func() {
		c.mu.Lock()
		if cs.refs--; cs.refs == 0 {
			delete(c.callers, caller)
		}
		c.mu.Unlock()
	}
	timer := time.NewTimer(pastSlotWait)
	defer timer.Stop()
	busy := func() error {
		return Visible(fmt.Errorf("%w: as-of reports: no free slot", ErrNotReady),
			"too many reports of past states are being computed; repeat the request after Retry-After")
	}
	select {
	case cs.ch <- struct{}{}:
	case <-timer.C:
		leave()
		return nil, busy()
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
	select {
	case slots <- struct{}{}:
	case <-timer.C:
		<-cs.ch
		leave()
		return nil, busy()
	case <-ctx.Done():
		<-cs.ch
		leave()
		return nil, ctx.Err()
	}
	return func() {
		<-slots
		<-cs.ch
		leave()
	}, nil
}

// pastReady waits until the read models names have read up to cut (at
// most pastWait) and returns the memo to rebuild into: cut's kept one, or
// a fresh one not kept for an instant not yet settled or when the read
// models' positions cannot be told (no Positions). A cut the read models
// have not reached is refused as not ready: an SKP changed at or before
// the cut but not yet projected would be taken as unchanged, one drafted
// then would be missing, and neither may be served, let alone kept.
func (a *App) pastReady(ctx context.Context, cut Cut, names ...string) (*pastMemo, error) {
	if a.cfg.Positions == nil {
		return &pastMemo{}, nil
	}
	var m *pastMemo
	var target eventstore.Position
	switch {
	case cut.Position != 0:
		m, target = a.past.memo(cut), cut.Position
	case a.cfg.Now().Sub(cut.At) > pastSettled:
		m = a.past.memo(cut)
		a.past.mu.Lock()
		target = m.target
		a.past.mu.Unlock()
		if target == 0 {
			head, err := a.cfg.Store.Head(ctx)
			if err != nil {
				return nil, err
			}
			a.past.mu.Lock()
			if m.target == 0 {
				m.target = head
			}
			target = m.target
			a.past.mu.Unlock()
		}
	default:
		head, err := a.cfg.Store.Head(ctx)
		if err != nil {
			return nil, err
		}
		m, target = &pastMemo{}, head
	}
	deadline := time.Now().Add(pastWait)
	delay := 5 * time.Millisecond
	for {
		lo := target
		for _, n := range names {
			p, err := a.cfg.Positions.Checkpoint(ctx, n)
			if err != nil {
				return nil, err
			}
			lo = min(lo, p)
		}
		if lo >= target {
			return m, nil
		}
		if time.Now().Add(delay).After(deadline) {
			return nil, Visible(fmt.Errorf("%w: as of %s: the read models are at %d, the cut needs %d", ErrNotReady, cut, lo, target),
				"the reports' read models have not yet read up to as_of; repeat the request after Retry-After")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Past returns readers of the SKP summaries and the evaluations as they
// were at cut (today's when cut is zero), for the pages that list them
// beside an as-of report, once the read models have read up to the cut
// (App.pastReady: else a not-ready error). The rebuilt SKPs are kept per
// cut (pastCache). The caller decides access as for the current readers.
func (a *App) Past(ctx context.Context, cut Cut) (skps.Reader, evaluations.Reader, error) {
	names := []string{directory.Name, skps.Name}
	if a.cfg.Evaluations != nil {
		names = append(names, evaluations.Name)
	}
	s, e, _, err := a.pastReaders(ctx, cut, names...)
	return s, e, err
}

// pastReaders is Past reading names, with the memo (nil at a zero cut).
func (a *App) pastReaders(ctx context.Context, cut Cut, names ...string) (skps.Reader, evaluations.Reader, *pastMemo, error) {
	if cut.IsZero() || a.cfg.Store == nil {
		return a.cfg.SKPList, a.cfg.Evaluations, nil, nil
	}
	m, err := a.pastReady(ctx, cut, names...)
	if err != nil {
		return nil, nil, nil, err
	}
	s := skps.AsOf{Current: a.cfg.SKPList, Store: a.cfg.Store, At: cut.At, Position: cut.Position, Memo: &m.skps}
	var e evaluations.Reader
	if a.cfg.Evaluations != nil {
		e = reports.EvaluationsAsOf{Current: a.cfg.Evaluations, SKPs: s, Memo: &m.evals, Answers: m.answers}
	}
	return s, e, m, nil
}
