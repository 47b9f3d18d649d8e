package employee

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// Service handles the commands and queries of employees.
type Service struct {
	// Handler runs commands against the event log.
	Handler *domain.Handler
	// Policy is the configuration of the rules.
	Policy policy.Policy
}

// Limits of the text fields.
const (
	MaxNameLen  = 200
	MaxTitleLen = 200
	MaxRefLen   = 200
)

// Register is the command to register an employee.
type Register struct {
	// NIP is the NIP or NI PPPK in any printed form.
	NIP string
	// Name is the employee's name.
	Name string
	// UnitID is the employee's unit; it must exist.
	UnitID string
	// Position is the employee's post.
	Position Position
}

// Register registers an employee. Errors: validation (NIP, name, unknown
// unit, position), conflict (already registered), forbidden (not HR_ADMIN).
// The committed event is a [Registered] with the NIP-derived fields.
func (s *Service) Register(ctx context.Context, req domain.Request, cmd Register) (domain.Committed, error) {
	var v domain.ValidationError
	info, err := nip.ParseOn(cmd.NIP, s.Policy.Date(s.Handler.Now()))
	v.Merge("nip", err)
	name := strings.TrimSpace(cmd.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen {
		v.Add("name", "required, at most %d characters", MaxNameLen)
	} else if p := domain.NameProblem(name); p != "" {
		v.Add("name", "%s", p)
	}
	if cmd.UnitID == "" {
		v.Add("unit_id", "required")
	}
	pos, perr := checkPosition(cmd.Position)
	v.Merge("position", perr)
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	n := string(info.NIP)
	return s.Handler.Execute(ctx, domain.EmployeeStream(n), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{}, authz.Options{})
		if err != nil {
			return domain.Change{}, err
		}
		if st.Exists {
			// A NIP is national: registering one another agency holds is
			// refused the same way (docs/security.md, "Agencies").
			return domain.Change{}, &domain.ConflictError{Kind: "employee", ID: n, Detail: "already registered"}
		}
		if err := s.requireUnitOf(ctx, req.Caller, cmd.UnitID); err != nil {
			return domain.Change{}, err
		}
		return domain.Change{Role: role, Events: []domain.Event{Registered{
			NIP: n, ASNType: info.Type, BirthDate: info.BirthDate, Sex: info.Sex,
			AppointmentYear: info.AppointmentYear, AppointmentMonth: info.AppointmentMonth, Contracts: info.Contracts,
			Name: name, UnitID: cmd.UnitID, Position: pos,
		}}}, nil
	})
}

func checkPosition(p Position) (Position, error) {
	var v domain.ValidationError
	if !p.Kind.Valid() {
		v.Add("kind", "must be one of JPT_UTAMA, JPT_MADYA, JPT_PRATAMA, ADMINISTRATOR, PENGAWAS, PELAKSANA, JF")
	}
	p.Title = strings.TrimSpace(p.Title)
	if p.Title == "" || utf8.RuneCountInString(p.Title) > MaxTitleLen {
		v.Add("title", "required, at most %d characters", MaxTitleLen)
	} else if prob := domain.NameProblem(p.Title); prob != "" {
		v.Add("title", "%s", prob)
	}
	return p, v.Err()
}

// requireUnitOf is requireUnit for caller: a unit of another agency than
// the one caller's token names is, to them, a unit that does not exist.
func (s *Service) requireUnitOf(ctx context.Context, caller domain.Principal, id string) error {
	if err := s.requireUnit(ctx, id); err != nil || caller.Agency == "" || !authz.HasAgencyRole(caller) {
		return err
	}
	a, err := orgunit.AgencyOf(ctx, s.Handler, id)
	if err != nil {
		return err
	}
	if !authz.InAgency(caller, []string{a}) {
		return domain.Invalid("unit_id", "unit %s does not exist", id)
	}
	return nil
}

// agenciesOf returns the agency of e today (that of the unit of their post
// in effect) for an authorisation of caller: nil when the caller names no
// agency, or e is nil.
func (s *Service) agenciesOf(ctx context.Context, caller domain.Principal, e *Employee) ([]string, error) {
	if caller.Agency == "" || e == nil {
		return nil, nil
	}
	return orgunit.Agencies(ctx, s.Handler, e.UnitOn(s.Policy.Date(s.Handler.Now())))
}

func (s *Service) requireUnit(ctx context.Context, id string) error {
	units := orgunit.Service{Handler: s.Handler, Policy: s.Policy}
	u, err := units.Load(ctx, id)
	if err != nil {
		return err
	}
	if u == nil {
		return domain.Invalid("unit_id", "unit %s does not exist", id)
	}
	return nil
}

// AssignReportingLine is the command to assign an employee's reporting line
// from a date on.
type AssignReportingLine struct {
	// NIP is the employee (any printed form).
	NIP string
	// AppraiserNIP is the appraiser.
	AppraiserNIP string
	// SuperiorNIP is the appraiser's superior.
	SuperiorNIP string
	// EffectiveFrom is the first day of the line.
	EffectiveFrom calendar.Date
	// Capacity of the appraiser; "" means DEFINITIF.
	Capacity Capacity
	// DelegationRef cites the delegation; required for PLT, PLH and DELEGATE.
	DelegationRef string
}

// maxChain bounds the walk up an appraisal chain; real chains are a handful
// of levels deep.
const maxChain = 64

// AssignReportingLine records a reporting line. Assigning the line already
// recorded for that date changes nothing. Errors: not found (employee),
// validation (NIPs, self-appraisal, appraiser = superior, employee =
// superior, unknown appraiser or superior, appraiser rank, a cycle in the
// appraisal chain, missing date, a date too far back or ahead, paper_ref),
// forbidden (not HR_ADMIN). An effective date before today is an HR
// backfill from the decree, with paper_ref (orgunit.MasterDataBackfill):
// a line effective in the past grants appraiser authority for the past.
func (s *Service) AssignReportingLine(ctx context.Context, req domain.Request, cmd AssignReportingLine) (domain.Committed, error) {
	var v domain.ValidationError
	emp, appr, sup := parseNIP(&v, "nip", cmd.NIP), parseParty(&v, "appraiser_nip", cmd.AppraiserNIP), parseParty(&v, "appraiser_superior_nip", cmd.SuperiorNIP)
	if cmd.EffectiveFrom.IsZero() {
		v.Add("effective_from", "required")
	}
	if cmd.Capacity == "" {
		cmd.Capacity = Definitif
	}
	if !cmd.Capacity.Valid() {
		v.Add("capacity", "must be DEFINITIF, PLT, PLH or DELEGATE")
	}
	cmd.DelegationRef = strings.TrimSpace(cmd.DelegationRef)
	if cmd.Capacity != Definitif && cmd.DelegationRef == "" {
		v.Add("delegation_ref", "required when the appraiser acts as %s", cmd.Capacity)
	}
	if utf8.RuneCountInString(cmd.DelegationRef) > MaxRefLen {
		v.Add("delegation_ref", "at most %d characters", MaxRefLen)
	}
	if emp != "" && emp == appr {
		v.Add("appraiser_nip", "an employee cannot appraise themselves")
	}
	if appr != "" && appr == sup && !IsOfficial(appr) {
		// Only an official without a NIP may hold both (official.go).
		v.Add("appraiser_superior_nip", "the appraiser's superior must be someone other than the appraiser")
	}
	if emp != "" && emp == sup {
		v.Add("appraiser_superior_nip", "an employee cannot be their own appraiser's superior")
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	line := ReportingLineAssigned{NIP: emp, AppraiserNIP: appr, AppraiserSuperiorNIP: sup, EffectiveFrom: cmd.EffectiveFrom,
		Capacity: cmd.Capacity, DelegationRef: cmd.DelegationRef}
	return s.Handler.Execute(ctx, domain.EmployeeStream(emp), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		e := Replay(st.Events)
		agencies, err := s.agenciesOf(ctx, req.Caller, e)
		if err != nil {
			return domain.Change{}, err
		}
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{Agencies: agencies}, authz.Options{})
		if err != nil {
			return domain.Change{}, err
		}
		if e == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "employee", ID: emp}
		}
		backfill, err := orgunit.MasterDataBackfill(s.Handler, s.Policy, req, "effective_from", line.EffectiveFrom)
		if err != nil {
			return domain.Change{}, err
		}
		line := line // the decider may run again: never change the captured value
		line.Backfill = backfill
		if cur, ok := e.LineOn(line.EffectiveFrom); ok && cur.EffectiveFrom == line.EffectiveFrom && cur.Appraiser == appr &&
			cur.Superior == sup && cur.Capacity == line.Capacity && cur.DelegationRef == line.DelegationRef {
			return domain.Change{Backfill: backfill != nil}, nil // the line in effect from that date already says this
		}
		lookup := newLookup(ctx, s.Handler)
		var v domain.ValidationError
		known := func(party, field string) (*Employee, error) {
			if IsOfficial(party) {
				ok, err := lookup.officialExists(party)
				if err == nil && !ok {
					v.Add(field, "official %s is not registered", party)
				}
				return nil, err
			}
			e, err := lookup.get(party)
			if err == nil && e == nil {
				v.Add(field, "employee %s is not registered", party)
			}
			if err == nil && e != nil && req.Caller.Agency != "" && authz.HasAgencyRole(req.Caller) {
				// An appraiser or superior of another agency is, to this
				// HR_ADMIN, someone not registered (imports included).
				ag, aerr := s.agenciesOf(ctx, req.Caller, e)
				if aerr != nil {
					return nil, aerr
				}
				if !authz.InAgency(req.Caller, ag) || len(ag) == 0 {
					v.Add(field, "employee %s is not registered", party)
					return nil, nil
				}
			}
			return e, err
		}
		appraiser, err := known(appr, "appraiser_nip")
		if err != nil {
			return domain.Change{}, err
		}
		if _, err := known(sup, "appraiser_superior_nip"); err != nil {
			return domain.Change{}, err
		}
		if err := v.Err(); err != nil {
			return domain.Change{}, err
		}
		if appraiser == nil { // an official without a NIP: no rank, no line above
			return domain.Change{Role: role, Events: []domain.Event{line}, Backfill: backfill != nil}, nil
		}
		if s.Policy.AppraiserMinimumRank && line.Capacity == Definitif {
			if k := appraiser.PositionOn(line.EffectiveFrom).Kind; !k.MayAppraise() {
				return domain.Change{}, domain.Invalid("appraiser_nip",
					"the appraiser holds a %s post; an appraiser is at least PENGAWAS unless a delegation (capacity PLT, PLH or DELEGATE with delegation_ref) is recorded", k)
			}
		}
		candidate := *e
		candidate.lines = append(slices.Clone(e.lines), Line{Appraiser: appr, Superior: sup, EffectiveFrom: line.EffectiveFrom, RecordedAt: req.OccurredAt})
		lookup.cache[emp] = &candidate
		if err := lookup.checkCycle(&candidate, line.EffectiveFrom); err != nil {
			return domain.Change{}, err
		}
		reason, err := s.checkSuperior(appraiser, sup, line.EffectiveFrom, req)
		if err != nil {
			return domain.Change{}, err
		}
		return domain.Change{Role: role, Events: []domain.Event{line}, Reason: reason, Backfill: backfill != nil}, nil
	})
}

// checkSuperior holds the line's superior against the appraiser's own
// appraiser on the effective date (issue 11): a match, or an appraiser
// without a line that day, passes; a mismatch is refused, or under
// ACCEPT_WITH_REASON recorded with the request's reason (returned for the
// envelope).
func (s *Service) checkSuperior(appraiser *Employee, sup string, d calendar.Date, req domain.Request) (string, error) {
	al, ok := appraiser.LineOn(d)
	if !ok || al.Appraiser == sup {
		return "", nil
	}
	reason := strings.TrimSpace(req.Reason)
	if s.Policy.SuperiorMismatch == policy.SuperiorAcceptWithReason && reason != "" {
		return reason, nil
	}
	msg := "must be the appraiser's own appraiser on %s (%s)"
	if s.Policy.SuperiorMismatch == policy.SuperiorAcceptWithReason {
		msg += ", or the request must give the reason for the difference"
	}
	return "", domain.Invalid("appraiser_superior_nip", msg, d, al.Appraiser)
}

func parseNIP(v *domain.ValidationError, field, s string) string {
	info, err := nip.Parse(s)
	if err != nil {
		v.Merge(field, err)
		return ""
	}
	return string(info.NIP)
}

// lookup loads employees for one decision and caches them.
type lookup struct {
	ctx   context.Context
	h     *domain.Handler
	cache map[string]*Employee
}

func newLookup(ctx context.Context, h *domain.Handler) *lookup {
	return &lookup{ctx: ctx, h: h, cache: map[string]*Employee{}}
}

func (l *lookup) get(n string) (*Employee, error) {
	if e, ok := l.cache[n]; ok {
		return e, nil
	}
	st, err := l.h.Load(l.ctx, domain.EmployeeStream(n))
	if err != nil {
		return nil, err
	}
	e := Replay(st.Events)
	l.cache[n] = e
	return e, nil
}

// checkCycle refuses the new line of e (effective from) if, on any day it is
// in effect, following appraisers up from e's appraiser leads back to e. The
// chain can only change on the effective dates of the lines of the people on
// it, so those dates (within the new line's span) are the days checked.
func (l *lookup) checkCycle(e *Employee, from calendar.Date) error {
	// The new line holds until e's next later line, if any.
	var until calendar.Date
	for _, ln := range e.lines {
		if ln.EffectiveFrom.After(from) && (until.IsZero() || ln.EffectiveFrom.Before(until)) {
			until = ln.EffectiveFrom
		}
	}
	inSpan := func(d calendar.Date) bool { return !d.Before(from) && (until.IsZero() || d.Before(until)) }
	days, seenDay := []calendar.Date{from}, map[calendar.Date]bool{from: true}
	for i := 0; i < len(days); i++ {
		d := days[i]
		chain := []string{e.nip}
		cur, _ := e.LineOn(d)
		for next := cur.Appraiser; next != ""; {
			if next == e.nip {
				return domain.Invalid("appraiser_nip", "cycle in the appraisal chain on %s: %s (each appraised by the next)", d, strings.Join(append(chain, e.nip), " → "))
			}
			if len(chain) > maxChain || slices.Contains(chain, next) {
				break // a chain that loops elsewhere is not this line's doing
			}
			chain = append(chain, next)
			p, err := l.get(next)
			if err != nil {
				return err
			}
			if p == nil {
				break
			}
			for _, ln := range p.lines {
				if inSpan(ln.EffectiveFrom) && !seenDay[ln.EffectiveFrom] {
					seenDay[ln.EffectiveFrom] = true
					days = append(days, ln.EffectiveFrom)
				}
			}
			pl, ok := p.LineOn(d)
			if !ok {
				break
			}
			next = pl.Appraiser
		}
	}
	return nil
}

// ChangePosition is the command to record a new post or unit.
type ChangePosition struct {
	// NIP is the employee.
	NIP string
	// Position is the new post.
	Position Position
	// UnitID is the new unit; it must exist.
	UnitID string
	// EffectiveFrom is the first day in the new post.
	EffectiveFrom calendar.Date
	// DecreeRef cites the decree.
	DecreeRef string
}

// ChangePosition records a position change. An effective date before today
// is an HR backfill from the decree, with paper_ref
// (orgunit.MasterDataBackfill). Errors: not found (employee), validation
// (including a date too far back or ahead, paper_ref), forbidden. Closing the SKP of the old post is a separate
// command on that SKP (one command writes one stream).
func (s *Service) ChangePosition(ctx context.Context, req domain.Request, cmd ChangePosition) (domain.Committed, error) {
	var v domain.ValidationError
	emp := parseNIP(&v, "nip", cmd.NIP)
	pos, perr := checkPosition(cmd.Position)
	v.Merge("position", perr)
	if cmd.UnitID == "" {
		v.Add("unit_id", "required")
	}
	if cmd.EffectiveFrom.IsZero() {
		v.Add("effective_from", "required")
	}
	if utf8.RuneCountInString(cmd.DecreeRef) > MaxRefLen {
		v.Add("decree_ref", "at most %d characters", MaxRefLen)
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.Handler.Execute(ctx, domain.EmployeeStream(emp), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		// The HR of the destination agency records a post change: within
		// one agency that is the employee's own; a cross-agency transfer
		// is recorded by the agency the employee moves to, after the
		// source agency released them to it (ReleaseTransfer). The
		// source's HR may not push people into another agency: to them
		// the destination unit does not exist. The stream, and the
		// history, stay whole.
		e := Replay(st.Events)
		agencies, err := s.agenciesOf(ctx, req.Caller, e)
		if err != nil {
			return domain.Change{}, err
		}
		if e != nil && !authz.InAgency(req.Caller, agencies) {
			// Another agency's employee moves in only with the release
			// their agency recorded for the caller's, into a unit of it,
			// before the release expires; otherwise they are, to the
			// caller, not registered (no existence oracle).
			dest, err := orgunit.AgencyOf(ctx, s.Handler, cmd.UnitID)
			if err != nil {
				return domain.Change{}, err
			}
			if dest == req.Caller.Agency && e.ReleasedTo(dest, s.Policy.Date(s.Handler.Now())) {
				agencies = []string{dest}
			}
		}
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{Agencies: agencies}, authz.Options{})
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Change{}, &domain.NotFoundError{Kind: "employee", ID: emp}
		}
		if err != nil {
			return domain.Change{}, err
		}
		if e == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "employee", ID: emp}
		}
		backfill, err := orgunit.MasterDataBackfill(s.Handler, s.Policy, req, "effective_from", cmd.EffectiveFrom)
		if err != nil {
			return domain.Change{}, err
		}
		if err := s.requireUnitOf(ctx, req.Caller, cmd.UnitID); err != nil {
			return domain.Change{}, err
		}
		before := e.postingOn(cmd.EffectiveFrom.AddDays(-1))
		cur := e.postingOn(cmd.EffectiveFrom)
		if cur.position == pos && cur.unit == cmd.UnitID {
			return domain.Change{Backfill: backfill != nil}, nil
		}
		return domain.Change{Role: role, Backfill: backfill != nil, Events: []domain.Event{PositionChanged{
			NIP: emp, Position: pos, UnitID: cmd.UnitID, EffectiveFrom: cmd.EffectiveFrom, DecreeRef: strings.TrimSpace(cmd.DecreeRef),
			PreviousPosition: before.position, PreviousUnitID: before.unit, Backfill: backfill,
		}}}, nil
	})
}

// MaxReleaseDays is how long a transfer release may stay open.
const MaxReleaseDays = 180

// ReleaseTransfer is the command by which the HR_ADMIN of an employee's
// agency releases them to another agency.
type ReleaseTransfer struct {
	// NIP is the employee (any printed form).
	NIP string
	// ToAgency is the destination agency (its root unit's ID).
	ToAgency string
	// ExpiresOn is the last day the destination may record the move: from
	// today to MaxReleaseDays ahead.
	ExpiresOn calendar.Date
	// DecreeRef cites the release letter.
	DecreeRef string
}

// ReleaseTransfer records that the employee's agency releases them to
// another agency (employee.transfer_released.v1), which may then record
// the move (ChangePosition) until the release expires; the move consumes
// it. Only the HR_ADMIN of the employee's agency today may; another
// agency's employee is not found. Errors: not found, validation (an
// unknown or the employee's own agency, a date out of range), forbidden.
// Recording the same open release again changes nothing.
func (s *Service) ReleaseTransfer(ctx context.Context, req domain.Request, cmd ReleaseTransfer) (domain.Committed, error) {
	var v domain.ValidationError
	emp := parseNIP(&v, "nip", cmd.NIP)
	to := strings.TrimSpace(cmd.ToAgency)
	if to == "" {
		v.Add("to_agency", "required")
	} else if !orgunit.ValidID(to) {
		v.Add("to_agency", "not a unit ID")
	}
	if cmd.ExpiresOn.IsZero() {
		v.Add("expires_on", "required")
	}
	if utf8.RuneCountInString(cmd.DecreeRef) > MaxRefLen {
		v.Add("decree_ref", "at most %d characters", MaxRefLen)
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.Handler.Execute(ctx, domain.EmployeeStream(emp), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		e := Replay(st.Events)
		agencies, err := s.agenciesOf(ctx, req.Caller, e)
		if err != nil {
			return domain.Change{}, err
		}
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{Agencies: agencies}, authz.Options{})
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Change{}, &domain.NotFoundError{Kind: "employee", ID: emp}
		}
		if err != nil {
			return domain.Change{}, err
		}
		if e == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "employee", ID: emp}
		}
		today := s.Policy.Date(s.Handler.Now())
		if cmd.ExpiresOn.Before(today) {
			return domain.Change{}, domain.Invalid("expires_on", "must not be before today (%s)", today)
		}
		if today.AddDays(MaxReleaseDays).Before(cmd.ExpiresOn) {
			return domain.Change{}, domain.Invalid("expires_on", "at most %d days ahead", MaxReleaseDays)
		}
		dest, err := orgunit.AgencyOf(ctx, s.Handler, to)
		if err != nil {
			return domain.Change{}, err
		}
		if dest != to {
			return domain.Change{}, domain.Invalid("to_agency", "%s is not an agency (a root unit)", to)
		}
		own, err := orgunit.AgencyOf(ctx, s.Handler, e.UnitOn(today))
		if err != nil {
			return domain.Change{}, err
		}
		if own == to {
			return domain.Change{}, domain.Invalid("to_agency", "the employee is in %s already: a move within the agency needs no release", to)
		}
		ev := TransferReleased{NIP: emp, ToAgency: to, ExpiresOn: cmd.ExpiresOn, DecreeRef: strings.TrimSpace(cmd.DecreeRef)}
		if e.release != nil && *e.release == ev {
			return domain.Change{}, nil
		}
		return domain.Change{Role: role, Events: []domain.Event{ev}}, nil
	})
}

// Load returns the employee with NIP n (normalised), or nil.
func (s *Service) Load(ctx context.Context, n string) (*Employee, error) {
	st, err := s.Handler.Load(ctx, domain.EmployeeStream(n))
	if err != nil {
		return nil, err
	}
	return Replay(st.Events), nil
}

// Read is the query behind GET /v1/employees/{nip}: the employee with the
// reporting line in effect on the injected clock's today, for the employee,
// their appraiser and superior in effect, and the HR and audit roles.
// Errors: not found (unknown, malformed, or not visible to the caller).
func (s *Service) Read(ctx context.Context, caller domain.Principal, n string) (View, error) {
	e, err := s.Get(ctx, n)
	if err != nil {
		return View{}, err
	}
	today := s.Policy.Date(s.Handler.Now())
	agencies, err := s.agenciesOf(ctx, caller, e)
	if err != nil {
		return View{}, err
	}
	subj := authz.Subject{Employee: e.nip, Agencies: agencies}
	if caller.Agency != "" {
		// A transfer recorded ahead of its effective date: the destination
		// reads the person from the recording (as its audit log holds the
		// transfer from then), and changes them from the effective date.
		if subj.ReadAgencies, err = orgunit.Agencies(ctx, s.Handler, e.RecordedUnit()); err != nil {
			return View{}, err
		}
	}
	if l, ok := e.LineOn(today); ok {
		subj.Appraiser, subj.Superior = l.Appraiser, l.Superior
	}
	if _, err := authz.Decide(caller, authz.ReadEmployee, subj, authz.Options{}); err != nil {
		return View{}, err
	}
	return e.View(today), nil
}

// Get returns the employee with NIP n in any printed form, or a
// [*domain.NotFoundError] (also for a malformed NIP: nobody has it).
func (s *Service) Get(ctx context.Context, n string) (*Employee, error) {
	info, err := nip.Parse(n)
	if err != nil {
		return nil, &domain.NotFoundError{Kind: "employee", ID: n}
	}
	e, err := s.Load(ctx, string(info.NIP))
	if err != nil {
		return nil, fmt.Errorf("get employee: %w", err)
	}
	if e == nil {
		return nil, &domain.NotFoundError{Kind: "employee", ID: string(info.NIP)}
	}
	return e, nil
}
