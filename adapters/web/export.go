package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// Media types of the exports.
const (
	mediaCSV  = "text/csv; charset=utf-8"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// table is a report in the flat shape of its CSV and Excel exports. The
// columns are those of the API's exports (cmd/internal/wiring), so a file
// downloaded here reads like one fetched with ?format=csv from /v1.
type table struct {
	Columns []string
	Rows    [][]string
}

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
		t    table
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
		t, name = progressTable(p), fileName("progress", unit, strconv.Itoa(year))
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
		t, name = distributionTable(d), fileName("distribution", unit, per)
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
		t, name = objectionsTable(reg), fileName("objections", f.Unit, f.Status)
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
func writeTable(w http.ResponseWriter, format, name string, t table) error {
	var body []byte
	switch format {
	case "csv":
		var buf bytes.Buffer
		buf.WriteString("\uFEFF") // so that spreadsheet programs read UTF-8
		cw := csv.NewWriter(&buf)
		cw.Write(t.Columns)
		for _, row := range t.Rows {
			safe := make([]string, len(row))
			for i, c := range row {
				safe[i] = csvSafe(c)
			}
			cw.Write(safe)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		body = buf.Bytes()
		w.Header().Set("Content-Type", mediaCSV)
	case "xlsx":
		b, err := workbook(name, t)
		if err != nil {
			return err
		}
		body = b
		w.Header().Set("Content-Type", mediaXLSX)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.`+format+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// csvSafe defuses cells that a spreadsheet would run as a formula (CSV
// injection): they get a leading apostrophe.
func csvSafe(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		if _, err := strconv.ParseFloat(c, 64); err != nil {
			return "'" + c
		}
	}
	return c
}

// numberCell matches cells written as numbers in a workbook: short enough
// for a float64 to hold exactly, so NIPs (18 digits) stay text.
var numberCell = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$`)

// workbook renders t as an XLSX workbook of one sheet.
func workbook(name string, t table) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := name
	if len(sheet) > 31 {
		sheet = sheet[:31]
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	header := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c
	}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		return nil, err
	}
	if bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err == nil {
		f.SetRowStyle(sheet, 1, 1, bold)
	}
	for i, row := range t.Rows {
		cells := make([]any, len(row))
		for j, c := range row {
			cells[j] = c
			if numberCell.MatchString(c) {
				if v, err := strconv.ParseFloat(c, 64); err == nil {
					cells[j] = v
				}
			}
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return nil, err
		}
		if err := f.SetSheetRow(sheet, cell, &cells); err != nil {
			return nil, err
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("web: xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

// fileName makes a download name from parts (letters, digits, - and _).
func fileName(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('-')
		}
		for _, c := range p {
			if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				b.WriteRune(c)
			} else {
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}

func progressTable(rep reports.ProgressReport) table {
	t := table{Columns: []string{"unit_id", "unit_name", "parent_id", "depth", "employees", "skps"}}
	t.Columns = append(t.Columns, reports.Statuses()...)
	t.Columns = append(t.Columns, "late", "missing", "missing_nips", "subtree_employees", "subtree_skps", "subtree_late", "subtree_missing")
	for _, u := range rep.Units {
		row := []string{u.UnitID, u.Name, u.ParentID, strconv.Itoa(u.Depth), strconv.Itoa(u.Employees), strconv.Itoa(u.SKPs)}
		for _, s := range reports.Statuses() {
			row = append(row, strconv.Itoa(u.ByStatus[s]))
		}
		row = append(row, strconv.Itoa(u.Late), strconv.Itoa(u.Missing), strings.Join(u.MissingNIPs, " "),
			strconv.Itoa(u.Subtree.Employees), strconv.Itoa(u.Subtree.SKPs), strconv.Itoa(u.Subtree.Late), strconv.Itoa(u.Subtree.Missing))
		t.Rows = append(t.Rows, row)
	}
	return t
}

func distributionTable(rep reports.DistributionReport) table {
	t := table{Columns: []string{"unit", "period", "org_predikat", "policy", "population", "predikat", "count", "share", "violations"}}
	var viol []string
	for _, v := range rep.Violations {
		viol = append(viol, v.Rule+": "+v.Detail)
	}
	for _, p := range rating.Predikats() {
		t.Rows = append(t.Rows, []string{rep.Unit, rep.Period, string(rep.OrgPredikat), rep.Pattern, strconv.Itoa(rep.Population),
			string(p), strconv.Itoa(rep.Counts[p]), strconv.FormatFloat(rep.Shares[p], 'f', 4, 64), strings.Join(viol, "; ")})
	}
	return t
}

func objectionsTable(reg reports.ObjectionRegister) table {
	t := table{Columns: []string{"objection_id", "skp_id", "nip", "name", "unit_id", "period", "status", "filed_at", "window_deadline",
		"decision_due", "overdue", "late", "outcome", "decided_at", "predikat_before", "predikat_after"}}
	for _, o := range reg.Items {
		decided := ""
		if o.DecidedAt != nil {
			decided = o.DecidedAt.Format(time.RFC3339)
		}
		t.Rows = append(t.Rows, []string{o.ID, o.SKPID, o.NIP, o.Name, o.UnitID, o.Period, o.Status, o.FiledAt.Format(time.RFC3339),
			o.WindowDeadline.Format(time.RFC3339), o.DecisionDue.Format(time.RFC3339), strconv.FormatBool(o.Overdue),
			strconv.FormatBool(o.Late), o.Outcome, decided, o.PredikatBefore, o.PredikatAfter})
	}
	return t
}

func auditTable(entries []audit.Entry) table {
	t := table{Columns: []string{"seq", "position", "event_id", "stream", "revision", "type", "actor_id", "actor_role",
		"recorded_at", "occurred_at", "reason", "leaf_hash"}}
	for _, e := range entries {
		t.Rows = append(t.Rows, []string{strconv.FormatUint(e.Seq, 10), strconv.FormatUint(uint64(e.Position), 10), e.EventID, e.Stream,
			strconv.FormatUint(e.Revision, 10), e.Type, e.ActorID, e.ActorRole, e.RecordedAt.Format(time.RFC3339Nano),
			e.OccurredAt.Format(time.RFC3339Nano), e.Reason, e.LeafHash.String()})
	}
	return t
}
