package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The idempotency file has its own buckets: records (key → expiry and
// record) and expiry (expiry ‖ key → nothing), the second so that a sweep
// reads only what expired instead of every record.
var (
	bucketIdemRecords = []byte("idempotency_records")
	bucketIdemExpiry  = []byte("idempotency_expiry")
)

// Idempotency keeps the first response to each keyed HTTP mutation (the
// Idempotency-Key of the API) in its own bbolt file in the data directory,
// apart from the event store's file, so that a repeated request is answered
// from it after a restart. It implements the API's idempotency-store port
// (adapters/httpapi.IdempotencyStore) without importing it: records are
// opaque bytes.
//
// Every Put is durable (committed and fsynced) when it returns. A lone Put
// is its own transaction; while several run at once they share one (bbolt's
// Batch, waiting at most idemBatchDelay), so that concurrent keyed requests
// do not queue behind one another's fsyncs. It is safe for concurrent use;
// bbolt's file lock keeps a second process out.
type Idempotency struct {
	db       *bolt.DB
	inflight atomic.Int64
}

// idemBatchDelay bounds how long a Put waits for others to share its
// transaction, when others are in flight.
const idemBatchDelay = time.Millisecond

// OpenIdempotency opens (creating if needed) the idempotency store in the
// bbolt file at path (mode 0600; its directory is created with mode 0700).
// Expired records stay until DeleteExpired, which the caller runs with its
// own clock.
func OpenIdempotency(path string) (*Idempotency, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: idempotency: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("boltstore: idempotency: %s is in use by another process", path)
		}
		return nil, fmt.Errorf("boltstore: idempotency: open %s: %w", path, err)
	}
	db.MaxBatchDelay = idemBatchDelay
	db.MaxBatchSize = 64
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketIdemRecords, bucketIdemExpiry} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: idempotency: open %s: %w", path, err)
	}
	return &Idempotency{db: db}, nil
}

// Close closes the file.
func (s *Idempotency) Close() error { return s.db.Close() }

// record layout: 8 bytes of expiry (Unix microseconds, big-endian), then the
// record.
func encodeIdem(expires time.Time, record []byte) []byte {
	b := make([]byte, 8, 8+len(record))
	binary.BigEndian.PutUint64(b, uint64(expires.UnixMicro()))
	return append(b, record...)
}

func expiryKey(expires time.Time, key string) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(expires.UnixMicro()))
	return append(b, key...)
}

// Get returns the record stored under key, or ok=false when there is none
// or it expired at or before now.
func (s *Idempotency) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketIdemRecords).Get([]byte(key))
		if len(v) < 8 || int64(binary.BigEndian.Uint64(v)) <= now.UnixMicro() {
			return nil
		}
		out = bytes.Clone(v[8:])
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("boltstore: idempotency: get: %w", err)
	}
	return out, out != nil, nil
}

// Put stores record under key until expires. When an unexpired record is
// already stored under key, Put keeps it (the first response wins) and
// returns nil. The record is durable when Put returns.
func (s *Idempotency) Put(ctx context.Context, key string, record []byte, now, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return errors.New("boltstore: idempotency: put: empty key")
	}
	put := func(tx *bolt.Tx) error {
		// Safe to run again (bbolt's Batch may): the first record wins.
		recs, exp := tx.Bucket(bucketIdemRecords), tx.Bucket(bucketIdemExpiry)
		if v := recs.Get([]byte(key)); len(v) >= 8 {
			old := time.UnixMicro(int64(binary.BigEndian.Uint64(v)))
			if old.After(now) {
				return nil
			}
			if err := exp.Delete(expiryKey(old, key)); err != nil {
				return err
			}
		}
		if err := recs.Put([]byte(key), encodeIdem(expires, record)); err != nil {
			return err
		}
		return exp.Put(expiryKey(expires, key), nil)
	}
	var err error
	if s.inflight.Add(1) > 1 {
		err = s.db.Batch(put)
	} else {
		err = s.db.Update(put)
	}
	s.inflight.Add(-1)
	if err != nil {
		return fmt.Errorf("boltstore: idempotency: put: %w", err)
	}
	return nil
}

// DeleteExpired removes every record that expired at or before now and
// returns how many it removed.
func (s *Idempotency) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	limit := uint64(now.UnixMicro())
	err := s.db.Update(func(tx *bolt.Tx) error {
		recs, exp := tx.Bucket(bucketIdemRecords), tx.Bucket(bucketIdemExpiry)
		var dead [][]byte
		c := exp.Cursor()
		for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k) <= limit; k, _ = c.Next() {
			dead = append(dead, bytes.Clone(k))
		}
		for _, k := range dead {
			if err := exp.Delete(k); err != nil {
				return err
			}
			key := k[8:]
			// Delete the record only if it is the one this expiry entry
			// belongs to (a later Put may have replaced it).
			if v := recs.Get(key); len(v) >= 8 && bytes.Equal(v[:8], k[:8]) {
				if err := recs.Delete(key); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: idempotency: delete expired: %w", err)
	}
	return n, nil
}
