// Package pgmigrate applies the numbered SQL migrations that a PostgreSQL
// adapter (pgstore, pgreadmodel) embeds, into a schema of its own, and
// reads back the version a schema is at. It is the one implementation of
// what those adapters' Migrate and Open promise: files named NNNN_name.sql
// numbered 1..n without gaps, applied in one transaction under an advisory
// lock keyed by the adapter and the schema, recorded in the schema's
// schema_migrations table.
package pgmigrate

import (
	"context"
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

// Set is one adapter's migrations.
type Set struct {
	// Files holds the migrations as migrations/NNNN_name.sql.
	Files fs.FS
	// Owner is the adapter's name: it prefixes errors and keys the lock.
	Owner string
}

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the migrations in version order, refusing a file not
// named NNNN_name.sql and a numbering with gaps.
func (s Set) Migrations() ([]Migration, error) {
	names, err := fs.Glob(s.Files, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: migration %s is not named NNNN_name.sql", s.Owner, name)
		}
		b, err := fs.ReadFile(s.Files, path)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("%s: migrations are not numbered 1..n without gaps: %s", s.Owner, m.Name)
		}
	}
	return out, nil
}

// Version is the number of migrations. It panics when the files are
// malformed: they are embedded at build time, and the adapters test them.
func (s Set) Version() int {
	ms, err := s.Migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// schemaNameRE restricts schema names to plain lower-case identifiers: no
// quoting surprises, and they fit in a NOTIFY channel name.
var schemaNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// CheckSchemaName refuses a schema name outside [a-z_][a-z0-9_]* (at most
// 48 characters), or one starting with pg_, with an error wrapping bad.
func CheckSchemaName(schema string, bad error) error {
	if !schemaNameRE.MatchString(schema) || strings.HasPrefix(schema, "pg_") {
		return fmt.Errorf("%w %q: use 1 to 48 characters of [a-z0-9_], not starting with a digit or pg_", bad, schema)
	}
	return nil
}

// ApplyNamed is Apply for an adapter whose schema its caller may name:
// schema is def when empty, a name CheckSchemaName refuses is an error
// wrapping bad, and a schema newer than the Set is refused with an error
// prefixed by the owner that says to upgrade the binary.
func (s Set) ApplyNamed(ctx context.Context, db Beginner, schema, def string, bad error) ([]int, error) {
	if schema == "" {
		schema = def
	}
	if err := CheckSchemaName(schema, bad); err != nil {
		return nil, err
	}
	return s.Apply(ctx, db, schema, func(have, want int) error {
		return fmt.Errorf("%s: schema %q is at version %d, newer than this build's %d: upgrade this binary", s.Owner, schema, have, want)
	})
}

// Beginner starts transactions: *pgxpool.Pool, *pgx.Conn and pgx.Tx all
// satisfy it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Apply brings schema up to the Set's version, creating it if needed, and
// returns the versions it applied. All pending migrations run in one
// transaction under a transaction-level advisory lock keyed by the owner
// and the schema, so two processes migrating at once are safe: the second
// waits, then finds nothing left to do. A schema at a newer version than
// the Set is refused with newer(have, want).
func (s Set) Apply(ctx context.Context, db Beginner, schema string, newer func(have, want int) error) (applied []int, err error) {
	ms, err := s.Migrations()
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("%s: migrate %s: %w", s.Owner, schema, err) }
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	// The lock comes first: CREATE SCHEMA IF NOT EXISTS is not safe against a
	// concurrent CREATE SCHEMA of the same name.
	lockKey := "kinerja/" + s.Owner + "/migrate/"
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1::text || $2::text, 0))`, lockKey, schema); err != nil {
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
		// Writers that check the version in their own transaction (the
		// read models' Sink) read this table first: they finish before
		// the migrations run, or wait for them to commit and then read
		// the new version, never write on a version read before it.
		`LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE`,
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
		return nil, wrap(newer(current, len(ms)))
	}
	for _, m := range ms[current:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return nil, wrap(fmt.Errorf("%s: %w", m.Name, err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return nil, wrap(err)
		}
		applied = append(applied, m.Version)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap(err)
	}
	return applied, nil
}

// Querier runs a query that returns one row.
type Querier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

// Installed reads the applied version of schema (0 when the schema or its
// schema_migrations table does not exist).
func Installed(ctx context.Context, q Querier, schema string) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined_table, invalid_schema_name
		return 0, nil
	}
	return v, err
}
