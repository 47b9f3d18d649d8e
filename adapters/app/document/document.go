// Package document prints the official documents of an SKP as PDF: the
// SKP itself with its Lampiran (rencana hasil kerja, indicators, targets,
// behaviour expectations, signatures), and the Dokumen Evaluasi Kinerja
// Pegawai of a period, both after the forms of PermenPANRB 6/2022, in
// Indonesian. Every document carries a verification block: the SKP ID,
// the revision and ledger position it was printed from, that event's chain
// hash, the latest signed checkpoint, and a QR code of a verification URL
// whose code (Code) is signed with the audit key and bound to a hash of
// the document's text, so that a changed copy fails verification
// (docs/documents.md).
//
// The package renders what the application layer read for an authorised
// caller (app.App.SKPDocument); it reads nothing itself.
package document

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	qr "github.com/piglig/go-qr"

	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// Checkpoint is the latest signed checkpoint of the audit trail when the
// document was printed.
type Checkpoint struct {
	Size     uint64
	RootHash string
	SignedAt time.Time
	KeyID    string
}

// Input is everything a document shows.
type Input struct {
	// View is the SKP at the revision printed.
	View skp.View
	// Period is the evaluation's period; "" prints the SKP.
	Period string
	// Names are employees' names by NIP, Titles their posts' titles,
	// UnitOf their units' IDs; Units units' names by ID.
	Names  map[string]string
	Titles map[string]string
	UnitOf map[string]string
	Units  map[string]string
	// Position is the ledger position of the revision's event, ChainHash
	// its chain hash.
	Position  uint64
	ChainHash [32]byte
	// Checkpoint is the latest signed checkpoint (nil: none yet).
	Checkpoint *Checkpoint
	// OrgPredikat is the unit's organisation predikat for the period, if
	// set (evaluations).
	OrgPredikat string
	// PrintedAt is the printing time; Loc the zone it and every time are
	// shown in (WIB, WITA or WIT).
	PrintedAt time.Time
	Loc       *time.Location
	// VerifyURL is the verification page's URL without the code
	// ("https://kinerja.example/verify/").
	VerifyURL string
}

// Document is a printed document.
type Document struct {
	// PDF is the file.
	PDF []byte
	// Code is its verification code; URL the verification URL of its QR
	// code.
	Code, URL string
	// FileName is a download name without extension.
	FileName string
	// Text is the text drawn, in drawing order, but the code (what
	// pdftotext -raw reads back, less the code).
	Text string
}

// Options change how a document is written (tests).
type Options struct {
	// Uncompressed writes the page streams as plain text.
	Uncompressed bool
}

// Keyword opens the verification code in the PDF's Keywords metadata,
// where verify-document finds it.
const Keyword = "kinerja-verify:"

// Render prints in as the SKP (in.Period "") or the evaluation of
// in.Period, with its verification code signed by key.
func Render(in Input, key *merkle.Signer, opts ...Options) (Document, error) {
	if key == nil {
		return Document{}, errors.New("document: no audit key to sign the verification code")
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if in.Loc == nil {
		in.Loc = idfmt.WIB
	}
	in.PrintedAt = in.PrintedAt.Truncate(time.Second)
	c := Code{Kind: KindSKP, SKPID: in.View.ID, Period: in.Period, Revision: in.View.Revision, Position: in.Position,
		PrintedAt: in.PrintedAt, KeyID: key.Verifier().KeyIDNumber()}
	copy(c.ChainHash[:], in.ChainHash[:])
	if in.Period != "" {
		c.Kind = KindEvaluation
		if !hasEvaluation(in.View, in.Period) {
			return Document{}, fmt.Errorf("document: SKP %s has no evaluation of %s", in.View.ID, in.Period)
		}
	}
	// A placeholder as long as the code lays the pages out as the code
	// will: the first pass gives the canonical text (which leaves the code
	// out), the second the file.
	sealed, err := Seal(c, key)
	if err != nil {
		return Document{}, err
	}
	first, err := in.draw(strings.Repeat("-", len(sealed)), o)
	if err != nil {
		return Document{}, err
	}
	c.ContentHash = ContentHash(Canonical(first.text.String(), ""))
	code, err := Seal(c, key)
	if err != nil {
		return Document{}, err
	}
	w, err := in.draw(code, o)
	if err != nil {
		return Document{}, err
	}
	pdf, err := w.output()
	if err != nil {
		return Document{}, fmt.Errorf("document: %w", err)
	}
	name := "SKP-" + in.View.ID
	if in.Period != "" {
		name = "Evaluasi-" + in.View.ID + "-" + in.Period
	}
	return Document{PDF: pdf, Code: code, URL: in.VerifyURL + code, FileName: name, Text: w.text.String()}, nil
}

func hasEvaluation(v skp.View, p string) bool {
	for _, e := range v.Evaluations {
		if e.Period == p {
			return true
		}
	}
	return false
}

// draw lays the document out with code in its verification block.
func (in Input) draw(code string, o Options) (*writer, error) {
	w := newWriter()
	w.pdf.SetCompression(!o.Uncompressed)
	// Fonts and resources in a fixed order: the same input prints the
	// same bytes.
	w.pdf.SetCatalogSort(true)
	title := "Sasaran Kinerja Pegawai " + in.View.ID
	if in.Period != "" {
		title = "Dokumen Evaluasi Kinerja Pegawai " + in.View.ID + " " + in.Period
	}
	w.pdf.SetTitle(printable(title), true)
	w.pdf.SetSubject("Dokumen resmi Kinerja Ledger dengan blok verifikasi", true)
	w.pdf.SetCreator("Kinerja Ledger", false)
	w.pdf.SetKeywords(Keyword+code, false)
	w.pdf.SetCreationDate(in.PrintedAt)
	w.pdf.SetModificationDate(in.PrintedAt)
	w.footer = func() string {
		return "Kinerja Ledger - SKP " + in.View.ID + " revisi " + strconv.FormatUint(in.View.Revision, 10) +
			" - dicetak " + idfmt.DateTime(idfmt.ID, in.PrintedAt, in.Loc) + " - halaman " + strconv.Itoa(w.pdf.PageNo())
	}
	w.pdf.AddPage()
	w.setY(margin)
	if in.Period == "" {
		in.drawSKP(w)
	} else {
		in.drawEvaluation(w)
	}
	if err := in.drawVerification(w, code); err != nil {
		return nil, err
	}
	// Closing draws the last page's footer, which the text must hold.
	w.pdf.Close()
	return w, w.pdf.Error()
}

func (in Input) name(nip string) string {
	if n := in.Names[nip]; n != "" {
		return n
	}
	return "—"
}

func (in Input) unit(id string) string {
	if n := in.Units[id]; n != "" {
		return n
	}
	return id
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// periodLabel names a period as the forms do: "Tahunan 2026", "Triwulan I
// 2026", "Januari 2026".
func periodLabel(p string) string {
	pp, err := period.Parse(p)
	if err != nil {
		return p
	}
	switch pp.Kind() {
	case period.Quarter:
		return "Triwulan " + [...]string{"I", "II", "III", "IV"}[(int(pp.Start().Month())-1)/3] + " " + strconv.Itoa(pp.Year())
	case period.Month:
		return idfmt.Month(idfmt.ID, pp.Start().Month()) + " " + strconv.Itoa(pp.Year())
	}
	return "Tahunan " + strconv.Itoa(pp.Year())
}

// span is the first and last day of a period, "1 Januari 2026 s.d. 31
// Desember 2026".
func span(p string, year int) string {
	pp, err := period.Parse(p)
	if err != nil {
		pp = period.MustParse(strconv.Itoa(year))
	}
	d := func(y int, m time.Month, day int) string {
		return strconv.Itoa(day) + " " + idfmt.Month(idfmt.ID, m) + " " + strconv.Itoa(y)
	}
	s, e := pp.Start(), pp.End()
	return d(s.Year(), s.Month(), s.Day()) + " s.d. " + d(e.Year(), e.Month(), e.Day())
}

// parties draws the two-column table of the employee and the appraiser.
func (in Input) parties(w *writer, appraiser string) {
	v := in.View
	cols := []column{{8, "C"}, {37, "L"}, {45, "L"}, {8, "C"}, {37, "L"}, {45, "L"}}
	w.row(cols, []string{"NO", "PEGAWAI YANG DINILAI", "", "NO", "PEJABAT PENILAI KINERJA", ""}, true, nil)
	unit := in.unit(v.Employee.UnitID)
	pos := dash(v.Employee.Position.Title)
	if k := idfmt.Label(idfmt.ID, "poskind", string(v.Employee.Position.Kind)); k != "—" && k != "" {
		pos += " (" + k + ")"
	}
	rows := [][2]string{{"NAMA", dash(v.Employee.Name)}, {"NIP", v.NIP}, {"JABATAN", pos}, {"UNIT KERJA", unit}}
	atitle := in.Titles[appraiser]
	if atitle == "" {
		atitle = "Pejabat Penilai Kinerja"
	}
	aunit := unit
	if u := in.UnitOf[appraiser]; u != "" {
		aunit = in.unit(u)
	}
	arows := [][2]string{{"NAMA", in.name(appraiser)}, {"NIP", dash(appraiser)}, {"JABATAN", atitle}, {"UNIT KERJA", aunit}}
	for i := range rows {
		n := strconv.Itoa(i + 1)
		w.row(cols, []string{n, rows[i][0], rows[i][1], n, arows[i][0], arows[i][1]}, false, nil)
	}
	w.setY(w.y() + 3)
}

// approach names the SKP's approach as the form's title does.
func approach(a skp.Approach) string {
	if a == skp.Approach("KUALITATIF") {
		return "PENDEKATAN HASIL KERJA KUALITATIF"
	}
	return "PENDEKATAN HASIL KERJA KUANTITATIF"
}

func (in Input) drawSKP(w *writer) {
	v := in.View
	w.heading("SASARAN KINERJA PEGAWAI", 13, "C")
	w.heading(approach(v.Approach), 10, "C")
	w.font("", 9)
	w.para(margin, bodyW, "PERIODE PENILAIAN: "+strings.ToUpper(span("", v.Year)), "C")
	status := idfmt.Label(idfmt.ID, "status", string(v.Status))
	meta := "Status: " + status
	if v.Version > 0 {
		meta += " - versi " + strconv.Itoa(v.Version)
		if n := len(v.Versions); n > 0 {
			meta += " ditetapkan " + idfmt.Date(idfmt.ID, v.Versions[n-1].EstablishedAt, in.Loc)
		}
	}
	if v.Late {
		meta += " (ditetapkan terlambat)"
	}
	w.para(margin, bodyW, meta, "C")
	w.setY(w.y() + 3)
	in.parties(w, v.AppraiserNIP)

	// Hasil kerja: the plan in effect (the established version's, else
	// the draft).
	plan := v.Plan
	if n := len(v.Versions); n > 0 && v.Status != skp.Status("DRAFT") && v.Status != skp.Status("AMENDMENT") {
		plan = v.Versions[n-1].RHK
	}
	w.heading("HASIL KERJA", 10, "L")
	cols := []column{{8, "C"}, {42, "L"}, {45, "L"}, {20, "L"}, {40, "L"}, {25, "R"}}
	header := func() {
		w.row(cols, []string{"NO", "RENCANA HASIL KERJA PIMPINAN YANG DIINTERVENSI", "RENCANA HASIL KERJA", "ASPEK", "INDIKATOR KINERJA INDIVIDU", "TARGET"}, true, nil)
	}
	header()
	for _, kind := range []skp.RHKKind{"UTAMA", "TAMBAHAN"} {
		w.row([]column{{bodyW, "L"}}, []string{map[skp.RHKKind]string{"UTAMA": "A. UTAMA", "TAMBAHAN": "B. TAMBAHAN"}[kind]}, true, header)
		n := 0
		for _, r := range plan {
			if r.Kind != kind {
				continue
			}
			n++
			inter := "—"
			if r.IntervenedRHKID != "" {
				inter = r.IntervenedRHKID + " (SKP " + r.IntervenedSKPID + ")"
			}
			if len(r.Indicators) == 0 {
				w.row(cols, []string{strconv.Itoa(n), inter, r.Text, "—", "—", "—"}, false, header)
			}
			for i, ind := range r.Indicators {
				no, it, rt := "", "", ""
				if i == 0 {
					no, it, rt = strconv.Itoa(n), inter, r.Text
				}
				w.row(cols, []string{no, it, rt, idfmt.Label(idfmt.ID, "aspect", string(ind.Aspect)), ind.Text, target(ind.Target)}, false, header)
			}
		}
		if n == 0 {
			w.row([]column{{bodyW, "C"}}, []string{"Tidak ada"}, false, header)
		}
	}
	w.setY(w.y() + 3)

	w.heading("PERILAKU KERJA", 10, "L")
	bcols := []column{{8, "C"}, {52, "L"}, {120, "L"}}
	bheader := func() {
		w.row(bcols, []string{"NO", "PERILAKU KERJA (BerAKHLAK)", "EKSPEKTASI KHUSUS PIMPINAN"}, true, nil)
	}
	bheader()
	exp := map[berakhlak.Value]string{}
	for _, e := range v.Expectations {
		exp[e.Value] = e.Expectation
	}
	for i, b := range berakhlak.Values() {
		w.row(bcols, []string{strconv.Itoa(i + 1), idfmt.Label(idfmt.ID, "berakhlak", string(b)), dash(exp[b])}, false, bheader)
	}
	w.setY(w.y() + 4)
	in.signatures(w, v.AppraiserNIP, "Pejabat Penilai Kinerja", "Pegawai yang Dinilai")
}

func titleOf(t string) string {
	if t == "" {
		return ""
	}
	return " - " + t
}

func target(t skp.Target) string {
	return idfmt.Number(idfmt.ID, t.Value, -1) + " " + t.Unit
}

// signatures draws the signature block: the place and date line, and the
// two parties with room to sign.
func (in Input) signatures(w *writer, appraiser, left, right string) {
	w.need(42)
	w.font("", 9)
	y := w.y()
	half := bodyW / 2
	w.cell(margin+half, y, half, lineH, "................................, "+idfmt.Date(idfmt.ID, in.PrintedAt, in.Loc), "C")
	y += lineH + 1
	w.cell(margin, y, half, lineH, left+",", "C")
	w.cell(margin+half, y, half, lineH, right+",", "C")
	y += 24
	w.font("B", 9)
	w.cell(margin, y, half, lineH, in.name(appraiser), "C")
	w.cell(margin+half, y, half, lineH, dash(in.View.Employee.Name), "C")
	y += lineH
	w.font("", 9)
	w.cell(margin, y, half, lineH, "NIP "+dash(appraiser), "C")
	w.cell(margin+half, y, half, lineH, "NIP "+in.View.NIP, "C")
	w.setY(y + lineH + 5)
}

func (in Input) drawEvaluation(w *writer) {
	v := in.View
	var ev skp.EvaluationView
	for _, e := range v.Evaluations {
		if e.Period == in.Period {
			ev = e
		}
	}
	w.heading("DOKUMEN EVALUASI KINERJA PEGAWAI", 13, "C")
	w.heading("PERIODE: "+strings.ToUpper(periodLabel(in.Period)), 10, "C")
	w.font("", 9)
	w.para(margin, bodyW, "PERIODE PENILAIAN: "+strings.ToUpper(span(in.Period, v.Year)), "C")
	w.para(margin, bodyW, "Status penilaian: "+idfmt.Label(idfmt.ID, "evalstatus", string(ev.Status)), "C")
	w.setY(w.y() + 3)
	appraiser := ev.AppraiserNIP
	if appraiser == "" {
		appraiser = v.AppraiserNIP
	}
	in.parties(w, appraiser)
	if sup := v.AppraiserSuperiorNIP; sup != "" {
		// The appraiser's superior, who decides an objection.
		w.setY(w.y() - 3)
		cols := []column{{8, "C"}, {37, "L"}, {135, "L"}}
		w.row(cols, []string{"", "ATASAN PEJABAT PENILAI KINERJA", in.name(sup) + " - NIP " + sup + titleOf(in.Titles[sup])}, false, nil)
		w.setY(w.y() + 3)
	}
	w.font("", 9)
	w.para(margin, bodyW, "CAPAIAN KINERJA ORGANISASI: "+strings.ToUpper(idfmt.Label(idfmt.ID, "orgpredikat", in.OrgPredikat)), "L")
	w.para(margin, bodyW, "POLA DISTRIBUSI: SE Menteri PANRB Nomor 3 Tahun 2023", "L")
	w.setY(w.y() + 2)

	// Hasil kerja with the realisations of the period.
	w.heading("HASIL KERJA", 10, "L")
	plan := v.Plan
	if n := len(v.Versions); n > 0 {
		plan = v.Versions[n-1].RHK
	}
	real := map[string][]skp.Realisation{}
	for _, r := range v.Realisations {
		if r.Period == in.Period || in.isAnnual() && strings.HasPrefix(r.Period, strconv.Itoa(v.Year)) {
			real[r.IndicatorID] = append(real[r.IndicatorID], r)
		}
	}
	feedback := map[string][]string{}
	for _, f := range v.Feedback {
		key := f.About.IndicatorID
		if key == "" {
			key = f.About.RHKID
		}
		if key == "" && f.About.Behaviour != "" {
			key = "b:" + string(f.About.Behaviour)
		}
		if f.OccurredAt.After(in.periodEnd()) {
			continue
		}
		feedback[key] = append(feedback[key], f.Text)
	}
	cols := []column{{8, "C"}, {45, "L"}, {37, "L"}, {22, "R"}, {33, "L"}, {35, "L"}}
	header := func() {
		w.row(cols, []string{"NO", "RENCANA HASIL KERJA", "INDIKATOR KINERJA INDIVIDU", "TARGET", "REALISASI BERDASARKAN BUKTI DUKUNG", "UMPAN BALIK BERKELANJUTAN"}, true, nil)
	}
	header()
	for _, kind := range []skp.RHKKind{"UTAMA", "TAMBAHAN"} {
		w.row([]column{{bodyW, "L"}}, []string{map[skp.RHKKind]string{"UTAMA": "A. UTAMA", "TAMBAHAN": "B. TAMBAHAN"}[kind]}, true, header)
		n := 0
		for _, r := range plan {
			if r.Kind != kind {
				continue
			}
			n++
			for i, ind := range r.Indicators {
				no, rt := "", ""
				if i == 0 {
					no, rt = strconv.Itoa(n), r.Text
				}
				var rs []string
				for _, x := range real[ind.ID] {
					s := idfmt.Number(idfmt.ID, x.Value, -1) + " " + ind.Target.Unit
					if x.Period != in.Period {
						s += " (" + x.Period + ")"
					}
					if x.Narrative != "" {
						s += ": " + x.Narrative
					}
					rs = append(rs, s)
				}
				fb := append([]string(nil), feedback[ind.ID]...)
				if i == 0 {
					fb = append(fb, feedback[r.ID]...)
				}
				w.row(cols, []string{no, rt, ind.Text, target(ind.Target), dash(strings.Join(rs, "; ")), dash(strings.Join(fb, "; "))}, false, header)
			}
		}
		if n == 0 {
			w.row([]column{{bodyW, "C"}}, []string{"Tidak ada"}, false, header)
		}
	}
	w.need(lineH * 2)
	w.row([]column{{125, "L"}, {55, "L"}}, []string{"RATING HASIL KERJA", idfmt.Label(idfmt.ID, "rating", string(ev.WorkResult))}, true, nil)
	w.setY(w.y() + 3)

	w.heading("PERILAKU KERJA", 10, "L")
	bcols := []column{{8, "C"}, {45, "L"}, {80, "L"}, {47, "L"}}
	bheader := func() {
		w.row(bcols, []string{"NO", "PERILAKU KERJA (BerAKHLAK)", "EKSPEKTASI KHUSUS PIMPINAN", "UMPAN BALIK BERKELANJUTAN"}, true, nil)
	}
	bheader()
	exp := map[berakhlak.Value]string{}
	for _, e := range v.Expectations {
		exp[e.Value] = e.Expectation
	}
	for i, b := range berakhlak.Values() {
		w.row(bcols, []string{strconv.Itoa(i + 1), idfmt.Label(idfmt.ID, "berakhlak", string(b)), dash(exp[b]), dash(strings.Join(feedback["b:"+string(b)], "; "))}, false, bheader)
	}
	w.row([]column{{125, "L"}, {55, "L"}}, []string{"RATING PERILAKU KERJA", idfmt.Label(idfmt.ID, "rating", string(ev.Behaviour))}, true, nil)
	w.setY(w.y() + 3)
	w.row([]column{{125, "L"}, {55, "L"}}, []string{"PREDIKAT KINERJA PEGAWAI", strings.ToUpper(idfmt.Label(idfmt.ID, "predikat", string(ev.Predikat)))}, true, nil)
	w.setY(w.y() + 2)
	w.font("", 8.5)
	if ev.Rationale != "" {
		w.para(margin, bodyW, "Catatan penilaian: "+ev.Rationale, "L")
	}
	if ev.DeliveredAt != nil {
		w.para(margin, bodyW, "Disampaikan kepada pegawai: "+idfmt.DateTime(idfmt.ID, *ev.DeliveredAt, in.Loc), "L")
	}
	if ev.ObjectionDeadline != nil {
		w.para(margin, bodyW, "Batas pengajuan keberatan: "+idfmt.DateTime(idfmt.ID, *ev.ObjectionDeadline, in.Loc), "L")
	}
	if o := ev.Objection; o != nil {
		s := "Keberatan: " + idfmt.Label(idfmt.ID, "objstatus", string(o.Status)) + ", diajukan " + idfmt.Date(idfmt.ID, o.FiledAt, in.Loc)
		if o.Decision != nil {
			s += "; diputus " + idfmt.Label(idfmt.ID, "outcome", string(o.Decision.Outcome))
		}
		w.para(margin, bodyW, s, "L")
	}
	w.setY(w.y() + 4)
	in.signatures(w, appraiser, "Pejabat Penilai Kinerja", "Pegawai yang Dinilai")
}

func (in Input) isAnnual() bool {
	p, err := period.Parse(in.Period)
	return err == nil && p.IsAnnual()
}

// periodEnd is the instant after the period's last day in the zone.
func (in Input) periodEnd() time.Time {
	p, err := period.Parse(in.Period)
	if err != nil {
		return in.PrintedAt
	}
	e := p.End()
	return time.Date(e.Year(), e.Month(), e.Day()+1, 0, 0, 0, 0, in.Loc)
}

// verificationH is the verification block's height.
const verificationH = 62.0

// drawVerification draws the verification block: the ledger facts, the
// code and its QR code.
func (in Input) drawVerification(w *writer, code string) error {
	w.need(verificationH + 2)
	y0 := w.y() + 2
	w.pdf.SetDrawColor(40, 40, 40)
	w.pdf.Rect(margin, y0, bodyW, verificationH, "D")
	const qrSize = 44.0
	url := in.VerifyURL + code
	if err := drawQR(w, url, margin+2, y0+2, qrSize); err != nil {
		return err
	}
	x := margin + qrSize + 5
	tw := bodyW - qrSize - 7
	y := y0 + 2
	put := func(s string) {
		w.cell(x, y, tw, 3.6, s, "L")
		y += 3.6
	}
	w.font("B", 9)
	put("BLOK VERIFIKASI DOKUMEN")
	w.font("", 7.5)
	put("Dokumen ini dicetak dari buku besar Kinerja Ledger dan membawa buktinya sendiri.")
	put("ID SKP: " + in.View.ID + "   Revisi: " + strconv.FormatUint(in.View.Revision, 10) +
		"   Posisi buku besar: " + strconv.FormatUint(in.Position, 10))
	put("Hash rantai revisi ini:")
	w.mono(7)
	put(fmt.Sprintf("%x", in.ChainHash[:]))
	w.font("", 7.5)
	if cp := in.Checkpoint; cp != nil {
		put("Checkpoint bertanda tangan terakhir: " + strconv.FormatUint(cp.Size, 10) + " entri, ditandatangani " +
			idfmt.DateTime(idfmt.ID, cp.SignedAt, in.Loc))
		w.mono(7)
		put("kunci " + cp.KeyID + " akar " + cp.RootHash)
		w.font("", 7.5)
	} else {
		put("Checkpoint bertanda tangan terakhir: belum ada")
		y += 3.6
	}
	put("Dicetak: " + idfmt.DateTime(idfmt.ID, in.PrintedAt, in.Loc))
	put("Periksa keasliannya dengan memindai kode QR atau membuka:")
	w.mono(7)
	put(in.VerifyURL)
	w.font("", 7.5)
	put("Kode verifikasi:")
	w.mono(7)
	const chunk = 64
	w.unrecorded = true
	for i := 0; i < len(code); i += chunk {
		put(code[i:min(i+chunk, len(code))])
	}
	w.unrecorded = false
	w.font("", 7)
	put("Luring: kinerjactl verify-document BERKAS.pdf --key KUNCI-PUBLIK-AUDIT")
	w.setY(y0 + verificationH + 2)
	return nil
}

// drawQR draws the QR code of s, size mm square, at (x, y).
func drawQR(w *writer, s string, x, y, size float64) error {
	q, err := qr.EncodeText(s, qr.Medium)
	if err != nil {
		return fmt.Errorf("document: QR code: %w", err)
	}
	n := q.Size()
	quiet := 2
	m := size / float64(n+2*quiet)
	w.pdf.SetFillColor(0, 0, 0)
	for r := 0; r < n; r++ {
		for c := 0; c < n; {
			if !q.Module(c, r) {
				c++
				continue
			}
			start := c
			for c < n && q.Module(c, r) {
				c++
			}
			w.pdf.Rect(x+float64(start+quiet)*m, y+float64(r+quiet)*m, float64(c-start)*m, m, "F")
		}
	}
	return nil
}
