package esdbstore

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// envelopeFormat is the version of the metadata JSON written by this
// package. A reader refuses metadata of a version it does not know.
const envelopeFormat = 1

// envelope is the event metadata JSON: the envelope fields of
// eventstore.EventData that KurrentDB has no place for, plus the chain hash.
// It is the stored contract of this backend: fields are never renamed,
// removed or retyped; a new shape gets a new Format.
//
// An example, as stored:
//
//	{"kinerja":1,"schema_version":1,"occurred_at":"2026-03-31T03:00:00.123456Z",
//	 "actor_id":"196608011988031001","actor_role":"APPRAISER",
//	 "correlation_id":"corr-1","causation_id":"cause-1","reason":"because",
//	 "hash":"9f…","$correlationId":"corr-1","$causationId":"cause-1"}
//
// $correlationId and $causationId are KurrentDB's own conventions (used by
// its $by_correlation_id projection); they repeat correlation_id and
// causation_id, which stay the source of truth, and are left out when empty.
//
// The last event of every append also carries the writer's signature
// (writer_key_id, and writer_sig in standard base64); the fields are
// absent on the other events. They were added to format 1 without a new
// format number because they are optional: a reader that does not know
// them reads every event as before (and an authenticating reader that does
// refuses events without them).
type envelope struct {
	Format        int    `json:"kinerja"`
	SchemaVersion int    `json:"schema_version"`
	OccurredAt    string `json:"occurred_at"`
	ActorID       string `json:"actor_id"`
	ActorRole     string `json:"actor_role"`
	CorrelationID string `json:"correlation_id"`
	CausationID   string `json:"causation_id"`
	Reason        string `json:"reason"`
	Hash          string `json:"hash"`
	WriterKeyID   string `json:"writer_key_id,omitempty"`
	WriterSig     []byte `json:"writer_sig,omitempty"`

	ESCorrelationID string `json:"$correlationId,omitempty"`
	ESCausationID   string `json:"$causationId,omitempty"`
}

// occurredAtLayout keeps exactly six fractional digits: OccurredAt is
// normalised to microseconds by eventstore.Prepare, so the text round-trips.
const occurredAtLayout = "2006-01-02T15:04:05.000000Z07:00"

// encodeMetadata returns the metadata JSON of a prepared event.
func encodeMetadata(e *eventstore.EventData, hash eventstore.Hash, sig eventstore.WriterSignature) ([]byte, error) {
	return json.Marshal(envelope{
		Format:          envelopeFormat,
		SchemaVersion:   e.SchemaVersion,
		OccurredAt:      e.OccurredAt.UTC().Format(occurredAtLayout),
		ActorID:         e.Actor.ID,
		ActorRole:       e.Actor.Role,
		CorrelationID:   e.CorrelationID,
		CausationID:     e.CausationID,
		Reason:          e.Reason,
		Hash:            hash.String(),
		WriterKeyID:     sig.KeyID,
		WriterSig:       sig.Sig,
		ESCorrelationID: e.CorrelationID,
		ESCausationID:   e.CausationID,
	})
}

// toEventData returns the KurrentDB event for a prepared event. The data
// bytes are passed through untouched; the content type says JSON only when
// they are valid JSON (KurrentDB stores the bytes either way, but its
// projections try to parse events marked as JSON).
func toEventData(e *eventstore.EventData, hash eventstore.Hash, sig eventstore.WriterSignature) (esdb.EventData, error) {
	meta, err := encodeMetadata(e, hash, sig)
	if err != nil {
		return esdb.EventData{}, err
	}
	ct := esdb.ContentTypeBinary
	if json.Valid(e.Data) {
		ct = esdb.ContentTypeJson
	}
	data := e.Data
	if data == nil {
		data = []byte{}
	}
	return esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: ct, Data: data, Metadata: meta}, nil
}

// noPosition is how KurrentDB reports "no $all position" (-1 as unsigned).
const noPosition = math.MaxUint64

// toPosition maps a KurrentDB commit position to an eventstore.Position.
//
// Every event appended through the gRPC API is written as its own
// self-committed prepare record ("implicit transaction"), and KurrentDB
// reports such an event at (commit, prepare) = (its log position, its log
// position): commit positions are then unique per event and increase in
// $all order, so Position = commit + 1 is strictly increasing and greater
// than 0. Events that share a commit position exist only in explicit
// transactions of the legacy TCP API; this package never writes them, and
// readers here fail with an error (rather than skip or reorder) if one of
// this store's events ever shows up with a position not after the previous
// one.
func toPosition(p esdb.Position) (eventstore.Position, error) {
	if p.Commit >= noPosition-1 {
		return 0, fmt.Errorf("esdbstore: the server reported no $all position for an event (commit %d)", p.Commit)
	}
	return eventstore.Position(p.Commit + 1), nil
}

// fromPosition returns the KurrentDB position of the event at p (p > 0).
func fromPosition(p eventstore.Position) esdb.Position {
	return esdb.Position{Commit: uint64(p) - 1, Prepare: uint64(p) - 1}
}

// names maps logical stream names to the names stored on the server.
type names struct {
	ns string
}

// physical returns the server's name of a logical stream.
func (n names) physical(stream string) string { return n.ns + stream }

// claim returns the name of the claim stream of an event ID (see claim.go).
// It starts with "_" after the namespace, which no valid stream name does.
func (n names) claim(id string) string { return n.ns + "_eid-" + id }

// logical returns the logical name of a server stream and whether the stream
// is one of this store's event streams: inside the namespace, a valid
// eventstore stream name (so never a system stream, a metadata stream or a
// claim stream).
func (n names) logical(physical string) (string, bool) {
	if !strings.HasPrefix(physical, n.ns) {
		return "", false
	}
	s := physical[len(n.ns):]
	if eventstore.ValidateStreamName(s) != nil {
		return "", false
	}
	return s, true
}

// isOurs reports whether a recorded event belongs to this store's events:
// a stream of ours and not a system event type.
func (n names) isOurs(r *esdb.RecordedEvent) (string, bool) {
	if strings.HasPrefix(r.EventType, "$") {
		return "", false
	}
	return n.logical(r.StreamID)
}

// decode turns a recorded event of one of this store's streams into an
// eventstore.Event. It fails when the metadata is not this package's
// envelope: an event in a kinerja stream that the store did not write.
func decode(stream string, r *esdb.RecordedEvent) (eventstore.Event, error) {
	var env envelope
	if err := json.Unmarshal(r.UserMetadata, &env); err != nil {
		return eventstore.Event{}, fmt.Errorf("esdbstore: event %s at %s@%d: metadata is not a kinerja envelope: %v", r.EventID, stream, r.EventNumber, err)
	}
	if env.Format != envelopeFormat {
		return eventstore.Event{}, fmt.Errorf("esdbstore: event %s at %s@%d: unknown envelope format %d", r.EventID, stream, r.EventNumber, env.Format)
	}
	occurred, err := time.Parse(time.RFC3339Nano, env.OccurredAt)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("esdbstore: event %s at %s@%d: occurred_at: %v", r.EventID, stream, r.EventNumber, err)
	}
	hash, err := eventstore.ParseHash(env.Hash)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("esdbstore: event %s at %s@%d: %v", r.EventID, stream, r.EventNumber, err)
	}
	pos, err := toPosition(r.Position)
	if err != nil {
		return eventstore.Event{}, err
	}
	data := r.Data
	if len(data) == 0 {
		data = nil // as eventstore.Prepare leaves an empty payload
	}
	return eventstore.Event{
		EventData: eventstore.EventData{
			ID:            r.EventID,
			Type:          r.EventType,
			SchemaVersion: env.SchemaVersion,
			OccurredAt:    eventstore.NormalizeTime(occurred),
			Actor:         eventstore.Actor{ID: env.ActorID, Role: env.ActorRole},
			CorrelationID: env.CorrelationID,
			CausationID:   env.CausationID,
			Reason:        env.Reason,
			Data:          data,
		},
		Stream:     stream,
		Revision:   r.EventNumber,
		Position:   pos,
		RecordedAt: eventstore.NormalizeTime(r.CreatedDate),
		Hash:       hash,
		Signature:  eventstore.WriterSignature{KeyID: env.WriterKeyID, Sig: env.WriterSig},
	}, nil
}
