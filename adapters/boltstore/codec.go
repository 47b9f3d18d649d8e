package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Record versions: the first byte of every stored event record. A new
// layout gets a new version; old records stay readable. Version 2 added
// the writer signature; version 1 records (written before it) read as
// unsigned events.
const (
	recordV1      = 1
	recordVersion = 2
)

// encodeEvent lays out a stored event as:
//
//	version(1) id(16) revision(8) recorded_at(8, Unix µs) occurred_at(8, Unix µs)
//	hash(32) schema_version(uvarint)
//	stream type actor_id actor_role correlation causation reason
//	writer_key_id writer_sig data (uvarint length + bytes each)
//
// The position is the record's key and is not repeated. Data comes last so
// that a reader of the envelope stops before it.
func encodeEvent(e *eventstore.Event) []byte {
	n := 1 + 16 + 8 + 8 + 8 + 32 + binary.MaxVarintLen64 + 10*binary.MaxVarintLen64 +
		len(e.Stream) + len(e.Type) + len(e.Actor.ID) + len(e.Actor.Role) +
		len(e.CorrelationID) + len(e.CausationID) + len(e.Reason) +
		len(e.Signature.KeyID) + len(e.Signature.Sig) + len(e.Data)
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = append(b, e.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, e.Revision)
	b = binary.BigEndian.AppendUint64(b, uint64(e.RecordedAt.UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.OccurredAt.UnixMicro()))
	b = append(b, e.Hash[:]...)
	b = binary.AppendUvarint(b, uint64(e.SchemaVersion))
	for _, s := range [...]string{e.Stream, e.Type, e.Actor.ID, e.Actor.Role, e.CorrelationID, e.CausationID, e.Reason, e.Signature.KeyID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, v := range [...][]byte{e.Signature.Sig, e.Data} {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

var errCorrupt = errors.New("boltstore: corrupt event record")

// decodeEvent is the inverse of encodeEvent (and reads version 1 records).
// b may be memory owned by bbolt: everything is copied out.
func decodeEvent(pos eventstore.Position, b []byte) (eventstore.Event, error) {
	var e eventstore.Event
	if len(b) < 1+16+8+8+8+32 || (b[0] != recordVersion && b[0] != recordV1) {
		return e, errCorrupt
	}
	signed := b[0] == recordVersion
	e.Position = pos
	copy(e.ID[:], b[1:17])
	e.Revision = binary.BigEndian.Uint64(b[17:25])
	e.RecordedAt = time.UnixMicro(int64(binary.BigEndian.Uint64(b[25:33]))).UTC()
	e.OccurredAt = time.UnixMicro(int64(binary.BigEndian.Uint64(b[33:41]))).UTC()
	copy(e.Hash[:], b[41:73])
	b = b[73:]
	sv, n := binary.Uvarint(b)
	if n <= 0 {
		return e, errCorrupt
	}
	e.SchemaVersion = int(sv)
	b = b[n:]
	nf := 8 // v1: seven strings and the data
	if signed {
		nf = 10 // v2: eight strings, the signature and the data
	}
	var fields [10][]byte
	for i := range nf {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return e, errCorrupt
		}
		fields[i] = b[n : n+int(l)]
		b = b[n+int(l):]
	}
	e.Stream = string(fields[0])
	e.Type = string(fields[1])
	e.Actor = eventstore.Actor{ID: string(fields[2]), Role: string(fields[3])}
	e.CorrelationID = string(fields[4])
	e.CausationID = string(fields[5])
	e.Reason = string(fields[6])
	data := fields[7]
	if signed {
		if len(fields[7]) > 0 || len(fields[8]) > 0 {
			e.Signature = eventstore.WriterSignature{KeyID: string(fields[7]), Sig: append([]byte(nil), fields[8]...)}
		}
		data = fields[9]
	}
	e.Data = append([]byte{}, data...)
	return e, nil
}

// indexValue is the value of a stream-index entry: the event's position
// (8 bytes) and chain hash (32 bytes), so the stream's head (revision and
// hash) comes from the index alone.
func indexValue(pos []byte, h eventstore.Hash) []byte {
	return append(append(make([]byte, 0, 40), pos...), h[:]...)
}

// lastIndexEntry returns the head of stream from the stream index, and the
// head event's position (as the events bucket's key).
func lastIndexEntry(c *bolt.Cursor, stream string) (eventstore.Head, []byte, error) {
	prefix := append([]byte(stream), 0)
	k, v := c.Seek(streamKey(stream, ^uint64(0)))
	if k == nil || !bytes.Equal(k, streamKey(stream, ^uint64(0))) {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return eventstore.Head{}, nil, nil
	}
	if len(k) != len(prefix)+8 || len(v) != 40 {
		return eventstore.Head{}, nil, fmt.Errorf("%w: index entry of %s", errCorrupt, stream)
	}
	h := eventstore.Head{Exists: true, Revision: binary.BigEndian.Uint64(k[len(prefix):])}
	copy(h.Hash[:], v[8:])
	return h, append([]byte(nil), v[:8]...), nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// streamKey is the key of (stream, revision) in the stream index: the name,
// a NUL (never part of a valid name) and the revision big-endian, so that a
// stream's keys are contiguous and ordered by revision.
func streamKey(stream string, rev uint64) []byte {
	b := make([]byte, 0, len(stream)+9)
	b = append(b, stream...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, rev)
}

func idKey(id uuid.UUID) []byte { return id[:] }
