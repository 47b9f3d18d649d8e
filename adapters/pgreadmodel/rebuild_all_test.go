package pgreadmodel_test

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"testing"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// startAll starts a rebuild of every projection of db.
func startAll(t *testing.T, db *pgreadmodel.DB) []*pgreadmodel.Rebuild {
	t.Helper()
	var rbs []*pgreadmodel.Rebuild
	for _, name := range pgreadmodel.Names() {
		rb, err := db.StartRebuild(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		rbs = append(rbs, rb)
	}
	return rbs
}

// rebuildSetup is the setup of this file's tests: the journey, its events,
// read models over its store and their backend, whose live Sinks have
// projected (in batches of 20) every event, or with half only the first
// half: behind the rebuild that follows.
func rebuildSetup(t *testing.T, half bool) (*readmodeltest.Journey, []projections.Event, *pgreadmodel.DB, *readmodeltest.Backend) {
	t.Helper()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	db := openDB(t, projections.StoreHistory{Store: j.Store})
	b := backend(db)
	live := evs
	if half {
		live = evs[:len(evs)/2]
	}
	readmodeltest.Project(t, b, live, 20)
	return j, evs, db, b
}

// TestRebuildAllFromOneRead: RunAll rebuilds every projection from one read
// of the log, while the live Sinks are behind and while they move on, and
// swaps them in; the read models then answer exactly as the incremental
// ones of a backend that never rebuilt (the shared suite's snapshot).
func TestRebuildAllFromOneRead(t *testing.T) {
	ctx := context.Background()
	j, evs, db, b := rebuildSetup(t, true)
	rbs := startAll(t, db)
	// Small batches: many transactions per Sink, each Sink's in order.
	if err := pgreadmodel.RunAll(ctx, j.Store, rbs, 13, nil); err != nil {
		t.Fatal(err)
	}
	st, err := db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Generation != 2 || s.Rebuilding != "" {
			t.Errorf("status after RunAll = %+v, want generation 2 live, no rebuild left", s)
		}
	}
	readmodeltest.Project(t, b, evs, 20) // the live Sinks go on past the swap
	ref := backend(openDB(t, projections.StoreHistory{Store: j.Store}))
	readmodeltest.Project(t, ref, evs, 100)
	readmodeltest.SameSnapshot(t, "RunAll", readmodeltest.Take(t, ref), readmodeltest.Take(t, b))
}

// cancelAfter is a store whose global reads cancel a context once n
// events were read: an operator's interrupt, or a crash, mid-rebuild.
type cancelAfter struct {
	eventstore.Store
	n      int
	cancel context.CancelFunc
}

func (c cancelAfter) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		i := 0
		for ev, err := range c.Store.ReadAll(ctx, opts) {
			if i++; i == c.n {
				c.cancel()
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

// TestRebuildAllCancelledLeavesTheLiveTables: a rebuild of every projection
// interrupted mid-read (its context cancelled while batches are applied)
// fails, swaps nothing in, and leaves the live read models answering
// exactly as before, at generation 1; the tables it left are dropped by
// the next StartRebuild (a process that died cannot Abort), whose run then
// completes and equals the incremental read models.
func TestRebuildAllCancelledLeavesTheLiveTables(t *testing.T) {
	j, evs, db, b := rebuildSetup(t, false)
	want := readmodeltest.Take(t, b)

	for _, n := range []int{1, len(evs) / 3, len(evs) - 1} {
		ctx, cancel := context.WithCancel(context.Background())
		rbs := startAll(t, db)
		err := pgreadmodel.RunAll(ctx, cancelAfter{Store: j.Store, n: n, cancel: cancel}, rbs, 7, nil)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled after %d events: RunAll = %v, want context.Canceled", n, err)
		}
		readmodeltest.SameSnapshot(t, "the live read models after a cancelled rebuild", want, readmodeltest.Take(t, b))
		st, err := db.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Generation != 1 {
				t.Errorf("cancelled after %d events: %s is at generation %d, want 1 (nothing swapped)", n, s.Projection, s.Generation)
			}
		}
	}
	// No Abort: the next rebuild starts over the same generation's tables.
	if err := pgreadmodel.RunAll(context.Background(), j.Store, startAll(t, db), 50, nil); err != nil {
		t.Fatal(err)
	}
	readmodeltest.SameSnapshot(t, "a rebuild after cancelled ones", want, readmodeltest.Take(t, b))
}

// witnessedAll returns a witness record whose checkpoint covers every
// audit-trail entry of store (its root recomputed as the audit Sink
// computes its leaves; RunAllCovered does not check the signature, its
// caller does).
func witnessedAll(t *testing.T, store eventstore.Store) *audit.WitnessRecord {
	t.Helper()
	tree := merkle.NewTree()
	var last eventstore.Position
	for ev, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if audit.InTrail(ev.Stream) {
			tree.Append(audit.EntryOf(tree.Size(), ev).LeafHash)
			last = ev.Position
		}
	}
	return &audit.WitnessRecord{Checkpoint: audit.Checkpoint{Size: tree.Size(), RootHash: tree.Root(), Position: last + 1, Note: "test"}}
}

// TestRebuildAllCoveredByAWitnessedCheckpoint: RunAllCovered reads the
// events under the witnessed checkpoint by their chain links alone (the
// journey's events carry no writer signature: a read verifying signatures
// would refuse them all) and gives the incremental read models.
func TestRebuildAllCoveredByAWitnessedCheckpoint(t *testing.T) {
	ctx := context.Background()
	j, evs, db, b := rebuildSetup(t, true)
	authed := eventstore.NewAuthenticatedStore(j.Store, eventstore.NewKeyring())
	if err := pgreadmodel.RunAllCovered(ctx, authed, witnessedAll(t, j.Store), startAll(t, db), 13, nil); err != nil {
		t.Fatal(err)
	}
	readmodeltest.Project(t, b, evs, 20)
	ref := backend(openDB(t, projections.StoreHistory{Store: j.Store}))
	readmodeltest.Project(t, ref, evs, 100)
	readmodeltest.SameSnapshot(t, "RunAllCovered", readmodeltest.Take(t, ref), readmodeltest.Take(t, b))
}

// altered is a store whose global reads yield one event (the last of its
// stream) with a payload byte changed and its chain hash re-computed: the
// chain links hold, only the audit root can tell.
type altered struct {
	eventstore.Store
	id uuid.UUID
}

func (a altered) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		prev := map[string]eventstore.Hash{}
		for ev, err := range a.Store.ReadAll(ctx, opts) {
			if err == nil && ev.ID == a.id {
				ev.Data = bytes.Clone(ev.Data)
				ev.Data[len(ev.Data)/2] ^= 1
				ev.Hash = eventstore.ChainHash(prev[ev.Stream], ev.Stream, ev.Revision, &ev.EventData)
			}
			prev[ev.Stream] = ev.Hash
			if !yield(ev, err) {
				return
			}
		}
	}
}

// TestRebuildAllCoveredRefusesAnAlteredHistory: an event under the
// witnessed checkpoint altered (chain re-computed): RunAllCovered fails
// with ErrHistoryChanged after the catch-up, swaps nothing in (the live
// read models answer as before, generation 1), and Abort leaves no rebuild.
func TestRebuildAllCoveredRefusesAnAlteredHistory(t *testing.T) {
	ctx := context.Background()
	j, evs, db, b := rebuildSetup(t, false)
	want := readmodeltest.Take(t, b)
	// The last event of the first stream that has more than one.
	last := map[string]projections.Event{}
	for _, e := range evs {
		last[e.Stream] = e
	}
	var victim uuid.UUID
	for _, e := range evs {
		if l := last[e.Stream]; l.Revision > 0 && audit.InTrail(e.Stream) {
			victim = l.ID
			break
		}
	}
	rec := witnessedAll(t, j.Store)
	authed := eventstore.NewAuthenticatedStore(altered{Store: j.Store, id: victim}, eventstore.NewKeyring())
	rbs := startAll(t, db)
	err := pgreadmodel.RunAllCovered(ctx, authed, rec, rbs, 13, nil)
	if !errors.Is(err, pgreadmodel.ErrHistoryChanged) || !errors.Is(err, eventstore.ErrIntegrity) {
		t.Fatalf("RunAllCovered over an altered history = %v, want ErrHistoryChanged", err)
	}
	for _, rb := range rbs {
		if rb.Swapped() {
			t.Errorf("%s was swapped in", rb.Name())
		}
		if err := rb.Abort(ctx); err != nil {
			t.Fatal(err)
		}
	}
	readmodeltest.SameSnapshot(t, "the live read models after a refused rebuild", want, readmodeltest.Take(t, b))
	st, err := db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Generation != 1 || s.Rebuilding != "" {
			t.Errorf("after a refused rebuild: %+v, want generation 1, no rebuild left", s)
		}
	}
}

// TestRebuildAllCoveredReplaysByTheLinks: with caches of one SKP, the SKP
// projections replay a stream at almost every event (their History reads
// it through the authenticated store). Under the witnessed checkpoint,
// RunAllCovered anchors those reads at the heads its covered read gave:
// the journey's events carry no writer signature, so a replay verifying
// signatures would refuse them and the rebuild fail; anchored, it checks
// their links and gives the incremental read models.
func TestRebuildAllCoveredReplaysByTheLinks(t *testing.T) {
	ctx := context.Background()
	j, evs, _, b := rebuildSetup(t, true)
	authed := eventstore.NewAuthenticatedStore(j.Store, eventstore.NewKeyring())
	p := testPool(t)
	history := &projections.BoundedHistory{History: projections.StoreHistory{Store: authed}}
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: freshSchema(t, p), History: history, CacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgreadmodel.RunAllCovered(ctx, authed, witnessedAll(t, j.Store), startAll(t, db), 13, nil); err != nil {
		t.Fatal(err)
	}
	if history.Replays() == 0 {
		t.Fatal("no stream was replayed: the test tests nothing")
	}
	readmodeltest.Project(t, b, evs, 20)
	rebuilt := backend(db)
	readmodeltest.Project(t, rebuilt, evs, 20) // the rebuilt live Sinks catch up too (nothing left)
	readmodeltest.SameSnapshot(t, "RunAllCovered with replays", readmodeltest.Take(t, b), readmodeltest.Take(t, rebuilt))
}

// TestRebuildAllCoveredKeepsTheStoreAnchors: the store's anchors are shared
// by its copies (kinerjad anchors its authenticated store at start-up);
// RunAllCovered sets its own while it runs and gives the earlier ones back
// after, not none. A Marking copy is refused, nothing read.
func TestRebuildAllCoveredKeepsTheStoreAnchors(t *testing.T) {
	ctx := context.Background()
	j, evs, db, _ := rebuildSetup(t, true)
	authed := eventstore.NewAuthenticatedStore(j.Store, eventstore.NewKeyring())
	asked := 0
	authed.AnchorStreams(func(context.Context, string) (eventstore.Head, bool) {
		asked++
		return eventstore.Head{}, false
	})
	if err := pgreadmodel.RunAllCovered(ctx, authed.Marking(), witnessedAll(t, j.Store), nil, 13, nil); err == nil {
		t.Fatal("RunAllCovered over a Marking copy: no error")
	}
	if err := pgreadmodel.RunAllCovered(ctx, authed, witnessedAll(t, j.Store), startAll(t, db), 13, nil); err != nil {
		t.Fatal(err)
	}
	asked = 0
	// The journey's events are unsigned and this anchor vouches for none:
	// the read fails; what counts is that it asked the earlier anchors.
	for _, err := range authed.ReadStream(ctx, evs[0].Stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			break
		}
	}
	if asked == 0 {
		t.Fatal("after RunAllCovered the store's earlier anchors are gone")
	}
}
