package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Buckets of the session file: records (key → expiry ‖ record) and expiry
// (expiry ‖ key → nothing), the second so that a sweep reads only what
// expired.
var (
	bucketRecords = []byte("session_records")
	bucketExpiry  = []byte("session_expiry")
)

// Bolt is a Store in its own bbolt file in the data directory (embedded
// mode). bbolt's file lock keeps a second process out, so only the kinerjad
// that serves the dashboard opens it.
type Bolt struct{ db *bolt.DB }

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the store in the bbolt file at path
// (mode 0600; its directory is created with mode 0700).
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("session: %s is in use by another process", path)
		}
		return nil, fmt.Errorf("session: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketExpiry} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("session: open %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Close closes the file.
func (s *Bolt) Close() error { return s.db.Close() }

func micros(t time.Time) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(t.UnixMicro()))
	return b
}

func expiredAt(v []byte, now time.Time) bool {
	return len(v) < 8 || int64(binary.BigEndian.Uint64(v)) <= now.UnixMicro()
}

// Get implements Store.
func (s *Bolt) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketRecords).Get([]byte(key)); !expiredAt(v, now) {
			out = bytes.Clone(v[8:])
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("session: get: %w", err)
	}
	return out, out != nil, nil
}

// del removes key and its expiry entry in tx, returning the stored value.
func del(tx *bolt.Tx, key []byte) ([]byte, error) {
	recs, exp := tx.Bucket(bucketRecords), tx.Bucket(bucketExpiry)
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

// Set implements Store.
func (s *Bolt) Set(ctx context.Context, key string, record []byte, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		k := []byte(key)
		if _, err := del(tx, k); err != nil {
			return err
		}
		e := micros(expires)
		if err := tx.Bucket(bucketRecords).Put(k, append(bytes.Clone(e), record...)); err != nil {
			return err
		}
		return tx.Bucket(bucketExpiry).Put(append(e, k...), nil)
	})
	if err != nil {
		return fmt.Errorf("session: set: %w", err)
	}
	return nil
}

// Take implements Store.
func (s *Bolt) Take(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var out []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		v, err := del(tx, []byte(key))
		if err != nil || expiredAt(v, now) {
			return err
		}
		out = v[8:]
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("session: take: %w", err)
	}
	return out, out != nil, nil
}

// Delete implements Store.
func (s *Bolt) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { _, err := del(tx, []byte(key)); return err }); err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}

// DeleteExpired implements Store.
func (s *Bolt) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	limit := uint64(now.UnixMicro())
	err := s.db.Update(func(tx *bolt.Tx) error {
		var dead [][]byte
		c := tx.Bucket(bucketExpiry).Cursor()
		for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k) <= limit; k, _ = c.Next() {
			dead = append(dead, bytes.Clone(k[8:]))
		}
		for _, k := range dead {
			if _, err := del(tx, k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("session: delete expired: %w", err)
	}
	return n, nil
}
