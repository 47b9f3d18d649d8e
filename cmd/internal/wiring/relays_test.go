package wiring_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/cmd/internal/pgtest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

// The upgrade from file checkpoints: a data directory whose relays/ holds
// the relay's file checkpoint, a PostgreSQL store without a row yet. The
// relay resumes at the file's position (imported once, logged) instead of
// 0, which would republish the whole log far outside JetStream's
// duplicate window.
func TestRelayCheckpointsImportTheDataDirectoryOnUpgrade(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.NewDatabase(t)
	if _, err := pgstore.MigrateURL(ctx, pg, ""); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.Connect(ctx, pg, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	data := t.TempDir()
	files, err := wmbridge.NewFileCheckpoints(filepath.Join(data, "relays"))
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Save(ctx, "integration-nats", 4711); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	cps, err := wiring.NewRelayCheckpoints(store, pool, data, nil, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !cps.Shared() {
		t.Fatal("with a PostgreSQL store the relay checkpoints are not in PostgreSQL")
	}
	if err := cps.Claim(ctx, "integration-nats", "consequences-nats"); err != nil {
		t.Fatal(err)
	}
	if p, err := cps.Load(ctx, "integration-nats"); err != nil || p != 4711 {
		t.Fatalf("after the upgrade the relay resumes at %d (%v), want the file's 4711", p, err)
	}
	if p, err := cps.Load(ctx, "consequences-nats"); err != nil || p != 0 {
		t.Fatalf("a relay without a file resumes at %d (%v), want 0", p, err)
	}
	if !strings.Contains(logged.String(), "relay_checkpoint_imported") {
		t.Errorf("the import is not logged: %q", logged.String())
	}
	// Once imported, the file no longer matters, and the checkpoint only
	// moves forward; Reset is the way back.
	if err := os.RemoveAll(filepath.Join(data, "relays")); err != nil {
		t.Fatal(err)
	}
	if err := cps.Save(ctx, "integration-nats", 4700); !errors.Is(err, pgstore.ErrCheckpointBackwards) {
		t.Errorf("Save behind the checkpoint = %v, want ErrCheckpointBackwards", err)
	}
	if err := cps.Save(ctx, "integration-nats", 4800); err != nil {
		t.Fatal(err)
	}
	if err := cps.Reset(ctx, "integration-nats"); err != nil {
		t.Fatal(err)
	}
	if p, _ := cps.Load(ctx, "integration-nats"); p != 0 {
		t.Errorf("after Reset the checkpoint is %d", p)
	}
}
