package pgreadmodel

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// migrationFiles holds the numbered migrations, applied in order by Migrate.
// A migration is never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgreadmodel: migration %s is not named NNNN_name.sql", name)
		}
		b, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("pgreadmodel: migrations are not numbered 1..n without gaps: %s", m.name)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this build needs: the number of its
// embedded migrations.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err) // the embedded files are fixed at build time; a test covers them
	}
	return len(ms)
}

// DefaultSchema is the PostgreSQL schema of the read models when
// Options.Schema is empty.
const DefaultSchema = "kinerja_rm"

var schemaNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// ErrBadSchemaName is returned for a schema name outside [a-z_][a-z0-9_]*
// (at most 48 characters), or one starting with pg_.
var ErrBadSchemaName = errors.New("pgreadmodel: bad schema name")

func checkSchemaName(schema string) error {
	if !schemaNameRE.MatchString(schema) || strings.HasPrefix(schema, "pg_") {
		return fmt.Errorf("%w %q: use 1 to 48 characters of [a-z0-9_], not starting with a digit or pg_", ErrBadSchemaName, schema)
	}
	return nil
}

// Beginner starts transactions: *pgxpool.Pool, *pgx.Conn and pgx.Tx all
// satisfy it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate brings schema (DefaultSchema when empty) up to SchemaVersion,
// creating it if needed, and returns the versions it applied. It is the
// only code that creates the read models' structure (a rebuild copies it):
// Open never migrates, so that a deploy decides when DDL runs (kinerjactl
// migrate, or the service's start-up flag).
//
// All pending migrations run in one transaction under a transaction-level
// advisory lock keyed by the schema name, so two processes migrating at
// once are safe: the second waits, then finds nothing left to do. Running
// Migrate again is a no-op. A schema at a newer version than this build
// knows is refused.
func Migrate(ctx context.Context, db Beginner, schema string) (applied []int, err error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := checkSchemaName(schema); err != nil {
		return nil, err
	}
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: migrate %s: %w", schema, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	wrap := func(err error) error { return fmt.Errorf("pgreadmodel: migrate %s: %w", schema, err) }
	// The lock comes first: CREATE SCHEMA IF NOT EXISTS is not safe against a
	// concurrent CREATE SCHEMA of the same name.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('kinerja/pgreadmodel/migrate/' || $1::text, 0))`, schema); err != nil {
		return nil, wrap(err)
	}
	ident := pgx.Identifier{schema}.Sanitize()
	for _, stmt := range []string{
		`CREATE SCHEMA IF NOT EXISTS ` + ident,
		`SET LOCAL search_path TO ` + ident,
		`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, wrap(err)
		}
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, wrap(err)
	}
	if current > len(ms) {
		return nil, wrap(&VersionError{Schema: schema, Have: current, Want: len(ms)})
	}
	for _, m := range ms[current:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return nil, wrap(fmt.Errorf("%s: %w", m.name, err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return nil, wrap(err)
		}
		applied = append(applied, m.version)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap(err)
	}
	return applied, nil
}

// ErrSchemaVersion is matched (errors.Is) by a *VersionError.
var ErrSchemaVersion = errors.New("pgreadmodel: schema version mismatch")

// VersionError reports a schema whose migrations do not match this build:
// not migrated yet (Have < Want: run Migrate), or migrated by a newer build
// (Have > Want: upgrade this binary).
type VersionError struct {
	Schema     string
	Have, Want int
}

func (e *VersionError) Error() string {
	switch {
	case e.Have == 0:
		return fmt.Sprintf("pgreadmodel: schema %q has no kinerja read models: run the migrations first (kinerjactl migrate, or pgreadmodel.Migrate)", e.Schema)
	case e.Have < e.Want:
		return fmt.Sprintf("pgreadmodel: schema %q is at version %d, this build needs %d: run the migrations first (kinerjactl migrate, or pgreadmodel.Migrate)", e.Schema, e.Have, e.Want)
	default:
		return fmt.Sprintf("pgreadmodel: schema %q is at version %d, newer than this build's %d: upgrade this binary", e.Schema, e.Have, e.Want)
	}
}

// Is reports whether target is ErrSchemaVersion.
func (e *VersionError) Is(target error) bool { return target == ErrSchemaVersion }

func schemaVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, schema string) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined_table, invalid_schema_name
		return 0, nil
	}
	return v, err
}
