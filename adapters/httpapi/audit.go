package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain"
	nipkg "github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// registerAudit registers the audit-trail routes (AUDITOR only, as
// authz.ReadAudit decides; 403: the trail's existence is no secret).
func (s *Server) registerAudit(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/audit", s.auditEntries)
	s.read(r, http.MethodGet, "/v1/audit/checkpoint", s.auditCheckpoint)
	s.read(r, http.MethodGet, "/v1/audit/proof", s.auditProof)
	s.read(r, http.MethodGet, "/v1/audit/bundle", s.auditBundle)
	// Verification reads and checks; it changes nothing, so it takes no
	// Idempotency-Key.
	s.read(r, http.MethodPost, "/v1/audit/verify", s.auditVerify)
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
// next page (with order=desc, newest first: its "before"), null at the
// end.
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
	// Agency and Index, for a proof in an agency's log: the log and the
	// entry's index in it (the proof's leaf index; Size is the agency
	// log's). AgencyCheckpoint is its latest agency checkpoint, when of
	// Size.
	Agency           *string                 `json:"agency,omitempty"`
	Index            *uint64                 `json:"index,omitempty"`
	AgencyCheckpoint *audit.AgencyCheckpoint `json:"agency_checkpoint,omitempty"`
}

// agencyParam reads ?agency= (an agency's root unit ID; "-" names the
// national log of events of no agency).
func agencyParam(q *query) app.AgencyRequest {
	a := q.str("agency", 200)
	if a == "" {
		return app.AgencyRequest{}
	}
	if a == "-" {
		return app.AgencyRequest{Agency: audit.NationalLog, Set: true}
	}
	return app.AgencyRequest{Agency: a, Set: true}
}

func (s *Server) auditEntries(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.AuthorizeAudit(principal(r)); err != nil {
		return err
	}
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
	aq.Before, aq.BeforeSet = q.uint("before")
	aq.Desc = q.enum("order", []string{"asc", "desc"}) == "desc"
	ar := agencyParam(q)
	aq.Agency, aq.AgencySet = ar.Agency, ar.Set
	if err := q.err(); err != nil {
		return err
	}
	limit := aq.Limit
	aq.Limit++
	entries, err := s.app.AuditEntries(r.Context(), principal(r), aq)
	if err != nil {
		return err
	}
	page := AuditPage{Items: []AuditItem{}}
	for i, e := range entries {
		if i == limit {
			next := entries[limit-1].Seq
			page.Next = &next
			break
		}
		item := AuditItem{Seq: e.Seq, Position: e.Position, EventID: e.EventID, Stream: e.Stream, Revision: e.Revision,
			Type: e.Type, Actor: EventActor{NIP: e.ActorID, Role: e.ActorRole}, RecordedAt: e.RecordedAt, OccurredAt: e.OccurredAt,
			Reason: e.Reason, LeafHash: e.LeafHash}
		if skp.RedactedEvent(e.Type) {
			if aq.Actor != "" {
				continue // a filter by actor must not find who answered
			}
			item.Actor = EventActor{NIP: skp.RedactedActor}
		}
		page.Items = append(page.Items, item)
	}
	s.positionHeader(w, r, audit.Name)
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	ar := agencyParam(q)
	if err := q.err(); err != nil {
		return err
	}
	st, err := s.app.AuditStateOf(r.Context(), principal(r), ar)
	if err != nil {
		return err
	}
	if !st.HasCheckpoint {
		return &domain.NotFoundError{Kind: "checkpoint", ID: "latest"}
	}
	s.positionHeader(w, r, audit.Name)
	if st.AgencyCheckpoint != nil {
		return writeJSON(w, http.StatusOK, st.AgencyCheckpoint)
	}
	return writeJSON(w, http.StatusOK, st.Checkpoint)
}

func (s *Server) auditProof(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.AuthorizeAudit(principal(r)); err != nil {
		return err
	}
	q := newQuery(r)
	seq, hasSeq := q.uint("seq")
	size, hasSize := q.uint("size")
	ar := agencyParam(q)
	if err := q.err(); err != nil {
		return err
	}
	if !hasSeq {
		return badRequest("seq", "required")
	}
	ctx := r.Context()
	var sizeOpt *uint64
	if hasSize {
		sizeOpt = &size
	} else {
		// The latest signed checkpoint's tree, or the tree as it is.
		st, err := s.app.AuditStateOf(ctx, principal(r), ar)
		if err != nil {
			return err
		}
		if st.Agency == nil {
			size = st.Size
			if st.HasCheckpoint && st.Checkpoint.Size <= st.Size {
				size = st.Checkpoint.Size
			}
			sizeOpt = &size
		}
		// In an agency's log the default depends on the entry's index:
		// the application layer picks it.
	}
	p, err := s.app.ProofOf(ctx, principal(r), ar, seq, sizeOpt)
	if err != nil {
		return err
	}
	s.positionHeader(w, r, audit.Name)
	return writeJSON(w, http.StatusOK, InclusionProof{Seq: p.Seq, Size: p.Size, LeafHash: p.Leaf, RootHash: p.Root, Proof: p.Path, Checkpoint: p.Checkpoint,
		Agency: p.Agency, Index: p.Index, AgencyCheckpoint: p.AgencyCheckpoint})
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	ar := agencyParam(q)
	if err := q.err(); err != nil {
		return err
	}
	rep, err := s.app.VerifyOf(r.Context(), principal(r), ar)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// auditBundle answers GET /v1/audit/bundle?nip=&year=[&reason=]: the appeal
// bundle of an employee's year (what `kinerjactl export` writes), verifiable
// offline with `kinerjactl verify --bundle`. A bundle that holds 360°
// answers names their givers: it needs ?reason= and is recorded as a
// disclosure of each such round (discloseBundle).
func (s *Server) auditBundle(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.AuthorizeAudit(principal(r)); err != nil {
		return err
	}
	q := newQuery(r)
	nip := q.str("nip", 40)
	year := q.int("year", 0, 2000, 2100)
	ar := agencyParam(q)
	if err := q.err(); err != nil {
		return err
	}
	if nip == "" {
		return badRequest("nip", "required")
	}
	if _, err := nipkg.Parse(nip); err != nil {
		return badRequest("nip", "%v", err)
	}
	if year == 0 {
		return badRequest("year", "required")
	}
	b, err := s.app.BundleOf(r.Context(), principal(r), ar, nip, year)
	if err != nil {
		return err
	}
	if err := s.discloseBundle(w, r, b); err != nil {
		return err
	}
	s.positionHeader(w, r, audit.Name)
	return writeJSON(w, http.StatusOK, b)
}

// DisclosedRoundsHeader names the 360° rounds whose givers an appeal
// bundle disclosed (recorded as skp.feedback_answers_disclosed.v1).
const DisclosedRoundsHeader = "Kinerja-Disclosed-Rounds"

// discloseBundle records that bundle b, about to be answered, discloses
// the givers of the 360° rounds whose answers it holds, with ?reason=
// (app.DiscloseBundleGivers): 422 naming reason without one, and then
// nothing is recorded or answered. The rounds disclosed are named in the
// Kinerja-Disclosed-Rounds header (skp_id/round_id, comma-separated).
func (s *Server) discloseBundle(w http.ResponseWriter, r *http.Request, b audit.Bundle) error {
	q := newQuery(r)
	reason := q.str("reason", 1000)
	if err := q.err(); err != nil {
		return err
	}
	req, err := domainRequest(r, common{Reason: reason})
	if err != nil {
		return err
	}
	rounds, err := app.DiscloseBundleGivers(r.Context(), s.svc(r).skps, req, b, reason)
	if err != nil {
		return err
	}
	if len(rounds) > 0 {
		names := make([]string, len(rounds))
		for i, rd := range rounds {
			names[i] = rd.SKPID + "/" + rd.RoundID
		}
		w.Header().Set(DisclosedRoundsHeader, strings.Join(names, ","))
	}
	return nil
}
