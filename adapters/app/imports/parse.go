package imports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Problem is what is wrong with a file, a row or a cell, in Indonesian
// and English.
type Problem struct {
	// Sheet names the XLSX sheet ("" for a CSV).
	Sheet string `json:"sheet,omitempty"`
	// Row is the row number as the spreadsheet shows it (the header is
	// row 1); 0 for a problem of the whole file.
	Row int `json:"row,omitempty"`
	// Column is the column's Indonesian header ("" for the whole row).
	Column string `json:"column,omitempty"`
	// Code is a stable machine-readable code (docs/imports.md).
	Code string `json:"code"`
	// ID is the message in Indonesian.
	ID string `json:"message_id"`
	// EN is the message in English.
	EN string `json:"message_en"`
}

// Problem codes.
const (
	CodeEmpty        = "empty_file"
	CodeTooLarge     = "too_large"
	CodeTooManyRows  = "too_many_rows"
	CodeEncoding     = "bad_encoding"
	CodeFormat       = "bad_format"
	CodeMissingCol   = "missing_column"
	CodeDuplicateCol = "duplicate_column"
	CodeText         = "bad_text"
	CodeFormula      = "formula"
	CodeNIPNumber    = "nip_as_number"
	CodeNIP          = "bad_nip"
	CodeRequired     = "required"
	CodeValue        = "bad_value"
	CodeDate         = "bad_date"
	CodeDuplicate    = "duplicate"
	CodeUnknown      = "unknown_reference"
	CodeCycle        = "cycle"
	CodeRefused      = "refused"
	CodeConflict     = "conflict"
	// CodeInterrupted: the process stopped while the job ran.
	CodeInterrupted = "interrupted"
)

// fileProblem is a problem of the whole file.
func fileProblem(code, id, en string) Problem { return Problem{Code: code, ID: id, EN: en} }

// Row is one data row of a table.
type Row struct {
	// Number is the row as the spreadsheet numbers it.
	Number int
	// Cells holds the row's values by field, trimmed.
	Cells map[Field]string
}

// Table is the rows of one kind from one CSV file or XLSX sheet.
type Table struct {
	// Kind says what the rows hold.
	Kind Kind
	// Sheet is the XLSX sheet's name ("" for a CSV).
	Sheet string
	// Rows are the data rows in file order; empty rows are skipped.
	Rows []Row
}

// Limits bound what a file may hold.
type Limits struct {
	// MaxBytes bounds the file's size.
	MaxBytes int64
	// MaxRows bounds the data rows of all its tables together.
	MaxRows int
}

// Parse reads a CSV or XLSX file (told apart by content, not by name) into
// its tables. It returns the problems of the file as a whole (encoding,
// size, headers); rows are checked later (Check).
func Parse(data []byte, lim Limits) ([]Table, []Problem) {
	if lim.MaxBytes > 0 && int64(len(data)) > lim.MaxBytes {
		return nil, []Problem{fileProblem(CodeTooLarge,
			fmt.Sprintf("Berkas terlalu besar: %d byte, batasnya %d byte. Bagi menjadi beberapa berkas.", len(data), lim.MaxBytes),
			fmt.Sprintf("The file is too large: %d bytes, the limit is %d. Split it into several files.", len(data), lim.MaxBytes))}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, []Problem{fileProblem(CodeEmpty, "Berkas kosong.", "The file is empty.")}
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return parseXLSX(data, lim)
	}
	return parseCSV(data, lim)
}

func parseCSV(data []byte, lim Limits) ([]Table, []Problem) {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) || looksUTF16(data):
		return nil, []Problem{fileProblem(CodeEncoding,
			"Berkas tampaknya UTF-16 (\"Unicode Text\" dari Excel). Simpan ulang sebagai \"CSV UTF-8 (dipisahkan koma)\".",
			"The file looks like UTF-16 (Excel's \"Unicode Text\"). Save it again as \"CSV UTF-8 (comma delimited)\".")}
	case bytes.HasPrefix(data, []byte{0xd0, 0xcf, 0x11, 0xe0}):
		return nil, []Problem{fileProblem(CodeFormat,
			"Berkas .xls lama tidak didukung. Simpan sebagai .xlsx atau CSV UTF-8.",
			"Old .xls files are not supported. Save as .xlsx or CSV UTF-8.")}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, []Problem{fileProblem(CodeEncoding,
			"Berkas bukan UTF-8 yang sah (mungkin Windows-1252). Simpan ulang sebagai \"CSV UTF-8\".",
			"The file is not valid UTF-8 (Windows-1252, perhaps). Save it again as \"CSV UTF-8\".")}
	}
	// Excel's "sep=;" first line names the separator.
	comma := ','
	if line, rest, ok := bytes.Cut(data, []byte("\n")); ok && bytes.HasPrefix(bytes.ToLower(line), []byte("sep=")) {
		if l := bytes.TrimSpace(line); len(l) == 5 {
			comma = rune(l[4])
		}
		data = rest
	} else {
		first, _, _ := bytes.Cut(data, []byte("\n"))
		if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
			comma = ';'
		}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	var records [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, []Problem{{Row: line, Code: CodeFormat,
				ID: fmt.Sprintf("CSV tidak dapat dibaca pada baris %d (tanda kutip tidak seimbang?).", line),
				EN: fmt.Sprintf("The CSV cannot be read at line %d (unbalanced quotes?).", line)}}
		}
		records = append(records, rec)
		if lim.MaxRows > 0 && len(records) > lim.MaxRows+1 {
			return nil, []Problem{tooManyRows(lim.MaxRows)}
		}
	}
	t, probs := table("", records)
	if len(probs) > 0 {
		return nil, probs
	}
	return []Table{t}, nil
}

// looksUTF16 reports a UTF-16 file without a byte-order mark: every other
// byte of an ASCII text is NUL. A lone NUL is a cell's problem instead.
func looksUTF16(data []byte) bool {
	head := data[:min(len(data), 512)]
	return len(head) >= 4 && bytes.Count(head, []byte{0}) > len(head)/4
}

func tooManyRows(n int) Problem {
	return fileProblem(CodeTooManyRows,
		fmt.Sprintf("Terlalu banyak baris: batasnya %d baris per berkas. Bagi menjadi beberapa berkas.", n),
		fmt.Sprintf("Too many rows: the limit is %d rows per file. Split it into several files.", n))
}

func parseXLSX(data []byte, lim Limits) ([]Table, []Problem) {
	// A zip bomb: at most 256 MiB unpacked in all (excelize refuses the
	// file beyond it), and a worksheet above 64 MiB of XML is unpacked to
	// a temporary file rather than held in memory.
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: 256 << 20, UnzipXMLSizeLimit: 64 << 20})
	if err != nil {
		return nil, []Problem{fileProblem(CodeFormat,
			"Berkas XLSX tidak dapat dibuka (rusak atau dilindungi kata sandi).",
			"The XLSX file cannot be opened (damaged or password-protected).")}
	}
	defer f.Close()
	var tables []Table
	var probs []Problem
	rows := 0
	for _, sheet := range f.GetSheetList() {
		// Raw values: a date cell is its serial number and a number is not
		// rounded by the cell's format (an 18-digit NIP typed as a number
		// shows as 1.97E+17 either way, and is refused in Check).
		records, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			probs = append(probs, Problem{Sheet: sheet, Code: CodeFormat, ID: "Lembar tidak dapat dibaca.", EN: "The sheet cannot be read."})
			continue
		}
		if nonEmpty(records) == 0 {
			continue
		}
		rows += len(records) - 1
		if lim.MaxRows > 0 && rows > lim.MaxRows {
			return nil, []Problem{tooManyRows(lim.MaxRows)}
		}
		t, p := table(sheet, records)
		probs = append(probs, p...)
		if len(p) == 0 {
			tables = append(tables, t)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	if len(tables) == 0 {
		return nil, []Problem{fileProblem(CodeEmpty, "Berkas tidak berisi data.", "The file holds no data.")}
	}
	return tables, nil
}

func nonEmpty(records [][]string) int {
	n := 0
	for _, r := range records {
		if strings.TrimSpace(strings.Join(r, "")) != "" {
			n++
		}
	}
	return n
}

// table reads the header row and the data rows of records.
func table(sheet string, records [][]string) (Table, []Problem) {
	// The header is the first non-empty row.
	start := 0
	for start < len(records) && strings.TrimSpace(strings.Join(records[start], "")) == "" {
		start++
	}
	if start == len(records) {
		return Table{}, []Problem{{Sheet: sheet, Code: CodeEmpty, ID: "Berkas kosong.", EN: "The file is empty."}}
	}
	header := records[start]
	cols := make(map[int]Field)
	seen := make(map[Field]bool)
	var probs []Problem
	for i, h := range header {
		f, ok := aliases[normHeader(h)]
		if !ok {
			continue // extra columns (SIASN exports carry many) are ignored
		}
		if seen[f] {
			probs = append(probs, Problem{Sheet: sheet, Row: start + 1, Column: f.Header(), Code: CodeDuplicateCol,
				ID: fmt.Sprintf("Kolom %q muncul dua kali.", f.Header()), EN: fmt.Sprintf("Column %q appears twice.", f.Header())})
		}
		seen[f] = true
		cols[i] = f
	}
	kind := KindUnits
	if seen[FieldNIP] {
		kind = KindEmployees
	}
	if !seen[FieldNIP] && !seen[FieldUnitName] {
		probs = append(probs, Problem{Sheet: sheet, Row: start + 1, Code: CodeMissingCol,
			ID: "Baris judul tidak dikenali: perlu kolom NIP (pegawai) atau Nama Unit (unit). Lihat docs/imports.md.",
			EN: "Header row not recognised: a table needs an NIP column (employees) or a Nama Unit column (units). See docs/imports.md."})
		return Table{}, probs
	}
	for _, f := range required[kind] {
		if !seen[f] {
			probs = append(probs, Problem{Sheet: sheet, Row: start + 1, Column: f.Header(), Code: CodeMissingCol,
				ID: fmt.Sprintf("Kolom wajib %q tidak ada.", f.Header()), EN: fmt.Sprintf("The required column %q (%s) is missing.", f.Header(), f)})
		}
	}
	if len(probs) > 0 {
		return Table{}, probs
	}
	t := Table{Kind: kind, Sheet: sheet}
	for n, rec := range records[start+1:] {
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		row := Row{Number: start + n + 2, Cells: make(map[Field]string, len(cols))}
		for i, v := range rec {
			if f, ok := cols[i]; ok {
				row.Cells[f] = strings.TrimSpace(v)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
