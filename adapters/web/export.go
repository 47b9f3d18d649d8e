package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// Media types of the exports.
const (
	mediaCSV  = "text/csv; charset=utf-8"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// maxAuditExport bounds the rows of an audit-trail export.
const maxAuditExport = 100_000

// export serves /ekspor/{report}?format=csv|xlsx with the report's
// parameters, under the same access rules as its page.
func (h *Handler) export(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	q := r.URL.Query()
	format := q.Get("format")
	if format != "csv" && format != "xlsx" {
		return &badRequest{key: "error.format", detail: format}
	}
	var (
		t    reports.Table
		name string
	)
	switch rep := r.PathValue("report"); rep {
	case "progress":
		if err := reportAccess(req.user); err != nil {
			return err
		}
		unit := q.Get("unit")
		year, _, err := h.yearPeriod(r)
		if err != nil {
			return err
		}
		p, err := reports.Progress(ctx, h.cfg.Directory, h.cfg.SKPList, unit, year)
		if err != nil {
			return err
		}
		t, name = p.Table(), tabular.FileName("progress", unit, strconv.Itoa(year))
	case "distribusi":
		if err := reportAccess(req.user); err != nil {
			return err
		}
		unit := q.Get("unit")
		_, per, err := h.yearPeriod(r)
		if err != nil {
			return err
		}
		d, err := reports.Distribution(ctx, reports.DistributionInput{Directory: h.cfg.Directory, SKPs: h.cfg.SKPList,
			Evaluations: h.cfg.Evaluations, Justifications: h.cfg.Justifications, Policy: h.cfg.Policy, Pattern: h.cfg.Pattern}, unit, per)
		if err != nil {
			return err
		}
		t, name = d.Table(), tabular.FileName("distribution", unit, per)
	case "keberatan":
		if err := registerAccess(req.user); err != nil {
			return err
		}
		f, err := registerFilter(r)
		if err != nil {
			return err
		}
		reg, err := reports.Objections(ctx, h.cfg.Directory, h.cfg.Objections, f.Unit, f.Status, f.overdue, h.cfg.Now())
		if err != nil {
			return err
		}
		t, name = reg.Table(), tabular.FileName("objections", f.Unit, f.Status)
	case "audit":
		if err := auditAccess(req.user); err != nil {
			return err
		}
		aq, _, err := h.auditQuery(r)
		if err != nil {
			return err
		}
		var entries []audit.Entry
		aq.Limit = 1000
		for len(entries) < maxAuditExport {
			page, err := h.cfg.Audit.Entries(ctx, aq)
			if err != nil {
				return err
			}
			entries = append(entries, page...)
			if len(page) < aq.Limit {
				break
			}
			aq.After, aq.AfterSet = page[len(page)-1].Seq, true
		}
		t, name = auditTable(entries), "audit"
	default:
		return &badRequest{key: "error.report", detail: rep}
	}
	return writeTable(w, format, name, t)
}

// writeTable writes t as a CSV or XLSX attachment.
func writeTable(w http.ResponseWriter, format, name string, t reports.Table) error {
	var (
		body []byte
		err  error
	)
	switch format {
	case "csv":
		body, err = tabular.CSV(t.Columns, t.Rows, true)
		w.Header().Set("Content-Type", mediaCSV)
	case "xlsx":
		body, err = tabular.XLSX(name, t.Columns, t.Rows)
		w.Header().Set("Content-Type", mediaXLSX)
	}
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.`+format+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// auditTable flattens trail entries, one row per entry.
func auditTable(entries []audit.Entry) reports.Table {
	t := reports.Table{Columns: []string{"seq", "position", "event_id", "stream", "revision", "type", "actor_id", "actor_role",
		"recorded_at", "occurred_at", "reason", "leaf_hash"}}
	for _, e := range entries {
		t.Rows = append(t.Rows, []string{strconv.FormatUint(e.Seq, 10), strconv.FormatUint(uint64(e.Position), 10), e.EventID, e.Stream,
			strconv.FormatUint(e.Revision, 10), e.Type, e.ActorID, e.ActorRole, e.RecordedAt.Format(time.RFC3339Nano),
			e.OccurredAt.Format(time.RFC3339Nano), e.Reason, e.LeafHash.String()})
	}
	return t
}
