package memreadmodel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/atomicfile"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// Snapshots: the state of every read model, written to a file at a
// checkpoint, so that a start-up loads it and projects only the events
// after it instead of rebuilding from the whole log.
//
// # File format (version 3)
//
//	magic "KJRMSNAP" (8 bytes) | version (uint32 BE) | body length (uint64 BE)
//	  | schema length (uint32 BE) | schema (ASCII, at most maxSchemaLen bytes)
//	body: section table | sections
//	  section table: count (uint32 BE) | count × (length (uint64 BE) | SHA-256 (32))
//	  sections: one per Sink in Model.Sinks order, each its own gob stream
//	trailer: SHA-256 of the section table (32) | key ID (uint32 BE) | Ed25519 signature (64)
//
// The schema names the version of every projection the body holds and of
// the policy they were folded with (Model.schema: "audit=2 directory=1 …
// policy=…"); a snapshot whose schema is not exactly this build's is
// refused as ErrSnapshotFormat, so that a change of a fold, of an upcaster
// a projection reads through, or of a table's layout (each bumps that
// projection's entry in projectionVersions) rebuilds instead of serving
// state the new code would not have made. The signature is the audit
// key's merkle.Signer.SignMessage, context SnapshotContext, over the
// header (schema included) followed by the section table's digest; the
// table holds each section's length and digest, so the signature covers
// every byte of the body. Loading checks the table's digest and the
// signature before it reads any section, then reads the sections
// concurrently (version 3: version 2 was one gob stream, which only one
// core could decode): each section is hashed and compared with its
// digest in the table before any of it is decoded, and must be decoded
// exactly to its end. A section whose bytes, length or place differ from
// what the table says, or a table whose count is not the number of Sinks,
// is refused.
// Each section is a snapSection (name, checkpoint, dead letters) followed by
// the tables' own values (see the save and load methods of each table
// type). The audit section carries the trail's entries without their leaf
// hashes: loading recomputes every leaf (on every core) and the tree, and
// the root must equal the one sealed in the section; the tree is never
// read from the file.
//
// # Trust
//
// A snapshot is refused (and the read models rebuild from the log) when it
// is of another version, truncated or corrupt, not signed by a trusted
// audit key, when its recomputed audit root differs from the sealed one, or
// when it does not match the ledger: its last audit entry must be the
// store's event at that stream revision and position (same hash), every
// checkpoint must be at or below the store's head, a checkpoint signed by
// a trusted audit key must be in the ledger (a non-empty trail no
// checkpoint anchors is refused), and the newest such checkpoint at or
// below the snapshot's size must have the snapshot tree's root at its
// size, and each agency log the root that checkpoint lists for it.
// CheckHistory then authenticates the store's events below the snapshot:
// the audit key is on the same disk as the snapshot, so only a witnessed
// checkpoint stands in for writer signatures; every event past it is
// checked with its writer's signature. The start-up then compares the
// trail with the witnessed checkpoint as after any rebuild (wiring.Guard).

// SnapshotVersion is the version of the file format this package writes
// and reads; a file of any other version is refused (ErrSnapshotFormat).
const SnapshotVersion = 3

// projectionVersions is the version of each projection's state as a
// snapshot holds it. Bump a projection's entry whenever what it holds for
// the same events changes: its fold (projections/<name>), an upcaster or
// domain replay it reads through, its tables or their save and load. A
// snapshot of other versions is refused (ErrSnapshotFormat) and the read
// models rebuild from the log.
var projectionVersions = map[string]int{
	audit.Name:     2, // 2: the agency logs (issue 15)
	directory.Name: 1, skps.Name: 1, evaluations.Name: 1, scores.Name: 1, objections.Name: 1, timeline.Name: 1,
}

// maxSchemaLen bounds the header's schema.
const maxSchemaLen = 4096

// schema is the snapshot header's schema of m (see the file format).
func (m *Model) schema() string {
	var b strings.Builder
	for _, s := range m.Sinks() {
		fmt.Fprintf(&b, "%s=%d ", s.Name(), projectionVersions[s.Name()])
	}
	b.WriteString("policy=" + m.policyVersion)
	return b.String()
}

// SnapshotContext is the signing context of snapshot signatures.
const SnapshotContext = "kinerja/readmodel-snapshot/v1"

// SnapshotFile is the snapshot's file name in the data directory.
const SnapshotFile = "readmodels.snapshot"

const snapMagic = "KJRMSNAP"

// fixedHeaderLen is the header before the schema: magic, version, body
// length, schema length.
const fixedHeaderLen = 8 + 4 + 8 + 4

// trailerLen is the digest, the key ID and the signature.
const trailerLen = 32 + 4 + 64

// Reasons a snapshot is refused (SnapshotError.Reason).
var (
	// ErrNoSnapshot: there is no snapshot file.
	ErrNoSnapshot = errors.New("memreadmodel: no snapshot")
	// ErrSnapshotFormat: the file is of another format version.
	ErrSnapshotFormat = errors.New("snapshot of another format version")
	// ErrSnapshotCorrupt: the file is truncated or does not decode.
	ErrSnapshotCorrupt = errors.New("snapshot truncated or corrupt")
	// ErrSnapshotSignature: its digest or signature does not check out.
	ErrSnapshotSignature = errors.New("snapshot digest or signature does not verify")
	// ErrSnapshotLedger: it does not match the ledger.
	ErrSnapshotLedger = errors.New("snapshot does not match the ledger")
)

// SnapshotError is a refused snapshot: Reason is one of the ErrSnapshot*
// errors (errors.Is works on both).
type SnapshotError struct {
	Reason error
	Err    error
}

func (e *SnapshotError) Error() string {
	if e.Err == nil {
		return "memreadmodel: " + e.Reason.Error()
	}
	return fmt.Sprintf("memreadmodel: %v: %v", e.Reason, e.Err)
}

// Unwrap returns the reason and the cause.
func (e *SnapshotError) Unwrap() []error { return []error{e.Reason, e.Err} }

func refuse(reason error, format string, args ...any) error {
	return &SnapshotError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// SnapshotInfo describes a written or loaded snapshot.
type SnapshotInfo struct {
	// Checkpoints is each Sink's checkpoint in the snapshot.
	Checkpoints map[string]eventstore.Position
	// AuditSize and AuditRoot are the trail's size and root.
	AuditSize uint64
	AuditRoot merkle.Hash
	// Bytes is the file's size.
	Bytes int64
	// Elapsed is the time the write or load took.
	Elapsed time.Duration
}

// Min returns the lowest checkpoint (where a catch-up resumes).
func (i SnapshotInfo) Min() eventstore.Position {
	first, low := true, eventstore.Position(0)
	for _, p := range i.Checkpoints {
		if first || p < low {
			first, low = false, p
		}
	}
	return low
}

// snapSection opens each Sink's section.
type snapSection struct {
	Name       string
	Checkpoint uint64
	Dead       []projections.DeadLetterRecord
}

// snapTables is what a table type adds to the snapshot: save writes its
// values (the Sink's writer is held: nothing changes them), load reads
// them into empty tables (nothing reads them yet).
type snapTables interface {
	save(enc *gob.Encoder) error
	load(dec *gob.Decoder, bodyLen uint64) error
}

// snapSink is a Sink's part in a snapshot.
type snapSink interface {
	saveSection(ctx context.Context, enc *gob.Encoder, seen eventstore.Position, store eventstore.Store) (eventstore.Position, error)
	loadSection(dec *gob.Decoder, bodyLen uint64) (eventstore.Position, error)
}

// saveSection writes the Sink's section. A Sink's checkpoint is the last
// event its filter selected, which may lie far behind the feed; when store
// holds no event the filter selects between it and seen (the audit
// projection's checkpoint: it selects every event), the Sink has nothing
// to apply up to seen, and the section says seen, so that a start-up
// resumes there rather than re-reading events this Sink would skip.
func (s *Sink[T]) saveSection(ctx context.Context, enc *gob.Encoder, seen eventstore.Position, store eventstore.Store) (eventstore.Position, error) {
	st, ok := s.tables.(snapTables)
	if !ok {
		return 0, fmt.Errorf("memreadmodel: %s cannot be snapshot", s.name)
	}
	s.wmu.Lock() // the writer waits; readers go on
	defer s.wmu.Unlock()
	cp := s.checkpoint
	if store != nil && cp < seen {
		next := eventstore.Position(0)
		for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Filter: s.filter, Limit: 1}) {
			if err != nil {
				return 0, err
			}
			next = ev.Position
		}
		if next == 0 || next > seen {
			cp = seen
		}
	}
	sec := snapSection{Name: s.name, Checkpoint: uint64(cp), Dead: s.dead}
	if err := enc.Encode(&sec); err != nil {
		return 0, err
	}
	return cp, st.save(enc)
}

func (s *Sink[T]) loadSection(dec *gob.Decoder, bodyLen uint64) (eventstore.Position, error) {
	st, ok := s.tables.(snapTables)
	if !ok {
		return 0, fmt.Errorf("memreadmodel: %s cannot be snapshot", s.name)
	}
	var sec snapSection
	if err := dec.Decode(&sec); err != nil {
		return 0, err
	}
	if sec.Name != s.name {
		return 0, fmt.Errorf("section %q where %q was expected", sec.Name, s.name)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.checkpoint != 0 {
		return 0, fmt.Errorf("%s already holds events: a snapshot loads into empty read models only", s.name)
	}
	s.lock.Lock()
	defer s.lock.Unlock()
	if err := st.load(dec, bodyLen); err != nil {
		return 0, err
	}
	s.checkpoint, s.dead = eventstore.Position(sec.Checkpoint), sec.Dead
	return s.checkpoint, nil
}

func (m *Model) snapSinks() []snapSink {
	return []snapSink{m.audit, m.directory, m.skps, m.evaluations, m.scores, m.objections, m.timeline}
}

// tempInfix follows the snapshot's name in the name of WriteSnapshot's
// temporary file (then CreateTemp's random digits).
const tempInfix = ".tmp-"

// RemoveStaleTemps removes the temporary files WriteSnapshot left next to
// path when its process was killed mid-write (a province's is ≈ 0.9 GB,
// and nothing else would ever remove it). Call it only where no write to
// path can be running: kinerjad does at start, holding the data
// directory's lock. It returns the names removed; an error is the first
// that stopped one being removed (the others are still tried).
func RemoveStaleTemps(path string) ([]string, error) {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+tempInfix
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var removed []string
	var first error
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil {
			if first == nil && !errors.Is(err, fs.ErrNotExist) {
				first = err
			}
			continue
		}
		removed = append(removed, name)
	}
	return removed, first
}

// WriteSnapshot writes every read model's state to path atomically (a
// temporary file in the same directory, fsynced, renamed over path, the
// directory fsynced), sealed with key. Each Sink is held still only while
// its own section is encoded: readers go on, and the projections go on
// with the other Sinks. It may run while the projector applies events.
//
// store, when not nil, is the ledger the read models are projected from:
// it lets a Sink whose filter selected none of the latest events be saved
// at the audit projection's position (see saveSection).
func (m *Model) WriteSnapshot(ctx context.Context, path string, key *merkle.Signer, store eventstore.Store) (SnapshotInfo, error) {
	begin := time.Now()
	if key == nil {
		return SnapshotInfo{}, errors.New("memreadmodel: a snapshot needs the audit key to seal it")
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return SnapshotInfo{}, err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	schema := m.schema()
	if len(schema) > maxSchemaLen {
		return SnapshotInfo{}, fmt.Errorf("memreadmodel: a schema of %d bytes", len(schema))
	}
	header := make([]byte, fixedHeaderLen, fixedHeaderLen+len(schema))
	copy(header, snapMagic)
	binary.BigEndian.PutUint32(header[8:], SnapshotVersion)
	binary.BigEndian.PutUint32(header[20:], uint32(len(schema)))
	header = append(header, schema...)
	if _, err := f.Write(header); err != nil { // the length is written last
		return SnapshotInfo{}, err
	}
	// The section table is written last, over its place: each section's
	// length and digest are known once it is written.
	sinks := m.snapSinks()
	tlen := sectionTableLen(len(sinks))
	if _, err := f.Write(make([]byte, tlen)); err != nil {
		return SnapshotInfo{}, err
	}
	frames := make([]sectionFrame, len(sinks))
	info := SnapshotInfo{Checkpoints: map[string]eventstore.Position{}}
	seen := eventstore.Position(0)
	bodyLen := uint64(tlen)
	for i, s := range sinks {
		if err := ctx.Err(); err != nil {
			return SnapshotInfo{}, err
		}
		digest, counter := sha256.New(), &countWriter{}
		bw := bufio.NewWriterSize(io.MultiWriter(f, digest, counter), 1<<20)
		cp, err := s.saveSection(ctx, gob.NewEncoder(bw), seen, store)
		if i == 0 {
			seen = cp // the audit projection's: it selects every event
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return SnapshotInfo{}, fmt.Errorf("memreadmodel: snapshot %s: %w", m.Sinks()[i].Name(), err)
		}
		frames[i].length = uint64(counter.n)
		copy(frames[i].digest[:], digest.Sum(nil))
		bodyLen += frames[i].length
		info.Checkpoints[m.Sinks()[i].Name()] = cp
	}
	table := encodeSectionTable(frames)
	binary.BigEndian.PutUint64(header[12:], bodyLen)
	trailer, err := seal(header, sha256.Sum256(table), key)
	if err != nil {
		return SnapshotInfo{}, err
	}
	if _, err := f.Write(trailer); err != nil {
		return SnapshotInfo{}, err
	}
	if _, err := f.WriteAt(table, int64(len(header))); err != nil {
		return SnapshotInfo{}, err
	}
	if _, err := f.WriteAt(header[12:20], 12); err != nil {
		return SnapshotInfo{}, err
	}
	if err := f.Sync(); err != nil {
		return SnapshotInfo{}, err
	}
	if err := f.Close(); err != nil {
		return SnapshotInfo{}, err
	}
	f = nil
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return SnapshotInfo{}, err
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return SnapshotInfo{}, err
	}
	m.audit.wmu.Lock()
	info.AuditSize, info.AuditRoot = m.audit.tables.(*auditTables).sealed.Size, m.audit.tables.(*auditTables).sealed.Root
	m.audit.wmu.Unlock()
	info.Bytes = int64(len(header)) + int64(bodyLen) + int64(len(trailer))
	info.Elapsed = time.Since(begin)
	return info, nil
}

// seal returns the trailer: the section table's digest, the key ID and
// the signature over header ‖ digest.
func seal(header []byte, sum [sha256.Size]byte, key *merkle.Signer) ([]byte, error) {
	sig, err := key.SignMessage(SnapshotContext, append(append([]byte(nil), header...), sum[:]...))
	if err != nil {
		return nil, err
	}
	out := append(sum[:], binary.BigEndian.AppendUint32(nil, key.Verifier().KeyIDNumber())...)
	return append(out, sig...), nil
}

// sectionFrame is a section's entry in the section table.
type sectionFrame struct {
	length uint64
	digest [sha256.Size]byte
}

// sectionFrameLen is a frame in the table: length and digest.
const sectionFrameLen = 8 + sha256.Size

func sectionTableLen(n int) int { return 4 + n*sectionFrameLen }

func encodeSectionTable(frames []sectionFrame) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, sectionTableLen(len(frames))), uint32(len(frames)))
	for _, fr := range frames {
		b = binary.BigEndian.AppendUint64(b, fr.length)
		b = append(b, fr.digest[:]...)
	}
	return b
}

// decodeSectionTable reads a table of exactly n frames whose sections
// fill the rest of a body of bodyLen bytes.
func decodeSectionTable(b []byte, n int, bodyLen uint64) ([]sectionFrame, error) {
	if len(b) != sectionTableLen(n) {
		return nil, fmt.Errorf("a section table of %d bytes", len(b))
	}
	if c := binary.BigEndian.Uint32(b); c != uint32(n) {
		return nil, fmt.Errorf("%d sections, this build writes %d", c, n)
	}
	frames := make([]sectionFrame, n)
	rest := bodyLen - uint64(len(b))
	for i := range frames {
		fb := b[4+i*sectionFrameLen:]
		frames[i].length = binary.BigEndian.Uint64(fb)
		copy(frames[i].digest[:], fb[8:sectionFrameLen])
		if frames[i].length > rest {
			return nil, fmt.Errorf("section %d of %d bytes, %d left in the body", i, frames[i].length, rest)
		}
		rest -= frames[i].length
	}
	if rest != 0 {
		return nil, fmt.Errorf("%d bytes of the body in no section", rest)
	}
	return frames, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// LoadOptions says what a snapshot is verified against.
type LoadOptions struct {
	// Keys are the trusted audit keys; the snapshot must be signed by one.
	Keys []*merkle.Verifier
	// Store is the ledger the snapshot must match.
	Store eventstore.Store
}

// LoadSnapshot loads the snapshot at path into m, which must be empty and
// not yet projecting, and verifies it (see the Trust section of this
// file's doc). A snapshot that is refused leaves m empty (its Sinks
// Reset) and returns a *SnapshotError; no file returns ErrNoSnapshot. The
// caller then projects from each Sink's checkpoint.
func (m *Model) LoadSnapshot(ctx context.Context, path string, opts LoadOptions) (info SnapshotInfo, err error) {
	begin := time.Now()
	for _, s := range m.Sinks() {
		if cp, _ := s.Checkpoint(ctx); cp != 0 {
			return SnapshotInfo{}, fmt.Errorf("memreadmodel: %s already holds events: a snapshot loads into empty read models only", s.Name())
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return SnapshotInfo{}, ErrNoSnapshot
	}
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer f.Close()
	defer func() {
		if err != nil {
			for _, s := range m.Sinks() {
				s.Reset(context.WithoutCancel(ctx))
			}
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return SnapshotInfo{}, err
	}
	header := make([]byte, fixedHeaderLen)
	if _, err := io.ReadFull(f, header); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "header: %v", err)
	}
	if string(header[:8]) != snapMagic {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "not a read-model snapshot")
	}
	if v := binary.BigEndian.Uint32(header[8:]); v != SnapshotVersion {
		return SnapshotInfo{}, refuse(ErrSnapshotFormat, "version %d, this build reads %d", v, SnapshotVersion)
	}
	bodyLen, schemaLen := binary.BigEndian.Uint64(header[12:]), binary.BigEndian.Uint32(header[20:])
	if schemaLen > maxSchemaLen {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "a schema of %d bytes", schemaLen)
	}
	header = append(header, make([]byte, schemaLen)...)
	if _, err := io.ReadFull(f, header[fixedHeaderLen:]); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "header: %v", err)
	}
	if got, want := string(header[fixedHeaderLen:]), m.schema(); got != want {
		return SnapshotInfo{}, refuse(ErrSnapshotFormat, "projections of versions %q, this build's are %q", got, want)
	}
	size := uint64(st.Size())
	if bodyLen > size || size != uint64(len(header))+bodyLen+trailerLen {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "file of %d bytes for a body of %d", st.Size(), bodyLen)
	}
	// Check the section table's digest and the signature first: no
	// section is read (a crafted one could ask for any amount of memory)
	// before the table that names its digest is known to be what the audit
	// key sealed.
	sinks := m.snapSinks()
	if bodyLen < uint64(sectionTableLen(len(sinks))) {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "a body of %d bytes", bodyLen)
	}
	table := make([]byte, sectionTableLen(len(sinks)))
	if _, err := io.ReadFull(f, table); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "section table: %v", err)
	}
	if c := binary.BigEndian.Uint32(table); c != uint32(len(sinks)) {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "%d sections, this build writes %d", c, len(sinks))
	}
	trailer := make([]byte, trailerLen)
	if _, err := f.ReadAt(trailer, int64(len(header))+int64(bodyLen)); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "trailer: %v", err)
	}
	if sum := sha256.Sum256(table); string(sum[:]) != string(trailer[:32]) {
		return SnapshotInfo{}, refuse(ErrSnapshotSignature, "section table digest %x, sealed %x", sum, trailer[:32])
	}
	keyID, sig, signed := binary.BigEndian.Uint32(trailer[32:36]), trailer[36:], false
	msg := append(append([]byte(nil), header...), trailer[:32]...)
	for _, k := range opts.Keys {
		if k.KeyIDNumber() == keyID && k.VerifyMessage(SnapshotContext, msg, sig) {
			signed = true
			break
		}
	}
	if !signed {
		return SnapshotInfo{}, refuse(ErrSnapshotSignature, "not signed by a trusted audit key (key ID %08x)", keyID)
	}
	frames, err := decodeSectionTable(table, len(sinks), bodyLen)
	if err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "%v", err)
	}
	// The sections, each on its own goroutine, read from the same open
	// file (what was checked): hashed, compared with the table, decoded.
	info = SnapshotInfo{Checkpoints: map[string]eventstore.Position{}, Bytes: st.Size()}
	cps, errs := make([]eventstore.Position, len(sinks)), make([]error, len(sinks))
	var wg sync.WaitGroup
	off := int64(len(header) + len(table))
	for i, s := range sinks {
		sec := io.NewSectionReader(f, off, int64(frames[i].length))
		off += int64(frames[i].length)
		wg.Go(func() { cps[i], errs[i] = loadFramed(s, sec, frames[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		var se *SnapshotError
		if errors.As(err, &se) {
			return SnapshotInfo{}, err
		}
		if err != nil {
			return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "%s: %v", m.Sinks()[i].Name(), err)
		}
		info.Checkpoints[m.Sinks()[i].Name()] = cps[i]
	}
	at := m.audit.tables.(*auditTables)
	if err := at.checkSealed(); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotLedger, "%v", err)
	}
	info.AuditSize, info.AuditRoot = at.sealed.Size, at.sealed.Root
	if err := m.checkLedger(ctx, opts.Store, opts.Keys, info); err != nil {
		return SnapshotInfo{}, err
	}
	info.Elapsed = time.Since(begin)
	return info, nil
}

// loadFramed hashes a section, compares it with its frame and decodes it
// into s, which must read it to its last byte.
func loadFramed(s snapSink, sec *io.SectionReader, fr sectionFrame) (eventstore.Position, error) {
	// One buffer for both passes: the hashing reads the section through
	// it in reads of its size (io.Copy's own would be 32 KiB: 32 times
	// the reads), then it is reset onto the section's start for the
	// decoding.
	digest := sha256.New()
	br := bufio.NewReaderSize(sec, 1<<20)
	if n, err := br.WriteTo(digest); err != nil || uint64(n) != fr.length {
		return 0, refuse(ErrSnapshotCorrupt, "section: %d of %d bytes, %v", n, fr.length, err)
	}
	if sum := digest.Sum(nil); string(sum) != string(fr.digest[:]) {
		return 0, refuse(ErrSnapshotSignature, "section digest %x, the sealed table says %x", sum, fr.digest)
	}
	if _, err := sec.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	body := &countReader{r: sec}
	br.Reset(body)
	cp, err := s.loadSection(gob.NewDecoder(br), fr.length)
	if err != nil {
		return 0, err
	}
	if rest, err := io.Copy(io.Discard, br); err != nil || rest != 0 || body.n != int64(fr.length) {
		return 0, fmt.Errorf("%d bytes after the section's end, %v", rest, err)
	}
	return cp, nil
}

// checkLedger compares a loaded snapshot with the store.
func (m *Model) checkLedger(ctx context.Context, store eventstore.Store, keys []*merkle.Verifier, info SnapshotInfo) error {
	if store == nil {
		return refuse(ErrSnapshotLedger, "no store to compare with")
	}
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	for name, cp := range info.Checkpoints {
		if cp > head {
			return refuse(ErrSnapshotLedger, "%s is at position %d, beyond the store's head %d", name, cp, head)
		}
	}
	at := m.audit.tables.(*auditTables)
	if n := at.entries.len(); n > 0 {
		last := at.entry(uint64(n - 1))
		found := false
		for ev, err := range store.ReadStream(ctx, last.Stream, eventstore.ReadStreamOptions{From: last.Revision, Limit: 1}) {
			if err != nil {
				return refuse(ErrSnapshotLedger, "the last audit entry's event (%s@%d): %v", last.Stream, last.Revision, err)
			}
			if ev.Revision != last.Revision || ev.Position != last.Position || ev.Hash != last.EventHash || ev.ID.String() != last.EventID {
				return refuse(ErrSnapshotLedger, "the last audit entry (%s@%d, position %d) is not the store's event", last.Stream, last.Revision, last.Position)
			}
			found = true
		}
		if !found {
			return refuse(ErrSnapshotLedger, "the store has no event %s@%d", last.Stream, last.Revision)
		}
	}
	// A checkpoint signed by a trusted audit key must be in the ledger
	// (a snapshot is never the only thing that vouches for its trail); the
	// newest one within the snapshot's trail must have the trail's root at
	// its size, and each agency log the root it lists for that agency.
	anchored := false
	for ev, err := range store.ReadStream(ctx, audit.CheckpointStream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return err
		}
		c, err := audit.CheckpointOf(ev)
		if err != nil {
			return refuse(ErrSnapshotLedger, "checkpoint at position %d: %v", ev.Position, err)
		}
		if audit.OpenCheckpoint(c, keys...) != nil {
			continue // not one of the trusted keys' (an older key): vouches for nothing
		}
		anchored = true
		if c.Size > info.AuditSize {
			continue
		}
		root, err := at.rootAt(ctx, c.Size)
		if err != nil {
			return refuse(ErrSnapshotLedger, "root at %d: %v", c.Size, err)
		}
		if root != c.RootHash {
			return refuse(ErrSnapshotLedger, "the trail's root at %d is %s, the ledger's signed checkpoint says %s", c.Size, root, c.RootHash)
		}
		for _, ac := range c.AgencyCheckpoints {
			var nodes merkle.NodeReader = merkle.NewMemNodes()
			size := uint64(0)
			if l := at.agencyLogs[ac.Agency]; l != nil {
				nodes, size = l.nodes, uint64(len(l.seqs))
			}
			if ac.Size > size {
				return refuse(ErrSnapshotLedger, "agency %q: the ledger's checkpoint at %d signs %d entries, the snapshot holds %d", ac.Agency, c.Size, ac.Size, size)
			}
			root := merkle.EmptyRoot()
			if ac.Size > 0 {
				if root, err = merkle.RootAt(ctx, nodes, ac.Size); err != nil {
					return refuse(ErrSnapshotLedger, "agency %q root at %d: %v", ac.Agency, ac.Size, err)
				}
			}
			if root != ac.RootHash {
				return refuse(ErrSnapshotLedger, "agency %q: the log's root at %d is %s, the ledger's signed checkpoint says %s", ac.Agency, ac.Size, root, ac.RootHash)
			}
		}
		return nil
	}
	if !anchored && info.AuditSize > 0 {
		return refuse(ErrSnapshotLedger, "no checkpoint signed by a trusted audit key in the ledger anchors its trail of %d entries", info.AuditSize)
	}
	return nil
}

// ErrSnapshotHistory: the store's events below the snapshot are not the
// ones its trail was built from (an event edited, inserted or removed, or
// one that does not authenticate).
var ErrSnapshotHistory = errors.New("the store's history below the snapshot changed")

// CheckHistory authenticates the store's events that a loaded snapshot's
// trail covers against it: each event's chain link is checked (its hash
// recomputed, its predecessor found), its audit leaf, recomputed, must be
// the trail's leaf at its seq, and its agency, derived again from the
// events before it (audit.AgencyOfEvent), the agency log the snapshot put
// it in; at the end the derivation state must be the snapshot's.
//
// Writer signatures: witnessed, when not nil, is the checkpoint the
// start-up trusts because a witness outside the data directory holds it
// (wiring.Guard). The snapshot's seal cannot stand in for signatures (the
// audit key that seals it lies beside it), so only the entries that
// checkpoint covers skip their writer signature check, and only after the
// trail's root at its size is found equal to the witnessed root; every
// event past it (or every event, with no witnessed checkpoint) is
// checked with its writer's signature, as a rebuild would. The signed
// checkpoint events are always checked. It reads the prefix once,
// decoding only the few payloads the agency derivation reads and
// projecting nothing. A mismatch is a *SnapshotError for
// ErrSnapshotHistory; the caller then discards the snapshot (Reset) and
// rebuilds, which finds and reports the change.
//
// CheckHistory is PrepareHistoryCheck followed at once by its Run: call
// it right after LoadSnapshot. To check while the model already serves
// and applies new events (wiring.Snapshots does, after /readyz), prepare
// the check right after the load and run it later.
func (m *Model) CheckHistory(ctx context.Context, store eventstore.Store, keys *eventstore.Keyring, witnessed *audit.Checkpoint) (checked uint64, err error) {
	return m.PrepareHistoryCheck().Run(ctx, store, keys, witnessed, HistoryCheckOptions{})
}

// HistoryCheck is CheckHistory over the trail a snapshot loaded, prepared
// at the load (PrepareHistoryCheck) and run later, possibly while the
// projections apply new events and the readers read: it holds the size of
// the loaded trail and a copy of its agency derivation state, the only
// parts of it that the events applied after the load change, and reads
// the trail's entries below that size (which never change) under the
// audit tables' read lock.
type HistoryCheck struct {
	m    *Model
	size uint64
	keys map[audit.AgencyKey]string
}

// PrepareHistoryCheck captures the loaded trail's size and agency
// derivation state for a later Run. Call it right after LoadSnapshot,
// before any event is applied.
func (m *Model) PrepareHistoryCheck() *HistoryCheck {
	at := m.audit.tables.(*auditTables)
	m.audit.wmu.Lock()
	defer m.audit.wmu.Unlock()
	m.audit.lock.RLock()
	defer m.audit.lock.RUnlock()
	return &HistoryCheck{m: m, size: uint64(at.entries.len()), keys: maps.Clone(at.agencyKeys)}
}

// Size is the number of trail entries the check covers (the loaded
// snapshot's audit size).
func (h *HistoryCheck) Size() uint64 { return h.size }

// HistoryCheckOptions paces a HistoryCheck's Run.
type HistoryCheckOptions struct {
	// Progress, when set, is called with the number of entries checked
	// after every Batch of them.
	Progress func(checked uint64)
	// Batch is the number of trail entries between two progress reports
	// and pauses (4,096 when ≤ 0).
	Batch int
	// Duty bounds the share of the wall-clock time the check runs once
	// started: after each batch it sleeps the batch's own time × (1/Duty
	// − 1), so that 0.5 runs at most half the time. 0 or ≥ 1: no pause.
	Duty float64
	// Release, when set, is called after every Batch (and at the end) to
	// let the store drop the pages the check has read from the process's
	// resident set (boltstore.Store.ReleaseMapped): the check reads the
	// whole history once, and a memory-mapped store would otherwise keep
	// all of it resident. Its error is not the check's: the pages are
	// only left resident.
	Release func() error
}

// Run is CheckHistory over the prepared trail (see there).
func (h *HistoryCheck) Run(ctx context.Context, store eventstore.Store, keys *eventstore.Keyring, witnessed *audit.Checkpoint, opts HistoryCheckOptions) (checked uint64, err error) {
	m, size := h.m, h.size
	at := m.audit.tables.(*auditTables)
	if size == 0 {
		return 0, nil
	}
	if opts.Batch <= 0 {
		opts.Batch = 4096
	}
	authed := eventstore.NewAuthenticatedStore(store, keys)
	if witnessed != nil && witnessed.Size > 0 {
		covered := min(witnessed.Size, size)
		if witnessed.Size <= size {
			m.audit.lock.RLock()
			root, err := at.rootAt(ctx, witnessed.Size)
			m.audit.lock.RUnlock()
			if err != nil {
				return 0, err
			}
			if root != witnessed.RootHash {
				return 0, refuse(ErrSnapshotHistory, "the trail's root at the witnessed size %d is %s, the witness holds %s", witnessed.Size, root, witnessed.RootHash)
			}
		}
		// A witnessed size beyond the snapshot: the start-up compares the
		// root once the catch-up reaches it, and rebuilds with every
		// signature checked if it differs (wiring.Guard.CheckRoot).
		authed = authed.Covering(audit.CoverFirst(covered))
	}
	derived := map[audit.AgencyKey]string{}
	lookup := func(_ context.Context, k audit.AgencyKey) (string, bool, error) {
		a, ok := derived[k]
		return a, ok, nil
	}
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Release != nil {
		defer func() { _ = opts.Release() }()
	}
	seq := uint64(0)
	batchStart := time.Now()
	// The leaf data of the store's event and of the snapshot's entry are
	// compared, not their hashes: equal data is an equal leaf, and neither
	// side is hashed (the trail keeps no leaf hashes: prunedNodes).
	var storeLeaf, snapLeaf []byte
	for ev, err := range authed.ReadAll(readCtx, eventstore.ReadAllOptions{}) {
		var ie *eventstore.IntegrityError
		if errors.As(err, &ie) {
			return seq, refuse(ErrSnapshotHistory, "%v", err)
		}
		if err != nil {
			return seq, err
		}
		if !audit.InTrail(ev.Stream) {
			continue
		}
		m.audit.lock.RLock()
		entry := at.entries.at(int(seq))
		snapAgency := at.strs.str(entry.agency)
		snapLeaf = audit.AppendLeafData(snapLeaf[:0], seq, at.event(entry))
		m.audit.lock.RUnlock()
		if storeLeaf = audit.AppendLeafData(storeLeaf[:0], seq, ev); !bytes.Equal(storeLeaf, snapLeaf) {
			return seq, refuse(ErrSnapshotHistory, "the event at position %d (%s@%d) is not the snapshot's entry %d", ev.Position, ev.Stream, ev.Revision, seq)
		}
		agency, updates, err := audit.AgencyOfEvent(ctx, lookup, ev)
		if err != nil {
			return seq, err
		}
		if snapAgency != agency {
			return seq, refuse(ErrSnapshotHistory, "the snapshot puts entry %d (%s@%d) in agency %q's log, the ledger's events put it in %q", seq, ev.Stream, ev.Revision, snapAgency, agency)
		}
		for _, u := range updates {
			derived[u.Key] = u.Agency
		}
		if seq++; seq == size {
			if !maps.Equal(derived, h.keys) {
				return seq, refuse(ErrSnapshotHistory, "the snapshot's agency derivation state (%d keys) is not the one the ledger's events give (%d keys)", len(h.keys), len(derived))
			}
			if opts.Progress != nil {
				opts.Progress(seq)
			}
			return seq, nil
		}
		if seq%uint64(opts.Batch) == 0 {
			if opts.Progress != nil {
				opts.Progress(seq)
			}
			if opts.Release != nil {
				_ = opts.Release()
			}
			if opts.Duty > 0 && opts.Duty < 1 {
				pause := time.Duration(float64(time.Since(batchStart)) * (1/opts.Duty - 1))
				t := time.NewTimer(pause)
				select {
				case <-ctx.Done():
					t.Stop()
					return seq, ctx.Err()
				case <-t.C:
				}
			}
			batchStart = time.Now()
		}
	}
	if err := ctx.Err(); err != nil {
		return seq, err
	}
	return seq, refuse(ErrSnapshotHistory, "the store holds %d of the snapshot's %d audit entries", seq, size)
}
