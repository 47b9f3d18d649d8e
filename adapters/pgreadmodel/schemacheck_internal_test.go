package pgreadmodel

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
	done := startSlowMigration(t, db, p, 2, "slow_migration_of_the_test")
	err := db.Sink(skps.Name).Reset(ctx)
	if !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("Reset during a migration to %d: %v, want ErrSchemaVersion", SchemaVersion()+1, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// startSlowMigration applies the next migration, one that sleeps seconds
// (its statement named by marker), on a goroutine, and returns once it is
// in its sleep (past the runner's lock); the channel has Apply's error.
func startSlowMigration(t *testing.T, db *DB, p *pgxpool.Pool, seconds int, marker string) <-chan error {
	t.Helper()
	ctx := context.Background()
	next := migrationsFS(t, func(string) bool { return true }, map[string]string{
		fmt.Sprintf("%04d_slow.sql", SchemaVersion()+1): fmt.Sprintf(`SELECT pg_sleep(%d) AS %s`, seconds, marker),
	})
	done := make(chan error, 1)
	go func() {
		_, err := (pgmigrate.Set{Files: next, Owner: "pgreadmodel"}).Apply(ctx, p, db.opts.Schema, nil)
		done <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := p.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%'||$1||'%' AND query NOT LIKE '%pg_stat_activity%'`, marker).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return done
		}
		if time.Now().After(deadline) {
			t.Fatal("the migration did not start")
		}
	}
}
