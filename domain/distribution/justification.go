package distribution

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// DeviationJustified records the unit leader's justification of a
// distribution that deviates from the pattern. Stream
// distribution-{unit_id}-{period}.
type DeviationJustified struct {
	// UnitID and Period name the distribution.
	UnitID string `json:"unit_id"`
	Period string `json:"period"`
	// OrgPredikat is the unit's organisation predikat for the period.
	OrgPredikat rating.OrgPredikat `json:"org_predikat"`
	// Pattern names the pattern applied.
	Pattern string `json:"pattern"`
	// Counts are the counts justified.
	Counts map[rating.Predikat]int `json:"counts"`
	// Violations are the violations justified.
	Violations []Violation `json:"violations"`
	// Justification is the leader's reasoning.
	Justification string `json:"justification"`
}

// EventType implements [domain.Event].
func (DeviationJustified) EventType() string { return "distribution.deviation_justified.v1" }

// Events returns the specs of this package's events, for the codec.
func Events() []domain.EventSpec {
	return []domain.EventSpec{domain.Spec[DeviationJustified](1)}
}

// Justification is one recorded justification.
type Justification struct {
	DeviationJustified
	// Actor recorded it; OccurredAt and RecordedAt are its times.
	Actor      domain.Actor `json:"actor"`
	OccurredAt time.Time    `json:"occurred_at"`
	RecordedAt time.Time    `json:"recorded_at"`
}

// Record is the state of one unit's distribution for one period.
type Record struct {
	justifications []Justification
}

// Replay rebuilds a record from its stream (an empty record for none).
func Replay(events []domain.Stored) *Record {
	r := &Record{}
	for _, e := range events {
		if j, ok := e.Event.(DeviationJustified); ok {
			r.justifications = append(r.justifications, Justification{DeviationJustified: j, Actor: e.Meta.Actor,
				OccurredAt: e.Meta.OccurredAt, RecordedAt: e.RecordedAt})
		}
	}
	return r
}

// Justifications returns every justification, oldest first.
func (r *Record) Justifications() []Justification { return slices.Clone(r.justifications) }

// Justified returns the violations the latest justification covers, for
// [Gate].
func (r *Record) Justified() []Violation {
	if len(r.justifications) == 0 {
		return nil
	}
	return slices.Clone(r.justifications[len(r.justifications)-1].Violations)
}

// Service records justifications.
type Service struct {
	// Handler runs commands against the event log.
	Handler *domain.Handler
	// Policy is the configuration of the rules.
	Policy policy.Policy
	// Pattern is the distribution pattern (SE3_2023 unless an agency
	// configures another).
	Pattern Pattern
}

// Justify is the command to justify a deviation.
type Justify struct {
	// UnitID and Period name the distribution.
	UnitID, Period string
	// Counts are the unit's counts (from the distribution projection).
	Counts Counts
	// Justification is the leader's reasoning.
	Justification string
}

// MaxJustificationLen bounds a justification.
const MaxJustificationLen = 8000

// Justify records a justification of the violations the counts show
// against the unit's organisation predikat. Only the leader one level up
// (the head of the parent unit on the date; for a root unit, its own head)
// justifies. Errors: not found (unit), forbidden, validation (period,
// counts, text, nothing to justify), invalid state (no organisation
// predikat for the period). In BLOCK mode too: a justification is what
// lets an evaluation that breaks the pattern be issued.
func (s *Service) Justify(ctx context.Context, req domain.Request, cmd Justify) (domain.Committed, error) {
	var v domain.ValidationError
	p, err := period.Parse(cmd.Period)
	if err != nil {
		v.Add("period", "%v", err)
	}
	for pr, n := range cmd.Counts {
		if !pr.Valid() || n < 0 {
			v.Add("counts", "%q: %d is not a count of a known predikat", pr, n)
		}
	}
	text := strings.TrimSpace(cmd.Justification)
	if text == "" || len([]rune(text)) > MaxJustificationLen {
		v.Add("justification", "required, at most %d characters", MaxJustificationLen)
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	if !orgunit.ValidID(cmd.UnitID) {
		return domain.Committed{}, &domain.NotFoundError{Kind: "unit", ID: cmd.UnitID}
	}
	return s.Handler.Execute(ctx, domain.DistributionStream(cmd.UnitID, p.String()), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		u, role, err := s.leader(ctx, req.Caller, cmd.UnitID, req.OccurredAt)
		if err != nil {
			return domain.Change{}, err
		}
		org, ok := u.Predikat(p.String())
		if !ok {
			return domain.Change{}, domain.InvalidState("justify", "NO_ORG_PREDIKAT", fmt.Sprintf("unit %s has no organisation predikat for %s", u.ID(), p))
		}
		res := Evaluate(s.Pattern, org, cmd.Counts)
		if len(res.Violations) == 0 {
			return domain.Change{}, domain.Invalid("counts", "the distribution follows the pattern; there is nothing to justify")
		}
		return domain.Change{Role: role, Events: []domain.Event{DeviationJustified{UnitID: u.ID(), Period: p.String(), OrgPredikat: org,
			Pattern: s.Pattern.Name(), Counts: res.Counts, Violations: res.Violations, Justification: text}}}, nil
	})
}

// leader reads unit and decides whether caller is the leader one level up
// on the day of at (the head of the parent unit; for a root unit, its own
// head), who alone justifies a deviation.
func (s *Service) leader(ctx context.Context, caller domain.Principal, unitID string, at time.Time) (*orgunit.Unit, domain.Role, error) {
	units := orgunit.Service{Handler: s.Handler, Policy: s.Policy}
	u, err := units.Get(ctx, unitID)
	if err != nil {
		return nil, "", err
	}
	leaderUnit := u
	if u.Parent() != "" {
		if leaderUnit, err = units.Get(ctx, u.Parent()); err != nil {
			return nil, "", err
		}
	}
	leader, _ := leaderUnit.HeadOn(s.Policy.Date(at))
	subj := authz.Subject{UnitLeader: leader}
	if caller.Agency != "" && caller.ID != leader {
		agencies, err := orgunit.Agencies(ctx, s.Handler, unitID)
		if err != nil {
			return nil, "", err
		}
		if !authz.InAgency(caller, agencies) && !authz.National(caller) {
			// Another agency's unit is, to this caller, one that does
			// not exist.
			return nil, "", &domain.NotFoundError{Kind: "unit", ID: unitID}
		}
	}
	role, err := authz.Decide(caller, authz.JustifyDeviation, subj, authz.Options{})
	return u, role, err
}

// AuthorizeJustify reports whether caller may justify a deviation of
// unit's distribution today (what Justify decides): nil, a *authz.Denied,
// or not found for an unknown unit. The dashboard asks it to offer the
// form only to the leader.
func (s *Service) AuthorizeJustify(ctx context.Context, caller domain.Principal, unitID string) error {
	if !orgunit.ValidID(unitID) {
		return &domain.NotFoundError{Kind: "unit", ID: unitID}
	}
	_, _, err := s.leader(ctx, caller, unitID, s.Handler.Now())
	return err
}

// Load returns the record of unit for period (empty when none).
func (s *Service) Load(ctx context.Context, unit, per string) (*Record, error) {
	stream := domain.DistributionStream(unit, per)
	if !domain.ValidStreamName(stream) {
		return &Record{}, nil
	}
	st, err := s.Handler.Load(ctx, stream)
	if err != nil {
		return nil, err
	}
	return Replay(st.Events), nil
}
