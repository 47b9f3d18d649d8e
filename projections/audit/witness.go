package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// WitnessFormat names the format of a WitnessRecord.
const WitnessFormat = "kinerja-witness/v1"

// WitnessRecord is what a witness keeps, outside the event store, of the
// newest signed checkpoint: enough to tell at start-up whether the store
// still holds it (a restored old backup, a truncated file or a dropped
// bbolt meta page does not) and whether its history still gives the signed
// root. It is stored as JSON; the note inside is signed by the audit key,
// so a record cannot be forged without that key (an old genuine record can
// be put back, which is why the witness belongs on another volume or
// server than the store).
type WitnessRecord struct {
	Format string `json:"format"`
	// Seq numbers the records of a witness set: the newest record is the
	// one with the highest Seq, whatever its checkpoint (after an accepted
	// rollback it is an older checkpoint than before).
	Seq uint64 `json:"seq"`
	// Checkpoint is the signed checkpoint, with its position in the store;
	// zero (Size 0, no note) when written after an accepted rollback of a
	// store that holds no checkpoint yet.
	Checkpoint Checkpoint `json:"checkpoint"`
	// Revision and EventID name the checkpoint's event in CheckpointStream.
	Revision uint64 `json:"revision"`
	EventID  string `json:"event_id"`
	// WrittenAt is when the record was written.
	WrittenAt time.Time `json:"written_at"`
	// Override is set on the record written when an operator accepted a
	// store that disagreed with the witness.
	Override *Override `json:"override,omitempty"`
}

// Override records an operator's acceptance of a store that did not match
// the witness.
type Override struct {
	// Reason is the operator's justification.
	Reason string `json:"reason"`
	// Problem is what did not match.
	Problem string `json:"problem"`
	// Previous is the witness record the store did not match.
	Previous *WitnessRecord `json:"previous,omitempty"`
	// Position is where the audited rollback_accepted event sits.
	Position eventstore.Position `json:"position"`
}

// Witness keeps WitnessRecords outside the event store (a file on another
// volume, a NATS JetStream stream). Implementations are safe for
// concurrent use.
type Witness interface {
	// Name says where the witness keeps its records, for messages.
	Name() string
	// Latest returns the newest record; ok is false when there is none.
	Latest(ctx context.Context) (rec WitnessRecord, ok bool, err error)
	// Record stores rec durably as the newest record.
	Record(ctx context.Context, rec WitnessRecord) error
}

// WitnessSet is several witnesses used together: a record goes to each,
// and the newest is the record with the highest Seq among them all, so
// that one witness rolled back with the store is outvoted by another. It
// is safe for concurrent use.
type WitnessSet struct {
	ws []Witness

	mu  sync.Mutex
	seq uint64 // highest Seq seen or written
	now func() time.Time
}

// NewWitnessSet returns a set of ws (possibly none: then nothing is
// witnessed, and Latest finds nothing).
func NewWitnessSet(ws ...Witness) *WitnessSet { return &WitnessSet{ws: ws, now: time.Now} }

// Len returns the number of witnesses.
func (s *WitnessSet) Len() int { return len(s.ws) }

// Names says where the set keeps its records.
func (s *WitnessSet) Names() string {
	names := make([]string, len(s.ws))
	for i, w := range s.ws {
		names[i] = w.Name()
	}
	return strings.Join(names, ", ")
}

// Latest returns the newest record among the witnesses. A witness that
// cannot be read is an error: a check that skipped it could be fooled by
// rolling back the others.
func (s *WitnessSet) Latest(ctx context.Context) (WitnessRecord, bool, error) {
	var best WitnessRecord
	found := false
	for _, w := range s.ws {
		rec, ok, err := w.Latest(ctx)
		if err != nil {
			return WitnessRecord{}, false, fmt.Errorf("audit: witness %s: %w", w.Name(), err)
		}
		if ok && rec.Format != WitnessFormat {
			return WitnessRecord{}, false, fmt.Errorf("audit: witness %s: record format %q, want %q", w.Name(), rec.Format, WitnessFormat)
		}
		if ok && (!found || rec.Seq > best.Seq) {
			best, found = rec, true
		}
	}
	s.mu.Lock()
	s.seq = max(s.seq, best.Seq)
	s.mu.Unlock()
	return best, found, nil
}

// Record writes rec to every witness as the next record (its Seq one above
// the highest known, WrittenAt now). Every witness is tried; the errors
// are joined.
func (s *WitnessSet) Record(ctx context.Context, rec WitnessRecord) (WitnessRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	rec.Format, rec.Seq, rec.WrittenAt = WitnessFormat, s.seq, s.now().UTC()
	var errs []error
	for _, w := range s.ws {
		if err := w.Record(ctx, rec); err != nil {
			errs = append(errs, fmt.Errorf("audit: witness %s: %w", w.Name(), err))
		}
	}
	return rec, errors.Join(errs...)
}

// ErrRollback is matched by a *RollbackError.
var ErrRollback = errors.New("audit: the store is behind or disagrees with the witness")

// RollbackError says how the store fails to match the newest witnessed
// checkpoint.
type RollbackError struct {
	// Witnessed is the newest witness record; nil when the store has signed
	// checkpoints but no witness has any record.
	Witnessed *WitnessRecord
	// Problem says what does not match.
	Problem string
}

func (e *RollbackError) Error() string { return "audit: " + e.Problem }

// Is reports whether target is ErrRollback.
func (e *RollbackError) Is(target error) bool { return target == ErrRollback }

// CheckWitness compares the store with the newest witness record: the
// record's checkpoint must be signed by one of keys, and the store must
// still hold that checkpoint's event (same revision, ID, note and
// position), with a head at or after it. A store restored from an older
// copy, truncated, or cut short by a dropped bbolt meta page fails with a
// *RollbackError; so does a store that has signed checkpoints when no
// witness has a record (the witness was lost, or moved). The root at the
// witnessed size is checked against the trail by CheckWitnessRoot, once
// the trail is projected.
func CheckWitness(ctx context.Context, store eventstore.Store, rec *WitnessRecord, keys []*merkle.Verifier) error {
	if rec == nil {
		latest, ok, err := LedgerCheckpoint(ctx, store)
		if err != nil {
			return err
		}
		if ok {
			return &RollbackError{Problem: fmt.Sprintf("the store holds signed checkpoints (the latest of size %d) but no witness has a record of any: the witness was lost or moved", latest.Checkpoint.Size)}
		}
		return nil
	}
	if rec.Checkpoint.Note == "" {
		return nil // written after an accepted rollback of a store without checkpoints
	}
	if err := OpenCheckpoint(rec.Checkpoint, keys...); err != nil {
		return fmt.Errorf("audit: the witness record's checkpoint does not verify with the audit keys: %w", err)
	}
	behind := func(format string, args ...any) error {
		return &RollbackError{Witnessed: rec, Problem: fmt.Sprintf(format, args...)}
	}
	var got *eventstore.Event
	for ev, err := range store.ReadStream(ctx, CheckpointStream, eventstore.ReadStreamOptions{From: rec.Revision, Limit: 1}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("audit: read the witnessed checkpoint: %w", err)
		}
		got = &ev
	}
	if got == nil || got.Revision != rec.Revision {
		return behind("the store is behind the witness: it lacks the witnessed checkpoint (revision %d of %s, size %d, position %d, signed %s): restored from an older copy, truncated, or a committed transaction was dropped",
			rec.Revision, CheckpointStream, rec.Checkpoint.Size, rec.Checkpoint.Position, rec.Checkpoint.SignedAt.Format(time.RFC3339))
	}
	c, err := CheckpointOf(*got)
	if err != nil || got.ID.String() != rec.EventID || c.Note != rec.Checkpoint.Note || got.Position != rec.Checkpoint.Position {
		return behind("the store disagrees with the witness: revision %d of %s (position %d) is not the witnessed checkpoint of size %d (position %d)",
			rec.Revision, CheckpointStream, got.Position, rec.Checkpoint.Size, rec.Checkpoint.Position)
	}
	head, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("audit: store head: %w", err)
	}
	if head < rec.Checkpoint.Position {
		return behind("the store's head (position %d) is behind the witnessed checkpoint (position %d)", head, rec.Checkpoint.Position)
	}
	return nil
}

// CheckWitnessRoot compares the trail's root at the witnessed size with the
// witnessed root. The trail must have at least that many entries.
func CheckWitnessRoot(ctx context.Context, trail TreeReader, rec *WitnessRecord) error {
	if rec == nil || rec.Checkpoint.Note == "" {
		return nil
	}
	size, err := trail.Size(ctx)
	if err != nil {
		return err
	}
	if size < rec.Checkpoint.Size {
		return &RollbackError{Witnessed: rec, Problem: fmt.Sprintf("the audit trail holds %d entries, fewer than the %d of the witnessed checkpoint: events were removed", size, rec.Checkpoint.Size)}
	}
	root, err := merkle.RootAt(ctx, trail, rec.Checkpoint.Size)
	if err != nil {
		return err
	}
	if root != rec.Checkpoint.RootHash {
		return &RollbackError{Witnessed: rec, Problem: fmt.Sprintf("the history gives root %s at size %d, the witnessed checkpoint signed %s: history changed", root, rec.Checkpoint.Size, rec.Checkpoint.RootHash)}
	}
	return nil
}

// LedgerCheckpoint returns the latest checkpoint in the store, unverified,
// as a witness record would name it (checkpoint, revision, event ID); ok is
// false when there is none.
func LedgerCheckpoint(ctx context.Context, store eventstore.Store) (rec WitnessRecord, ok bool, err error) {
	for ev, err := range store.ReadStream(ctx, CheckpointStream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return WitnessRecord{}, false, nil
		}
		if err != nil {
			return WitnessRecord{}, false, fmt.Errorf("audit: read the latest checkpoint: %w", err)
		}
		c, err := CheckpointOf(ev)
		if err != nil {
			return WitnessRecord{}, false, err
		}
		return WitnessRecordOf(c, ev.Revision, ev.ID), true, nil
	}
	return WitnessRecord{}, false, nil
}

// WitnessRecordOf returns the record that witnesses c, the checkpoint at
// revision rev of CheckpointStream.
func WitnessRecordOf(c Checkpoint, rev uint64, eventID uuid.UUID) WitnessRecord {
	return WitnessRecord{Checkpoint: c, Revision: rev, EventID: eventID.String()}
}

// OperationsStream holds the audited acts of operators on the ledger
// itself, such as an accepted rollback. Its events are audit-trail entries.
const OperationsStream = "audit-operations"

// RollbackAcceptedType is the type of the event that records an operator's
// acceptance of a store that did not match the witness.
const RollbackAcceptedType = "audit.rollback_accepted.v1"

// RollbackAccepted is the data of a RollbackAcceptedType event: the
// persisted contract (see testdata/rollback_accepted.v1.json).
type RollbackAccepted struct {
	// Reason is the operator's justification (also the event's reason).
	Reason string `json:"reason"`
	// Problem is what did not match.
	Problem string `json:"problem"`
	// Witnessed is the newest witnessed checkpoint, if any.
	Witnessed *Checkpoint `json:"witnessed,omitempty"`
	// WitnessedRevision is its revision in CheckpointStream.
	WitnessedRevision *uint64 `json:"witnessed_revision,omitempty"`
	// Store is the latest checkpoint the store holds, if any.
	Store *Checkpoint `json:"store,omitempty"`
	// StoreHead is the store's head position when the rollback was accepted.
	StoreHead eventstore.Position `json:"store_head"`
}

// RecordRollbackAccepted appends the audited record of an operator's
// override to OperationsStream: the reason, the problem, and both
// checkpoints (the witnessed one and the store's latest).
func RecordRollbackAccepted(ctx context.Context, store eventstore.Store, reason string, problem error, witnessed *WitnessRecord, now time.Time) (eventstore.AppendResult, RollbackAccepted, error) {
	d := RollbackAccepted{Reason: reason, Problem: problem.Error()}
	if witnessed != nil && witnessed.Checkpoint.Note != "" {
		c, rev := witnessed.Checkpoint, witnessed.Revision
		d.Witnessed, d.WitnessedRevision = &c, &rev
	}
	latest, ok, err := LedgerCheckpoint(ctx, store)
	if err != nil {
		return eventstore.AppendResult{}, d, err
	}
	if ok {
		d.Store = &latest.Checkpoint
	}
	if d.StoreHead, err = store.Head(ctx); err != nil {
		return eventstore.AppendResult{}, d, err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return eventstore.AppendResult{}, d, err
	}
	res, err := store.Append(ctx, OperationsStream, eventstore.Any, eventstore.EventData{
		ID: uuid.Must(uuid.NewV7()), Type: RollbackAcceptedType, SchemaVersion: 1, OccurredAt: now,
		Actor: eventstore.Actor{ID: "operator", Role: "OPERATOR"}, Reason: reason, Data: data,
	})
	if err != nil {
		return eventstore.AppendResult{}, d, fmt.Errorf("audit: record the accepted rollback: %w", err)
	}
	return res, d, nil
}
