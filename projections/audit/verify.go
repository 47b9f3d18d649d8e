package audit

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"

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

// Watermarker is implemented by a stored trail that can say how far it is
// projected: the position of the last event its projection applied and the
// number of entries it holds, read together (one statement, one snapshot).
// Verify then compares the store and the trail at that point, and counts
// the events after it as pending instead of reporting them missing: while
// writes flow, the store is always ahead of its trail.
type Watermarker interface {
	Watermark(ctx context.Context) (pos eventstore.Position, size uint64, err error)
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
	// Index is the entry's index in its agency's log, when the problem
	// concerns one (VerifyAgency).
	Index *uint64 `json:"index,omitempty"`
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
	// Agency is the agency log verified (VerifyAgency); absent for the
	// whole trail. Checked, Size, RootHash, Checkpoints and Pending are
	// then that agency's: its events, its tree, its agency checkpoints.
	Agency *string `json:"agency,omitempty"`
	// Checked is the number of events read from the store.
	Checked uint64 `json:"checked"`
	// Size is the number of trail entries recomputed.
	Size uint64 `json:"size"`
	// RootHash is the recomputed root at Size.
	RootHash merkle.Hash `json:"root_hash"`
	// Checkpoints is the number of signed checkpoints checked.
	Checkpoints int `json:"checkpoints"`
	// Position is the point of the store the trail was compared at (the
	// audit projection's position; 0 when the whole store was compared).
	Position eventstore.Position `json:"position,omitempty"`
	// Pending counts the events after Position: authenticated, but not yet
	// in the projected trail, so not compared with it.
	Pending uint64 `json:"pending"`
	// Covered is the size of the signed checkpoint whose recomputed root
	// authenticated the entries below it in place of their writer
	// signatures (0: every writer signature was checked).
	Covered uint64 `json:"covered"`
	// Unsigned (VerifyAgency) counts the agency log's entries that no
	// signed agency checkpoint covers yet (Size minus the largest agency
	// checkpoint's size): recorded, chained, but not yet signed.
	Unsigned uint64 `json:"unsigned,omitempty"`
	// Problems lists what did not verify, in the order found (the first
	// mismatch first), at most VerifyOptions.MaxProblems.
	Problems []Problem `json:"problems"`
}

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Keys verify the signed checkpoints. With none, checkpoints' roots are
	// still compared but their signatures are reported unverifiable.
	Keys []*merkle.Verifier
	// WriterKeys verify the writer signatures of the events (see
	// eventstore.Authenticator). Without them writer signatures are not
	// checked, only hash chains.
	WriterKeys *eventstore.Keyring
	// AllSignatures checks every writer signature. Otherwise the entries
	// below the trusted checkpoint (Witnessed, or else the latest one whose
	// signature verifies) are authenticated by it instead: an edit below
	// it changes the recomputed root, which Verify compares; and if a root
	// does not match, every signature is checked after all, to name what
	// was forged.
	AllSignatures bool
	// Witnessed, when set, is the checkpoint a witness kept outside the
	// store: the only one trusted to cover writer signatures, and one the
	// ledger must still hold.
	Witnessed *Checkpoint
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
	// The point to compare at: the trail's watermark, or the whole store.
	bound, boundSize := eventstore.Position(math.MaxUint64), uint64(math.MaxUint64)
	if w, ok := opts.Stored.(Watermarker); ok && opts.Stored != nil {
		var err error
		if bound, boundSize, err = w.Watermark(ctx); err != nil {
			return r, fmt.Errorf("audit: verify: trail watermark: %w", err)
		}
		r.Position = bound
	}
	// The checkpoint trusted to cover writer signatures.
	cover := uint64(0)
	if opts.WriterKeys != nil && !opts.AllSignatures {
		c, err := trustedCheckpoint(ctx, store, opts, bound)
		if err != nil {
			return r, err
		}
		cover = c
	}
	r.Covered = cover
	auth := eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: opts.WriterKeys, Store: store, Covered: coverFirst(cover, opts.WriterKeys == nil)})
	tree := merkle.NewTree()
	var positions []eventstore.Position // by seq, to name the event of a tree node
	nodes := merkle.NewMemNodes()
	var checkpoints []Checkpoint
	agencies := newAgencyLogs(nil)

	var nextStored func() (Entry, error, bool)
	if opts.Stored != nil {
		var stop func()
		nextStored, stop = iter.Pull2(opts.Stored.AllEntries(ctx))
		defer stop()
	}
	addIntegrity := func(ie *eventstore.IntegrityError) {
		add(Problem{Position: ie.Position, Stream: ie.Stream, EventID: ie.EventID.String(), Problem: "event store: " + ie.Problem})
	}

	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return r, fmt.Errorf("audit: verify: read: %w", err)
		}
		r.Checked++
		if opts.Progress != nil && r.Checked%10000 == 0 {
			opts.Progress(r.Checked)
		}
		out, err := auth.Check(ctx, ev)
		if err != nil {
			return r, fmt.Errorf("audit: verify: %w", err)
		}
		for _, ie := range refusals(out) {
			addIntegrity(ie)
		}
		if ev.Position > bound {
			r.Pending++ // authenticated, but not in the projected trail yet
			continue
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
		if _, _, _, err := agencies.add(ctx, ev, e); err != nil {
			return r, err
		}
		if nextStored != nil {
			s, err, ok := nextStored()
			switch {
			case err != nil:
				return r, fmt.Errorf("audit: verify: read stored entries: %w", err)
			case !ok || s.Seq >= boundSize:
				add(Problem{Seq: ptr(seq), Position: ev.Position, Stream: ev.Stream, EventID: e.EventID, Problem: "the event has no stored audit entry (deleted from the trail?)"})
			default:
				if d := diffEntry(e, s); d != "" {
					add(Problem{Seq: ptr(seq), Position: ev.Position, Stream: ev.Stream, EventID: e.EventID, Problem: "stored audit entry differs from the event: " + d})
				}
			}
		}
	}
	out, err := auth.Finish(ctx)
	if err != nil {
		return r, fmt.Errorf("audit: verify: %w", err)
	}
	for _, ie := range refusals(out) {
		addIntegrity(ie)
	}
	r.Size = tree.Size()
	r.RootHash = tree.Root()
	if nextStored != nil {
		for s, err, ok := nextStored(); ok; s, err, ok = nextStored() {
			if err != nil {
				return r, fmt.Errorf("audit: verify: read stored entries: %w", err)
			}
			if s.Seq >= boundSize {
				break // projected after the watermark was read
			}
			add(Problem{Seq: ptr(s.Seq), Position: s.Position, Stream: s.Stream, EventID: s.EventID, Problem: "stored audit entry has no event in the store (the event was deleted?)"})
		}
		for n, err := range opts.Stored.AllNodes(ctx) {
			if err != nil {
				return r, fmt.Errorf("audit: verify: read stored nodes: %w", err)
			}
			first := n.Index << n.Level
			if (n.Index+1)<<n.Level > boundSize {
				continue // covers entries projected after the watermark
			}
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
			if c.Position > bound {
				continue
			}
			l, ok := ledger[c.Position]
			if !ok || l.Note != c.Note || l.Size != c.Size || l.RootHash != c.RootHash || !l.SignedAt.Equal(c.SignedAt) || l.Signature != c.Signature || l.KeyID != c.KeyID {
				add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("stored checkpoint of size %d differs from the one in the ledger at this position (or the ledger has none)", c.Size)})
			}
		}
	}
	historyChanged := false
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
			historyChanged = true
			continue
		}
		root, err := merkle.RootAt(ctx, nodes, c.Size)
		if err != nil {
			return r, err
		}
		if root != c.RootHash {
			add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("checkpoint at size %d signed root %s, the store gives %s: history changed", c.Size, c.RootHash, root)})
			historyChanged = true
		}
		// The agency roots the national checkpoint signs, and the agency
		// checkpoints signed with it.
		n := len(r.Problems)
		if err := agencies.checkCheckpoint(ctx, c, opts.Keys, add); err != nil {
			return r, err
		}
		if len(r.Problems) > n {
			historyChanged = true
		}
	}
	if w := opts.Witnessed; w != nil {
		if p := witnessedInLedger(*w, checkpoints, bound); p != "" {
			add(Problem{Position: w.Position, Stream: CheckpointStream, Problem: p})
			historyChanged = true
		}
	}
	if historyChanged && cover > 0 {
		// The checkpoint's cover is void: name what a writer did not sign.
		r.Covered = 0
		problems, err := signatureProblems(ctx, store, opts.WriterKeys)
		if err != nil {
			return r, err
		}
		for _, ie := range problems {
			addIntegrity(ie)
		}
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

// coverFirst returns an eventstore.AuthOptions.Covered that covers the
// first n trail entries (or everything, when all is set: no writer keys).
func coverFirst(n uint64, all bool) func(eventstore.Event) bool {
	if all {
		return func(eventstore.Event) bool { return true }
	}
	seen := uint64(0)
	return func(ev eventstore.Event) bool {
		if !InTrail(ev.Stream) {
			return false // checkpoints are not leaves: their writer signs them
		}
		seen++
		return seen <= n
	}
}

// CoverFirst returns, for eventstore.AuthenticatedStore.Covering, a maker
// of predicates for feeds read from the start of the store: each covers
// the first n audit-trail entries, those a signed checkpoint of size n
// authenticates once the caller has compared its root with the one
// recomputed over the same events (which it must do before it trusts
// anything it derived from them).
func CoverFirst(n uint64) func() func(eventstore.Event) bool {
	return func() func(eventstore.Event) bool { return coverFirst(n, false) }
}

// trustedCheckpoint returns the size of the checkpoint that covers writer
// signatures: the witnessed one when given, else the latest in the ledger
// (at or before bound) whose signature verifies; 0 when there is none.
func trustedCheckpoint(ctx context.Context, store eventstore.Store, opts VerifyOptions, bound eventstore.Position) (uint64, error) {
	return latestTrusted(ctx, store, opts.Keys, opts.Witnessed, bound, "verify", func(Checkpoint) bool { return true })
}

// latestTrusted returns the size of the witnessed checkpoint when given
// (0 unless it opens with keys and fits), else of the latest checkpoint in
// the ledger at or before bound that fits and whose signature verifies;
// 0 when there is none. op names the caller in errors.
func latestTrusted(ctx context.Context, store eventstore.Store, keys []*merkle.Verifier, witnessed *Checkpoint, bound eventstore.Position, op string, fits func(Checkpoint) bool) (uint64, error) {
	if witnessed != nil {
		if len(keys) == 0 || !fits(*witnessed) || OpenCheckpoint(*witnessed, keys...) != nil {
			return 0, nil
		}
		return witnessed.Size, nil
	}
	if len(keys) == 0 {
		return 0, nil
	}
	for ev, err := range store.ReadStream(ctx, CheckpointStream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("audit: %s: read checkpoints: %w", op, err)
		}
		if ev.Position > bound {
			continue
		}
		c, err := CheckpointOf(ev)
		if err == nil && fits(c) && OpenCheckpoint(c, keys...) == nil {
			return c.Size, nil
		}
	}
	return 0, nil
}

// witnessedInLedger says what is wrong when the ledger (its checkpoints up
// to bound) lacks the witnessed checkpoint, or "".
func witnessedInLedger(w Checkpoint, ledger []Checkpoint, bound eventstore.Position) string {
	if w.Position > bound {
		return "" // beyond the compared point
	}
	for _, c := range ledger {
		if c.Position == w.Position {
			if c.Note != w.Note {
				return fmt.Sprintf("the ledger's checkpoint at position %d differs from the witnessed one (size %d)", w.Position, w.Size)
			}
			return ""
		}
	}
	return fmt.Sprintf("the witnessed checkpoint of size %d (position %d) is not in the ledger: it was rolled back or truncated", w.Size, w.Position)
}

// refusals returns the problems of out, each once (the events of one
// refused append share theirs).
func refusals(out []eventstore.Outcome) []*eventstore.IntegrityError {
	var ies []*eventstore.IntegrityError
	for _, o := range out {
		if o.Refused != nil && (len(ies) == 0 || ies[len(ies)-1] != o.Refused) {
			ies = append(ies, o.Refused)
		}
	}
	return ies
}

// signatureProblems authenticates the whole store, every writer signature
// checked, and returns the signature problems (chain problems are found by
// the first pass).
func signatureProblems(ctx context.Context, store eventstore.Store, keys *eventstore.Keyring) ([]*eventstore.IntegrityError, error) {
	auth := eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: store})
	var out []*eventstore.IntegrityError
	keep := func(os []eventstore.Outcome) {
		for _, ie := range refusals(os) {
			if ie.Err != nil {
				out = append(out, ie)
			}
		}
	}
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("audit: verify: read: %w", err)
		}
		os, err := auth.Check(ctx, ev)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		keep(os)
	}
	os, err := auth.Finish(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	keep(os)
	return out, nil
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
