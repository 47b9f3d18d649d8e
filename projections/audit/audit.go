// Package audit is the tamper-evident audit trail of Kinerja Ledger: one
// entry per ledger event, in the global order, with a dense sequence number,
// as the leaves of an RFC 6962 Merkle tree (package merkle), and Ed25519
// signed checkpoints of that tree.
//
// # What a leaf covers
//
// The event store's hash chain covers everything a writer knows (envelope
// and data) per stream. A leaf adds what the store assigned and the order
// across streams: the leaf data is
//
//	"kinerja/audit-leaf/v1"
//	field(seq) field(position) field(event ID) field(stream) field(revision)
//	field(type) field(actor ID) field(actor role)
//	field(recorded_at µs) field(occurred_at µs) field(reason) field(chain hash)
//
// (each field a 4-byte big-endian length and its bytes; integers 8 bytes
// big-endian), and the leaf hash is merkle.LeafHash of it. Because the chain
// hash is included, a leaf commits to the event's data too.
//
// # Checkpoints
//
// Signed checkpoints are themselves events, in the stream CheckpointStream,
// so they persist with the ledger on every backend, embedded mode included.
// That stream is not part of the tree (a checkpoint cannot be a leaf of the
// tree it signs); its own hash chain and the signatures protect it. The
// Signer signs a new checkpoint every N entries or T seconds, and before it
// signs anything after a start it proves that the tree it holds is the one
// it signed before: the latest checkpoint's signature must verify and its
// root must equal the tree's root at that size. If not, it refuses to sign
// and reports why; it never re-signs history it cannot prove.
//
// # Agency logs
//
// Each agency also has its own log and signed checkpoints, and the
// national checkpoint signs over the agency roots: see agency.go and
// agencycheckpoint.go.
//
// # Verification
//
// Verify recomputes everything from the event store: each stream's chain,
// the leaves and the tree, every signed checkpoint's root and signature, and
// (when given the stored trail) every stored entry and node. It reports each
// problem with the sequence number and position it concerns, the first
// mismatch first.
package audit

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// Name is the projection's name.
const Name = "audit"

// CheckpointStream holds the signed checkpoints, one event each.
const CheckpointStream = "audit-checkpoints"

// CheckpointEventType is the type of a signed-checkpoint event.
const CheckpointEventType = "audit.checkpoint_signed.v1"

// leafMagic opens every leaf's data and names the leaf encoding's version.
const leafMagic = "kinerja/audit-leaf/v1"

// Entry is one audit-trail entry.
type Entry struct {
	// Seq is the entry's dense, zero-based number: its leaf index.
	Seq uint64 `json:"seq"`
	// Position is the event's position in the store's global order.
	Position eventstore.Position `json:"position"`
	// EventID, Stream, Revision and Type identify the event.
	EventID  string `json:"event_id"`
	Stream   string `json:"stream"`
	Revision uint64 `json:"revision"`
	Type     string `json:"type"`
	// ActorID and ActorRole say who caused the event.
	ActorID   string `json:"actor_id"`
	ActorRole string `json:"actor_role"`
	// RecordedAt is ledger time; OccurredAt business time.
	RecordedAt time.Time `json:"recorded_at"`
	OccurredAt time.Time `json:"occurred_at"`
	// Reason is the event's reason, if any.
	Reason string `json:"reason"`
	// EventHash is the event's chain hash.
	EventHash eventstore.Hash `json:"-"`
	// LeafHash is merkle.LeafHash(LeafData(...)).
	LeafHash merkle.Hash `json:"leaf_hash"`
}

// EntryOf returns the entry of ev at seq.
func EntryOf(seq uint64, ev eventstore.Event) Entry {
	return Entry{
		Seq: seq, Position: ev.Position, EventID: ev.ID.String(), Stream: ev.Stream, Revision: ev.Revision,
		Type: ev.Type, ActorID: ev.Actor.ID, ActorRole: ev.Actor.Role,
		RecordedAt: ev.RecordedAt, OccurredAt: ev.OccurredAt, Reason: ev.Reason,
		EventHash: ev.Hash, LeafHash: merkle.LeafHash(LeafData(seq, ev)),
	}
}

// PrefixRoot recomputes, from events read in the store's order, the Merkle
// root of the first size entries of the audit trail (each trail event's
// leaf, LeafData at its index): what a read covered by a checkpoint of that
// size (CoverFirst) must give back for the checkpoint to vouch for it.
// Events outside the trail, and those past size, are ignored.
type PrefixRoot struct {
	size uint64
	tree merkle.Tree
}

// NewPrefixRoot returns a PrefixRoot of the first size entries.
func NewPrefixRoot(size uint64) *PrefixRoot { return &PrefixRoot{size: size} }

// Add takes the next event read.
func (p *PrefixRoot) Add(ev eventstore.Event) {
	if p.tree.Size() < p.size && InTrail(ev.Stream) {
		p.tree.Append(merkle.LeafHash(LeafData(p.tree.Size(), ev)))
	}
}

// Size is how many entries were taken (at most the size asked for).
func (p *PrefixRoot) Size() uint64 { return p.tree.Size() }

// Root is the root of the entries taken.
func (p *PrefixRoot) Root() merkle.Hash { return p.tree.Root() }

// LeafData returns the canonical leaf encoding of ev at seq (see the
// package doc).
func LeafData(seq uint64, ev eventstore.Event) []byte {
	return AppendLeafData(make([]byte, 0, 256+len(ev.Stream)+len(ev.Reason)), seq, ev)
}

// AppendLeafData appends LeafData(seq, ev) to dst and returns the result;
// with a dst of enough capacity it allocates nothing (a snapshot's load
// recomputes millions of leaves).
func AppendLeafData(dst []byte, seq uint64, ev eventstore.Event) []byte {
	b := append(dst, leafMagic...)
	u := func(v uint64) {
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, v)
	}
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	u(seq)
	u(uint64(ev.Position))
	b = binary.BigEndian.AppendUint32(b, uint32(len(ev.ID)))
	b = append(b, ev.ID[:]...)
	str(ev.Stream)
	u(ev.Revision)
	str(ev.Type)
	str(ev.Actor.ID)
	str(ev.Actor.Role)
	u(uint64(ev.RecordedAt.UnixMicro()))
	u(uint64(ev.OccurredAt.UnixMicro()))
	str(ev.Reason)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ev.Hash)))
	return append(b, ev.Hash[:]...)
}

// InTrail reports whether an event of stream is an audit-trail entry (every
// event but the signed checkpoints).
func InTrail(stream string) bool { return stream != CheckpointStream }

// Checkpoint is a signed checkpoint as the API shows it.
type Checkpoint struct {
	// Size is the number of entries the checkpoint covers.
	Size uint64 `json:"size"`
	// RootHash is the tree's root at Size.
	RootHash merkle.Hash `json:"root_hash"`
	// SignedAt is the signed timestamp.
	SignedAt time.Time `json:"signed_at"`
	// KeyID is the signing key's ID (hex).
	KeyID string `json:"key_id"`
	// Signature is the Ed25519 signature (base64).
	Signature string `json:"signature"`
	// Origin names the log (the key's name).
	Origin string `json:"origin"`
	// Note is the whole C2SP signed note, which a verifier checks offline.
	Note string `json:"note"`
	// Position is where the checkpoint event sits in the store.
	Position eventstore.Position `json:"position"`
	// Agencies are the agency roots the note signs (the national
	// checkpoint, from issue 15; none in older checkpoints).
	Agencies []AgencyRoot `json:"agencies,omitempty"`
	// AgencyCheckpoints are the agency checkpoints signed in the same
	// round (for the agencies whose log grew), stored with it.
	AgencyCheckpoints []AgencyCheckpoint `json:"-"`
}

// Store is what the audit projection needs from its backend. A Sink applies
// each event through it inside the transaction that also stores the
// projection's checkpoint.
type Store interface {
	merkle.NodeReader
	// Size returns the number of entries, and Frontier the tree's frontier
	// (merkle.Tree.Frontier) at that size. The frontier may be the store's
	// own slice, not a copy: the caller must treat it as read-only (Apply
	// only hands it to merkle.NewTreeFromFrontier, which copies it).
	Size(ctx context.Context) (uint64, error)
	Frontier(ctx context.Context) ([]merkle.Hash, error)
	// Append stores an entry, the tree nodes it completed and the new
	// frontier. The entry's Seq is the current Size. The store may keep
	// the frontier slice as given, without copying it: the caller must not
	// modify it afterwards (Apply passes merkle.Tree.Frontier, a fresh copy).
	Append(ctx context.Context, e Entry, nodes []merkle.Node, frontier []merkle.Hash) error
	// AddCheckpoint stores a signed checkpoint read from the ledger, with
	// the agency checkpoints signed with it (c.AgencyCheckpoints).
	AddCheckpoint(ctx context.Context, c Checkpoint) error
	// AgencyStore keeps the agency logs.
	AgencyStore
}

// Reader is the query side of the trail.
type Reader interface {
	merkle.NodeReader
	// Size returns the number of entries.
	Size(ctx context.Context) (uint64, error)
	// Entries lists entries matching q, in seq order (newest first with
	// q.Desc).
	Entries(ctx context.Context, q Query) ([]Entry, error)
	// LatestCheckpoint returns the newest signed checkpoint.
	LatestCheckpoint(ctx context.Context) (Checkpoint, bool, error)
}

// Query selects audit entries.
type Query struct {
	// After is exclusive; -1 (or AfterSet false) means from the start.
	After    uint64
	AfterSet bool
	// Before is exclusive: with BeforeSet, only entries whose seq is less
	// than Before (the page of older entries of a trail shown newest
	// first, or a jump to an entry: Before its seq + 1).
	Before    uint64
	BeforeSet bool
	// Desc lists the newest matching entries first (the last Limit of the
	// range, in descending seq order) instead of the oldest.
	Desc  bool
	Limit int
	// Agency, with AgencySet, keeps only the entries of that agency's log
	// ("" the national log).
	Agency    string
	AgencySet bool
	Actor     string
	Stream    string
	Type      string
	From, To  time.Time
}

// DefaultLimit and MaxLimit bound a page of Reader.Entries: Query.Limit ≤ 0
// means DefaultLimit, and at most MaxLimit entries come back.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// PageLimit returns the page size Entries uses for limit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Match reports whether e passes q's filters (not After/Limit).
func (q Query) Match(e Entry) bool {
	return (q.Actor == "" || e.ActorID == q.Actor) &&
		(q.Stream == "" || e.Stream == q.Stream) &&
		(q.Type == "" || e.Type == q.Type) &&
		(q.From.IsZero() || !e.RecordedAt.Before(q.From)) &&
		(q.To.IsZero() || e.RecordedAt.Before(q.To))
}

// Apply is the audit projection: it appends ev's entry and tree nodes, or
// stores a signed checkpoint read from CheckpointStream. The tree state is
// loaded from s on each call, so Apply is correct in any transaction.
func Apply(ctx context.Context, s Store, ev projections.Event) error {
	if !InTrail(ev.Stream) {
		c, err := CheckpointOf(ev.Event)
		if err != nil {
			return projections.Poison(ev.Event, err)
		}
		return s.AddCheckpoint(ctx, c)
	}
	size, err := s.Size(ctx)
	if err != nil {
		return err
	}
	frontier, err := s.Frontier(ctx)
	if err != nil {
		return err
	}
	t, err := merkle.NewTreeFromFrontier(size, frontier)
	if err != nil {
		return projections.Poison(ev.Event, fmt.Errorf("audit tree state: %w", err))
	}
	e := EntryOf(size, ev.Event)
	nodes := t.Append(e.LeafHash)
	if err := s.Append(ctx, e, nodes, t.Frontier()); err != nil {
		return err
	}
	return applyAgency(ctx, s, ev.Event, e)
}
