package pgreadmodel

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgmigrate"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// TestSinkRefusesAMigratedSchema: a Sink opened at this build's version
// refuses to write once the schema was migrated past it (a migration run
// by a newer build while this one kept running), instead of writing
// tables whose new companions it does not keep, as skp_counts was to the
// builds before 0005.
func TestSinkRefusesAMigratedSchema(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	if _, err := p.Exec(ctx, `INSERT INTO `+pgx.Identifier{db.opts.Schema, "schema_migrations"}.Sanitize()+` (version, name) VALUES ($1, 'later')`,
		SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	err := db.Sink(skps.Name).Reset(ctx)
	if !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("Reset on a schema at version %d: %v, want ErrSchemaVersion", SchemaVersion()+1, err)
	}
}

// TestSinkWaitsForAMigrationInProgress: a Sink's write that starts while a
// migration runs waits for it to commit and then refuses (the runner locks
// schema_migrations, which the Sink reads first); without that lock it
// read the old version and wrote beside the migration.
func TestSinkWaitsForAMigrationInProgress(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	next := migrationsFS(t, func(string) bool { return true }, map[string]string{
		fmt.Sprintf("%04d_slow.sql", SchemaVersion()+1): `SELECT pg_sleep(2) AS slow_migration_of_the_test`,
	})
	done := make(chan error, 1)
	go func() {
		_, err := (pgmigrate.Set{Files: next, Owner: "pgreadmodel"}).Apply(ctx, p, db.opts.Schema, nil)
		done <- err
	}()
	// Wait until the migration is in its sleep (past the runner's lock).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := p.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%slow_migration_of_the_test%' AND query NOT LIKE '%pg_stat_activity%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the migration did not start")
		}
	}
	err := db.Sink(skps.Name).Reset(ctx)
	if !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("Reset during a migration to %d: %v, want ErrSchemaVersion", SchemaVersion()+1, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
