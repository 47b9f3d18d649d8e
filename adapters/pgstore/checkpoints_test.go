package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Consumer checkpoints: 0 until saved, a Save moves forward only (Reset
// moves back to 0), two Checkpoints on one schema (two machines) see each other's
// saves, a fenced Save writes nothing, and bad names and positions are
// refused without a write.
func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	url, schema := splitLocation(newLocation(t))
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var fenced atomic.Bool
	errLost := errors.New("lock lost")
	a, err := pgstore.NewCheckpoints(pool, schema, func(ctx context.Context, tx pgx.Tx) error {
		if fenced.Load() {
			return errLost
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgstore.NewCheckpoints(pool, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	load := func(c *pgstore.Checkpoints, name string) eventstore.Position {
		t.Helper()
		p, err := c.Load(ctx, name)
		if err != nil {
			t.Fatalf("Load(%q): %v", name, err)
		}
		return p
	}
	if p := load(a, "relay"); p != 0 {
		t.Fatalf("a checkpoint never saved = %d, want 0", p)
	}
	if err := a.Save(ctx, "relay", 42<<20|1); err != nil {
		t.Fatal(err)
	}
	if p := load(b, "relay"); p != 42<<20|1 {
		t.Fatalf("another machine loads %d, want %d", p, 42<<20|1)
	}
	if err := b.Save(ctx, "relay", 50<<20|3); err != nil {
		t.Fatal(err)
	}
	fenced.Store(true)
	if err := a.Save(ctx, "relay", 44<<20|1); !errors.Is(err, errLost) {
		t.Fatalf("a fenced Save = %v, want the fence's error", err)
	}
	if p := load(b, "relay"); p != 50<<20|3 {
		t.Fatalf("after a fenced Save the checkpoint is %d, want the new owner's %d", p, 50<<20|3)
	}
	fenced.Store(false)
	if err := a.Save(ctx, "relay", 44<<20|1); !errors.Is(err, pgstore.ErrCheckpointBackwards) || load(b, "relay") != 50<<20|3 {
		t.Fatalf("a Save behind the checkpoint = %v, checkpoint %d; want ErrCheckpointBackwards and no change", err, load(b, "relay"))
	}
	if err := a.Save(ctx, "relay", 50<<20|3); err != nil {
		t.Fatalf("saving the same position again = %v, want a no-op", err)
	}
	if err := a.Reset(ctx, "relay"); err != nil || load(b, "relay") != 0 {
		t.Fatalf("a reset to 0: %v, checkpoint %d", err, load(b, "relay"))
	}
	if p := load(a, "other"); p != 0 {
		t.Fatalf("checkpoints are per name: other = %d", p)
	}
	for _, name := range []string{"", "a\x00b", "tab\there", "\xff", strings.Repeat("x", 201)} {
		if err := a.Save(ctx, name, 1); !errors.Is(err, pgstore.ErrBadCheckpointName) {
			t.Errorf("Save(%q) = %v, want ErrBadCheckpointName", name, err)
		}
		if _, err := a.Load(ctx, name); !errors.Is(err, pgstore.ErrBadCheckpointName) {
			t.Errorf("Load(%q) = %v, want ErrBadCheckpointName", name, err)
		}
	}
	if err := a.Save(ctx, "relay", math.MaxUint64); err == nil {
		t.Error("Save of a position beyond int64 succeeded")
	}
	if p := load(a, "relay"); p != 0 {
		t.Errorf("refused saves changed the checkpoint to %d", p)
	}
	if _, err := pgstore.NewCheckpoints(pool, "Bad-Schema", nil); !errors.Is(err, pgstore.ErrBadSchemaName) {
		t.Errorf("NewCheckpoints on a bad schema name = %v", err)
	}
}

// A Save commits synchronously (see docs/projections.md, "Acknowledged
// means durable"), even where the session asks otherwise.
func TestCheckpointSaveIsDurable(t *testing.T) {
	ctx := context.Background()
	url, schema := splitLocation(newLocation(t))
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var seen string
	c, err := pgstore.NewCheckpoints(pool, schema, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&seen)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(ctx, "relay", 7); err != nil {
		t.Fatal(err)
	}
	if seen == "off" {
		t.Errorf("a checkpoint was saved with synchronous_commit = %s", seen)
	}
}

// legacySource is a checkpoint file directory of before the upgrade.
type legacySource map[string]eventstore.Position

func (l legacySource) Load(_ context.Context, name string) (eventstore.Position, error) {
	return l[name], nil
}

// Upgrading from file checkpoints: while PostgreSQL has no row for a
// relay, its checkpoint is the file's, and the first write imports it
// once (logged), instead of the relay starting again from 0 and
// republishing the whole log. A row, once there, wins over any file.
func TestCheckpointImportsTheFileCheckpointOnce(t *testing.T) {
	ctx := context.Background()
	url, schema := splitLocation(newLocation(t))
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var logged strings.Builder
	a, err := pgstore.NewCheckpoints(pool, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.ImportFrom(legacySource{"integration-nats": 900}, slog.New(slog.NewTextHandler(&logged, nil)))
	if p, err := a.Load(ctx, "integration-nats"); err != nil || p != 900 {
		t.Fatalf("Load before any row = %d, %v; want the file's 900", p, err)
	}
	if err := a.Claim(ctx, "integration-nats"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "relay_checkpoint_imported") || !strings.Contains(logged.String(), "position=900") {
		t.Errorf("the import was not logged: %q", logged.String())
	}
	// Another machine, with an older file, finds the row.
	b, err := pgstore.NewCheckpoints(pool, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.ImportFrom(legacySource{"integration-nats": 3}, nil)
	if p, err := b.Load(ctx, "integration-nats"); err != nil || p != 900 {
		t.Fatalf("Load once imported = %d, %v; want 900", p, err)
	}
	if err := b.Claim(ctx, "integration-nats"); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, "integration-nats", 950); err != nil {
		t.Fatal(err)
	}
	if p, _ := b.Load(ctx, "integration-nats"); p != 950 {
		t.Fatalf("checkpoint = %d, want 950", p)
	}
	// A name without a file starts at 0.
	if p, err := b.Load(ctx, "consequences-nats"); err != nil || p != 0 {
		t.Fatalf("Load of a name without a file = %d, %v", p, err)
	}
}

// The review's race: owner O1 passes its fence, then loses its lease; O2
// takes over, claims and saves P10; O1's write of P7 must not land after
// it. The row is locked before the fence, so O2 waits for O1's
// transaction, and once O2 has claimed, O1's later saves and loads are
// refused (stale epoch): the checkpoint never goes back.
func TestCheckpointFencedOutOwnerCannotMoveItBack(t *testing.T) {
	ctx := context.Background()
	url, schema := splitLocation(newLocation(t))
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	passed, resume := make(chan struct{}), make(chan struct{})
	var pause atomic.Bool
	o1, err := pgstore.NewCheckpoints(pool, schema, func(ctx context.Context, tx pgx.Tx) error {
		if pause.Load() {
			close(passed) // the fence passed; the lease is lost right after
			<-resume
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	o2, err := pgstore.NewCheckpoints(pool, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	const name = "integration-nats"
	if err := o1.Claim(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := o1.Save(ctx, name, 5); err != nil {
		t.Fatal(err)
	}
	pause.Store(true)
	o1done := make(chan error, 1)
	go func() { o1done <- o1.Save(ctx, name, 7) }()
	<-passed
	pause.Store(false)
	o2done := make(chan error, 1)
	go func() {
		if err := o2.Claim(ctx, name); err != nil {
			o2done <- err
			return
		}
		o2done <- o2.Save(ctx, name, 10)
	}()
	select {
	case err := <-o2done:
		// Only without the row lock can O2 get here while O1 is paused.
		close(resume)
		o2done <- err
	case <-time.After(500 * time.Millisecond):
		close(resume) // O2 waits for O1's row lock, as it should
	}
	if err := <-o1done; err != nil {
		t.Fatalf("O1's save, fenced before it lost its lease: %v", err)
	}
	if err := <-o2done; err != nil {
		t.Fatalf("O2's claim and save: %v", err)
	}
	if p, _ := o2.Load(ctx, name); p != 10 {
		t.Fatalf("after the race the checkpoint is %d, want O2's 10 (moved back by the fenced-out owner)", p)
	}
	// O1, deposed, can neither load (so it publishes nothing) nor save.
	if _, err := o1.Load(ctx, name); !errors.Is(err, pgstore.ErrStaleEpoch) {
		t.Errorf("deposed owner's Load = %v, want ErrStaleEpoch", err)
	}
	for _, pos := range []eventstore.Position{8, 12} {
		if err := o1.Save(ctx, name, pos); !errors.Is(err, pgstore.ErrStaleEpoch) {
			t.Errorf("deposed owner's Save(%d) = %v, want ErrStaleEpoch", pos, err)
		}
	}
	if err := o1.Reset(ctx, name); !errors.Is(err, pgstore.ErrStaleEpoch) {
		t.Errorf("deposed owner's Reset = %v, want ErrStaleEpoch", err)
	}
	if p, _ := o2.Load(ctx, name); p != 10 {
		t.Fatalf("the deposed owner moved the checkpoint to %d", p)
	}
	// O1 claims again (it re-acquired the lease): O2 is deposed in turn.
	if err := o1.Claim(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := o2.Save(ctx, name, 11); !errors.Is(err, pgstore.ErrStaleEpoch) {
		t.Errorf("O2's Save after O1's new claim = %v, want ErrStaleEpoch", err)
	}
	if err := o1.Save(ctx, name, 12); err != nil {
		t.Fatal(err)
	}
}
