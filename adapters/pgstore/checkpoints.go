package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Checkpoints keeps named consumer checkpoints (store positions) in the
// store's schema, table consumer_checkpoints (migration 0003). It is the
// checkpoint store of the NATS relays (wmbridge.CheckpointStore) when the
// events are in PostgreSQL: the checkpoint then lives with the events, not
// in a file of the machine that happened to run the relay, so a relay that
// moves to another machine (the control partition of shared projectors
// changing owner) resumes where the last one stopped instead of
// republishing from an old or absent file.
//
// A Save commits synchronously, whatever the session's default: a relay
// acknowledges its batch once Save returns, so the checkpoint must survive
// a crash of PostgreSQL (see docs/projections.md, "Acknowledged means
// durable").
type Checkpoints struct {
	pool  *pgxpool.Pool
	load  string
	save  string
	fence func(ctx context.Context, tx pgx.Tx) error
}

// NewCheckpoints returns the consumer checkpoints of schema (DefaultSchema
// when empty) on pool. fence, when set, runs inside every Save's
// transaction before the write, like pgreadmodel's Options.Fence: with
// pglease.Member.Fence, a process that lost its partition's lock (fenced
// out, while a new owner already runs the relay) fails its Save and
// writes nothing, so it cannot move the new owner's checkpoint back.
func NewCheckpoints(pool *pgxpool.Pool, schema string, fence func(ctx context.Context, tx pgx.Tx) error) (*Checkpoints, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := checkSchemaName(schema); err != nil {
		return nil, err
	}
	t := ident(schema, "consumer_checkpoints")
	return &Checkpoints{
		pool:  pool,
		load:  `SELECT position FROM ` + t + ` WHERE name = $1`,
		save:  `INSERT INTO ` + t + ` (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = clock_timestamp()`,
		fence: fence,
	}, nil
}

// ErrBadCheckpointName is returned for a checkpoint name that is empty,
// longer than 200 bytes, not UTF-8, or holds a control character.
var ErrBadCheckpointName = errors.New("pgstore: bad checkpoint name")

func checkCheckpointName(name string) error {
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: %q", ErrBadCheckpointName, name)
	}
	return nil
}

// Load returns the checkpoint saved under name, 0 when none was.
func (c *Checkpoints) Load(ctx context.Context, name string) (eventstore.Position, error) {
	if err := checkCheckpointName(name); err != nil {
		return 0, err
	}
	var pos int64
	err := c.pool.QueryRow(ctx, c.load, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: load checkpoint %s: %w", name, err)
	}
	return eventstore.Position(pos), nil
}

// Save stores pos as name's checkpoint (in its own transaction, after the
// fence), and returns once it is committed and durable. Moving a
// checkpoint back is allowed: it is how a relay is reset.
func (c *Checkpoints) Save(ctx context.Context, name string, pos eventstore.Position) error {
	if err := checkCheckpointName(name); err != nil {
		return err
	}
	if pos > math.MaxInt64 {
		return fmt.Errorf("pgstore: save checkpoint %s: position %d out of range", name, pos)
	}
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		// Durable whatever the role's or the session's default says.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
			return err
		}
		if c.fence != nil {
			if err := c.fence(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, c.save, name, int64(pos))
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: save checkpoint %s: %w", name, err)
	}
	return nil
}
