// Package boltkv keeps records that expire in a bbolt file of their own:
// the API's idempotency records (boltstore.Idempotency) and the
// dashboard's sessions (web/session.Bolt). A file holds two buckets,
// "<name>_records" (key → expiry ‖ record) and "<name>_expiry" (expiry ‖
// key → nothing), the second so that a sweep reads only what expired
// instead of every record. The bucket names are persisted: they never
// change.
//
// Every write is durable (committed and fsynced) when it returns. A lone
// write is its own transaction; while several run at once they share one
// (bbolt's Batch, waiting at most BatchDelay), so that concurrent requests
// do not queue behind one another's fsyncs. A Store is safe for concurrent
// use; bbolt's file lock keeps a second process out.
package boltkv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// BatchDelay bounds how long a write waits for others to share its
// transaction, when others are in flight.
const BatchDelay = time.Millisecond

// Store is one file's records.
type Store struct {
	db       *bolt.DB
	records  []byte
	expiry   []byte
	owner    string // prefixes errors: "boltstore: idempotency"
	inflight atomic.Int64
}

// Open opens (creating if needed) the records named name (the bucket
// prefix) in the bbolt file at path (mode 0600; its directory is created
// with mode 0700). owner prefixes its errors.
func Open(path, name, owner string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", owner, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%s: %s is in use by another process", owner, path)
		}
		return nil, fmt.Errorf("%s: open %s: %w", owner, path, err)
	}
	db.MaxBatchDelay = BatchDelay
	db.MaxBatchSize = 64
	s := &Store{db: db, records: []byte(name + "_records"), expiry: []byte(name + "_expiry"), owner: owner}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{s.records, s.expiry} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: open %s: %w", owner, path, err)
	}
	return s, nil
}

// DB returns the bbolt file (a consistent copy of it is a read
// transaction's WriteTo).
func (s *Store) DB() *bolt.DB { return s.db }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func micros(t time.Time) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(t.UnixMicro()))
	return b
}

// live reports whether the stored value v (expiry ‖ record) has not
// expired at now.
func live(v []byte, now time.Time) bool {
	return len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixMicro()
}

func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", s.owner, op, err)
}

// Get returns the record under key, or ok=false when there is none or it
// expired at or before now.
func (s *Store) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(s.records).Get([]byte(key)); live(v, now) {
			out = bytes.Clone(v[8:])
		}
		return nil
	})
	if err != nil {
		return nil, false, s.wrap("get", err)
	}
	return out, out != nil, nil
}

// del removes key and its expiry entry in tx and returns the stored value
// (expiry ‖ record), or nil.
func (s *Store) del(tx *bolt.Tx, key []byte) ([]byte, error) {
	recs, exp := tx.Bucket(s.records), tx.Bucket(s.expiry)
	v := recs.Get(key)
	if v == nil {
		return nil, nil
	}
	v = bytes.Clone(v)
	if len(v) >= 8 {
		if err := exp.Delete(append(bytes.Clone(v[:8]), key...)); err != nil {
			return nil, err
		}
	}
	return v, recs.Delete(key)
}

// Put stores record under key until expires. With keep, an unexpired
// record already under key is kept (the first answer wins) and Put returns
// nil; otherwise it is replaced.
func (s *Store) Put(ctx context.Context, key string, record []byte, now, expires time.Time, keep bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return s.wrap("put", errors.New("empty key"))
	}
	put := func(tx *bolt.Tx) error {
		// Safe to run again (bbolt's Batch may).
		k := []byte(key)
		if keep && live(tx.Bucket(s.records).Get(k), now) {
			return nil
		}
		if _, err := s.del(tx, k); err != nil {
			return err
		}
		e := micros(expires)
		if err := tx.Bucket(s.records).Put(k, append(bytes.Clone(e), record...)); err != nil {
			return err
		}
		return tx.Bucket(s.expiry).Put(append(e, k...), nil)
	}
	var err error
	if s.inflight.Add(1) > 1 {
		err = s.db.Batch(put)
	} else {
		err = s.db.Update(put)
	}
	s.inflight.Add(-1)
	return s.wrap("put", err)
}

// PutMany stores records[i] under keys[i] until expires[i] in one
// transaction (one fsync), each as Put with keep: an unexpired record
// already under a key is kept. A key given twice keeps its first record.
func (s *Store) PutMany(ctx context.Context, now time.Time, keys []string, records [][]byte, expires []time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(records) != len(keys) || len(expires) != len(keys) {
		return s.wrap("put", errors.New("keys, records and expiries differ in number"))
	}
	for _, k := range keys {
		if k == "" {
			return s.wrap("put", errors.New("empty key"))
		}
	}
	return s.wrap("put", s.db.Update(func(tx *bolt.Tx) error {
		recs, exp := tx.Bucket(s.records), tx.Bucket(s.expiry)
		for i, key := range keys {
			k := []byte(key)
			if live(recs.Get(k), now) {
				continue
			}
			if _, err := s.del(tx, k); err != nil {
				return err
			}
			e := micros(expires[i])
			if err := recs.Put(k, append(bytes.Clone(e), records[i]...)); err != nil {
				return err
			}
			if err := exp.Put(append(e, k...), nil); err != nil {
				return err
			}
		}
		return nil
	}))
}

// Take returns the record under key and deletes it, in one transaction:
// of two concurrent Takes one gets it. An expired record is deleted and
// not returned.
func (s *Store) Take(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var out []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		v, err := s.del(tx, []byte(key))
		if err != nil || !live(v, now) {
			return err
		}
		out = v[8:]
		return nil
	})
	if err != nil {
		return nil, false, s.wrap("take", err)
	}
	return out, out != nil, nil
}

// Delete removes key (nothing when it is absent).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.wrap("delete", s.db.Update(func(tx *bolt.Tx) error { _, err := s.del(tx, []byte(key)); return err }))
}

// DeleteExpired removes every record that expired at or before now and
// returns how many it removed.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	limit := uint64(now.UnixMicro())
	err := s.db.Update(func(tx *bolt.Tx) error {
		var dead [][]byte
		c := tx.Bucket(s.expiry).Cursor()
		for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k) <= limit; k, _ = c.Next() {
			dead = append(dead, bytes.Clone(k))
		}
		for _, k := range dead {
			if err := tx.Bucket(s.expiry).Delete(k); err != nil {
				return err
			}
			key := k[8:]
			// Delete the record only if it is the one this expiry entry
			// belongs to (a later Put may have replaced it).
			if v := tx.Bucket(s.records).Get(key); len(v) >= 8 && bytes.Equal(v[:8], k[:8]) {
				if err := tx.Bucket(s.records).Delete(key); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, s.wrap("delete expired", err)
	}
	return n, nil
}

// Snapshot writes a consistent copy of the file to w as of one read
// transaction (an online backup) and returns its size.
func (s *Store) Snapshot(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
