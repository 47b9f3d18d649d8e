package document

import (
	"bytes"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
)

// Page geometry (mm, A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	margin       = 15.0
	footerH      = 12.0
	bodyW        = pageW - 2*margin
	bottom       = pageH - margin - footerH
	lineH        = 4.2
)

// writer draws a document and records every string it draws, in drawing
// order: the canonical text (Canonical) is computed from the record, and
// pdftotext -raw, which reads text in content-stream order, gives the same
// characters back from the file.
type writer struct {
	pdf    *fpdf.Fpdf
	text   strings.Builder
	footer func() string
	// unrecorded is set while the verification code is drawn: the code is
	// not part of the text it signs.
	unrecorded bool
}

func newWriter() *writer {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(false, 0)
	w := &writer{pdf: p}
	p.SetFooterFunc(func() {
		if w.footer == nil {
			return
		}
		p.SetFont("Helvetica", "", 7)
		p.SetTextColor(90, 90, 90)
		w.cell(margin, pageH-margin-4, bodyW, 4, w.footer(), "C")
		p.SetTextColor(0, 0, 0)
	})
	return w
}

var cp1252 = charmap.Windows1252.NewEncoder()

// printable returns s as the document prints it: control characters as
// spaces, characters the PDF core fonts (Windows-1252) cannot show as '?'.
// The canonical text is made of these strings, so that it equals what a
// reader of the file gets back.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || unicode.IsSpace(r):
			b.WriteByte(' ')
		case r == unicode.ReplacementChar:
			b.WriteByte('?')
		default:
			if _, err := cp1252.String(string(r)); err != nil {
				b.WriteByte('?')
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// encode turns a printable string into the font's Windows-1252 bytes.
func encode(s string) string {
	e, err := cp1252.String(s)
	if err != nil {
		return s
	}
	return e
}

// cell draws the printable form of s in a cell at (x, y).
func (w *writer) cell(x, y, width, h float64, s, align string) {
	s = printable(s)
	if !w.unrecorded {
		w.text.WriteString(s)
		w.text.WriteByte('\n')
	}
	w.pdf.SetXY(x, y)
	w.pdf.CellFormat(width, h, encode(s), "", 0, align, false, 0, "")
}

// lines splits s into the lines that fit width in the current font.
func (w *writer) lines(s string, width float64) []string {
	s = printable(s)
	if strings.TrimSpace(s) == "" {
		return []string{""}
	}
	return w.pdf.SplitText(s, width)
}

// font sets the font: style "" or "B", size in points.
func (w *writer) font(style string, size float64) { w.pdf.SetFont("Helvetica", style, size) }

// mono sets the fixed-width font of hashes and codes.
func (w *writer) mono(size float64) { w.pdf.SetFont("Courier", "", size) }

// y returns the current vertical position.
func (w *writer) y() float64 { return w.pdf.GetY() }

func (w *writer) setY(y float64) { w.pdf.SetY(y) }

// need starts a new page unless h more millimetres fit on this one.
func (w *writer) need(h float64) {
	if w.y()+h > bottom {
		w.pdf.AddPage()
		w.setY(margin)
	}
}

// para writes a paragraph across width from x, wrapped.
func (w *writer) para(x, width float64, s, align string) {
	for _, l := range w.lines(s, width) {
		w.need(lineH)
		w.cell(x, w.y(), width, lineH, l, align)
		w.setY(w.y() + lineH)
	}
}

// heading writes a bold line.
func (w *writer) heading(s string, size float64, align string) {
	w.font("B", size)
	w.need(lineH + 2)
	w.cell(margin, w.y(), bodyW, lineH+1, s, align)
	w.setY(w.y() + lineH + 1)
	w.font("", 9)
}

// column is a column of a table: its width and its cells' alignment.
type column struct {
	width float64
	align string
}

// row draws a table row: each cell wrapped in its column, bordered, the
// row as high as its tallest cell. A row that does not fit starts a new
// page (with the header row again, when header is set); a row taller than
// a page continues over as many as it needs.
func (w *writer) row(cols []column, cells []string, bold bool, header func()) {
	style := ""
	if bold {
		style = "B"
	}
	w.font(style, 8.5)
	split := make([][]string, len(cols))
	n := 1
	for i, c := range cols {
		if i < len(cells) {
			split[i] = w.lines(cells[i], c.width)
		}
		n = max(n, len(split[i]))
	}
	newPage := func() {
		w.pdf.AddPage()
		w.setY(margin)
		if header != nil {
			header()
			w.font(style, 8.5)
		}
	}
	fresh := false
	for from := 0; from < n; {
		avail := int((bottom - w.y() - 1.5) / lineH)
		left := n - from
		switch {
		case left <= avail:
			w.rowPart(cols, split, from, n, bold)
			return
		case !fresh && (avail < 1 || float64(left)*lineH+1.5 <= bottom-margin):
			// It fits on a page of its own, or nothing fits here.
			newPage()
			fresh = true
		default:
			w.rowPart(cols, split, from, from+avail, bold)
			from += avail
			newPage()
			fresh = true
		}
	}
}

// rowPart draws lines [from, to) of a row's cells.
func (w *writer) rowPart(cols []column, split [][]string, from, to int, bold bool) {
	h := float64(to-from)*lineH + 1.5
	y0 := w.y()
	x := margin
	for i, c := range cols {
		if bold {
			w.pdf.SetFillColor(230, 236, 245)
			w.pdf.Rect(x, y0, c.width, h, "FD")
		} else {
			w.pdf.Rect(x, y0, c.width, h, "D")
		}
		for j := from; j < to && j < len(split[i]); j++ {
			if split[i][j] == "" {
				continue
			}
			w.cell(x, y0+0.75+float64(j-from)*lineH, c.width, lineH, split[i][j], c.align)
		}
		x += c.width
	}
	w.setY(y0 + h)
}

// output returns the PDF's bytes.
func (w *writer) output() ([]byte, error) {
	var buf bytes.Buffer
	if err := w.pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
