package skp

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
)

// Limits of the text fields.
const (
	MaxTextLen     = 2000 // RHK, indicator and expectation text
	MaxLongTextLen = 8000 // narratives, feedback, reasons, rationales, decisions
	MaxRefLen      = 200  // pk_ref and similar references
	MaxUnitLen     = 100  // a target's unit
	MinYear        = 2000 // sanity bounds of an SKP year
	MaxYear        = 2100
)

// maxSKPsPerYear bounds the scan for the next SKP id of a year.
const maxSKPsPerYear = 999

// text trims s and checks it against max (and presence when required).
func text(v *domain.ValidationError, field, s string, max int, required bool) string {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		v.Add(field, "required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "at most %d characters", max)
	}
	return s
}

// reasonOf returns the command's reason, or the request's.
func reasonOf(v *domain.ValidationError, cmdReason string, req domain.Request) string {
	r := text(v, "reason", cmdReason, MaxLongTextLen, false)
	if r == "" {
		r = text(v, "reason", req.Reason, MaxLongTextLen, false)
	}
	return r
}

// requiredReason is reasonOf for commands that need a reason.
func requiredReason(cmdReason string, req domain.Request) (string, error) {
	var v domain.ValidationError
	reason := reasonOf(&v, cmdReason, req)
	if reason == "" && len(v.Fields) == 0 {
		v.Add("reason", "required")
	}
	return reason, v.Err()
}

// Draft is the command to open an SKP.
type Draft struct {
	// NIP is the employee (any printed form).
	NIP string
	// Year is the performance year.
	Year int
	// Approach is KUANTITATIF or KUALITATIF.
	Approach string
}

// Draft opens the employee's SKP for a year and returns its id. The id is
// the next free one of the year (see [NextID]); the draft is appended to a
// stream that must not exist yet, so two concurrent drafts cannot both
// succeed. The appraiser in effect on the drafting date is recorded.
// Errors: validation (NIP, unknown employee, year, approach), forbidden
// (not the employee, nor HR_ADMIN when allowed), conflict (an open SKP for
// that year exists).
func (s *Service) Draft(ctx context.Context, req domain.Request, cmd Draft) (string, domain.Committed, error) {
	req, err := s.Handler.Prepare(req)
	if err != nil {
		return "", domain.Committed{}, err
	}
	var v domain.ValidationError
	info, err := nip.Parse(cmd.NIP)
	v.Merge("nip", err)
	if cmd.Year < MinYear || cmd.Year > MaxYear {
		v.Add("year", "must be between %d and %d", MinYear, MaxYear)
	}
	approach := Approach(cmd.Approach)
	if !approach.Valid() {
		v.Add("approach", "must be KUANTITATIF or KUALITATIF")
	}
	if err := v.Err(); err != nil {
		return "", domain.Committed{}, err
	}
	n := string(info.NIP)
	// Who may draft first: whether a NIP is registered is not for everyone
	// to learn.
	l := s.lookups(ctx)
	subj := authz.Subject{Employee: n}
	if req.Caller.Agency != "" && req.Caller.ID != n {
		// HR_ADMIN drafts for the employees of their agency only.
		e, err := l.employee(n)
		if err != nil {
			return "", domain.Committed{}, err
		}
		if e != nil {
			if subj.Agencies, err = orgunit.Agencies(ctx, s.Handler, e.UnitOn(s.Policy.Date(req.OccurredAt))); err != nil {
				return "", domain.Committed{}, err
			}
		}
	}
	if !authz.InAgency(req.Caller, subj.Agencies) && authz.Allowed(req.Caller, authz.DraftSKP, authz.Subject{Employee: n}, s.options()) {
		// Another agency's employee is, to this HR_ADMIN, one who is not
		// registered: the same answer.
		return "", domain.Committed{}, domain.Invalid("nip", "employee %s is not registered", n)
	}
	role, err := authz.Decide(req.Caller, authz.DraftSKP, subj, s.options())
	if err != nil {
		return "", domain.Committed{}, err
	}
	emp, err := l.employee(n)
	if err != nil {
		return "", domain.Committed{}, err
	}
	if emp == nil {
		return "", domain.Committed{}, domain.Invalid("nip", "employee %s is not registered", n)
	}
	day := s.Policy.Date(req.OccurredAt)
	id, seq, err := s.nextID(ctx, n, cmd.Year)
	if err != nil {
		return "", domain.Committed{}, err
	}
	c, err := s.Handler.Execute(ctx, domain.SKPStream(id), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		if st.Exists {
			return domain.Change{}, &domain.ConflictError{Kind: "skp", ID: id, Detail: fmt.Sprintf("the employee already has an open SKP for %d", cmd.Year)}
		}
		ln, _ := emp.LineOn(day)
		p := period.MustParse(fmt.Sprintf("%04d", cmd.Year))
		return one(role, Drafted{
			SKPID: id, NIP: n, Year: cmd.Year, Sequence: seq, Approach: approach, PeriodStart: p.Start(), PeriodEnd: p.End(),
			Employee:     Snapshot{Name: emp.Name(), UnitID: emp.UnitOn(day), Position: emp.PositionOn(day)},
			AppraiserNIP: ln.Appraiser, AppraiserSuperiorNIP: ln.Superior, DraftedOnBehalf: role != domain.RoleEmployee,
			Cadence: s.Policy.Cadence, PolicyVersion: s.Policy.Version,
		})
	})
	if err != nil {
		return "", domain.Committed{}, err
	}
	return id, c, nil
}

// nextID scans the employee's SKPs of year and picks the next id.
func (s *Service) nextID(ctx context.Context, n string, year int) (string, int, error) {
	var open []bool
	for seq := 1; seq <= maxSKPsPerYear; seq++ {
		st, err := s.Handler.Load(ctx, domain.SKPStream(ID(n, year, seq)))
		if err != nil {
			return "", 0, err
		}
		if !st.Exists {
			break
		}
		sk := Replay(st.Events)
		open = append(open, sk == nil || sk.status.Open())
	}
	id, err := NextID(n, year, open)
	return id, len(open) + 1, err
}

// editable refuses plan changes outside DRAFT and AMENDMENT.
func editable(sk *SKP) error {
	if sk.status != StatusDraft && sk.status != StatusAmendment {
		return domain.InvalidState("edit the plan", string(sk.status), "the plan can only change in DRAFT or after an amendment is opened")
	}
	return nil
}

// cascadeTarget returns the appraiser's open, established SKP of year (nil
// if none): the SKP whose RHK a cascading link may name.
func (l *lookups) cascadeTarget(appraiser string, year int) (*SKP, error) {
	for seq := 1; seq <= maxSKPsPerYear; seq++ {
		st, err := l.s.Handler.Load(l.ctx, domain.SKPStream(ID(appraiser, year, seq)))
		if err != nil {
			return nil, err
		}
		if !st.Exists {
			return nil, nil
		}
		if sk := Replay(st.Events); sk != nil && sk.status.Open() && sk.version() != nil {
			return sk, nil
		}
	}
	return nil, nil
}

// checkLink verifies that rhkID names an RHK in the version in effect of the
// established SKP of the employee's appraiser (on day) for the SKP's year,
// and returns that SKP's id. The problem, if any, is a message for a field.
func (l *lookups) checkLink(sk *SKP, day calendar.Date, rhkID string) (string, string, error) {
	ln, ok, err := l.lineOn(sk.nip, day)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "no appraiser is in effect to link to", nil
	}
	target, err := l.cascadeTarget(ln.Appraiser, sk.year)
	if err != nil {
		return "", "", err
	}
	if target == nil {
		return "", fmt.Sprintf("the appraiser %s has no established SKP for %d", ln.Appraiser, sk.year), nil
	}
	for _, r := range target.version().RHK {
		if r.ID == rhkID {
			return target.id, "", nil
		}
	}
	return "", fmt.Sprintf("RHK %s is not in the appraiser's established SKP %s", rhkID, target.id), nil
}

// RHKFields are the fields of an RHK.
type RHKFields struct {
	// Text is the planned result.
	Text string
	// Kind is UTAMA or TAMBAHAN.
	Kind string
	// IntervenedRHKID names the appraiser's RHK this one contributes to;
	// optional while drafting, required for UTAMA (non-JPT) by submission.
	IntervenedRHKID string
	// PKRef cites a Perjanjian Kinerja item (JPT posts).
	PKRef string
}

func (f RHKFields) check() (RHKFields, error) {
	var v domain.ValidationError
	f.Text = text(&v, "text", f.Text, MaxTextLen, true)
	if !RHKKind(f.Kind).Valid() {
		v.Add("kind", "must be UTAMA or TAMBAHAN")
	}
	f.IntervenedRHKID = text(&v, "intervened_rhk_id", f.IntervenedRHKID, MaxRefLen, false)
	f.PKRef = text(&v, "pk_ref", f.PKRef, MaxRefLen, false)
	return f, v.Err()
}

// AddRHK is the command to add an RHK.
type AddRHK struct {
	// SKPID is the SKP.
	SKPID string
	RHKFields
}

// AddRHK adds an RHK to the working plan and returns its id. A given
// cascading link must name an RHK of the appraiser's established SKP of
// the same year; it may be left pending until submission. Errors: not found,
// forbidden (not the employee), validation, invalid state (not editable).
func (s *Service) AddRHK(ctx context.Context, req domain.Request, cmd AddRHK) (string, domain.Committed, error) {
	f, verr := cmd.check()
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.EditPlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if verr != nil {
			return domain.Change{}, verr
		}
		if err := editable(sk); err != nil {
			return domain.Change{}, err
		}
		if err := limit("rhk", "RHK", len(sk.plan), s.Policy.SKPLimits.RHK); err != nil {
			return domain.Change{}, err
		}
		linkSKP, err := l.link(sk, req, f.IntervenedRHKID)
		if err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		return one(role, RHKAdded{RHKID: id, Text: f.Text, Kind: RHKKind(f.Kind), IntervenedRHKID: f.IntervenedRHKID, IntervenedSKPID: linkSKP, PKRef: f.PKRef})
	})
	return id, c, err
}

// link checks a cascading link given in a command (none is fine).
func (l *lookups) link(sk *SKP, req domain.Request, rhkID string) (string, error) {
	if rhkID == "" {
		return "", nil
	}
	skpID, problem, err := l.checkLink(sk, l.s.Policy.Date(req.OccurredAt), rhkID)
	if err != nil {
		return "", err
	}
	if problem != "" {
		return "", domain.Invalid("intervened_rhk_id", "%s", problem)
	}
	return skpID, nil
}

// ChangeRHK is the command to replace an RHK's fields.
type ChangeRHK struct {
	// SKPID and RHKID name the RHK.
	SKPID, RHKID string
	RHKFields
}

// ChangeRHK replaces an RHK's fields (its indicators stay). Unchanged fields
// change nothing. Errors: as AddRHK, plus not found (RHK).
func (s *Service) ChangeRHK(ctx context.Context, req domain.Request, cmd ChangeRHK) (domain.Committed, error) {
	f, verr := cmd.check()
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.EditPlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		r := sk.rhk(cmd.RHKID)
		if r == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "rhk", ID: cmd.RHKID}
		}
		if verr != nil {
			return domain.Change{}, verr
		}
		if err := editable(sk); err != nil {
			return domain.Change{}, err
		}
		linkSKP := r.IntervenedSKPID
		if f.IntervenedRHKID != r.IntervenedRHKID {
			if linkSKP, err = l.link(sk, req, f.IntervenedRHKID); err != nil {
				return domain.Change{}, err
			}
		}
		ev := RHKChanged{RHKID: r.ID, Text: f.Text, Kind: RHKKind(f.Kind), IntervenedRHKID: f.IntervenedRHKID, IntervenedSKPID: linkSKP, PKRef: f.PKRef}
		if ev.Text == r.Text && ev.Kind == r.Kind && ev.IntervenedRHKID == r.IntervenedRHKID && ev.PKRef == r.PKRef {
			return domain.Change{}, nil
		}
		return one(role, ev)
	})
}

// RemoveRHK is the command to remove an RHK.
type RemoveRHK struct {
	// SKPID and RHKID name the RHK.
	SKPID, RHKID string
}

// RemoveRHK removes an RHK and its indicators. Errors: not found (SKP,
// RHK), forbidden, invalid state.
func (s *Service) RemoveRHK(ctx context.Context, req domain.Request, cmd RemoveRHK) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.EditPlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if sk.rhk(cmd.RHKID) == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "rhk", ID: cmd.RHKID}
		}
		if err := editable(sk); err != nil {
			return domain.Change{}, err
		}
		return one(role, RHKRemoved{RHKID: cmd.RHKID})
	})
}

// IndicatorFields are the fields of an indicator.
type IndicatorFields struct {
	// Aspect is KUANTITAS, KUALITAS, WAKTU or BIAYA.
	Aspect string
	// Text is the indicator.
	Text string
	// Target is the target value and unit.
	Target Target
	// Direction optionally overrides the aspect's direction for the
	// capaian: HIGHER_IS_BETTER or LOWER_IS_BETTER; "" keeps the aspect's
	// (WAKTU and BIAYA lower, KUANTITAS and KUALITAS higher).
	Direction string
}

func (f IndicatorFields) check() (IndicatorFields, error) {
	var v domain.ValidationError
	if !Aspect(f.Aspect).Valid() {
		v.Add("aspect", "must be KUANTITAS, KUALITAS, WAKTU or BIAYA")
	}
	f.Text = text(&v, "text", f.Text, MaxTextLen, true)
	if math.IsNaN(f.Target.Value) || math.IsInf(f.Target.Value, 0) || f.Target.Value < 0 {
		v.Add("target.value", "must be a finite number, not negative")
	}
	f.Target.Unit = text(&v, "target.unit", f.Target.Unit, MaxUnitLen, true)
	if f.Direction != "" && !Direction(f.Direction).Valid() {
		v.Add("direction", "must be HIGHER_IS_BETTER, LOWER_IS_BETTER or empty (the aspect's)")
	}
	return f, v.Err()
}

// AddIndicator is the command to add an indicator to an RHK.
type AddIndicator struct {
	// SKPID and RHKID name the RHK.
	SKPID, RHKID string
	IndicatorFields
}

// AddIndicator adds an indicator and returns its id. Errors: not found
// (SKP, RHK), forbidden, validation, invalid state.
func (s *Service) AddIndicator(ctx context.Context, req domain.Request, cmd AddIndicator) (string, domain.Committed, error) {
	f, verr := cmd.check()
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.EditPlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if sk.rhk(cmd.RHKID) == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "rhk", ID: cmd.RHKID}
		}
		if verr != nil {
			return domain.Change{}, verr
		}
		if err := editable(sk); err != nil {
			return domain.Change{}, err
		}
		if err := limit("indicators", "indicators of one RHK", len(sk.rhk(cmd.RHKID).Indicators), s.Policy.SKPLimits.IndicatorsPerRHK); err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		return one(role, IndicatorAdded{IndicatorID: id, RHKID: cmd.RHKID, Aspect: Aspect(f.Aspect), Text: f.Text, Target: f.Target,
			Direction: Direction(f.Direction)})
	})
	return id, c, err
}

// ChangeIndicator is the command to replace an indicator's fields.
type ChangeIndicator struct {
	// SKPID and IndicatorID name the indicator.
	SKPID, IndicatorID string
	IndicatorFields
}

// ChangeIndicator replaces an indicator's fields; unchanged fields change
// nothing. Errors: as AddIndicator.
func (s *Service) ChangeIndicator(ctx context.Context, req domain.Request, cmd ChangeIndicator) (domain.Committed, error) {
	f, verr := cmd.check()
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.EditPlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		_, ind := findIndicator(sk.plan, cmd.IndicatorID)
		if ind == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "indicator", ID: cmd.IndicatorID}
		}
		if verr != nil {
			return domain.Change{}, verr
		}
		if err := editable(sk); err != nil {
			return domain.Change{}, err
		}
		if ind.Aspect == Aspect(f.Aspect) && ind.Text == f.Text && ind.Target == f.Target && ind.Direction == Direction(f.Direction) {
			return domain.Change{}, nil
		}
		return one(role, IndicatorChanged{IndicatorID: ind.ID, Aspect: Aspect(f.Aspect), Text: f.Text, Target: f.Target, Direction: Direction(f.Direction)})
	})
}

// RemoveIndicator is the command to remove an indicator.
type RemoveIndicator struct {
	// SKPID and IndicatorID name the indicator.
	SKPID, IndicatorID string
}

// RemoveIndicator removes an indicator. Errors: not found, forbidden,
// invalid state.
func (s *Service) RemoveIndicator(ctx context.Context, req domain.Request, cmd RemoveIndicator) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.EditPlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if _, ind := findIndicator(sk.plan, cmd.IndicatorID); ind == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "indicator", ID: cmd.IndicatorID}
		}
		if err := editable(sk); err != nil {
			return domain.Change{}, err
		}
		return one(role, IndicatorRemoved{IndicatorID: cmd.IndicatorID})
	})
}

// SetBehaviourExpectation is the command to set the appraiser's expectation
// for a BerAKHLAK value.
type SetBehaviourExpectation struct {
	// SKPID is the SKP.
	SKPID string
	// Value is one of the seven BerAKHLAK codes.
	Value string
	// Expectation is the text.
	Expectation string
}

// SetBehaviourExpectation records an expectation while the plan is being
// drafted, reviewed or amended. Errors: not found, forbidden (not the
// appraiser in effect), validation, invalid state.
func (s *Service) SetBehaviourExpectation(ctx context.Context, req domain.Request, cmd SetBehaviourExpectation) (domain.Committed, error) {
	var v domain.ValidationError
	val := berakhlak.Value(cmd.Value)
	if !val.Valid() {
		v.Add("value", "must be one of the seven BerAKHLAK values (BERORIENTASI_PELAYANAN, AKUNTABEL, KOMPETEN, HARMONIS, LOYAL, ADAPTIF, KOLABORATIF)")
	}
	x := text(&v, "expectation", cmd.Expectation, MaxTextLen, true)
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.SetExpectation, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if err := v.Err(); err != nil {
			return domain.Change{}, err
		}
		if sk.status != StatusDraft && sk.status != StatusSubmitted && sk.status != StatusAmendment {
			return domain.Change{}, domain.InvalidState("set a behaviour expectation", string(sk.status), "expectations are part of the plan")
		}
		for _, e := range sk.expectations {
			if e.Value == val && e.Expectation == x {
				return domain.Change{}, nil
			}
		}
		return one(role, BehaviourExpectationSet{Value: val, Expectation: x})
	})
}

// planProblems checks that the working plan may be submitted or
// established: at least one UTAMA RHK, every RHK with an indicator, every
// UTAMA RHK linked to the appraiser's established SKP (or, for a JPT post,
// citing the Perjanjian Kinerja), and every given link still valid.
func (l *lookups) planProblems(sk *SKP, day calendar.Date) error {
	var v domain.ValidationError
	utama := 0
	jpt := sk.employee.Position.Kind.IsJPT()
	for _, r := range sk.plan {
		field := "rhk." + r.ID
		if r.Kind == Utama {
			utama++
		}
		if len(r.Indicators) == 0 {
			v.Add(field+".indicators", "every RHK needs at least one indicator")
		}
		switch {
		case r.IntervenedRHKID != "":
			_, problem, err := l.checkLink(sk, day, r.IntervenedRHKID)
			if err != nil {
				return err
			}
			if problem != "" {
				v.Add(field+".intervened_rhk_id", "%s", problem)
			}
		case r.Kind == Utama && jpt && r.PKRef == "":
			v.Add(field+".intervened_rhk_id", "a UTAMA RHK needs the cascading link or, for a JPT post, pk_ref")
		case r.Kind == Utama && !jpt:
			v.Add(field+".intervened_rhk_id", "a UTAMA RHK needs the cascading link to an RHK of the appraiser's established SKP")
		}
	}
	if utama == 0 {
		v.Add("rhk", "at least one UTAMA RHK is required")
	}
	return v.Err()
}

// Submit is the command to submit the plan.
type Submit struct {
	// SKPID is the SKP.
	SKPID string
}

// Submit submits a complete plan for establishment. Errors: not found,
// forbidden (not the employee), invalid state (not DRAFT or AMENDMENT),
// validation (the plan's problems, each with its field).
func (s *Service) Submit(ctx context.Context, req domain.Request, cmd Submit) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.SubmitSKP, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if sk.status != StatusDraft && sk.status != StatusAmendment {
			return domain.Change{}, domain.InvalidState("submit", string(sk.status), "")
		}
		if err := l.planProblems(sk, s.Policy.Date(req.OccurredAt)); err != nil {
			return domain.Change{}, err
		}
		return one(role, Submitted{Version: len(sk.versions) + 1})
	})
}

// Return is the command to return a submitted plan to the employee.
type Return struct {
	// SKPID is the SKP.
	SKPID string
	// Reason says what to revise; the request's reason is used when empty.
	Reason string
}

// Return sends a submitted plan back to DRAFT. Errors: not found,
// forbidden (not the appraiser in effect), validation (no reason), invalid
// state (not SUBMITTED).
func (s *Service) Return(ctx context.Context, req domain.Request, cmd Return) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.ReturnSKP, nil)
		if err != nil {
			return domain.Change{}, err
		}
		reason, err := requiredReason(cmd.Reason, req)
		if err != nil {
			return domain.Change{}, err
		}
		if sk.status != StatusSubmitted {
			return domain.Change{}, domain.InvalidState("return", string(sk.status), "only a submitted SKP can be returned")
		}
		return reasoned(role, reason, Returned{Reason: reason})
	})
}

// Establish is the command to establish the plan.
type Establish struct {
	// SKPID is the SKP.
	SKPID string
}

// Establish establishes a submitted plan (version 1) or an amended one
// (version n+1), recording the appraiser in effect and, for version 1,
// whether it is late (after the configured deadline, by occurred_at).
// Errors: not found, forbidden (not the appraiser in effect), invalid state
// (not SUBMITTED or AMENDMENT), validation (the plan's problems).
func (s *Service) Establish(ctx context.Context, req domain.Request, cmd Establish) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.EstablishSKP, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if sk.status != StatusSubmitted && sk.status != StatusAmendment {
			return domain.Change{}, domain.InvalidState("establish", string(sk.status), "only a submitted or amended SKP can be established")
		}
		if sk.submittedAt != nil && req.OccurredAt.Before(*sk.submittedAt) {
			return domain.Change{}, domain.Invalid("occurred_at", "the establishment must not be dated before the submission (%s): submit ≤ establish",
				sk.submittedAt.Format(time.RFC3339))
		}
		day := s.Policy.Date(req.OccurredAt)
		if err := l.planProblems(sk, day); err != nil {
			return domain.Change{}, err
		}
		if err := sk.employeeSigned(); err != nil { // amendment.go
			return domain.Change{}, err
		}
		ln, _, err := l.lineOn(sk.nip, day)
		if err != nil {
			return domain.Change{}, err
		}
		version := len(sk.versions) + 1
		return one(role, Established{
			Version: version, Late: version == 1 && s.Policy.LateEstablishment(sk.year, req.OccurredAt),
			Deadline: s.Policy.EstablishDeadlineFor(sk.year), AppraiserNIP: ln.Appraiser, AppraiserSuperiorNIP: ln.Superior,
			EmployeeSignedAt: sk.employeeSignature(), AppraiserSignedAt: req.OccurredAt,
		})
	})
}

// Amend is the command to open an amendment.
type Amend struct {
	// SKPID is the SKP.
	SKPID string
	// Reason is required; the request's reason is used when empty.
	Reason string
}

// Amend makes an established SKP editable again; the employee or the
// appraiser in effect opens it (domain.md §3.3), and the new version needs
// both signatures (amendment.go). The established version
// stays in effect (realisations and evaluations continue against it) until
// the next establishment; evaluations already given are never touched.
// Errors: not found, forbidden (not the appraiser in effect), validation
// (no reason), invalid state (not ESTABLISHED).
func (s *Service) Amend(ctx context.Context, req domain.Request, cmd Amend) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.AmendSKP, nil)
		if err != nil {
			return domain.Change{}, err
		}
		reason, err := requiredReason(cmd.Reason, req)
		if err != nil {
			return domain.Change{}, err
		}
		if sk.status != StatusEstablished {
			return domain.Change{}, domain.InvalidState("amend", string(sk.status), "only an established SKP can be amended")
		}
		return reasoned(role, reason, AmendmentOpened{FromVersion: sk.version().Version, Reason: reason})
	})
}

// ending refuses to cancel or close an SKP whose annual evaluation is final
// or that has an open objection.
func ending(sk *SKP, action string, now func() time.Time) error {
	if !sk.status.Open() {
		return domain.InvalidState(action, string(sk.status), "")
	}
	for p, ev := range sk.evals {
		st, _ := ev.status(now())
		if st == EvalUnderObjection {
			return domain.InvalidState(action, string(sk.status), "the evaluation of "+p+" is under objection")
		}
		if st == EvalFinal && period.MustParse(p).IsAnnual() {
			return domain.InvalidState(action, string(sk.status), "the annual evaluation is final")
		}
	}
	return nil
}

// Cancel is the command to cancel an SKP.
type Cancel struct {
	// SKPID is the SKP.
	SKPID string
	// Reason is required; the request's reason is used when empty.
	Reason string
}

// Cancel cancels an SKP that is not final; the stream is kept and the
// employee may draft the next one of the year. Errors: not found,
// forbidden (not HR_ADMIN or the appraiser), validation (no reason),
// invalid state (already ended, annual evaluation final, objection open).
func (s *Service) Cancel(ctx context.Context, req domain.Request, cmd Cancel) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.CancelSKP, nil)
		if err != nil {
			return domain.Change{}, err
		}
		reason, err := requiredReason(cmd.Reason, req)
		if err != nil {
			return domain.Change{}, err
		}
		if err := ending(sk, "cancel", s.Handler.Now); err != nil {
			return domain.Change{}, err
		}
		return reasoned(role, reason, Cancelled{Reason: reason})
	})
}

// Close is the command to close an SKP because the employee changed post.
type Close struct {
	// SKPID is the SKP.
	SKPID string
	// EffectiveFrom is the first day in the new post (within the SKP year).
	EffectiveFrom calendar.Date
	// Reason describes the change; optional.
	Reason string
}

// Close closes an SKP for a position change; a new SKP for the new post is
// drafted separately (its id is the next of the year). Errors: not found,
// forbidden (not HR_ADMIN), validation, invalid state.
func (s *Service) Close(ctx context.Context, req domain.Request, cmd Close) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.CloseSKP, nil)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		reason := reasonOf(&v, cmd.Reason, req)
		switch {
		case cmd.EffectiveFrom.IsZero():
			v.Add("effective_from", "required")
		case cmd.EffectiveFrom.Year() != sk.year:
			v.Add("effective_from", "must lie in the SKP year %d", sk.year)
		}
		if err := v.Err(); err != nil {
			return domain.Change{}, err
		}
		if err := ending(sk, "close", s.Handler.Now); err != nil {
			return domain.Change{}, err
		}
		return reasoned(role, reason, ClosedForPositionChange{EffectiveFrom: cmd.EffectiveFrom, Reason: reason})
	})
}

// limit refuses to add one more of what the SKP already holds have of,
// when that would pass max (policy.SKPLimits): 422 naming the limit.
func limit(field, what string, have, max int) error {
	if have >= max {
		return domain.Invalid(field, "limit_exceeded: an SKP holds at most %d %s (configuration --skp-limits)", max, what)
	}
	return nil
}
