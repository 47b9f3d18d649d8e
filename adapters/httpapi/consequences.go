package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// registerConsequences registers the consequences register and the
// calibration view (issue 14).
func (s *Server) registerConsequences(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/reports/consequences", s.reportConsequences)
	s.read(r, http.MethodGet, "/v1/reports/calibration", s.reportCalibration)
}

// yearUnit reads the year (required) and unit (optional) parameters.
func yearUnit(r *http.Request) (year, unit string, err error) {
	q := newQuery(r)
	year, unit = q.str("year", 4), q.str("unit", 100)
	if err := q.err(); err != nil {
		return "", "", err
	}
	if p, err := period.Parse(year); err != nil || !p.IsAnnual() || p.Year() < skp.MinYear || p.Year() > skp.MaxYear {
		return "", "", badRequest("year", "required: a year, 2000 to 2100")
	}
	return year, unit, nil
}

func (s *Server) reportConsequences(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	year, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := s.app.Consequences(r.Context(), principal(r), year, unit)
	if err != nil {
		return err
	}
	return writeReport(w, r, s.cfg.Policy.Location, format, tabular.FileName("consequences", unit, year), rep)
}

func (s *Server) reportCalibration(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	year, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := s.app.Calibration(r.Context(), principal(r), year, unit)
	if err != nil {
		return err
	}
	return writeReport(w, r, s.cfg.Policy.Location, format, tabular.FileName("calibration", unit, year), rep)
}
