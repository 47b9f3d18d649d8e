package skps

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Policy is the projection's poison policy: a dashboard, so DeadLetter.
const Policy = projections.DeadLetter

// Filter selects the events the projection reads: every SKP stream.
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.SKPStreamPrefix}}
}

// Store is what the projection needs from its backend. A Sink calls it
// inside the transaction that also stores the checkpoint.
type Store interface {
	// PutSummary stores s, replacing the row of s.ID.
	PutSummary(ctx context.Context, s Summary) error
}

// Projection derives one Summary per SKP from the domain's replay of the
// SKP's stream. It is not safe for concurrent use: its Sink applies one
// batch at a time.
type Projection struct {
	cache *projections.Cache[*state]
}

// state is what the projection keeps of one SKP: the domain's aggregate,
// rebuilt from the events that shape a summary (Lifecycle), and the
// summary after the last event.
type state struct {
	sk  *skp.SKP
	sum Summary
}

// New returns the projection. h rebuilds SKPs the cache does not hold;
// cacheSize bounds the cache (≤ 0: projections.DefaultCacheSize, growing only when
// a projections.BoundedHistory enables it, see projections.Cache).
func New(h projections.History, cacheSize int) *Projection {
	return &Projection{cache: projections.NewCache(h, cacheSize, fold)}
}

// Reset forgets every cached SKP (a Sink calls it when it resets).
func (p *Projection) Reset() { p.cache.Reset() }

// Apply projects ev: the summary of its SKP after ev.
func (p *Projection) Apply(ctx context.Context, s Store, ev projections.Event) error {
	if !strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) || ev.Payload == nil {
		return nil
	}
	st, err := p.cache.Advance(ctx, ev)
	if err != nil {
		p.cache.Forget(ev.Stream)
		return err
	}
	if st == nil {
		return nil // a stream without a draft: nothing to summarise
	}
	sum := st.sum
	sum.Position = ev.Position
	return s.PutSummary(ctx, sum)
}

// Lifecycle reports whether e can change what a Summary holds besides the
// stream's revision and times: the draft, submission, return,
// establishment, amendment and the two endings. Only these are applied to
// the projection's SKP; a test holds the summary of every prefix of a
// journey equal to the summary of the domain's full replay.
func Lifecycle(e domain.Event) bool {
	switch e.(type) {
	case skp.Drafted, skp.Submitted, skp.Returned, skp.Established, skp.AmendmentOpened, skp.Cancelled, skp.ClosedForPositionChange:
		return true
	}
	return false
}

func fold(st *state, ev projections.Event) *state {
	if ev.Payload == nil {
		return st
	}
	if st == nil {
		if _, ok := ev.Payload.(skp.Drafted); !ok {
			return nil
		}
		st = &state{sk: skp.Replay([]domain.Stored{ev.Stored()})}
		st.sum = Of(st.sk.View(time.Time{}))
	} else if Lifecycle(ev.Payload) {
		st.sk.Apply(ev.Stored())
		st.sum = Of(st.sk.View(time.Time{}))
	}
	// Every event moves the stream's revision and times, as the domain's
	// applier does for every event.
	st.sum.Revision, st.sum.UpdatedAt, st.sum.RecordedAt = ev.Revision, ev.OccurredAt, ev.RecordedAt
	st.sum.Position = ev.Position
	return st
}

// Of returns the summary of an SKP view (Position is left zero: a view
// does not know store positions).
func Of(v skp.View) Summary {
	return Summary{
		ID: v.ID, NIP: v.NIP, Name: v.Employee.Name, UnitID: v.Employee.UnitID, Year: v.Year, Sequence: v.Sequence,
		Status: string(v.Status), Version: v.Version, Late: v.Late,
		AppraiserNIP: v.AppraiserNIP, AppraiserSuperiorNIP: v.AppraiserSuperiorNIP, DraftedOnBehalf: v.DraftedOnBehalf,
		Revision: v.Revision, DraftedAt: v.DraftedAt, UpdatedAt: v.UpdatedAt, RecordedAt: v.RecordedAt,
	}
}

// Match reports whether s passes q's filters (not Limit or Cursor). Every
// backend filters with it or with its exact equivalent.
func (q Query) Match(s Summary) bool {
	if q.NIP != "" && s.NIP != q.NIP {
		return false
	}
	if q.Year != 0 && s.Year != q.Year {
		return false
	}
	if q.Status != "" && s.Status != q.Status {
		return false
	}
	if q.Units != nil && !contains(q.Units, s.UnitID) && !contains(q.Employees, s.NIP) {
		return false
	}
	if q.Party != "" && s.NIP != q.Party && s.AppraiserNIP != q.Party && s.AppraiserSuperiorNIP != q.Party {
		return false
	}
	return true
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// DefaultLimit and MaxLimit bound a page of List.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// PageLimit returns the page size List uses for q.Limit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// ErrBadCursor is returned by List for a cursor it did not issue.
var ErrBadCursor = errors.New("skps: bad cursor")

// EncodeCursor returns the cursor of the page after the SKP id (opaque to
// clients; every backend encodes it alike, so a cursor survives a switch of
// backend).
func EncodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// DecodeCursor returns the id a cursor continues after ("" for no cursor),
// or an error wrapping ErrBadCursor.
func DecodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	return string(b), nil
}
