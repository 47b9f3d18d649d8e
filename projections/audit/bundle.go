package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// BundleFormat names the appeal-bundle format.
const BundleFormat = "kinerja-appeal-bundle/v1"

// Bundle is an appeal bundle: the whole streams of one employee's year
// (their employee stream and SKPs), each event with its audit entry and an
// inclusion proof against a signed checkpoint, and the public key that
// signed it. VerifyBundle checks it offline, without the ledger: an
// objection handler or an outside auditor can prove that what the bundle
// shows is what the ledger recorded, and when.
type Bundle struct {
	Format     string    `json:"format"`
	Subject    string    `json:"subject"`
	ExportedAt time.Time `json:"exported_at"`
	// PublicKey is the checkpoint key (a C2SP note verifier key). Compare
	// its key ID with a copy you trust.
	PublicKey  string     `json:"public_key"`
	Checkpoint Checkpoint `json:"checkpoint"`
	// Agency, when set, says that Checkpoint is that agency's checkpoint
	// and the proofs are in its log (each event's Index).
	Agency  *string        `json:"agency,omitempty"`
	Streams []BundleStream `json:"streams"`
}

// BundleStream is one whole stream, from revision 0.
type BundleStream struct {
	Stream string        `json:"stream"`
	Events []BundleEvent `json:"events"`
}

// BundleEvent is a stored event with its audit entry and proof.
type BundleEvent struct {
	ID            uuid.UUID           `json:"event_id"`
	Type          string              `json:"type"`
	SchemaVersion int                 `json:"schema_version"`
	Revision      uint64              `json:"revision"`
	Position      eventstore.Position `json:"position"`
	OccurredAt    time.Time           `json:"occurred_at"`
	RecordedAt    time.Time           `json:"recorded_at"`
	ActorID       string              `json:"actor_id"`
	ActorRole     string              `json:"actor_role"`
	CorrelationID string              `json:"correlation_id,omitempty"`
	CausationID   string              `json:"causation_id,omitempty"`
	Reason        string              `json:"reason,omitempty"`
	// Data is the event's data, byte for byte (base64 in JSON).
	Data []byte          `json:"data"`
	Hash eventstore.Hash `json:"-"`
	// HashHex is Hash in hex.
	HashHex string `json:"hash"`
	// Seq is the audit entry; Proof its inclusion proof (hex) in the tree
	// of Checkpoint.Size. Both are absent for an event newer than the
	// checkpoint.
	Seq   *uint64  `json:"seq,omitempty"`
	Proof []string `json:"proof,omitempty"`
	// Index is the event's index in the agency's log, the leaf index of
	// Proof, in an agency bundle.
	Index *uint64 `json:"index,omitempty"`
}

func (b BundleEvent) event(stream string) eventstore.Event {
	return eventstore.Event{
		EventData: eventstore.EventData{ID: b.ID, Type: b.Type, SchemaVersion: b.SchemaVersion, OccurredAt: b.OccurredAt,
			Actor: eventstore.Actor{ID: b.ActorID, Role: b.ActorRole}, CorrelationID: b.CorrelationID, CausationID: b.CausationID,
			Reason: b.Reason, Data: b.Data},
		Stream: stream, Revision: b.Revision, Position: b.Position, RecordedAt: b.RecordedAt, Hash: b.Hash,
	}
}

// BundleSource is what building a bundle reads besides the store: the
// trail's entries (for the sequence numbers) and its nodes (for proofs).
type BundleSource interface {
	merkle.NodeReader
	Entries(ctx context.Context, q Query) ([]Entry, error)
}

// BuildBundle exports streams (each whole) with proofs against cp, signed
// by the key whose verifier string is pubKey.
func BuildBundle(ctx context.Context, store eventstore.Store, trail BundleSource, cp Checkpoint, pubKey, subject string, streams []string, now time.Time) (Bundle, error) {
	b := Bundle{Format: BundleFormat, Subject: subject, ExportedAt: now.UTC(), PublicKey: pubKey, Checkpoint: cp}
	return buildBundle(ctx, store, trail, b, streams, nil, func(seq uint64) (*uint64, []merkle.Hash, error) {
		if seq >= cp.Size {
			return nil, nil, nil
		}
		p, err := merkle.InclusionProof(ctx, trail, seq, cp.Size)
		return &seq, p, err
	})
}

// BuildAgencyBundle exports streams with proofs in agency checkpoint ac's
// log: of each stream, the events up to its last one in the agency's log
// (none of a stream the log holds nothing of); an event of another
// agency's log within that prefix (an employee's time before a transfer
// into the agency) is in the bundle without a proof.
func BuildAgencyBundle(ctx context.Context, store eventstore.Store, trail BundleSource, ar AgencyReader, ac AgencyCheckpoint, pubKey, subject string, streams []string, now time.Time) (Bundle, error) {
	agency := ac.Agency
	b := Bundle{Format: BundleFormat, Subject: subject, ExportedAt: now.UTC(), PublicKey: pubKey, Agency: &agency,
		Checkpoint: Checkpoint{Size: ac.Size, RootHash: ac.RootHash, SignedAt: ac.SignedAt, KeyID: ac.KeyID, Signature: ac.Signature,
			Origin: ac.Origin, Note: ac.Note, Position: ac.Position}}
	nodes := ar.AgencyNodes(agency)
	// Each stream up to its last event in the agency's log, and none of a
	// stream the log holds nothing of: another agency's SKPs stay out; an
	// employee's stream, the one stream two agencies share across a
	// transfer, is cut after the agency's last event in it (a prefix, so
	// its hash chain still verifies): the source agency does not see what
	// the destination recorded after the transfer, and the destination
	// sees the history before it (history follows the person).
	through := func(entries []Entry) (uint64, bool, error) {
		var last uint64
		found := false
		for _, e := range entries {
			ae, ok, err := ar.AgencyOfSeq(ctx, e.Seq)
			if err != nil {
				return 0, false, err
			}
			if ok && ae.Agency == agency {
				last, found = max(last, e.Revision), true
			}
		}
		return last, found, nil
	}
	return buildBundle(ctx, store, trail, b, streams, through, func(seq uint64) (*uint64, []merkle.Hash, error) {
		e, ok, err := ar.AgencyOfSeq(ctx, seq)
		if err != nil || !ok || e.Agency != agency || e.Index >= ac.Size {
			return nil, nil, err
		}
		p, err := merkle.InclusionProof(ctx, nodes, e.Index, ac.Size)
		return &e.Index, p, err
	})
}

// buildBundle fills b with streams, each event's proof from proof (its
// leaf index and path, nil when not covered).
// through, when not nil, says up to which revision a stream goes into the
// bundle given its trail entries, or that it stays out (false).
func buildBundle(ctx context.Context, store eventstore.Store, trail BundleSource, b Bundle, streams []string,
	through func(entries []Entry) (uint64, bool, error), proof func(seq uint64) (*uint64, []merkle.Hash, error)) (Bundle, error) {
	for _, stream := range streams {
		seqs := map[string]uint64{}
		var entries []Entry
		q := Query{Stream: stream, Limit: 1000}
		for {
			page, err := trail.Entries(ctx, q)
			if err != nil {
				return Bundle{}, err
			}
			for _, e := range page {
				seqs[e.EventID] = e.Seq
			}
			entries = append(entries, page...)
			if len(page) < q.Limit {
				break
			}
			q.After, q.AfterSet = page[len(page)-1].Seq, true
		}
		last := ^uint64(0)
		if through != nil {
			l, ok, err := through(entries)
			if err != nil {
				return Bundle{}, err
			}
			if !ok {
				continue
			}
			last = l
		}
		bs := BundleStream{Stream: stream}
		for ev, err := range store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
			if errors.Is(err, eventstore.ErrStreamNotFound) {
				break
			}
			if err != nil {
				return Bundle{}, err
			}
			if ev.Revision > last {
				break
			}
			be := BundleEvent{ID: ev.ID, Type: ev.Type, SchemaVersion: ev.SchemaVersion, Revision: ev.Revision, Position: ev.Position,
				OccurredAt: ev.OccurredAt, RecordedAt: ev.RecordedAt, ActorID: ev.Actor.ID, ActorRole: ev.Actor.Role,
				CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, Reason: ev.Reason, Data: ev.Data, Hash: ev.Hash, HashHex: ev.Hash.String()}
			if seq, ok := seqs[ev.ID.String()]; ok {
				idx, path, err := proof(seq)
				if err != nil {
					return Bundle{}, fmt.Errorf("audit: proof of %s@%d: %w", stream, ev.Revision, err)
				}
				if idx != nil {
					be.Seq = &seq
					if b.Agency != nil {
						be.Index = idx
					}
					for _, h := range path {
						be.Proof = append(be.Proof, h.String())
					}
				}
			}
			bs.Events = append(bs.Events, be)
		}
		if len(bs.Events) > 0 {
			b.Streams = append(b.Streams, bs)
		}
	}
	return b, nil
}

// BundleReport is what VerifyBundle found.
type BundleReport struct {
	OK bool `json:"ok"`
	// KeyID is the ID of the key that signed the checkpoint; Trusted says
	// whether it was checked against a key the verifier supplied (rather
	// than the bundle's own).
	KeyID   string `json:"key_id"`
	Trusted bool   `json:"trusted"`
	// Events counts the events checked; Proven those whose inclusion in the
	// signed tree was proven; Uncovered those newer than the checkpoint.
	Events    int       `json:"events"`
	Proven    int       `json:"proven"`
	Uncovered int       `json:"uncovered"`
	Problems  []Problem `json:"problems"`
}

// VerifyBundle checks a bundle offline: the checkpoint's signature (with
// trusted when given, else the bundle's own key, which then only proves
// self-consistency), every stream's hash chain from revision 0, and every
// covered event's leaf and inclusion proof against the signed root.
func VerifyBundle(b Bundle, trusted *merkle.Verifier) BundleReport {
	var r BundleReport
	add := func(p Problem) { r.Problems = append(r.Problems, p) }
	key := trusted
	if key == nil {
		v, err := merkle.NewVerifier(b.PublicKey)
		if err != nil {
			add(Problem{Problem: "bundle public key: " + err.Error()})
			return r
		}
		key = v
	} else {
		r.Trusted = true
	}
	r.KeyID = key.KeyID()
	if b.Format != BundleFormat {
		add(Problem{Problem: fmt.Sprintf("format %q, want %q", b.Format, BundleFormat)})
	}
	var err error
	if b.Agency != nil {
		c := b.Checkpoint
		err = OpenAgencyCheckpoint(AgencyCheckpoint{Agency: *b.Agency, Size: c.Size, RootHash: c.RootHash, SignedAt: c.SignedAt,
			KeyID: c.KeyID, Signature: c.Signature, Origin: c.Origin, Note: c.Note}, key)
	} else {
		err = OpenCheckpoint(b.Checkpoint, key)
	}
	if err != nil {
		add(Problem{Stream: CheckpointStream, Problem: err.Error()})
	}
	cp := b.Checkpoint
	for _, s := range b.Streams {
		chain := eventstore.NewVerifier()
		for _, be := range s.Events {
			r.Events++
			h, err := eventstore.ParseHash(be.HashHex)
			if err != nil {
				add(Problem{Position: be.Position, Stream: s.Stream, EventID: be.ID.String(), Problem: "hash: " + err.Error()})
				continue
			}
			be.Hash = h
			ev := be.event(s.Stream)
			if err := chain.Check(ev); err != nil {
				chain.Accept(ev) // report once; check what follows against the stored hash
				var ie *eventstore.IntegrityError
				msg := err.Error()
				if errors.As(err, &ie) {
					msg = ie.Problem
				}
				add(Problem{Position: be.Position, Stream: s.Stream, EventID: be.ID.String(), Problem: "hash chain: " + msg})
				continue
			}
			if be.Seq == nil {
				r.Uncovered++
				continue
			}
			proof := make([]merkle.Hash, len(be.Proof))
			for i, p := range be.Proof {
				if proof[i], err = merkle.ParseHash(p); err != nil {
					break
				}
			}
			leaf := EntryOf(*be.Seq, ev).LeafHash
			index := *be.Seq
			if b.Agency != nil {
				if be.Index == nil {
					err = errors.New("an agency bundle's event has no index in the agency's log")
				} else {
					index = *be.Index
				}
			}
			if err == nil {
				err = merkle.VerifyInclusion(leaf, index, cp.Size, proof, cp.RootHash)
			}
			if err != nil {
				add(Problem{Seq: be.Seq, Position: be.Position, Stream: s.Stream, EventID: be.ID.String(), Problem: "not proven in the signed tree: " + err.Error()})
				continue
			}
			r.Proven++
		}
	}
	r.OK = len(r.Problems) == 0
	return r
}
