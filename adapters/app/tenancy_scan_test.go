package app

import (
	"context"
	"encoding/json"
	"iter"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// scanCounter is a log whose ReadAll, like bbolt's, visits every event
// after the start to apply the type filter; it counts the visits.
type scanCounter struct {
	eventstore.Store
	log     []eventstore.Event
	visited int
}

func (s *scanCounter) Head(context.Context) (eventstore.Position, error) {
	return eventstore.Position(len(s.log)), nil
}

func (s *scanCounter) ReadAll(_ context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for _, ev := range s.log[opts.After:] {
			s.visited++
			match := len(opts.Filter.TypePrefixes) == 0
			for _, p := range opts.Filter.TypePrefixes {
				match = match || strings.HasPrefix(ev.Type, p)
			}
			if match && !yield(ev, nil) {
				return
			}
		}
	}
}

func (s *scanCounter) add(typ string, data any) {
	b, _ := json.Marshal(data)
	s.log = append(s.log, eventstore.Event{EventData: eventstore.EventData{Type: typ, Data: b}, Position: eventstore.Position(len(s.log) + 1)})
}

// Every signed-in request asks ManyAgencies (a claimless token). It must
// read only what was appended since the last call, not everything after
// the last unit registration (which, with the units registered first,
// is the whole log: 430 ms a page at 2,000 employees).
func TestManyAgenciesReadsOnlyTheNewEvents(t *testing.T) {
	ctx := context.Background()
	store := &scanCounter{}
	store.add(unitRegisteredType, map[string]string{"unit_id": "A"})
	for range 1000 {
		store.add("skp.feedback_given.v1", map[string]string{"skp_id": "x"})
	}
	a := &App{cfg: Config{Store: store, Directory: oneUnit{}}}
	for i := range 3 {
		many, err := a.ManyAgencies(ctx)
		if err != nil || many {
			t.Fatalf("call %d: many=%v err=%v, want one agency", i, many, err)
		}
	}
	if store.visited != 1001 {
		t.Errorf("three calls over an unchanged log of 1,001 events visited %d, want 1,001 (the first call only)", store.visited)
	}
	store.add("skp.feedback_given.v1", map[string]string{"skp_id": "y"})
	store.add(unitRegisteredType, map[string]string{"unit_id": "B"})
	before := store.visited
	many, err := a.ManyAgencies(ctx)
	if err != nil || !many {
		t.Fatalf("after a second root: many=%v err=%v, want true", many, err)
	}
	if store.visited-before != 2 {
		t.Errorf("the call after two appends visited %d events, want 2", store.visited-before)
	}
	store.add(unitRegisteredType, map[string]string{"unit_id": "C", "parent_id": "B"})
	if many, _ := a.ManyAgencies(ctx); !many {
		t.Error("two agencies are never one again")
	}
}

// The first call after a start begins where the directory projection
// stands, with its roots, and reads only what was recorded after its
// checkpoint: the first signed-in request after a start read (and
// authenticated) the whole log, minutes at province scale. A root recorded
// after the checkpoint (the projection lagging) is still found.
func TestManyAgenciesStartsAtTheDirectoryCheckpoint(t *testing.T) {
	ctx := context.Background()
	store := &scanCounter{}
	store.add(unitRegisteredType, map[string]string{"unit_id": "u1"})
	for range 1000 {
		store.add("skp.feedback_given.v1", map[string]string{"skp_id": "x"})
	}
	pos := &positions{at: map[string]eventstore.Position{directory.Name: 900}}
	a := &App{cfg: Config{Store: store, Directory: oneUnit{}, Positions: pos}}
	if many, err := a.ManyAgencies(ctx); err != nil || many {
		t.Fatalf("many=%v err=%v, want one agency", many, err)
	}
	if store.visited != 101 {
		t.Errorf("the first call visited %d events, want the 101 after the directory's checkpoint", store.visited)
	}
	store.add(unitRegisteredType, map[string]string{"unit_id": "B"}) // the projection has not seen it
	if many, err := a.ManyAgencies(ctx); err != nil || !many {
		t.Fatalf("a second root recorded past the projection's checkpoint: many=%v err=%v, want true", many, err)
	}
	// Without positions the scan starts at the beginning, as before.
	store2 := &scanCounter{}
	store2.add(unitRegisteredType, map[string]string{"unit_id": "u1"})
	store2.add(unitRegisteredType, map[string]string{"unit_id": "B"})
	b := &App{cfg: Config{Store: store2, Directory: oneUnit{}}}
	if many, err := b.ManyAgencies(ctx); err != nil || !many || store2.visited != 2 {
		t.Errorf("without positions: many=%v err=%v visited=%d, want true after reading both", many, err, store2.visited)
	}
}
