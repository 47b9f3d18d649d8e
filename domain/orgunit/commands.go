package orgunit

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Service handles the commands and queries of organisation units.
type Service struct {
	// Handler runs commands against the event log.
	Handler *domain.Handler
	// Policy is the configuration of the rules.
	Policy policy.Policy
}

// Limits of the text fields.
const (
	MaxIDLen   = 100
	MaxNameLen = 200
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@=+-]*$`)

// ValidID reports whether id may name a unit: 1 to 100 characters of
// [A-Za-z0-9_.:@=+-], starting with a letter or digit (it becomes part of
// stream names).
func ValidID(id string) bool { return len(id) <= MaxIDLen && idRE.MatchString(id) }

// Register is the command to register a unit.
type Register struct {
	// ID is the new unit's identifier.
	ID string
	// Name is the unit's name.
	Name string
	// ParentID is the unit directly above, "" for a root.
	ParentID string
}

// Register registers a unit. Errors: validation (bad id or name, unknown
// parent), conflict (the id is taken), forbidden (not HR_ADMIN).
func (s *Service) Register(ctx context.Context, req domain.Request, cmd Register) (domain.Committed, error) {
	var v domain.ValidationError
	if !ValidID(cmd.ID) {
		v.Add("id", "must be 1-%d characters of letters, digits and _ . : @ = + -, starting with a letter or digit", MaxIDLen)
	}
	name := strings.TrimSpace(cmd.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen {
		v.Add("name", "required, at most %d characters", MaxNameLen)
	} else if p := domain.NameProblem(name); p != "" {
		v.Add("name", "%s", p)
	}
	if cmd.ParentID != "" && cmd.ParentID == cmd.ID {
		v.Add("parent_id", "a unit cannot be its own parent")
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.ID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		agency := cmd.ID
		if cmd.ParentID != "" && req.Caller.Agency != "" {
			if agency, err := AgencyOf(ctx, s.Handler, cmd.ParentID); err != nil {
				return domain.Change{}, err
			} else if !authz.InAgency(req.Caller, []string{agency}) && !authz.National(req.Caller) {
				// Another agency's parent is, to this caller, a parent
				// that does not exist.
				return domain.Change{}, domain.Invalid("parent_id", "unit %s does not exist", cmd.ParentID)
			}
		}
		if cmd.ParentID != "" {
			agency = ""
		}
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{Agencies: nonEmpty(agency)}, authz.Options{})
		if err != nil {
			return domain.Change{}, err
		}
		if st.Exists {
			return domain.Change{}, &domain.ConflictError{Kind: "unit", ID: cmd.ID}
		}
		if cmd.ParentID != "" {
			parent, err := s.Load(ctx, cmd.ParentID)
			if err != nil {
				return domain.Change{}, err
			}
			if parent == nil {
				return domain.Change{}, domain.Invalid("parent_id", "unit %s does not exist", cmd.ParentID)
			}
		}
		return domain.Change{Role: role, Events: []domain.Event{Registered{UnitID: cmd.ID, Name: name, ParentID: cmd.ParentID}}}, nil
	})
}

// RatePerformance is the command to set the organisation predikat of a unit
// for a period.
type RatePerformance struct {
	// UnitID is the unit.
	UnitID string
	// Period is "2026", or a period of the configured cadence.
	Period string
	// Predikat is ISTIMEWA, BAIK, BUTUH_PERBAIKAN, KURANG or SANGAT_KURANG.
	Predikat string
	// Reason is required when the period already has another predikat.
	Reason string
	// BasisRef is the document the predikat rests on (the Format
	// Penetapan Predikat Kinerja, the PK evaluation). Required of the
	// leader; for an HR backfill it defaults to PaperRef.
	BasisRef string
	// PaperRef, when set, makes the command a backfill by HR_ADMIN from the
	// paper decision it names.
	PaperRef string
}

// MaxRefLen bounds a document reference.
const MaxRefLen = 200

// RatePerformance sets or changes the organisation predikat (domain.md
// §4.3, SE 3/2023): the leader one level up sets it — the head of the
// parent unit on the date, for a root unit its own head — or, when the
// policy names a body (OrgPredikatBody), that body's head; with a basis
// document. HR_ADMIN enters it only as a backfill from paper, with
// paper_ref. Setting the value already in effect changes nothing. Errors:
// not found (unit), validation (period, predikat, a change without reason,
// missing or bad references), forbidden.
func (s *Service) RatePerformance(ctx context.Context, req domain.Request, cmd RatePerformance) (domain.Committed, error) {
	var v domain.ValidationError
	p, err := period.Parse(cmd.Period)
	if err != nil {
		v.Add("period", "%v", err)
	} else if !s.Policy.Cadence.Allows(p) {
		v.Add("period", "period %s does not match the %s cadence", p, s.Policy.Cadence)
	}
	org, err := rating.ParseOrgPredikat(cmd.Predikat)
	if err != nil {
		v.Add("predikat", "%v", err)
	}
	basis := ref(&v, "basis_ref", cmd.BasisRef)
	paper := ref(&v, "paper_ref", cmd.PaperRef)
	if basis == "" {
		basis = paper
	}
	if basis == "" {
		v.Add("basis_ref", "required: the document the predikat rests on (e.g. the Format Penetapan Predikat Kinerja)")
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	reason := strings.TrimSpace(cmd.Reason)
	if reason == "" {
		reason = strings.TrimSpace(req.Reason)
	}
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.UnitID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		u := Replay(st.Events)
		if u == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "unit", ID: cmd.UnitID}
		}
		setterUnit, capacity, leader, err := s.predikatSetter(ctx, u, s.Policy.Date(req.OccurredAt))
		if err != nil {
			return domain.Change{}, err
		}
		agencies, err := s.agenciesFor(ctx, req.Caller, cmd.UnitID)
		if err != nil {
			return domain.Change{}, err
		}
		if !authz.InAgency(req.Caller, agencies) && !authz.National(req.Caller) && req.Caller.ID != leader {
			// Another agency's unit is, to this caller, one that does not
			// exist (checked before the role, as existence is here).
			return domain.Change{}, &domain.NotFoundError{Kind: "unit", ID: cmd.UnitID}
		}
		role, err := authz.Decide(req.Caller, authz.RateUnit, authz.Subject{UnitLeader: leader, Agencies: agencies}, authz.Options{Backfill: paper != ""})
		if err != nil {
			return domain.Change{}, err
		}
		if role != domain.RoleUnitLeader {
			setterUnit, capacity = "", CapacityBackfill
		} else if today := s.Policy.Date(s.Handler.Now()); today != s.Policy.Date(req.OccurredAt) {
			// Authority on both dates (domain.md §10): an occurred_at
			// within the tolerance may fall on yesterday; the leader of
			// yesterday who no longer leads today does not set it.
			if _, _, now, err := s.predikatSetter(ctx, u, today); err != nil {
				return domain.Change{}, err
			} else if now != req.Caller.ID {
				return domain.Change{}, fmt.Errorf("%w: %s no longer leads the unit that sets this predikat today (%s)", domain.ErrForbidden, req.Caller.ID, today)
			}
		}
		prev, had := u.Predikat(p.String())
		switch {
		case had && prev == org:
			return domain.Change{}, nil
		case had && reason == "":
			return domain.Change{}, domain.Invalid("reason", "required to change the predikat of %s from %s", p, prev)
		}
		ev := PerformanceRated{UnitID: u.id, Period: p.String(), Predikat: org, Previous: prev, Reason: reason,
			Capacity: capacity, SetterUnitID: setterUnit, BasisRef: basis, PaperRef: paper}
		return domain.Change{Role: role, Events: []domain.Event{ev}, Reason: reason}, nil
	})
}

// predikatSetter returns who sets u's organisation predikat on day d: the
// unit they head, the capacity, and their NIP ("" when the post is vacant).
func (s *Service) predikatSetter(ctx context.Context, u *Unit, d calendar.Date) (string, Capacity, string, error) {
	id, capacity := u.parent, CapacityLeader
	switch {
	case s.Policy.OrgPredikatBody != "":
		id, capacity = s.Policy.OrgPredikatBody, CapacityPolicyBody
	case id == "":
		id = u.id // a root unit: no leader above it in the ledger
	}
	setter := u
	if id != u.id {
		var err error
		if setter, err = s.Load(ctx, id); err != nil {
			return "", "", "", err
		}
	}
	if setter == nil {
		return id, capacity, "", nil
	}
	head, _ := setter.HeadOn(d)
	return id, capacity, head, nil
}

// SetZone is the command to set the time zone a unit works in.
type SetZone struct {
	// UnitID is the unit.
	UnitID string
	// Zone is WIB, WITA or WIT (see [Zones]).
	Zone string
}

// SetZone sets the time zone a unit works in (issue 13): the dashboard
// shows the unit's times, and those of its employees' SKPs, in it. Setting
// the zone in effect changes nothing. Errors: validation (not WIB, WITA
// or WIT), not found (unit), forbidden (not HR_ADMIN).
func (s *Service) SetZone(ctx context.Context, req domain.Request, cmd SetZone) (domain.Committed, error) {
	zone := strings.ToUpper(strings.TrimSpace(cmd.Zone))
	if !slices.Contains(Zones, zone) {
		return domain.Committed{}, domain.Invalid("zone", "must be WIB, WITA or WIT")
	}
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.UnitID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, u, err := s.masterDataOf(ctx, req, cmd.UnitID, st)
		if err != nil {
			return domain.Change{}, err
		}
		if u.zone == zone {
			return domain.Change{}, nil
		}
		return domain.Change{Role: role, Events: []domain.Event{ZoneSet{UnitID: u.id, Zone: zone, Previous: u.zone}}}, nil
	})
}

// ref returns a trimmed document reference, recording a problem for one
// that is too long or holds control characters.
func ref(v *domain.ValidationError, field, s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxRefLen || strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s) {
		v.Add(field, "at most %d characters, without control characters", MaxRefLen)
		return ""
	}
	return s
}

// MasterDataBackfill judges the effective date d (input field) of a
// master-data act (a reporting line, a post change, a unit head) and
// authorises it (domain.md §10, issue 9 §3): an effective date before the
// recording day (in the agency's zone, beyond the tolerance after
// midnight) is a backfill, entered only by a role holding
// [authz.BackfillMasterData] (HR_ADMIN: 403 otherwise), only with the
// decree's paper_ref and at most the backfill's maximum age back (422
// otherwise); a date may lie at most a year ahead. It returns the paper to
// record in the event, nil for an ordinary act. Without this, whoever may
// assign a line could make it effective a year back and so grant appraiser
// authority retroactively.
func MasterDataBackfill(h *domain.Handler, p policy.Policy, req domain.Request, field string, d calendar.Date) (*bizdate.Backfill, error) {
	backdated, err := h.EffectiveDate(req, field, d, p.Location)
	if backdated || req.Backfill != nil {
		if _, aerr := authz.Decide(req.Caller, authz.BackfillMasterData, authz.Subject{}, authz.Options{Backfill: true}); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil || !backdated {
		return nil, err
	}
	return &bizdate.Backfill{PaperRef: req.Backfill.PaperRef, RecordedBy: req.Caller.ID}, nil
}

// AssignHead is the command to record who heads a unit from a date on.
type AssignHead struct {
	// UnitID is the unit.
	UnitID string
	// HeadNIP is the head's NIP or NI PPPK (any printed form); "" records a
	// vacancy.
	HeadNIP string
	// EffectiveFrom is the first day of the assignment.
	EffectiveFrom calendar.Date
}

// AssignHead records a unit head. An effective date before today is an HR
// backfill with the decree's paper_ref (see [MasterDataBackfill]). Errors:
// not found (unit), validation (NIP, unknown employee, missing date, a date
// too far back or ahead, paper_ref), forbidden.
func (s *Service) AssignHead(ctx context.Context, req domain.Request, cmd AssignHead) (domain.Committed, error) {
	var v domain.ValidationError
	var head string
	if cmd.HeadNIP != "" {
		info, err := nip.Parse(cmd.HeadNIP)
		v.Merge("head_nip", err)
		head = string(info.NIP)
	}
	if cmd.EffectiveFrom.IsZero() {
		v.Add("effective_from", "required")
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.UnitID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, u, err := s.masterDataOf(ctx, req, cmd.UnitID, st)
		if err != nil {
			return domain.Change{}, err
		}
		backfill, err := MasterDataBackfill(s.Handler, s.Policy, req, "effective_from", cmd.EffectiveFrom)
		if err != nil {
			return domain.Change{}, err
		}
		if head != "" {
			emp, err := s.Handler.Load(ctx, domain.EmployeeStream(head))
			if err != nil {
				return domain.Change{}, err
			}
			if !emp.Exists {
				return domain.Change{}, domain.Invalid("head_nip", "employee %s is not registered", head)
			}
		}
		for _, h := range u.heads {
			if h.from == cmd.EffectiveFrom && h.nip == head {
				return domain.Change{Backfill: backfill != nil}, nil
			}
		}
		return domain.Change{Role: role, Backfill: backfill != nil,
			Events: []domain.Event{HeadAssigned{UnitID: u.id, HeadNIP: head, EffectiveFrom: cmd.EffectiveFrom, Backfill: backfill}}}, nil
	})
}

// Rename is the command to correct a unit's name.
type Rename struct {
	// UnitID is the unit.
	UnitID string
	// Name is the corrected name.
	Name string
}

// Rename corrects a unit's name; its identifier and its place in the tree
// stay. Renaming to the name in effect changes nothing. Errors: not found
// (unit), validation (name), forbidden (not HR_ADMIN).
func (s *Service) Rename(ctx context.Context, req domain.Request, cmd Rename) (domain.Committed, error) {
	name := strings.TrimSpace(cmd.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen {
		return domain.Committed{}, domain.Invalid("name", "required, at most %d characters", MaxNameLen)
	}
	if p := domain.NameProblem(name); p != "" {
		return domain.Committed{}, domain.Invalid("name", "%s", p)
	}
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.UnitID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, u, err := s.masterDataOf(ctx, req, cmd.UnitID, st)
		if err != nil {
			return domain.Change{}, err
		}
		if u.name == name {
			return domain.Change{}, nil
		}
		return domain.Change{Role: role, Events: []domain.Event{Renamed{UnitID: u.id, Name: name, Previous: u.name}}}, nil
	})
}

// Load returns the unit id, or nil when it does not exist.
func (s *Service) Load(ctx context.Context, id string) (*Unit, error) {
	if !ValidID(id) {
		return nil, nil
	}
	st, err := s.Handler.Load(ctx, domain.UnitStream(id))
	if err != nil {
		return nil, err
	}
	return Replay(st.Events), nil
}

// Get returns the unit id or a [*domain.NotFoundError].
func (s *Service) Get(ctx context.Context, id string) (*Unit, error) {
	u, err := s.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, &domain.NotFoundError{Kind: "unit", ID: id}
	}
	return u, nil
}

// agenciesFor returns the agencies of unit for an authorisation of
// caller: nil when the caller names no agency (nothing to scope, and
// nothing to load).
func (s *Service) agenciesFor(ctx context.Context, caller domain.Principal, unit string) ([]string, error) {
	if caller.Agency == "" {
		return nil, nil
	}
	return Agencies(ctx, s.Handler, unit)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// masterDataOf decides that the caller may manage unit id's master data
// (HR_ADMIN of its agency) and replays the unit from st: the role to
// record, and the unit (not found when st holds none).
func (s *Service) masterDataOf(ctx context.Context, req domain.Request, id string, st domain.Stream) (domain.Role, *Unit, error) {
	agencies, err := s.agenciesFor(ctx, req.Caller, id)
	if err != nil {
		return "", nil, err
	}
	role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{Agencies: agencies}, authz.Options{})
	if err != nil {
		return "", nil, err
	}
	u := Replay(st.Events)
	if u == nil {
		return "", nil, &domain.NotFoundError{Kind: "unit", ID: id}
	}
	return role, u, nil
}
