package pgreadmodel

// The agency logs of the audit trail (issue 15; migration 0004): the
// stage's part (audit.AgencyStore) and the reader's (audit.AgencyReader,
// audit.AgencyTrail, audit.AgencyStored).

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// agencyStage holds one Apply's part of the agency logs: the derivation
// keys loaded for the batch and those it sets, each agency's state when
// first touched (read once), and the rows it adds.
type agencyStage struct {
	keys     map[audit.AgencyKey]string // loaded, then overwritten by the batch
	loaded   map[audit.AgencyKey]bool
	keyRows  []agencyKeyRow
	logs     map[string]*agencyStageLog
	order    []string // agencies in the order first touched
	entries  []audit.AgencyEntry
	nodeRows []agencyNodeRow
}

type agencyKeyRow struct {
	key    audit.AgencyKey
	pos    eventstore.Position
	agency string
}

type agencyNodeRow struct {
	agency string
	node   merkle.Node
}

type agencyStageLog struct {
	size     uint64
	frontier []merkle.Hash
	grew     bool
}

func newAgencyStage() *agencyStage {
	return &agencyStage{keys: map[audit.AgencyKey]string{}, loaded: map[audit.AgencyKey]bool{}, logs: map[string]*agencyStageLog{}}
}

// loadAgencies reads, in one query, the derivation keys the batch's events
// may read.
func (s *auditStage) loadAgencies(ctx context.Context, events []projections.Event) error {
	var kinds, ids []string
	for _, ev := range events {
		for _, k := range audit.KeysRead(ev.Event) {
			if !s.agencies.loaded[k] {
				s.agencies.loaded[k] = true
				kinds, ids = append(kinds, string(rune(k.Kind))), append(ids, k.ID)
			}
		}
	}
	if len(kinds) == 0 {
		return nil
	}
	rows, err := s.tx.Query(ctx, `SELECT DISTINCT ON (k.kind, k.id) k.kind, k.id, k.agency FROM `+s.n.t("audit_agency_keys")+` k
		JOIN unnest($1::text[], $2::text[]) AS u(kind, id) ON k.kind = u.kind AND k.id = u.id
		ORDER BY k.kind, k.id, k.position DESC`, kinds, ids)
	if err != nil {
		return fmt.Errorf("audit agency keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id, agency string
		if err := rows.Scan(&kind, &id, &agency); err != nil {
			return err
		}
		s.agencies.keys[audit.AgencyKey{Kind: audit.KeyKind(kind[0]), ID: id}] = agency
	}
	return rows.Err()
}

// AgencyOf implements audit.AgencyStore.
func (s *auditStage) AgencyOf(ctx context.Context, k audit.AgencyKey) (string, bool, error) {
	if a, ok := s.agencies.keys[k]; ok {
		return a, true, nil
	}
	if s.agencies.loaded[k] {
		return "", false, nil
	}
	// Not announced by KeysRead: read it alone.
	var a string
	err := s.tx.QueryRow(ctx, `SELECT agency FROM `+s.n.t("audit_agency_keys")+` WHERE kind = $1 AND id = $2 ORDER BY position DESC LIMIT 1`,
		string(rune(k.Kind)), k.ID).Scan(&a)
	s.agencies.loaded[k] = true
	if errNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("audit agency key: %w", err)
	}
	s.agencies.keys[k] = a
	return a, true, nil
}

// SetAgencyOf implements audit.AgencyStore.
func (s *auditStage) SetAgencyOf(_ context.Context, k audit.AgencyKey, agency string, pos eventstore.Position) error {
	s.agencies.keys[k], s.agencies.loaded[k] = agency, true
	s.agencies.keyRows = append(s.agencies.keyRows, agencyKeyRow{k, pos, agency})
	return nil
}

// agencyLog returns agency's staged state, reading it on first use.
func (s *auditStage) agencyLog(ctx context.Context, agency string) (*agencyStageLog, error) {
	if l, ok := s.agencies.logs[agency]; ok {
		return l, nil
	}
	l := &agencyStageLog{}
	var size int64
	var hashes []byte
	err := s.tx.QueryRow(ctx, `SELECT size, hashes FROM `+s.n.t("audit_agency_frontier")+` WHERE agency = $1 ORDER BY size DESC LIMIT 1`, agency).Scan(&size, &hashes)
	switch {
	case errNoRows(err):
	case err != nil:
		return nil, fmt.Errorf("audit agency frontier: %w", err)
	default:
		l.size = uint64(size)
		for i := 0; i+merkle.HashSize <= len(hashes); i += merkle.HashSize {
			l.frontier = append(l.frontier, merkle.Hash(hashes[i:i+merkle.HashSize]))
		}
	}
	s.agencies.logs[agency] = l
	s.agencies.order = append(s.agencies.order, agency)
	return l, nil
}

// AgencySize implements audit.AgencyStore.
func (s *auditStage) AgencySize(ctx context.Context, agency string) (uint64, error) {
	l, err := s.agencyLog(ctx, agency)
	if err != nil {
		return 0, err
	}
	return l.size, nil
}

// AgencyFrontier implements audit.AgencyStore. Like Frontier, it returns
// the staged frontier itself, which audit's applyAgency copies into its
// tree: read-only, the cap at its length only stops appends (Frontier).
func (s *auditStage) AgencyFrontier(ctx context.Context, agency string) ([]merkle.Hash, error) {
	l, err := s.agencyLog(ctx, agency)
	if err != nil {
		return nil, err
	}
	return l.frontier[:len(l.frontier):len(l.frontier)], nil
}

// AppendAgency implements audit.AgencyStore. Like Append, it keeps
// frontier as given (the tree's own copy).
func (s *auditStage) AppendAgency(ctx context.Context, e audit.AgencyEntry, nodes []merkle.Node, frontier []merkle.Hash) error {
	l, err := s.agencyLog(ctx, e.Agency)
	if err != nil {
		return err
	}
	if e.Index != l.size || e.Seq+1 != s.size() {
		return fmt.Errorf("audit agency %q entry %d (seq %d) appended to a log of %d (trail of %d)", e.Agency, e.Index, e.Seq, l.size, s.size())
	}
	for _, n := range nodes {
		if n.Level > merkle.MaxLevel || n.Index+1 != (l.size+1)>>n.Level {
			return fmt.Errorf("audit agency %q node (%d, %d) does not extend the tree of %d leaves", e.Agency, n.Level, n.Index, l.size)
		}
		if n.Level > 0 {
			s.agencies.nodeRows = append(s.agencies.nodeRows, agencyNodeRow{e.Agency, n})
		}
	}
	s.agencies.entries = append(s.agencies.entries, e)
	l.size++
	l.frontier = frontier
	l.grew = true
	return nil
}

var agencyEntryColumns = []string{"agency", "index", "seq", "position", "leaf_hash"}

// agencyNodeCopies writes the agency logs' nodes above the leaves with
// COPY.
func (s *auditStage) agencyNodeCopies() copyRows {
	ns := s.agencies.nodeRows
	return copyRows{table: "audit_agency_nodes", cols: agencyNodeColumns, n: len(ns), row: func(i int, w *copyRow) error {
		r := &ns[i]
		w.text(r.agency)
		w.int16(int16(r.node.Level))
		w.int64(int64(r.node.Index))
		w.bytea(r.node.Hash[:])
		return nil
	}}
}

// agencyCopies writes the agency entries with COPY.
func (s *auditStage) agencyCopies() copyRows {
	es := s.agencies.entries
	return copyRows{table: "audit_agency_entries", cols: agencyEntryColumns, n: len(es), row: func(i int, w *copyRow) error {
		e := &es[i]
		w.text(e.Agency)
		w.int64(int64(e.Index))
		w.int64(int64(e.Seq))
		w.int64(int64(e.Position))
		w.bytea(e.LeafHash[:])
		return nil
	}}
}

var (
	agencyKeyColumns        = []column{{"kind", "text", ""}, {"id", "text", ""}, {"position", "int8", ""}, {"agency", "text", ""}}
	agencyNodeColumns       = []string{"agency", "level", "index", "hash"}
	agencyFrontierColumns   = []column{{"agency", "text", ""}, {"size", "int8", ""}, {"hashes", "bytea", ""}}
	agencyCheckpointColumns = []column{{"agency", "text", ""}, {"position", "int8", ""}, {"size", "int8", ""}, {"signed_at", "timestamptz", ""},
		{"root_hash", "bytea", ""}, {"key_id", "text", ""}, {"signature", "text", ""}, {"origin", "text", ""}, {"note", "text", ""}}
)

// flushAgencies queues the agency logs' rows but the entries and nodes
// (COPY).
func (s *auditStage) flushAgencies(b *pgx.Batch) {
	st := s.agencies
	if n := len(st.keyRows); n > 0 {
		kind, id, pos, agency := make([]string, n), make([]string, n), make([]int64, n), make([]string, n)
		for i, r := range st.keyRows {
			kind[i], id[i], pos[i], agency[i] = string(rune(r.key.Kind)), r.key.ID, int64(r.pos), r.agency
		}
		b.Queue(insertSQL(s.n.t("audit_agency_keys"), agencyKeyColumns), kind, id, pos, agency)
	}
	var fa []string
	var fs []int64
	var fh [][]byte
	for _, a := range st.order {
		l := st.logs[a]
		if !l.grew {
			continue
		}
		h := make([]byte, 0, len(l.frontier)*merkle.HashSize)
		for _, x := range l.frontier {
			h = append(h, x[:]...)
		}
		fa, fs, fh = append(fa, a), append(fs, int64(l.size)), append(fh, h)
	}
	if len(fa) > 0 {
		b.Queue(insertSQL(s.n.t("audit_agency_frontier"), agencyFrontierColumns), fa, fs, fh)
	}
	var cps []audit.AgencyCheckpoint
	for _, c := range s.checkpoints {
		cps = append(cps, c.AgencyCheckpoints...)
	}
	if n := len(cps); n > 0 {
		agency, pos, size := make([]string, n), make([]int64, n), make([]int64, n)
		signed := make([]time.Time, n)
		root := make([][]byte, n)
		key, sig, origin, note := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, c := range cps {
			agency[i], pos[i], size[i], signed[i], root[i] = c.Agency, int64(c.Position), int64(c.Size), c.SignedAt, c.RootHash[:]
			key[i], sig[i], origin[i], note[i] = c.KeyID, c.Signature, c.Origin, c.Note
		}
		b.Queue(insertSQL(s.n.t("audit_agency_checkpoints"), agencyCheckpointColumns), agency, pos, size, signed, root, key, sig, origin, note)
	}
}

var (
	_ audit.AgencyReader = (*AuditReader)(nil)
	_ audit.AgencyTrail  = (*AuditReader)(nil)
	_ audit.AgencyStored = (*AuditReader)(nil)
)

// latestAgencySizes is each agency log's size.
func (r *AuditReader) latestAgencySizes() string {
	return `SELECT DISTINCT ON (agency) agency, size FROM ` + r.db.names.t("audit_agency_frontier") + ` ORDER BY agency, size DESC`
}

// Heads implements audit.AgencyTrail: one statement, one snapshot.
func (r *AuditReader) Heads(ctx context.Context) (uint64, []audit.AgencyHead, error) {
	var size int64
	var agencies []string
	var sizes []int64
	err := r.db.pool.QueryRow(ctx, `SELECT coalesce((SELECT max(size) FROM `+r.db.names.t("audit_frontier")+`), 0),
		coalesce(array_agg(x.agency ORDER BY x.agency), '{}'), coalesce(array_agg(x.size ORDER BY x.agency), '{}')
		FROM (`+r.latestAgencySizes()+`) x`).Scan(&size, &agencies, &sizes)
	if err != nil {
		return 0, nil, fmt.Errorf("pgreadmodel: audit heads: %w", err)
	}
	heads := make([]audit.AgencyHead, len(agencies))
	for i := range agencies {
		heads[i] = audit.AgencyHead{Agency: agencies[i], Size: uint64(sizes[i])}
	}
	return uint64(size), heads, nil
}

// Agencies implements audit.AgencyReader.
func (r *AuditReader) Agencies(ctx context.Context) ([]audit.AgencyHead, error) {
	_, heads, err := r.Heads(ctx)
	return heads, err
}

// AgencySize implements audit.AgencyReader.
func (r *AuditReader) AgencySize(ctx context.Context, agency string) (uint64, error) {
	var n int64
	if err := r.db.pool.QueryRow(ctx, `SELECT coalesce(max(size), 0) FROM `+r.db.names.t("audit_agency_frontier")+` WHERE agency = $1`, agency).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgreadmodel: audit agency size: %w", err)
	}
	return uint64(n), nil
}

// agencyNodes reads one agency's tree: level 0 from its entries.
type agencyNodes struct {
	r      *AuditReader
	agency string
}

func (n agencyNodes) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	var b []byte
	var err error
	if level == 0 {
		err = n.r.db.pool.QueryRow(ctx, `SELECT leaf_hash FROM `+n.r.db.names.t("audit_agency_entries")+` WHERE agency = $1 AND index = $2`,
			n.agency, int64(index)).Scan(&b)
	} else {
		err = n.r.db.pool.QueryRow(ctx, `SELECT hash FROM `+n.r.db.names.t("audit_agency_nodes")+` WHERE agency = $1 AND level = $2 AND index = $3`,
			n.agency, int16(level), int64(index)).Scan(&b)
	}
	if errNoRows(err) {
		return merkle.Hash{}, fmt.Errorf("pgreadmodel: agency %q node (%d, %d): %w", n.agency, level, index, merkle.ErrNodeNotFound)
	}
	if err != nil {
		return merkle.Hash{}, fmt.Errorf("pgreadmodel: agency %q node (%d, %d): %w", n.agency, level, index, err)
	}
	if len(b) != merkle.HashSize {
		return merkle.Hash{}, fmt.Errorf("pgreadmodel: agency %q node (%d, %d) holds %d bytes", n.agency, level, index, len(b))
	}
	return merkle.Hash(b), nil
}

// AgencyNodes implements audit.AgencyReader.
func (r *AuditReader) AgencyNodes(agency string) merkle.NodeReader { return agencyNodes{r, agency} }

const agencyEntryCols = `agency, index, seq, position, leaf_hash`

func scanAgencyEntry(row pgx.Row) (audit.AgencyEntry, error) {
	var e audit.AgencyEntry
	var idx, seq, pos int64
	var lh []byte
	err := row.Scan(&e.Agency, &idx, &seq, &pos, &lh)
	e.Index, e.Seq, e.Position = uint64(idx), uint64(seq), eventstore.Position(pos)
	copy(e.LeafHash[:], lh)
	return e, err
}

// AgencyEntries implements audit.AgencyReader.
func (r *AuditReader) AgencyEntries(ctx context.Context, agency string, from, to uint64, limit int) ([]audit.AgencyEntry, error) {
	if from >= to {
		return []audit.AgencyEntry{}, nil
	}
	rows, err := r.db.pool.Query(ctx, `SELECT `+agencyEntryCols+` FROM `+r.db.names.t("audit_agency_entries")+`
		WHERE agency = $1 AND index >= $2 AND index < $3 ORDER BY index LIMIT $4`,
		agency, int64(min(from, 1<<63-1)), int64(min(to, 1<<63-1)), audit.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: audit agency entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.AgencyEntry, error) { return scanAgencyEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: audit agency entries: %w", err)
	}
	if out == nil {
		out = []audit.AgencyEntry{}
	}
	return out, nil
}

// AgencyOfSeq implements audit.AgencyReader.
func (r *AuditReader) AgencyOfSeq(ctx context.Context, seq uint64) (audit.AgencyEntry, bool, error) {
	if seq > 1<<63-1 {
		return audit.AgencyEntry{}, false, nil
	}
	e, err := scanAgencyEntry(r.db.pool.QueryRow(ctx, `SELECT `+agencyEntryCols+` FROM `+r.db.names.t("audit_agency_entries")+` WHERE seq = $1`, int64(seq)))
	if errNoRows(err) {
		return audit.AgencyEntry{}, false, nil
	}
	if err != nil {
		return audit.AgencyEntry{}, false, fmt.Errorf("pgreadmodel: audit agency of seq: %w", err)
	}
	return e, true, nil
}

const agencyCheckpointCols = `agency, position, size, signed_at, root_hash, key_id, signature, origin, note`

func scanAgencyCheckpoint(row pgx.Row) (audit.AgencyCheckpoint, error) {
	var c audit.AgencyCheckpoint
	var pos, size int64
	var root []byte
	err := row.Scan(&c.Agency, &pos, &size, &c.SignedAt, &root, &c.KeyID, &c.Signature, &c.Origin, &c.Note)
	c.Position, c.Size, c.SignedAt = eventstore.Position(pos), uint64(size), c.SignedAt.UTC()
	copy(c.RootHash[:], root)
	return c, err
}

// LatestAgencyCheckpoint implements audit.AgencyReader.
func (r *AuditReader) LatestAgencyCheckpoint(ctx context.Context, agency string) (audit.AgencyCheckpoint, bool, error) {
	c, err := scanAgencyCheckpoint(r.db.pool.QueryRow(ctx, `SELECT `+agencyCheckpointCols+` FROM `+r.db.names.t("audit_agency_checkpoints")+`
		WHERE agency = $1 ORDER BY position DESC LIMIT 1`, agency))
	if errNoRows(err) {
		return audit.AgencyCheckpoint{}, false, nil
	}
	if err != nil {
		return audit.AgencyCheckpoint{}, false, fmt.Errorf("pgreadmodel: audit agency checkpoint: %w", err)
	}
	return c, true, nil
}

// AgencyCheckpoints implements audit.AgencyReader.
func (r *AuditReader) AgencyCheckpoints(ctx context.Context, agency string) ([]audit.AgencyCheckpoint, error) {
	rows, err := r.db.pool.Query(ctx, `SELECT `+agencyCheckpointCols+` FROM `+r.db.names.t("audit_agency_checkpoints")+`
		WHERE agency = $1 ORDER BY position`, agency)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: audit agency checkpoints: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.AgencyCheckpoint, error) { return scanAgencyCheckpoint(r) })
}
