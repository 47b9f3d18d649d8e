package memreadmodel

import (
	"context"
	"fmt"
	"iter"
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
	entries     chunked[auditEntry]
	strs        *strtab
	nodes       *merkle.MemNodes
	frontier    []merkle.Hash
	checkpoints []audit.Checkpoint
	byActor     map[uint32][]uint64
	byStream    map[uint32][]uint64
	byType      map[uint32][]uint64
	// sealed is what a loaded snapshot said of the trail (snapshot_audit.go).
	sealed auditSeal
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
	leafHash   merkle.Hash
}

func (t *auditTables) entry(seq uint64) audit.Entry {
	e := t.entries.at(int(seq))
	return audit.Entry{Seq: seq, Position: e.position, EventID: e.id.String(), Stream: t.strs.str(e.stream), Revision: e.revision,
		Type: t.strs.str(e.typ), ActorID: t.strs.str(e.actorID), ActorRole: t.strs.str(e.actorRole),
		RecordedAt: time.UnixMicro(e.recordedAt).UTC(), OccurredAt: time.UnixMicro(e.occurredAt).UTC(), Reason: t.strs.str(e.reason),
		EventHash: e.eventHash, LeafHash: e.leafHash}
}

func newAuditTables() *auditTables {
	t := &auditTables{}
	t.reset()
	return t
}

func (t *auditTables) reset() {
	t.entries, t.strs, t.nodes, t.frontier, t.checkpoints = chunked[auditEntry]{}, newStrtab(), merkle.NewMemNodes(), nil, nil
	t.byActor, t.byStream, t.byType = map[uint32][]uint64{}, map[uint32][]uint64{}, map[uint32][]uint64{}
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
}

var _ audit.Store = (*auditTx)(nil)

func (t *auditTables) begin() *auditTx { return &auditTx{t: t} }

func (t *auditTables) commit(tx *auditTx) {
	// The nodes first: a reader that sees the new size finds every node of
	// it. Append checked that each node extends its level, so Put accepts
	// them all.
	if err := t.nodes.Put(tx.nodes...); err != nil {
		panic(fmt.Sprintf("memreadmodel: audit nodes checked on append were refused: %v", err))
	}
	for _, e := range tx.entries {
		id, _ := uuid.Parse(e.EventID)
		x := auditEntry{position: e.Position, revision: e.Revision, id: id, stream: t.strs.id(e.Stream), typ: t.strs.id(e.Type),
			actorID: t.strs.id(e.ActorID), actorRole: t.strs.id(e.ActorRole), reason: t.strs.id(e.Reason),
			recordedAt: e.RecordedAt.UnixMicro(), occurredAt: e.OccurredAt.UnixMicro(), eventHash: e.EventHash, leafHash: e.LeafHash}
		t.entries.add(x)
		t.byActor[x.actorID] = append(t.byActor[x.actorID], e.Seq)
		t.byStream[x.stream] = append(t.byStream[x.stream], e.Seq)
		t.byType[x.typ] = append(t.byType[x.typ], e.Seq)
	}
	if tx.frontierSet {
		t.frontier = tx.frontier
	}
	t.checkpoints = append(t.checkpoints, tx.checkpoints...)
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
// hands it to merkle.NewTreeFromFrontier, which copies it.
func (tx *auditTx) Frontier(context.Context) ([]merkle.Hash, error) {
	if tx.frontierSet {
		return tx.frontier, nil
	}
	return tx.t.frontier, nil
}

// Append stages e. It keeps frontier (audit.Apply passes a fresh copy,
// merkle.Tree.Frontier) instead of copying it again.
func (tx *auditTx) Append(_ context.Context, e audit.Entry, nodes []merkle.Node, frontier []merkle.Hash) error {
	size := tx.size()
	if e.Seq != size {
		return fmt.Errorf("memreadmodel: audit entry seq %d appended to a trail of %d", e.Seq, size)
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
func (r *AuditReader) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	r.lock.RLock()
	nodes := r.t.nodes
	r.lock.RUnlock()
	return nodes.Node(ctx, level, index)
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
	var seqs []uint64
	indexed := false
	for _, f := range []struct {
		v string
		m map[uint32][]uint64
	}{{q.Actor, r.t.byActor}, {q.Stream, r.t.byStream}, {q.Type, r.t.byType}} {
		if f.v == "" {
			continue
		}
		var list []uint64
		if id, ok := r.t.strs.lookup(f.v); ok {
			list = f.m[id]
		}
		if !indexed || len(list) < len(seqs) {
			seqs, indexed = list, true
		}
	}
	if indexed {
		i := sort.Search(len(seqs), func(i int) bool { return seqs[i] >= start })
		j := sort.Search(len(seqs), func(i int) bool { return seqs[i] >= end })
		if q.Desc {
			for k := j - 1; k >= i && len(out) < limit; k-- {
				if e := r.t.entry(seqs[k]); q.Match(e) {
					out = append(out, e)
				}
			}
			return out, nil
		}
		for ; i < j && len(out) < limit; i++ {
			if e := r.t.entry(seqs[i]); q.Match(e) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	if q.Desc {
		for seq := end; seq > start && len(out) < limit; seq-- {
			if e := r.t.entry(seq - 1); q.Match(e) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	for seq := start; seq < end && len(out) < limit; seq++ {
		if e := r.t.entry(seq); q.Match(e) {
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
		nodes, size := r.t.nodes, uint64(r.t.entries.len())
		r.lock.RUnlock()
		for level := uint8(0); level <= merkle.MaxLevel && size>>level > 0; level++ {
			for i := uint64(0); i < size>>level; i++ {
				h, err := nodes.Node(ctx, level, i)
				if !yield(merkle.Node{Level: level, Index: i, Hash: h}, err) || err != nil {
					return
				}
			}
		}
	}
}
