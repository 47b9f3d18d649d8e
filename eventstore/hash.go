package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"iter"
)

// canonicalMagic opens every canonical envelope. It separates this encoding
// from any other use of SHA-256 and names its version: a future encoding gets
// a new magic, and old events keep verifying under the old one.
const canonicalMagic = "kinerja/event/v1"

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero hash, the "previous hash" of a
// stream's first event.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses 64 hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("eventstore: bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

// CanonicalEnvelope returns the canonical encoding of everything a writer
// knows about an event before the append: the fields the hash chain covers
// besides the data. The encoding is:
//
//	"kinerja/event/v1"
//	field(event ID, 16 raw bytes)
//	field(stream, UTF-8)
//	field(revision, 8 bytes big-endian)
//	field(type, UTF-8)
//	field(schema version, 8 bytes big-endian two's complement)
//	field(occurred_at, Unix microseconds UTC, 8 bytes big-endian two's complement)
//	field(actor ID)  field(actor role)
//	field(correlation ID)  field(causation ID)  field(reason)
//
// where field(x) is a 4-byte big-endian length followed by the bytes of x.
// The length prefixes make the encoding unambiguous: no two different
// envelopes encode to the same bytes. RecordedAt and Position are assigned by
// the store and are not part of it; the audit trail's Merkle leaves cover them.
func CanonicalEnvelope(stream string, revision uint64, e *EventData) []byte {
	n := len(canonicalMagic) + 11*4 + 16 + len(stream) + 8 + len(e.Type) + 8 + 8 +
		len(e.Actor.ID) + len(e.Actor.Role) + len(e.CorrelationID) + len(e.CausationID) + len(e.Reason)
	b := make([]byte, 0, n)
	b = append(b, canonicalMagic...)
	b = appendField(b, e.ID[:])
	b = appendField(b, []byte(stream))
	b = appendField(b, binary.BigEndian.AppendUint64(nil, revision))
	b = appendField(b, []byte(e.Type))
	b = appendField(b, binary.BigEndian.AppendUint64(nil, uint64(int64(e.SchemaVersion))))
	b = appendField(b, binary.BigEndian.AppendUint64(nil, uint64(e.OccurredAt.UnixMicro())))
	b = appendField(b, []byte(e.Actor.ID))
	b = appendField(b, []byte(e.Actor.Role))
	b = appendField(b, []byte(e.CorrelationID))
	b = appendField(b, []byte(e.CausationID))
	b = appendField(b, []byte(e.Reason))
	return b
}

func appendField(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// ChainHash returns SHA-256(prev ‖ CanonicalEnvelope(stream, revision, e) ‖
// len(data) as 8 bytes big-endian ‖ data): the hash stored with the event at
// revision of stream, whose predecessor's hash is prev (the zero hash for
// revision 0).
func ChainHash(prev Hash, stream string, revision uint64, e *EventData) Hash {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(CanonicalEnvelope(stream, revision, e))
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(e.Data)))
	h.Write(l[:])
	h.Write(e.Data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// Seal computes the chain hashes of events appended to a stream whose head
// is h: the first event gets revision h.Next().
func Seal(stream string, h Head, events []EventData) []Hash {
	hashes := make([]Hash, len(events))
	prev, rev := h.Hash, h.Next()
	for i := range events {
		prev = ChainHash(prev, stream, rev+uint64(i), &events[i])
		hashes[i] = prev
	}
	return hashes
}

// VerifyStream checks one whole stream read forwards from revision 0:
// revisions are dense from 0, every event belongs to the stream, positions
// increase, and every stored hash equals the recomputed chain hash. It
// returns the number of events checked and, on the first problem, an
// [*IntegrityError] naming the event. Errors of the sequence are returned
// as they are.
func VerifyStream(stream string, events iter.Seq2[Event, error]) (int, error) {
	v := NewVerifier()
	n := 0
	for ev, err := range events {
		if err != nil {
			return n, err
		}
		if ev.Stream != stream {
			return n, integrity(ev, fmt.Sprintf("belongs to stream %s, not %s", ev.Stream, stream))
		}
		if err := v.Check(ev); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Verifier checks events of many streams in the global order (ReadAll from
// the beginning): each stream's chain, dense revisions, and strictly
// increasing positions. The zero value is not usable; call NewVerifier.
type Verifier struct {
	heads map[string]Head
	last  Position
}

// NewVerifier returns a Verifier that has seen nothing.
func NewVerifier() *Verifier { return &Verifier{heads: make(map[string]Head)} }

// Check verifies ev against everything seen before it and remembers it.
func (v *Verifier) Check(ev Event) error {
	if ev.Position <= v.last {
		return integrity(ev, fmt.Sprintf("position %d does not follow position %d", ev.Position, v.last))
	}
	h := v.heads[ev.Stream]
	if want := h.Next(); ev.Revision != want {
		return integrity(ev, fmt.Sprintf("revision %d where %d was expected (an event is missing, duplicated or out of order)", ev.Revision, want))
	}
	got := ChainHash(h.Hash, ev.Stream, ev.Revision, &ev.EventData)
	if got != ev.Hash {
		return integrity(ev, fmt.Sprintf("stored hash %s, recomputed %s (the event or its predecessor was altered)", ev.Hash, got))
	}
	v.heads[ev.Stream] = Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash}
	v.last = ev.Position
	return nil
}

// Accept records ev as its stream's head without checking it, so that a
// verification can report a problem once and go on checking the events
// after it against what is stored.
func (v *Verifier) Accept(ev Event) {
	v.heads[ev.Stream] = Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash}
	v.last = max(v.last, ev.Position)
}

// Streams returns the number of streams seen.
func (v *Verifier) Streams() int { return len(v.heads) }

// StreamHead returns the last verified state of a stream.
func (v *Verifier) StreamHead(stream string) Head { return v.heads[stream] }

func integrity(ev Event, problem string) *IntegrityError {
	return &IntegrityError{Stream: ev.Stream, Revision: ev.Revision, EventID: ev.ID, Position: ev.Position, Problem: problem}
}
