package eventstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// specHash computes the chain hash straight from the encoding documented on
// CanonicalEnvelope, independently of the package's code, so a change to
// either one is caught.
func specHash(prev [32]byte, stream string, rev uint64, e eventstore.EventData) string {
	field := func(b []byte) []byte {
		n := len(b)
		return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, b...)
	}
	be := func(v uint64) []byte {
		return []byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	}
	var msg []byte
	msg = append(msg, prev[:]...)
	msg = append(msg, "kinerja/event/v1"...)
	msg = append(msg, field(e.ID[:])...)
	msg = append(msg, field([]byte(stream))...)
	msg = append(msg, field(be(rev))...)
	msg = append(msg, field([]byte(e.Type))...)
	msg = append(msg, field(be(uint64(e.SchemaVersion)))...)
	msg = append(msg, field(be(uint64(e.OccurredAt.UnixMicro())))...)
	for _, s := range []string{e.Actor.ID, e.Actor.Role, e.CorrelationID, e.CausationID, e.Reason} {
		msg = append(msg, field([]byte(s))...)
	}
	msg = append(msg, be(uint64(len(e.Data)))...)
	msg = append(msg, e.Data...)
	sum := sha256.Sum256(msg)
	return hex.EncodeToString(sum[:])
}

func golden() eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.MustParse("0b0e5f8e-4c1a-4d65-9a0f-3c2d1e0f9a11"),
		Type:          "skp.rating_assigned.v1",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2026, 3, 3, 2, 30, 0, 0, time.UTC),
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		CorrelationID: "req-1",
		CausationID:   "cmd-1",
		Data:          []byte(`{"period":"2026-Q1","work_result":"SESUAI_EKSPEKTASI","behaviour":"DI_ATAS_EKSPEKTASI","predikat":"BAIK"}`),
	}
}

func TestChainHashMatchesSpec(t *testing.T) {
	e := golden()
	got := eventstore.ChainHash(eventstore.Hash{}, "skp-196608011988031001-2026", 0, &e)
	if want := specHash([32]byte{}, "skp-196608011988031001-2026", 0, e); got.String() != want {
		t.Errorf("ChainHash = %s, spec says %s", got, want)
	}
	if got.String() != storetestGolden {
		t.Errorf("ChainHash(golden) = %s, pinned %s: the canonical encoding changed", got, storetestGolden)
	}
	// Second link: the previous hash is part of the input.
	e2 := golden()
	e2.ID = uuid.MustParse("1b0e5f8e-4c1a-4d65-9a0f-3c2d1e0f9a11")
	e2.Reason = "revisi"
	got2 := eventstore.ChainHash(got, "skp-196608011988031001-2026", 1, &e2)
	if want := specHash(got, "skp-196608011988031001-2026", 1, e2); got2.String() != want {
		t.Errorf("second link = %s, spec says %s", got2, want)
	}
}

// storetestGolden is the value pinned in storetest.GoldenHash.
const storetestGolden = "f9f67974e01d7035fd5a77acddcc5b0faf5691e11836e6f85472237393fe9b17"

func TestCanonicalEnvelopeUnambiguous(t *testing.T) {
	// Moving a byte from one field to the next must change the encoding.
	a, b := golden(), golden()
	a.CorrelationID, a.CausationID = "ab", "c"
	b.CorrelationID, b.CausationID = "a", "bc"
	if string(eventstore.CanonicalEnvelope("s", 0, &a)) == string(eventstore.CanonicalEnvelope("s", 0, &b)) {
		t.Error("envelopes with a byte moved between fields encode the same")
	}
	for _, edit := range []func(e *eventstore.EventData){
		func(e *eventstore.EventData) { e.ID[15]++ },
		func(e *eventstore.EventData) { e.Type = "skp.rating_assigned.v2" },
		func(e *eventstore.EventData) { e.SchemaVersion = 2 },
		func(e *eventstore.EventData) { e.OccurredAt = e.OccurredAt.Add(time.Microsecond) },
		func(e *eventstore.EventData) { e.Actor.ID = "x" },
		func(e *eventstore.EventData) { e.Actor.Role = "x" },
		func(e *eventstore.EventData) { e.CorrelationID = "x" },
		func(e *eventstore.EventData) { e.CausationID = "x" },
		func(e *eventstore.EventData) { e.Reason = "x" },
		func(e *eventstore.EventData) { e.Data = append(e.Data, ' ') },
	} {
		e := golden()
		edit(&e)
		g := golden()
		if eventstore.ChainHash(eventstore.Hash{}, "s", 0, &e) == eventstore.ChainHash(eventstore.Hash{}, "s", 0, &g) {
			t.Errorf("an edit of %+v did not change the hash", e)
		}
	}
	g := golden()
	if eventstore.ChainHash(eventstore.Hash{}, "s", 0, &g) == eventstore.ChainHash(eventstore.Hash{}, "t", 0, &g) ||
		eventstore.ChainHash(eventstore.Hash{}, "s", 0, &g) == eventstore.ChainHash(eventstore.Hash{}, "s", 1, &g) {
		t.Error("stream or revision not covered by the hash")
	}
}

func TestParseHash(t *testing.T) {
	h, err := eventstore.ParseHash(storetestGolden)
	if err != nil || h.String() != storetestGolden {
		t.Errorf("ParseHash round trip = %s, %v", h, err)
	}
	for _, bad := range []string{"", "zz", storetestGolden[:62]} {
		if _, err := eventstore.ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) succeeded", bad)
		}
	}
}

func TestExpectedRevisionCheck(t *testing.T) {
	missing := eventstore.Head{}
	at3 := eventstore.Head{Exists: true, Revision: 3}
	tests := []struct {
		exp  eventstore.ExpectedRevision
		h    eventstore.Head
		want bool
	}{
		{eventstore.Any, missing, true}, {eventstore.Any, at3, true},
		{eventstore.NoStream, missing, true}, {eventstore.NoStream, at3, false},
		{eventstore.StreamExists, missing, false}, {eventstore.StreamExists, at3, true},
		{eventstore.Exact(3), at3, true}, {eventstore.Exact(2), at3, false}, {eventstore.Exact(0), missing, false},
	}
	for _, tt := range tests {
		err := tt.exp.Check("s", tt.h)
		if (err == nil) != tt.want {
			t.Errorf("%s.Check(%+v) = %v, want ok=%v", tt.exp, tt.h, err, tt.want)
		}
		var w *eventstore.WrongExpectedRevisionError
		if err != nil && (!errors.As(err, &w) || w.Actual != tt.h.Revision || w.ActualExists != tt.h.Exists) {
			t.Errorf("%s.Check(%+v) error = %#v", tt.exp, tt.h, err)
		}
	}
	for _, s := range []string{"any", "no_stream", "stream_exists", "42"} {
		e, err := eventstore.ParseExpectedRevision(s)
		if err != nil || e.String() != s {
			t.Errorf("ParseExpectedRevision(%q) = %s, %v", s, e, err)
		}
	}
	if _, err := eventstore.ParseExpectedRevision("-1"); err == nil {
		t.Error("ParseExpectedRevision(-1) succeeded")
	}
}

func TestFilterMatch(t *testing.T) {
	f := eventstore.Filter{StreamPrefixes: []string{"skp-", "unit-"}, TypePrefixes: []string{"skp.rating"}}
	for _, tt := range []struct {
		stream, typ string
		want        bool
	}{
		{"skp-1", "skp.rating_assigned.v1", true},
		{"unit-1", "skp.rating_revised.v1", true},
		{"employee-1", "skp.rating_assigned.v1", false},
		{"skp-1", "skp.drafted.v1", false},
	} {
		if got := f.Match(tt.stream, tt.typ); got != tt.want {
			t.Errorf("Match(%s, %s) = %v, want %v", tt.stream, tt.typ, got, tt.want)
		}
	}
	if !(eventstore.Filter{}).Match("x", "y") || !(eventstore.Filter{}).IsEmpty() {
		t.Error("empty filter must match everything")
	}
}

func TestVerifierAcceptReportsOnce(t *testing.T) {
	v := eventstore.NewVerifier()
	prev := eventstore.Hash{}
	var evs []eventstore.Event
	for i := range 4 {
		e := eventstore.Event{EventData: golden(), Stream: "s", Revision: uint64(i), Position: eventstore.Position(i + 1)}
		e.ID[0] = byte(i)
		e.Hash = eventstore.ChainHash(prev, "s", uint64(i), &e.EventData)
		prev = e.Hash
		evs = append(evs, e)
	}
	evs[1].Reason = "forged" // its stored hash no longer matches
	problems := 0
	for _, e := range evs {
		if err := v.Check(e); err != nil {
			problems++
			v.Accept(e)
		}
	}
	if problems != 1 {
		t.Errorf("%d problems, want exactly 1 (the forged event)", problems)
	}
}
