package imports

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// UnitRow is a checked unit row.
type UnitRow struct {
	Sheet    string
	Row      int
	ID       string
	Name     string
	ParentID string
}

// EmployeeRow is a checked employee row.
type EmployeeRow struct {
	Sheet    string
	Row      int
	NIP      string // 18 digits
	Name     string
	Position employee.Position
	UnitID   string
	// Appraiser and Superior are normalised NIPs or official IDs; ""
	// when the row records no reporting line.
	Appraiser string
	Superior  string
	// Effective is the TMT (zero when the row gives none).
	Effective calendar.Date
	// level orders the rows: an appraiser in the file comes a level
	// before the people they appraise.
	level int
}

// Plan is what a file asks for, checked row by row: the rows that passed,
// in the order they are applied (units parents first, employees
// appraisers first), and the problems of the others.
type Plan struct {
	Units     []UnitRow
	Employees []EmployeeRow
	// Refused are the problems of the rows that did not pass, in file
	// order.
	Refused []Problem
	// Total counts the data rows.
	Total int
}

var (
	// sciNIP is an NIP that Excel turned into a number in scientific
	// notation (1.97E+17, or 1,97E+17 in Indonesian Excel).
	sciNIP = regexp.MustCompile(`^[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+$`)
	// dateForms are the day-first forms an Indonesian spreadsheet writes.
	dateForms = []string{"02-01-2006", "02/01/2006", "02.01.2006", "2-1-2006", "2/1/2006", "2006/01/02"}
)

// rowChecker collects the problems of one row.
type rowChecker struct {
	sheet string
	row   int
	probs []Problem
}

func (c *rowChecker) add(f Field, code, id, en string) {
	p := Problem{Sheet: c.sheet, Row: c.row, Code: code, ID: id, EN: en}
	if f != "" {
		p.Column = f.Header()
	}
	c.probs = append(c.probs, p)
}

// text returns the cell of f after the rules every stored text obeys
// (domain/text.go) and the formula rule: a cell that starts with = + - @
// would run as a formula when an export of it is opened in a spreadsheet.
func (c *rowChecker) text(r Row, f Field, required bool, maxLen int) string {
	v := r.Cells[f]
	if p := domain.TextProblem(v); p != "" || strings.ContainsAny(v, "\t\r\n") {
		c.add(f, CodeText, "Berisi karakter kendali (NUL, tab, ganti baris…) atau bukan UTF-8 yang sah.",
			"Holds control characters (NUL, tab, line breaks…) or invalid UTF-8.")
		return ""
	}
	if v != "" && strings.ContainsRune("=+-@", rune(v[0])) && !isNumber(v) {
		c.add(f, CodeFormula, "Diawali = + - atau @: sel rumus tidak diterima. Hapus tanda di depan.",
			"Starts with = + - or @: formula cells are refused. Remove the leading sign.")
		return ""
	}
	if required && v == "" {
		c.add(f, CodeRequired, "Wajib diisi.", "Required.")
		return ""
	}
	if maxLen > 0 && utf8.RuneCountInString(v) > maxLen {
		c.add(f, CodeValue, fmt.Sprintf("Paling banyak %d karakter.", maxLen), fmt.Sprintf("At most %d characters.", maxLen))
		return ""
	}
	return v
}

func isNumber(v string) bool {
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

// nip reads an NIP cell: officials (OFFICIAL:…) are allowed where allowOfficial.
func (c *rowChecker) nip(r Row, f Field, required, allowOfficial bool) string {
	v := c.text(r, f, required, 64)
	if v == "" {
		return ""
	}
	if allowOfficial && strings.HasPrefix(strings.ToLower(v), employee.OfficialPrefix) {
		id := strings.ToUpper(v[len(employee.OfficialPrefix):])
		if !employee.ValidOfficialID(id) {
			c.add(f, CodeNIP, "ID pejabat tidak sah (official:ID, misalnya official:GUBERNUR).", "Not a valid official ID (official:ID, e.g. official:GUBERNUR).")
			return ""
		}
		return employee.OfficialPrefix + id
	}
	if sciNIP.MatchString(v) {
		c.add(f, CodeNIPNumber,
			fmt.Sprintf("NIP %q telah diubah Excel menjadi angka dan digit terakhirnya hilang. Format kolom sebagai Teks (atau awali dengan ') lalu ketik ulang NIP 18 digit.", v),
			fmt.Sprintf("Excel turned NIP %q into a number and lost its last digits. Format the column as Text (or start with ') and type the 18-digit NIP again.", v))
		return ""
	}
	// Excel keeps 15 significant digits of a number: an NIP that went
	// through a number cell ends in 000, which no NIP does (its serial is
	// 001-999).
	if d := nip.Normalize(strings.TrimPrefix(v, "'")); len(d) == 18 && strings.HasSuffix(d, "000") {
		c.add(f, CodeNIPNumber,
			fmt.Sprintf("NIP %s berakhir 000: Excel menyimpannya sebagai angka dan digit terakhirnya hilang. Format kolom sebagai Teks (atau awali dengan ') lalu ketik ulang NIP 18 digit.", d),
			fmt.Sprintf("NIP %s ends in 000: Excel stored it as a number and lost its last digits. Format the column as Text (or start with ') and type the 18-digit NIP again.", d))
		return ""
	}
	info, err := nip.Parse(strings.TrimPrefix(v, "'"))
	if err != nil {
		c.add(f, CodeNIP, "NIP tidak sah: "+fieldDetail(err), "Invalid NIP: "+fieldDetail(err))
		return ""
	}
	return string(info.NIP)
}

func fieldDetail(err error) string {
	if v, ok := err.(*domain.ValidationError); ok {
		var parts []string
		for _, f := range v.Fields {
			parts = append(parts, f.Message)
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// date reads a TMT: YYYY-MM-DD, a day-first form, or an Excel serial
// date; no earlier than 1950 and no later than a year from today.
func (c *rowChecker) date(r Row, f Field, today calendar.Date) calendar.Date {
	v := c.text(r, f, false, 40)
	if v == "" {
		return calendar.Date{}
	}
	d, ok := parseDate(v)
	if !ok {
		c.add(f, CodeDate, fmt.Sprintf("Tanggal %q tidak dikenali: tulis TTTT-BB-HH (2026-01-02) atau HH-BB-TTTT.", v),
			fmt.Sprintf("Date %q not recognised: write YYYY-MM-DD (2026-01-02) or DD-MM-YYYY.", v))
		return calendar.Date{}
	}
	if d.Year() < 1950 || d.After(today.AddDays(366)) {
		c.add(f, CodeDate, fmt.Sprintf("Tanggal %s di luar rentang yang masuk akal (1950 sampai setahun ke depan).", d),
			fmt.Sprintf("Date %s is outside the plausible range (1950 to a year ahead).", d))
		return calendar.Date{}
	}
	return d
}

func parseDate(v string) (calendar.Date, bool) {
	if d, err := calendar.Parse(v); err == nil {
		return d, true
	}
	for _, form := range dateForms {
		if t, err := time.Parse(form, v); err == nil {
			d, err := calendar.New(t.Year(), t.Month(), t.Day())
			return d, err == nil
		}
	}
	// An Excel serial date (days since 1899-12-30), as a raw XLSX cell
	// holds it.
	if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 200000 {
		t := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n)
		d, err := calendar.New(t.Year(), t.Month(), t.Day())
		return d, err == nil
	}
	return calendar.Date{}, false
}

func positionKind(v string) (employee.PositionKind, bool) {
	if k := employee.PositionKind(strings.ToUpper(strings.TrimSpace(v))); k.Valid() {
		return k, true
	}
	if code, ok := positionKinds[normHeader(v)]; ok {
		return employee.PositionKind(code), true
	}
	return "", false
}

// Check checks every row of tables on its own and against the other rows
// of the file (duplicates, appraisal cycles), and orders the rows that
// pass. What needs the ledger (a unit or appraiser that is not in the
// file, the rules of the domain) is checked when the plan runs.
func Check(tables []Table, today calendar.Date) *Plan {
	p := &Plan{}
	unitAt := map[string]string{}
	nipAt := map[string]string{}
	where := func(sheet string, row int) string {
		if sheet != "" {
			return fmt.Sprintf("%s baris %d", sheet, row)
		}
		return fmt.Sprintf("baris %d", row)
	}
	var emps []EmployeeRow
	for _, t := range tables {
		for _, r := range t.Rows {
			p.Total++
			c := &rowChecker{sheet: t.Sheet, row: r.Number}
			switch t.Kind {
			case KindUnits:
				u := UnitRow{Sheet: t.Sheet, Row: r.Number}
				u.ID = c.text(r, FieldUnitID, true, orgunit.MaxIDLen)
				if u.ID != "" && !orgunit.ValidID(u.ID) {
					c.add(FieldUnitID, CodeValue, "ID unit hanya boleh huruf, angka dan _ . : @ = + -, diawali huruf atau angka.",
						"A unit ID holds only letters, digits and _ . : @ = + -, starting with a letter or digit.")
				}
				u.Name = c.text(r, FieldUnitName, true, orgunit.MaxNameLen)
				u.ParentID = c.text(r, FieldParentID, false, orgunit.MaxIDLen)
				if u.ParentID != "" && u.ParentID == u.ID {
					c.add(FieldParentID, CodeValue, "Unit tidak dapat menjadi induk dirinya sendiri.", "A unit cannot be its own parent.")
				}
				if prev, dup := unitAt[u.ID]; dup && u.ID != "" {
					c.add(FieldUnitID, CodeDuplicate, fmt.Sprintf("ID unit %s sudah ada di %s.", u.ID, prev),
						fmt.Sprintf("Unit ID %s already appears at %s.", u.ID, strings.Replace(prev, "baris", "row", 1)))
				} else if u.ID != "" {
					unitAt[u.ID] = where(t.Sheet, r.Number)
				}
				if len(c.probs) == 0 {
					p.Units = append(p.Units, u)
				}
			case KindEmployees:
				e := EmployeeRow{Sheet: t.Sheet, Row: r.Number}
				e.NIP = c.nip(r, FieldNIP, true, false)
				e.Name = c.text(r, FieldName, true, employee.MaxNameLen)
				if v := c.text(r, FieldPositionKind, true, 60); v != "" {
					k, ok := positionKind(v)
					if !ok {
						c.add(FieldPositionKind, CodeValue, fmt.Sprintf("Jenis jabatan %q tidak dikenal: JPT_UTAMA, JPT_MADYA, JPT_PRATAMA, ADMINISTRATOR, PENGAWAS, PELAKSANA atau JF.", v),
							fmt.Sprintf("Unknown position kind %q: JPT_UTAMA, JPT_MADYA, JPT_PRATAMA, ADMINISTRATOR, PENGAWAS, PELAKSANA or JF.", v))
					}
					e.Position.Kind = k
				}
				e.Position.Title = c.text(r, FieldPositionTitle, true, employee.MaxTitleLen)
				e.UnitID = c.text(r, FieldUnitID, true, orgunit.MaxIDLen)
				if e.UnitID != "" && !orgunit.ValidID(e.UnitID) {
					c.add(FieldUnitID, CodeValue, "ID unit tidak sah.", "Not a valid unit ID.")
				}
				e.Appraiser = c.nip(r, FieldAppraiserNIP, false, true)
				e.Superior = c.nip(r, FieldSuperiorNIP, false, true)
				e.Effective = c.date(r, FieldEffectiveFrom, today)
				if e.Superior != "" && e.Appraiser == "" && r.Cells[FieldAppraiserNIP] == "" {
					c.add(FieldAppraiserNIP, CodeRequired, "NIP pejabat penilai wajib diisi bila atasannya diisi.",
						"The appraiser is required when the appraiser's superior is given.")
				}
				if e.NIP != "" && e.NIP == e.Appraiser {
					c.add(FieldAppraiserNIP, CodeValue, "Pegawai tidak dapat menilai dirinya sendiri.", "An employee cannot appraise themselves.")
				}
				if prev, dup := nipAt[e.NIP]; dup && e.NIP != "" {
					c.add(FieldNIP, CodeDuplicate, fmt.Sprintf("NIP %s sudah ada di %s.", e.NIP, prev),
						fmt.Sprintf("NIP %s already appears at %s.", e.NIP, strings.Replace(prev, "baris", "row", 1)))
				} else if e.NIP != "" {
					nipAt[e.NIP] = where(t.Sheet, r.Number)
				}
				if len(c.probs) == 0 {
					emps = append(emps, e)
				}
			}
			p.Refused = append(p.Refused, c.probs...)
		}
	}
	p.Units = orderUnits(p.Units)
	p.Employees, p.Refused = orderEmployees(emps, p.Refused)
	return p
}

// orderUnits puts every unit after its parent when the parent is in the
// file too (a parent cycle is left to the ledger's check: the first unit
// of it finds its parent missing).
func orderUnits(units []UnitRow) []UnitRow {
	byID := make(map[string]int, len(units))
	for i, u := range units {
		byID[u.ID] = i
	}
	state := make([]byte, len(units)) // 0 new, 1 visiting, 2 done
	out := make([]UnitRow, 0, len(units))
	var visit func(i int)
	visit = func(i int) {
		if state[i] != 0 {
			return
		}
		state[i] = 1
		if j, ok := byID[units[i].ParentID]; ok {
			visit(j)
		}
		state[i] = 2
		out = append(out, units[i])
	}
	for i := range units {
		visit(i)
	}
	return out
}

// orderEmployees levels the rows: a row comes after the rows of its
// appraiser and superior when they are in the file. Rows on an appraisal
// cycle within the file are refused.
func orderEmployees(emps []EmployeeRow, refused []Problem) ([]EmployeeRow, []Problem) {
	byNIP := make(map[string]int, len(emps))
	for i, e := range emps {
		byNIP[e.NIP] = i
	}
	const (
		unseen = iota
		visiting
		done
		cyclic
	)
	state := make([]byte, len(emps))
	var level func(i int) int
	level = func(i int) int {
		switch state[i] {
		case done:
			return emps[i].level
		case visiting, cyclic:
			state[i] = cyclic
			return -1
		}
		state[i] = visiting
		l := 0
		for _, up := range []string{emps[i].Appraiser, emps[i].Superior} {
			if j, ok := byNIP[up]; ok {
				lj := level(j)
				if lj < 0 {
					state[i] = cyclic
					return -1
				}
				l = max(l, lj+1)
			}
		}
		state[i] = done
		emps[i].level = l
		return l
	}
	var out []EmployeeRow
	for i := range emps {
		if level(i) < 0 {
			e := emps[i]
			refused = append(refused, Problem{Sheet: e.Sheet, Row: e.Row, Column: FieldAppraiserNIP.Header(), Code: CodeCycle,
				ID: "Rantai penilaian dalam berkas membentuk lingkaran (A menilai B, B menilai A).",
				EN: "The appraisal chain within the file loops (A appraises B, B appraises A)."})
			continue
		}
		out = append(out, emps[i])
	}
	// Stable by level, then file order.
	sortByLevel(out)
	return out, refused
}

func sortByLevel(rows []EmployeeRow) {
	slices.SortStableFunc(rows, func(a, b EmployeeRow) int { return a.level - b.level })
}
