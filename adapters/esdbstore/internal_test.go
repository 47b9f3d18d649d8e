package esdbstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/esdbstore/esdbtest"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestEnvelopeGolden pins the metadata JSON: it is the stored contract of
// this backend.
func TestEnvelopeGolden(t *testing.T) {
	e := eventstore.EventData{
		ID:            uuid.MustParse("0b0e5f8e-4c1a-4d65-9a0f-3c2d1e0f9a11"),
		Type:          "skp.rating_assigned.v1",
		SchemaVersion: 2,
		OccurredAt:    time.Date(2026, 3, 3, 9, 30, 0, 123456000, time.UTC),
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		CorrelationID: "req-1",
		CausationID:   "cmd-1",
		Reason:        "Revisi nilai <koreksi> & \"catatan\" ✓",
		Data:          []byte(`{"predikat":"BAIK"}`),
	}
	h := eventstore.ChainHash(eventstore.Hash{}, "skp-1", 0, &e)
	signer := eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)))
	sig, err := eventstore.SignHash(signer, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		sig  eventstore.WriterSignature
	}{
		{"envelope.v1.json", eventstore.WriterSignature{}}, // not the last of its append
		{"envelope.v1-signed.json", sig},                   // the last, signed
	} {
		got, err := encodeMetadata(&e, h, c.sig)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", c.file)
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
			t.Errorf("%s: metadata JSON changed (-golden +got); run with -update only for a new envelope format:\n%s", c.file, diff)
		}

		// And it decodes back to the same envelope.
		back, err := decode("skp-1", &esdb.RecordedEvent{
			EventID: e.ID, EventType: e.Type, StreamID: "skp-1", Position: esdb.Position{Commit: 7, Prepare: 7},
			CreatedDate: time.Now(), Data: e.Data, UserMetadata: got,
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(e, back.EventData); diff != "" {
			t.Errorf("decode(encode(e)) (-want +got):\n%s", diff)
		}
		if back.Hash != h || back.Position != 8 || back.Signature.KeyID != c.sig.KeyID || !bytes.Equal(back.Signature.Sig, c.sig.Sig) {
			t.Errorf("decoded hash %s position %d signature %+v, want %s, 8 and %+v", back.Hash, back.Position, back.Signature, h, c.sig)
		}
	}
}

// TestWrongExpectedVersionIsFoundWhenWrapped shows why errors are matched
// with errors.As: esdb.FromError reports a wrapped *esdb.Error as unknown.
func TestWrongExpectedVersionIsFoundWhenWrapped(t *testing.T) {
	conn := esdbtest.Start(t)
	cfg, err := esdb.ParseConnectionString(conn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.AppendToStream(testCtx(t), "s-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(3)},
		esdb.EventData{EventType: "test.happened.v1", Data: []byte{1}})
	wrapped := fmt.Errorf("layer: %w", err)
	if !wrongExpected(wrapped) {
		t.Fatalf("wrongExpected(%v) = false, want true", wrapped)
	}
	if e, ok := esdb.FromError(wrapped); ok || e.Code() == esdb.ErrorCodeWrongExpectedVersion {
		t.Errorf("esdb.FromError(wrapped) = %v, %v: it now sees through wrapping; the note in the package doc can go", e.Code(), ok)
	}
}

func TestStreamRegex(t *testing.T) {
	tests := []struct {
		name      string
		ns        string
		filter    eventstore.Filter
		match     []string
		different []string
	}{
		{"no filter", "", eventstore.Filter{}, []string{"skp-1", "9"}, []string{"$all", "$$skp-1", "$ce-skp", "_eid-0b0e5f8e", ""}},
		{"namespace", "t1.", eventstore.Filter{}, []string{"t1.skp-1"}, []string{"skp-1", "t1._eid-x", "t1x.skp", "t1.$x"}},
		{"prefixes", "t1-", eventstore.Filter{StreamPrefixes: []string{"skp-", "unit."}}, []string{"t1-skp-1", "t1-unit.9"}, []string{"t1-skpx", "t1-unitx", "skp-1"}},
		{"empty prefix", "", eventstore.Filter{StreamPrefixes: []string{""}}, []string{"a"}, []string{"$a", "_eid-1"}},
		{"metacharacters", "", eventstore.Filter{StreamPrefixes: []string{"a+b."}}, []string{"a+b.c"}, []string{"aab.c", "a+bxc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := regexp.MustCompile(names{ns: tt.ns}.streamRegex(tt.filter))
			for _, s := range tt.match {
				if !re.MatchString(s) {
					t.Errorf("%s does not match %s", re, s)
				}
			}
			for _, s := range tt.different {
				if re.MatchString(s) {
					t.Errorf("%s matches %s", re, s)
				}
			}
		})
	}
}

func TestHeadCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newHeadCache(2)
	h := func(rev uint64) eventstore.Head { return eventstore.Head{Exists: true, Revision: rev} }
	c.put("a", h(1))
	c.put("b", h(1))
	c.get("a")
	c.put("c", h(1))
	if _, ok := c.get("b"); ok {
		t.Error("b survived, want it evicted as least recently used")
	}
	c.put("a", h(0))
	if got, _ := c.get("a"); got.Revision != 1 {
		t.Errorf("head of a = %d after putting an older head, want 1 kept", got.Revision)
	}
	c.put("d", eventstore.Head{})
	if _, ok := c.get("d"); ok {
		t.Error("a missing stream was cached")
	}
	c.forget("a")
	if _, ok := c.get("a"); ok {
		t.Error("a survived forget")
	}
}

// TestServerThatStartsLate: the v4 client closes itself when its first
// connection finds no node. The store replaces it, so the store works as
// soon as the server is up.
func TestServerThatStartsLate(t *testing.T) {
	addr := esdbtest.FreeAddr(t)
	s, err := Open(esdbtest.ConnectionStringFor(addr)+"&maxDiscoverAttempts=2&discoveryInterval=10&gossipTimeout=1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := eventstore.EventData{ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "system"}}

	if _, err := s.Append(testCtx(t), "s-1", eventstore.NoStream, ev); err == nil {
		t.Fatal("Append with no server succeeded")
	}
	s.mu.Lock()
	first := s.client
	s.mu.Unlock()
	if _, err := s.Append(testCtx(t), "s-1", eventstore.NoStream, ev); err == nil {
		t.Fatal("second Append with no server succeeded")
	}
	s.mu.Lock()
	second := s.client
	s.mu.Unlock()
	if first == nil || second == first {
		t.Errorf("the client that closed itself was kept (%p, then %p), want a new one", first, second)
	}

	srv := esdbtest.New(esdbtest.Config{})
	if err := srv.Listen(addr); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	res, err := s.Append(testCtx(t), "s-1", eventstore.NoStream, ev)
	if err != nil {
		t.Fatalf("Append once the server is up = %v", err)
	}
	if res.Revision != 0 {
		t.Errorf("Append = %+v, want revision 0", res)
	}
}

// TestContextBoundsAHangingClient: against a listener that accepts
// connections and never answers, the client's discovery ignores the
// context; the store still returns when the context ends.
func TestContextBoundsAHangingClient(t *testing.T) {
	l, err := newBlackhole()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := Open(esdbtest.ConnectionStringFor(l.Addr().String())+"&maxDiscoverAttempts=1&gossipTimeout=1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	ev := eventstore.EventData{ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "system"}}
	_, err = s.Append(ctx, "s-1", eventstore.NoStream, ev)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Append returned after %v, want soon after the 200ms deadline", d)
	}
	var got error
	for _, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		got = err
		break
	}
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("ReadAll = %v, want context.DeadlineExceeded", got)
	}
}
