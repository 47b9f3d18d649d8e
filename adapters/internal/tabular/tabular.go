// Package tabular writes a report table as the CSV and Excel files that
// the API (?format=csv|xlsx) and the dashboard's downloads serve, so that
// both defuse formulas, type numbers and name files the same way.
package tabular

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// CSV writes the header and rows as CSV, each cell through CSVSafe; with
// bom, behind a UTF-8 byte-order mark (which spreadsheet programs need to
// read the file as UTF-8).
func CSV(columns []string, rows [][]string, bom bool) ([]byte, error) {
	var buf bytes.Buffer
	if bom {
		buf.WriteString("\uFEFF")
	}
	cw := csv.NewWriter(&buf)
	cw.Write(columns)
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, c := range row {
			safe[i] = CSVSafe(c)
		}
		cw.Write(safe)
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

// numberCell matches cells written as numbers in a workbook: short enough
// for a float64 to hold exactly, so NIPs (18 digits) stay text.
var numberCell = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$`)

// XLSX writes the header (bold) and rows as a workbook of one sheet named
// name (cut to Excel's 31 characters); number-like cells become numbers.
func XLSX(name string, columns []string, rows [][]string) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := name
	if len(sheet) > 31 {
		sheet = sheet[:31]
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	header := make([]any, len(columns))
	for i, c := range columns {
		header[i] = c
	}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		return nil, err
	}
	if bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err == nil {
		f.SetRowStyle(sheet, 1, 1, bold)
	}
	for i, row := range rows {
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
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	return buf.Bytes(), nil
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
