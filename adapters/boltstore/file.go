package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// ErrDamaged is matched (errors.Is) by a *DamageError.
var ErrDamaged = errors.New("boltstore: data file damaged")

// DamageError says why Open refused a data file: a meta page that fails
// its checksum, a file shorter than its meta page says, an empty or zeroed
// file, or a page bbolt could not read.
type DamageError struct {
	Path    string
	Problem string
	// MetaFallback is true when only one meta page is bad: bbolt would open
	// the file at the other, older one (see Options.AllowMetaFallback).
	MetaFallback bool
}

func (e *DamageError) Error() string { return fmt.Sprintf("boltstore: %s: %s", e.Path, e.Problem) }

// Is reports whether target is ErrDamaged.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// The on-disk layout of a bbolt meta page (go.etcd.io/bbolt
// internal/common: Page and Meta, written in the machine's byte order,
// little-endian on every platform this service is built for): a 16-byte
// page header, then magic, version, page size, flags (4 bytes each), the
// root bucket (page ID and sequence), the freelist page ID, the page count
// (the file's high-water mark), the transaction ID and an FNV-64a checksum
// of everything before it (8 bytes each).
const (
	metaOffset    = 16
	metaMagic     = 0xED0CDAED
	metaVersion   = 2
	metaSumLen    = 56 // bytes of the meta covered by its checksum
	metaLen       = 64
	minPageSize   = 1024
	maxPageShifts = 14 // bbolt looks for the second meta page up to 16 MiB
)

// meta is what the check reads of a meta page.
type meta struct {
	valid    bool
	problem  string
	pageSize uint32
	pages    uint64 // high-water mark: the file holds at least this many pages
	txid     uint64
}

func parseMeta(page []byte) meta {
	if len(page) < metaOffset+metaLen {
		return meta{problem: "cut short"}
	}
	b := page[metaOffset : metaOffset+metaLen]
	le := binary.LittleEndian
	m := meta{pageSize: le.Uint32(b[8:12]), pages: le.Uint64(b[40:48]), txid: le.Uint64(b[48:56])}
	h := fnv.New64a()
	h.Write(b[:metaSumLen])
	switch {
	case le.Uint32(b[0:4]) != metaMagic:
		m.problem = "no bbolt magic number (zeroed or overwritten)"
	case le.Uint32(b[4:8]) != metaVersion:
		m.problem = fmt.Sprintf("format version %d, not %d", le.Uint32(b[4:8]), metaVersion)
	case le.Uint64(b[56:64]) != h.Sum64():
		m.problem = "checksum mismatch"
	default:
		m.valid = true
	}
	return m
}

// checkFile looks at an existing data file before bbolt opens it, because
// bbolt is lenient where a ledger must not be:
//
//   - Of its two meta pages, bbolt uses the one with the higher
//     transaction ID that passes its checksum, and silently falls back to
//     the other (one transaction older) when it does not. After a torn
//     write at a power loss that is right (the transaction being written
//     was never acknowledged); after a flipped byte or an edit it drops
//     the last committed transaction without a word. The two cannot be
//     told apart from the file, so a bad meta page is refused unless
//     allowFallback (an operator's decision, which kinerjad records as an
//     audited event after comparing the store with the witness).
//   - A file shorter than its meta page's high-water mark is mapped beyond
//     its end, and bbolt then dies of SIGBUS, which no recover catches.
//   - An empty file would be initialised as a new, empty database.
//
// A missing file is fine (Open creates it).
func checkFile(path string, allowFallback bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	size := fi.Size()
	damaged := func(format string, args ...any) error {
		return &DamageError{Path: path, Problem: fmt.Sprintf(format, args...)}
	}
	if size == 0 {
		return damaged("the file exists but is empty (truncated?); move it away to start a new store, or restore it from a backup")
	}
	read := func(off int64) []byte {
		buf := make([]byte, metaOffset+metaLen)
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil
		}
		return buf[:n]
	}
	m0 := parseMeta(read(0))
	pageSize := int64(m0.pageSize)
	var m1 meta
	if m0.valid {
		m1 = parseMeta(read(pageSize))
	} else {
		// Without meta page 0 the page size is unknown: look for meta page 1
		// where bbolt would.
		m1 = meta{problem: "not found"}
		for i := range maxPageShifts + 1 {
			off := int64(minPageSize) << i
			if off >= size {
				break
			}
			if m := parseMeta(read(off)); m.valid && int64(m.pageSize) == off {
				m1, pageSize = m, off
				break
			}
		}
	}
	switch {
	case !m0.valid && !m1.valid:
		return damaged("neither meta page is valid (page 0: %s; page 1: %s): the file is zeroed, truncated or not a bbolt file; restore it from a backup", m0.problem, m1.problem)
	case !m0.valid || !m1.valid:
		bad, good, badMeta := 0, m1, m0
		if !m1.valid {
			bad, good, badMeta = 1, m0, m1
		}
		if !allowFallback {
			return &DamageError{Path: path, MetaFallback: true, Problem: fmt.Sprintf(
				"meta page %d is damaged (%s). bbolt would silently open the file at meta page %d (transaction %d), dropping any transaction committed after it: acknowledged events would be lost without a trace. "+
					"This follows a torn write at a power loss (nothing acknowledged is lost then) or a change to the file. Compare the store with the witness before accepting the older state (kinerjad --accept-rollback)",
				bad, badMeta.problem, 1-bad, good.txid)}
		}
	}
	newest := m0
	if !m0.valid || (m1.valid && m1.txid > m0.txid) {
		newest = m1
	}
	if want := int64(newest.pages) * int64(newest.pageSize); newest.pageSize < minPageSize || size < want {
		return damaged("the file has %d bytes, but its meta page (transaction %d) says it holds %d pages of %d bytes (%d bytes): it was truncated; restore it from a backup",
			size, newest.txid, newest.pages, newest.pageSize, want)
	}
	return nil
}
