package httpapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// registerUnits registers the organisation-unit routes (master data).
func (s *Server) registerUnits(r *mux.Router) {
	s.mutation(r, http.MethodPost, "/v1/units", http.StatusCreated, s.createUnit)
	s.read(r, http.MethodGet, "/v1/units", s.listUnits)
	s.read(r, http.MethodGet, "/v1/units/{id}", s.getUnit)
	s.mutation(r, http.MethodPut, "/v1/units/{id}/performance/{period}", http.StatusOK, s.rateUnit)
	s.mutation(r, http.MethodPut, "/v1/units/{id}/head", http.StatusOK, s.assignHead)
	s.mutation(r, http.MethodPut, "/v1/units/{id}/name", http.StatusOK, s.renameUnit)
	s.mutation(r, http.MethodPut, "/v1/units/{id}/zone", http.StatusOK, s.setUnitZone)
	s.mutation(r, http.MethodPost, "/v1/units/{id}/distribution/{period}/justifications", http.StatusCreated, s.justifyDistribution)
}

// CreateUnitBody is the body of POST /v1/units.
type CreateUnitBody struct {
	common
	ID       string `json:"id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id,omitempty"`
}

// RateUnitBody is the body of PUT /v1/units/{id}/performance/{period}; a
// change of an earlier predikat needs reason.
type RateUnitBody struct {
	common
	Predikat string `json:"predikat"`
	// BasisRef is the document the predikat rests on (required of the
	// leader; defaults to paper_ref for an HR backfill).
	BasisRef string `json:"basis_ref,omitempty"`
	// PaperRef makes the call HR_ADMIN's backfill from that paper decision.
	PaperRef string `json:"paper_ref,omitempty"`
}

// AssignHeadBody is the body of PUT /v1/units/{id}/head.
type AssignHeadBody struct {
	common
	HeadNIP       string        `json:"head_nip"`
	EffectiveFrom calendar.Date `json:"effective_from"`
}

// RenameUnitBody is the body of PUT /v1/units/{id}/name: the corrected
// name (the unit's id and place in the tree stay).
type RenameUnitBody struct {
	common
	Name string `json:"name"`
}

// SetUnitZoneBody is the body of PUT /v1/units/{id}/zone: the time zone
// the unit works in, WIB, WITA or WIT (issue 13).
type SetUnitZoneBody struct {
	common
	Zone string `json:"zone"`
}

// JustifyDistributionBody is the body of POST
// /v1/units/{id}/distribution/{period}/justifications: the unit leader's
// justification of the counts that deviate from the pattern.
type JustifyDistributionBody struct {
	common
	Counts        map[rating.Predikat]int `json:"counts"`
	Justification string                  `json:"justification"`
}

// UnitResponse is a unit with the units directly below it.
type UnitResponse struct {
	orgunit.View
	// Children are the units directly below, from the directory
	// projection (see Kinerja-Projection-Position).
	Children []directory.Unit `json:"children"`
}

// UnitList is the answer of GET /v1/units.
type UnitList struct {
	Items []directory.Unit `json:"items"`
}

// JustificationsResponse lists a distribution's justifications.
type JustificationsResponse struct {
	UnitID         string                       `json:"unit_id"`
	Period         string                       `json:"period"`
	Justifications []distribution.Justification `json:"justifications"`
}

func (s *Server) today() calendar.Date { return s.cfg.Policy.Date(s.cfg.Now()) }

// unitView is the representation of u with its children.
func (s *Server) unitView(ctx context.Context, u *orgunit.Unit) UnitResponse {
	v := UnitResponse{View: u.View(s.today()), Children: []directory.Unit{}}
	if kids, err := s.app.Children(ctx, principalOf(ctx), u.ID()); err == nil && kids != nil {
		v.Children = kids
	}
	return v
}

// writeUnit answers with unit id's current representation.
func (s *Server) writeUnit(w http.ResponseWriter, r *http.Request, status int, id string) error {
	u, err := s.cfg.Units.Get(r.Context(), id)
	if err != nil {
		return err
	}
	v := s.unitView(r.Context(), u)
	s.positionHeader(w, r, directory.Name)
	return writeVersioned(w, status, v.Revision, v)
}

func (s *Server) createUnit(w http.ResponseWriter, r *http.Request) error {
	var b CreateUnitBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	if _, err := s.svc(r).units.Register(r.Context(), req, orgunit.Register{ID: b.ID, Name: b.Name, ParentID: b.ParentID}); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/units/"+url.PathEscape(b.ID))
	return s.writeUnit(w, r, http.StatusCreated, b.ID)
}

func (s *Server) listUnits(w http.ResponseWriter, r *http.Request) error {
	units, err := s.app.Units(r.Context(), principal(r))
	if err != nil {
		return err
	}
	if units == nil {
		units = []directory.Unit{}
	}
	s.positionHeader(w, r, directory.Name)
	return writeJSON(w, http.StatusOK, UnitList{Items: units})
}

func (s *Server) getUnit(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.app.Unit(r.Context(), principal(r), pathVar(r, "id")); err != nil {
		return err
	}
	return s.writeUnit(w, r, http.StatusOK, pathVar(r, "id"))
}

func (s *Server) rateUnit(w http.ResponseWriter, r *http.Request) error {
	var b RateUnitBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	id := pathVar(r, "id")
	cmd := orgunit.RatePerformance{UnitID: id, Period: pathVar(r, "period"), Predikat: b.Predikat, Reason: b.Reason, BasisRef: b.BasisRef, PaperRef: b.PaperRef}
	if _, err := s.svc(r).units.RatePerformance(r.Context(), req, cmd); err != nil {
		return err
	}
	return s.writeUnit(w, r, http.StatusOK, id)
}

func (s *Server) assignHead(w http.ResponseWriter, r *http.Request) error {
	var b AssignHeadBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	id := pathVar(r, "id")
	if _, err := s.svc(r).units.AssignHead(r.Context(), req, orgunit.AssignHead{UnitID: id, HeadNIP: b.HeadNIP, EffectiveFrom: b.EffectiveFrom}); err != nil {
		return err
	}
	return s.writeUnit(w, r, http.StatusOK, id)
}

func (s *Server) renameUnit(w http.ResponseWriter, r *http.Request) error {
	var b RenameUnitBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	id := pathVar(r, "id")
	if _, err := s.svc(r).units.Rename(r.Context(), req, orgunit.Rename{UnitID: id, Name: b.Name}); err != nil {
		return err
	}
	return s.writeUnit(w, r, http.StatusOK, id)
}

func (s *Server) setUnitZone(w http.ResponseWriter, r *http.Request) error {
	var b SetUnitZoneBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	id := pathVar(r, "id")
	if _, err := s.svc(r).units.SetZone(r.Context(), req, orgunit.SetZone{UnitID: id, Zone: b.Zone}); err != nil {
		return err
	}
	return s.writeUnit(w, r, http.StatusOK, id)
}

func (s *Server) justifyDistribution(w http.ResponseWriter, r *http.Request) error {
	var b JustifyDistributionBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	unit, per := pathVar(r, "id"), pathVar(r, "period")
	svc := s.svc(r).dist
	c, err := svc.Justify(r.Context(), req, distribution.Justify{UnitID: unit, Period: per, Counts: distribution.Counts(b.Counts), Justification: b.Justification})
	if err != nil {
		return err
	}
	rec, err := s.cfg.Distribution.Load(r.Context(), unit, per)
	if err != nil {
		return err
	}
	js := rec.Justifications()
	if js == nil {
		js = []distribution.Justification{}
	}
	return writeVersioned(w, http.StatusCreated, c.Revision, JustificationsResponse{UnitID: unit, Period: per, Justifications: js})
}

// positionHeader sets Kinerja-Projection-Position from Positions, when
// configured.
func (s *Server) positionHeader(w http.ResponseWriter, r *http.Request, projection string) {
	if s.cfg.Positions == nil {
		return
	}
	if p, err := s.cfg.Positions.Checkpoint(r.Context(), projection); err == nil {
		w.Header().Set(PositionHeader, formatPosition(p))
	}
}
