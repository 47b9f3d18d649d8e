package boltstore

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestTrustedHeadsBound: the store remembers the heads it wrote up to
// Options.TrustedHeads, and forgets them past it. A head it remembers is
// not checked again before the next append (so a head unsigned behind its
// back goes unnoticed until the store forgets it, as before: the store
// wrote it); a head it forgot is checked, and the unsigned one refused.
// Without the option every store forgot past 65,536 heads, and a seeder
// going round 220,000 streams checked a head signature before most of its
// appends, in the one committer goroutine.
func TestTrustedHeadsBound(t *testing.T) {
	for _, tc := range []struct {
		bound   int
		refused bool
	}{{bound: 2, refused: true}, {bound: 16, refused: false}} {
		t.Run(fmt.Sprint(tc.bound), func(t *testing.T) {
			_, priv, err := ed25519.GenerateKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			signer := eventstore.NewEd25519Signer(priv)
			ring := eventstore.NewKeyring(signer.Public())
			s, err := Open(filepath.Join(t.TempDir(), "k.db"), Options{Signer: signer, Keyring: ring, TrustedHeads: tc.bound})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			ev := func() eventstore.EventData {
				return eventstore.EventData{ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}}
			}
			// Four streams, one append each, one at a time: four commits.
			for i := range 4 {
				if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i), eventstore.NoStream, ev()); err != nil {
					t.Fatal(err)
				}
			}
			// Strip the signature of s-0's head behind the store's back.
			err = s.db.Update(func(tx *bolt.Tx) error {
				_, pos, err := lastIndexEntry(tx.Bucket(bucketStreams).Cursor(), "s-0")
				if err != nil {
					return err
				}
				e, err := decodeEvent(eventstore.Position(bytesToU64(pos)), tx.Bucket(bucketEvents).Get(pos))
				if err != nil {
					return err
				}
				e.Signature = eventstore.WriterSignature{}
				return tx.Bucket(bucketEvents).Put(pos, encodeEvent(&e))
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Append(ctx, "s-0", eventstore.Any, ev())
			var ie *eventstore.IntegrityError
			if got := errors.As(err, &ie); got != tc.refused {
				t.Fatalf("TrustedHeads %d: append onto the stripped head: %v; want refused %v", tc.bound, err, tc.refused)
			}
		})
	}
}
