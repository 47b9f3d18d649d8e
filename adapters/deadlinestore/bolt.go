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
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kinerja-ledger/kinerja/adapters/internal/atomicfile"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

var (
	bucketItems  = []byte("deadline_items")  // key → item JSON
	bucketBySKP  = []byte("deadline_by_skp") // skp \x00 key → indexEntry (layout 2; nothing before)
	bucketFired  = []byte("deadline_fired")  // fire ID → RFC 3339 time
	bucketOutbox = []byte("deadline_outbox") // sequence → message JSON
	bucketMeta   = []byte("deadline_meta")   // "checkpoint" → decimal position; "layout" → "2"; "settings" → fingerprint
	// bucketDue indexes the items not yet fired by when they fire, so that
	// Due reads only what is due: fire_at (12 bytes, ordered) key → fire ID.
	bucketDue = []byte("deadline_due")
	// bucketByRecipient indexes the items (Notice 0) by the NIP they wait
	// for: nip \x00 key → nothing.
	bucketByRecipient = []byte("deadline_by_recipient")
	keyCP             = []byte("checkpoint")
	keyLayout         = []byte("layout")
	// keySettings is the fingerprint of the settings the items were built
	// with (deadlines.Settings.Fingerprint): a start with other settings
	// resets the items (deadlines.CheckSettings). Reset keeps it; its
	// caller records the new one.
	keySettings = []byte("settings")
	// keyLayoutCP is a copy of the checkpoint, written with it by every
	// Update of this build: an earlier build (a rollback) updates the
	// checkpoint but not the copy, nor the indexes, so a copy that differs
	// from the checkpoint at open means the indexes are stale and are
	// built again.
	keyLayoutCP = []byte("layout_checkpoint")
	// bySKPSeq is the sequence of bucketBySKP in a file this build
	// indexed: an earlier build's Reset deletes and creates the bucket
	// again (sequence 0), and may then reach the same checkpoint.
	bySKPSeq uint64 = 1
	// layout is the version of the file's buckets: "2" has bucketDue and
	// bucketByRecipient and the by-SKP values; a file without it (an
	// earlier build's) is indexed when it is opened.
	layout = []byte("2")
)

// decodes counts the item decodes of Due, ForRecipient and OfKinds (a
// test hook: Due reads only what is due).
var decodes atomic.Int64

// Bolt is a deadlines.Backend in its own bbolt file. A flock on
// path.lock, taken before the bbolt file is opened and held until Close,
// keeps a second process out (bbolt's own lock is on the file's inode,
// which the compaction replaces).
type Bolt struct {
	db   *bolt.DB
	lock *os.File
}

var errLockTimeout = errors.New("lock timeout")

var _ deadlines.Backend = (*Bolt)(nil)

// ErrInUse is returned by OpenBolt when another process holds the file
// (kinerjad, the projector, or another kinerjactl): bbolt's file lock was
// not granted within LockTimeout.
var ErrInUse = errors.New("deadlinestore: the file is in use by another process")

// LockTimeout is how long OpenBolt waits for the file lock.
var LockTimeout = 5 * time.Second

// OpenBolt opens (creating if needed) the store in the bbolt file at path
// (mode 0600; its directory is created with mode 0700). A file another
// process holds is ErrInUse after LockTimeout. It logs to slog's default
// logger (OpenBoltLog).
func OpenBolt(path string) (*Bolt, error) { return OpenBoltLog(path, nil) }

// OpenBoltLog is OpenBolt logging to log (slog's default when nil): the
// compaction at the open (deadlines_compacting, then deadlines_compacted
// with its duration and the file's bytes before and after) takes seconds
// on a province's bloated file, and a start that spends them silently
// looks stuck.
func OpenBoltLog(path string, log *slog.Logger) (*Bolt, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("deadlinestore: %w", err)
	}
	lock, err := lockFile(path+".lock", LockTimeout)
	if errors.Is(err, errLockTimeout) {
		return nil, fmt.Errorf("%w: %s (file lock on %s.lock not granted within %v)", ErrInUse, path, path, LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("deadlinestore: lock %s.lock: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		lock.Close()
		return nil, fmt.Errorf("%w: %s (file lock not granted within %v)", ErrInUse, path, LockTimeout)
	}
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("deadlinestore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketBySKP, bucketFired, bucketOutbox, bucketMeta, bucketDue, bucketByRecipient} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = index(db)
	}
	if err == nil {
		db, err = compactLog(path, db, log)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		lock.Close()
		return nil, fmt.Errorf("deadlinestore: %w", err)
	}
	return &Bolt{db: db, lock: lock}, nil
}

// syncDir fsyncs a directory (a test hook: a failing one).
var syncDir = atomicfile.SyncDir

// CompactMinBytes is the size below which OpenBolt never compacts a file.
var CompactMinBytes int64 = 32 << 20

// compact rewrites the file at path, open in db, into a new file without
// its free pages, when they are at least half of it and it is at least
// CompactMinBytes: the catch-up's churn (every event of an SKP rewrites
// its items, and a transaction of thousands of events copies the pages it
// touches) leaves a file mostly free (a 2,000-employee store's is 85 %
// free pages; §37/§46's province file of 2.3 GB). bbolt never gives free
// pages back to the file system, and they count in the disk and in the
// file-backed RSS. The copy is written to path.compact and renamed over
// path while db still holds the lock; a crash before the rename leaves
// the file as it was (and a stale path.compact, replaced next time). A
// failure before the rename (a full disk, a read-only directory) is
// logged and the original file is used: it is intact. It returns the db
// to use: the compacted file, reopened, or db itself. The caller holds
// path.lock, so nobody opens path between the rename and the reopen.
func compact(path string, db *bolt.DB) (*bolt.DB, error) {
	return compactLog(path, db, slog.Default())
}

// compactLog is compact logging to log: deadlines_compacting (the file's
// bytes and its free pages' bytes) before the copy, deadlines_compacted
// (seconds, bytes before and after) once the compacted file is open, and
// the failures as compact does.
func compactLog(path string, db *bolt.DB, log *slog.Logger) (*bolt.DB, error) {
	begin := time.Now()
	next, before, err := compactCopy(path, db, log)
	if err != nil {
		os.Remove(path + ".compact")
		log.Warn("deadlinestore: compaction failed; the file is kept as it was", "path", path, "error", err.Error())
		return db, nil
	}
	if next == "" {
		return db, nil
	}
	if err := os.Rename(next, path); err != nil {
		os.Remove(next)
		log.Warn("deadlinestore: compaction failed; the file is kept as it was", "path", path, "error", err.Error())
		return db, nil
	}
	db.Close()
	// The rename is done: the compacted file is the store now, whether or
	// not its directory entry reaches the disk. A failed fsync of the
	// directory (the directory cannot be opened) must not fail the start
	// over a store that is intact: at worst a crash brings back the old
	// file, equally valid (the copy holds the same state).
	if err := syncDir(filepath.Dir(path)); err != nil {
		log.Warn("deadlinestore: compacted, but the directory's fsync failed; a crash may bring back the uncompacted file (the same state)", "path", path, "error", err.Error())
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (file lock not granted within %v)", ErrInUse, path, LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s after compacting it: %w", path, err)
	}
	after := int64(-1)
	if fi, err := os.Stat(path); err == nil {
		after = fi.Size()
	}
	log.Info("deadlines_compacted", "path", path, "seconds", time.Since(begin).Seconds(), "bytes_before", before, "bytes_after", after)
	return db, nil
}

// compactCopy writes the compacted copy of db to path.compact (with the
// original's mode) and returns its path, or "" if the file is not worth
// compacting, and the file's size (its data's, when not compacted).
func compactCopy(path string, db *bolt.DB, log *slog.Logger) (string, int64, error) {
	var size int64
	if err := db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		return "", 0, err
	}
	free := int64(db.Stats().FreePageN) * int64(db.Info().PageSize)
	if size < CompactMinBytes || 2*free < size {
		return "", size, nil
	}
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode, size = fi.Mode().Perm(), fi.Size() // the file's bytes, as the disk counts them (bbolt grows it ahead of its data)
	}
	log.Info("deadlines_compacting", "path", path, "bytes", size, "free_bytes", free)
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", size, err
	}
	dst, err := bolt.Open(tmp, mode, nil)
	if err != nil {
		return "", size, fmt.Errorf("compact: %w", err)
	}
	if err := bolt.Compact(dst, db, 64<<20); err != nil {
		dst.Close()
		return "", size, fmt.Errorf("compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		return "", size, fmt.Errorf("compact: %w", err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return "", size, fmt.Errorf("compact: %w", err)
	}
	return tmp, size, nil
}

// indexBatch is how many items index writes per transaction.
var indexBatch = 20_000

// index brings a file of an earlier layout (no due and recipient indexes,
// no by-SKP values) to the current one: it indexes every item, in
// transactions of indexBatch items, and then records the layout. Nothing
// else uses the file meanwhile (OpenBolt holds its lock), and a crash
// before the layout is recorded starts the indexing again at the next
// open.
func index(db *bolt.DB) error {
	var done bool
	err := db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if bytes.Equal(meta.Get(keyLayout), layout) && bytes.Equal(meta.Get(keyLayoutCP), meta.Get(keyCP)) &&
			tx.Bucket(bucketBySKP).Sequence() == bySKPSeq {
			done = true
			return nil
		}
		for _, name := range [][]byte{bucketDue, bucketByRecipient} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || done {
		return err
	}
	var after []byte
	for {
		more := false
		err := db.Update(func(tx *bolt.Tx) error {
			idx, all := tx.Bucket(bucketBySKP), tx.Bucket(bucketItems)
			var rows [][]byte
			c := idx.Cursor()
			k, _ := c.First()
			if after != nil {
				k, _ = c.Seek(after)
				if bytes.Equal(k, after) {
					k, _ = c.Next()
				}
			}
			for ; k != nil; k, _ = c.Next() {
				if len(rows) == indexBatch {
					more = true
					break
				}
				rows = append(rows, slices.Clone(k))
			}
			t := boltTx{tx}
			for _, row := range rows {
				key := row[bytes.IndexByte(row, 0)+1:]
				v := all.Get(key)
				if v == nil {
					// A by-SKP row without its item: drop it.
					if err := idx.Delete(row); err != nil {
						return err
					}
					continue
				}
				var it deadlines.Item
				if err := json.Unmarshal(v, &it); err != nil {
					return fmt.Errorf("item %q: %w", key, err)
				}
				if err := t.indexItem(it, row); err != nil {
					return err
				}
			}
			if len(rows) > 0 {
				after = rows[len(rows)-1]
			}
			if !more {
				meta := tx.Bucket(bucketMeta)
				if cp := meta.Get(keyCP); cp != nil {
					if err := meta.Put(keyLayoutCP, slices.Clone(cp)); err != nil {
						return err
					}
				} else if err := meta.Delete(keyLayoutCP); err != nil {
					return err
				}
				if err := idx.SetSequence(bySKPSeq); err != nil {
					return err
				}
				return meta.Put(keyLayout, layout)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("indexing the items: %w", err)
		}
		if !more {
			return nil
		}
	}
}

// dueKey is an item's key in bucketDue: its FireAt (seconds with the sign
// bit flipped, then nanoseconds, both big-endian, so that the bytes sort as
// the times) and its key.
func dueKey(at time.Time, key string) []byte {
	k := make([]byte, 12, 12+len(key))
	binary.BigEndian.PutUint64(k, uint64(at.Unix())^1<<63)
	binary.BigEndian.PutUint32(k[8:], uint32(at.Nanosecond()))
	return append(k, key...)
}

func dueTime(k []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint64(k)^1<<63), int64(binary.BigEndian.Uint32(k[8:])))
}

// indexEntry is an item's value in bucketBySKP: what removing its index
// entries needs (its FireAt as in dueKey, and the recipient it is indexed
// under, if any), so that ReplaceItems decodes no item.
func indexEntry(it deadlines.Item) []byte {
	v := dueKey(it.FireAt, "")
	if it.Notice == 0 && it.Recipient != "" {
		v = append(v, it.Recipient...)
	}
	return v
}

// indexItem writes it's by-SKP entry (at skpKey), its due entry unless it
// fired, and its recipient entry.
func (t boltTx) indexItem(it deadlines.Item, skpKey []byte) error {
	if err := t.tx.Bucket(bucketBySKP).Put(skpKey, indexEntry(it)); err != nil {
		return err
	}
	id := it.FireID()
	if t.tx.Bucket(bucketFired).Get([]byte(id)) == nil {
		if err := t.tx.Bucket(bucketDue).Put(dueKey(it.FireAt, it.Key), []byte(id)); err != nil {
			return err
		}
	}
	if it.Notice == 0 && it.Recipient != "" {
		return t.tx.Bucket(bucketByRecipient).Put(recipientKey(it.Recipient, it.Key), nil)
	}
	return nil
}

func recipientKey(nip, key string) []byte {
	k := make([]byte, 0, len(nip)+1+len(key))
	k = append(k, nip...)
	k = append(k, 0)
	return append(k, key...)
}

// Close closes the file and releases its lock.
func (b *Bolt) Close() error {
	err := b.db.Close()
	if b.lock != nil {
		b.lock.Close()
	}
	return err
}

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
		cp := []byte(strconv.FormatUint(uint64(pos), 10))
		if err := tx.Bucket(bucketMeta).Put(keyCP, cp); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyLayoutCP, cp)
	})
}

type boltTx struct{ tx *bolt.Tx }

// ReplaceItems implements deadlines.Store.
func (t boltTx) ReplaceItems(_ context.Context, skpID string, items []deadlines.Item) error {
	idx, all := t.tx.Bucket(bucketBySKP), t.tx.Bucket(bucketItems)
	prefix := append([]byte(skpID), 0)
	due, byRcpt := t.tx.Bucket(bucketDue), t.tx.Bucket(bucketByRecipient)
	type entry struct{ k, v []byte }
	var old []entry
	c := idx.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		old = append(old, entry{slices.Clone(k), slices.Clone(v)})
	}
	for _, e := range old {
		key := e.k[len(prefix):]
		if len(e.v) < 12 {
			// An earlier build's entry (no value): the item says what
			// its index entries are.
			v := all.Get(key)
			if v == nil {
				if err := idx.Delete(e.k); err != nil {
					return err
				}
				continue
			}
			var it deadlines.Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("deadlinestore: item %q: %w", key, err)
			}
			e.v = indexEntry(it)
		}
		if err := idx.Delete(e.k); err != nil {
			return err
		}
		if err := all.Delete(key); err != nil {
			return err
		}
		if err := due.Delete(append(slices.Clone(e.v[:12]), key...)); err != nil {
			return err
		}
		if len(e.v) > 12 {
			if err := byRcpt.Delete(recipientKey(string(e.v[12:]), string(key))); err != nil {
				return err
			}
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
		if err := t.indexItem(it, append(slices.Clone(prefix), it.Key...)); err != nil {
			return err
		}
	}
	return nil
}

// Reset implements deadlines.Backend: the items and the checkpoint go;
// what fired and the outbox stay.
func (b *Bolt) Reset(context.Context) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketItems, bucketBySKP, bucketDue, bucketByRecipient} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketBySKP).SetSequence(bySKPSeq); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Delete(keyLayoutCP); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyCP)
	})
}

// SettingsFingerprint implements deadlines.SettingsRecorder: "" in a
// file of an earlier build (or a new one).
func (b *Bolt) SettingsFingerprint(context.Context) (string, error) {
	var fp string
	err := b.db.View(func(tx *bolt.Tx) error {
		fp = string(tx.Bucket(bucketMeta).Get(keySettings))
		return nil
	})
	return fp, err
}

// SetSettingsFingerprint implements deadlines.SettingsRecorder.
func (b *Bolt) SetSettingsFingerprint(_ context.Context, fp string) error {
	return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySettings, []byte(fp)) })
}

var _ deadlines.SettingsRecorder = (*Bolt)(nil)

func (b *Bolt) scan(keep func(deadlines.Item, *bolt.Tx) bool) ([]deadlines.Item, error) {
	var out []deadlines.Item
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(_, v []byte) error {
			decodes.Add(1)
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

// Due implements deadlines.Backend. It reads the due index from its
// start to now, and decodes only the items due and not fired.
func (b *Bolt) Due(_ context.Context, now time.Time, limit int) ([]deadlines.Item, error) {
	var out []deadlines.Item
	err := b.db.View(func(tx *bolt.Tx) error {
		all, fired := tx.Bucket(bucketItems), tx.Bucket(bucketFired)
		c := tx.Bucket(bucketDue).Cursor()
		for k, id := c.First(); k != nil && len(out) < limit; k, id = c.Next() {
			if len(k) < 12 || dueTime(k).After(now) {
				break
			}
			if fired.Get(id) != nil {
				continue
			}
			v := all.Get(k[12:])
			if v == nil {
				return fmt.Errorf("deadlinestore: the due index names %q, which is not an item", k[12:])
			}
			decodes.Add(1)
			var it deadlines.Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("deadlinestore: item: %w", err)
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
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
		// What fired leaves the due index (ReplaceItems does not index it
		// again).
		due := tx.Bucket(bucketDue)
		if dk := dueKey(it.FireAt, it.Key); bytes.Equal(due.Get(dk), id) {
			if err := due.Delete(dk); err != nil {
				return err
			}
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

// ForRecipient implements deadlines.Backend: it reads the recipient
// index.
func (b *Bolt) ForRecipient(_ context.Context, nip string) ([]deadlines.Item, error) {
	if nip == "" {
		return nil, nil
	}
	var out []deadlines.Item
	err := b.db.View(func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketItems)
		prefix := recipientKey(nip, "")
		c := tx.Bucket(bucketByRecipient).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			v := all.Get(k[len(prefix):])
			if v == nil {
				return fmt.Errorf("deadlinestore: the recipient index names %q, which is not an item", k[len(prefix):])
			}
			decodes.Add(1)
			var it deadlines.Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("deadlinestore: item: %w", err)
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortByDue(out)
	return out, nil
}

// OfKinds implements deadlines.KindReader. It reads every item: its only
// caller is the improvement-plan report (issue 14), not a tick or a page
// of every request.
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
