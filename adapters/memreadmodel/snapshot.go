package memreadmodel

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// Snapshots: the state of every read model, written to a file at a
// checkpoint, so that a start-up loads it and projects only the events
// after it instead of rebuilding from the whole log.
//
// # File format (version 1)
//
//	magic "KJRMSNAP" (8 bytes) | version (uint32 BE) | body length (uint64 BE)
//	body: a gob stream, one section per Sink in Model.Sinks order
//	trailer: SHA-256 of the body (32) | key ID (uint32 BE) | Ed25519 signature (64)
//
// The signature is the audit key's merkle.Signer.SignMessage, context
// SnapshotContext, over the 20-byte header followed by the body's digest.
// Each section is a snapSection (name, checkpoint, dead letters) followed by
// the tables' own values (see the save and load methods of each table
// type). The audit section carries the trail's entries without their leaf
// hashes: loading recomputes every leaf and the tree, and the root must
// equal the one sealed in the section; the tree is never read from the
// file.
//
// # Trust
//
// A snapshot is refused (and the read models rebuild from the log) when it
// is of another version, truncated or corrupt, not signed by a trusted
// audit key, when its recomputed audit root differs from the sealed one, or
// when it does not match the ledger: its last audit entry must be the
// store's event at that stream revision and position (same hash), every
// checkpoint must be at or below the store's head, and the newest signed
// checkpoint in the ledger at or below the snapshot's size must have the
// snapshot tree's root at its size. The start-up then compares the trail
// with the witnessed checkpoint as after any rebuild (wiring.Guard).

// SnapshotVersion is the version of the file format this package writes
// and reads; a file of any other version is refused (ErrSnapshotFormat).
const SnapshotVersion = 1

// SnapshotContext is the signing context of snapshot signatures.
const SnapshotContext = "kinerja/readmodel-snapshot/v1"

// SnapshotFile is the snapshot's file name in the data directory.
const SnapshotFile = "readmodels.snapshot"

const snapMagic = "KJRMSNAP"

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
	load(dec *gob.Decoder) error
}

// snapSink is a Sink's part in a snapshot.
type snapSink interface {
	saveSection(ctx context.Context, enc *gob.Encoder, seen eventstore.Position, store eventstore.Store) (eventstore.Position, error)
	loadSection(dec *gob.Decoder) (eventstore.Position, error)
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

func (s *Sink[T]) loadSection(dec *gob.Decoder) (eventstore.Position, error) {
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
	if err := st.load(dec); err != nil {
		return 0, err
	}
	s.checkpoint, s.dead = eventstore.Position(sec.Checkpoint), sec.Dead
	return s.checkpoint, nil
}

func (m *Model) snapSinks() []snapSink {
	return []snapSink{m.audit, m.directory, m.skps, m.evaluations, m.scores, m.objections, m.timeline}
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
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
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
	header := make([]byte, 20)
	copy(header, snapMagic)
	binary.BigEndian.PutUint32(header[8:], SnapshotVersion)
	if _, err := f.Write(header); err != nil { // the length is written last
		return SnapshotInfo{}, err
	}
	digest := sha256.New()
	counter := &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, digest, counter), 1<<20)
	enc := gob.NewEncoder(bw)
	info := SnapshotInfo{Checkpoints: map[string]eventstore.Position{}}
	seen := eventstore.Position(0)
	for i, s := range m.snapSinks() {
		if err := ctx.Err(); err != nil {
			return SnapshotInfo{}, err
		}
		cp, err := s.saveSection(ctx, enc, seen, store)
		if i == 0 {
			seen = cp // the audit projection's: it selects every event
		}
		if err != nil {
			return SnapshotInfo{}, fmt.Errorf("memreadmodel: snapshot %s: %w", m.Sinks()[i].Name(), err)
		}
		info.Checkpoints[m.Sinks()[i].Name()] = cp
	}
	if err := bw.Flush(); err != nil {
		return SnapshotInfo{}, err
	}
	binary.BigEndian.PutUint64(header[12:], uint64(counter.n))
	trailer, err := seal(header, digest, key)
	if err != nil {
		return SnapshotInfo{}, err
	}
	if _, err := f.Write(trailer); err != nil {
		return SnapshotInfo{}, err
	}
	if _, err := f.WriteAt(header[12:], 12); err != nil {
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
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return SnapshotInfo{}, err
		}
	}
	m.audit.wmu.Lock()
	info.AuditSize, info.AuditRoot = m.audit.tables.(*auditTables).sealed.Size, m.audit.tables.(*auditTables).sealed.Root
	m.audit.wmu.Unlock()
	info.Bytes = int64(len(header)) + counter.n + int64(len(trailer))
	info.Elapsed = time.Since(begin)
	return info, nil
}

// seal returns the trailer: the body's digest, the key ID and the
// signature over header ‖ digest.
func seal(header []byte, digest hash.Hash, key *merkle.Signer) ([]byte, error) {
	sum := digest.Sum(nil)
	sig, err := key.SignMessage(SnapshotContext, append(append([]byte(nil), header...), sum...))
	if err != nil {
		return nil, err
	}
	out := append(sum, binary.BigEndian.AppendUint32(nil, key.Verifier().KeyIDNumber())...)
	return append(out, sig...), nil
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
	header := make([]byte, 20)
	if _, err := io.ReadFull(f, header); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "header: %v", err)
	}
	if string(header[:8]) != snapMagic {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "not a read-model snapshot")
	}
	if v := binary.BigEndian.Uint32(header[8:]); v != SnapshotVersion {
		return SnapshotInfo{}, refuse(ErrSnapshotFormat, "version %d, this build reads %d", v, SnapshotVersion)
	}
	bodyLen := binary.BigEndian.Uint64(header[12:])
	const trailerLen = 32 + 4 + 64
	if bodyLen > uint64(st.Size()) || uint64(st.Size()) != uint64(len(header))+bodyLen+trailerLen {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "file of %d bytes for a body of %d", st.Size(), bodyLen)
	}
	// The body is decoded as it is hashed; nothing of it is trusted (or
	// served: m is not projecting yet) before the digest and the signature
	// check out.
	digest := sha256.New()
	body := io.TeeReader(io.LimitReader(f, int64(bodyLen)), digest)
	br := bufio.NewReaderSize(body, 1<<20)
	dec := gob.NewDecoder(br)
	info = SnapshotInfo{Checkpoints: map[string]eventstore.Position{}, Bytes: st.Size()}
	for i, s := range m.snapSinks() {
		cp, err := s.loadSection(dec)
		if err != nil {
			return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "%s: %v", m.Sinks()[i].Name(), err)
		}
		info.Checkpoints[m.Sinks()[i].Name()] = cp
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "body: %v", err)
	}
	trailer := make([]byte, trailerLen)
	if _, err := io.ReadFull(f, trailer); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotCorrupt, "trailer: %v", err)
	}
	if sum := digest.Sum(nil); string(sum) != string(trailer[:32]) {
		return SnapshotInfo{}, refuse(ErrSnapshotSignature, "body digest %x, sealed %x", sum, trailer[:32])
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
	at := m.audit.tables.(*auditTables)
	if err := at.checkSealed(); err != nil {
		return SnapshotInfo{}, refuse(ErrSnapshotLedger, "%v", err)
	}
	info.AuditSize, info.AuditRoot = at.sealed.Size, at.sealed.Root
	if err := m.checkLedger(ctx, opts.Store, info); err != nil {
		return SnapshotInfo{}, err
	}
	info.Elapsed = time.Since(begin)
	return info, nil
}

// checkLedger compares a loaded snapshot with the store.
func (m *Model) checkLedger(ctx context.Context, store eventstore.Store, info SnapshotInfo) error {
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
	// The newest signed checkpoint of the ledger within the snapshot's
	// trail must have the trail's root at its size.
	for ev, err := range store.ReadStream(ctx, audit.CheckpointStream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		c, err := audit.CheckpointOf(ev)
		if err != nil {
			return refuse(ErrSnapshotLedger, "checkpoint at position %d: %v", ev.Position, err)
		}
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
		return nil
	}
	return nil
}

// ErrSnapshotHistory: the store's events below the snapshot are not the
// ones its trail was built from (an event edited, inserted or removed, or
// one that does not authenticate).
var ErrSnapshotHistory = errors.New("the store's history below the snapshot changed")

// CheckHistory authenticates the store's events that a loaded snapshot's
// trail covers against it: each event's chain link is checked (its hash
// recomputed, its predecessor found), and its audit leaf, recomputed, must
// be the trail's leaf at its seq. The snapshot, sealed by the audit key and
// compared with the ledger's signed checkpoint, stands in for their writer
// signatures, as a witnessed checkpoint does in a rebuild (see
// eventstore.AuthOptions.Covered); the signed checkpoint events among them
// are checked with their signatures. It reads the prefix once, decoding
// and projecting nothing: a fraction of a rebuild's cost. A mismatch is a
// *SnapshotError for ErrSnapshotHistory; the caller then discards the
// snapshot (Reset) and rebuilds, which finds and reports the change.
func (m *Model) CheckHistory(ctx context.Context, store eventstore.Store, keys *eventstore.Keyring) (checked uint64, err error) {
	at := m.audit.tables.(*auditTables)
	m.audit.wmu.Lock()
	size := uint64(at.entries.len())
	m.audit.wmu.Unlock()
	if size == 0 {
		return 0, nil
	}
	authed := eventstore.NewAuthenticatedStore(store, keys).Covering(audit.CoverFirst(size))
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	seq := uint64(0)
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
		e := at.entries.at(int(seq))
		if leaf := merkle.LeafHash(audit.LeafData(seq, ev)); leaf != e.leafHash {
			return seq, refuse(ErrSnapshotHistory, "the event at position %d (%s@%d) is not the snapshot's entry %d", ev.Position, ev.Stream, ev.Revision, seq)
		}
		if seq++; seq == size {
			return seq, nil
		}
	}
	return seq, refuse(ErrSnapshotHistory, "the store holds %d of the snapshot's %d audit entries", seq, size)
}
