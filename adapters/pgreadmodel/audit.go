package pgreadmodel

import (
	"context"
	"fmt"
	"iter"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

type auditProjector struct{}

func (auditProjector) forget() {}

func (auditProjector) begin(tx pgx.Tx, n names) stager {
	return &auditStage{tx: tx, n: n, agencies: newAgencyStage()}
}

// auditStage holds one Apply's part of the trail: the tree's state when it
// began (read once), and the entries, nodes and checkpoints it adds.
type auditStage struct {
	tx          pgx.Tx
	n           names
	baseSize    uint64
	frontier    []merkle.Hash
	entries     []audit.Entry
	nodes       []merkle.Node
	checkpoints []audit.Checkpoint
	// staged indexes nodes[:indexed] by (level, index) for Node, built on
	// its first call: audit.Apply never calls it, so a rebuild writes no
	// map for its nodes.
	staged  map[nodeKey]merkle.Hash
	indexed int
	// agencies stages the agency logs (audit_agency.go).
	agencies *agencyStage
}

var _ audit.Store = (*auditStage)(nil)

func (s *auditStage) load(ctx context.Context, events []projections.Event) error {
	// An event is an entry and, on average, two nodes (its leaf and one
	// above): room for them at once rather than by growing.
	s.entries, s.nodes = make([]audit.Entry, 0, len(events)), make([]merkle.Node, 0, 2*len(events))
	if err := s.loadAgencies(ctx, events); err != nil {
		return err
	}
	var size int64
	var hashes []byte
	err := s.tx.QueryRow(ctx, `SELECT size, hashes FROM `+s.n.t("audit_frontier")+` ORDER BY size DESC LIMIT 1`).Scan(&size, &hashes)
	if errNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	s.baseSize = uint64(size)
	for i := 0; i+merkle.HashSize <= len(hashes); i += merkle.HashSize {
		s.frontier = append(s.frontier, merkle.Hash(hashes[i:i+merkle.HashSize]))
	}
	return nil
}

func (s *auditStage) apply(ctx context.Context, ev projections.Event) error {
	return audit.Apply(ctx, s, ev)
}

type nodeKey struct {
	level uint8
	index uint64
}

// Node implements merkle.NodeReader: a node staged by this Apply, else
// the stored one. audit.Apply does not read nodes (it extends the tree
// from the frontier), so the staged ones are indexed only when Node is
// first called, and the nodes staged since then on each later call,
// rather than by a map written for every node of every event.
func (s *auditStage) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	if s.staged == nil {
		s.staged = make(map[nodeKey]merkle.Hash, len(s.nodes))
	}
	for _, n := range s.nodes[s.indexed:] {
		s.staged[nodeKey{n.Level, n.Index}] = n.Hash
	}
	s.indexed = len(s.nodes)
	if h, ok := s.staged[nodeKey{level, index}]; ok {
		return h, nil
	}
	return nodeIn(ctx, s.tx, s.n, level, index)
}

func (s *auditStage) size() uint64 { return s.baseSize + uint64(len(s.entries)) }

func (s *auditStage) Size(context.Context) (uint64, error) { return s.size(), nil }

// Frontier implements audit.Store. It returns the staged frontier itself,
// not a copy: audit.Apply only builds its tree from it, and
// merkle.NewTreeFromFrontier copies it (a copy here too was two copies of
// ≈ 20 hashes per event, the rebuild's garbage). The result is read-only
// (audit.Store says so): the cap at its length only stops appends from
// writing into the stage's array; an in-place write (f[0] = h), or
// merkle.Tree.Append's truncate-then-append on a tree that did not copy
// it, still would.
func (s *auditStage) Frontier(context.Context) ([]merkle.Hash, error) {
	return s.frontier[:len(s.frontier):len(s.frontier)], nil
}

// Append implements audit.Store. It keeps frontier as it is given, not a
// copy: audit.Apply passes the tree's merkle.Tree.Frontier, a copy of its
// own that it does not touch again (Frontier above says why).
func (s *auditStage) Append(_ context.Context, e audit.Entry, nodes []merkle.Node, frontier []merkle.Hash) error {
	size := s.size()
	if e.Seq != size {
		return fmt.Errorf("audit entry seq %d appended to a trail of %d", e.Seq, size)
	}
	for _, n := range nodes {
		if n.Level > merkle.MaxLevel || n.Index+1 != (size+1)>>n.Level {
			return fmt.Errorf("audit node (%d, %d) does not extend the tree of %d leaves", n.Level, n.Index, size)
		}
	}
	s.entries = append(s.entries, e)
	s.nodes = append(s.nodes, nodes...)
	s.frontier = frontier
	return nil
}

func (s *auditStage) AddCheckpoint(_ context.Context, c audit.Checkpoint) error {
	s.checkpoints = append(s.checkpoints, c)
	return nil
}

var (
	auditEntryColumns = []string{"seq", "position", "event_id", "stream", "revision", "type", "actor_id", "actor_role", "recorded_at",
		"occurred_at", "reason", "event_hash", "leaf_hash"}
	auditNodeColumns       = []string{"level", "index", "hash"}
	auditCheckpointColumns = []column{{"position", "int8", ""}, {"size", "int8", ""}, {"signed_at", "timestamptz", ""},
		{"root_hash", "bytea", ""}, {"key_id", "text", ""}, {"signature", "text", ""}, {"origin", "text", ""}, {"note", "text", ""}}
)

// copies writes the entries and the nodes with COPY.
func (s *auditStage) copies() []copyRows {
	if len(s.entries) == 0 {
		return nil
	}
	// Level 0 (the leaves) is audit_entries.leaf_hash: audit_nodes holds
	// the nodes above it, half as many rows.
	var nodes []merkle.Node
	for _, nd := range s.nodes {
		if nd.Level > 0 {
			nodes = append(nodes, nd)
		}
	}
	return []copyRows{s.agencyCopies(), s.agencyNodeCopies(), {table: "audit_nodes", cols: auditNodeColumns, n: len(nodes), row: func(i int, w *copyRow) error {
		nd := &nodes[i]
		w.int16(int16(nd.Level))
		w.int64(int64(nd.Index))
		w.bytea(nd.Hash[:])
		return nil
	}}, {table: "audit_entries", cols: auditEntryColumns, n: len(s.entries), row: func(i int, w *copyRow) error {
		e := &s.entries[i]
		id, err := uuid.Parse(e.EventID)
		if err != nil {
			return err
		}
		w.int64(int64(e.Seq))
		w.int64(int64(e.Position))
		w.uuid(id)
		w.text(e.Stream)
		w.int64(int64(e.Revision))
		w.text(e.Type)
		w.text(e.ActorID)
		w.text(e.ActorRole)
		w.time(e.RecordedAt)
		w.time(e.OccurredAt)
		w.text(e.Reason)
		w.bytea(e.EventHash[:])
		w.bytea(e.LeafHash[:])
		return nil
	}}}
}

func (s *auditStage) flush(b *pgx.Batch) error {
	if len(s.entries) > 0 {
		// The entries and nodes are copied (copies).
		fr := make([]byte, 0, len(s.frontier)*merkle.HashSize)
		for _, h := range s.frontier {
			fr = append(fr, h[:]...)
		}
		b.Queue(`INSERT INTO `+s.n.t("audit_frontier")+` (size, hashes) VALUES ($1, $2)`, int64(s.size()), fr)
	}
	if n := len(s.checkpoints); n > 0 {
		pos, size := make([]int64, n), make([]int64, n)
		signed := make([]time.Time, n)
		root := make([][]byte, n)
		key, sig, origin, note := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, c := range s.checkpoints {
			pos[i], size[i], signed[i], root[i] = int64(c.Position), int64(c.Size), c.SignedAt, c.RootHash[:]
			key[i], sig[i], origin[i], note[i] = c.KeyID, c.Signature, c.Origin, c.Note
		}
		b.Queue(insertSQL(s.n.t("audit_checkpoints"), auditCheckpointColumns), pos, size, signed, root, key, sig, origin, note)
	}
	s.flushAgencies(b)
	return nil
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func nodeIn(ctx context.Context, q queryRower, n names, level uint8, index uint64) (merkle.Hash, error) {
	var b []byte
	var err error
	if level == 0 {
		err = q.QueryRow(ctx, `SELECT leaf_hash FROM `+n.t("audit_entries")+` WHERE seq = $1`, int64(index)).Scan(&b)
	} else {
		err = q.QueryRow(ctx, `SELECT hash FROM `+n.t("audit_nodes")+` WHERE level = $1 AND index = $2`, int16(level), int64(index)).Scan(&b)
	}
	if errNoRows(err) {
		return merkle.Hash{}, fmt.Errorf("pgreadmodel: audit node (%d, %d): %w", level, index, merkle.ErrNodeNotFound)
	}
	if err != nil {
		return merkle.Hash{}, fmt.Errorf("pgreadmodel: audit node (%d, %d): %w", level, index, err)
	}
	if len(b) != merkle.HashSize {
		return merkle.Hash{}, fmt.Errorf("pgreadmodel: audit node (%d, %d) holds %d bytes", level, index, len(b))
	}
	return merkle.Hash(b), nil
}

// AuditReader is the query side of the audit trail in PostgreSQL: an
// audit.Reader, the audit.Stored a verifier compares with what it
// recomputes, and the audit.TreeReader a signer signs.
type AuditReader struct{ db *DB }

var (
	_ audit.Reader      = (*AuditReader)(nil)
	_ audit.Stored      = (*AuditReader)(nil)
	_ audit.TreeReader  = (*AuditReader)(nil)
	_ audit.Watermarker = (*AuditReader)(nil)
)

// Watermark implements audit.Watermarker: the audit projection's
// checkpoint and the trail's size, in one statement (one snapshot; the
// projection stores both in one transaction).
func (r *AuditReader) Watermark(ctx context.Context) (eventstore.Position, uint64, error) {
	var pos, size int64
	err := r.db.pool.QueryRow(ctx, `SELECT
		coalesce((SELECT position FROM `+r.db.names.t("checkpoints")+` WHERE projection = $1), 0),
		coalesce((SELECT max(size) FROM `+r.db.names.t("audit_frontier")+`), 0)`, audit.Name).Scan(&pos, &size)
	if err != nil {
		return 0, 0, fmt.Errorf("pgreadmodel: audit watermark: %w", err)
	}
	return eventstore.Position(pos), uint64(size), nil
}

// Node implements merkle.NodeReader.
func (r *AuditReader) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	return nodeIn(ctx, r.db.pool, r.db.names, level, index)
}

// Size implements audit.Reader.
func (r *AuditReader) Size(ctx context.Context) (uint64, error) {
	var n int64
	if err := r.db.pool.QueryRow(ctx, `SELECT coalesce(max(size), 0) FROM `+r.db.names.t("audit_frontier")).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgreadmodel: audit size: %w", err)
	}
	return uint64(n), nil
}

const entryCols = `seq, position, event_id::text, stream, revision, type, actor_id, actor_role, recorded_at, occurred_at, reason, event_hash, leaf_hash`

func scanEntry(r pgx.Row) (audit.Entry, error) {
	var e audit.Entry
	var seq, pos, rev int64
	var eh, lh []byte
	err := r.Scan(&seq, &pos, &e.EventID, &e.Stream, &rev, &e.Type, &e.ActorID, &e.ActorRole, &e.RecordedAt, &e.OccurredAt, &e.Reason, &eh, &lh)
	if err != nil {
		return e, err
	}
	e.Seq, e.Position, e.Revision = uint64(seq), eventstore.Position(pos), uint64(rev)
	e.RecordedAt, e.OccurredAt = e.RecordedAt.UTC(), e.OccurredAt.UTC()
	copy(e.EventHash[:], eh)
	copy(e.LeafHash[:], lh)
	return e, nil
}

// Entries implements audit.Reader. Query.Limit ≤ 0 means
// audit.DefaultLimit; at most audit.MaxLimit entries come back.
func (r *AuditReader) Entries(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.AfterSet {
		arg("seq > $%d", int64(q.After))
	}
	if q.BeforeSet {
		arg("seq < $%d", int64(min(q.Before, math.MaxInt64)))
	}
	if q.Actor != "" {
		arg("actor_id = $%d", q.Actor)
	}
	if q.Stream != "" {
		arg("stream = $%d", q.Stream)
	}
	if q.Type != "" {
		arg("type = $%d", q.Type)
	}
	if q.AgencySet {
		arg("seq IN (SELECT seq FROM "+r.db.names.t("audit_agency_entries")+" WHERE agency = $%d)", q.Agency)
	}
	if !q.From.IsZero() {
		arg("recorded_at >= $%d", ceilMicro(q.From))
	}
	if !q.To.IsZero() {
		arg("recorded_at < $%d", ceilMicro(q.To))
	}
	sql := `SELECT ` + entryCols + ` FROM ` + r.db.names.t("audit_entries")
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	order := "seq"
	if q.Desc {
		order = "seq DESC"
	}
	sql += fmt.Sprintf(` ORDER BY %s LIMIT %d`, order, audit.PageLimit(q.Limit))
	rows, err := r.db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: audit entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: audit entries: %w", err)
	}
	if out == nil {
		out = []audit.Entry{}
	}
	return out, nil
}

const checkpointCols = `position, size, signed_at, root_hash, key_id, signature, origin, note`

func scanCheckpoint(r pgx.Row) (audit.Checkpoint, error) {
	var c audit.Checkpoint
	var pos, size int64
	var root []byte
	err := r.Scan(&pos, &size, &c.SignedAt, &root, &c.KeyID, &c.Signature, &c.Origin, &c.Note)
	c.Position, c.Size, c.SignedAt = eventstore.Position(pos), uint64(size), c.SignedAt.UTC()
	copy(c.RootHash[:], root)
	c.Agencies = audit.NoteAgencies(c.Note)
	return c, err
}

// LatestCheckpoint implements audit.Reader.
func (r *AuditReader) LatestCheckpoint(ctx context.Context) (audit.Checkpoint, bool, error) {
	c, err := scanCheckpoint(r.db.pool.QueryRow(ctx, `SELECT `+checkpointCols+` FROM `+r.db.names.t("audit_checkpoints")+` ORDER BY position DESC LIMIT 1`))
	if errNoRows(err) {
		return audit.Checkpoint{}, false, nil
	}
	if err != nil {
		return audit.Checkpoint{}, false, fmt.Errorf("pgreadmodel: audit checkpoint: %w", err)
	}
	return c, true, nil
}

// Checkpoints returns every signed checkpoint read from the ledger, oldest
// first.
func (r *AuditReader) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	rows, err := r.db.pool.Query(ctx, `SELECT `+checkpointCols+` FROM `+r.db.names.t("audit_checkpoints")+` ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: audit checkpoints: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Checkpoint, error) { return scanCheckpoint(r) })
}

// auditPage is the page size of AllEntries and AllNodes.
const auditPage = 10000

// AllEntries implements audit.Stored: every stored entry in seq order, in
// pages (each its own short query, so that no transaction stays open).
func (r *AuditReader) AllEntries(ctx context.Context) iter.Seq2[audit.Entry, error] {
	return func(yield func(audit.Entry, error) bool) {
		after := int64(-1)
		for {
			rows, err := r.db.pool.Query(ctx, `SELECT `+entryCols+` FROM `+r.db.names.t("audit_entries")+` WHERE seq > $1 ORDER BY seq LIMIT $2`, after, auditPage)
			if err != nil {
				yield(audit.Entry{}, fmt.Errorf("pgreadmodel: audit entries: %w", err))
				return
			}
			page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) { return scanEntry(r) })
			if err != nil {
				yield(audit.Entry{}, fmt.Errorf("pgreadmodel: audit entries: %w", err))
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if len(page) < auditPage {
				return
			}
			after = int64(page[len(page)-1].Seq)
		}
	}
}

// AllNodes implements audit.Stored: every stored node, by level and index,
// in pages: the leaves (level 0, audit_entries.leaf_hash), then the nodes
// above them (audit_nodes).
func (r *AuditReader) AllNodes(ctx context.Context) iter.Seq2[merkle.Node, error] {
	return func(yield func(merkle.Node, error) bool) {
		for e, err := range r.AllEntries(ctx) {
			if !yield(merkle.Node{Level: 0, Index: e.Seq, Hash: e.LeafHash}, err) || err != nil {
				return
			}
		}
		level, index := int16(0), int64(-1)
		for {
			rows, err := r.db.pool.Query(ctx, `SELECT level, index, hash FROM `+r.db.names.t("audit_nodes")+`
				WHERE (level, index) > ($1, $2) ORDER BY level, index LIMIT $3`, level, index, auditPage)
			if err != nil {
				yield(merkle.Node{}, fmt.Errorf("pgreadmodel: audit nodes: %w", err))
				return
			}
			page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (merkle.Node, error) {
				var n merkle.Node
				var l int16
				var i int64
				var h []byte
				err := r.Scan(&l, &i, &h)
				n.Level, n.Index = uint8(l), uint64(i)
				copy(n.Hash[:], h)
				return n, err
			})
			if err != nil {
				yield(merkle.Node{}, fmt.Errorf("pgreadmodel: audit nodes: %w", err))
				return
			}
			for _, n := range page {
				if !yield(n, nil) {
					return
				}
			}
			if len(page) < auditPage {
				return
			}
			last := page[len(page)-1]
			level, index = int16(last.Level), int64(last.Index)
		}
	}
}
