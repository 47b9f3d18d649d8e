// Package pgidempotency keeps the API's idempotency records (the first
// response to each Idempotency-Key) in PostgreSQL, so that they survive
// restarts and are shared by every kinerjad of a deployment. The table
// lives in its own schema, created by an explicit Migrate call, never by
// the constructor.
package pgidempotency

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultSchema holds the table when no schema is given.
const DefaultSchema = "kinerja_api"

//go:embed migrations/*.sql
var migrations embed.FS

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Store is an idempotency store on PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	schema string
}

// Migrate creates the schema and table if missing (idempotent, under an
// advisory lock).
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if schema == "" {
		schema = DefaultSchema
	}
	if !schemaRE.MatchString(schema) {
		return fmt.Errorf("pgidempotency: bad schema name %q", schema)
	}
	sql, err := migrations.ReadFile("migrations/0001_idempotency.sql")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('kinerja-idempotency-migrate'))`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema+".idempotency").Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, string(sql))
		return err
	})
}

// Open returns a Store on a migrated schema.
func Open(ctx context.Context, pool *pgxpool.Pool, schema string) (*Store, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if !schemaRE.MatchString(schema) {
		return nil, fmt.Errorf("pgidempotency: bad schema name %q", schema)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema+".idempotency").Scan(&exists); err != nil {
		return nil, fmt.Errorf("pgidempotency: %w", err)
	}
	if !exists {
		return nil, fmt.Errorf("pgidempotency: schema %s is not migrated (run kinerjactl migrate or kinerjad --migrate)", schema)
	}
	return &Store{pool: pool, schema: pgx.Identifier{schema}.Sanitize()}, nil
}

// Get returns the record stored under key, unless it expired at or before
// now.
func (s *Store) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	var rec []byte
	err := s.pool.QueryRow(ctx, `SELECT record FROM `+s.schema+`.idempotency WHERE key = $1 AND expires_at > $2`, key, now).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pgidempotency: get: %w", err)
	}
	return rec, true, nil
}

// Put stores record under key until expires; an unexpired record already
// stored under key is kept (the first response wins), an expired one is
// replaced. It is durable when it returns (synchronous commit).
func (s *Store) Put(ctx context.Context, key string, record []byte, now, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO `+s.schema+`.idempotency (key, record, stored_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record, stored_at = EXCLUDED.stored_at, expires_at = EXCLUDED.expires_at
		WHERE idempotency.expires_at <= EXCLUDED.stored_at`, key, record, now, expires)
	if err != nil {
		return fmt.Errorf("pgidempotency: put: %w", err)
	}
	return nil
}

// DeleteExpired removes the records that expired at or before now.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.schema+`.idempotency WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("pgidempotency: delete expired: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
