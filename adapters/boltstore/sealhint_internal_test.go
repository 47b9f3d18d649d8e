package boltstore

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

func openSigned(t *testing.T) (*Store, *eventstore.Keyring) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer := eventstore.NewEd25519Signer(priv)
	ring := eventstore.NewKeyring(signer.Public())
	s, err := Open(filepath.Join(t.TempDir(), "h.db"), Options{Signer: signer, Keyring: ring})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, ring
}

func hintEvent() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}}
}

// checkChain reads stream through an authenticating store: every chain
// hash and writer signature verified.
func checkChain(t *testing.T, s *Store, ring *eventstore.Keyring, stream string, want int) {
	t.Helper()
	n := 0
	for _, err := range eventstore.NewAuthenticatedStore(s, ring).ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatalf("%s after %d events: %v", stream, n, err)
		}
		n++
	}
	if n != want {
		t.Fatalf("%s: %d events, want %d", stream, n, want)
	}
}

// TestSealUsesWrittenHeads: a writer appending to its stream one command
// after another seals each append against the head the committer wrote
// last, without a read transaction (bbolt counts them): the seeder took
// one per append, ≈ 3 % of its CPU. Without the hints every append
// started one.
func TestSealUsesWrittenHeads(t *testing.T) {
	s, ring := openSigned(t)
	ctx := context.Background()
	res, err := s.Append(ctx, "skp-1", eventstore.NoStream, hintEvent())
	if err != nil {
		t.Fatal(err)
	}
	before := s.db.Stats().TxN
	const n = 50
	for range n {
		if res, err = s.Append(ctx, "skp-1", eventstore.Exact(res.Revision), hintEvent()); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.db.Stats().TxN - before; got != 0 {
		t.Errorf("%d read transactions for %d appends onto known heads, want 0", got, n)
	}
	checkChain(t, s, ring, "skp-1", n+1)
}

// TestSealHintStale: a hint that is not the head (written behind the
// hints' back, or by a racing append) costs a seal in the committer,
// never a wrong chain: every event still verifies.
func TestSealHintStale(t *testing.T) {
	s, ring := openSigned(t)
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Append(ctx, "a", eventstore.Any, hintEvent()); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	for _, bad := range []eventstore.Head{
		{},                           // "no such stream"
		{Exists: true, Revision: 1},  // an older revision, zero hash
		{Exists: true, Revision: 99}, // ahead of the stream
	} {
		s.sealMu.Lock()
		s.sealHeads["a"] = bad
		s.sealMu.Unlock()
		if _, err := s.Append(ctx, "a", eventstore.Any, hintEvent()); err != nil {
			t.Fatalf("hint %+v: %v", bad, err)
		}
	}
	checkChain(t, s, ring, "a", 6)

	// Racing writers on one stream: their seals go stale under each other.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := s.Append(ctx, "b", eventstore.Any, hintEvent()); err != nil {
					t.Errorf("writer %d append %d: %v", g, i, err)
				}
			}
		})
	}
	wg.Wait()
	checkChain(t, s, ring, "b", 160)
}

// TestSealHintsBounded: the hints stay within Options.TrustedHeads.
func TestSealHintsBounded(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	s, err := Open(filepath.Join(t.TempDir(), "b.db"), Options{Signer: eventstore.NewEd25519Signer(priv), TrustedHeads: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		if _, err := s.Append(context.Background(), fmt.Sprintf("s-%d", i), eventstore.NoStream, hintEvent()); err != nil {
			t.Fatal(err)
		}
		s.sealMu.RLock()
		n := len(s.sealHeads)
		s.sealMu.RUnlock()
		if n > 4 {
			t.Fatalf("%d hints after %d streams, bound 4", n, i+1)
		}
	}
}
