package scores

import (
	"context"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Policy is the projection's poison policy: Stop, because a gap would
// falsify the history an auditor relies on.
const Policy = projections.Stop

// Filter selects the events the projection reads: every SKP stream.
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.SKPStreamPrefix}}
}

// Store is what the projection needs from its backend. A Sink calls it
// inside the transaction that also stores the checkpoint.
type Store interface {
	// PutEntry stores e, replacing the row of (e.SKPID, e.EventID): an
	// entry is stored when given, and again when a later one supersedes it.
	PutEntry(ctx context.Context, e Entry) error
}

// Projection derives the score history from the domain's replay of each
// SKP (skp.SKP.ScoreHistory). It is not safe for concurrent use: its Sink
// applies one batch at a time.
type Projection struct {
	cache *projections.Cache[*state]
}

// state is what the projection keeps of one SKP: per period, the domain's
// SKP rebuilt from the draft and that period's ratings (so that its score
// history holds the one period; periods never influence each other's
// history), the SKP's unit, and the store position of each rating.
type state struct {
	draft     domain.Stored
	unit      string
	periods   map[string]*skp.SKP
	positions map[string]eventstore.Position // rating event ID → position
}

// New returns the projection. h rebuilds SKPs the cache does not hold;
// cacheSize bounds the cache (≤ 0: projections.DefaultCacheSize, growing only when
// a projections.BoundedHistory enables it, see projections.Cache).
func New(h projections.History, cacheSize int) *Projection {
	return &Projection{cache: projections.NewCache(h, cacheSize, fold)}
}

// Reset forgets every cached SKP (a Sink calls it when it resets).
func (p *Projection) Reset() { p.cache.Reset() }

// Apply projects ev: for a rating, every entry of its period as the
// domain's score history now shows it (the new one, and the earlier ones
// it supersedes).
func (p *Projection) Apply(ctx context.Context, s Store, ev projections.Event) error {
	if !strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) || ev.Payload == nil {
		return nil
	}
	st, err := p.cache.Advance(ctx, ev)
	if err != nil {
		p.cache.Forget(ev.Stream)
		return err
	}
	per := ratingPeriod(ev.Payload)
	if st == nil || per == "" {
		return nil
	}
	sk := st.periods[per]
	for _, h := range sk.ScoreHistory() {
		if h.Period != per {
			continue
		}
		e := Entry{SKPID: sk.ID(), NIP: sk.NIP(), UnitID: st.unit, ScoreEntry: h, Position: st.positions[h.EventID]}
		if err := s.PutEntry(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func ratingPeriod(e domain.Event) string {
	switch e := e.(type) {
	case skp.RatingAssigned:
		return e.Period
	case skp.RatingRevised:
		return e.Period
	}
	return ""
}

func fold(st *state, ev projections.Event) *state {
	if ev.Payload == nil {
		return st
	}
	if st == nil {
		d, ok := ev.Payload.(skp.Drafted)
		if !ok {
			return nil
		}
		return &state{draft: ev.Stored(), unit: d.Employee.UnitID, periods: map[string]*skp.SKP{}, positions: map[string]eventstore.Position{}}
	}
	if p := ratingPeriod(ev.Payload); p != "" {
		sk := st.periods[p]
		if sk == nil {
			sk = skp.Replay([]domain.Stored{st.draft})
			st.periods[p] = sk
		}
		sk.Apply(ev.Stored())
		st.positions[ev.ID.String()] = ev.Position
	}
	return st
}

// Less orders the entries of one SKP as the domain's ScoreHistory does:
// by period in calendar order (the annual period last), then in the order
// given. Backends sort ForSKP with it or its exact equivalent.
func Less(a, b Entry) bool {
	if a.Period != b.Period {
		return PeriodKey(a.Period) < PeriodKey(b.Period)
	}
	return a.Revision < b.Revision
}

// PeriodKey returns a sort key of a period text: its start date, with
// annual periods after every period of their year ("" sorts first).
func PeriodKey(p string) string {
	pr, err := period.Parse(p)
	if err != nil {
		return ""
	}
	if pr.IsAnnual() {
		return pr.Start().String()[:4] + "-99"
	}
	return pr.Start().String()
}
