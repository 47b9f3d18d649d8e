package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// snapshotReport is what `kinerjactl snapshot` prints.
type snapshotReport struct {
	Path string `json:"path"`
	// Events counts the events read; CoveredByCheckpoint the entries the
	// witnessed checkpoint vouched for (no signature check each).
	Events              int    `json:"events"`
	CoveredByCheckpoint uint64 `json:"covered_by_checkpoint"`
	// StreamReplays counts the streams the aggregate caches replayed
	// (misses of the --catchup-cache-skps bound).
	StreamReplays uint64  `json:"stream_replays"`
	Seconds       float64 `json:"seconds"`
	// Deadlines is DATA/deadlines.db's checkpoint after the run (the
	// deadline process manager's state, built in the same pass), 0 with
	// --deadlines=false.
	Deadlines eventstore.Position `json:"deadlines_checkpoint"`
	// DeadlinesStalled says why the deadline process manager's projection
	// stalled (its checkpoint is Deadlines): the read models' snapshot is
	// written all the same, and the command exits non-zero
	// (errDeadlinesStalled); kinerjad catches deadlines.db up from its
	// checkpoint and reports the stall in /readyz.
	DeadlinesStalled string `json:"deadlines_stalled,omitempty"`
}

// errDeadlinesStalled: the snapshot was written, deadlines.db stalled.
var errDeadlinesStalled = errors.New("the snapshot was written, but the deadline process manager (DATA/deadlines.db) stalled before the log's end (deadlines_stalled in the report); kinerjad will catch it up from its checkpoint and hold at the same event: start it and see /readyz")

// errNoTrustedCheckpoint: the offline snapshot builds only under a
// witnessed checkpoint (as kinerjad's cold start trusts it).
var errNoTrustedCheckpoint = errors.New("no trusted checkpoint: the store holds no signed checkpoint that the audit key verifies and the witness holds. " +
	"Start kinerjad on the data directory once instead (it rebuilds the read models checking every writer signature, signs and witnesses a checkpoint, " +
	"and writes the snapshot at a clean shutdown), or seed with --sign-checkpoint; then run kinerjactl snapshot again")

// runSnapshot builds the in-memory read models from an embedded (bbolt)
// ledger offline, as kinerjad's first start would, and writes their
// snapshot (DATA/readmodels.snapshot), so that kinerjad then starts warm:
// a province's first start rebuilds 3.45 M events into read models that
// outgrow the memory a serving process is given (docs/operations.md,
// "Read-model snapshots").
//
// It verifies what kinerjad's cold start verifies: the store against the
// witness (the newest witnessed checkpoint must be in it), the entries
// below that checkpoint by the root of the rebuilt audit trail, and every
// entry past it by its writer signature. It refuses without such a
// checkpoint (errNoTrustedCheckpoint), when the rebuilt root differs, and
// when a projection stalls; and while kinerjad runs on the directory: the
// bbolt file's lock.
//
// In the same pass over the log it brings the deadline process manager's
// state (DATA/deadlines.db) up to the log's end, as kinerjad's start would
// (with the same settings: give it kinerjad's --zone, --establish-deadline,
// --rating-due-days, ...): without it kinerjad's first start over the
// snapshot replayed the whole log for the deadline manager alone (26 min at
// 20,000 employees, docs/benchmarks.md §55). A deadlines.db already there
// is caught up from its own checkpoint, as kinerjad does, after a reset
// if it was built with other settings; the settings are recorded in it,
// and kinerjad resets it (deadlines_reset reason=settings) when its own
// differ. A stalled deadline projection does not stop the snapshot: it is
// written, the report says deadlines_stalled, and the exit is non-zero.
func runSnapshot(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("snapshot", stderr)
	var sf storeFlags
	fs.StringVar(&sf.data, "data", "./data", "data directory of an embedded (bbolt) ledger; kinerjad must not be running on it")
	sf.registerKeys(fs)
	var integ wiring.IntegrityConfig
	integ.RegisterWitnessFlags(fs)
	auditKeyFile := fs.String("audit-key", "", "checkpoint signing key, as kinerjad's --audit-key (default DATA/"+wiring.AuditKeyFile+"; it signs the snapshot)")
	var pf wiring.PolicyFlags
	pf.RegisterFlags(fs) // as kinerjad's: the read models fold with the policy
	var dc wiring.DeadlineConfig
	// As kinerjad's: the deadlines are a function of them (recorded in
	// deadlines.db; kinerjad resets items built with other ones). Not
	// --nats-reminder-subject nor --deadline-interval: nothing is sent.
	dc.RegisterSettingsFlags(fs)
	withDeadlines := fs.Bool("deadlines", true, "also bring DATA/deadlines.db (the deadline process manager's state) up to the log's end in the same pass, so that kinerjad's first start does not replay the log for it")
	cacheSKPs := fs.Int("catchup-cache-skps", 4096, "SKP aggregates each SKP projection keeps in its cache while it reads the log, as kinerjad's --catchup-cache-skps")
	batch := fs.Int("batch", 2000, "events per batch")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *cacheSKPs < 0 || *batch < 1 {
		return exitcode.Usagef("--catchup-cache-skps must not be negative, --batch must be at least 1")
	}
	pol := policy.Default()
	if err := pf.Apply(&pol); err != nil {
		return exitcode.Usage(err)
	}
	if err := dc.ValidateSettings(pol); err != nil {
		return exitcode.Usage(err)
	}
	sf.store = backend.Bolt
	integ.WriterKey, integ.WriterKeyring = sf.writerKey, sf.writerKeyring
	integ = integ.WithDefaults(sf.data)
	keyPath := *auditKeyFile
	if keyPath == "" {
		keyPath = filepath.Join(sf.data, wiring.AuditKeyFile)
	}
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		// No audit key, so no checkpoint kinerjad would trust.
		return fmt.Errorf("snapshot: no audit key at %s: %w", keyPath, errNoTrustedCheckpoint)
	} else if err != nil {
		return fmt.Errorf("snapshot: the audit key: %w", err)
	}
	key, err := wiring.LoadOrCreateAuditKey(keyPath, "")
	if err != nil {
		return err
	}
	verifiers := []*merkle.Verifier{key.Verifier()}
	// The bbolt file's lock: a running kinerjad holds it, and the open
	// fails (openLedger says to stop it) before anything is read.
	l, err := openLedger(ctx, sf, stderr, readLedger)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer l.close()
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	guard, closeWitness, err := wiring.OpenGuard(ctx, integ, l.store, verifiers, log)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer closeWitness()
	cover := guard.Cover()
	if cover == nil {
		return fmt.Errorf("snapshot: %w", errNoTrustedCheckpoint)
	}
	begin := time.Now()
	authed := eventstore.NewAuthenticatedStore(l.store, l.keys.Keyring).Marking()
	// One shared history under the bound, as in kinerjad: a stream the
	// five SKP read models replay is read and checked once for all.
	shared := projections.NewSharedHistory(projections.StoreHistory{Store: authed}, 0)
	history := &projections.BoundedHistory{History: shared}
	history.SetBound(*cacheSKPs)
	m := memreadmodel.New(memreadmodel.Options{History: history, Policy: pol})
	sinks := m.Sinks()
	var dsink *deadlines.Sink
	if *withDeadlines {
		var closeDeadlines func() error
		if dsink, closeDeadlines, err = openSnapshotDeadlines(ctx, filepath.Join(sf.data, "deadlines.db"), l.store, history, *cacheSKPs, dc.Settings(pol), log); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		defer closeDeadlines() // after the group's Close below
		sinks = append(sinks, snapshotDeadlineSink(dsink))
	}
	feed := authed.Covering(cover)
	group, err := projections.NewGroup(ctx, projections.GroupConfig{Store: feed, Sinks: guard.Halt(sinks), Admit: feed.Verdict})
	if err != nil {
		return err
	}
	defer group.Close()
	n, err := group.CatchUp(ctx, projections.CatchUpOptions{Batch: *batch, Progress: progress(stderr, "snapshot: rebuilding the read models")})
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	// A stalled deadline projection does not hold back the read models'
	// snapshot: it is reported on its own (deadlinesStalled).
	var deadlinesStalled string
	stalled := group.Stalled()
	if i := slices.Index(stalled, deadlines.Name); i >= 0 && dsink != nil {
		stalled = slices.Delete(stalled, i, i+1)
		deadlinesStalled = "stalled"
		for _, st := range group.States() {
			if st.Name != deadlines.Name {
				continue
			}
			if st.Stall != nil {
				deadlinesStalled = fmt.Sprintf("held at position %d (%s on %s): %s", st.Stall.Position, st.Stall.Type, st.Stall.Stream, st.Stall.Reason)
			} else if st.LastError != "" {
				deadlinesStalled = st.LastError
			}
		}
	}
	if len(stalled) > 0 {
		return fmt.Errorf("snapshot: projections stalled at an event they cannot apply: %v; no snapshot written (start kinerjad to see why in /readyz)", stalled)
	}
	if err := guard.CheckRoot(ctx, m.Audit(), log); err != nil {
		return fmt.Errorf("snapshot: %w; no snapshot written: run kinerjactl verify", err)
	}
	if err := guard.Problem(); err != nil {
		return fmt.Errorf("snapshot: %w; no snapshot written", err)
	}
	m.DropCaches()
	snaps := &wiring.Snapshots{Model: m, Path: filepath.Join(sf.data, memreadmodel.SnapshotFile), Key: key, Verifiers: verifiers,
		Store: l.store, WriterKeys: l.keys.Keyring, Witnessed: guard.Witnessed, Healthy: guard.Problem, Log: log}
	if err := snaps.Write(ctx); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := os.Stat(snaps.Path); err != nil {
		return fmt.Errorf("snapshot: nothing written (%w): is the ledger empty?", err)
	}
	rep := snapshotReport{Path: snaps.Path, Events: n, CoveredByCheckpoint: guard.CoveredSize(), StreamReplays: history.Replays()}
	if dsink != nil {
		if rep.Deadlines, err = dsink.Checkpoint(ctx); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	rep.DeadlinesStalled = deadlinesStalled
	rep.Seconds = time.Since(begin).Seconds()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if deadlinesStalled != "" {
		return fmt.Errorf("snapshot: %w", errDeadlinesStalled)
	}
	return nil
}

// snapshotDeadlineSink is the deadline sink the snapshot's group runs (a
// test hook: one that stalls).
var snapshotDeadlineSink = func(s *deadlines.Sink) projections.Sink { return s }

// openSnapshotDeadlines opens DATA/deadlines.db (made if missing; its lock
// refuses while kinerjad runs) as kinerjad's start does: reset when its
// checkpoint is past the store's head (a store restored from an older
// copy) or its items were built with other settings (recorded in it,
// wiring.CheckDeadlineSettings), then caught up from its checkpoint with the read models; close
// closes the file.
func openSnapshotDeadlines(ctx context.Context, path string, store eventstore.Store, h projections.History, cacheSKPs int, set deadlines.Settings, log *slog.Logger) (sink *deadlines.Sink, close func() error, err error) {
	b, err := deadlinestore.OpenBolt(path)
	if errors.Is(err, deadlinestore.ErrInUse) {
		return nil, nil, fmt.Errorf("%s is held by another process: is kinerjad running on this directory? Stop it first (%w)", path, err)
	} else if err != nil {
		return nil, nil, err
	}
	head, err := store.Head(ctx)
	if err == nil {
		var reset bool
		if reset, err = deadlines.ResetIfAhead(ctx, b, head); reset {
			log.Warn("deadlines_reset", "reason", "the store's head is before the process manager's checkpoint (restored from an older copy)", "head", uint64(head))
		}
	}
	if err == nil {
		err = wiring.CheckDeadlineSettings(ctx, b, set, log)
	}
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return deadlines.NewSink(b, deadlines.NewProjection(h, cacheSKPs, set)), b.Close, nil
}
