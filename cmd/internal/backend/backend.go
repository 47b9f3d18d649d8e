// Package backend is the one place where the commands choose an event-store
// backend: an explicit switch on the configured name, no registry.
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/esdbstore"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Store names accepted by --store.
const (
	Bolt      = "bolt"
	Postgres  = "postgres"
	KurrentDB = "kurrentdb"
)

// StoreConfig is what opening a store needs.
type StoreConfig struct {
	// Name is Bolt, Postgres or KurrentDB.
	Name string
	// DataDir holds the bbolt file (Bolt).
	DataDir string
	// PostgresURL is the PostgreSQL connection string (Postgres).
	PostgresURL string
	// PostgresSchema is the schema of the store's tables (default pgstore's).
	PostgresSchema string
	// KurrentDBURL is the KurrentDB connection string (KurrentDB).
	KurrentDBURL string
	// Migrate applies PostgreSQL migrations before opening.
	Migrate bool
	// Logger receives the backend's operational messages.
	Logger *slog.Logger
	// Signer signs every append (nil: a process that only reads).
	Signer eventstore.Signer
	// Keyring verifies a stream's head before an append builds on it.
	Keyring *eventstore.Keyring
	// AllowMetaFallback opens a bbolt file whose newer meta page is damaged
	// at the older one (the operator's --accept-rollback).
	AllowMetaFallback bool
	// HeadCacheSize bounds the PostgreSQL and KurrentDB stores' caches of
	// stream heads, and the bbolt store's trusted heads (0: the store's
	// default). A writer that appends to more
	// streams than that, round and round (the seeder at a province: 220,000
	// streams), reads and re-verifies a head before most appends instead.
	HeadCacheSize int
	// PostgresTailReaders is the PostgreSQL store's most tail-read
	// statements in flight at once (pgstore.Options.TailReaders; 0: its
	// default). Reads arriving while that many run share the next one.
	PostgresTailReaders int
}

// Validate reports every problem of c.
func (c StoreConfig) Validate() error {
	var errs []error
	switch c.Name {
	case Bolt:
		if c.DataDir == "" {
			errs = append(errs, errors.New("--data is required for the bolt store"))
		}
	case Postgres:
		if c.PostgresURL == "" {
			errs = append(errs, errors.New("--postgres-url is required for the postgres store"))
		}
	case KurrentDB:
		if c.KurrentDBURL == "" {
			errs = append(errs, errors.New("--kurrentdb-url is required for the kurrentdb store"))
		}
	default:
		errs = append(errs, fmt.Errorf("--store %q: want bolt, postgres or kurrentdb", c.Name))
	}
	return errors.Join(errs...)
}

// BoltPath is the bbolt file inside a data directory.
func BoltPath(dataDir string) string { return filepath.Join(dataDir, "kinerja.db") }

// OpenStore opens the configured event store.
func OpenStore(ctx context.Context, c StoreConfig) (eventstore.Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch c.Name {
	case Bolt:
		return boltstore.Open(BoltPath(c.DataDir), boltstore.Options{Signer: c.Signer, Keyring: c.Keyring, AllowMetaFallback: c.AllowMetaFallback, TrustedHeads: c.HeadCacheSize})
	case Postgres:
		if c.Migrate {
			if _, err := pgstore.MigrateURL(ctx, c.PostgresURL, c.PostgresSchema); err != nil {
				return nil, err
			}
		}
		return pgstore.Connect(ctx, c.PostgresURL, pgstore.Options{Schema: c.PostgresSchema, Logger: c.Logger, Signer: c.Signer, Keyring: c.Keyring, HeadCacheSize: c.HeadCacheSize, TailReaders: c.PostgresTailReaders})
	case KurrentDB:
		return esdbstore.Open(c.KurrentDBURL, esdbstore.Options{Logger: c.Logger, Signer: c.Signer, Keyring: c.Keyring, HeadCacheSize: c.HeadCacheSize})
	}
	return nil, fmt.Errorf("unknown store %q", c.Name)
}
