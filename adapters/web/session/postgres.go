package session

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrationSet = pgmigrate.Set{Files: migrationFiles, Owner: "websession"}

// DefaultSchema holds the dashboard's table in PostgreSQL when no schema is
// given.
const DefaultSchema = "kinerja_web"

// ErrBadSchemaName is returned for a schema name outside [a-z_][a-z0-9_]*.
var ErrBadSchemaName = errors.New("session: bad schema name")

// Migrate brings schema (DefaultSchema when empty) up to this build's
// version, creating it if needed (kinerjactl migrate, kinerjad --migrate);
// OpenPostgres never does.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) ([]int, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := pgmigrate.CheckSchemaName(schema, ErrBadSchemaName); err != nil {
		return nil, err
	}
	return migrationSet.Apply(ctx, pool, schema, func(have, want int) error {
		return fmt.Errorf("session: schema %q is at version %d, newer than this build's %d: upgrade this binary", schema, have, want)
	})
}

// Postgres is a Store in a PostgreSQL table, shared by every kinerjad of a
// deployment (server mode).
type Postgres struct {
	pool  *pgxpool.Pool
	table string
}

var _ Store = (*Postgres)(nil)

// OpenPostgres returns the store in schema (DefaultSchema when empty), which
// Migrate must have brought to this build's version.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string) (*Postgres, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := pgmigrate.CheckSchemaName(schema, ErrBadSchemaName); err != nil {
		return nil, err
	}
	v, err := pgmigrate.Installed(ctx, pool, schema)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if want := migrationSet.Version(); v != want {
		return nil, fmt.Errorf("session: schema %q is at version %d, this build needs %d (run kinerjactl migrate or kinerjad --migrate)", schema, v, want)
	}
	return &Postgres{pool: pool, table: pgx.Identifier{schema, "web_records"}.Sanitize()}, nil
}

// Get implements Store.
func (s *Postgres) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	var rec []byte
	err := s.pool.QueryRow(ctx, `SELECT record FROM `+s.table+` WHERE key = $1 AND expires_at > $2`, key, now).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("session: get: %w", err)
	}
	return rec, true, nil
}

// Set implements Store.
func (s *Postgres) Set(ctx context.Context, key string, record []byte, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO `+s.table+` (key, record, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`, key, record, expires)
	if err != nil {
		return fmt.Errorf("session: set: %w", err)
	}
	return nil
}

// Take implements Store: DELETE … RETURNING, which one of two concurrent
// takes wins.
func (s *Postgres) Take(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	var rec []byte
	var expires time.Time
	err := s.pool.QueryRow(ctx, `DELETE FROM `+s.table+` WHERE key = $1 RETURNING record, expires_at`, key).Scan(&rec, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("session: take: %w", err)
	}
	if !expires.After(now) {
		return nil, false, nil
	}
	return rec, true, nil
}

// Delete implements Store.
func (s *Postgres) Delete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM `+s.table+` WHERE key = $1`, key); err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}

// DeleteExpired implements Store.
func (s *Postgres) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.table+` WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("session: delete expired: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
