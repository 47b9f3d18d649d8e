package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// registerAudit registers the audit-trail routes (AUDITOR only).
func (s *Server) registerAudit(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/audit", s.auditor(s.auditEntries))
	s.read(r, http.MethodGet, "/v1/audit/checkpoint", s.auditor(s.auditCheckpoint))
	s.read(r, http.MethodGet, "/v1/audit/proof", s.auditor(s.auditProof))
	// Verification reads and checks; it changes nothing, so it takes no
	// Idempotency-Key.
	s.read(r, http.MethodPost, "/v1/audit/verify", s.auditor(s.auditVerify))
}

// auditor refuses callers without the AUDITOR role (403: the trail's
// existence is no secret).
func (s *Server) auditor(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if p := principal(r); !p.Has(domain.RoleAuditor) {
			return &authz.Denied{Caller: p.ID, Action: "audit.read", Visible: true, Reason: "the audit trail is for AUDITOR"}
		}
		return h(w, r)
	}
}

// AuditItem is one audit-trail entry.
type AuditItem struct {
	Seq        uint64              `json:"seq"`
	Position   eventstore.Position `json:"position"`
	EventID    string              `json:"event_id"`
	Stream     string              `json:"stream"`
	Revision   uint64              `json:"revision"`
	Type       string              `json:"type"`
	Actor      EventActor          `json:"actor"`
	RecordedAt time.Time           `json:"recorded_at"`
	OccurredAt time.Time           `json:"occurred_at"`
	Reason     string              `json:"reason"`
	LeafHash   merkle.Hash         `json:"leaf_hash"`
}

// AuditPage is the answer of GET /v1/audit; Next is the "after" of the
// next page (null at the end).
type AuditPage struct {
	Items []AuditItem `json:"items"`
	Next  *uint64     `json:"next"`
}

// InclusionProof is the answer of GET /v1/audit/proof: the audit path of
// entry Seq in the tree of Size leaves, from leaf to root (RFC 9162).
type InclusionProof struct {
	Seq      uint64        `json:"seq"`
	Size     uint64        `json:"size"`
	LeafHash merkle.Hash   `json:"leaf_hash"`
	RootHash merkle.Hash   `json:"root_hash"`
	Proof    []merkle.Hash `json:"proof"`
	// Checkpoint is the signed checkpoint of Size, when Size is the latest
	// checkpoint's.
	Checkpoint *audit.Checkpoint `json:"checkpoint,omitempty"`
}

func (s *Server) auditEntries(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	aq := audit.Query{
		Limit:  q.int("limit", 100, 1, 1000),
		Actor:  q.str("actor", 200),
		Stream: q.str("stream", 200),
		Type:   q.str("type", 100),
		From:   q.time("from"),
		To:     q.time("to"),
	}
	aq.After, aq.AfterSet = q.uint("after")
	if err := q.err(); err != nil {
		return err
	}
	limit := aq.Limit
	aq.Limit++
	entries, err := s.cfg.Audit.Entries(r.Context(), aq)
	if err != nil {
		return err
	}
	page := AuditPage{Items: []AuditItem{}}
	for i, e := range entries {
		if i == limit {
			next := page.Items[limit-1].Seq
			page.Next = &next
			break
		}
		page.Items = append(page.Items, AuditItem{Seq: e.Seq, Position: e.Position, EventID: e.EventID, Stream: e.Stream, Revision: e.Revision,
			Type: e.Type, Actor: EventActor{NIP: e.ActorID, Role: e.ActorRole}, RecordedAt: e.RecordedAt, OccurredAt: e.OccurredAt,
			Reason: e.Reason, LeafHash: e.LeafHash})
	}
	s.positionHeader(w, r, audit.Name)
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request) error {
	cp, ok, err := s.cfg.Audit.LatestCheckpoint(r.Context())
	if err != nil {
		return err
	}
	if !ok {
		return &domain.NotFoundError{Kind: "checkpoint", ID: "latest"}
	}
	s.positionHeader(w, r, audit.Name)
	return writeJSON(w, http.StatusOK, cp)
}

func (s *Server) auditProof(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	seq, hasSeq := q.uint("seq")
	size, hasSize := q.uint("size")
	if err := q.err(); err != nil {
		return err
	}
	if !hasSeq {
		return badRequest("seq", "required")
	}
	ctx := r.Context()
	cur, err := s.cfg.Audit.Size(ctx)
	if err != nil {
		return err
	}
	cp, hasCP, err := s.cfg.Audit.LatestCheckpoint(ctx)
	if err != nil {
		return err
	}
	if !hasSize {
		size = cur
		if hasCP && cp.Size <= cur {
			size = cp.Size
		}
	}
	var v domain.ValidationError
	if size > cur {
		v.Add("size", "the trail has %d entries", cur)
	}
	if seq >= size {
		v.Add("seq", "must be below the tree size %d", size)
	}
	if err := v.Err(); err != nil {
		return err
	}
	proof, err := merkle.InclusionProof(ctx, s.cfg.Audit, seq, size)
	if err != nil {
		return err
	}
	root, err := merkle.RootAt(ctx, s.cfg.Audit, size)
	if err != nil {
		return err
	}
	leaf, err := s.cfg.Audit.Node(ctx, 0, seq)
	if err != nil {
		return err
	}
	if err := merkle.VerifyInclusion(leaf, seq, size, proof, root); err != nil {
		return fmt.Errorf("audit: the stored tree gives a proof that does not verify: %w", err)
	}
	out := InclusionProof{Seq: seq, Size: size, LeafHash: leaf, RootHash: root, Proof: proof}
	if out.Proof == nil {
		out.Proof = []merkle.Hash{}
	}
	if hasCP && cp.Size == size {
		out.Checkpoint = &cp
	}
	s.positionHeader(w, r, audit.Name)
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.cfg.Verifier.Verify(r.Context())
	if err != nil {
		return err
	}
	if rep.Problems == nil {
		rep.Problems = []audit.Problem{}
	}
	return writeJSON(w, http.StatusOK, rep)
}
