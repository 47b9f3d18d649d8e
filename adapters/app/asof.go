package app

import (
	"strconv"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
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

// pastMax bounds the cuts whose rebuilt SKPs are kept.
const pastMax = 16

// pastCache keeps, per cut, what was rebuilt of the SKPs changed since it:
// the state of the ledger at a past cut never changes (an event appended
// now is recorded now, at a later position), so a rebuilt SKP serves
// every later report of that cut, and a report after new appends rebuilds
// only the SKPs changed since the last one (the others are in the memo, or
// unchanged since the cut and read from today's rows).
type pastCache struct {
	mu    sync.Mutex
	cuts  map[string]*pastMemo
	order []string // oldest first
}

type pastMemo struct {
	skps, evals sync.Map
	// answers keeps whole ForPeriod answers (settled cuts only).
	answers *sync.Map
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

// Past returns readers of the SKP summaries and the evaluations as they
// were at cut (today's when cut is zero), for the pages that list them
// beside an as-of report. The rebuilt SKPs are kept per cut (pastCache).
// The caller decides access as for the current readers.
func (a *App) Past(cut Cut) (skps.Reader, evaluations.Reader) {
	if cut.IsZero() || a.cfg.Store == nil {
		return a.cfg.SKPList, a.cfg.Evaluations
	}
	m := &pastMemo{}
	if cut.Position != 0 || a.cfg.Now().Sub(cut.At) > pastSettled {
		m = a.past.memo(cut)
	}
	s := skps.AsOf{Current: a.cfg.SKPList, Store: a.cfg.Store, At: cut.At, Position: cut.Position, Memo: &m.skps}
	var e evaluations.Reader
	if a.cfg.Evaluations != nil {
		e = reports.EvaluationsAsOf{Current: a.cfg.Evaluations, SKPs: s, Memo: &m.evals, Answers: m.answers}
	}
	return s, e
}
