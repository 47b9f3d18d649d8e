package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Policy is the projection's poison policy: a dashboard, so DeadLetter.
const Policy = projections.DeadLetter

// Filter selects the events the projection reads: units, employees and the
// distribution justifications.
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.UnitStreamPrefix, domain.EmployeeStreamPrefix, domain.DistributionStreamPrefix}}
}

// Justification is the latest justified deviation from the distribution
// pattern of a unit and period (stream distribution-{unit}-{period}).
type Justification struct {
	UnitID string `json:"unit_id"`
	Period string `json:"period"`
	// OrgPredikat, Pattern and Counts are what the leader justified.
	OrgPredikat string         `json:"org_predikat"`
	Pattern     string         `json:"pattern"`
	Counts      map[string]int `json:"counts"`
	// Violations are the rules the justification covers.
	Violations []distribution.Violation `json:"violations"`
	// Text is the leader's reasoning; ActorID the leader.
	Text       string    `json:"justification"`
	ActorID    string    `json:"actor_id"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// JustificationReader reads justified deviations. The directory readers of
// every backend implement it besides Reader.
type JustificationReader interface {
	// Justification returns the latest justification of unit for period,
	// and false when there is none.
	Justification(ctx context.Context, unit, period string) (Justification, bool, error)
}

// Store is what the projection needs from its backend. A Sink calls it
// inside the transaction that also stores the checkpoint.
type Store interface {
	// Unit and Employee return a stored row, or an error wrapping
	// ErrNotFound.
	Unit(ctx context.Context, id string) (Unit, error)
	Employee(ctx context.Context, nip string) (Employee, error)
	// PutUnit, PutEmployee and PutJustification store a row, replacing the
	// one with the same key.
	PutUnit(ctx context.Context, u Unit) error
	PutEmployee(ctx context.Context, e Employee) error
	PutJustification(ctx context.Context, j Justification) error
}

// Apply projects ev. The directory keeps no state between events: each row
// is read, changed by the event's payload and written back.
func Apply(ctx context.Context, s Store, ev projections.Event) error {
	switch e := ev.Payload.(type) {
	case orgunit.Registered:
		return s.PutUnit(ctx, Unit{ID: e.UnitID, Name: e.Name, ParentID: e.ParentID, RegisteredAt: ev.OccurredAt})
	case orgunit.PerformanceRated:
		u, err := unit(ctx, s, ev, e.UnitID)
		if err != nil {
			return err
		}
		perf := make(map[string]string, len(u.Performance)+1)
		for k, v := range u.Performance {
			perf[k] = v
		}
		perf[e.Period] = string(e.Predikat)
		u.Performance = perf
		return s.PutUnit(ctx, u)
	case orgunit.HeadAssigned:
		u, err := unit(ctx, s, ev, e.UnitID)
		if err != nil {
			return err
		}
		// The assignment with the latest effective date holds; among equal
		// dates the later one (orgunit.Unit.HeadOn).
		if from := e.EffectiveFrom.String(); from >= u.HeadFrom {
			u.HeadNIP, u.HeadFrom = e.HeadNIP, from
			return s.PutUnit(ctx, u)
		}
		return nil
	case orgunit.Renamed:
		u, err := unit(ctx, s, ev, e.UnitID)
		if err != nil {
			return err
		}
		u.Name = e.Name
		return s.PutUnit(ctx, u)
	case orgunit.ZoneSet:
		u, err := unit(ctx, s, ev, e.UnitID)
		if err != nil {
			return err
		}
		u.Zone = e.Zone
		return s.PutUnit(ctx, u)
	case employee.Registered:
		return s.PutEmployee(ctx, Employee{NIP: e.NIP, Name: e.Name, ASNType: string(e.ASNType), UnitID: e.UnitID,
			PositionKind: string(e.Position.Kind), PositionTitle: e.Position.Title})
	case employee.ReportingLineAssigned:
		x, err := emp(ctx, s, ev, e.NIP)
		if err != nil {
			return err
		}
		// The line with the latest effective date holds; the same date
		// corrects (employee.Employee.LineOn).
		if from := e.EffectiveFrom.String(); from >= x.EffectiveFrom {
			x.AppraiserNIP, x.AppraiserSuperiorNIP, x.EffectiveFrom = e.AppraiserNIP, e.AppraiserSuperiorNIP, from
			return s.PutEmployee(ctx, x)
		}
		return nil
	case employee.PositionChanged:
		x, err := emp(ctx, s, ev, e.NIP)
		if err != nil {
			return err
		}
		if from := e.EffectiveFrom.String(); from >= x.PositionFrom {
			x.UnitID, x.PositionKind, x.PositionTitle, x.PositionFrom = e.UnitID, string(e.Position.Kind), e.Position.Title, from
			return s.PutEmployee(ctx, x)
		}
		return nil
	case distribution.DeviationJustified:
		counts := make(map[string]int, len(e.Counts))
		for k, v := range e.Counts {
			counts[string(k)] = v
		}
		return s.PutJustification(ctx, Justification{UnitID: e.UnitID, Period: e.Period, OrgPredikat: string(e.OrgPredikat),
			Pattern: e.Pattern, Counts: counts, Violations: e.Violations, Text: e.Justification,
			ActorID: ev.Actor.ID, OccurredAt: ev.OccurredAt, RecordedAt: ev.RecordedAt})
	}
	return nil
}

// unit reads the unit an event of a registered unit names; a missing one
// contradicts the ledger (a unit's first event is its registration), which
// retrying will not fix.
func unit(ctx context.Context, s Store, ev projections.Event, id string) (Unit, error) {
	u, err := s.Unit(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Unit{}, projections.Poison(ev.Event, fmt.Errorf("unit %s is not in the directory", id))
	}
	return u, err
}

func emp(ctx context.Context, s Store, ev projections.Event, nip string) (Employee, error) {
	x, err := s.Employee(ctx, nip)
	if errors.Is(err, ErrNotFound) {
		return Employee{}, projections.Poison(ev.Event, fmt.Errorf("employee %s is not in the directory", nip))
	}
	return x, err
}

// Keys returns the units and employees whose rows applying events reads,
// so that a backend can load them in one query before the batch.
func Keys(events []projections.Event) (units, nips []string) {
	for _, ev := range events {
		switch {
		case strings.HasPrefix(ev.Stream, domain.UnitStreamPrefix):
			units = append(units, strings.TrimPrefix(ev.Stream, domain.UnitStreamPrefix))
		case strings.HasPrefix(ev.Stream, domain.EmployeeStreamPrefix):
			nips = append(nips, strings.TrimPrefix(ev.Stream, domain.EmployeeStreamPrefix))
		}
	}
	return units, nips
}

// SubtreeOf returns id and every unit below it, depth first with children
// in id order, through the domain's orgunit.Tree. It returns ErrNotFound
// when id is not among units.
func SubtreeOf(units []Unit, id string) ([]string, error) {
	regs := make([]orgunit.Registered, len(units))
	for i, u := range units {
		regs[i] = orgunit.Registered{UnitID: u.ID, Name: u.Name, ParentID: u.ParentID}
	}
	t, err := orgunit.BuildTree(regs)
	if err != nil {
		return nil, fmt.Errorf("directory: the units do not form a tree: %w", err)
	}
	if !t.Has(id) {
		return nil, fmt.Errorf("%w: unit %s", ErrNotFound, id)
	}
	return t.Subtree(id), nil
}
