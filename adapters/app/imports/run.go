package imports

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// Outcome is what became of a row.
type Outcome string

// Outcomes of a row.
const (
	// Applied: the row's events were recorded (in a dry run: would be).
	Applied Outcome = "APPLIED"
	// Unchanged: the ledger already says what the row says.
	Unchanged Outcome = "UNCHANGED"
	// Refused: the row has problems; nothing of it was recorded.
	Refused Outcome = "REFUSED"
)

// RowResult is the outcome of one row.
type RowResult struct {
	// Sheet and Row locate the row.
	Sheet string `json:"sheet,omitempty"`
	Row   int    `json:"row"`
	// Kind is UNITS or EMPLOYEES.
	Kind Kind `json:"kind"`
	// Key is the unit ID or the NIP.
	Key string `json:"key"`
	// Outcome is APPLIED, UNCHANGED or REFUSED.
	Outcome Outcome `json:"outcome"`
	// Events counts the events recorded (or, in a dry run, that would be).
	Events int `json:"events"`
	// Problems lists why a row was refused.
	Problems []Problem `json:"problems,omitempty"`
}

// runner runs a plan on the ledger.
type runner struct {
	caller   domain.Principal
	fileHash [32]byte
	jobID    string
	paperRef string
	dryRun   bool
	workers  int
	ov       *overlay
	svc      app.Services
	today    calendar.Date
}

// rowIDs derives the IDs of one row's events from the file and the row:
// the same file applied again appends the same IDs (and the event store
// refuses a second copy).
type rowIDs struct {
	seed [32]byte
	mu   sync.Mutex
	n    uint64
}

func (r *rowIDs) next() uuid.UUID {
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h := sha256.Sum256(append(r.seed[:], b[:]...))
	var u uuid.UUID
	copy(u[:], h[:16])
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}

func (r *runner) handler(h *domain.Handler, ids *rowIDs) *domain.Handler {
	c := *h
	c.Log = r.ov
	c.NewID = ids.next
	return &c
}

func (r *runner) request(sheet string, row int) domain.Request {
	reason := fmt.Sprintf("Impor data induk, baris %d", row)
	if sheet != "" {
		reason = fmt.Sprintf("Impor data induk, lembar %s baris %d", sheet, row)
	}
	if r.paperRef != "" {
		reason += " · ref " + r.paperRef
	}
	return domain.Request{Caller: r.caller, CorrelationID: "import-" + r.jobID,
		CausationID: fmt.Sprintf("import:%x:%s:%d", r.fileHash[:8], sheet, row), Reason: reason}
}

func (r *runner) ids(sheet string, row int) *rowIDs {
	return &rowIDs{seed: sha256.Sum256(fmt.Appendf(nil, "kinerja/import/v1\x00%x\x00%s\x00%d", r.fileHash, sheet, row))}
}

// attempts bounds the runs of a row whose commit met a concurrent writer.
const attempts = 3

// rowRun runs one row: decide on the overlay, then commit its stream (or,
// in a dry run, keep it in the overlay). It returns the events counted.
func (r *runner) rowRun(ctx context.Context, stream string, decide func(ids *rowIDs) error, sheet string, row int) (int, error) {
	for try := 0; ; try++ {
		mark := r.ov.mark(stream)
		if err := decide(r.ids(sheet, row)); err != nil {
			r.ov.discard(stream, mark)
			return 0, err
		}
		n := r.ov.mark(stream) - mark
		if r.dryRun || n == 0 {
			return n, nil
		}
		got, err := r.ov.commit(ctx, stream)
		switch {
		case err == nil:
			return got, nil
		case errors.Is(err, errAlreadyApplied):
			return 0, nil
		case errors.Is(err, domain.ErrConcurrency) && try+1 < attempts:
			r.ov.forget(stream)
			continue
		}
		r.ov.discard(stream, mark)
		return 0, err
	}
}

func (r *runner) unit(ctx context.Context, u UnitRow) RowResult {
	res := RowResult{Sheet: u.Sheet, Row: u.Row, Kind: KindUnits, Key: u.ID}
	n, err := r.rowRun(ctx, domain.UnitStream(u.ID), func(ids *rowIDs) error {
		s := orgunit.Service{Handler: r.handler(r.svc.Units.Handler, ids), Policy: r.svc.Units.Policy}
		req := r.request(u.Sheet, u.Row)
		cur, err := s.Load(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur == nil {
			_, err := s.Register(ctx, req, orgunit.Register{ID: u.ID, Name: u.Name, ParentID: u.ParentID})
			return err
		}
		if cur.Parent() != u.ParentID {
			return rowProblem(FieldParentID, CodeConflict,
				fmt.Sprintf("Unit %s sudah tercatat di bawah induk %q; impor tidak memindahkan unit (unit instansi lain?).", u.ID, cur.Parent()),
				fmt.Sprintf("Unit %s is recorded under parent %q; an import does not move units (another agency's unit?).", u.ID, cur.Parent()))
		}
		_, err = s.Rename(ctx, req, orgunit.Rename{UnitID: u.ID, Name: u.Name})
		return err
	}, u.Sheet, u.Row)
	return r.result(res, n, err)
}

func (r *runner) employee(ctx context.Context, e EmployeeRow) RowResult {
	res := RowResult{Sheet: e.Sheet, Row: e.Row, Kind: KindEmployees, Key: e.NIP}
	n, err := r.rowRun(ctx, domain.EmployeeStream(e.NIP), func(ids *rowIDs) error {
		h := r.handler(r.svc.Employees.Handler, ids)
		s := employee.Service{Handler: h, Policy: r.svc.Employees.Policy}
		units := orgunit.Service{Handler: h, Policy: r.svc.Units.Policy}
		req := r.request(e.Sheet, e.Row)
		if r.backdated(e.Effective) && r.paperRef == "" {
			return rowProblem(FieldEffectiveFrom, CodeRequired,
				fmt.Sprintf("TMT %s sebelum hari ini: data induk yang berlaku surut adalah entri susulan, isi nomor SK (paper_ref) pada unggahan.", e.Effective),
				fmt.Sprintf("TMT %s lies before today: back-dated master data is a backfill, give the decree's reference (paper_ref) with the upload.", e.Effective))
		}
		if u, err := units.Load(ctx, e.UnitID); err != nil {
			return err
		} else if foreign, ferr := r.foreign(ctx, h, e.UnitID); ferr != nil {
			return ferr
		} else if u == nil || foreign {
			// Another agency's unit is, to this import, one that does not
			// exist (tenancy, docs/security.md).
			return rowProblem(FieldUnitID, CodeUnknown,
				fmt.Sprintf("Unit %s tidak ada di ledger maupun di berkas (atau barisnya ditolak).", e.UnitID),
				fmt.Sprintf("Unit %s is neither in the ledger nor in the file (or its row was refused).", e.UnitID))
		}
		cur, err := s.Load(ctx, e.NIP)
		if err != nil {
			return err
		}
		// A line or post effective before today is HR's backfill from the
		// decree the upload names (the registration itself is not dated).
		dated := req
		if r.backdated(e.Effective) {
			dated.Backfill = &domain.BackfillRequest{PaperRef: r.paperRef}
		}
		switch {
		case cur == nil:
			if _, err := s.Register(ctx, req, employee.Register{NIP: e.NIP, Name: e.Name, UnitID: e.UnitID, Position: e.Position}); err != nil {
				return err
			}
		case cur.Name() != e.Name:
			return rowProblem(FieldName, CodeConflict,
				fmt.Sprintf("Nama di ledger %q berbeda; impor tidak mengubah nama (perbaiki lewat halaman pegawai).", cur.Name()),
				fmt.Sprintf("The ledger's name %q differs; an import does not rename (correct it on the employee's page).", cur.Name()))
		default:
			on := e.Effective
			if on.IsZero() {
				on = r.today
			}
			if p := cur.PositionOn(on); p != e.Position || cur.UnitOn(on) != e.UnitID {
				if e.Effective.IsZero() {
					return rowProblem(FieldEffectiveFrom, CodeRequired, "Jabatan atau unit berubah: TMT wajib diisi.",
						"The post or unit changed: the TMT (effective date) is required.")
				}
				if _, err := s.ChangePosition(ctx, dated, employee.ChangePosition{NIP: e.NIP, Position: e.Position, UnitID: e.UnitID,
					EffectiveFrom: e.Effective, DecreeRef: r.paperRef}); err != nil {
					return err
				}
			}
		}
		if e.Appraiser == "" {
			return nil
		}
		// Without a TMT the line takes effect on the day of the import,
		// unless the line in effect today already names this appraiser
		// (and superior): the same file imported another day changes
		// nothing.
		from := e.Effective
		if from.IsZero() {
			from = r.today
			if cur != nil {
				if l, ok := cur.LineOn(r.today); ok && l.Appraiser == e.Appraiser && (e.Superior == "" || l.Superior == e.Superior) {
					return nil
				}
			}
		}
		sup := e.Superior
		if sup == "" {
			sup, err = r.superiorOf(ctx, s, e.Appraiser, from)
			if err != nil {
				return err
			}
		}
		_, err = s.AssignReportingLine(ctx, dated, employee.AssignReportingLine{NIP: e.NIP, AppraiserNIP: e.Appraiser,
			SuperiorNIP: sup, EffectiveFrom: from})
		return err
	}, e.Sheet, e.Row)
	return r.result(res, n, err)
}

// backdated reports whether an effective date lies before today: such a
// line or post change is HR's backfill from the decree (paper_ref).
func (r *runner) backdated(d calendar.Date) bool { return !d.IsZero() && d.Before(r.today) }

// superiorOf is the appraiser's own appraiser on d, the superior a row
// without one gets.
func (r *runner) superiorOf(ctx context.Context, s employee.Service, appraiser string, d calendar.Date) (string, error) {
	if !employee.IsOfficial(appraiser) {
		a, err := s.Load(ctx, appraiser)
		if err != nil {
			return "", err
		}
		if a != nil {
			// An appraiser of another agency is, to this import, one not
			// registered.
			if foreign, err := r.foreign(ctx, s.Handler, a.UnitOn(d)); err != nil {
				return "", err
			} else if foreign {
				a = nil
			}
		}
		if a != nil {
			if l, ok := a.LineOn(d); ok {
				return l.Appraiser, nil
			}
		} else {
			return "", rowProblem(FieldAppraiserNIP, CodeUnknown,
				fmt.Sprintf("Pejabat penilai %s belum terdaftar (tidak ada di ledger maupun di berkas, atau barisnya ditolak).", appraiser),
				fmt.Sprintf("Appraiser %s is not registered (neither in the ledger nor in the file, or their row was refused).", appraiser))
		}
	}
	return "", rowProblem(FieldSuperiorNIP, CodeRequired,
		fmt.Sprintf("NIP atasan pejabat penilai wajib diisi: pejabat penilai %s tidak punya pejabat penilai pada %s.", appraiser, d),
		fmt.Sprintf("The appraiser's superior is required: appraiser %s has no appraiser on %s.", appraiser, d))
}

// problemError is a row's problem found while it ran.
type problemError struct{ p Problem }

func (e *problemError) Error() string { return e.p.EN }

func rowProblem(f Field, code, id, en string) error {
	return &problemError{Problem{Column: f.Header(), Code: code, ID: id, EN: en}}
}

// fieldColumns maps the domain's field names to the layout's columns.
var fieldColumns = map[string]Field{
	"id": FieldUnitID, "unit_id": FieldUnitID, "name": FieldName, "parent_id": FieldParentID, "nip": FieldNIP,
	"position.kind": FieldPositionKind, "position.title": FieldPositionTitle, "appraiser_nip": FieldAppraiserNIP,
	"appraiser_superior_nip": FieldSuperiorNIP, "effective_from": FieldEffectiveFrom, "decree_ref": "", "paper_ref": "",
}

// indonesian renders the domain's English refusals of master data in
// Indonesian, by the phrases they hold; others keep the English detail
// after an Indonesian lead.
func indonesian(msg string) string {
	for _, t := range []struct{ en, id string }{
		{"is not registered", "belum terdaftar di ledger maupun di berkas"},
		{"does not exist", "tidak ada"},
		{"cannot appraise themselves", "pegawai tidak dapat menilai dirinya sendiri"},
		{"cycle in the appraisal chain", "rantai penilaian membentuk lingkaran"},
		{"must be the appraiser's own appraiser", "harus pejabat penilai dari pejabat penilai pada TMT"},
		{"an appraiser is at least PENGAWAS", "pejabat penilai paling rendah PENGAWAS (kecuali PLT/PLH dengan surat)"},
		{"must be someone other than the appraiser", "atasan pejabat penilai harus orang lain daripada pejabat penilai"},
		{"cannot be their own appraiser's superior", "pegawai tidak dapat menjadi atasan pejabat penilainya sendiri"},
		{"already registered", "sudah terdaftar"},
	} {
		if strings.Contains(msg, t.en) {
			return t.id + " (" + msg + ")"
		}
	}
	return "Ditolak oleh aturan data induk: " + msg
}

func (r *runner) result(res RowResult, n int, err error) RowResult {
	switch {
	case err == nil && n == 0:
		res.Outcome = Unchanged
		return res
	case err == nil:
		res.Outcome, res.Events = Applied, n
		return res
	}
	res.Outcome = Refused
	var pe *problemError
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &pe):
		p := pe.p
		p.Sheet, p.Row = res.Sheet, res.Row
		res.Problems = append(res.Problems, p)
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			p := Problem{Sheet: res.Sheet, Row: res.Row, Code: CodeRefused, ID: indonesian(f.Message), EN: f.Message}
			if col, ok := fieldColumns[f.Field]; ok && col != "" {
				p.Column = col.Header()
			}
			res.Problems = append(res.Problems, p)
		}
	default:
		k := app.Describe(err)
		res.Problems = append(res.Problems, Problem{Sheet: res.Sheet, Row: res.Row, Code: CodeRefused, ID: k.Text.ID, EN: k.Text.EN})
	}
	return res
}

// run runs the plan: units one by one (parents first), then employees
// level by level (appraisers before the people they appraise), the rows
// of one level on r.workers goroutines. done is called after each row.
func (r *runner) run(ctx context.Context, p *Plan, done func(RowResult)) {
	for _, u := range p.Units {
		if ctx.Err() != nil {
			return
		}
		done(r.unit(ctx, u))
	}
	for start := 0; start < len(p.Employees); {
		end := start
		for end < len(p.Employees) && p.Employees[end].level == p.Employees[start].level {
			end++
		}
		level := p.Employees[start:end]
		work := make(chan EmployeeRow)
		var wg sync.WaitGroup
		for range max(1, r.workers) {
			wg.Go(func() {
				for e := range work {
					done(r.employee(ctx, e))
				}
			})
		}
		for _, e := range level {
			if ctx.Err() != nil {
				break
			}
			work <- e
		}
		close(work)
		wg.Wait()
		start = end
	}
}

// foreign reports whether unit belongs to another agency than the one the
// importing caller's token names (never, for a caller naming none).
func (r *runner) foreign(ctx context.Context, h *domain.Handler, unit string) (bool, error) {
	if r.caller.Agency == "" || !authz.HasAgencyRole(r.caller) {
		return false, nil
	}
	ag, err := orgunit.AgencyOf(ctx, h, unit)
	if err != nil || ag == "" {
		return false, err
	}
	return !authz.InAgency(r.caller, []string{ag}), nil
}
