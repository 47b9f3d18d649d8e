// Package boltkv keeps records that expire in a bbolt file of their own:
// the dashboard's sessions (web/session.Bolt) and, in data directories of
// earlier builds and in tests, the API's idempotency records
// (boltstore.OpenIdempotency). A file holds two buckets,
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
//
// Buckets is the same layout within a transaction of any bbolt file: the
// event store keeps the idempotency records in its own file
// (boltstore.Store.Idempotency), so that a keyed command's record commits
// in its events' transaction.
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

// Buckets names the two buckets of one kind of records ("<name>_records",
// "<name>_expiry") and reads and writes them within a caller's
// transaction.
type Buckets struct {
	Records, Expiry []byte
}

// NewBuckets returns the buckets of the records named name.
func NewBuckets(name string) Buckets {
	return Buckets{Records: []byte(name + "_records"), Expiry: []byte(name + "_expiry")}
}

// Create creates the buckets if they are missing.
func (b Buckets) Create(tx *bolt.Tx) error {
	for _, n := range [][]byte{b.Records, b.Expiry} {
		if _, err := tx.CreateBucketIfNotExists(n); err != nil {
			return err
		}
	}
	return nil
}

// Get returns a copy of the record under key, or nil when there is none
// or it expired at or before now.
func (b Buckets) Get(tx *bolt.Tx, key []byte, now time.Time) []byte {
	if v := tx.Bucket(b.Records).Get(key); live(v, now) {
		return bytes.Clone(v[8:])
	}
	return nil
}

// Put stores record under key until expires. With keep, an unexpired
// record already under key is kept (the first answer wins) and wrote is
// false; otherwise it is replaced. It is safe to run again in a retried
// transaction.
func (b Buckets) Put(tx *bolt.Tx, key, record []byte, now, expires time.Time, keep bool) (wrote bool, err error) {
	if keep && live(tx.Bucket(b.Records).Get(key), now) {
		return false, nil
	}
	if _, err := b.del(tx, key); err != nil {
		return false, err
	}
	e := micros(expires)
	if err := tx.Bucket(b.Records).Put(key, append(bytes.Clone(e), record...)); err != nil {
		return false, err
	}
	return true, tx.Bucket(b.Expiry).Put(append(e, key...), nil)
}

// Replace stores record under key until expires only when the record
// stored under key is exactly old and unexpired at now; replaced reports
// whether it did.
func (b Buckets) Replace(tx *bolt.Tx, key, old, record []byte, now, expires time.Time) (replaced bool, err error) {
	v := tx.Bucket(b.Records).Get(key)
	if !live(v, now) || !bytes.Equal(v[8:], old) {
		return false, nil
	}
	return b.Put(tx, key, record, now, expires, false)
}

// del removes key and its expiry entry in tx and returns the stored value
// (expiry ‖ record), or nil.
func (b Buckets) del(tx *bolt.Tx, key []byte) ([]byte, error) {
	recs, exp := tx.Bucket(b.Records), tx.Bucket(b.Expiry)
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

// DeleteExpired removes up to limit records (all, when limit <= 0) that
// expired at or before now; it returns how many it removed and whether
// more expired entries remain.
func (b Buckets) DeleteExpired(tx *bolt.Tx, now time.Time, limit int) (n int, more bool, err error) {
	until := uint64(now.UnixMicro())
	var dead [][]byte
	c := tx.Bucket(b.Expiry).Cursor()
	for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k) <= until; k, _ = c.Next() {
		if limit > 0 && len(dead) == limit {
			more = true
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := tx.Bucket(b.Expiry).Delete(k); err != nil {
			return n, false, err
		}
		key := k[8:]
		// Delete the record only if it is the one this expiry entry
		// belongs to (a later Put may have replaced it).
		if v := tx.Bucket(b.Records).Get(key); len(v) >= 8 && bytes.Equal(v[:8], k[:8]) {
			if err := tx.Bucket(b.Records).Delete(key); err != nil {
				return n, false, err
			}
			n++
		}
	}
	return n, more, nil
}

// ForEach calls fn with every record unexpired at now, its key and its
// expiry, in key order, until fn returns an error. The slices are valid
// only during the call.
func (b Buckets) ForEach(tx *bolt.Tx, now time.Time, fn func(key, record []byte, expires time.Time) error) error {
	return tx.Bucket(b.Records).ForEach(func(k, v []byte) error {
		if !live(v, now) {
			return nil
		}
		return fn(k, v[8:], time.UnixMicro(int64(binary.BigEndian.Uint64(v))))
	})
}

// Store is one file's records.
type Store struct {
	db       *bolt.DB
	b        Buckets
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
	s := &Store{db: db, b: NewBuckets(name), owner: owner}
	if err := db.Update(s.b.Create); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: open %s: %w", owner, path, err)
	}
	return s, nil
}

// DB returns the bbolt file (a consistent copy of it is a read
// transaction's WriteTo).
func (s *Store) DB() *bolt.DB { return s.db }

// Buckets returns the buckets the records are in.
func (s *Store) Buckets() Buckets { return s.b }

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
		out = s.b.Get(tx, []byte(key), now)
		return nil
	})
	if err != nil {
		return nil, false, s.wrap("get", err)
	}
	return out, out != nil, nil
}

// Put stores record under key until expires. With keep, an unexpired
// record already under key is kept (the first answer wins) and Put returns
// nil; otherwise it is replaced.
func (s *Store) Put(ctx context.Context, key string, record []byte, now, expires time.Time, keep bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := Check(key, record); err != nil {
		return s.wrap("put", err)
	}
	put := func(tx *bolt.Tx) error {
		// Safe to run again (bbolt's Batch may).
		_, err := s.b.Put(tx, []byte(key), record, now, expires, keep)
		return err
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
	if err := CheckMany(keys, records, expires); err != nil {
		return s.wrap("put", err)
	}
	return s.wrap("put", s.db.Update(func(tx *bolt.Tx) error {
		for i, key := range keys {
			if _, err := s.b.Put(tx, []byte(key), records[i], now, expires[i], true); err != nil {
				return err
			}
		}
		return nil
	}))
}

// CheckMany checks the arguments of a PutMany: as many records and
// expiries as keys, and each key and record as Check.
func CheckMany(keys []string, records [][]byte, expires []time.Time) error {
	if len(records) != len(keys) || len(expires) != len(keys) {
		return errors.New("keys, records and expiries differ in number")
	}
	for i, k := range keys {
		if err := Check(k, records[i]); err != nil {
			return err
		}
	}
	return nil
}

// Check refuses what bbolt would refuse inside a write transaction: an
// empty key, a key too long for the expiry entry (8 bytes of expiry before
// it) or a record too long for a value (8 bytes of expiry before it). A
// write checked first fails before it is queued, on its own, instead of
// failing the transaction it would share.
func Check(key string, record []byte) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > bolt.MaxKeySize-8:
		return fmt.Errorf("key of %d bytes, more than %d", len(key), bolt.MaxKeySize-8)
	case len(record) > bolt.MaxValueSize-8:
		return fmt.Errorf("record of %d bytes, more than %d", len(record), bolt.MaxValueSize-8)
	}
	return nil
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
		v, err := s.b.del(tx, []byte(key))
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
	return s.wrap("delete", s.db.Update(func(tx *bolt.Tx) error { _, err := s.b.del(tx, []byte(key)); return err }))
}

// DeleteExpired removes every record that expired at or before now and
// returns how many it removed.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		n, _, err = s.b.DeleteExpired(tx, now, 0)
		return err
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
