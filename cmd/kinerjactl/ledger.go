package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// ledger is the store a command opened, with, on demand, the audit trail.
type ledger struct {
	sf     storeFlags
	store  eventstore.Store
	pool   *pgxpool.Pool
	stderr io.Writer
}

func openLedger(ctx context.Context, sf storeFlags, stderr io.Writer) (*ledger, error) {
	s, err := backend.OpenStore(ctx, backend.StoreConfig{Name: sf.store, DataDir: sf.data, PostgresURL: sf.postgresURL, KurrentDBURL: sf.kurrentdbURL})
	if err != nil {
		if sf.store == backend.Bolt {
			return nil, fmt.Errorf("%w (is kinerjad running on %s? stop it, or use --url to ask it)", err, sf.data)
		}
		return nil, err
	}
	return &ledger{sf: sf, store: s, stderr: stderr}, nil
}

func (l *ledger) close() {
	if l.pool != nil {
		l.pool.Close()
	}
	l.store.Close()
}

// trail is what the commands read of the audit trail.
type trail interface {
	audit.BundleSource
	LatestCheckpoint(ctx context.Context) (audit.Checkpoint, bool, error)
}

// trail returns the audit trail: PostgreSQL's read model when the store is
// postgres (stored, so a verification compares it), else one rebuilt in
// memory from the store.
func (l *ledger) trail(ctx context.Context) (trail, audit.Stored, error) {
	if l.sf.store == backend.Postgres {
		p, err := pgxpool.New(ctx, l.sf.postgresURL)
		if err != nil {
			return nil, nil, err
		}
		l.pool = p
		db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{History: projections.StoreHistory{Store: l.store}, Policy: policy.Default()})
		if err != nil {
			return nil, nil, err
		}
		return db.Audit(), db.Audit(), nil
	}
	m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: l.store}, Policy: policy.Default()})
	start := time.Now()
	n, err := projections.CatchUp(ctx, l.store, m.Sink(audit.Name), projections.CatchUpOptions{Batch: 5000,
		Progress: progress(l.stderr, "rebuilding the audit trail")})
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(l.stderr, "audit trail rebuilt from %d events in %.1fs\n", n, time.Since(start).Seconds())
	return m.Audit(), nil, nil
}

// verifiers returns the checkpoint keys to trust: --key files, else the
// data directory's key.
func verifiers(data string, keys []string) ([]*merkle.Verifier, error) {
	if len(keys) == 0 {
		keys = []string{filepath.Join(data, wiring.AuditPubKeyFile)}
	}
	var out []*merkle.Verifier
	for _, k := range keys {
		v, err := wiring.ReadVerifierKey(k)
		if err != nil {
			return nil, fmt.Errorf("checkpoint key %s: %w", k, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no checkpoint key")
	}
	return out, nil
}

// progress returns a Progress callback that prints at most twice a second.
func progress(w io.Writer, what string) func(pos eventstore.Position, n int) {
	last := time.Now()
	return func(_ eventstore.Position, n int) {
		if time.Since(last) > 500*time.Millisecond {
			fmt.Fprintf(w, "%s: %d events\n", what, n)
			last = time.Now()
		}
	}
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
