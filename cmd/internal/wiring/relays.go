package wiring

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// RelayCheckpoints is where the NATS relays (integration-nats,
// consequences-nats) keep their checkpoints, the same in kinerjad and the
// projector.
//
// With a PostgreSQL store they live in its schema (pgstore.Checkpoints),
// shared by every process on that database, and the files of
// DATA/relays, where they were kept before, are imported once per relay
// when PostgreSQL has none yet (relay_checkpoint_imported in the log), so
// an upgrade does not republish the log from position 0. Before a process
// starts running the relays it must Claim them: that raises the
// checkpoints' fencing epoch, and a process claimed over (a projector
// whose control partition moved, or the first of two kinerjad on one
// database) can then neither publish nor move the checkpoint: its relays
// stall with pgstore.ErrStaleEpoch, so only the last claimant relays.
//
// With any other store they stay in files of DATA/relays, and Claim does
// nothing (one process, one data directory).
type RelayCheckpoints struct {
	wmbridge.CheckpointStore
	pg *pgstore.Checkpoints
}

// NewRelayCheckpoints returns the relays' checkpoint store for store;
// pool is the store's pool (nil unless PostgreSQL); fence, when set, runs
// in every checkpoint write after the row is locked (see
// pgstore.NewCheckpoints).
func NewRelayCheckpoints(store eventstore.Store, pool *pgxpool.Pool, dataDir string, fence func(context.Context, pgx.Tx) error, log *slog.Logger) (*RelayCheckpoints, error) {
	files, err := wmbridge.NewFileCheckpoints(filepath.Join(dataDir, "relays"))
	if err != nil {
		return nil, err
	}
	ps, ok := store.(*pgstore.Store)
	if !ok || pool == nil {
		return &RelayCheckpoints{CheckpointStore: files}, nil
	}
	cps, err := pgstore.NewCheckpoints(pool, ps.Schema(), fence)
	if err != nil {
		return nil, err
	}
	cps.ImportFrom(files, log)
	return &RelayCheckpoints{CheckpointStore: cps, pg: cps}, nil
}

// Shared reports whether the checkpoints live in PostgreSQL, shared by
// every process on it.
func (r *RelayCheckpoints) Shared() bool { return r.pg != nil }

// Reset implements wmbridge.CheckpointResetter: the one way back.
func (r *RelayCheckpoints) Reset(ctx context.Context, name string) error {
	if r.pg != nil {
		return r.pg.Reset(ctx, name)
	}
	return r.CheckpointStore.Save(ctx, name, 0)
}

// Claim makes this process the one that relays names (see
// pgstore.Checkpoints.Claim); call it before the relays' projector is
// built, each time this process starts running them.
func (r *RelayCheckpoints) Claim(ctx context.Context, names ...string) error {
	if r.pg == nil {
		return nil
	}
	for _, n := range names {
		if err := r.pg.Claim(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
