package session

import (
	"context"
	"io"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/boltkv"
)

// Bolt is a Store in its own bbolt file in the data directory (embedded
// mode; the buckets session_records and session_expiry, laid out by
// adapters/internal/boltkv). bbolt's file lock keeps a second process out,
// so only the kinerjad that serves the dashboard opens it.
type Bolt struct{ kv *boltkv.Store }

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the store in the bbolt file at path
// (mode 0600; its directory is created with mode 0700).
func OpenBolt(path string) (*Bolt, error) {
	kv, err := boltkv.Open(path, "session", "session")
	if err != nil {
		return nil, err
	}
	return &Bolt{kv: kv}, nil
}

// Close closes the file.
func (s *Bolt) Close() error { return s.kv.Close() }

// Get implements Store.
func (s *Bolt) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	return s.kv.Get(ctx, key, now)
}

// Set implements Store.
func (s *Bolt) Set(ctx context.Context, key string, record []byte, expires time.Time) error {
	return s.kv.Put(ctx, key, record, time.Time{}, expires, false)
}

// Take implements Store.
func (s *Bolt) Take(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	return s.kv.Take(ctx, key, now)
}

// Delete implements Store.
func (s *Bolt) Delete(ctx context.Context, key string) error { return s.kv.Delete(ctx, key) }

// DeleteExpired implements Store.
func (s *Bolt) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.kv.DeleteExpired(ctx, now)
}

// Snapshot writes a consistent copy of the file to w (an online backup)
// and returns its size.
func (s *Bolt) Snapshot(w io.Writer) (int64, error) { return s.kv.Snapshot(w) }
