package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestAuthenticatorHeadsNeverConfuseStreams: the Authenticator's compact
// record of stream heads (heads.go) indexes the streams by a hash of
// their names; streams whose hashes collide, whose names are prefixes of
// one another or lie side by side in its name chunks, must each keep
// their own head. Run with every name hashed alike (one long probe
// chain) and with the real hash, over more streams than one chunk of
// entries holds. A table that gave one stream another's head would
// refuse the honest feed (its chain links would not recompute) or let
// through an event chained on another stream's head.
func TestAuthenticatorHeadsNeverConfuseStreams(t *testing.T) {
	w := key(1)
	keys := eventstore.NewKeyring(w.Public())
	names := []string{"x", "xy", "xyz", "yx", "y", strings.Repeat("long", 5000), strings.Repeat("long", 5000) + "!"}
	for i := range 1100 { // more than one chunk of entries (1,024)
		names = append(names, fmt.Sprintf("skp-%d", i))
	}
	base := newLedger()
	for round := range 3 {
		for i, s := range names {
			if (i+round)%3 == 0 || round == 0 {
				base.append(t, w, s, 1+(i+round)%2)
			}
		}
	}
	build := func() *ledger {
		return &ledger{events: slices.Clone(base.events), heads: maps.Clone(base.heads)}
	}
	hashes := map[string]func(string) uint64{
		"seeded":      nil,
		"all collide": func(string) uint64 { return 42 },
		"by length":   func(s string) uint64 { return uint64(len(s)) },
	}
	for label, hash := range hashes {
		t.Run(label, func(t *testing.T) {
			run := func(l *ledger) (*eventstore.Authenticator, int, error) {
				a := eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: l})
				if hash != nil {
					eventstore.SetHeadHash(a, hash)
				}
				n := 0
				for _, err := range a.Feed(context.Background(), l.seq(0, 0)) {
					if err != nil {
						return a, n, err
					}
					n++
				}
				return a, n, nil
			}
			l := build()
			a, n, err := run(l)
			if err != nil || n != len(l.events) {
				t.Fatalf("honest feed: %d of %d events, %.300v", n, len(l.events), err)
			}
			for _, s := range names {
				if got, want := a.Head(s), l.heads[s]; got != want {
					t.Fatalf("Head(%.20q) = %d %s, want %d %s", s, got.Revision, got.Hash, want.Revision, want.Hash)
				}
			}
			if h := a.Head("skp-999999"); h.Exists {
				t.Fatalf("Head of a stream never read exists: %+v", h)
			}
			// Each stream in turn: its next event chained on the head of
			// the stream named before it (a neighbour in the name chunks,
			// a prefix, one of the same hash), signed by the trusted
			// writer. Only its own head can refuse it.
			for _, pair := range [][2]string{{"x", "xy"}, {"xy", "xyz"}, {"xyz", "x"}, {"yx", "y"}, {names[5], names[6]}, {"skp-7", "skp-8"}, {"skp-1099", "skp-0"}} {
				l := build()
				other, victim := l.heads[pair[0]], l.heads[pair[1]]
				d := data(pair[1], 777)
				rev := victim.Next() // only the hash differs from an honest one
				h := eventstore.ChainHash(other.Hash, pair[1], rev, &d)
				sig, err := eventstore.SignHash(w, h)
				if err != nil {
					t.Fatal(err)
				}
				l.events = append(l.events, eventstore.Event{EventData: d, Stream: pair[1], Revision: rev,
					Position: eventstore.Position(len(l.events) + 1), RecordedAt: time.Now().UTC(), Hash: h, Signature: sig})
				_, n, err := run(l)
				var ie *eventstore.IntegrityError
				if !errors.As(err, &ie) || ie.Stream != pair[1] || ie.Revision != rev || n != len(l.events)-1 {
					t.Fatalf("%.20s@%d chained on %.20s's head: after %d of %d events, %v; want it refused", pair[1], rev, pair[0], n, len(l.events), fmt.Sprintf("%.300v", err))
				}
			}
		})
	}
}
