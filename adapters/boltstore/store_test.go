package boltstore_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

func TestMain(m *testing.M) {
	storetest.CrashChildMain(open)
	os.Exit(m.Run())
}

func open(loc string, cfg storetest.Config) (eventstore.Store, error) {
	return boltstore.Open(loc, boltstore.Options{Limits: cfg.Limits, Signer: cfg.Signer, Keyring: cfg.Keyring})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Name: "bolt",
		NewLocation: func(tb testing.TB) string {
			return filepath.Join(tb.TempDir(), "kinerja.db")
		},
		Open:      open,
		Tamper:    tamper,
		Forge:     forge,
		Crash:     true,
		Exclusive: true,
	})
}

// tamper flips one byte of the event's data in the bbolt file, going around
// the store (as an attacker with file access would).
func tamper(tb testing.TB, loc, stream string, revision uint64) {
	tb.Helper()
	updateFile(tb, loc, func(tx *bolt.Tx) error {
		key := binary.BigEndian.AppendUint64(append([]byte(stream), 0), revision)
		v := tx.Bucket([]byte("streams")).Get(key)
		if v == nil {
			tb.Fatalf("tamper: no %s@%d", stream, revision)
		}
		pos := v[:8]
		rec := append([]byte(nil), tx.Bucket([]byte("events")).Get(pos)...)
		rec[len(rec)-2] ^= 0x01 // inside the data, which is stored last
		return tx.Bucket([]byte("events")).Put(pos, rec)
	})
}

// updateFile runs fn in a write transaction of the bbolt file at loc,
// opened directly, around the store.
func updateFile(tb testing.TB, loc string, fn func(tx *bolt.Tx) error) {
	tb.Helper()
	db, err := bolt.Open(loc, 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		tb.Fatal(err)
	}
}

// forge writes ev into the bbolt file at the next position, with its
// stream index and ID entries and the store's last position, going around
// the store as an attacker with file access would.
func forge(tb testing.TB, loc string, ev eventstore.Event) {
	tb.Helper()
	updateFile(tb, loc, func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		pos := binary.BigEndian.Uint64(meta.Get([]byte("last_position"))) + 1
		key := binary.BigEndian.AppendUint64(nil, pos)
		ev.Position = eventstore.Position(pos)
		return errors.Join(
			tx.Bucket([]byte("events")).Put(key, boltstore.EncodeEventForTest(&ev)),
			tx.Bucket([]byte("streams")).Put(binary.BigEndian.AppendUint64(append([]byte(ev.Stream), 0), ev.Revision), append(key, ev.Hash[:]...)),
			tx.Bucket([]byte("ids")).Put(ev.ID[:], key),
			meta.Put([]byte("last_position"), key),
		)
	})
}
