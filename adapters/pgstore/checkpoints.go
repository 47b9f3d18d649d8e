package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Checkpoints keeps named consumer checkpoints (store positions) in the
// store's schema, table consumer_checkpoints (migrations 0003, 0004). It is
// the checkpoint store of the NATS relays (wmbridge.CheckpointStore) when
// the events are in PostgreSQL: the checkpoint then lives with the events,
// not in a file of the machine that happened to run the relay, so a relay
// that moves to another machine (the control partition of shared
// projectors changing owner) resumes where the last one stopped instead of
// republishing from an old or absent file.
//
// Every write locks the checkpoint's row first (creating it if absent),
// then runs the fence, then checks, against the locked row:
//
//   - the epoch: a process that runs the consumer first calls Claim, which
//     raises the row's epoch (a fencing token) and remembers it. Once this
//     Checkpoints has claimed a name, a Load or Save that finds a higher
//     epoch fails with ErrStaleEpoch, writing nothing: another process has
//     taken the consumer over since, and this one must neither publish nor
//     move the checkpoint.
//   - the direction: a Save never moves a checkpoint back
//     (ErrCheckpointBackwards); only Reset does.
//
// Because the fence runs while the row is locked, an owner that passes it
// and then loses its lease cannot commit after the next owner's write: the
// next owner's Claim or Save waits for the row, and the next write finds
// the epoch raised.
//
// A Save commits synchronously, whatever the session's default: a relay
// acknowledges its batch once Save returns, so the checkpoint must survive
// a crash of PostgreSQL (see docs/projections.md, "Acknowledged means
// durable").
type Checkpoints struct {
	pool  *pgxpool.Pool
	table string
	fence func(ctx context.Context, tx pgx.Tx) error

	mu     sync.Mutex
	epochs map[string]int64 // names claimed by this Checkpoints, and their epoch
	rows   map[string]bool  // names whose row this Checkpoints has seen (no import to try)
	legacy CheckpointSource
	log    *slog.Logger
}

// CheckpointSource is where checkpoints were kept before they moved into
// PostgreSQL (wmbridge.FileCheckpoints); see ImportFrom.
type CheckpointSource interface {
	Load(ctx context.Context, name string) (eventstore.Position, error)
}

// NewCheckpoints returns the consumer checkpoints of schema (DefaultSchema
// when empty) on pool. fence, when set, runs inside every write's
// transaction after the row is locked and before the write, like
// pgreadmodel's Options.Fence: with pglease.Member.Fence, a process that
// lost its partition's lock (fenced out, while a new owner already runs the
// relay) fails its Save and writes nothing.
func NewCheckpoints(pool *pgxpool.Pool, schema string, fence func(ctx context.Context, tx pgx.Tx) error) (*Checkpoints, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := checkSchemaName(schema); err != nil {
		return nil, err
	}
	return &Checkpoints{pool: pool, table: ident(schema, "consumer_checkpoints"), fence: fence, epochs: map[string]int64{}, rows: map[string]bool{}, log: slog.Default()}, nil
}

// ImportFrom makes src the checkpoints of before the upgrade to
// PostgreSQL-kept checkpoints (the files of DATA/relays): when a name has
// no row yet, its first write (Claim, Save or Reset) creates the row at
// src's position instead of 0, once, and logs it
// (relay_checkpoint_imported); a Load of a name without a row returns
// src's position. Without it an upgraded relay would start again from
// position 0 and republish the whole log, far outside JetStream's
// duplicate window. Call it before the Checkpoints is used.
func (c *Checkpoints) ImportFrom(src CheckpointSource, log *slog.Logger) {
	c.legacy = src
	if log != nil {
		c.log = log
	}
}

// ErrBadCheckpointName is returned for a checkpoint name that is empty,
// longer than 200 bytes, not UTF-8, or holds a control character.
var ErrBadCheckpointName = errors.New("pgstore: bad checkpoint name")

// ErrStaleEpoch is returned by a Load or Save of a name this Checkpoints
// claimed, once another process has claimed it since: the consumer now
// runs elsewhere.
var ErrStaleEpoch = errors.New("pgstore: checkpoint claimed by a newer owner")

// ErrCheckpointBackwards is returned by a Save of a position before the
// stored one; only Reset moves a checkpoint back.
var ErrCheckpointBackwards = errors.New("pgstore: a checkpoint never moves back")

func checkCheckpointName(name string) error {
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: %q", ErrBadCheckpointName, name)
	}
	return nil
}

func (c *Checkpoints) claimed(name string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.epochs[name]
	return e, ok
}

// Load returns the checkpoint saved under name, 0 when none was (or the
// imported one, see ImportFrom). Once this Checkpoints has claimed name, a
// Load that finds a newer claim fails with ErrStaleEpoch: a relay loads
// before it publishes, so a deposed one stops before publishing.
func (c *Checkpoints) Load(ctx context.Context, name string) (eventstore.Position, error) {
	if err := checkCheckpointName(name); err != nil {
		return 0, err
	}
	var pos, epoch int64
	err := c.pool.QueryRow(ctx, `SELECT position, epoch FROM `+c.table+` WHERE name = $1`, name).Scan(&pos, &epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		if c.legacy != nil {
			return c.legacy.Load(ctx, name)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: load checkpoint %s: %w", name, err)
	}
	if mine, ok := c.claimed(name); ok && epoch != mine {
		return 0, fmt.Errorf("pgstore: load checkpoint %s: %w (epoch %d, mine %d)", name, ErrStaleEpoch, epoch, mine)
	}
	return eventstore.Position(pos), nil
}

// locked runs f in a durable transaction, with name's row locked (created
// if absent, at the imported position), after the fence. f gets the row's
// position and epoch.
func (c *Checkpoints) locked(ctx context.Context, what, name string, f func(tx pgx.Tx, pos, epoch int64) error) error {
	if err := checkCheckpointName(name); err != nil {
		return err
	}
	var start int64
	c.mu.Lock()
	seen := c.rows[name]
	c.mu.Unlock()
	if c.legacy != nil && !seen {
		// Read before the transaction: a file read holds no row lock.
		var exists bool
		if err := c.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+c.table+` WHERE name = $1)`, name).Scan(&exists); err != nil {
			return fmt.Errorf("pgstore: %s checkpoint %s: %w", what, name, err)
		}
		if !exists {
			p, err := c.legacy.Load(ctx, name)
			if err != nil {
				return fmt.Errorf("pgstore: %s checkpoint %s: import: %w", what, name, err)
			}
			if p > math.MaxInt64 {
				return fmt.Errorf("pgstore: %s checkpoint %s: imported position %d out of range", what, name, p)
			}
			start = int64(p)
		}
	}
	imported := false
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		imported = false
		// Durable whatever the role's or the session's default says.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
			return err
		}
		// Lock the row first, then fence: an owner that passes the fence
		// holds the row until it commits, so no later owner's write can
		// come between its fence and its write.
		tag, err := tx.Exec(ctx, `INSERT INTO `+c.table+` (name, position) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, start)
		if err != nil {
			return err
		}
		imported = tag.RowsAffected() == 1 && start > 0
		var pos, epoch int64
		if err := tx.QueryRow(ctx, `SELECT position, epoch FROM `+c.table+` WHERE name = $1 FOR UPDATE`, name).Scan(&pos, &epoch); err != nil {
			return err
		}
		if c.fence != nil {
			if err := c.fence(ctx, tx); err != nil {
				return err
			}
		}
		return f(tx, pos, epoch)
	})
	if err != nil {
		return fmt.Errorf("pgstore: %s checkpoint %s: %w", what, name, err)
	}
	c.mu.Lock()
	c.rows[name] = true
	c.mu.Unlock()
	if imported {
		c.log.Info("relay_checkpoint_imported", "name", name, "position", uint64(start),
			"reason", "no checkpoint in PostgreSQL yet: resuming from the one of the data directory (DATA/relays) instead of position 0")
	}
	return nil
}

// Claim makes this process the owner of name's consumer: it raises the
// checkpoint's epoch (after the fence) and remembers it, so that the
// previous owner's later Loads and Saves fail with ErrStaleEpoch. Call it
// each time this process starts running the consumer (at start-up, or when
// it acquires the lease that runs it), before the first Load.
func (c *Checkpoints) Claim(ctx context.Context, name string) error {
	var got int64
	err := c.locked(ctx, "claim", name, func(tx pgx.Tx, _, epoch int64) error {
		if epoch == math.MaxInt64 {
			return errors.New("epoch exhausted")
		}
		got = epoch + 1
		_, err := tx.Exec(ctx, `UPDATE `+c.table+` SET epoch = $2, updated_at = clock_timestamp() WHERE name = $1`, name, got)
		return err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.epochs[name] = got
	c.mu.Unlock()
	return nil
}

// checkEpoch refuses a write when name was claimed here and the row's
// epoch is another's.
func (c *Checkpoints) checkEpoch(name string, epoch int64) error {
	if mine, ok := c.claimed(name); ok && epoch != mine {
		return fmt.Errorf("%w (epoch %d, mine %d)", ErrStaleEpoch, epoch, mine)
	}
	return nil
}

// Save stores pos as name's checkpoint and returns once it is committed
// and durable. It locks the row, runs the fence, and refuses (writing
// nothing) a stale epoch (ErrStaleEpoch) or a position before the stored
// one (ErrCheckpointBackwards); saving the stored position again is a
// no-op.
func (c *Checkpoints) Save(ctx context.Context, name string, pos eventstore.Position) error {
	if pos > math.MaxInt64 {
		return fmt.Errorf("pgstore: save checkpoint %s: position %d out of range", name, pos)
	}
	return c.locked(ctx, "save", name, func(tx pgx.Tx, cur, epoch int64) error {
		if err := c.checkEpoch(name, epoch); err != nil {
			return err
		}
		if int64(pos) < cur {
			return fmt.Errorf("%w: %d < %d", ErrCheckpointBackwards, pos, cur)
		}
		if int64(pos) == cur {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE `+c.table+` SET position = $2, updated_at = clock_timestamp() WHERE name = $1`, name, int64(pos))
		return err
	})
}

// Reset moves name's checkpoint back to 0, so the consumer delivers
// everything again: the one way back (a relay's Reset). It is locked,
// fenced and epoch-checked like Save.
func (c *Checkpoints) Reset(ctx context.Context, name string) error {
	return c.locked(ctx, "reset", name, func(tx pgx.Tx, _, epoch int64) error {
		if err := c.checkEpoch(name, epoch); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE `+c.table+` SET position = 0, updated_at = clock_timestamp() WHERE name = $1`, name)
		return err
	})
}
