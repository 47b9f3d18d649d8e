package tabular

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

func TestCSVDefusesFormulas(t *testing.T) {
	if got := CSVSafe("=HYPERLINK(\"x\")"); got != "'=HYPERLINK(\"x\")" {
		t.Errorf("CSVSafe(formula) = %q", got)
	}
	if got := CSVSafe("-3"); got != "-3" {
		t.Errorf("CSVSafe(-3) = %q", got)
	}
	tab := reports.Table{Columns: []string{"name", "reason", "nip"}, Rows: [][]string{{"=1+1", "@SUM(A1)", "=cmd|' /C calc'!A0"}}}
	b, err := CSV(tab, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, b, ';')
	if rows[1][0] != "'=1+1" || rows[1][1] != "'@SUM(A1)" || rows[1][2] != "'=cmd|' /C calc'!A0" {
		t.Errorf("defused cells = %q", rows[1])
	}
}

// register is an objection register table as reports builds it.
var register = reports.Table{
	Columns: []string{"objection_id", "skp_id", "nip", "name", "unit_id", "period", "status", "filed_at", "window_deadline",
		"decision_due", "overdue", "late", "outcome", "decided_at", "predikat_before", "predikat_after"},
	Rows: [][]string{{"obj-1", "skp-199001012020121001-2026-1", "199001012020121001", "Siti Ávila; \"Ani\"", "DINKES", "2026", "DECIDED",
		"2026-12-06T03:05:00Z", "2026-12-20T16:59:59Z", "2027-01-05T16:59:59Z", "false", "true", "CHANGED", "2026-12-10T08:00:00Z",
		"BUTUH_PERBAIKAN", "BAIK"}},
}

func readCSV(t *testing.T, b []byte, sep rune) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF"))))
	r.Comma = sep
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("reading back %q: %v", b, err)
	}
	return rows
}

func TestCSVForIndonesianExcel(t *testing.T) {
	b, err := CSV(register, Options{Loc: idfmt.WITA})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Error("no byte-order mark")
	}
	rows := readCSV(t, b, ';')
	head, row := rows[0], rows[1]
	cell := func(h string) string {
		i := slices.Index(head, h)
		if i < 0 {
			t.Fatalf("no column %q in %q", h, head)
		}
		return row[i]
	}
	for h, want := range map[string]string{
		"NIP":                         `="199001012020121001"`,
		"Nama":                        "Siti Ávila; \"Ani\"",
		"Status":                      "Diputus",
		"Diajukan (WITA)":             "2026-12-06 11:05:00",
		"Lewat batas":                 "Tidak",
		"Terlambat":                   "Ya",
		"Hasil":                       "Diubah",
		"Predikat sebelum":            "Butuh Perbaikan",
		"Predikat sesudah":            "Baik",
		"Batas masa keberatan (WITA)": "2026-12-21 00:59:59",
		"Diputus (WITA)":              "2026-12-10 16:00:00",
	} {
		if got := cell(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	en, _ := CSV(register, Options{Lang: idfmt.EN})
	if rows := readCSV(t, en, ';'); rows[0][2] != "NIP" || rows[0][6] != "Status" || rows[1][6] != "Decided" || rows[1][7] != "2026-12-06 10:05:00" {
		t.Errorf("English CSV = %q", rows)
	}
}

func TestCSVForPrograms(t *testing.T) {
	b, err := CSV(register, Options{Sep: ',', Codes: true})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Error("a comma-separated file for programs has a byte-order mark")
	}
	rows := readCSV(t, b, ',')
	if !slices.Equal(rows[0], register.Columns) || !slices.Equal(rows[1], register.Rows[0]) {
		t.Errorf("codes CSV = %q, want the table as it is", rows)
	}
	if _, err := ParseSep("\t"); err == nil {
		t.Error("a tab separator accepted")
	}
	if _, err := ParseCodes("yes"); err == nil {
		t.Error("codes=yes accepted")
	}
}

func TestShareAndCountsInCSV(t *testing.T) {
	dist := reports.Table{Columns: []string{"unit", "predikat", "count", "share"}, Rows: [][]string{{"DINKES", "SANGAT_BAIK", "1961", "0.2500"}}}
	b, _ := CSV(dist, Options{})
	if rows := readCSV(t, b, ';'); !slices.Equal(rows[1], []string{"DINKES", "Sangat Baik", "1961", "0,25"}) || rows[0][3] != "Proporsi" {
		t.Errorf("distribution CSV = %q", rows)
	}
}

func TestXLSX(t *testing.T) {
	tab := register
	tab.Rows = append(slices.Clone(tab.Rows), []string{"obj-2", "skp-2", "199202022021022002", "Budi", "DINKES", "2026", "OPEN",
		"2026-12-31T17:30:00Z", "", "", "true", "false", "", "", "BAIK", ""})
	b, err := XLSX("objections", tab, Options{Loc: idfmt.WIT})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const sheet = "objections"
	rows, err := f.GetRows(sheet)
	if err != nil || len(rows) != 3 {
		t.Fatalf("rows = %q, %v", rows, err)
	}
	if rows[0][2] != "NIP" || rows[0][7] != "Diajukan (WIT)" || rows[1][6] != "Diputus" || rows[1][10] != "Tidak" || rows[1][11] != "Ya" {
		t.Errorf("header and labels = %q / %q", rows[0], rows[1])
	}
	// NIPs are text cells with the text format, all 18 digits.
	for _, c := range []string{"C2", "C3"} {
		typ, _ := f.GetCellType(sheet, c)
		v, _ := f.GetCellValue(sheet, c)
		st, _ := f.GetCellStyle(sheet, c)
		style, _ := f.GetStyle(st)
		if typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString || len(v) != 18 || style == nil || style.NumFmt != fmtText {
			t.Errorf("%s: type %v value %q style %+v", c, typ, v, style)
		}
	}
	// Instants are date cells holding the wall clock of the zone: 17.30
	// UTC on 31 December is 02.30 WIT on 1 January.
	typ, _ := f.GetCellType(sheet, "H3")
	raw, _ := f.GetCellValue(sheet, "H3", excelize.Options{RawCellValue: true})
	shown, _ := f.GetCellValue(sheet, "H3")
	if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || shown != "01/01/2027 02:30" {
		t.Errorf("H3: type %v raw %q shown %q", typ, raw, shown)
	}
	want, _ := excelize.ExcelDateToTime(46388+2.5/24, false) // 2027-01-01 02:30
	if got, err := excelize.ExcelDateToTime(parseF(t, raw), false); err != nil || !got.Round(time.Second).Equal(want.Round(time.Second)) {
		t.Errorf("H3 serial %s is %v, want %v", raw, got, want)
	}
	if v, _ := f.GetCellValue(sheet, "I3"); v != "" {
		t.Errorf("an empty instant = %q", v)
	}
	// Frozen header and a filter over the table.
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes = %+v, %v", panes, err)
	}
	if !slices.ContainsFunc(f.GetDefinedName(), func(d excelize.DefinedName) bool {
		return d.Name == "_xlnm._FilterDatabase" && strings.Contains(d.RefersTo, "$A$1:$P$3")
	}) {
		t.Errorf("no autofilter over A1:P3: %+v", f.GetDefinedName())
	}
	if w, _ := f.GetColWidth(sheet, "B"); w < float64(len("skp-199001012020121001-2026-1")) {
		t.Errorf("column B width %v is narrower than its contents", w)
	}
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}

func TestXLSXNumbersAndShares(t *testing.T) {
	dist := reports.Table{Columns: []string{"unit", "period", "count", "share"}, Rows: [][]string{{"DINKES", "2026", "1961", "0.2500"}}}
	b, err := XLSX("distribution", dist, Options{Codes: true})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := excelize.OpenReader(bytes.NewReader(b))
	defer f.Close()
	if typ, _ := f.GetCellType("distribution", "C2"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Errorf("count is text (%v)", typ)
	}
	if v, _ := f.GetCellValue("distribution", "D2"); v != "25.0%" {
		t.Errorf("share shown as %q", v)
	}
	if v, _ := f.GetCellValue("distribution", "B2"); v != "2026" {
		t.Errorf("period = %q", v)
	}
	if typ, _ := f.GetCellType("distribution", "B2"); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
		t.Errorf("a period is text, got %v", typ)
	}
	if h, _ := f.GetCellValue("distribution", "A1"); h != "unit" {
		t.Errorf("codes header = %q", h)
	}
}

func TestEveryReportColumnIsLabelled(t *testing.T) {
	var tables []reports.Table
	tables = append(tables, reports.ProgressReport{}.Table(), reports.DistributionReport{}.Table(), reports.ObjectionRegister{}.Table())
	for _, tab := range tables {
		for _, c := range tab.Columns {
			if col, ok := ColumnOf(c); !ok || col.Label.ID == "" || col.Label.EN == "" || strings.Contains(col.Label.ID, "_") {
				t.Errorf("column %q has no Indonesian and English label", c)
			}
		}
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("progress", "", "DINKES/x", "2026"); got != "progress-DINKES_x-2026" {
		t.Errorf("FileName = %q", got)
	}
	if got := FileName("", "a"); got != "a" {
		t.Errorf("FileName with an empty first part = %q", got)
	}
}
