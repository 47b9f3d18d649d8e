package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	sf    storeFlags
	store eventstore.Store
	// authed reads store authenticated against keys.
	authed *eventstore.AuthenticatedStore
	keys   *wiring.WriterKeys
	pool   *pgxpool.Pool
	stderr io.Writer
	// history is the PostgreSQL read models' shared history
	// (openPostgresReadModels).
	history *projections.BoundedHistory
}

// Ledger access modes: a command that appends signs with the writer key
// (made if missing, as kinerjad would); one that only reads needs the
// keyring alone.
const (
	readLedger  = false
	writeLedger = true
)

func openLedger(ctx context.Context, sf storeFlags, stderr io.Writer, write bool) (*ledger, error) {
	keyPath, keyringPath := sf.writerPaths()
	var keys *wiring.WriterKeys
	if write {
		k, err := wiring.LoadWriterKeys(keyPath, keyringPath, true)
		if err != nil {
			return nil, err
		}
		if k.Created {
			fmt.Fprintf(stderr, "writer key %s created at %s\n", k.Signer.KeyID(), keyPath)
		}
		keys = k
	} else {
		ring, err := wiring.LoadKeyring(keyringPath)
		if err != nil {
			return nil, err
		}
		if b, err := os.ReadFile(keyPath); err == nil {
			// The writer key beside the data is trusted as kinerjad trusts it.
			if s, err := eventstore.ParseWriterKey(b); err == nil {
				ring.Add(s.Public())
			}
		}
		keys = &wiring.WriterKeys{Keyring: ring, KeyPath: keyPath, KeyringPath: keyringPath}
	}
	s, err := backend.OpenStore(ctx, backend.StoreConfig{Name: sf.store, DataDir: sf.data, PostgresURL: sf.postgresURL, KurrentDBURL: sf.kurrentdbURL,
		Signer: keys.StoreSigner(), Keyring: keys.Keyring, HeadCacheSize: sf.headCache})
	if err != nil {
		if sf.store == backend.Bolt {
			return nil, fmt.Errorf("%w (is kinerjad running on %s? stop it, or use --url to ask it)", err, sf.data)
		}
		return nil, err
	}
	return &ledger{sf: sf, store: s, authed: eventstore.NewAuthenticatedStore(s, keys.Keyring), keys: keys, stderr: stderr}, nil
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
// memory from the store. The rebuild authenticates what it reads; the
// entries below the latest checkpoint that auditKeys verify are covered by
// its root, which the rebuilt trail must give.
func (l *ledger) trail(ctx context.Context, auditKeys []*merkle.Verifier) (trail, audit.Stored, error) {
	if l.sf.store == backend.Postgres {
		p, err := pgxpool.New(ctx, l.sf.postgresURL)
		if err != nil {
			return nil, nil, err
		}
		l.pool = p
		db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{History: projections.StoreHistory{Store: l.authed}, Policy: policy.Default()})
		if err != nil {
			return nil, nil, err
		}
		return db.Audit(), db.Audit(), nil
	}
	latest, ok, err := audit.LedgerCheckpoint(ctx, l.store)
	if err != nil {
		return nil, nil, err
	}
	feed := l.authed
	if ok && audit.OpenCheckpoint(latest.Checkpoint, auditKeys...) == nil {
		feed = l.authed.Covering(audit.CoverFirst(latest.Checkpoint.Size))
	} else {
		ok = false
	}
	m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: l.authed}, Policy: policy.Default()})
	start := time.Now()
	n, err := projections.CatchUp(ctx, feed, m.Sink(audit.Name), projections.CatchUpOptions{Batch: 5000,
		Progress: progress(l.stderr, "rebuilding the audit trail")})
	if err != nil {
		return nil, nil, err
	}
	if ok {
		if err := audit.CheckWitnessRoot(ctx, m.Audit(), &latest); err != nil {
			return nil, nil, fmt.Errorf("%w: run kinerjactl verify", err)
		}
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
