package boltstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

// filled returns the path of a closed store holding appends in several
// commits, and its head.
func filled(t *testing.T) (string, eventstore.Position) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kinerja.db")
	s, err := open(path, storetest.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := s.Append(context.Background(), "skp-1", eventstore.Any, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	head, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, head
}

func event(i int) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(),
		Actor: eventstore.Actor{ID: "196608011988031001"}, Data: fmt.Appendf(nil, `{"i":%d}`, i)}
}

// edit changes the file at path with fn.
func edit(t *testing.T, path string, fn func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pageSize of the files these tests make (bbolt takes the OS page size).
var pageSize = os.Getpagesize()

// usedBytes is how much of a bbolt file its pages use: the high-water mark
// (pgid) of the newer meta page. The file may be longer, since bbolt grows
// it ahead of use, and cutting only that tail damages nothing.
func usedBytes(b []byte) int {
	meta := func(i int) (txid, pgid uint64) {
		m := b[i*pageSize+16:] // after the page header
		return binary.LittleEndian.Uint64(m[48:56]), binary.LittleEndian.Uint64(m[40:48])
	}
	t0, p0 := meta(0)
	if t1, p1 := meta(1); t1 > t0 {
		p0 = p1
	}
	return int(p0) * pageSize
}

func TestDamagedFileIsRefusedWithAClearError(t *testing.T) {
	for _, c := range []struct {
		name     string
		damage   func(b []byte) []byte
		fallback bool // only one meta page is damaged
	}{
		{"byte flipped in meta page 0", func(b []byte) []byte { b[16+20] ^= 0x01; return b }, true},
		{"byte flipped in meta page 1", func(b []byte) []byte { b[pageSize+16+41] ^= 0x80; return b }, true},
		{"checksum of meta page 0 flipped", func(b []byte) []byte { b[16+60] ^= 0x01; return b }, true},
		{"both meta pages zeroed", func(b []byte) []byte { clear(b[:2*pageSize]); return b }, false},
		{"whole file zeroed", func(b []byte) []byte { clear(b); return b }, false},
		{"truncated to half of its pages", func(b []byte) []byte { return b[:usedBytes(b)/2] }, false},
		{"truncated inside the meta pages", func(b []byte) []byte { return b[:pageSize+100] }, false},
		{"truncated to nothing", func(b []byte) []byte { return b[:0] }, false},
		{"data pages zeroed", func(b []byte) []byte { clear(b[2*pageSize:]); return b }, false},
		{"data pages filled with garbage", func(b []byte) []byte {
			for i := 2 * pageSize; i < len(b); i++ {
				b[i] = byte(i * 7)
			}
			return b
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, _ := filled(t)
			edit(t, path, c.damage)
			s, err := open(path, storetest.DefaultConfig())
			if err == nil {
				// Some damage only shows when the pages are read.
				for _, rerr := range s.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
					if rerr != nil {
						err = rerr
						break
					}
				}
				s.Close()
			}
			var de *boltstore.DamageError
			if !errors.As(err, &de) || !errors.Is(err, boltstore.ErrDamaged) {
				t.Fatalf("Open of a damaged file = %v, want a *DamageError", err)
			}
			if de.MetaFallback != c.fallback {
				t.Errorf("MetaFallback = %v, want %v (%v)", de.MetaFallback, c.fallback, err)
			}
			t.Logf("%v", err)
		})
	}
}

// TestMetaFallbackDropsTheLastTransaction shows what the refusal prevents:
// opened anyway, a file whose newer meta page is damaged comes back one
// transaction older, without a word from bbolt.
func TestMetaFallbackDropsTheLastTransaction(t *testing.T) {
	path, head := filled(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The newer meta page has the higher transaction ID (at offset 16+48).
	txid := func(p int) uint64 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(b[p*pageSize+16+48+i])
		}
		return v
	}
	newer := 0
	if txid(1) > txid(0) {
		newer = 1
	}
	edit(t, path, func(b []byte) []byte { b[newer*pageSize+16+30] ^= 0x04; return b })
	if _, err := open(path, storetest.DefaultConfig()); !errors.Is(err, boltstore.ErrDamaged) {
		t.Fatalf("Open = %v, want ErrDamaged", err)
	}
	cfg := storetest.DefaultConfig()
	s, err := boltstore.Open(path, boltstore.Options{Signer: cfg.Signer, Keyring: cfg.Keyring, AllowMetaFallback: true})
	if err != nil {
		t.Fatalf("Open with AllowMetaFallback = %v", err)
	}
	defer s.Close()
	got, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != head-1 {
		t.Errorf("head after the fallback = %d, want %d (the last append dropped)", got, head-1)
	}
}

func TestUndamagedFileOpens(t *testing.T) {
	path, head := filled(t)
	for range 3 { // both meta pages take turns
		s, err := open(path, storetest.DefaultConfig())
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		if got, err := s.Head(context.Background()); err != nil || got != head {
			t.Fatalf("Head = %d, %v; want %d", got, err, head)
		}
		r, err := s.Append(context.Background(), "skp-1", eventstore.Any, event(99))
		if err != nil {
			t.Fatal(err)
		}
		head = r.Position
		s.Close()
	}
}
