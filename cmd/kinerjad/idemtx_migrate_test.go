package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backup"
)

// TestIdempotencyFileOfAnEarlierBuild: a data directory written by a build
// that kept the idempotency records in idempotency.db (and none in the
// store's file) keeps answering its stored keys: the first start copies
// the records into the store's file, renames the old file and logs it; the
// repeat is replayed, the key with another body refused.
func TestIdempotencyFileOfAnEarlierBuild(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	body := httpapi.CreateUnitBody{ID: "PEMKOT", Name: "Pemerintah Kota"}
	first := s.call("hr-admin", hrAdmin, "POST", "/v1/units", body, "Idempotency-Key", "unit-PEMKOT")
	if first.status != 201 {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if n := moveRecordsToOldFile(t, data); n == 0 {
		t.Fatal("no idempotency record in the store's file to move")
	}

	s = startServer(t, data)
	again := s.call("hr-admin", hrAdmin, "POST", "/v1/units", body, "Idempotency-Key", "unit-PEMKOT")
	if again.status != 201 || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotency-Replayed") != "true" {
		t.Errorf("repeat over a migrated idempotency.db: %d %s (replayed %q), want the first answer replayed", again.status, again.body, again.header.Get("Idempotency-Replayed"))
	}
	other := body
	other.Name = "Pemerintah Kota Lain"
	if a := s.call("hr-admin", hrAdmin, "POST", "/v1/units", other, "Idempotency-Key", "unit-PEMKOT"); a.status != 422 {
		t.Errorf("the key with another body over a migrated idempotency.db: %d %s, want 422", a.status, a.body)
	}
	old := filepath.Join(data, backup.IdempotencyFile)
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("idempotency.db is still in place after the migration: %v", err)
	}
	if _, err := os.Stat(old + boltstore.MigratedSuffix); err != nil {
		t.Errorf("idempotency.db was not kept as %s: %v", backup.IdempotencyFile+boltstore.MigratedSuffix, err)
	}
	if !s.logged("idempotency_records_migrated") {
		t.Error("the migration was not logged")
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	// The next start has nothing to migrate and still answers.
	s = startServer(t, data)
	if a := s.call("hr-admin", hrAdmin, "POST", "/v1/units", body, "Idempotency-Key", "unit-PEMKOT"); a.status != 201 || a.header.Get("Idempotency-Replayed") != "true" {
		t.Errorf("repeat after a second restart: %d (replayed %q)", a.status, a.header.Get("Idempotency-Replayed"))
	}
}

// logged reports whether kinerjad logged a line with msg.
func (s *server) logged(msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.logs {
		if strings.Contains(l, `"msg":"`+msg+`"`) {
			return true
		}
	}
	return false
}

// moveRecordsToOldFile makes data look as an earlier build left it: the
// idempotency records out of the store's file, into idempotency.db.
func moveRecordsToOldFile(t *testing.T, data string) int {
	t.Helper()
	type rec struct {
		key, record []byte
		expires     time.Time
	}
	var recs []rec
	db, err := bolt.Open(filepath.Join(data, backup.StoreFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("idempotency_records"))
		if err := b.ForEach(func(k, v []byte) error {
			recs = append(recs, rec{bytes.Clone(k), bytes.Clone(v[8:]), time.UnixMicro(int64(binary.BigEndian.Uint64(v)))})
			return nil
		}); err != nil {
			return err
		}
		for _, name := range []string{"idempotency_records", "idempotency_expiry"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	old, err := boltstore.OpenIdempotency(filepath.Join(data, backup.IdempotencyFile))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for _, r := range recs {
		if err := old.Put(context.Background(), string(r.key), r.record, time.Now(), r.expires); err != nil {
			t.Fatal(err)
		}
	}
	return len(recs)
}
