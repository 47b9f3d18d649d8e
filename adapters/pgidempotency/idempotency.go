// Package pgidempotency keeps the API's idempotency records (the first
// response to each Idempotency-Key) in PostgreSQL, so that they survive
// restarts and are shared by every kinerjad of a deployment. The table
// lives in its own schema, created by an explicit Migrate call, never by
// the constructor.
//
// A keyed command that appends events claims its key in the same
// transaction as its events (Claim, through pgtxhook: pgstore runs the
// claim's INSERT in the transaction of the group commit that carries the
// append), so one commit covers both and a crash never leaves the events
// without a record or the reverse. The answer, rendered after the append,
// then replaces the claim without waiting for its WAL flush (Complete):
// a crash of PostgreSQL in that moment loses only the answer's body, and
// the claim that stays still refuses the key with another request and
// lets the application recognise the repeat by its events.
package pgidempotency

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgtxhook"
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
	_, err := s.pool.Exec(ctx, s.putSQL(), key, record, now, expires)
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

// putSQL inserts a record unless an unexpired one is stored under its key.
func (s *Store) putSQL() string {
	return `INSERT INTO ` + s.schema + `.idempotency (key, record, stored_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record, stored_at = EXCLUDED.stored_at, expires_at = EXCLUDED.expires_at
		WHERE idempotency.expires_at <= EXCLUDED.stored_at`
}

// Claim returns ctx carrying the INSERT of claim under key (as Put: an
// unexpired record already stored is kept): the appends made under the
// returned context run it in their own transaction, on the event store's
// connection. claimed reports whether the claim took (its INSERT wrote a
// row: it found no unexpired record under key) in a transaction that
// committed.
// The event store must be pgstore on the same database.
func (s *Store) Claim(ctx context.Context, key string, claim []byte, now, expires time.Time) (context.Context, func() (claimed bool)) {
	st := &pgtxhook.Statement{SQL: s.putSQL(), Args: []any{key, claim, now, expires}}
	return pgtxhook.With(ctx, st), st.Committed
}

// Complete replaces the claim this process wrote under key (the record
// stored is exactly claim, the bytes it passed to Claim) with record. It
// changes nothing when the record under key is another: another request's
// claim or answer, written because this claim did not take or after it
// expired; completed then reports false and the caller falls back to Put
// (first write wins). It returns once PostgreSQL has committed the update
// but before its WAL is flushed (synchronous_commit off for this
// transaction only): it is visible to every reader at once, and only a
// crash of PostgreSQL within its WAL writer's delay can lose it, leaving
// the claim.
func (s *Store) Complete(ctx context.Context, key string, claim, record []byte, now, expires time.Time) (completed bool, err error) {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO off`)
	b.Queue(`UPDATE `+s.schema+`.idempotency SET record = $2, stored_at = $3, expires_at = $4 WHERE key = $1 AND record = $5`,
		key, record, now, expires, claim).Exec(func(ct pgconn.CommandTag) error {
		completed = ct.RowsAffected() == 1
		return nil
	})
	b.Queue(`COMMIT`)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return false, fmt.Errorf("pgidempotency: complete: %w", err)
	}
	return completed, nil
}
