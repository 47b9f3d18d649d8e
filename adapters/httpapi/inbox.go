package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// registerInbox registers the inbox: what waits for the caller.
func (s *Server) registerInbox(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/inbox", s.inbox)
	s.read(r, http.MethodGet, "/v1/reports/improvement-plans", s.improvementPlans)
}

// InboxPage is the answer of GET /v1/inbox: what waits for the person,
// the nearest deadline first.
type InboxPage struct {
	// NIP is whose inbox it is.
	NIP   string          `json:"nip"`
	Items []app.InboxItem `json:"items"`
}

// inbox serves the caller's inbox (the deadline process manager's items).
// ?nip= names the inbox asked for: anyone's but the caller's is
// forbidden, whatever the caller's roles.
func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	nip := q.str("nip", 64)
	if err := q.err(); err != nil {
		return err
	}
	p := principal(r)
	items, err := s.app.Inbox(r.Context(), p, nip)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, InboxPage{NIP: p.ID, Items: items})
}

// improvementPlans serves GET /v1/reports/improvement-plans: the
// improvement plans due and open per unit (issue 14), JSON only.
func (s *Server) improvementPlans(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	unit := q.str("unit", 100)
	if err := q.err(); err != nil {
		return err
	}
	rep, err := s.app.ImprovementPlans(r.Context(), principal(r), unit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
