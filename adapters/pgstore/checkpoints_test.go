package pgstore_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Consumer checkpoints: 0 until saved, the last Save wins (also back to 0,
// a reset), two Checkpoints on one schema (two machines) see each other's
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
	if err := a.Save(ctx, "relay", 0); err != nil || load(b, "relay") != 0 {
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
