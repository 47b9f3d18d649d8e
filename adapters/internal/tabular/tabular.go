// Package tabular writes a report table as the CSV and Excel files that
// the API (?format=csv|xlsx) and the dashboard's downloads serve, so that
// both defuse formulas, type cells, label columns and name files the same
// way (docs/documents.md, "Spreadsheets", says why each choice).
//
// By default a file is for people in an Indonesian office: Indonesian
// headers and labels instead of codes, numbers and times as id-ID Excel
// reads them, times in the agency's zone (WIB, WITA or WIT), and a CSV
// separated by semicolons behind a UTF-8 byte-order mark. Options.Codes
// keeps the codes and raw values for programs, and Options.Sep = ','
// writes the comma-separated CSV programs expect.
package tabular

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// Options say for whom a file is written.
type Options struct {
	// Lang is the language of headers and labels (idfmt.ID or idfmt.EN;
	// default Indonesian).
	Lang string
	// Codes keeps the column codes as headers and enumeration codes,
	// RFC 3339 instants, true/false and plain NIPs as cells (for programs).
	Codes bool
	// Sep is the CSV separator: ';' (the default, which Excel in the
	// Indonesian locale expects, as its decimal separator is the comma)
	// or ','.
	Sep rune
	// Loc is the zone instants are written in (default WIB).
	Loc *time.Location
}

// Errors of the options' parameters.
var (
	ErrSeparator = errors.New("tabular: the separator must be ; or ,")
	ErrCodes     = errors.New("tabular: codes must be 0 or 1")
)

// ParseCodes reads a ?codes= value: "", "0" or "false" (labels), "1" or
// "true" (codes).
func ParseCodes(s string) (bool, error) {
	switch s {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, ErrCodes
}

// ParseSep reads a ?sep= value: "" (the default ';'), ";" or ",".
func ParseSep(s string) (rune, error) {
	switch s {
	case "", ";":
		return ';', nil
	case ",":
		return ',', nil
	}
	return 0, ErrSeparator
}

func (o Options) withDefaults() Options {
	if o.Lang != idfmt.EN {
		o.Lang = idfmt.ID
	}
	if o.Sep == 0 {
		o.Sep = ';'
	}
	if o.Loc == nil {
		o.Loc = idfmt.WIB
	}
	return o
}

// header returns the header cell of c.
func (o Options) header(c Column) string {
	if o.Codes {
		return c.Code
	}
	h := c.Label.In(o.Lang)
	if c.Kind == Time {
		h += " (" + time.Unix(0, 0).In(o.Loc).Format("MST") + ")"
	}
	return h
}

// cell is a cell read from a table's text: its kind and typed value.
type cell struct {
	kind Kind
	text string
	i    int64
	f    float64
	t    time.Time
	b    bool
}

// read types the text v of a cell of column c. A value that does not
// parse as its column's kind stays text. "true" and "false" are booleans
// in an Int column too: "late" counts SKPs in the progress board and flags
// an objection in the register.
func read(c Column, v string) cell {
	x := cell{kind: Text, text: v}
	switch c.Kind {
	case Int, Bool:
		if b, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
			x.kind, x.b = Bool, b
		} else if n, err := strconv.ParseInt(v, 10, 64); err == nil && c.Kind == Int {
			x.kind, x.i = Int, n
		}
	case Share:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			x.kind, x.f = Share, f
		}
	case Time:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			x.kind, x.t = Time, t
		}
	case NIP, NIPList, Enum:
		x.kind = c.Kind
	}
	return x
}

// csvCell writes x for a CSV.
func (o Options) csvCell(c Column, x cell) string {
	if o.Codes {
		return CSVSafe(x.text)
	}
	switch x.kind {
	case Int:
		return strconv.FormatInt(x.i, 10)
	case Share:
		// A plain decimal in the file's locale, which Excel reads as a
		// number ("0,25" in Indonesian, "0.25" in English).
		s := strconv.FormatFloat(x.f, 'f', -1, 64)
		if o.Lang == idfmt.ID {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	case Time:
		// Excel reads "2026-12-06 14:05:00" as a date and time in every
		// locale; the zone is in the header.
		return x.t.In(o.Loc).Format("2006-01-02 15:04:05")
	case Bool:
		return idfmt.Bool(o.Lang, x.b)
	case NIP:
		if isDigits(x.text) {
			// ="…" is a text formula whose value is the digits: Excel
			// shows all 18 and never turns them into 1,98E+17. It is
			// written only for digits, so it runs nothing.
			return `="` + x.text + `"`
		}
	case Enum:
		if x.text == "" {
			return ""
		}
		return CSVSafe(idfmt.Label(o.Lang, c.Enum, x.text))
	}
	return CSVSafe(x.text)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CSV writes t as CSV for o: each cell typed by its column and defused by
// CSVSafe; with the ';' separator, behind a UTF-8 byte-order mark (which
// Excel needs to read the file as UTF-8).
func CSV(t reports.Table, o Options) ([]byte, error) {
	o = o.withDefaults()
	var buf bytes.Buffer
	if o.Sep == ';' {
		buf.WriteString("\uFEFF")
	}
	cw := csv.NewWriter(&buf)
	cw.Comma = o.Sep
	cols := make([]Column, len(t.Columns))
	head := make([]string, len(t.Columns))
	for i, code := range t.Columns {
		cols[i], _ = ColumnOf(code)
		head[i] = o.header(cols[i])
	}
	cw.Write(head)
	for _, row := range t.Rows {
		out := make([]string, len(row))
		for i, v := range row {
			c := Column{Code: "", Kind: Text}
			if i < len(cols) {
				c = cols[i]
			}
			out[i] = o.csvCell(c, read(c, v))
		}
		cw.Write(out)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CSVSafe defuses a cell that a spreadsheet would run as a formula (CSV
// injection): it gets a leading apostrophe.
func CSVSafe(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		if _, err := strconv.ParseFloat(c, 64); err != nil {
			return "'" + c
		}
	}
	return c
}

// Workbook number formats.
const (
	fmtDateTime = "dd/mm/yyyy hh:mm"
	fmtPercent  = "0.0%"
	fmtText     = 49 // "@"
)

// XLSX writes t as a workbook of one sheet named name (cut to Excel's 31
// characters): a bold, frozen header row with a filter, columns as wide as
// their contents, whole numbers and shares as numbers, instants as date
// cells in o's zone (Excel has no zones: the wall clock, and the zone in
// the header), booleans as Ya/Tidak, NIPs as text cells, enumerations as
// their labels (codes with o.Codes).
func XLSX(name string, t reports.Table, o Options) ([]byte, error) {
	o = o.withDefaults()
	f := excelize.NewFile()
	defer f.Close()
	sheet := name
	if utf8.RuneCountInString(sheet) > 31 {
		sheet = string([]rune(sheet)[:31])
	}
	if sheet == "" {
		sheet = "Sheet1"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	styles, err := newStyles(f)
	if err != nil {
		return nil, err
	}
	cols := make([]Column, len(t.Columns))
	head := make([]any, len(t.Columns))
	width := make([]int, len(t.Columns))
	for i, code := range t.Columns {
		cols[i], _ = ColumnOf(code)
		h := o.header(cols[i])
		head[i] = excelize.Cell{StyleID: styles.head, Value: h}
		width[i] = utf8.RuneCountInString(h)
	}
	rows := make([][]any, len(t.Rows))
	for r, row := range t.Rows {
		out := make([]any, len(row))
		for i, v := range row {
			c := Column{Kind: Text}
			if i < len(cols) {
				c = cols[i]
			}
			val, style, shown := o.xlsxCell(c, read(c, v), styles)
			out[i] = excelize.Cell{StyleID: style, Value: val}
			if i < len(width) {
				width[i] = max(width[i], shown)
			}
		}
		rows[r] = out
	}
	// The filter is set on the empty sheet: set after streaming, it would
	// read the whole sheet back (half the time of a large export).
	if len(t.Columns) > 0 {
		last, err := excelize.CoordinatesToCellName(len(t.Columns), len(t.Rows)+1)
		if err != nil {
			return nil, err
		}
		if err := f.AutoFilter(sheet, "A1:"+last, nil); err != nil {
			return nil, err
		}
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	for i, w := range width {
		if err := sw.SetColWidth(i+1, i+1, float64(min(max(w, 6), 60)+2)); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return nil, err
	}
	if err := sw.SetRow("A1", head); err != nil {
		return nil, err
	}
	for r, row := range rows {
		if err := sw.SetRow("A"+strconv.Itoa(r+2), row); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

type styleSet struct{ head, text, dateTime, percent int }

func newStyles(f *excelize.File) (styleSet, error) {
	var s styleSet
	var err error
	dt, pc := fmtDateTime, fmtPercent
	for _, x := range []struct {
		id *int
		st *excelize.Style
	}{
		{&s.head, &excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}}},
		{&s.text, &excelize.Style{NumFmt: fmtText}},
		{&s.dateTime, &excelize.Style{CustomNumFmt: &dt}},
		{&s.percent, &excelize.Style{CustomNumFmt: &pc}},
	} {
		if *x.id, err = f.NewStyle(x.st); err != nil {
			return s, err
		}
	}
	return s, nil
}

// xlsxCell returns the value and style of x in a workbook, and its shown
// width in characters.
func (o Options) xlsxCell(c Column, x cell, st styleSet) (any, int, int) {
	switch x.kind {
	case Int:
		return x.i, 0, len(x.text)
	case Share:
		return x.f, st.percent, 7
	case Time:
		// The wall clock in o's zone, as Excel has no zones.
		w := x.t.In(o.Loc)
		if o.Codes {
			return x.text, 0, len(x.text)
		}
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC), st.dateTime, 16
	case Bool:
		if o.Codes {
			return x.text, 0, len(x.text)
		}
		s := idfmt.Bool(o.Lang, x.b)
		return s, 0, len(s)
	case NIP, NIPList:
		return x.text, st.text, utf8.RuneCountInString(x.text)
	case Enum:
		s := x.text
		if !o.Codes && s != "" {
			s = idfmt.Label(o.Lang, c.Enum, s)
		}
		return s, 0, utf8.RuneCountInString(s)
	}
	// Text cells are text cells: a workbook runs no formula from them.
	return x.text, 0, utf8.RuneCountInString(x.text)
}

// FileName makes a download name from the non-empty parts, joined by "-",
// keeping letters, digits, - and _ and replacing anything else with _.
func FileName(parts ...string) string {
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
