package boltstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/internal/atomicfile"
	"github.com/kinerja-ledger/kinerja/adapters/internal/boltkv"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Idempotency keeps the first response to each keyed HTTP mutation (the
// Idempotency-Key of the API), so that a repeated request is answered from
// it after a restart. It implements the application layer's
// idempotency-store port (adapters/app.IdempotencyStore, and its
// IdempotencyClaimer and IdempotencyBatcher) without importing it: records
// are opaque bytes, in two buckets (idempotency_records,
// idempotency_expiry) laid out by adapters/internal/boltkv.
//
// The records live in one of two places:
//
//   - In the event store's own file (Store.Idempotency; kinerjad's). A
//     keyed command that appends claims its key with its events: Claim
//     puts the claim in the context, and Store.Append writes it in the
//     group commit's transaction that writes the append's events, after
//     them — both commit, or neither. The answer then completes the claim
//     (Complete) in a later group commit. Every write of the records goes
//     through the store's one committer, so it shares the appends'
//     transactions and fsyncs instead of paying its own.
//   - In a bbolt file of their own (OpenIdempotency): the idempotency.db of
//     data directories written by earlier builds, which
//     Idempotency.MigrateFrom copies into the store's file, and tests that
//     need no event store. There a record is written after the events, in
//     a transaction of its own (Claim never takes).
//
// Every write is durable (committed and fsynced) when it returns. It is
// safe for concurrent use; bbolt's file lock keeps a second process out.
type Idempotency struct {
	r     records
	store *Store // the event store, when the records are in its file
}

// records is one of the two places the records live: fileRecords (a file
// of their own) or storeRecords (the event store's file). Idempotency
// checks the arguments; each place writes as its file allows.
type records interface {
	get(ctx context.Context, key string, now time.Time) ([]byte, bool, error)
	put(ctx context.Context, key string, record []byte, now, expires time.Time) error
	putMany(ctx context.Context, now time.Time, keys []string, records [][]byte, expires []time.Time) error
	// complete runs op, which completes a claim, in a transaction.
	complete(ctx context.Context, op func(tx *bolt.Tx) error) error
	deleteExpired(ctx context.Context, now time.Time) (int, error)
	snapshot(w io.Writer) (int64, error)
	close() error
}

// OpenIdempotency opens (creating if needed) the idempotency records in a
// bbolt file of their own at path (mode 0600; its directory is created with
// mode 0700). Expired records stay until DeleteExpired, which the caller
// runs with its own clock.
func OpenIdempotency(path string) (*Idempotency, error) {
	kv, err := boltkv.Open(path, "idempotency", "boltstore: idempotency")
	if err != nil {
		return nil, err
	}
	return &Idempotency{r: fileRecords{kv}}, nil
}

// Idempotency returns the idempotency records kept in the store's own
// file. Closing it does nothing: the store owns the file.
func (s *Store) Idempotency() *Idempotency { return &Idempotency{r: storeRecords{s}, store: s} }

// Close closes the file of its own; for records in the store's file it
// does nothing.
func (i *Idempotency) Close() error { return i.r.close() }

// InStore reports whether the records are in the event store's file (and
// so are copied with it).
func (i *Idempotency) InStore() bool { return i.store != nil }

func idemErr(op string, err error) error {
	if err == nil || errors.Is(err, eventstore.ErrClosed) {
		return err
	}
	return fmt.Errorf("boltstore: idempotency: %s: %w", op, err)
}

// Get returns the record stored under key, or ok=false when there is none
// or it expired at or before now.
func (i *Idempotency) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return i.r.get(ctx, key, now)
}

// Put stores record under key until expires. When an unexpired record is
// already stored under key, Put keeps it (the first response wins) and
// returns nil. The record is durable when Put returns.
func (i *Idempotency) Put(ctx context.Context, key string, record []byte, now, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := boltkv.Check(key, record); err != nil {
		return idemErr("put", err)
	}
	return i.r.put(ctx, key, record, now, expires)
}

// PutMany stores records[i] under keys[i] until expires[i], each as Put
// does (an unexpired record already stored under a key is kept), in one
// transaction: the records are durable together when PutMany returns. It
// implements the application layer's IdempotencyBatcher, through which the
// answers of keyed commands written in the background share one fsync.
func (i *Idempotency) PutMany(ctx context.Context, now time.Time, keys []string, records [][]byte, expires []time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := boltkv.CheckMany(keys, records, expires); err != nil {
		return idemErr("put", err)
	}
	return i.r.putMany(ctx, now, keys, records, expires)
}

// claimKey carries a *claim in a context.
type claimKey struct{}

// claim is an idempotency record to write with the events of the appends
// made under a context (Idempotency.Claim).
type claim struct {
	store        *Store
	key          string
	record       []byte
	now, expires time.Time
	committed    atomic.Bool
}

// claimFrom returns the claim ctx carries for this store, or nil.
func (s *Store) claimFrom(ctx context.Context) *claim {
	c, _ := ctx.Value(claimKey{}).(*claim)
	if c == nil || c.store != s {
		return nil
	}
	return c
}

// Claim returns ctx carrying the claim: every append to the store made
// under the returned context writes claim under key (as Put: an unexpired
// record already stored is kept) in the transaction that writes its
// events, after them, and only when it wrote events (not for a refused
// append, nor for a repeat of appended event IDs). claimed reports whether
// the claim took (it wrote the record) in a transaction that committed.
// For records in a file of their own it returns ctx, and claimed is always
// false.
func (i *Idempotency) Claim(ctx context.Context, key string, record []byte, now, expires time.Time) (context.Context, func() (claimed bool)) {
	if i.store == nil || key == "" {
		return ctx, func() bool { return false }
	}
	c := &claim{store: i.store, key: key, record: record, now: now, expires: expires}
	return context.WithValue(ctx, claimKey{}, c), c.committed.Load
}

// Complete replaces the record stored under key with record only when it
// is still claim, the bytes this request claimed with (and unexpired at
// now); otherwise it changes nothing and reports completed=false. It is
// durable when it returns; in the store's file it rides the next group
// commit.
func (i *Idempotency) Complete(ctx context.Context, key string, claim, record []byte, now, expires time.Time) (completed bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := boltkv.Check(key, record); err != nil {
		return false, idemErr("complete", err)
	}
	err = i.r.complete(ctx, func(tx *bolt.Tx) error {
		var err error
		completed, err = idemBuckets.Replace(tx, []byte(key), claim, record, now, expires)
		return err
	})
	if err != nil {
		return false, idemErr("complete", err)
	}
	return completed, nil
}

// sweepChunk bounds the expired records one transaction of the store
// removes. The appends share that transaction: each removed record dirties
// up to two leaf pages (record and expiry entry), so 1,000 made a shared
// commit write up to ~1,000 pages (~4 MB); 128 keeps it near what a batch
// of appends writes itself.
const sweepChunk = 128

// DeleteExpired removes every record that expired at or before now and
// returns how many it removed. In the store's file it removes them in
// transactions of at most sweepChunk records, each a group commit.
func (i *Idempotency) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return i.r.deleteExpired(ctx, now)
}

// Snapshot writes a consistent copy of the file of its own to w (an online
// backup) and returns its size. Records in the store's file are copied
// with the store (Store.Snapshot); Snapshot refuses.
func (i *Idempotency) Snapshot(w io.Writer) (int64, error) { return i.r.snapshot(w) }

// fileRecords are the records in a bbolt file of their own.
type fileRecords struct{ kv *boltkv.Store }

func (f fileRecords) get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	return f.kv.Get(ctx, key, now)
}

func (f fileRecords) put(ctx context.Context, key string, record []byte, now, expires time.Time) error {
	return f.kv.Put(ctx, key, record, now, expires, true)
}

func (f fileRecords) putMany(ctx context.Context, now time.Time, keys []string, records [][]byte, expires []time.Time) error {
	return f.kv.PutMany(ctx, now, keys, records, expires)
}

func (f fileRecords) complete(_ context.Context, op func(tx *bolt.Tx) error) error {
	return f.kv.DB().Update(op)
}

func (f fileRecords) deleteExpired(ctx context.Context, now time.Time) (int, error) {
	return f.kv.DeleteExpired(ctx, now)
}

func (f fileRecords) snapshot(w io.Writer) (int64, error) { return f.kv.Snapshot(w) }

func (f fileRecords) close() error { return f.kv.Close() }

// storeRecords are the records in the event store's file. Every write is
// a request to the store's committer (appendReq.op), sharing the appends'
// group commits.
type storeRecords struct{ s *Store }

func (r storeRecords) get(_ context.Context, key string, now time.Time) ([]byte, bool, error) {
	var out []byte
	err := r.s.view(func(tx *bolt.Tx) error {
		out = idemBuckets.Get(tx, []byte(key), now)
		return nil
	})
	if err != nil {
		return nil, false, idemErr("get", err)
	}
	return out, out != nil, nil
}

// write runs op in the next group commit of the store (durable when it
// returns).
func (r storeRecords) write(ctx context.Context, op func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &appendReq{ctx: ctx, op: op, done: make(chan struct{})}
	if err := r.s.enqueue(req); err != nil {
		return err
	}
	return req.err
}

func (r storeRecords) put(ctx context.Context, key string, record []byte, now, expires time.Time) error {
	return idemErr("put", r.write(ctx, func(tx *bolt.Tx) error {
		_, err := idemBuckets.Put(tx, []byte(key), record, now, expires, true)
		return err
	}))
}

func (r storeRecords) putMany(ctx context.Context, now time.Time, keys []string, records [][]byte, expires []time.Time) error {
	return idemErr("put", r.write(ctx, func(tx *bolt.Tx) error {
		for n, key := range keys {
			if _, err := idemBuckets.Put(tx, []byte(key), records[n], now, expires[n], true); err != nil {
				return err
			}
		}
		return nil
	}))
}

func (r storeRecords) complete(ctx context.Context, op func(tx *bolt.Tx) error) error {
	return r.write(ctx, op)
}

func (r storeRecords) deleteExpired(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		var n int
		var more bool
		err := r.write(ctx, func(tx *bolt.Tx) error {
			var err error
			n, more, err = idemBuckets.DeleteExpired(tx, now, sweepChunk)
			return err
		})
		if err != nil {
			return total, idemErr("delete expired", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

func (storeRecords) snapshot(io.Writer) (int64, error) {
	return 0, errors.New("boltstore: idempotency: the records are in the event store's file: copy the store")
}

func (storeRecords) close() error { return nil }

// migrateChunk is how many records one transaction of a migration copies.
const migrateChunk = 1000

// MigratedSuffix is appended to the name of an idempotency file of its own
// once MigrateFrom copied its records into the store's file.
const MigratedSuffix = ".migrated"

// MigrateFrom copies the records unexpired at now from the idempotency
// file of its own at path (the idempotency.db of a data directory written
// by an earlier build) into the store's file, then renames that file to
// path+MigratedSuffix (path+MigratedSuffix+".2", ".3", … when an earlier
// migration's copy is there: a downgrade then an upgrade migrates again,
// and each copy is kept for the operator), so that it is copied once. The
// first record wins: a record already stored under a key in the store's
// file is kept, even when the file at path holds a newer one for that key
// (written by a downgraded build after the earlier migration). It does nothing, and returns 0, when there is no file at path. A
// crash before the rename leaves the file, and the next start copies it
// again (harmlessly: the records copied before are kept). Run it before
// the records are used.
func (i *Idempotency) MigrateFrom(ctx context.Context, path string, now time.Time) (int, error) {
	if i.store == nil {
		return 0, errors.New("boltstore: idempotency: MigrateFrom needs the records in the store's file")
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("boltstore: idempotency: migrate %s: %w", path, err)
	}
	old, err := boltkv.Open(path, "idempotency", "boltstore: idempotency: migrate")
	if err != nil {
		return 0, err
	}
	n := 0
	var keys []string
	var recs [][]byte
	var exps []time.Time
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		if err := i.PutMany(ctx, now, keys, recs, exps); err != nil {
			return err
		}
		n += len(keys)
		keys, recs, exps = keys[:0], recs[:0], exps[:0]
		return nil
	}
	b := old.Buckets()
	err = old.DB().View(func(tx *bolt.Tx) error {
		err := b.ForEach(tx, now, func(k, rec []byte, exp time.Time) error {
			keys, recs, exps = append(keys, string(k)), append(recs, append([]byte(nil), rec...)), append(exps, exp)
			if len(keys) == migrateChunk {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	})
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("boltstore: idempotency: migrate %s: %w", path, err)
	}
	if err := os.Rename(path, migratedName(path)); err != nil {
		return n, fmt.Errorf("boltstore: idempotency: migrate %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return n, fmt.Errorf("boltstore: idempotency: migrate %s: %w", path, err)
	}
	return n, nil
}

// migratedName returns the first of path+MigratedSuffix,
// path+MigratedSuffix+".2", ".3", … that does not exist, so that the rename
// never replaces an earlier migration's copy. The store's file lock keeps
// a second migration of the same directory out meanwhile.
func migratedName(path string) string {
	name := path + MigratedSuffix
	for n := 2; ; n++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s%s.%d", path, MigratedSuffix, n)
	}
}
