package audit

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// Stored is the persisted trail a verification compares with what it
// recomputes. The in-memory trail of embedded mode is rebuilt from the
// store, so there is nothing to compare; PostgreSQL's is.
type Stored interface {
	// AllEntries yields every stored entry in seq order.
	AllEntries(ctx context.Context) iter.Seq2[Entry, error]
	// AllNodes yields every stored tree node, in any order.
	AllNodes(ctx context.Context) iter.Seq2[merkle.Node, error]
}

// StoredCheckpoints is implemented by a stored trail that also keeps the
// signed checkpoints it read from the ledger (the API serves them); Verify
// then compares them with the ledger's.
type StoredCheckpoints interface {
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
}

// Problem is one thing that did not verify.
type Problem struct {
	// Seq is the audit entry concerned, when there is one.
	Seq *uint64 `json:"seq,omitempty"`
	// Position is the store position concerned, when there is one.
	Position eventstore.Position `json:"position,omitempty"`
	// Stream and EventID name the event concerned, when there is one.
	Stream  string `json:"stream,omitempty"`
	EventID string `json:"event_id,omitempty"`
	// Problem says what is wrong.
	Problem string `json:"problem"`
}

// Report is the outcome of Verify.
type Report struct {
	// OK is true when nothing is wrong.
	OK bool `json:"ok"`
	// Checked is the number of events read from the store.
	Checked uint64 `json:"checked"`
	// Size is the number of trail entries recomputed.
	Size uint64 `json:"size"`
	// RootHash is the recomputed root at Size.
	RootHash merkle.Hash `json:"root_hash"`
	// Checkpoints is the number of signed checkpoints checked.
	Checkpoints int `json:"checkpoints"`
	// Problems lists what did not verify, in the order found (the first
	// mismatch first), at most VerifyOptions.MaxProblems.
	Problems []Problem `json:"problems"`
}

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Keys verify the signed checkpoints. With none, checkpoints' roots are
	// still compared but their signatures are reported unverifiable.
	Keys []*merkle.Verifier
	// Stored, when set, is compared entry by entry and node by node.
	Stored Stored
	// MaxProblems caps the report (default 100).
	MaxProblems int
	// Progress, when set, is called every 10,000 events.
	Progress func(events uint64)
}

// Verify recomputes the trail from the event store and checks it: every
// stream's hash chain, dense revisions and increasing positions; every
// signed checkpoint's signature and root; and, with opts.Stored, every
// stored entry and node. It returns an error only when it cannot read; what
// does not verify is in the Report.
func Verify(ctx context.Context, store eventstore.Store, opts VerifyOptions) (Report, error) {
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 100
	}
	var r Report
	add := func(p Problem) {
		if len(r.Problems) < opts.MaxProblems {
			r.Problems = append(r.Problems, p)
		}
	}
	chain := eventstore.NewVerifier()
	tree := merkle.NewTree()
	var positions []eventstore.Position // by seq, to name the event of a tree node
	nodes := merkle.NewMemNodes()
	var checkpoints []Checkpoint

	var nextStored func() (Entry, error, bool)
	if opts.Stored != nil {
		var stop func()
		nextStored, stop = iter.Pull2(opts.Stored.AllEntries(ctx))
		defer stop()
	}

	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return r, fmt.Errorf("audit: verify: read: %w", err)
		}
		r.Checked++
		if opts.Progress != nil && r.Checked%10000 == 0 {
			opts.Progress(r.Checked)
		}
		if err := chain.Check(ev); err != nil {
			chain.Accept(ev) // report once; check what follows against the stored hash
			var ie *eventstore.IntegrityError
			if errors.As(err, &ie) {
				add(Problem{Position: ev.Position, Stream: ev.Stream, EventID: ev.ID.String(), Problem: "event store: " + ie.Problem})
			} else {
				add(Problem{Position: ev.Position, Stream: ev.Stream, EventID: ev.ID.String(), Problem: err.Error()})
			}
		}
		if !InTrail(ev.Stream) {
			c, err := CheckpointOf(ev)
			if err != nil {
				add(Problem{Position: ev.Position, Stream: ev.Stream, EventID: ev.ID.String(), Problem: err.Error()})
				continue
			}
			checkpoints = append(checkpoints, c)
			continue
		}
		seq := tree.Size()
		e := EntryOf(seq, ev)
		positions = append(positions, ev.Position)
		if err := nodes.Put(tree.Append(e.LeafHash)...); err != nil {
			return r, err
		}
		if nextStored != nil {
			s, err, ok := nextStored()
			switch {
			case err != nil:
				return r, fmt.Errorf("audit: verify: read stored entries: %w", err)
			case !ok:
				add(Problem{Seq: ptr(seq), Position: ev.Position, Stream: ev.Stream, EventID: e.EventID, Problem: "the event has no stored audit entry (deleted from the trail?)"})
			default:
				if d := diffEntry(e, s); d != "" {
					add(Problem{Seq: ptr(seq), Position: ev.Position, Stream: ev.Stream, EventID: e.EventID, Problem: "stored audit entry differs from the event: " + d})
				}
			}
		}
	}
	r.Size = tree.Size()
	r.RootHash = tree.Root()
	if nextStored != nil {
		for s, err, ok := nextStored(); ok; s, err, ok = nextStored() {
			if err != nil {
				return r, fmt.Errorf("audit: verify: read stored entries: %w", err)
			}
			add(Problem{Seq: ptr(s.Seq), Position: s.Position, Stream: s.Stream, EventID: s.EventID, Problem: "stored audit entry has no event in the store (the event was deleted?)"})
		}
		for n, err := range opts.Stored.AllNodes(ctx) {
			if err != nil {
				return r, fmt.Errorf("audit: verify: read stored nodes: %w", err)
			}
			first := n.Index << n.Level
			var pos eventstore.Position
			if first < uint64(len(positions)) {
				pos = positions[first]
			}
			want, err := nodes.Node(ctx, n.Level, n.Index)
			if err != nil {
				add(Problem{Seq: ptr(first), Position: pos, Problem: fmt.Sprintf("stored tree node (level %d, index %d) is not part of the recomputed tree", n.Level, n.Index)})
				continue
			}
			if want != n.Hash {
				add(Problem{Seq: ptr(first), Position: pos, Problem: fmt.Sprintf("stored tree node (level %d, index %d) covering entries from %d is %s, recomputed %s", n.Level, n.Index, first, n.Hash, want)})
			}
		}
	}
	if sc, ok := opts.Stored.(StoredCheckpoints); ok {
		stored, err := sc.Checkpoints(ctx)
		if err != nil {
			return r, fmt.Errorf("audit: verify: read stored checkpoints: %w", err)
		}
		ledger := map[eventstore.Position]Checkpoint{}
		for _, c := range checkpoints {
			ledger[c.Position] = c
		}
		for _, c := range stored {
			l, ok := ledger[c.Position]
			if !ok || l.Note != c.Note || l.Size != c.Size || l.RootHash != c.RootHash || !l.SignedAt.Equal(c.SignedAt) || l.Signature != c.Signature || l.KeyID != c.KeyID {
				add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("stored checkpoint of size %d differs from the one in the ledger at this position (or the ledger has none)", c.Size)})
			}
		}
	}
	for _, c := range checkpoints {
		r.Checkpoints++
		if len(opts.Keys) == 0 {
			add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("checkpoint at size %d: no key to verify its signature", c.Size)})
		} else if err := OpenCheckpoint(c, opts.Keys...); err != nil {
			add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: err.Error()})
			continue
		}
		if c.Size > r.Size {
			add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("checkpoint signs %d entries but the store holds %d: events were removed", c.Size, r.Size)})
			continue
		}
		root, err := merkle.RootAt(ctx, nodes, c.Size)
		if err != nil {
			return r, err
		}
		if root != c.RootHash {
			add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("checkpoint at size %d signed root %s, the store gives %s: history changed", c.Size, c.RootHash, root)})
		}
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

func diffEntry(want, got Entry) string {
	switch {
	case got.Seq != want.Seq:
		return fmt.Sprintf("seq %d, want %d", got.Seq, want.Seq)
	case got.Position != want.Position:
		return fmt.Sprintf("position %d, want %d", got.Position, want.Position)
	case got.EventID != want.EventID:
		return fmt.Sprintf("event %s, want %s", got.EventID, want.EventID)
	case got.Stream != want.Stream || got.Revision != want.Revision:
		return fmt.Sprintf("%s@%d, want %s@%d", got.Stream, got.Revision, want.Stream, want.Revision)
	case got.Type != want.Type:
		return fmt.Sprintf("type %s, want %s", got.Type, want.Type)
	case got.ActorID != want.ActorID || got.ActorRole != want.ActorRole:
		return fmt.Sprintf("actor %s/%s, want %s/%s", got.ActorID, got.ActorRole, want.ActorID, want.ActorRole)
	case !got.RecordedAt.Equal(want.RecordedAt):
		return fmt.Sprintf("recorded_at %v, want %v", got.RecordedAt, want.RecordedAt)
	case got.Reason != want.Reason:
		return fmt.Sprintf("reason %q, want %q", got.Reason, want.Reason)
	case got.LeafHash != want.LeafHash:
		return fmt.Sprintf("leaf hash %s, want %s", got.LeafHash, want.LeafHash)
	}
	return ""
}

func ptr(v uint64) *uint64 { return &v }
