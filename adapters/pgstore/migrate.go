package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgmigrate"
)

// migrationFiles holds the numbered migrations, applied in order by Migrate.
// A migration is never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationSet is the embedded migrations, applied by the shared runner.
var migrationSet = pgmigrate.Set{Files: migrationFiles, Owner: "pgstore"}

// SchemaVersion is the schema version this build needs: the number of its
// embedded migrations.
func SchemaVersion() int { return migrationSet.Version() }

// DefaultSchema is the PostgreSQL schema used when Options.Schema is empty.
const DefaultSchema = "kinerja"

// ErrBadSchemaName is returned for a schema name outside [a-z_][a-z0-9_]*
// (at most 48 characters), or one starting with pg_.
var ErrBadSchemaName = errors.New("pgstore: bad schema name")

func checkSchemaName(schema string) error { return pgmigrate.CheckSchemaName(schema, ErrBadSchemaName) }

// Beginner starts transactions: *pgxpool.Pool, *pgx.Conn and pgx.Tx all
// satisfy it.
type Beginner = pgmigrate.Beginner

// Migrate brings schema (DefaultSchema when empty) up to SchemaVersion,
// creating it if needed, and returns the versions it applied. It is the only
// code that changes the database's structure: Open never migrates, so that
// a deploy decides when DDL runs (kinerjactl migrate, or the service's
// start-up flag).
//
// All pending migrations run in one transaction under a transaction-level
// advisory lock keyed by the schema name, so two processes migrating at once
// are safe: the second waits, then finds nothing left to do. Running Migrate
// again is a no-op. A database at a newer version than this build knows is
// refused.
func Migrate(ctx context.Context, db Beginner, schema string) ([]int, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := checkSchemaName(schema); err != nil {
		return nil, err
	}
	return migrationSet.Apply(ctx, db, schema, func(have, want int) error {
		return &VersionError{Schema: schema, Have: have, Want: want}
	})
}

// MigrateURL is Migrate on a connection to the database at url.
func MigrateURL(ctx context.Context, url, schema string) ([]int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return Migrate(ctx, conn, schema)
}

// ErrSchemaVersion is matched (errors.Is) by a *VersionError.
var ErrSchemaVersion = errors.New("pgstore: schema version mismatch")

// VersionError reports a schema whose migrations do not match this build:
// not migrated yet (Have < Want: run Migrate), or migrated by a newer build
// (Have > Want: upgrade this binary).
type VersionError struct {
	Schema     string
	Have, Want int
}

// Error says what to run or upgrade.
func (e *VersionError) Error() string {
	switch {
	case e.Have == 0:
		return fmt.Sprintf("pgstore: schema %q has no kinerja event store: run the migrations first (kinerjactl migrate, or pgstore.Migrate)", e.Schema)
	case e.Have < e.Want:
		return fmt.Sprintf("pgstore: schema %q is at version %d, this build needs %d: run the migrations first (kinerjactl migrate, or pgstore.Migrate)", e.Schema, e.Have, e.Want)
	default:
		return fmt.Sprintf("pgstore: schema %q is at version %d, newer than this build's %d: upgrade this binary", e.Schema, e.Have, e.Want)
	}
}

// Is reports whether target is ErrSchemaVersion.
func (e *VersionError) Is(target error) bool { return target == ErrSchemaVersion }

// schemaVersion reads the applied version of schema (0 when the schema or
// its schema_migrations table does not exist).
func schemaVersion(ctx context.Context, q pgmigrate.Querier, schema string) (int, error) {
	return pgmigrate.Installed(ctx, q, schema)
}
