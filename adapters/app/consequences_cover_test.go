package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// signCheckpoint appends to s a checkpoint signed by key over every
// audit-trail entry s holds, as the audit signer writes it.
func signCheckpoint(t *testing.T, s eventstore.Store, key *merkle.Signer) {
	t.Helper()
	ctx := context.Background()
	// The root as the first fold recomputes it (audit.PrefixRoot), over
	// every entry.
	tree := audit.NewPrefixRoot(^uint64(0))
	for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		tree.Add(ev)
	}
	cp := merkle.Checkpoint{Origin: key.Name(), Size: tree.Size(), Root: tree.Root(), SignedAt: eventstore.NormalizeTime(time.Now())}
	note, err := merkle.Sign(cp, key)
	if err != nil {
		t.Fatal(err)
	}
	_, sig, err := merkle.OpenSignature(note, key.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"note": string(note), "origin": cp.Origin, "size": cp.Size, "root_hash": cp.Root,
		"signed_at": cp.SignedAt, "key_id": sig.KeyID(), "signature": sig.Base64()})
	if _, err := s.Append(ctx, audit.CheckpointStream, eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: audit.CheckpointEventType,
		SchemaVersion: 1, OccurredAt: time.Now(), Data: b, Actor: eventstore.Actor{ID: "audit-signer", Role: "SYSTEM"}}); err != nil {
		t.Fatal(err)
	}
}

func auditSigner(t *testing.T) *merkle.Signer {
	t.Helper()
	skey, _, err := merkle.GenerateKey("test-log", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := merkle.ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// hasUnits folds the views of a and reports the units the calibration
// view knows of ids.
func hasUnits(ctx context.Context, a *App, ids ...string) (map[string]bool, error) {
	got := map[string]bool{}
	err := a.withViews(ctx, func(v *viewsCache) error {
		for _, id := range ids {
			got[id] = v.cal.HasUnit(id)
		}
		return nil
	})
	return got, err
}

// The first fold of the calibration and consequence views after a start
// read the whole log through the AuthenticatedStore: one Ed25519 check an
// append, minutes of CPU at a province. Under a checkpoint signed by the
// audit key the events need no writer signature, their root being the
// signed one: here they are written under a writer key the deployment does
// not trust, which a signature check refuses. The events past the
// checkpoint are still authenticated.
func TestViewsFirstFoldTrustsTheCheckpoint(t *testing.T) {
	ctx := context.Background()
	k1, k2, trusted, open := signedBolt(t)
	key := auditSigner(t)
	s := open(k2, nil) // no writer signature of these would verify
	registerUnit(t, s, "A", "")
	appendFeedback(t, s, 50)
	registerUnit(t, s, "A1", "A")
	s.Close()
	s = open(k1, trusted)
	defer s.Close()
	signCheckpoint(t, s, key)
	registerUnit(t, s, "B", "") // past the checkpoint, signed by the trusted key

	a := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(s, trusted), DocumentKey: key}}
	got, err := hasUnits(ctx, a, "A", "A1", "B")
	if err != nil {
		t.Fatalf("the first fold under a signed checkpoint: %v", err)
	}
	if !got["A"] || !got["A1"] || !got["B"] {
		t.Errorf("units folded %v, want A, A1 and B", got)
	}

	// Past the checkpoint an event must have its signature, in the next
	// fold and in a first fold alike.
	s.Close()
	s = open(k2, nil)
	registerUnit(t, s, "C", "")
	s.Close()
	s = open(k1, trusted)
	a.cfg.Store = eventstore.NewAuthenticatedStore(s, trusted)
	if _, err := hasUnits(ctx, a, "C"); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Errorf("the next fold took an unsigned event past the checkpoint: err %v", err)
	}
	fresh := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(s, trusted), DocumentKey: key}}
	if _, err := hasUnits(ctx, fresh, "C"); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Errorf("a first fold took an unsigned event past the checkpoint: err %v", err)
	}

	// Without an audit key to open the checkpoint, every signature is
	// checked, as before.
	none := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(s, trusted)}}
	if _, err := hasUnits(ctx, none, "A"); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Errorf("without the audit key the fold took events no trusted writer signed: err %v", err)
	}

}

// alteredStore hands out the events of its store with the payload of one
// event changed, its stored hash kept or recomputed (rehash) as a forger
// would.
type alteredStore struct {
	eventstore.Store
	id     uuid.UUID
	rehash bool
}

func (s alteredStore) alter(ev eventstore.Event) eventstore.Event {
	if ev.ID != s.id {
		return ev
	}
	ev.Data = []byte(`{"unit_id":"A","name":"Forged","parent_id":""}`)
	if s.rehash {
		ev.Hash = eventstore.ChainHash(eventstore.Hash{}, ev.Stream, ev.Revision, &ev.EventData) // A's first event
	}
	return ev
}

func (s alteredStore) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range s.Store.ReadAll(ctx, opts) {
			if !yield(s.alter(ev), err) {
				return
			}
		}
	}
}

func (s alteredStore) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range s.Store.ReadStream(ctx, stream, opts) {
			if !yield(s.alter(ev), err) {
				return
			}
		}
	}
}

// A stored event under the checkpoint whose payload was changed is
// refused: with its hash kept, by its chain link; with its hash recomputed,
// by the root, which is no longer the signed one (the fold is then done
// again with every signature checked, and the signature refuses it).
func TestViewsFirstFoldRefusesAnAlteredEvent(t *testing.T) {
	ctx := context.Background()
	k1, _, trusted, open := signedBolt(t)
	key := auditSigner(t)
	s := open(k1, trusted)
	defer s.Close()
	registerUnit(t, s, "A", "")
	appendFeedback(t, s, 20)
	signCheckpoint(t, s, key)
	var id uuid.UUID
	for ev, err := range s.ReadStream(ctx, domain.UnitStream("A"), eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		id = ev.ID
	}
	for _, rehash := range []bool{false, true} {
		a := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(alteredStore{Store: s, id: id, rehash: rehash}, trusted), DocumentKey: key}}
		if _, err := hasUnits(ctx, a, "A"); !errors.Is(err, eventstore.ErrIntegrity) {
			t.Errorf("rehash=%v: the altered registration was not refused: err %v", rehash, err)
		}
	}
	// Unaltered, the same store folds.
	a := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(s, trusted), DocumentKey: key}}
	if got, err := hasUnits(ctx, a, "A"); err != nil || !got["A"] {
		t.Errorf("the genuine store: units %v, err %v", got, err)
	}
}

// A retired audit key (DocumentKeys, kept to check old printed documents)
// does not vouch for a checkpoint: one that leaked would let a forger with
// write access sign a checkpoint over a forged log. Only the current key
// covers the first fold.
func TestViewsFirstFoldIgnoresRetiredKeys(t *testing.T) {
	ctx := context.Background()
	k1, k2, trusted, open := signedBolt(t)
	key := auditSigner(t)
	s := open(k2, nil) // no writer signature of these would verify
	registerUnit(t, s, "A", "")
	s.Close()
	s = open(k1, trusted)
	defer s.Close()
	signCheckpoint(t, s, key)
	retired := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(s, trusted), DocumentKeys: []*merkle.Verifier{key.Verifier()}}}
	if _, err := hasUnits(ctx, retired, "A"); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Errorf("a checkpoint opened only by a retired audit key covered events no trusted writer signed: err %v", err)
	}
	current := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(s, trusted), DocumentKey: key}}
	if got, err := hasUnits(ctx, current, "A"); err != nil || !got["A"] {
		t.Errorf("the current key's checkpoint: %v, %v", got, err)
	}
}

// countingStore counts the events its ReadAll hands out.
type countingStore struct {
	eventstore.Store
	read *int
}

func (s countingStore) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range s.Store.ReadAll(ctx, opts) {
			*s.read++
			if !yield(ev, err) {
				return
			}
		}
	}
}

// WarmViews makes the views' first fold (kinerjad runs it once ready), so
// that the first request of /konsekuensi or /kalibrasi reads nothing of the
// log; one cut short (its context ended) leaves the next request a sound
// fold. Events appended after it are folded by the next request.
func TestWarmViews(t *testing.T) {
	ctx := context.Background()
	k1, _, trusted, open := signedBolt(t)
	s := open(k1, trusted)
	defer s.Close()
	registerUnit(t, s, "A", "")
	registerUnit(t, s, "A1", "A")
	n := 0
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	a := &App{cfg: Config{Store: countingStore{s, &n}}}
	if err := a.WarmViews(cancelled); err == nil {
		t.Error("a warm-up with its context ended did not say so")
	}
	if err := a.WarmViews(ctx); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the warm-up read no event")
	}
	n = 0
	got, err := hasUnits(ctx, a, "A", "A1", "B")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || !got["A"] || !got["A1"] || got["B"] {
		t.Errorf("after the warm-up a request read %d events and found %v, want none read and A, A1", n, got)
	}
	registerUnit(t, s, "B", "")
	if got, err := hasUnits(ctx, a, "B"); err != nil || !got["B"] || n != 1 {
		t.Errorf("a unit registered after the warm-up: %v, %v, %d events read (want 1)", got, err, n)
	}
	if err := (&App{}).WarmViews(ctx); err != nil {
		t.Errorf("without a store: %v", err)
	}
}
