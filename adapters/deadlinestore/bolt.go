// Package deadlinestore keeps the deadline process manager's state
// (projections/deadlines.Backend): its items, its checkpoint, the record
// of what fired and the outbox of reminders. Bolt keeps them in their own
// bbolt file in the data directory (embedded mode); Postgres in tables of
// their own schema (server mode, shared by every kinerjad of a
// deployment). Both apply an event batch and the checkpoint in one
// transaction, and record a firing and queue its reminder in one
// transaction, which is what makes the process manager's guarantees hold
// across crashes (docs/projections.md, "The deadline process manager").
package deadlinestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

var (
	bucketItems  = []byte("deadline_items")  // key → item JSON
	bucketBySKP  = []byte("deadline_by_skp") // skp \x00 key → nothing
	bucketFired  = []byte("deadline_fired")  // fire ID → RFC 3339 time
	bucketOutbox = []byte("deadline_outbox") // sequence → message JSON
	bucketMeta   = []byte("deadline_meta")   // "checkpoint" → decimal position
	keyCP        = []byte("checkpoint")
)

// Bolt is a deadlines.Backend in its own bbolt file. bbolt's file lock
// keeps a second process out.
type Bolt struct {
	db *bolt.DB
}

var _ deadlines.Backend = (*Bolt)(nil)

// ErrInUse is returned by OpenBolt when another process holds the file
// (kinerjad, the projector, or another kinerjactl): bbolt's file lock was
// not granted within LockTimeout.
var ErrInUse = errors.New("deadlinestore: the file is in use by another process")

// LockTimeout is how long OpenBolt waits for the file lock.
var LockTimeout = 5 * time.Second

// OpenBolt opens (creating if needed) the store in the bbolt file at path
// (mode 0600; its directory is created with mode 0700). A file another
// process holds is ErrInUse after LockTimeout.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("deadlinestore: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (file lock not granted within %v)", ErrInUse, path, LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("deadlinestore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketBySKP, bucketFired, bucketOutbox, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("deadlinestore: %w", err)
	}
	return &Bolt{db: db}, nil
}

// Close closes the file.
func (b *Bolt) Close() error { return b.db.Close() }

// Checkpoint implements deadlines.Backend.
func (b *Bolt) Checkpoint(context.Context) (eventstore.Position, error) {
	var pos eventstore.Position
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		pos, err = checkpointIn(tx)
		return err
	})
	return pos, err
}

func checkpointIn(tx *bolt.Tx) (eventstore.Position, error) {
	v := tx.Bucket(bucketMeta).Get(keyCP)
	if v == nil {
		return 0, nil
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("deadlinestore: checkpoint %q: %w", v, err)
	}
	return eventstore.Position(n), nil
}

// Update implements deadlines.Backend.
func (b *Bolt) Update(ctx context.Context, pos eventstore.Position, fn func(deadlines.Store) error) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		if err := fn(boltTx{tx}); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyCP, []byte(strconv.FormatUint(uint64(pos), 10)))
	})
}

type boltTx struct{ tx *bolt.Tx }

// ReplaceItems implements deadlines.Store.
func (t boltTx) ReplaceItems(_ context.Context, skpID string, items []deadlines.Item) error {
	idx, all := t.tx.Bucket(bucketBySKP), t.tx.Bucket(bucketItems)
	prefix := append([]byte(skpID), 0)
	var old [][]byte
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		old = append(old, slices.Clone(k))
	}
	for _, k := range old {
		if err := idx.Delete(k); err != nil {
			return err
		}
		if err := all.Delete(k[len(prefix):]); err != nil {
			return err
		}
	}
	for _, it := range items {
		v, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if err := all.Put([]byte(it.Key), v); err != nil {
			return err
		}
		if err := idx.Put(append(slices.Clone(prefix), it.Key...), nil); err != nil {
			return err
		}
	}
	return nil
}

// Reset implements deadlines.Backend: the items and the checkpoint go;
// what fired and the outbox stay.
func (b *Bolt) Reset(context.Context) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketItems, bucketBySKP} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(keyCP)
	})
}

func (b *Bolt) scan(keep func(deadlines.Item, *bolt.Tx) bool) ([]deadlines.Item, error) {
	var out []deadlines.Item
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(_, v []byte) error {
			var it deadlines.Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("deadlinestore: item: %w", err)
			}
			if keep(it, tx) {
				out = append(out, it)
			}
			return nil
		})
	})
	return out, err
}

// Due implements deadlines.Backend. It reads every item: an embedded
// ledger holds few open ones.
func (b *Bolt) Due(_ context.Context, now time.Time, limit int) ([]deadlines.Item, error) {
	out, err := b.scan(func(it deadlines.Item, tx *bolt.Tx) bool {
		return !it.FireAt.After(now) && tx.Bucket(bucketFired).Get([]byte(it.FireID())) == nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b deadlines.Item) int {
		if c := a.FireAt.Compare(b.FireAt); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// MarkFired implements deadlines.Backend.
func (b *Bolt) MarkFired(_ context.Context, it deadlines.Item, at time.Time, msg *deadlines.OutboxMessage) (bool, error) {
	fresh := false
	err := b.db.Update(func(tx *bolt.Tx) error {
		fired := tx.Bucket(bucketFired)
		id := []byte(it.FireID())
		if fired.Get(id) != nil {
			return nil
		}
		fresh = true
		if err := fired.Put(id, []byte(at.UTC().Format(time.RFC3339Nano))); err != nil {
			return err
		}
		if msg == nil {
			return nil
		}
		ob := tx.Bucket(bucketOutbox)
		seq, err := ob.NextSequence()
		if err != nil {
			return err
		}
		v, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		return ob.Put(k[:], v)
	})
	return fresh, err
}

// Fired implements deadlines.Backend.
func (b *Bolt) Fired(_ context.Context, fireID string) (bool, error) {
	var ok bool
	err := b.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketFired).Get([]byte(fireID)) != nil
		return nil
	})
	return ok, err
}

// ForRecipient implements deadlines.Backend.
func (b *Bolt) ForRecipient(_ context.Context, nip string) ([]deadlines.Item, error) {
	if nip == "" {
		return nil, nil
	}
	out, err := b.scan(func(it deadlines.Item, _ *bolt.Tx) bool { return it.Recipient == nip && it.Notice == 0 })
	if err != nil {
		return nil, err
	}
	sortByDue(out)
	return out, nil
}

// OfKinds implements deadlines.KindReader.
func (b *Bolt) OfKinds(_ context.Context, kinds ...deadlines.Kind) ([]deadlines.Item, error) {
	out, err := b.scan(func(it deadlines.Item, _ *bolt.Tx) bool { return it.Notice == 0 && slices.Contains(kinds, it.Kind) })
	if err != nil {
		return nil, err
	}
	sortByDue(out)
	return out, nil
}

func sortByDue(items []deadlines.Item) {
	slices.SortFunc(items, func(a, b deadlines.Item) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// Outbox implements deadlines.Backend.
func (b *Bolt) Outbox(_ context.Context, limit int) ([]deadlines.OutboxMessage, error) {
	var out []deadlines.OutboxMessage
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var m deadlines.OutboxMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("deadlinestore: outbox: %w", err)
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// Published implements deadlines.Backend.
func (b *Bolt) Published(_ context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		var gone [][]byte
		err := ob.ForEach(func(k, v []byte) error {
			var m deadlines.OutboxMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if slices.Contains(ids, m.ID) {
				gone = append(gone, slices.Clone(k))
			}
			return nil
		})
		for _, k := range gone {
			if err == nil {
				err = ob.Delete(k)
			}
		}
		return err
	})
}
