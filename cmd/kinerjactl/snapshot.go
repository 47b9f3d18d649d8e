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
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
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
}

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
	feed := authed.Covering(cover)
	group, err := projections.NewGroup(ctx, projections.GroupConfig{Store: feed, Sinks: guard.Halt(m.Sinks()), Admit: feed.Verdict})
	if err != nil {
		return err
	}
	defer group.Close()
	n, err := group.CatchUp(ctx, projections.CatchUpOptions{Batch: *batch, Progress: progress(stderr, "snapshot: rebuilding the read models")})
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if stalled := group.Stalled(); len(stalled) > 0 {
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
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(snapshotReport{Path: snaps.Path, Events: n, CoveredByCheckpoint: guard.CoveredSize(), StreamReplays: history.Replays(),
		Seconds: time.Since(begin).Seconds()})
}
