package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// registerSKPs registers the SKP plan and execution routes.
func (s *Server) registerSKPs(r *mux.Router) {
	s.mutation(r, http.MethodPost, "/v1/skps", http.StatusCreated, s.draftSKP)
	s.read(r, http.MethodGet, "/v1/skps", s.listSKPs)
	s.readPrefetched(r, http.MethodGet, "/v1/skps/{id}", s.getSKP, func(ctx context.Context, p domain.Principal, r *http.Request) context.Context {
		return s.app.PrefetchSKP(ctx, p, pathVar(r, "id"))
	})
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/rhk", http.StatusCreated, s.addRHK)
	s.mutation(r, http.MethodPut, "/v1/skps/{id}/rhk/{rhk_id}", http.StatusOK, s.changeRHK)
	s.mutation(r, http.MethodDelete, "/v1/skps/{id}/rhk/{rhk_id}", http.StatusOK, s.removeRHK)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/rhk/{rhk_id}/indicators", http.StatusCreated, s.addIndicator)
	s.mutation(r, http.MethodPut, "/v1/skps/{id}/indicators/{indicator_id}", http.StatusOK, s.changeIndicator)
	s.mutation(r, http.MethodDelete, "/v1/skps/{id}/indicators/{indicator_id}", http.StatusOK, s.removeIndicator)
	s.mutation(r, http.MethodPut, "/v1/skps/{id}/behaviour-expectations/{value}", http.StatusOK, s.setExpectation)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/submit", http.StatusOK, s.submitSKP)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/return", http.StatusOK, s.returnSKP)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/establish", http.StatusOK, s.establishSKP)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/amendment", http.StatusOK, s.amendSKP)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/cancel", http.StatusOK, s.cancelSKP)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/close", http.StatusOK, s.closeSKP)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/realisations", http.StatusCreated, s.recordRealisation)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/evidence", http.StatusCreated, s.attachEvidence)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/feedback", http.StatusCreated, s.giveFeedback)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/self-assessments", http.StatusCreated, s.submitSelfAssessment)
}

// DraftBody is the body of POST /v1/skps.
type DraftBody struct {
	common
	NIP      string `json:"nip"`
	Year     int    `json:"year"`
	Approach string `json:"approach"`
}

// RHKBody is the body of POST /v1/skps/{id}/rhk and PUT …/rhk/{rhk_id}.
type RHKBody struct {
	common
	Text            string `json:"text"`
	Kind            string `json:"kind"`
	IntervenedRHKID string `json:"intervened_rhk_id,omitempty"`
	PKRef           string `json:"pk_ref,omitempty"`
}

// TargetBody is an indicator's target.
type TargetBody struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// IndicatorBody is the body of POST …/rhk/{rhk_id}/indicators and PUT
// …/indicators/{indicator_id}.
type IndicatorBody struct {
	common
	Aspect string     `json:"aspect"`
	Text   string     `json:"text"`
	Target TargetBody `json:"target"`
	// Direction optionally overrides the aspect's direction for the
	// capaian: HIGHER_IS_BETTER or LOWER_IS_BETTER (issue 11).
	Direction string `json:"direction,omitempty"`
}

// ExpectationBody is the body of PUT …/behaviour-expectations/{value}.
type ExpectationBody struct {
	common
	Expectation string `json:"expectation"`
}

// ActionBody is the body of the plan transitions (submit, return,
// establish, amendment, cancel) and of deletions: only the common fields;
// return, amendment and cancel need reason.
type ActionBody struct {
	common
}

// CloseBody is the body of POST /v1/skps/{id}/close.
type CloseBody struct {
	common
	EffectiveFrom calendar.Date `json:"effective_from"`
}

// RealisationBody is the body of POST …/realisations.
type RealisationBody struct {
	common
	Period      string  `json:"period"`
	IndicatorID string  `json:"indicator_id"`
	Value       float64 `json:"value"`
	Narrative   string  `json:"narrative,omitempty"`
}

// EvidenceBody is the body of POST …/evidence (metadata of a file kept
// elsewhere).
type EvidenceBody struct {
	common
	IndicatorID string `json:"indicator_id"`
	URI         string `json:"uri"`
	SHA256      string `json:"sha256"`
	Filename    string `json:"filename"`
	MediaType   string `json:"media_type"`
	Size        int64  `json:"size"`
}

// FeedbackAboutBody says what feedback concerns (all empty: general).
type FeedbackAboutBody struct {
	RHKID       string `json:"rhk_id,omitempty"`
	IndicatorID string `json:"indicator_id,omitempty"`
	Behaviour   string `json:"behaviour,omitempty"`
}

// FeedbackBody is the body of POST …/feedback.
type FeedbackBody struct {
	common
	About FeedbackAboutBody `json:"about"`
	Text  string            `json:"text"`
}

// RHKNoteBody is a self-assessment's note on one RHK.
type RHKNoteBody struct {
	RHKID string `json:"rhk_id"`
	Note  string `json:"note"`
}

// SelfAssessmentBody is the body of POST …/self-assessments.
type SelfAssessmentBody struct {
	common
	Period   string        `json:"period"`
	Text     string        `json:"text"`
	RHKNotes []RHKNoteBody `json:"rhk_notes,omitempty"`
}

// Created answers commands that create an entity inside an SKP: its ID and
// the SKP's revision after the command.
type Created struct {
	RHKID         string `json:"rhk_id,omitempty"`
	IndicatorID   string `json:"indicator_id,omitempty"`
	RealisationID string `json:"realisation_id,omitempty"`
	EvidenceID    string `json:"evidence_id,omitempty"`
	FeedbackID    string `json:"feedback_id,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
	Revision      uint64 `json:"revision"`
}

// SKPPage is the answer of GET /v1/skps.
type SKPPage struct {
	Items      []skps.Summary `json:"items"`
	NextCursor *string        `json:"next_cursor"`
}

// writeSKP answers with SKP id as it is now (the caller was authorised by
// the command it just ran on it).
func (s *Server) writeSKP(w http.ResponseWriter, r *http.Request, status int, id string) error {
	sk, _, err := s.cfg.SKPs.Load(r.Context(), id)
	if err != nil {
		return err
	}
	if sk == nil {
		return &domain.NotFoundError{Kind: "skp", ID: id}
	}
	v := sk.View(s.cfg.Now())
	return writeVersioned(w, status, v.Revision, v)
}

// skpCommand decodes body into b, builds the request, runs do and answers
// with the SKP.
func (s *Server) skpCommand(w http.ResponseWriter, r *http.Request, b any, c *common, required bool,
	do func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error)) error {
	if err := decodeBody(r, b, required); err != nil {
		return err
	}
	req, err := domainRequest(r, *c)
	if err != nil {
		return err
	}
	id := pathVar(r, "id")
	if _, err := do(r.Context(), s.svc(r).skps, req, id); err != nil {
		return err
	}
	return s.writeSKP(w, r, http.StatusOK, id)
}

// skpCreate is skpCommand for commands that answer 201 with a new ID.
func (s *Server) skpCreate(w http.ResponseWriter, r *http.Request, b any, c *common,
	do func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (Created, domain.Committed, error)) error {
	if err := decodeBody(r, b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, *c)
	if err != nil {
		return err
	}
	out, committed, err := do(r.Context(), s.svc(r).skps, req, pathVar(r, "id"))
	if err != nil {
		return err
	}
	out.Revision = committed.Revision
	return writeVersioned(w, http.StatusCreated, committed.Revision, out)
}

func (s *Server) draftSKP(w http.ResponseWriter, r *http.Request) error {
	var b DraftBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	id, _, err := s.svc(r).skps.Draft(r.Context(), req, skp.Draft{NIP: b.NIP, Year: b.Year, Approach: b.Approach})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/skps/"+url.PathEscape(id))
	return s.writeSKP(w, r, http.StatusCreated, id)
}

func (s *Server) listSKPs(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	sq := skps.Query{
		NIP:    q.str("nip", 40),
		Year:   q.int("year", 0, skp.MinYear, skp.MaxYear),
		Status: q.enum("status", reports.Statuses()),
		Limit:  q.int("limit", 50, 1, 500),
	}
	unit := q.str("unit", 100)
	cursor := q.str("cursor", 500)
	if err := q.err(); err != nil {
		return err
	}
	// The cursor belongs to this caller and these filters (cursor.go).
	scope := []string{"skps", principal(r).ID, sq.NIP, strconv.Itoa(sq.Year), sq.Status, unit}
	var err error
	if sq.Cursor, err = openCursor(cursor, scope...); err != nil {
		return err
	}
	if sq.NIP != "" {
		info, err := nip.Parse(sq.NIP)
		if err != nil {
			return badRequest("nip", "not an NIP or NI PPPK")
		}
		sq.NIP = string(info.NIP)
	}
	if unit != "" {
		units, err := s.cfg.Directory.Subtree(r.Context(), unit)
		if err != nil {
			return err
		}
		sq.Units = units
	}
	items, next, err := s.app.ListSKPs(r.Context(), principal(r), sq)
	if err != nil {
		return err
	}
	page := SKPPage{Items: items}
	if page.Items == nil {
		page.Items = []skps.Summary{}
	}
	if next != "" {
		sealed := sealCursor(next, scope...)
		page.NextCursor = &sealed
	}
	s.positionHeader(w, r, skps.Name)
	return writeJSON(w, http.StatusOK, page)
}

// getSKP serves the SKP now, or as it was recorded at as_of, or after
// event revision, by replaying its stream.
func (s *Server) getSKP(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	var a skp.AsOf
	asOf, hasAsOf := q.timeOpt("as_of")
	a.RecordedAt = asOf
	if rev, ok := q.uint("revision"); ok {
		a.Revision = &rev
	}
	if err := q.err(); err != nil {
		return err
	}
	if a.Revision != nil && hasAsOf {
		return badRequest("as_of", "give as_of or revision, not both")
	}
	if hasAsOf && asOf.IsZero() {
		// The zero instant precedes every event; to the domain a zero
		// RecordedAt means "now", which would answer the current state.
		return &domain.NotFoundError{Kind: "skp", ID: pathVar(r, "id")}
	}
	if a.RecordedAt.After(s.cfg.Now()) {
		// What the ledger will know then is not known yet.
		return badRequest("as_of", "must not be in the future")
	}
	id := pathVar(r, "id")
	p, err := s.app.PrepareSKP(r.Context(), principal(r), id, a)
	if err != nil {
		return err
	}
	if a.Revision != nil && p.Revision != *a.Revision {
		return &domain.NotFoundError{Kind: "skp revision", ID: id + "@" + q.r.URL.Query().Get("revision")}
	}
	w.Header().Set("ETag", etag(p.Revision))
	// The ETag is the revision (the contract's concurrency token), but the
	// view of the current SKP also depends on the time (an objection window
	// closes, an evaluation becomes FINAL, with no new event). Only a view
	// fixed in time, as_of or revision, may be answered 304.
	if inm := r.Header.Get("If-None-Match"); inm != "" && p.Historical && slices.Contains(splitETags(inm), etag(p.Revision)) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body, err := s.renders.body(p, s.cfg.Now())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

func splitETags(h string) []string {
	var out []string
	for _, part := range strings.Split(h, ",") {
		out = append(out, strings.TrimPrefix(strings.TrimSpace(part), "W/"))
	}
	return out
}

func (s *Server) addRHK(w http.ResponseWriter, r *http.Request) error {
	var b RHKBody
	return s.skpCreate(w, r, &b, &b.common, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (Created, domain.Committed, error) {
		rid, c, err := svc.AddRHK(ctx, req, skp.AddRHK{SKPID: id, RHKFields: b.fields()})
		return Created{RHKID: rid}, c, err
	})
}

func (b RHKBody) fields() skp.RHKFields {
	return skp.RHKFields{Text: b.Text, Kind: b.Kind, IntervenedRHKID: b.IntervenedRHKID, PKRef: b.PKRef}
}

func (s *Server) changeRHK(w http.ResponseWriter, r *http.Request) error {
	var b RHKBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.ChangeRHK(ctx, req, skp.ChangeRHK{SKPID: id, RHKID: pathVar(r, "rhk_id"), RHKFields: b.fields()})
	})
}

func (s *Server) removeRHK(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, false, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.RemoveRHK(ctx, req, skp.RemoveRHK{SKPID: id, RHKID: pathVar(r, "rhk_id")})
	})
}

func (b IndicatorBody) fields() skp.IndicatorFields {
	return skp.IndicatorFields{Aspect: b.Aspect, Text: b.Text, Target: skp.Target{Value: b.Target.Value, Unit: b.Target.Unit}, Direction: b.Direction}
}

func (s *Server) addIndicator(w http.ResponseWriter, r *http.Request) error {
	var b IndicatorBody
	return s.skpCreate(w, r, &b, &b.common, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (Created, domain.Committed, error) {
		iid, c, err := svc.AddIndicator(ctx, req, skp.AddIndicator{SKPID: id, RHKID: pathVar(r, "rhk_id"), IndicatorFields: b.fields()})
		return Created{IndicatorID: iid}, c, err
	})
}

func (s *Server) changeIndicator(w http.ResponseWriter, r *http.Request) error {
	var b IndicatorBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.ChangeIndicator(ctx, req, skp.ChangeIndicator{SKPID: id, IndicatorID: pathVar(r, "indicator_id"), IndicatorFields: b.fields()})
	})
}

func (s *Server) removeIndicator(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, false, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.RemoveIndicator(ctx, req, skp.RemoveIndicator{SKPID: id, IndicatorID: pathVar(r, "indicator_id")})
	})
}

func (s *Server) setExpectation(w http.ResponseWriter, r *http.Request) error {
	var b ExpectationBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.SetBehaviourExpectation(ctx, req, skp.SetBehaviourExpectation{SKPID: id, Value: pathVar(r, "value"), Expectation: b.Expectation})
	})
}

func (s *Server) submitSKP(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, false, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.Submit(ctx, req, skp.Submit{SKPID: id})
	})
}

func (s *Server) returnSKP(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.Return(ctx, req, skp.Return{SKPID: id, Reason: b.Reason})
	})
}

func (s *Server) establishSKP(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, false, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.Establish(ctx, req, skp.Establish{SKPID: id})
	})
}

func (s *Server) amendSKP(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.Amend(ctx, req, skp.Amend{SKPID: id, Reason: b.Reason})
	})
}

func (s *Server) cancelSKP(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.Cancel(ctx, req, skp.Cancel{SKPID: id, Reason: b.Reason})
	})
}

func (s *Server) closeSKP(w http.ResponseWriter, r *http.Request) error {
	var b CloseBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.Close(ctx, req, skp.Close{SKPID: id, EffectiveFrom: b.EffectiveFrom, Reason: b.Reason})
	})
}

func (s *Server) recordRealisation(w http.ResponseWriter, r *http.Request) error {
	var b RealisationBody
	return s.skpCreate(w, r, &b, &b.common, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (Created, domain.Committed, error) {
		rid, c, err := svc.RecordRealisation(ctx, req, skp.RecordRealisation{SKPID: id, Period: b.Period, IndicatorID: b.IndicatorID, Value: b.Value, Narrative: b.Narrative})
		return Created{RealisationID: rid}, c, err
	})
}

func (s *Server) attachEvidence(w http.ResponseWriter, r *http.Request) error {
	var b EvidenceBody
	return s.skpCreate(w, r, &b, &b.common, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (Created, domain.Committed, error) {
		cmd := skp.AttachEvidence{SKPID: id, IndicatorID: b.IndicatorID, URI: b.URI, SHA256: b.SHA256,
			Filename: b.Filename, MediaType: b.MediaType, Size: b.Size}
		if err := s.app.CheckStoredEvidence(ctx, cmd); err != nil {
			return Created{}, domain.Committed{}, err
		}
		eid, c, err := svc.AttachEvidence(ctx, req, cmd)
		return Created{EvidenceID: eid}, c, err
	})
}

func (s *Server) giveFeedback(w http.ResponseWriter, r *http.Request) error {
	var b FeedbackBody
	return s.skpCreate(w, r, &b, &b.common, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (Created, domain.Committed, error) {
		about := skp.FeedbackAbout{RHKID: b.About.RHKID, IndicatorID: b.About.IndicatorID, Behaviour: berakhlak.Value(b.About.Behaviour)}
		fid, c, err := svc.GiveFeedback(ctx, req, skp.GiveFeedback{SKPID: id, About: about, Text: b.Text})
		return Created{FeedbackID: fid}, c, err
	})
}

func (s *Server) submitSelfAssessment(w http.ResponseWriter, r *http.Request) error {
	var b SelfAssessmentBody
	return s.skpCreate(w, r, &b, &b.common, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (Created, domain.Committed, error) {
		cmd := skp.SubmitSelfAssessment{SKPID: id, Period: b.Period, Text: b.Text}
		for _, n := range b.RHKNotes {
			cmd.RHKNotes = append(cmd.RHKNotes, skp.RHKNote{RHKID: n.RHKID, Note: n.Note})
		}
		c, err := svc.SubmitSelfAssessment(ctx, req, cmd)
		return Created{}, c, err
	})
}
