package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// yieldCounter counts the events a store's ReadAll hands out: what an
// AuthenticatedStore in front of it must check.
type yieldCounter struct {
	eventstore.Store
	yielded     int
	streamReads int
}

func (s *yieldCounter) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	s.streamReads++
	return s.Store.ReadStream(ctx, stream, opts)
}

func (s *yieldCounter) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range s.Store.ReadAll(ctx, opts) {
			s.yielded++
			if !yield(ev, err) {
				return
			}
		}
	}
}

func registerUnit(t *testing.T, s eventstore.Store, id, parent string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"unit_id": id, "name": "Unit " + id, "parent_id": parent})
	ev := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: unitRegisteredType, SchemaVersion: 1, OccurredAt: time.Now(), Data: b, Actor: eventstore.Actor{ID: "hr", Role: "HR_ADMIN"}}
	if _, err := s.Append(context.Background(), domain.UnitStream(id), eventstore.NoStream, ev); err != nil {
		t.Fatal(err)
	}
}

// ManyAgencies reads the unit registrations as stored, the type filter
// applied by the store, and authenticates only the roots, each through
// its unit's stream: at a province the authenticated read of the whole
// log (every writer signature checked) kept the first request after a
// start waiting for minutes. A root registered by an untrusted key (an
// event slipped into the store) still does not count.
func TestManyAgenciesAuthenticatesOnlyTheRoots(t *testing.T) {
	ctx := context.Background()
	k1, k2, trusted, open := signedBolt(t)
	s := open(k1, trusted)
	registerUnit(t, s, "A", "")
	appendFeedback(t, s, 300)
	counter := &yieldCounter{Store: s}
	a := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(counter, trusted), Directory: oneUnit{}}}
	if many, err := a.ManyAgencies(ctx); err != nil || many {
		t.Fatalf("one root: many=%v err=%v", many, err)
	}
	if counter.yielded != 1 {
		t.Errorf("the scan handed %d events to be authenticated, want the 1 registration (not the 301 of the log)", counter.yielded)
	}
	s.Close()

	// A root slipped in under a key the deployment does not trust.
	s = open(k2, nil)
	registerUnit(t, s, "B", "")
	s.Close()
	s = open(k1, trusted)
	defer s.Close()
	counter = &yieldCounter{Store: s}
	a = &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(counter, trusted), Directory: oneUnit{}}}
	if many, err := a.ManyAgencies(ctx); err != nil || many {
		t.Fatalf("a forged second root counted: many=%v err=%v (the directory holds one agency)", many, err)
	}
	if a.tenancy.registered["B"] {
		t.Error("the forged root B was recorded")
	}
	// The refusal is remembered: the next claimless requests neither
	// rescan the log nor authenticate B's stream again, and the answer
	// stays the directory's.
	counter.yielded, counter.streamReads = 0, 0
	for range 3 {
		if many, err := a.ManyAgencies(ctx); err != nil || many {
			t.Fatalf("after the refusal: many=%v err=%v (the directory holds one agency)", many, err)
		}
	}
	if counter.yielded != 0 || counter.streamReads != 0 {
		t.Errorf("3 more calls read %d events of the log and %d streams, want 0 and 0 (the refused root remembered)", counter.yielded, counter.streamReads)
	}
	// A genuine second root appended later still counts.
	registerUnit(t, s, "C", "")
	if many, err := a.ManyAgencies(ctx); err != nil || !many {
		t.Fatalf("a genuine second root after the refused one: many=%v err=%v, want true", many, err)
	}
}

// releaseTo appends a transfer release of nip to agency to's stream.
func releaseTo(t *testing.T, s eventstore.Store, nip, to string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"nip": nip, "to_agency": to})
	ev := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: transferReleasedType, SchemaVersion: 1, OccurredAt: time.Now(), Data: b, Actor: eventstore.Actor{ID: "hr", Role: "HR_ADMIN"}}
	if _, err := s.Append(context.Background(), domain.EmployeeStream(nip), eventstore.Any, ev); err != nil {
		t.Fatal(err)
	}
}

// noEmployees is a directory that knows no employee.
type noEmployees struct{ oneUnit }

func (noEmployees) Employee(context.Context, string) (directory.Employee, error) {
	return directory.Employee{}, directory.ErrNotFound
}

// movedIn reads the transfer releases as stored and authenticates only
// the releases found, each through its employee's stream: a release slipped
// in under an untrusted key is not taken, and the log's other events are
// not handed to the authenticator.
func TestMovedInAuthenticatesOnlyTheReleases(t *testing.T) {
	ctx := context.Background()
	k1, k2, trusted, open := signedBolt(t)
	s := open(k1, trusted)
	registerUnit(t, s, "A", "")
	appendFeedback(t, s, 200)
	releaseTo(t, s, "111", "B")
	s.Close()
	s = open(k2, nil) // a release slipped in under a key the deployment does not trust
	releaseTo(t, s, "222", "B")
	s.Close()
	s = open(k1, trusted)
	defer s.Close()
	counter := &yieldCounter{Store: s}
	cfg := Config{Store: eventstore.NewAuthenticatedStore(counter, trusted), Directory: noEmployees{}}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	if _, err := a.movedIn(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if counter.yielded > 2 {
		t.Errorf("the scan handed %d events to be authenticated, want only the 2 releases (not the log's %d)", counter.yielded, 203)
	}
	if !a.tenancy.released["B"]["111"] {
		t.Error("the genuine release of 111 was not taken")
	}
	if a.tenancy.released["B"]["222"] {
		t.Error("the forged release of 222 was taken")
	}
	// The forged release does not hold the scan back: the next list
	// does not read the log again.
	if head, _ := s.Head(ctx); a.tenancy.releasedTo != head {
		t.Errorf("the scan stopped at %d, want the head %d (past the forged release)", a.tenancy.releasedTo, head)
	}
}

// signedBolt returns a trusted and an untrusted writer key, a keyring
// trusting the first, and open, which opens one bbolt file of the test
// signing with k and reading with ring (nil: no check).
func signedBolt(t *testing.T) (k1, k2 ed25519.PrivateKey, trusted *eventstore.Keyring, open func(ed25519.PrivateKey, *eventstore.Keyring) *boltstore.Store) {
	t.Helper()
	_, k1, _ = ed25519.GenerateKey(nil)
	_, k2, _ = ed25519.GenerateKey(nil)
	trusted = eventstore.NewKeyring(k1.Public().(ed25519.PublicKey))
	path := filepath.Join(t.TempDir(), "k.db")
	open = func(k ed25519.PrivateKey, ring *eventstore.Keyring) *boltstore.Store {
		s, err := boltstore.Open(path, boltstore.Options{Signer: eventstore.NewEd25519Signer(k), Keyring: ring})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return k1, k2, trusted, open
}

// appendFeedback appends n feedback events to one SKP stream of s.
func appendFeedback(t *testing.T, s eventstore.Store, n int) {
	t.Helper()
	for i := range n {
		b, _ := json.Marshal(map[string]int{"i": i})
		if _, err := s.Append(context.Background(), "skp-x", eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "skp.feedback_given.v1", SchemaVersion: 1, OccurredAt: time.Now(), Data: b, Actor: eventstore.Actor{ID: "x", Role: "EMPLOYEE"}}); err != nil {
			t.Fatal(err)
		}
	}
}
