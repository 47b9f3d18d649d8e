package pgreadmodel

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// migrateSchemaPast records a version after this build's in db's schema,
// as a newer build's migration would.
func migrateSchemaPast(t *testing.T, db *DB, p *pgxpool.Pool) {
	t.Helper()
	if _, err := p.Exec(context.Background(), `INSERT INTO `+pgx.Identifier{db.opts.Schema, "schema_migrations"}.Sanitize()+` (version, name) VALUES ($1, 'later')`,
		SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
}

// tableExists reports whether the table named by the qualified name
// exists.
func tableExists(t *testing.T, p *pgxpool.Pool, qualified string) bool {
	t.Helper()
	var ok bool
	if err := p.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, qualified).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// requireNotSwapped checks that rb's tables are still the rebuild's and
// the live generation is the one before it.
func requireNotSwapped(t *testing.T, db *DB, p *pgxpool.Pool, rb *Rebuild) {
	t.Helper()
	if rb.Swapped() {
		t.Error("the rebuild reports itself swapped")
	}
	for _, tb := range Tables(rb.name) {
		if !tableExists(t, p, rb.sink.n.t(tb)) {
			t.Errorf("the rebuild's %s was renamed or dropped", rb.sink.n.t(tb))
		}
	}
	var gen int
	if err := p.QueryRow(context.Background(), `SELECT generation FROM `+db.names.t("checkpoints")+` WHERE projection = $1`, rb.name).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	if gen+1 != rb.Generation() {
		t.Errorf("live generation %d after the refused swap of generation %d", gen, rb.Generation())
	}
}

// TestSwapRefusesAMigratedSchema: a rebuild that caught up at this build's
// version and finds the schema migrated past it when it swaps (an old
// build's `kinerjactl projections rebuild skps` across migration 0006)
// refuses, and swaps nothing: its tables are the old build's, and the
// tables the migration added (skp_coverage) would stay as filled from the
// rows the swap dropped. Without the check it swapped.
func TestSwapRefusesAMigratedSchema(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	rb, err := db.StartRebuild(ctx, skps.Name)
	if err != nil {
		t.Fatal(err)
	}
	migrateSchemaPast(t, db, p)
	if err := rb.Swap(ctx); !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("Swap on a schema at version %d: %v, want ErrSchemaVersion", SchemaVersion()+1, err)
	}
	requireNotSwapped(t, db, p, rb)
}

// TestStartRebuildRefusesAMigratedSchema: a build older than the schema
// does not start a rebuild (it would copy the tables it knows, and its
// Swap would refuse after the whole catch-up); nothing is created.
func TestStartRebuildRefusesAMigratedSchema(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	migrateSchemaPast(t, db, p)
	rb, err := db.StartRebuild(ctx, skps.Name)
	if !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("StartRebuild on a schema at version %d: %v %v, want ErrSchemaVersion", SchemaVersion()+1, rb, err)
	}
	var n int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%\_\_g%'`, db.opts.Schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rebuild tables created by a refused StartRebuild", n)
	}
}

// TestSwapWaitsForAMigrationInProgress: a Swap that starts while a
// migration runs waits for it to commit, however long (not bounded by
// the swap's lock_timeout), then refuses; it does not swap beside it.
func TestSwapWaitsForAMigrationInProgress(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	rb, err := db.StartRebuild(ctx, skps.Name)
	if err != nil {
		t.Fatal(err)
	}
	// Longer than the swap's lock_timeout (5 s).
	done := startSlowMigration(t, db, p, 6, "slow_migration_of_the_swap_test")
	if err := rb.Swap(ctx); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("Swap during a migration to %d: %v, want ErrSchemaVersion", SchemaVersion()+1, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	requireNotSwapped(t, db, p, rb)
}
