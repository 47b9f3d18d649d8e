package orgunit

import (
	"context"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
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
	}
	if cmd.ParentID != "" && cmd.ParentID == cmd.ID {
		v.Add("parent_id", "a unit cannot be its own parent")
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.ID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{}, authz.Options{})
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
}

// RatePerformance sets or changes the organisation predikat. Setting the
// value already in effect changes nothing. Errors: not found (unit),
// validation (period, predikat, a change without reason), forbidden.
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
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	reason := strings.TrimSpace(cmd.Reason)
	if reason == "" {
		reason = strings.TrimSpace(req.Reason)
	}
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.UnitID), req, func(_ context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, err := authz.Decide(req.Caller, authz.RateUnit, authz.Subject{}, authz.Options{})
		if err != nil {
			return domain.Change{}, err
		}
		u := Replay(st.Events)
		if u == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "unit", ID: cmd.UnitID}
		}
		prev, had := u.Predikat(p.String())
		switch {
		case had && prev == org:
			return domain.Change{}, nil
		case had && reason == "":
			return domain.Change{}, domain.Invalid("reason", "required to change the predikat of %s from %s", p, prev)
		}
		ev := PerformanceRated{UnitID: u.id, Period: p.String(), Predikat: org, Previous: prev, Reason: reason}
		return domain.Change{Role: role, Events: []domain.Event{ev}, Reason: reason}, nil
	})
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

// AssignHead records a unit head. Errors: not found (unit), validation
// (NIP, unknown employee, missing date), forbidden.
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
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{}, authz.Options{})
		if err != nil {
			return domain.Change{}, err
		}
		u := Replay(st.Events)
		if u == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "unit", ID: cmd.UnitID}
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
				return domain.Change{}, nil
			}
		}
		return domain.Change{Role: role, Events: []domain.Event{HeadAssigned{UnitID: u.id, HeadNIP: head, EffectiveFrom: cmd.EffectiveFrom}}}, nil
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
	return s.Handler.Execute(ctx, domain.UnitStream(cmd.UnitID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{}, authz.Options{})
		if err != nil {
			return domain.Change{}, err
		}
		u := Replay(st.Events)
		if u == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "unit", ID: cmd.UnitID}
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
