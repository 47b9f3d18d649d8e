package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// registerHistory registers the history routes of one SKP.
func (s *Server) registerHistory(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/skps/{id}/events", s.skpEvents)
	s.read(r, http.MethodGet, "/v1/skps/{id}/score-history", s.scoreHistory)
}

// EventActor is who caused an event.
type EventActor struct {
	// NIP is the actor's NIP, or a service account name.
	NIP string `json:"nip"`
	// Role is the capacity in which the actor acted.
	Role string `json:"role"`
}

// EventItem is one stored event of an SKP, as GET …/events shows it.
type EventItem struct {
	Revision      uint64              `json:"revision"`
	Position      eventstore.Position `json:"position"`
	ID            string              `json:"id"`
	Type          string              `json:"type"`
	SchemaVersion int                 `json:"schema_version"`
	RecordedAt    time.Time           `json:"recorded_at"`
	OccurredAt    time.Time           `json:"occurred_at"`
	Actor         EventActor          `json:"actor"`
	Reason        string              `json:"reason"`
	CorrelationID string              `json:"correlation_id"`
	CausationID   string              `json:"causation_id"`
	// Data is the event's stored JSON, as written.
	Data json.RawMessage `json:"data"`
	// Hash is the event's link in the stream's hash chain (hex).
	Hash string `json:"hash"`
}

// EventList is the answer of GET /v1/skps/{id}/events: a page of events
// in revision order; NextCursor continues after it (null at the end).
type EventList struct {
	Items      []EventItem `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// Pages of GET /v1/skps/{id}/events: an SKP can hold tens of thousands of
// events, and one answer with all of them grew to 23 MB (issue 9 §4).
const (
	defaultEventsLimit = 500
	maxEventsLimit     = 1000
)

// ScoreHistory is the answer of GET /v1/skps/{id}/score-history.
type ScoreHistory struct {
	Items []skp.ScoreEntry `json:"items"`
}

// skpEvents serves the events of the SKP in order, a page at a time, from
// the store (with positions and hashes), to the parties and auditors. The
// ETag is the SKP's revision, whichever page is read.
func (s *Server) skpEvents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	limit := q.int("limit", defaultEventsLimit, 1, maxEventsLimit)
	cursor := q.str("cursor", 200)
	if err := q.err(); err != nil {
		return err
	}
	id := pathVar(r, "id")
	scope := []string{"events", principal(r).ID, id}
	from := uint64(0)
	if inner, err := openCursor(cursor, scope...); err != nil {
		return err
	} else if inner != "" {
		if from, err = strconv.ParseUint(inner, 10, 64); err != nil {
			return badCursor()
		}
	}
	_, events, _, err := s.cfg.SKPs.Authorize(r.Context(), principal(r), id, authz.ReadHistory)
	if err != nil {
		return err
	}
	rev := events[len(events)-1].Revision
	out := EventList{Items: []EventItem{}}
	opts := eventstore.ReadStreamOptions{From: from, Limit: limit + 1}
	for ev, err := range s.cfg.Store.ReadStream(r.Context(), domain.SKPStream(id), opts) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return &domain.NotFoundError{Kind: "skp", ID: id}
		}
		if err != nil {
			return err
		}
		if len(out.Items) == limit {
			next := sealCursor(strconv.FormatUint(ev.Revision, 10), scope...)
			out.NextCursor = &next
			break
		}
		data := json.RawMessage(ev.Data)
		if !json.Valid(data) {
			data = json.RawMessage("null")
		}
		item := EventItem{
			Revision: ev.Revision, Position: ev.Position, ID: ev.ID.String(), Type: ev.Type, SchemaVersion: ev.SchemaVersion,
			RecordedAt: ev.RecordedAt, OccurredAt: ev.OccurredAt, Actor: EventActor{NIP: ev.Actor.ID, Role: ev.Actor.Role},
			Reason: ev.Reason, CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, Data: data, Hash: hex.EncodeToString(ev.Hash[:]),
		}
		if skp.RedactedEvent(ev.Type) {
			// A 360° answer: who gave it, what it said (the aggregate is
			// the summary's) and the hash (a small set of NIPs and
			// ratings could be tried against it) are read only through a
			// recorded disclosure, by everyone (docs/feedback360.md).
			item.Actor = EventActor{NIP: skp.RedactedActor}
			item.Data = json.RawMessage(`{"redacted":true}`)
			item.Hash, item.CorrelationID, item.CausationID = "", "", ""
		}
		out.Items = append(out.Items, item)
	}
	return writeVersioned(w, http.StatusOK, rev, out)
}

func (s *Server) scoreHistory(w http.ResponseWriter, r *http.Request) error {
	h, err := s.cfg.SKPs.ScoreHistory(r.Context(), principal(r), pathVar(r, "id"))
	if err != nil {
		return err
	}
	if h == nil {
		h = []skp.ScoreEntry{}
	}
	return writeJSON(w, http.StatusOK, ScoreHistory{Items: h})
}
