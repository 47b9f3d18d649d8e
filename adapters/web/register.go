package web

import (
	"net/http"
	"strconv"

	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// regFilter is the objection register's filter form.
type regFilter struct {
	Unit    string
	Status  string
	Overdue string // "", "true" or "false"
	overdue *bool
}

// registerFilter reads ?unit=, ?status= and ?overdue=.
func registerFilter(r *http.Request) (regFilter, error) {
	q := r.URL.Query()
	f := regFilter{Unit: q.Get("unit"), Status: q.Get("status"), Overdue: q.Get("overdue")}
	switch f.Status {
	case "", "OPEN", "DECIDED", "WITHDRAWN":
	default:
		return f, &badRequest{key: "error.objstatus", detail: f.Status}
	}
	if f.Overdue != "" {
		b, err := strconv.ParseBool(f.Overdue)
		if err != nil {
			return f, &badRequest{key: "error.overdue", detail: f.Overdue}
		}
		f.overdue = &b
		f.Overdue = strconv.FormatBool(b)
	}
	return f, nil
}

// registerData is the objection register's model.
type registerData struct {
	Filter     regFilter
	Units      []unitRow
	Register   reports.ObjectionRegister
	Overdue    int
	Position   int64
	ExportCSV  string
	ExportXLSX string
}

// objectionRegister lists objections with their filing window, decision
// due date, overdue ones highlighted, and outcomes.
func (h *Handler) objectionRegister(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := registerAccess(req.user); err != nil {
		return err
	}
	ctx := r.Context()
	f, err := registerFilter(r)
	if err != nil {
		return err
	}
	d := registerData{Filter: f}
	units, err := h.cfg.Directory.Units(ctx)
	if err != nil {
		return err
	}
	d.Units = unitTree(units)
	if d.Register, err = reports.Objections(ctx, h.cfg.Directory, h.cfg.Objections, f.Unit, f.Status, f.overdue, h.cfg.Now()); err != nil {
		return err
	}
	for _, o := range d.Register.Items {
		if o.Overdue {
			d.Overdue++
		}
	}
	d.Position = h.projectionPosition(ctx, objections.Name)
	d.ExportCSV = link("/ekspor/keberatan", "unit", f.Unit, "status", f.Status, "overdue", f.Overdue, "format", "csv")
	d.ExportXLSX = link("/ekspor/keberatan", "unit", f.Unit, "status", f.Status, "overdue", f.Overdue, "format", "xlsx")
	return h.render(w, r, req, http.StatusOK, "objections", "objections.title", d)
}
