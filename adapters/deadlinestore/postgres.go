package deadlinestore

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgmigrate"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrationSet = pgmigrate.Set{Files: migrationFiles, Owner: "deadlinestore"}

// DefaultSchema holds the process manager's tables when no schema is given.
const DefaultSchema = "kinerja_deadlines"

// ErrBadSchemaName is returned for a schema name outside [a-z_][a-z0-9_]*.
var ErrBadSchemaName = errors.New("deadlinestore: bad schema name")

// Migrate brings schema (DefaultSchema when empty) up to this build's
// version, creating it if needed (kinerjactl migrate, kinerjad --migrate);
// OpenPostgres never does.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) ([]int, error) {
	return migrationSet.ApplyNamed(ctx, pool, schema, DefaultSchema, ErrBadSchemaName)
}

// Postgres is a deadlines.Backend in PostgreSQL tables, shared by every
// kinerjad of a deployment: a batch takes the checkpoint row's lock, so
// two processes applying the same events take turns and the second skips
// what the first applied.
type Postgres struct {
	pool                                       *pgxpool.Pool
	items, checkpoint, fired, outbox, settings string
}

var _ deadlines.Backend = (*Postgres)(nil)

// OpenPostgres returns the store in schema (DefaultSchema when empty),
// which Migrate must have brought to this build's version.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string) (*Postgres, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := pgmigrate.CheckSchemaName(schema, ErrBadSchemaName); err != nil {
		return nil, err
	}
	v, err := pgmigrate.Installed(ctx, pool, schema)
	if err != nil {
		return nil, fmt.Errorf("deadlinestore: %w", err)
	}
	if want := migrationSet.Version(); v != want {
		return nil, fmt.Errorf("deadlinestore: schema %q is at version %d, this build needs %d (run kinerjactl migrate or kinerjad --migrate)", schema, v, want)
	}
	t := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	return &Postgres{pool: pool, items: t("deadline_items"), checkpoint: t("deadline_checkpoint"), fired: t("deadline_fired"), outbox: t("deadline_outbox"),
		settings: t("deadline_settings")}, nil
}

// Checkpoint implements deadlines.Backend.
func (p *Postgres) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	var pos int64
	err := p.pool.QueryRow(ctx, `SELECT position FROM `+p.checkpoint).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("deadlinestore: checkpoint: %w", err)
	}
	return eventstore.Position(pos), nil
}

// Update implements deadlines.Backend. Another process that applied past
// pos meanwhile makes this batch a no-op (it was applied).
func (p *Postgres) Update(ctx context.Context, pos eventstore.Position, fn func(deadlines.Store) error) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.checkpoint+` (one, position) VALUES (true, 0) ON CONFLICT DO NOTHING`); err != nil {
			return fmt.Errorf("deadlinestore: checkpoint: %w", err)
		}
		var cp int64
		if err := tx.QueryRow(ctx, `SELECT position FROM `+p.checkpoint+` FOR UPDATE`).Scan(&cp); err != nil {
			return fmt.Errorf("deadlinestore: checkpoint: %w", err)
		}
		if eventstore.Position(cp) >= pos {
			return nil
		}
		if err := fn(pgTx{p: p, tx: tx}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE `+p.checkpoint+` SET position = $1`, int64(pos))
		return err
	})
}

type pgTx struct {
	p  *Postgres
	tx pgx.Tx
}

// ReplaceItems implements deadlines.Store.
func (t pgTx) ReplaceItems(ctx context.Context, skpID string, items []deadlines.Item) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM `+t.p.items+` WHERE skp_id = $1`, skpID); err != nil {
		return fmt.Errorf("deadlinestore: items: %w", err)
	}
	for _, it := range items {
		v, err := json.Marshal(it)
		if err != nil {
			return err
		}
		_, err = t.tx.Exec(ctx, `INSERT INTO `+t.p.items+` (key, skp_id, recipient, fire_at, fire_id, due, item) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			it.Key, skpID, it.Recipient, it.FireAt, it.FireID(), it.Due, v)
		if err != nil {
			return fmt.Errorf("deadlinestore: items: %w", err)
		}
	}
	return nil
}

// Reset implements deadlines.Backend: the items and the checkpoint go;
// what fired and the outbox stay.
func (p *Postgres) Reset(ctx context.Context) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM `+p.items); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM `+p.checkpoint)
		return err
	})
}

// SettingsFingerprint implements deadlines.SettingsRecorder: the
// fingerprint of the settings the items were built with, "" when none is
// recorded (a schema an earlier build filled, or a new one).
func (p *Postgres) SettingsFingerprint(ctx context.Context) (string, error) {
	var fp string
	err := p.pool.QueryRow(ctx, `SELECT fingerprint FROM `+p.settings).Scan(&fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("deadlinestore: settings: %w", err)
	}
	return fp, nil
}

// SetSettingsFingerprint implements deadlines.SettingsRecorder.
func (p *Postgres) SetSettingsFingerprint(ctx context.Context, fp string) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO `+p.settings+` (one, fingerprint) VALUES (true, $1)
		ON CONFLICT (one) DO UPDATE SET fingerprint = EXCLUDED.fingerprint`, fp)
	if err != nil {
		return fmt.Errorf("deadlinestore: settings: %w", err)
	}
	return nil
}

// AdoptSettingsFingerprint implements deadlines.SettingsAdopter: fp is
// recorded only when none is (INSERT … ON CONFLICT DO NOTHING: of two
// processes racing, one inserts and the other's insert does nothing), and
// the fingerprint recorded after is returned. SetSettingsFingerprint,
// which replaces, is for the rebuild alone (deadlines.RecordSettings).
func (p *Postgres) AdoptSettingsFingerprint(ctx context.Context, fp string) (string, error) {
	if _, err := p.pool.Exec(ctx, `INSERT INTO `+p.settings+` (one, fingerprint) VALUES (true, $1)
		ON CONFLICT (one) DO NOTHING`, fp); err != nil {
		return "", fmt.Errorf("deadlinestore: settings: %w", err)
	}
	return p.SettingsFingerprint(ctx)
}

// SharedState reports that the state is shared by every kinerjad and
// projector on the database: a start with other settings must not reset
// it under the others (wiring.CheckDeadlineSettings refuses instead).
func (p *Postgres) SharedState() bool { return true }

var (
	_ deadlines.SettingsRecorder = (*Postgres)(nil)
	_ deadlines.SettingsAdopter  = (*Postgres)(nil)
)

func (p *Postgres) query(ctx context.Context, sql string, args ...any) ([]deadlines.Item, error) {
	rows, err := p.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("deadlinestore: %w", err)
	}
	defer rows.Close()
	var out []deadlines.Item
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		var it deadlines.Item
		if err := json.Unmarshal(v, &it); err != nil {
			return nil, fmt.Errorf("deadlinestore: item: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Due implements deadlines.Backend.
func (p *Postgres) Due(ctx context.Context, now time.Time, limit int) ([]deadlines.Item, error) {
	return p.query(ctx, `SELECT i.item FROM `+p.items+` i WHERE i.fire_at <= $1
		AND NOT EXISTS (SELECT 1 FROM `+p.fired+` f WHERE f.fire_id = i.fire_id) ORDER BY i.fire_at, i.key LIMIT $2`, now, limit)
}

// MarkFired implements deadlines.Backend.
func (p *Postgres) MarkFired(ctx context.Context, it deadlines.Item, at time.Time, msg *deadlines.OutboxMessage) (bool, error) {
	fresh := false
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO `+p.fired+` (fire_id, item_key, fired_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, it.FireID(), it.Key, at)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		fresh = true
		if msg == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+p.outbox+` (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, msg.ID, msg.Body)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("deadlinestore: mark fired: %w", err)
	}
	return fresh, nil
}

// Fired implements deadlines.Backend.
func (p *Postgres) Fired(ctx context.Context, fireID string) (bool, error) {
	var ok bool
	err := p.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+p.fired+` WHERE fire_id = $1)`, fireID).Scan(&ok)
	return ok, err
}

// ForRecipient implements deadlines.Backend.
func (p *Postgres) ForRecipient(ctx context.Context, nip string) ([]deadlines.Item, error) {
	if nip == "" {
		return nil, nil
	}
	items, err := p.query(ctx, `SELECT item FROM `+p.items+` WHERE recipient = $1 ORDER BY due, key`, nip)
	return slices.DeleteFunc(items, func(it deadlines.Item) bool { return it.Notice != 0 }), err
}

// OfKinds implements deadlines.KindReader: the kind is the key's first
// segment.
func (p *Postgres) OfKinds(ctx context.Context, kinds ...deadlines.Kind) ([]deadlines.Item, error) {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	items, err := p.query(ctx, `SELECT item FROM `+p.items+` WHERE split_part(key, '/', 1) = ANY($1) ORDER BY due, key`, names)
	return slices.DeleteFunc(items, func(it deadlines.Item) bool { return it.Notice != 0 }), err
}

// Outbox implements deadlines.Backend.
func (p *Postgres) Outbox(ctx context.Context, limit int) ([]deadlines.OutboxMessage, error) {
	rows, err := p.pool.Query(ctx, `SELECT id, body FROM `+p.outbox+` ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("deadlinestore: outbox: %w", err)
	}
	defer rows.Close()
	var out []deadlines.OutboxMessage
	for rows.Next() {
		var m deadlines.OutboxMessage
		if err := rows.Scan(&m.ID, &m.Body); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Published implements deadlines.Backend.
func (p *Postgres) Published(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := p.pool.Exec(ctx, `DELETE FROM `+p.outbox+` WHERE id = ANY($1)`, ids)
	return err
}
