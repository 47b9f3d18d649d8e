package memreadmodel

import (
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// The audit trail's part in a snapshot. Everything the trail holds is
// written here through auditHead and the entry blocks: a field added to
// auditTables is added to auditHead (or to a further value after the
// blocks) in save and load, and the audit projection's version in
// projectionVersions (snapshot.go) bumped.
//
// The agency logs (issue 15) are in it too: each packed entry carries its
// agency, and auditHead the derivation state (agencyKeys). Loading rebuilds
// every agency log from the entries in seq order (the index of an entry in
// its log, the log's tree and frontier: nothing of a tree is read from the
// file), and the agency checkpoints from the national checkpoints that list
// them, as the projection does.

// auditSeal is the trail's size and root as a snapshot states them, and,
// once loaded, the root recomputed from its entries.
type auditSeal struct {
	Size       uint64
	Root       merkle.Hash
	recomputed merkle.Hash
}

// auditHead opens the audit section; NBlocks packed entry blocks follow.
type auditHead struct {
	Seal        auditSeal
	Strs        []string
	Checkpoints []audit.Checkpoint
	// AgencyKeys is the agency derivation state (auditTables.agencyKeys),
	// sorted.
	AgencyKeys []snapAgencyKey
	NBlocks    int
}

// snapAgencyKey is one entry of the agency derivation state.
type snapAgencyKey struct {
	Kind   byte
	ID     string
	Agency string
}

// auditRecSize is a packed entry: position, revision, recorded and
// occurred (8 each), event ID (16), five interned strings (4 each), event
// hash (32), the interned agency of its log (4). The leaf hash and the
// index in the agency log are not written: loading recomputes them.
const auditRecSize = 8*4 + 16 + 5*4 + 32 + 4

func (t *auditTables) save(enc *gob.Encoder) error {
	size := uint64(t.entries.len())
	tree, err := merkle.NewTreeFromFrontier(size, t.frontier)
	if err != nil {
		return err
	}
	t.sealed = auditSeal{Size: size, Root: tree.Root()}
	keys := make([]snapAgencyKey, 0, len(t.agencyKeys))
	for k, a := range t.agencyKeys {
		keys = append(keys, snapAgencyKey{Kind: byte(k.Kind), ID: k.ID, Agency: a})
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Kind != keys[j].Kind {
			return keys[i].Kind < keys[j].Kind
		}
		return keys[i].ID < keys[j].ID
	})
	if err := enc.Encode(auditHead{Seal: t.sealed, Strs: t.strs.strs, Checkpoints: t.checkpoints, AgencyKeys: keys,
		NBlocks: len(t.entries.blocks)}); err != nil {
		return err
	}
	buf := make([]byte, 0, auditRecSize<<chunkBits)
	for _, b := range t.entries.blocks {
		buf = buf[:0]
		for i := range b {
			e := &b[i]
			buf = binary.LittleEndian.AppendUint64(buf, uint64(e.position))
			buf = binary.LittleEndian.AppendUint64(buf, e.revision)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(e.recordedAt))
			buf = binary.LittleEndian.AppendUint64(buf, uint64(e.occurredAt))
			buf = append(buf, e.id[:]...)
			for _, s := range [5]uint32{e.stream, e.typ, e.actorID, e.actorRole, e.reason} {
				buf = binary.LittleEndian.AppendUint32(buf, s)
			}
			buf = append(buf, e.eventHash[:]...)
			buf = binary.LittleEndian.AppendUint32(buf, e.agency)
		}
		if err := enc.Encode(buf); err != nil {
			return err
		}
	}
	return nil
}

// load rebuilds the trail from a section: the entries, their leaf hashes
// and the tree are recomputed (checkSealed compares the root with the
// sealed one once the file's signature checked out).
func (t *auditTables) load(dec *gob.Decoder, bodyLen uint64) error {
	var h auditHead
	if err := dec.Decode(&h); err != nil {
		return err
	}
	// Bounds: a block holds at least one entry, and every entry is in the
	// body.
	if h.NBlocks < 0 || uint64(h.NBlocks) > bodyLen/auditRecSize || h.Seal.Size > bodyLen/auditRecSize {
		return fmt.Errorf("audit section of %d blocks, %d entries in a body of %d bytes", h.NBlocks, h.Seal.Size, bodyLen)
	}
	strs, err := loadStrtab(h.Strs)
	if err != nil {
		return err
	}
	t.reset()
	t.strs = strs
	for i, k := range h.AgencyKeys {
		switch audit.KeyKind(k.Kind) {
		case audit.KeyUnit, audit.KeyEmployee, audit.KeySKP:
		default:
			return fmt.Errorf("agency key %d of kind %q", i, k.Kind)
		}
		key := audit.AgencyKey{Kind: audit.KeyKind(k.Kind), ID: k.ID}
		if _, dup := t.agencyKeys[key]; dup {
			return fmt.Errorf("agency key %c/%s twice", k.Kind, k.ID)
		}
		t.agencyKeys[key] = k.Agency
	}
	var buf []byte
	str := func(b []byte) (uint32, error) {
		v := binary.LittleEndian.Uint32(b)
		if int(v) >= len(strs.strs) {
			return 0, fmt.Errorf("string %d of %d", v, len(strs.strs))
		}
		return v, nil
	}
	for range h.NBlocks {
		buf = buf[:0]
		if err := dec.Decode(&buf); err != nil {
			return err
		}
		if len(buf)%auditRecSize != 0 || len(buf) > auditRecSize<<chunkBits {
			return fmt.Errorf("audit block of %d bytes", len(buf))
		}
		for r := buf; len(r) > 0; r = r[auditRecSize:] {
			var e auditEntry
			e.position = eventstore.Position(binary.LittleEndian.Uint64(r))
			e.revision = binary.LittleEndian.Uint64(r[8:])
			e.recordedAt = int64(binary.LittleEndian.Uint64(r[16:]))
			e.occurredAt = int64(binary.LittleEndian.Uint64(r[24:]))
			copy(e.id[:], r[32:48])
			var ids [5]uint32
			for i := range ids {
				if ids[i], err = str(r[48+4*i:]); err != nil {
					return err
				}
			}
			e.stream, e.typ, e.actorID, e.actorRole, e.reason = ids[0], ids[1], ids[2], ids[3], ids[4]
			copy(e.eventHash[:], r[68:100])
			if e.agency, err = str(r[100:]); err != nil {
				return err
			}
			seq := uint64(t.entries.len())
			if seq > 0 && t.entries.at(int(seq-1)).position >= e.position {
				return fmt.Errorf("audit entry %d at position %d after %d", seq, e.position, t.entries.at(int(seq-1)).position)
			}
			t.entries.add(e)
		}
	}
	// Every leaf recomputed on every core, then the trail's tree and the
	// agency logs' trees built level by level, the indexes beside them.
	n := t.entries.len()
	if uint64(n) > math.MaxUint32+1 {
		return fmt.Errorf("audit trail of %d entries: the in-memory trail holds at most %d", n, uint64(math.MaxUint32)+1)
	}
	workers := runtime.GOMAXPROCS(0)
	// The leaves are held only while the trees are built: the trees keep
	// their levels from prunedLevels up (prunedNodes).
	leaves := make([]merkle.Hash, n)
	t.leaves(leaves, workers)
	var wg sync.WaitGroup
	wg.Go(func() { t.nodes = prunedNodesOf(n, func(i int) merkle.Hash { return leaves[i] }, workers, t.trailLeaf) })
	counts := map[uint32]int{}
	for seq := range n {
		counts[t.entries.at(seq).agency]++
	}
	for a, c := range counts {
		t.agencyLog(strs.str(a)).seqs = make([]uint32, 0, c+c/8+64)
	}
	for seq := range n {
		e := t.entries.at(seq)
		agency := strs.str(e.agency)
		l := t.agencyLog(agency)
		e.agencyIdx = uint32(len(l.seqs))
		l.seqs = append(l.seqs, uint32(seq))
		t.byActor[e.actorID] = append(t.byActor[e.actorID], uint32(seq))
		t.byStream[e.stream] = append(t.byStream[e.stream], uint32(seq))
		t.byType[e.typ] = append(t.byType[e.typ], uint32(seq))
	}
	// Each agency log's tree over its entries' leaves, read in place (no
	// copy of them per agency).
	for a := range counts {
		l := t.agencyLogs[strs.str(a)]
		l.nodes = prunedNodesOf(len(l.seqs), func(i int) merkle.Hash { return leaves[l.seqs[i]] }, 1, t.agencyLeaf(l))
		if l.frontier, err = frontierOf(l.nodes, uint64(len(l.seqs))); err != nil {
			return err
		}
	}
	wg.Wait()
	if t.frontier, err = frontierOf(t.nodes, uint64(n)); err != nil {
		return err
	}
	t.checkpoints = h.Checkpoints
	for _, c := range h.Checkpoints {
		for _, ac := range c.AgencyCheckpoints {
			t.agencyCPs[ac.Agency] = append(t.agencyCPs[ac.Agency], ac)
		}
	}
	t.sealed = h.Seal
	tree, err := merkle.NewTreeFromFrontier(uint64(n), t.frontier)
	if err != nil {
		return err
	}
	t.sealed.recomputed = tree.Root()
	return nil
}

// leaves recomputes every entry's leaf hash into leaves,
// the blocks shared among workers goroutines.
func (t *auditTables) leaves(leaves []merkle.Hash, workers int) {
	next := make(chan int, len(t.entries.blocks))
	for b := range t.entries.blocks {
		next <- b
	}
	close(next)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			data := make([]byte, 0, 1024)
			for b := range next {
				block := t.entries.blocks[b]
				for i := range block {
					e, seq := &block[i], uint64(b<<chunkBits+i)
					data = audit.AppendLeafData(data[:0], seq, t.event(e))
					leaves[seq] = merkle.LeafHash(data)
				}
			}
		})
	}
	wg.Wait()
}

// frontierOf is the frontier of the tree of size leaves in nodes.
func frontierOf(nodes merkle.NodeReader, size uint64) ([]merkle.Hash, error) {
	if size == 0 {
		return nil, nil
	}
	tree, err := merkle.RestoreTree(context.Background(), nodes, size)
	if err != nil {
		return nil, err
	}
	return tree.Frontier(), nil
}

// event returns the fields of e that audit.LeafData reads.
func (t *auditTables) event(e *auditEntry) eventstore.Event {
	ev := eventstore.Event{Stream: t.strs.str(e.stream), Revision: e.revision, Position: e.position,
		RecordedAt: time.UnixMicro(e.recordedAt).UTC(), Hash: e.eventHash}
	ev.ID = uuid.UUID(e.id)
	ev.Type, ev.Reason = t.strs.str(e.typ), t.strs.str(e.reason)
	ev.Actor.ID, ev.Actor.Role = t.strs.str(e.actorID), t.strs.str(e.actorRole)
	ev.OccurredAt = time.UnixMicro(e.occurredAt).UTC()
	return ev
}

// checkSealed compares the loaded trail with what the snapshot sealed.
func (t *auditTables) checkSealed() error {
	if n := uint64(t.entries.len()); n != t.sealed.Size {
		return fmt.Errorf("the snapshot seals a trail of %d entries and holds %d", t.sealed.Size, n)
	}
	if t.sealed.recomputed != t.sealed.Root {
		return fmt.Errorf("the trail's entries hash to root %s, the snapshot seals %s", t.sealed.recomputed, t.sealed.Root)
	}
	return nil
}

// rootAt returns the trail's root at size (≤ its size).
func (t *auditTables) rootAt(ctx context.Context, size uint64) (merkle.Hash, error) {
	if size == 0 {
		return merkle.EmptyRoot(), nil
	}
	tree, err := merkle.RestoreTree(ctx, t.nodes, size)
	if err != nil {
		return merkle.Hash{}, err
	}
	return tree.Root(), nil
}

// loadStrtab rebuilds a string table: "" first, no string twice.
func loadStrtab(strs []string) (*strtab, error) {
	if len(strs) == 0 || strs[0] != "" {
		return nil, errors.New("string table does not start with the empty string")
	}
	t := &strtab{idx: make(map[string]uint32, len(strs)), strs: strs}
	for i, s := range strs {
		if _, dup := t.idx[s]; dup {
			return nil, fmt.Errorf("string %q twice in the table", s)
		}
		t.idx[s] = uint32(i)
	}
	return t, nil
}
