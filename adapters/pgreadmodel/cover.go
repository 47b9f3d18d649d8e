package pgreadmodel

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// A rebuild covered by a witnessed checkpoint. Authenticating every event
// of a rebuild costs one Ed25519 verification per append (≈ 60 µs: 60 %
// of `rebuild all`'s CPU, docs/benchmarks.md §26). A signed audit
// checkpoint that a witness recorded authenticates every event below it at
// once, through its Merkle root, as the embedded start-up uses it
// (AuthenticatedStore.Covering, audit.CoverFirst): the events under it are
// read checking their chain links only, the root of the trail they give is
// recomputed as they are read, and no rebuild is swapped in unless that
// root equals the signed one. Events past the checkpoint are authenticated
// as always.

// ErrHistoryChanged matches the error of a covered rebuild whose events
// under the witnessed checkpoint do not give its signed root (an event
// altered, added or removed below it, chain links re-computed or not).
// It also matches eventstore.ErrIntegrity and audit.ErrRollback.
var ErrHistoryChanged = errors.New("integrity_violation: the history under the witnessed audit checkpoint changed")

// historyChanged is ErrHistoryChanged with what did not match.
type historyChanged struct{ rb *audit.RollbackError }

func (e historyChanged) Error() string {
	return ErrHistoryChanged.Error() + "; " + e.rb.Problem + "; rebuild refused, nothing swapped in (run kinerjactl verify)"
}

func (e historyChanged) Is(target error) bool {
	return target == ErrHistoryChanged || target == eventstore.ErrIntegrity || target == audit.ErrRollback
}

func (e historyChanged) Unwrap() error { return e.rb }

// RunAllCovered is RunAll reading the events under the witnessed
// checkpoint rec covered by it (chain links checked, signatures not), and
// checking, after the catch-up and before any swap, that the audit-trail
// entries read give rec's signed root at its size. A mismatch (or a log
// holding fewer entries) fails every rebuild of the run with an error
// matching ErrHistoryChanged, before anything is swapped; the caller
// aborts them as after any failure. The caller must have checked rec
// against the store and the audit keys (audit.CheckWitness). The covered
// read needs every rebuild to start from the beginning of the log (a
// fresh StartRebuild); rebuilds that do not are read as RunAll reads them.
// While it runs, store's stream reads (the SKP projections' replays of the
// streams their caches do not hold) are anchored at the heads the covered
// read gave (AnchorStreams; the store's earlier anchors, which every copy
// of it shares, are restored at the end): their links are checked, not a
// signature per append. A Marking copy (whose refused events come without
// an error) is refused with an error, nothing read.
func RunAllCovered(ctx context.Context, store *eventstore.AuthenticatedStore, rec *audit.WitnessRecord, rbs []*Rebuild, batch int, progress func(pos eventstore.Position, read int)) error {
	if store.Marks() {
		return fmt.Errorf("pgreadmodel: covered rebuild: the store is a Marking copy (refused events would come without an error): nothing read, nothing swapped")
	}
	if rec == nil || rec.Checkpoint.Size == 0 {
		return RunAll(ctx, store, rbs, batch, progress)
	}
	tee := &rootTee{Store: store.Covering(audit.CoverFirst(rec.Checkpoint.Size)), size: rec.Checkpoint.Size}
	// The SKP projections replay a stream their caches do not hold from
	// store's stream reads (their History). While the run lasts, those
	// reads are anchored at the last event of the stream that the covered
	// read gave (chain links up to its hash, no writer signature): the
	// covered read's events are what the root check below vouches for, and
	// nothing is swapped unless it passes.
	previous := store.AnchorStreams(tee.anchor)
	defer func() { store.AnchorStreams(previous) }() // its result is tee.anchor: dropped
	check := func() error {
		tee.mu.Lock()
		defer tee.mu.Unlock()
		rb := func(format string, args ...any) error {
			return historyChanged{&audit.RollbackError{Witnessed: rec, Problem: fmt.Sprintf(format, args...)}}
		}
		switch {
		case !tee.read:
			return fmt.Errorf("pgreadmodel: covered rebuild: the log was not read from its beginning (a rebuild resumed?): nothing checked, nothing swapped")
		case tee.root.Size() < tee.size:
			return rb("the log gave %d audit-trail entries, fewer than the %d of the witnessed checkpoint (signed %s): events were removed",
				tee.root.Size(), tee.size, rec.Checkpoint.SignedAt.Format(time.RFC3339))
		case tee.root.Root() != rec.Checkpoint.RootHash:
			return rb("the events read give root %s at size %d, the witnessed checkpoint (signed %s) signed %s",
				tee.root.Root(), tee.size, rec.Checkpoint.SignedAt.Format(time.RFC3339), rec.Checkpoint.RootHash)
		}
		return nil
	}
	return runAll(ctx, tee, store, check, rbs, batch, progress)
}

// rootTee is a store whose global reads from the beginning (unfiltered, as
// a catch-up reads) recompute, from the events they yield, the Merkle root
// of the first size audit-trail entries: the leaves the audit Sink appends
// (audit.EntryOf), whichever projections are rebuilt.
type rootTee struct {
	eventstore.Store
	size uint64

	mu   sync.Mutex
	read bool              // a read from the beginning ran
	root *audit.PrefixRoot // of the last such read

	// heads are the last event of each stream the reads from the
	// beginning gave (anchor).
	headsMu sync.RWMutex
	heads   map[string]eventstore.Head
}

// anchor returns the head of stream that the covered read gave, for
// AuthenticatedStore.AnchorStreams.
func (t *rootTee) anchor(_ context.Context, stream string) (eventstore.Head, bool) {
	t.headsMu.RLock()
	defer t.headsMu.RUnlock()
	h, ok := t.heads[stream]
	return h, ok
}

func (t *rootTee) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	inner := t.Store.ReadAll(ctx, opts)
	if opts.After != 0 || !opts.Filter.IsEmpty() || opts.Limit > 0 {
		return inner
	}
	return func(yield func(eventstore.Event, error) bool) {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.read, t.root = true, audit.NewPrefixRoot(t.size)
		// The heads start afresh with the root: an earlier read's (one
		// that was not checked) must not anchor a stream this one has
		// not given yet.
		t.headsMu.Lock()
		t.heads = nil
		t.headsMu.Unlock()
		for ev, err := range inner {
			if err == nil {
				t.root.Add(ev)
				t.headsMu.Lock()
				if t.heads == nil {
					t.heads = map[string]eventstore.Head{}
				}
				t.heads[ev.Stream] = eventstore.Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash}
				t.headsMu.Unlock()
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}
