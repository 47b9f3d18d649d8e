package skps

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// AsOf is a Reader of the summaries as they were recorded at At: a summary
// recorded since is rebuilt from its stream's events recorded up to At
// (the domain's replay, as the projection does), and an SKP drafted after
// At is left out. The SKPs are those the current Reader knows (an SKP's
// id, unit and year never change). It is what the reports read for a
// past instant (the as-of control of the unit dashboard); it reads a
// stream per SKP changed since At, so it is for one report, not a hot path.
type AsOf struct {
	Current Reader
	// Store is read stream by stream, each up to the first event recorded
	// after At (the later events are not decoded).
	Store eventstore.Store
	At    time.Time
	// Position, when not zero, cuts by ledger position instead of At: the
	// events at or before it are included (an audit trail's position names
	// one exact state, where an instant may fall between two appends).
	Position eventstore.Position
	// Memo, when not nil, keeps each SKP's summary at At once rebuilt
	// (a report asks ForYear, then List, for the same SKPs).
	Memo *sync.Map
}

type asOfRow struct {
	s  Summary
	ok bool
}

var _ Reader = AsOf{}

// Later reports whether an event recorded at recorded, at position pos,
// comes after the cut (At, or Position when set).
func (r AsOf) Later(recorded time.Time, pos eventstore.Position) bool {
	if r.Position != 0 {
		return pos > r.Position
	}
	return recorded.After(r.At)
}

// at returns s as it was at r.At (ok false when it did not exist yet).
func (r AsOf) at(ctx context.Context, s Summary) (Summary, bool, error) {
	if !r.Later(s.RecordedAt, s.Position) {
		return s, true, nil
	}
	if r.Memo != nil {
		if v, ok := r.Memo.Load(s.ID); ok {
			row := v.(asOfRow)
			return row.s, row.ok, nil
		}
	}
	sum, ok, err := r.rebuild(ctx, s)
	if err == nil && r.Memo != nil {
		r.Memo.Store(s.ID, asOfRow{sum, ok})
	}
	return sum, ok, err
}

// rebuild folds s's stream up to At.
func (r AsOf) rebuild(ctx context.Context, s Summary) (Summary, bool, error) {
	var st *state
	for ev, err := range r.Store.ReadStream(ctx, domain.SKPStreamPrefix+s.ID, eventstore.ReadStreamOptions{}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return Summary{}, false, fmt.Errorf("skps: as of %s: %w", s.ID, err)
		}
		if r.Later(ev.RecordedAt, ev.Position) || ev.Revision > s.Revision {
			break
		}
		if st != nil && !lifecycleType(ev) {
			// What fold does for an event that changes no summary field but
			// the stream's revision and times, without decoding it.
			st.sum.Revision, st.sum.UpdatedAt, st.sum.RecordedAt, st.sum.Position = ev.Revision, ev.OccurredAt, ev.RecordedAt, ev.Position
			continue
		}
		e, err := projections.Decode(ev)
		if err != nil {
			return Summary{}, false, err
		}
		st = fold(st, e)
	}
	if st == nil {
		return Summary{}, false, nil
	}
	return st.sum, true, nil
}

func (r AsOf) mapAll(ctx context.Context, in []Summary, keep func(Summary) bool) ([]Summary, error) {
	out := make([]Summary, 0, len(in))
	for _, s := range in {
		v, ok, err := r.at(ctx, s)
		if err != nil {
			return nil, err
		}
		if ok && keep(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// Get implements Reader.
func (r AsOf) Get(ctx context.Context, id string) (Summary, error) {
	s, err := r.Current.Get(ctx, id)
	if err != nil {
		return s, err
	}
	v, ok, err := r.at(ctx, s)
	if err != nil {
		return Summary{}, err
	}
	if !ok {
		return Summary{}, ErrNotFound
	}
	return v, nil
}

// List implements Reader. It filters on the state at At, so a page may be
// shorter than the limit before the end (the cursor goes on).
func (r AsOf) List(ctx context.Context, q Query) ([]Summary, string, error) {
	inner := q
	inner.Status = "" // the status then may differ from the status now
	page, next, err := r.Current.List(ctx, inner)
	if err != nil {
		return nil, "", err
	}
	out, err := r.mapAll(ctx, page, q.Match)
	return out, next, err
}

// ForYear implements Reader.
func (r AsOf) ForYear(ctx context.Context, units []string, year int) ([]Summary, error) {
	list, err := r.Current.ForYear(ctx, units, year)
	if err != nil {
		return nil, err
	}
	return r.mapAll(ctx, list, func(Summary) bool { return true })
}

// lifecycleTypes remembers, by stored event type, whether the type's
// events are Lifecycle events (learnt by decoding the first one seen).
var lifecycleTypes sync.Map

// lifecycleType reports whether ev may change a summary beyond its
// revision and times (Lifecycle), decoding only the first event of each
// type; an event that does not decode counts as one (fold then sees it).
func lifecycleType(ev eventstore.Event) bool {
	if v, ok := lifecycleTypes.Load(ev.Type); ok {
		return v.(bool)
	}
	e, err := projections.Decode(ev)
	if err != nil || e.Payload == nil {
		return true
	}
	l := Lifecycle(e.Payload)
	lifecycleTypes.Store(ev.Type, l)
	return l
}
