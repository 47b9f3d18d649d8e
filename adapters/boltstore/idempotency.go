package boltstore

import (
	"context"
	"io"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/boltkv"
)

// Idempotency keeps the first response to each keyed HTTP mutation (the
// Idempotency-Key of the API) in its own bbolt file in the data directory,
// apart from the event store's file, so that a repeated request is answered
// from it after a restart. It implements the application layer's
// idempotency-store port (adapters/app.IdempotencyStore) without importing
// it: records are opaque bytes. The file's buckets (idempotency_records,
// idempotency_expiry) and their layout are adapters/internal/boltkv's.
//
// Every Put is durable (committed and fsynced) when it returns; concurrent
// Puts share a transaction. It is safe for concurrent use; bbolt's file
// lock keeps a second process out.
type Idempotency struct{ kv *boltkv.Store }

// OpenIdempotency opens (creating if needed) the idempotency store in the
// bbolt file at path (mode 0600; its directory is created with mode 0700).
// Expired records stay until DeleteExpired, which the caller runs with its
// own clock.
func OpenIdempotency(path string) (*Idempotency, error) {
	kv, err := boltkv.Open(path, "idempotency", "boltstore: idempotency")
	if err != nil {
		return nil, err
	}
	return &Idempotency{kv: kv}, nil
}

// Close closes the file.
func (s *Idempotency) Close() error { return s.kv.Close() }

// Get returns the record stored under key, or ok=false when there is none
// or it expired at or before now.
func (s *Idempotency) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	return s.kv.Get(ctx, key, now)
}

// Put stores record under key until expires. When an unexpired record is
// already stored under key, Put keeps it (the first response wins) and
// returns nil. The record is durable when Put returns.
func (s *Idempotency) Put(ctx context.Context, key string, record []byte, now, expires time.Time) error {
	return s.kv.Put(ctx, key, record, now, expires, true)
}

// PutMany stores records[i] under keys[i] until expires[i], each as Put
// does (an unexpired record already stored under a key is kept), in one
// transaction: the records are durable together when PutMany returns. It
// implements the application layer's IdempotencyBatcher, through which the
// answers of keyed commands written in the background share one fsync.
func (s *Idempotency) PutMany(ctx context.Context, now time.Time, keys []string, records [][]byte, expires []time.Time) error {
	return s.kv.PutMany(ctx, now, keys, records, expires)
}

// DeleteExpired removes every record that expired at or before now and
// returns how many it removed.
func (s *Idempotency) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.kv.DeleteExpired(ctx, now)
}

// Snapshot writes a consistent copy of the file to w (an online backup)
// and returns its size.
func (s *Idempotency) Snapshot(w io.Writer) (int64, error) { return s.kv.Snapshot(w) }
