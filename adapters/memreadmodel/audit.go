package memreadmodel

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// auditTables hold the trail: entries in seq order (compact, without
// pointers, in blocks), the tree's nodes, its frontier, the signed
// checkpoints read from the ledger, and the seq lists of each actor, stream
// and type for filtered queries.
type auditTables struct {
	entries chunked[auditEntry]
	strs    *strtab
	// nodes are the tree's nodes above its leaves and their pairs, which
	// are computed from the entries (prunedNodes).
	nodes       *prunedNodes
	frontier    []merkle.Hash
	checkpoints []audit.Checkpoint
	// The seq lists hold 4-byte seqs (a trail of more than 4 billion
	// entries is refused by commit).
	byActor  map[uint32][]uint32
	byStream map[uint32][]uint32
	byType   map[uint32][]uint32
	// sealed is what a loaded snapshot said of the trail (snapshot_audit.go).
	sealed auditSeal
	// The agency logs (issue 15): the derivation state, each agency's log,
	// and the agency checkpoints read from the ledger, by agency. Each
	// entry's agency and index in it are in auditEntry.
	agencyKeys map[audit.AgencyKey]string
	agencyLogs map[string]*agencyLog
	agencyCPs  map[string][]audit.AgencyCheckpoint
}

// agencyLog is one agency's log: the global seq of each entry, its tree
// (its leaves are the trail's leaves of seqs, not held twice) and
// frontier.
type agencyLog struct {
	seqs     []uint32
	nodes    *prunedNodes
	frontier []merkle.Hash
}

func (t *auditTables) agencyLog(agency string) *agencyLog {
	l := t.agencyLogs[agency]
	if l == nil {
		l = &agencyLog{}
		l.nodes = newPrunedNodes(t.agencyLeaf(l))
		t.agencyLogs[agency] = l
	}
	return l
}

// agencyLeaf returns the leaf function of l's tree: the trail's leaf of
// its i-th entry.
func (t *auditTables) agencyLeaf(l *agencyLog) func(uint64) (merkle.Hash, bool) {
	return func(i uint64) (merkle.Hash, bool) {
		if i >= uint64(len(l.seqs)) {
			return merkle.Hash{}, false
		}
		return t.leafOf(uint64(l.seqs[i])), true
	}
}

// auditEntry is an audit.Entry with its strings interned and its times in
// microseconds (the store's precision).
type auditEntry struct {
	position   eventstore.Position
	revision   uint64
	recordedAt int64
	occurredAt int64
	id         uuid.UUID
	stream     uint32
	typ        uint32
	actorID    uint32
	actorRole  uint32
	reason     uint32
	eventHash  eventstore.Hash
	// The leaf hash is not held here: it is the tree's node (0, seq)
	// (leaf), 32 bytes less per entry.
	agency    uint32 // interned agency of the entry's log
	agencyIdx uint32 // the entry's index in it
}

func (t *auditTables) entry(seq uint64) audit.Entry {
	e := t.entries.at(int(seq))
	return audit.Entry{Seq: seq, Position: e.position, EventID: e.id.String(), Stream: t.strs.str(e.stream), Revision: e.revision,
		Type: t.strs.str(e.typ), ActorID: t.strs.str(e.actorID), ActorRole: t.strs.str(e.actorRole),
		RecordedAt: time.UnixMicro(e.recordedAt).UTC(), OccurredAt: time.UnixMicro(e.occurredAt).UTC(), Reason: t.strs.str(e.reason),
		EventHash: e.eventHash, LeafHash: t.leaf(seq)}
}

// leaf is the leaf hash of the entry at seq, recomputed from it (the
// tree does not hold its leaves: prunedNodes).
func (t *auditTables) leaf(seq uint64) merkle.Hash { return t.leafOf(seq) }

// leafOf recomputes the leaf hash of the entry at seq < the trail's size.
func (t *auditTables) leafOf(seq uint64) merkle.Hash {
	var buf [512]byte
	return merkle.LeafHash(audit.AppendLeafData(buf[:0], seq, t.event(t.entries.at(int(seq)))))
}

// trailLeaf is the leaf function of the trail's tree.
func (t *auditTables) trailLeaf(i uint64) (merkle.Hash, bool) {
	if i >= uint64(t.entries.len()) {
		return merkle.Hash{}, false
	}
	return t.leafOf(i), true
}

func newAuditTables() *auditTables {
	t := &auditTables{}
	t.reset()
	return t
}

func (t *auditTables) reset() {
	t.entries, t.strs, t.nodes, t.frontier, t.checkpoints = chunked[auditEntry]{}, newStrtab(), newPrunedNodes(t.trailLeaf), nil, nil
	t.byActor, t.byStream, t.byType = map[uint32][]uint32{}, map[uint32][]uint32{}, map[uint32][]uint32{}
	t.agencyKeys, t.agencyLogs, t.agencyCPs = map[audit.AgencyKey]string{}, map[string]*agencyLog{}, map[string][]audit.AgencyCheckpoint{}
}

// auditTx stages a batch: entries, the nodes they complete, the frontier
// after them and checkpoints.
type auditTx struct {
	t           *auditTables
	entries     []audit.Entry
	nodes       []merkle.Node
	frontier    []merkle.Hash
	frontierSet bool
	checkpoints []audit.Checkpoint
	// The agency logs' staged changes.
	keys           map[audit.AgencyKey]string
	agencyEntries  []audit.AgencyEntry
	agencyNodes    map[string][]merkle.Node
	agencyFrontier map[string][]merkle.Hash
	agencyAdded    map[string]uint64
}

var _ audit.Store = (*auditTx)(nil)

func (t *auditTables) begin() *auditTx {
	return &auditTx{t: t, keys: map[audit.AgencyKey]string{}, agencyNodes: map[string][]merkle.Node{},
		agencyFrontier: map[string][]merkle.Hash{}, agencyAdded: map[string]uint64{}}
}

func (t *auditTables) commit(tx *auditTx) {
	// The nodes first: a reader that sees the new size finds every node of
	// it. Append checked that each node extends its level, so Put accepts
	// them all.
	if err := t.nodes.put(tx.nodes...); err != nil {
		panic(fmt.Sprintf("memreadmodel: audit nodes checked on append were refused: %v", err))
	}
	for _, e := range tx.entries {
		id, _ := uuid.Parse(e.EventID)
		x := auditEntry{position: e.Position, revision: e.Revision, id: id, stream: t.strs.id(e.Stream), typ: t.strs.id(e.Type),
			actorID: t.strs.id(e.ActorID), actorRole: t.strs.id(e.ActorRole), reason: t.strs.id(e.Reason),
			recordedAt: e.RecordedAt.UnixMicro(), occurredAt: e.OccurredAt.UnixMicro(), eventHash: e.EventHash}
		t.entries.add(x)
		seq := uint32(e.Seq) // Append refused a seq above math.MaxUint32
		t.byActor[x.actorID] = append(t.byActor[x.actorID], seq)
		t.byStream[x.stream] = append(t.byStream[x.stream], seq)
		t.byType[x.typ] = append(t.byType[x.typ], seq)
	}
	if tx.frontierSet {
		t.frontier = tx.frontier
	}
	t.checkpoints = append(t.checkpoints, tx.checkpoints...)
	for _, c := range tx.checkpoints {
		for _, ac := range c.AgencyCheckpoints {
			t.agencyCPs[ac.Agency] = append(t.agencyCPs[ac.Agency], ac)
		}
	}
	maps.Copy(t.agencyKeys, tx.keys)
	for a, nodes := range tx.agencyNodes {
		if err := t.agencyLog(a).nodes.put(nodes...); err != nil {
			panic(fmt.Sprintf("memreadmodel: agency %q nodes checked on append were refused: %v", a, err))
		}
	}
	for _, e := range tx.agencyEntries {
		l := t.agencyLog(e.Agency)
		l.seqs = append(l.seqs, uint32(e.Seq))
		x := t.entries.at(int(e.Seq))
		x.agency, x.agencyIdx = t.strs.id(e.Agency), uint32(e.Index)
	}
	for a, f := range tx.agencyFrontier {
		t.agencyLog(a).frontier = f
	}
}

// AgencyOf implements audit.AgencyStore.
func (tx *auditTx) AgencyOf(_ context.Context, k audit.AgencyKey) (string, bool, error) {
	if a, ok := tx.keys[k]; ok {
		return a, true, nil
	}
	a, ok := tx.t.agencyKeys[k]
	return a, ok, nil
}

// SetAgencyOf implements audit.AgencyStore.
func (tx *auditTx) SetAgencyOf(_ context.Context, k audit.AgencyKey, agency string, _ eventstore.Position) error {
	tx.keys[k] = agency
	return nil
}

func (tx *auditTx) agencySize(agency string) uint64 {
	n := tx.agencyAdded[agency]
	if l := tx.t.agencyLogs[agency]; l != nil {
		n += uint64(len(l.seqs))
	}
	return n
}

// AgencySize implements audit.AgencyStore.
func (tx *auditTx) AgencySize(_ context.Context, agency string) (uint64, error) {
	return tx.agencySize(agency), nil
}

// AgencyFrontier implements audit.AgencyStore (not a copy, capped; see
// Frontier).
func (tx *auditTx) AgencyFrontier(_ context.Context, agency string) ([]merkle.Hash, error) {
	if f, ok := tx.agencyFrontier[agency]; ok {
		return f[:len(f):len(f)], nil
	}
	if l := tx.t.agencyLogs[agency]; l != nil {
		return l.frontier[:len(l.frontier):len(l.frontier)], nil
	}
	return nil, nil
}

// AppendAgency implements audit.AgencyStore.
func (tx *auditTx) AppendAgency(_ context.Context, e audit.AgencyEntry, nodes []merkle.Node, frontier []merkle.Hash) error {
	size := tx.agencySize(e.Agency)
	if e.Index != size || e.Seq+1 != tx.size() {
		return fmt.Errorf("memreadmodel: agency %q entry %d (seq %d) appended to a log of %d (trail of %d)", e.Agency, e.Index, e.Seq, size, tx.size())
	}
	for _, n := range nodes {
		if n.Level > merkle.MaxLevel || n.Index+1 != (size+1)>>n.Level {
			return fmt.Errorf("memreadmodel: agency %q node (%d, %d) does not extend the tree of %d leaves", e.Agency, n.Level, n.Index, size)
		}
	}
	tx.agencyEntries = append(tx.agencyEntries, e)
	tx.agencyNodes[e.Agency] = append(tx.agencyNodes[e.Agency], nodes...)
	tx.agencyFrontier[e.Agency] = frontier
	tx.agencyAdded[e.Agency]++
	return nil
}

func (tx *auditTx) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	for _, n := range tx.nodes {
		if n.Level == level && n.Index == index {
			return n.Hash, nil
		}
	}
	return tx.t.nodes.Node(ctx, level, index)
}

func (tx *auditTx) size() uint64 { return uint64(tx.t.entries.len() + len(tx.entries)) }

func (tx *auditTx) Size(context.Context) (uint64, error) { return tx.size(), nil }

// Frontier returns the frontier itself, not a copy: audit.Apply only
// hands it to merkle.NewTreeFromFrontier, which copies it. It is
// read-only (audit.Store); the cap at its length only stops a caller's
// append from writing into the array kept here, not an in-place write.
func (tx *auditTx) Frontier(context.Context) ([]merkle.Hash, error) {
	f := tx.t.frontier
	if tx.frontierSet {
		f = tx.frontier
	}
	return f[:len(f):len(f)], nil
}

// Append stages e. It keeps frontier (audit.Apply passes a fresh copy,
// merkle.Tree.Frontier) instead of copying it again.
func (tx *auditTx) Append(_ context.Context, e audit.Entry, nodes []merkle.Node, frontier []merkle.Hash) error {
	size := tx.size()
	if e.Seq != size {
		return fmt.Errorf("memreadmodel: audit entry seq %d appended to a trail of %d", e.Seq, size)
	}
	if e.Seq > math.MaxUint32 {
		return fmt.Errorf("memreadmodel: audit entry seq %d: the in-memory trail holds at most %d entries", e.Seq, uint64(math.MaxUint32)+1)
	}
	// Its leaf is recomputed from what the entry keeps (leafOf): times in
	// microseconds, the event ID as a UUID.
	if !e.RecordedAt.Equal(time.UnixMicro(e.RecordedAt.UnixMicro())) || !e.OccurredAt.Equal(time.UnixMicro(e.OccurredAt.UnixMicro())) {
		return fmt.Errorf("memreadmodel: audit entry %d: times finer than a microsecond (%s, %s) cannot be kept", e.Seq, e.RecordedAt, e.OccurredAt)
	}
	for _, n := range nodes {
		// After the append the tree holds size+1 leaves, so level l holds
		// (size+1) >> l nodes; a new node is the last of its level.
		if n.Level > merkle.MaxLevel || n.Index+1 != (size+1)>>n.Level {
			return fmt.Errorf("memreadmodel: audit node (%d, %d) does not extend the tree of %d leaves", n.Level, n.Index, size)
		}
	}
	tx.entries = append(tx.entries, e)
	tx.nodes = append(tx.nodes, nodes...)
	tx.frontier, tx.frontierSet = frontier, true
	return nil
}

func (tx *auditTx) AddCheckpoint(_ context.Context, c audit.Checkpoint) error {
	tx.checkpoints = append(tx.checkpoints, c)
	return nil
}

// AuditReader is the query side of the in-memory audit trail: an
// audit.Reader, an audit.Stored (for the verifier) and an audit.TreeReader
// (for the signer). Safe for concurrent use.
type AuditReader struct {
	lock *sync.RWMutex
	t    *auditTables
}

var (
	_ audit.Reader     = (*AuditReader)(nil)
	_ audit.Stored     = (*AuditReader)(nil)
	_ audit.TreeReader = (*AuditReader)(nil)
)

// Node implements merkle.NodeReader.
// The lock is held: the tree's lowest levels are computed from the
// entries.
func (r *AuditReader) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	return r.t.nodes.Node(ctx, level, index)
}

// Size implements audit.Reader.
func (r *AuditReader) Size(context.Context) (uint64, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	return uint64(r.t.entries.len()), nil
}

// Entries implements audit.Reader. Query.Limit ≤ 0 means
// audit.DefaultLimit; at most audit.MaxLimit entries come back.
func (r *AuditReader) Entries(_ context.Context, q audit.Query) ([]audit.Entry, error) {
	limit := audit.PageLimit(q.Limit)
	r.lock.RLock()
	defer r.lock.RUnlock()
	start := uint64(0)
	if q.AfterSet {
		start = q.After + 1
	}
	end := uint64(r.t.entries.len()) // exclusive
	if q.BeforeSet && q.Before < end {
		end = q.Before
	}
	out := []audit.Entry{}
	if start >= end {
		return out, nil
	}
	// Walk the shortest seq list of the equality filters, or every entry.
	var seqs []uint32
	indexed := false
	match := q.Match
	if q.AgencySet {
		if l := r.t.agencyLogs[q.Agency]; l != nil {
			seqs = l.seqs
		}
		indexed = true
		id, ok := r.t.strs.lookup(q.Agency)
		match = func(e audit.Entry) bool {
			return ok && r.t.entries.at(int(e.Seq)).agency == id && q.Match(e)
		}
	}
	for _, f := range []struct {
		v string
		m map[uint32][]uint32
	}{{q.Actor, r.t.byActor}, {q.Stream, r.t.byStream}, {q.Type, r.t.byType}} {
		if f.v == "" {
			continue
		}
		var list []uint32
		if id, ok := r.t.strs.lookup(f.v); ok {
			list = f.m[id]
		}
		if !indexed || len(list) < len(seqs) {
			seqs, indexed = list, true
		}
	}
	if indexed {
		i := sort.Search(len(seqs), func(i int) bool { return uint64(seqs[i]) >= start })
		j := sort.Search(len(seqs), func(i int) bool { return uint64(seqs[i]) >= end })
		if q.Desc {
			for k := j - 1; k >= i && len(out) < limit; k-- {
				if e := r.t.entry(uint64(seqs[k])); match(e) {
					out = append(out, e)
				}
			}
			return out, nil
		}
		for ; i < j && len(out) < limit; i++ {
			if e := r.t.entry(uint64(seqs[i])); match(e) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	if q.Desc {
		for seq := end; seq > start && len(out) < limit; seq-- {
			if e := r.t.entry(seq - 1); match(e) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	for seq := start; seq < end && len(out) < limit; seq++ {
		if e := r.t.entry(seq); match(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// LatestCheckpoint implements audit.Reader.
func (r *AuditReader) LatestCheckpoint(context.Context) (audit.Checkpoint, bool, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	if n := len(r.t.checkpoints); n > 0 {
		return r.t.checkpoints[n-1], true, nil
	}
	return audit.Checkpoint{}, false, nil
}

// Checkpoints returns every signed checkpoint read from the ledger, oldest
// first.
func (r *AuditReader) Checkpoints(context.Context) ([]audit.Checkpoint, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	return append([]audit.Checkpoint(nil), r.t.checkpoints...), nil
}

// AllEntries implements audit.Stored: every entry in seq order, read in
// pages so that the projection is not held up.
func (r *AuditReader) AllEntries(ctx context.Context) iter.Seq2[audit.Entry, error] {
	return func(yield func(audit.Entry, error) bool) {
		const page = 4096
		for seq := uint64(0); ; {
			if err := ctx.Err(); err != nil {
				yield(audit.Entry{}, err)
				return
			}
			r.lock.RLock()
			n := uint64(r.t.entries.len())
			batch := make([]audit.Entry, 0, page)
			for ; seq < n && len(batch) < page; seq++ {
				batch = append(batch, r.t.entry(seq))
			}
			r.lock.RUnlock()
			for _, e := range batch {
				if !yield(e, nil) {
					return
				}
			}
			if len(batch) < page {
				return
			}
		}
	}
}

// AllNodes implements audit.Stored: every node of the tree of the current
// size.
func (r *AuditReader) AllNodes(ctx context.Context) iter.Seq2[merkle.Node, error] {
	return func(yield func(merkle.Node, error) bool) {
		r.lock.RLock()
		size := uint64(r.t.entries.len())
		r.lock.RUnlock()
		for level := uint8(0); level <= merkle.MaxLevel && size>>level > 0; level++ {
			for i := uint64(0); i < size>>level; i++ {
				h, err := r.Node(ctx, level, i)
				if !yield(merkle.Node{Level: level, Index: i, Hash: h}, err) || err != nil {
					return
				}
			}
		}
	}
}

var (
	_ audit.AgencyReader = (*AuditReader)(nil)
	_ audit.AgencyTrail  = (*AuditReader)(nil)
	_ audit.AgencyStored = (*AuditReader)(nil)
)

// Heads implements audit.AgencyTrail.
func (r *AuditReader) Heads(context.Context) (uint64, []audit.AgencyHead, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	return uint64(r.t.entries.len()), r.t.heads(), nil
}

func (t *auditTables) heads() []audit.AgencyHead {
	out := make([]audit.AgencyHead, 0, len(t.agencyLogs))
	for a, l := range t.agencyLogs {
		if len(l.seqs) > 0 {
			out = append(out, audit.AgencyHead{Agency: a, Size: uint64(len(l.seqs))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Agency < out[j].Agency })
	return out
}

// Agencies implements audit.AgencyReader.
func (r *AuditReader) Agencies(context.Context) ([]audit.AgencyHead, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	return r.t.heads(), nil
}

// AgencySize implements audit.AgencyReader.
func (r *AuditReader) AgencySize(_ context.Context, agency string) (uint64, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	if l := r.t.agencyLogs[agency]; l != nil {
		return uint64(len(l.seqs)), nil
	}
	return 0, nil
}

// AgencyNodes implements audit.AgencyReader.
func (r *AuditReader) AgencyNodes(agency string) merkle.NodeReader {
	r.lock.RLock()
	defer r.lock.RUnlock()
	if l := r.t.agencyLogs[agency]; l != nil {
		return lockedNodes{lock: r.lock, nodes: l.nodes}
	}
	return merkle.NewMemNodes()
}

// lockedNodes reads nodes under the tables' read lock (the lowest levels
// are computed from the entries).
type lockedNodes struct {
	lock  *sync.RWMutex
	nodes merkle.NodeReader
}

func (l lockedNodes) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	l.lock.RLock()
	defer l.lock.RUnlock()
	return l.nodes.Node(ctx, level, index)
}

func (t *auditTables) agencyEntry(agency string, idx, seq uint64) audit.AgencyEntry {
	e := t.entries.at(int(seq))
	return audit.AgencyEntry{Agency: agency, Index: idx, Seq: seq, Position: e.position, LeafHash: t.leaf(seq)}
}

// AgencyEntries implements audit.AgencyReader.
func (r *AuditReader) AgencyEntries(_ context.Context, agency string, from, to uint64, limit int) ([]audit.AgencyEntry, error) {
	limit = audit.PageLimit(limit)
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []audit.AgencyEntry{}
	l := r.t.agencyLogs[agency]
	if l == nil {
		return out, nil
	}
	for i := from; i < to && i < uint64(len(l.seqs)) && len(out) < limit; i++ {
		out = append(out, r.t.agencyEntry(agency, i, uint64(l.seqs[i])))
	}
	return out, nil
}

// AgencyOfSeq implements audit.AgencyReader.
func (r *AuditReader) AgencyOfSeq(_ context.Context, seq uint64) (audit.AgencyEntry, bool, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	if seq >= uint64(r.t.entries.len()) {
		return audit.AgencyEntry{}, false, nil
	}
	e := r.t.entries.at(int(seq))
	agency := r.t.strs.str(e.agency)
	if l := r.t.agencyLogs[agency]; l == nil || int(e.agencyIdx) >= len(l.seqs) || uint64(l.seqs[e.agencyIdx]) != seq {
		return audit.AgencyEntry{}, false, nil // not in an agency log yet
	}
	return r.t.agencyEntry(agency, uint64(e.agencyIdx), seq), true, nil
}

// LatestAgencyCheckpoint implements audit.AgencyReader.
func (r *AuditReader) LatestAgencyCheckpoint(_ context.Context, agency string) (audit.AgencyCheckpoint, bool, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	if cps := r.t.agencyCPs[agency]; len(cps) > 0 {
		return cps[len(cps)-1], true, nil
	}
	return audit.AgencyCheckpoint{}, false, nil
}

// AgencyCheckpoints implements audit.AgencyReader.
func (r *AuditReader) AgencyCheckpoints(_ context.Context, agency string) ([]audit.AgencyCheckpoint, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	return append([]audit.AgencyCheckpoint(nil), r.t.agencyCPs[agency]...), nil
}
