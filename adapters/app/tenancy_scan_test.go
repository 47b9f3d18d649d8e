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

// The directory projection is not the count's source, whatever its
// checkpoint says: a root registration it dead-lettered (or a faulty
// version of it skipped) is still counted from the store. (A first call
// that started at the directory's checkpoint with its roots missed B here
// and let claimless tokens keep their agency roles across agencies.)
func TestManyAgenciesDoesNotTrustTheDirectoryCheckpoint(t *testing.T) {
	ctx := context.Background()
	store := &scanCounter{}
	store.add(unitRegisteredType, map[string]string{"unit_id": "u1"})
	store.add(unitRegisteredType, map[string]string{"unit_id": "B"}) // dead-lettered by the directory
	for range 10 {
		store.add("skp.feedback_given.v1", map[string]string{"skp_id": "x"})
	}
	pos := &positions{at: map[string]eventstore.Position{directory.Name: 12}}
	a := &App{cfg: Config{Store: store, Directory: oneUnit{}, Positions: pos}} // the directory holds u1 only
	if many, err := a.ManyAgencies(ctx); err != nil || !many {
		t.Fatalf("many=%v err=%v, want two agencies (B is in the store)", many, err)
	}
}

// A request waiting for another's scan gives up with its own context.
func TestManyAgenciesWaitGivesUpWithTheRequest(t *testing.T) {
	store := &scanCounter{}
	store.add(unitRegisteredType, map[string]string{"unit_id": "u1"})
	a := &App{cfg: Config{Store: store, Directory: oneUnit{}}}
	release, err := a.tenancy.acquire(context.Background(), &a.tenancy.scan) // a scan in progress
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.ManyAgencies(ctx); err == nil {
		t.Error("a request whose context ended waited for the scan and answered")
	}
}
