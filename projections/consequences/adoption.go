package consequences

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/consequence"
	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// The tables are configuration, and a publication is never changed
// silently: so the ledger records which tables were adopted for which
// years (consequence.tables_adopted.v1, stream consequence-tables), every
// publication is computed with the tables the ledger adopted for its year
// (TableSet), and adopting tables that would change the figures of a year
// whose consequences are already published is refused (Adopt). A region
// that changes its TPP regulation adopts the new tables from the first
// year without published results ("from_year" in the tables file); the
// figures already published stay as they were, on every backend and after
// every restart.

// Adoption is one recorded adoption of tables.
type Adoption struct {
	// Tables are the tables adopted; FromYear the first year they cover.
	Tables   Tables
	FromYear int
	// Digest is the SHA-256 of the tables' canonical JSON (CanonicalJSON).
	Digest string
	// Position is the adoption event's position.
	Position eventstore.Position
}

// CanonicalJSON returns t's canonical JSON (without FromYear: the digest
// names the figures, whatever years they are adopted for) and its SHA-256
// in hex.
func CanonicalJSON(t Tables) (string, string) {
	t.FromYear = 0
	b, _ := json.Marshal(t) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:])
}

// TableSet are the tables of each year: the latest adoption (in the
// ledger's order) whose FromYear is at most the year, else DefaultTables.
// It is safe for concurrent use.
type TableSet struct {
	mu        sync.RWMutex
	adoptions []Adoption
	seen      map[eventstore.Position]bool
}

// NewTableSet returns a set with adoptions (in the ledger's order).
func NewTableSet(adoptions ...Adoption) *TableSet {
	s := &TableSet{seen: map[eventstore.Position]bool{}}
	for _, a := range adoptions {
		s.add(a)
	}
	return s
}

// Fixed returns a set in which every year has t (tests, and callers that
// compute without a ledger).
func Fixed(t Tables) *TableSet {
	_, d := CanonicalJSON(t)
	return NewTableSet(Adoption{Tables: t, Digest: d})
}

func (s *TableSet) add(a Adoption) {
	if a.Position != 0 && s.seen[a.Position] {
		return
	}
	s.seen[a.Position] = true
	s.adoptions = append(s.adoptions, a)
}

// For returns the tables of year and their digest.
func (s *TableSet) For(year int) (Tables, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := len(s.adoptions) - 1; i >= 0; i-- {
		if a := s.adoptions[i]; a.FromYear <= year {
			return a.Tables, a.Digest
		}
	}
	t := DefaultTables()
	_, d := CanonicalJSON(t)
	return t, d
}

// Adoptions returns the adoptions, in the ledger's order.
func (s *TableSet) Adoptions() []Adoption {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.adoptions)
}

// Apply adds the adoption ev records (any other event is ignored; the
// same adoption twice counts once). An adoption whose tables do not read
// back is poison.
func (s *TableSet) Apply(ev projections.Event) error {
	e, ok := ev.Payload.(consequence.TablesAdopted)
	if !ok {
		return nil
	}
	t, err := ReadTables(strings.NewReader(e.Tables))
	if err != nil {
		return projections.Poison(ev.Event, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(Adoption{Tables: t, FromYear: e.FromYear, Digest: e.Digest, Position: ev.Position})
	return nil
}

// LoadTableSet reads every adoption the store holds.
func LoadTableSet(ctx context.Context, store eventstore.Store) (*TableSet, error) {
	s := NewTableSet()
	for ev, err := range store.ReadStream(ctx, consequence.TablesStream, eventstore.ReadStreamOptions{}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		pe, err := projections.Decode(ev)
		if err != nil {
			return nil, err
		}
		if err := s.Apply(pe); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// TablesChangeError refuses an adoption that would change the figures of
// years whose consequences are already published.
type TablesChangeError struct {
	// Version is the refused tables' version; Years the published years it
	// would change.
	Version string
	Years   []int
}

func (e *TablesChangeError) Error() string {
	ys := make([]string, len(e.Years))
	for i, y := range e.Years {
		ys[i] = fmt.Sprint(y)
	}
	return fmt.Sprintf("consequences: the tables %q would change the published consequences of %s; a published consequence is never changed silently: "+
		"adopt them from a year without published results (\"from_year\": %d in the tables file), or keep the tables adopted (docs/consequences.md)",
		e.Version, strings.Join(ys, ", "), e.Years[len(e.Years)-1]+1)
}

// PublishedYears returns the years with at least one publication, from a
// fold of every SKP stream of the store (the years do not depend on the
// tables: only finality publishes).
func PublishedYears(ctx context.Context, store eventstore.Store) (map[int]bool, error) {
	fold := FoldSet(NewTableSet())
	states := map[string]*State{}
	years := map[int]bool{}
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{Filter: eventstore.Filter{StreamPrefixes: []string{domain.SKPStreamPrefix}}}) {
		if err != nil {
			return nil, err
		}
		pe, err := projections.Decode(ev)
		if err != nil {
			continue // poison: the projections report it
		}
		st := fold(states[ev.Stream], pe)
		states[ev.Stream] = st
		for _, p := range st.Published() {
			if per, err := period.Parse(p.Period); err == nil {
				years[per.Year()] = true
			}
		}
	}
	return years, nil
}

// AdoptionActor records adoptions.
var AdoptionActor = eventstore.Actor{ID: "system:consequence-tables", Role: "SYSTEM"}

// Adopt records in store that t is adopted from t.FromYear on, unless the
// latest adoption is the same (then it returns false). The first adoption
// is taken as it is (the tables the service ran with); a later one is
// refused with a *TablesChangeError when a year from t.FromYear on has
// published consequences computed with other tables. source says where
// the tables came from (the reason recorded). Two processes adopting at
// once: the second is refused by the stream's revision and adopts again.
func Adopt(ctx context.Context, store eventstore.Store, t Tables, source string, now time.Time) (bool, error) {
	if err := t.Validate(); err != nil {
		return false, err
	}
	text, digest := CanonicalJSON(t)
	for attempt := 0; ; attempt++ {
		set, err := LoadTableSet(ctx, store)
		if err != nil {
			return false, err
		}
		ads := set.Adoptions()
		expected := eventstore.NoStream
		if n := len(ads); n > 0 {
			last := ads[n-1]
			if last.Digest == digest && last.FromYear == t.FromYear {
				return false, nil
			}
			expected = eventstore.Exact(uint64(n - 1))
			years, err := PublishedYears(ctx, store)
			if err != nil {
				return false, err
			}
			var bad []int
			for y := range years {
				if _, d := set.For(y); y >= t.FromYear && d != digest {
					bad = append(bad, y)
				}
			}
			if len(bad) > 0 {
				slices.Sort(bad)
				return false, &TablesChangeError{Version: t.Version, Years: bad}
			}
		}
		typ, v, data, err := eventcodec.Encode(consequence.TablesAdopted{Version: t.Version, FromYear: t.FromYear, Digest: digest, Tables: text})
		if err != nil {
			return false, err
		}
		_, err = store.Append(ctx, consequence.TablesStream, expected, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: v,
			OccurredAt: now, Actor: AdoptionActor, Reason: source, Data: data})
		if errors.Is(err, eventstore.ErrWrongExpectedRevision) && attempt < 3 {
			continue
		}
		return err == nil, err
	}
}
