package eventstore_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// ledger is a store's content built in memory, appends sealed and signed
// as a backend does, positions dense from 1.
type ledger struct {
	events []eventstore.Event
	heads  map[string]eventstore.Head
}

func newLedger() *ledger { return &ledger{heads: map[string]eventstore.Head{}} }

func key(seed byte) *eventstore.Ed25519Signer {
	return eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(slices.Repeat([]byte{seed}, ed25519.SeedSize)))
}

func data(stream string, i int) eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		Actor: eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"}, Data: fmt.Appendf(nil, `{"s":%q,"i":%d}`, stream, i),
	}
}

// append adds an append of n events to stream, signed by s (unsigned when
// s is nil), and returns its events.
func (l *ledger) append(t testing.TB, s eventstore.Signer, stream string, n int) []eventstore.Event {
	t.Helper()
	h := l.heads[stream]
	in := make([]eventstore.EventData, n)
	for i := range in {
		in[i] = data(stream, int(h.Next())+i)
	}
	hashes := eventstore.Seal(stream, h, in)
	sig, err := eventstore.SignHash(s, hashes[n-1])
	if err != nil {
		t.Fatal(err)
	}
	var out []eventstore.Event
	for i := range in {
		ev := eventstore.Event{EventData: in[i], Stream: stream, Revision: h.Next() + uint64(i),
			Position: eventstore.Position(len(l.events) + 1), RecordedAt: time.Now().UTC(), Hash: hashes[i]}
		if i == n-1 {
			ev.Signature = sig
		}
		l.events = append(l.events, ev)
		out = append(out, ev)
	}
	last := out[n-1]
	l.heads[stream] = eventstore.Head{Exists: true, Revision: last.Revision, Hash: last.Hash}
	return out
}

// renumber gives the events dense positions again after an edit of the
// slice.
func (l *ledger) renumber() {
	for i := range l.events {
		l.events[i].Position = eventstore.Position(i + 1)
	}
}

func (l *ledger) seq(after eventstore.Position, limit int) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		n := 0
		for _, e := range l.events {
			if e.Position <= after {
				continue
			}
			if limit > 0 && n == limit {
				return
			}
			n++
			if !yield(e, nil) {
				return
			}
		}
	}
}

// ReadStream implements eventstore.StreamReader (forwards, From, Limit).
func (l *ledger) ReadStream(_ context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		found, n := false, 0
		for _, e := range l.events {
			if e.Stream != stream {
				continue
			}
			found = true
			if e.Revision < opts.From {
				continue
			}
			if opts.Limit > 0 && n == opts.Limit {
				return
			}
			n++
			if !yield(e, nil) {
				return
			}
		}
		if !found {
			yield(eventstore.Event{}, eventstore.ErrStreamNotFound)
		}
	}
}

// forge inserts an event with a correctly recomputed chain hash at index i
// of the global order (i = len: at the end), as the next revision of
// stream's stored head at that point, unsigned, and renumbers. Events of
// the stream after it are left as they are (they then no longer link).
func (l *ledger) forge(stream string, i int) eventstore.Event {
	var h eventstore.Head
	for _, e := range l.events[:i] {
		if e.Stream == stream {
			h = eventstore.Head{Exists: true, Revision: e.Revision, Hash: e.Hash}
		}
	}
	d := data(stream, 999)
	d.Data = []byte(`{"forged":true}`)
	ev := eventstore.Event{EventData: d, Stream: stream, Revision: h.Next(), RecordedAt: time.Now().UTC(),
		Hash: eventstore.ChainHash(h.Hash, stream, h.Next(), &d)}
	l.events = slices.Insert(l.events, i, ev)
	l.renumber()
	if i == len(l.events)-1 {
		l.heads[stream] = eventstore.Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash}
	}
	return l.events[i]
}

// authenticate runs a global feed over l from after and returns what it
// yielded and the error it ended with.
func authenticate(l *ledger, keys *eventstore.Keyring, after eventstore.Position, limit int, covered func(eventstore.Event) bool) ([]eventstore.Event, error) {
	a := eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: l, After: after, Covered: covered})
	var out []eventstore.Event
	for ev, err := range a.Feed(context.Background(), l.seq(after, limit)) {
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

func TestAuthenticatorGlobalFeed(t *testing.T) {
	a, b := key(1), key(2)
	onlyA := eventstore.NewKeyring(a.Public())
	both := eventstore.NewKeyring(a.Public(), b.Public())
	// base: three streams, appends of 1 to 3 events, interleaved.
	base := func(t *testing.T) *ledger {
		l := newLedger()
		for i := range 9 {
			l.append(t, a, fmt.Sprintf("skp-%d", i%3), 1+i%3)
		}
		return l
	}
	cases := []struct {
		name  string
		keys  *eventstore.Keyring
		after eventstore.Position
		limit int
		// change tampers with the ledger and returns the event the error
		// must name (nil: no error expected).
		change  func(t *testing.T, l *ledger) *eventstore.Event
		kind    error // the sentinel the error must match besides ErrIntegrity
		covered int   // events covered from the start
	}{
		{name: "untouched", keys: onlyA, change: func(*testing.T, *ledger) *eventstore.Event { return nil }},
		{name: "rotated key: old events by the old key", keys: both, change: func(t *testing.T, l *ledger) *eventstore.Event {
			l.append(t, b, "skp-0", 2)
			l.append(t, b, "skp-4", 1)
			return nil
		}},
		{name: "forged insert at the end (valid chain hash)", keys: onlyA, kind: eventstore.ErrUnsigned, change: func(t *testing.T, l *ledger) *eventstore.Event {
			ev := l.forge("skp-1", len(l.events))
			return &ev
		}},
		{name: "forged insert at the end of a stream, mid feed", keys: onlyA, kind: eventstore.ErrUnsigned, change: func(t *testing.T, l *ledger) *eventstore.Event {
			ev := l.forge("skp-9", 3) // after skp-1's first append
			return &ev
		}},
		{name: "forged insert covered by a later append, not contiguous", keys: onlyA, kind: eventstore.ErrUnsigned, change: func(t *testing.T, l *ledger) *eventstore.Event {
			ev := l.forge("skp-2", len(l.events))
			l.append(t, a, "skp-0", 1)
			l.append(t, a, "skp-2", 1) // a writer without the head check would sign over the forgery
			return &ev
		}},
		{name: "unknown key", keys: onlyA, kind: eventstore.ErrUnknownKey, change: func(t *testing.T, l *ledger) *eventstore.Event {
			evs := l.append(t, b, "skp-5", 3)
			return &evs[0]
		}},
		{name: "signature byte flipped", keys: onlyA, kind: eventstore.ErrBadSignature, change: func(t *testing.T, l *ledger) *eventstore.Event {
			i := len(l.events) - 1
			l.events[i].Signature.Sig = slices.Clone(l.events[i].Signature.Sig)
			l.events[i].Signature.Sig[7] ^= 1
			return &l.events[i-2] // the append's first event
		}},
		{name: "signature moved to another event", keys: onlyA, kind: eventstore.ErrBadSignature, change: func(t *testing.T, l *ledger) *eventstore.Event {
			l.events[0].Signature = l.events[2].Signature // skp-1@1's
			return &l.events[0]
		}},
		{name: "data edited, hash kept", keys: onlyA, change: func(t *testing.T, l *ledger) *eventstore.Event {
			l.events[5].Data = []byte(`{"forged":true}`)
			return &l.events[5]
		}},
		{name: "data edited, stream's hashes recomputed", keys: onlyA, kind: eventstore.ErrBadSignature, change: func(t *testing.T, l *ledger) *eventstore.Event {
			prev := eventstore.Hash{}
			first := -1
			for i := range l.events {
				e := &l.events[i]
				if e.Stream != "skp-1" {
					continue
				}
				if e.Revision == 0 {
					e.Data = []byte(`{"forged":true}`)
					first = i
				}
				e.Hash = eventstore.ChainHash(prev, e.Stream, e.Revision, &e.EventData)
				prev = e.Hash
			}
			return &l.events[first]
		}},
		{name: "event deleted inside a stream", keys: onlyA, change: func(t *testing.T, l *ledger) *eventstore.Event {
			// skp-2's first append has three events (positions 7-9); its next
			// starts at 17. Delete revision 3, the first of that one.
			i := slices.IndexFunc(l.events, func(e eventstore.Event) bool { return e.Stream == "skp-2" && e.Revision == 3 })
			l.events = slices.Delete(l.events, i, i+1)
			l.renumber()
			return &l.events[i]
		}},
		{name: "unsigned legacy prefix covered by a checkpoint", keys: onlyA, covered: 4, change: func(t *testing.T, l *ledger) *eventstore.Event {
			for i := range 4 {
				l.events[i].Signature = eventstore.WriterSignature{}
			}
			return nil
		}},
		{name: "unsigned event just past the covered prefix", keys: onlyA, covered: 6, kind: eventstore.ErrUnsigned, change: func(t *testing.T, l *ledger) *eventstore.Event {
			l.events[6].Signature = eventstore.WriterSignature{} // skp-0's second append, of one event
			return &l.events[6]
		}},
		{name: "feed from mid-history reads predecessors", keys: onlyA, after: 9, change: func(*testing.T, *ledger) *eventstore.Event { return nil }},
		{name: "feed from mid-history, predecessor deleted", keys: onlyA, after: 9, change: func(t *testing.T, l *ledger) *eventstore.Event {
			// Delete skp-0@0 (position 1): skp-0's first event after 9 has
			// revision 3, whose predecessor is revision 2, still there; so
			// delete revision 2 too, and the feed's first skp-0 event is
			// the one that cannot find its predecessor.
			l.events = slices.DeleteFunc(l.events, func(e eventstore.Event) bool { return e.Stream == "skp-0" && e.Revision == 2 })
			for i := range l.events {
				if l.events[i].Position > 9 && l.events[i].Stream == "skp-0" {
					return &l.events[i]
				}
			}
			return nil
		}},
		{name: "read cut inside an append reads its end", keys: onlyA, limit: 8, change: func(*testing.T, *ledger) *eventstore.Event { return nil }},
		{name: "positions out of order", keys: onlyA, change: func(t *testing.T, l *ledger) *eventstore.Event {
			l.events[10], l.events[11] = l.events[11], l.events[10]
			return &l.events[10]
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := base(t)
			want := c.change(t, l)
			var covered func(eventstore.Event) bool
			if c.covered > 0 {
				n := 0
				covered = func(eventstore.Event) bool { n++; return n <= c.covered }
			}
			got, err := authenticate(l, c.keys, c.after, c.limit, covered)
			if want == nil {
				if err != nil {
					t.Fatalf("authenticate = %v, want no error", err)
				}
				wantN := 0
				for _, e := range l.events {
					if e.Position > c.after {
						wantN++
					}
				}
				if c.limit > 0 {
					// The cut append is yielded whole once its end verified:
					// its events up to the limit.
					wantN = c.limit
				}
				if len(got) != wantN {
					t.Errorf("authenticated %d events, want %d", len(got), wantN)
				}
				return
			}
			var ie *eventstore.IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrIntegrity) {
				t.Fatalf("authenticate = %v, want an *IntegrityError", err)
			}
			if c.kind != nil && !errors.Is(err, c.kind) {
				t.Errorf("error %v does not match %v", err, c.kind)
			}
			if ie.EventID != want.ID || ie.Position != want.Position {
				t.Errorf("error names %s@%d (position %d), want %s@%d (position %d): %v", ie.Stream, ie.Revision, ie.Position, want.Stream, want.Revision, want.Position, err)
			}
			for _, e := range got {
				if e.Position >= want.Position {
					t.Errorf("yielded %s@%d at position %d, at or after the problem at %d", e.Stream, e.Revision, e.Position, want.Position)
				}
			}
		})
	}
}

func TestReadStreamAuthenticated(t *testing.T) {
	a := key(1)
	keys := eventstore.NewKeyring(a.Public())
	l := newLedger()
	l.append(t, a, "skp-1", 3)
	l.append(t, a, "skp-2", 1)
	l.append(t, a, "skp-1", 4)
	read := func(stream string, opts eventstore.ReadStreamOptions, prev *eventstore.Head) ([]uint64, error) {
		var revs []uint64
		for ev, err := range eventstore.ReadStreamAuthenticated(context.Background(), l, keys, stream, opts, prev) {
			if err != nil {
				return revs, err
			}
			revs = append(revs, ev.Revision)
		}
		return revs, nil
	}
	rev2 := l.events[2]
	for _, c := range []struct {
		name    string
		opts    eventstore.ReadStreamOptions
		prev    *eventstore.Head
		want    []uint64
		wantErr error
	}{
		{name: "whole stream", want: []uint64{0, 1, 2, 3, 4, 5, 6}},
		{name: "limit inside an append", opts: eventstore.ReadStreamOptions{Limit: 5}, want: []uint64{0, 1, 2, 3, 4}},
		{name: "from a revision, predecessor read", opts: eventstore.ReadStreamOptions{From: 4}, want: []uint64{4, 5, 6}},
		{name: "from a cached head", opts: eventstore.ReadStreamOptions{From: 3}, prev: &eventstore.Head{Exists: true, Revision: 2, Hash: rev2.Hash}, want: []uint64{3, 4, 5, 6}},
		{name: "from a wrong cached head", opts: eventstore.ReadStreamOptions{From: 3}, prev: &eventstore.Head{Exists: true, Revision: 2, Hash: eventstore.Hash{1}}, wantErr: eventstore.ErrIntegrity},
		{name: "missing stream", opts: eventstore.ReadStreamOptions{}, wantErr: eventstore.ErrStreamNotFound},
		{name: "backwards refused", opts: eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stream := "skp-1"
			if c.name == "missing stream" {
				stream = "skp-none"
			}
			got, err := read(stream, c.opts, c.prev)
			if c.want == nil {
				if err == nil || (c.wantErr != nil && !errors.Is(err, c.wantErr)) {
					t.Fatalf("read = %v, %v; want error %v", got, err, c.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("read = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	t.Run("forged tail", func(t *testing.T) {
		l.forge("skp-1", len(l.events))
		got, err := read("skp-1", eventstore.ReadStreamOptions{}, nil)
		if !errors.Is(err, eventstore.ErrUnsigned) || len(got) != 7 {
			t.Fatalf("read = %v, %v; want the 7 signed events then ErrUnsigned", got, err)
		}
	})
}

func TestKeyringFiles(t *testing.T) {
	a, b := key(1), key(2)
	k := eventstore.NewKeyring(a.Public(), b.Public(), a.Public())
	if got := k.IDs(); !slices.Equal(got, []string{a.KeyID(), b.KeyID()}) {
		t.Fatalf("IDs = %v, want %v", got, []string{a.KeyID(), b.KeyID()})
	}
	pemBytes, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	back, err := eventstore.ParseKeyring(pemBytes)
	if err != nil || !slices.Equal(back.IDs(), k.IDs()) {
		t.Fatalf("ParseKeyring(MarshalPEM) = %v, %v", back.IDs(), err)
	}
	priv, err := eventstore.MarshalWriterKey(ed25519.NewKeyFromSeed(slices.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.ParseWriterKey(priv)
	if err != nil || s.KeyID() != a.KeyID() {
		t.Fatalf("ParseWriterKey = %v, %v; want key %s", s, err, a.KeyID())
	}
	// A key made by openssl genpkey -algorithm ed25519, and its public
	// half from openssl pkey -pubout.
	const opensslKey = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIH3QMJxAuCh+ftbBJ0ybJyh65ZAAsPDg0q3OTTc+ho3S\n-----END PRIVATE KEY-----\n"
	const opensslPub = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEApq51M5K7nAls88/33Jo2Ke6PfO7CxBHkmKN5S9j21Hg=\n-----END PUBLIC KEY-----\n"
	ossl, err := eventstore.ParseWriterKey([]byte(opensslKey))
	if err != nil {
		t.Fatalf("ParseWriterKey(openssl key) = %v", err)
	}
	ok, err := eventstore.ParseKeyring([]byte("# trusted writers\n" + opensslPub))
	if err != nil || ok.IDs()[0] != ossl.KeyID() {
		t.Fatalf("ParseKeyring(openssl pub) = %v, %v; want key %s", ok.IDs(), err, ossl.KeyID())
	}
	for _, c := range []struct{ name, text string }{
		{"private key in a keyring", opensslKey},
		{"RSA key", "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALmZb5Gz9O7cHmLmzCcJzjy824PyPLIH\nGMyoY6SUHSYJUOYlsTLsDqEGNEQjwy5z6+ayYRvuZ9rF/0QoTFRTIJUCAwEAAQ==\n-----END PUBLIC KEY-----\n"},
		{"garbage after the keys", opensslPub + "not a key\n"},
		{"truncated block", opensslPub[:40]},
	} {
		if _, err := eventstore.ParseKeyring([]byte(c.text)); err == nil {
			t.Errorf("ParseKeyring(%s) = nil error", c.name)
		}
	}
	if _, err := eventstore.ParseWriterKey([]byte(opensslPub)); err == nil {
		t.Error("ParseWriterKey(a public key) = nil error")
	}
}

func TestSignAndCheckHead(t *testing.T) {
	a, b := key(1), key(2)
	keys := eventstore.NewKeyring(a.Public())
	l := newLedger()
	signed := l.append(t, a, "skp-1", 2)
	other := l.append(t, b, "skp-2", 1)
	unsigned := l.append(t, nil, "skp-3", 1)
	if sig, err := eventstore.SignHash(nil, signed[0].Hash); err != nil || !sig.IsZero() {
		t.Errorf("SignHash(nil signer) = %v, %v; want the zero signature", sig, err)
	}
	for _, c := range []struct {
		name string
		head eventstore.Event
		want error
	}{
		{"signed by a trusted key", signed[1], nil},
		{"not the last of its append", signed[0], eventstore.ErrUnsigned},
		{"signed by an unknown key", other[0], eventstore.ErrUnknownKey},
		{"unsigned", unsigned[0], eventstore.ErrUnsigned},
	} {
		err := keys.CheckHead(c.head)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: CheckHead = %v", c.name, err)
			}
			continue
		}
		var ie *eventstore.IntegrityError
		if !errors.As(err, &ie) || !errors.Is(err, c.want) || ie.EventID != c.head.ID {
			t.Errorf("%s: CheckHead = %v, want an IntegrityError matching %v naming the head", c.name, err, c.want)
		}
	}
}

// memStore is an eventstore.Store over a ledger, for reads.
type memStore struct{ *ledger }

func (m memStore) Append(context.Context, string, eventstore.ExpectedRevision, ...eventstore.EventData) (eventstore.AppendResult, error) {
	panic("not used")
}
func (m memStore) ReadAll(_ context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		n := 0
		for ev, err := range m.seq(opts.After, 0) {
			if !opts.Filter.Match(ev.Stream, ev.Type) {
				continue
			}
			if !yield(ev, err) {
				return
			}
			if n++; opts.Limit > 0 && n == opts.Limit {
				return
			}
		}
	}
}
func (m memStore) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.Event, error] {
	return m.ReadAll(ctx, eventstore.ReadAllOptions{After: opts.After, Filter: opts.Filter})
}
func (m memStore) Head(context.Context) (eventstore.Position, error) {
	return eventstore.Position(len(m.events)), nil
}
func (m memStore) Close() error { return nil }

func TestAuthenticatedStore(t *testing.T) {
	a := key(1)
	keys := eventstore.NewKeyring(a.Public())
	l := newLedger()
	for i := range 6 {
		l.append(t, a, fmt.Sprintf("skp-%d", i%2), 1+i%2)
	}
	forged := l.forge("skp-9", 3) // between two appends, another stream
	after := len(l.events) - 3
	s := eventstore.NewAuthenticatedStore(memStore{l}, keys)
	ctx := context.Background()
	type got struct {
		pos eventstore.Position
		err error
	}
	collect := func(seq iter.Seq2[eventstore.Event, error]) []got {
		var out []got
		for ev, err := range seq {
			out = append(out, got{ev.Position, err})
		}
		return out
	}
	all := collect(s.ReadAll(ctx, eventstore.ReadAllOptions{}))
	if len(all) != len(l.events) {
		t.Fatalf("ReadAll yielded %d, want every one of %d events (the forged one refused)", len(all), len(l.events))
	}
	for _, g := range all {
		if (g.pos == forged.Position) != (g.err != nil) {
			t.Errorf("position %d: error %v; only the forged event at %d is refused", g.pos, g.err, forged.Position)
		}
		if g.pos == forged.Position && !errors.Is(g.err, eventstore.ErrUnsigned) {
			t.Errorf("the forged event is refused with %v, want ErrUnsigned", g.err)
		}
	}
	// A filter that leaves the forged stream out sees nothing wrong.
	for _, g := range collect(s.ReadAll(ctx, eventstore.ReadAllOptions{Filter: eventstore.Filter{StreamPrefixes: []string{"skp-0"}}})) {
		if g.err != nil {
			t.Errorf("filtered ReadAll: %v", g.err)
		}
	}
	if n := len(collect(s.SubscribeAll(ctx, eventstore.SubscribeOptions{After: eventstore.Position(after)}))); n != 3 {
		t.Errorf("SubscribeAll after %d yielded %d events, want 3", after, n)
	}
	if n := len(collect(s.ReadAll(ctx, eventstore.ReadAllOptions{Limit: 2}))); n != 2 {
		t.Errorf("ReadAll with Limit 2 yielded %d", n)
	}
	var back []uint64
	for ev, err := range s.ReadStream(ctx, "skp-1", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 4, Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, ev.Revision)
	}
	if !slices.Equal(back, []uint64{4, 3, 2}) {
		t.Errorf("backwards read from 4, limit 3 = %v, want [4 3 2]", back)
	}
	var streamErr error
	for _, err := range s.ReadStream(ctx, "skp-9", eventstore.ReadStreamOptions{}) {
		streamErr = err
	}
	if !errors.Is(streamErr, eventstore.ErrUnsigned) {
		t.Errorf("ReadStream of the forged stream = %v, want ErrUnsigned", streamErr)
	}
	// Covered: the first events need no signature, once.
	for i := range 3 {
		l.events[i].Signature = eventstore.WriterSignature{}
	}
	cs := s.Covering(func() func(eventstore.Event) bool {
		n := 0
		return func(eventstore.Event) bool { n++; return n <= 3 }
	})
	for range 2 { // each read counts afresh
		for _, g := range collect(cs.ReadAll(ctx, eventstore.ReadAllOptions{})) {
			if g.err != nil && g.pos != forged.Position {
				t.Errorf("covered ReadAll: position %d refused: %v", g.pos, g.err)
			}
		}
	}
	// A marking read yields the forged event without an error, and its
	// verdict says why it is refused.
	ms := s.Marking()
	var marked eventstore.Event
	for ev, err := range ms.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatalf("marking ReadAll: %v", err)
		}
		if ev.Position == forged.Position {
			marked = ev
		}
	}
	if err := ms.Verdict(ctx, marked); !errors.Is(err, eventstore.ErrUnsigned) {
		t.Errorf("Verdict of the forged event = %v, want ErrUnsigned", err)
	}
	if err := ms.Verdict(ctx, l.events[len(l.events)-1]); err != nil {
		t.Errorf("Verdict of a sound event = %v", err)
	}
}

// liveStore is a memStore whose subscription delivers what there is, then
// waits (as a live subscription does) until its context ends.
type liveStore struct{ memStore }

func (l liveStore) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range l.ReadAll(ctx, eventstore.ReadAllOptions{After: opts.After, Filter: opts.Filter}) {
			if !yield(ev, err) {
				return
			}
		}
		<-ctx.Done()
		yield(eventstore.Event{}, ctx.Err())
	}
}

// TestLiveFeedSettlesAForgedTail: an unsigned event at the end of the
// store is refused by a live subscription once it has waited SettleAfter,
// instead of being held for ever.
func TestLiveFeedSettlesAForgedTail(t *testing.T) {
	a := key(1)
	l := newLedger()
	l.append(t, a, "skp-1", 2)
	l.append(t, a, "skp-2", 3)
	forged := l.forge("skp-1", len(l.events))
	s := eventstore.NewAuthenticatedStore(liveStore{memStore{l}}, eventstore.NewKeyring(a.Public()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	n := 0
	for ev, err := range s.SubscribeAll(ctx, eventstore.SubscribeOptions{}) {
		if err == nil {
			n++
			continue
		}
		if ev.ID != forged.ID || !errors.Is(err, eventstore.ErrUnsigned) {
			t.Fatalf("live feed ended with %v (event %s), want the forged tail refused", err, ev.ID)
		}
		break
	}
	if n != 5 || time.Since(start) < eventstore.SettleAfter {
		t.Errorf("delivered %d events, then refused the tail after %v; want 5, after at least %v", n, time.Since(start), eventstore.SettleAfter)
	}
}

// countingReader counts the point reads an Authenticator makes.
type countingReader struct {
	eventstore.StreamReader
	n int
}

func (c *countingReader) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	c.n++
	return c.StreamReader.ReadStream(ctx, stream, opts)
}

// TestSharedLinksSparePointReads: a feed that starts mid-history finds the
// predecessors another feed of the process authenticated, instead of
// reading each from the store.
func TestSharedLinksSparePointReads(t *testing.T) {
	a := key(1)
	keys := eventstore.NewKeyring(a.Public())
	l := newLedger()
	for i := range 12 {
		l.append(t, a, fmt.Sprintf("skp-%d", i%4), 1)
	}
	links := eventstore.NewLinks()
	r := &countingReader{StreamReader: l}
	for range eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: r, Links: links}).Feed(context.Background(), l.seq(0, 0)) {
	}
	if r.n != 0 {
		t.Fatalf("a feed from the start made %d point reads", r.n)
	}
	after := eventstore.Position(8)
	for _, err := range eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: r, Links: links, After: after}).Feed(context.Background(), l.seq(after, 0)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if r.n != 0 {
		t.Errorf("a feed from %d made %d point reads, want none: the links know the predecessors", after, r.n)
	}
	for _, err := range eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: r, After: after}).Feed(context.Background(), l.seq(after, 0)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if r.n != 4 {
		t.Errorf("without links a feed from %d made %d point reads, want 4 (one per stream)", after, r.n)
	}
}

// TestRememberedSignaturesAreExact: a signature remembered as verified
// vouches for that signature on that hash only.
func TestRememberedSignaturesAreExact(t *testing.T) {
	a := key(1)
	keys := eventstore.NewKeyring(a.Public())
	h := eventstore.Hash{7}
	sig, _ := eventstore.SignHash(a, h)
	if err := keys.Verify(h, sig); err != nil {
		t.Fatal(err)
	}
	bad := eventstore.WriterSignature{KeyID: sig.KeyID, Sig: slices.Clone(sig.Sig)}
	bad.Sig[3] ^= 1
	if err := keys.Verify(h, bad); !errors.Is(err, eventstore.ErrBadSignature) {
		t.Errorf("Verify of a changed signature after the right one verified = %v, want ErrBadSignature", err)
	}
	if err := keys.Verify(eventstore.Hash{8}, sig); !errors.Is(err, eventstore.ErrBadSignature) {
		t.Errorf("Verify of the remembered signature on another hash = %v, want ErrBadSignature", err)
	}
	if err := keys.Verify(h, sig); err != nil {
		t.Errorf("Verify again = %v", err)
	}
}
