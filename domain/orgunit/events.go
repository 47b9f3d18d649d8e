package orgunit

import (
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Registered records a new organisation unit. Stream unit-{unit_id}.
type Registered struct {
	// UnitID is the unit's identifier, unique and immutable.
	UnitID string `json:"unit_id"`
	// Name is the unit's name.
	Name string `json:"name"`
	// ParentID is the unit directly above, or "" for a root unit. The
	// parent existed when the unit was registered and never changes, so the
	// units form a tree.
	ParentID string `json:"parent_id,omitempty"`
}

// EventType implements [domain.Event].
func (Registered) EventType() string { return "unit.registered.v1" }

// PerformanceRated records the organisation predikat of a unit for a period
// (set for the first time, or changed). Stream unit-{unit_id}.
type PerformanceRated struct {
	// UnitID is the unit rated.
	UnitID string `json:"unit_id"`
	// Period is the period rated: "2026", "2026-Q1" or "2026-01".
	Period string `json:"period"`
	// Predikat is the organisation predikat now in effect.
	Predikat rating.OrgPredikat `json:"predikat"`
	// Previous is the predikat this one replaces, "" the first time.
	Previous rating.OrgPredikat `json:"previous,omitempty"`
	// Reason justifies a change; required when Previous is set.
	Reason string `json:"reason,omitempty"`
}

// EventType implements [domain.Event].
func (PerformanceRated) EventType() string { return "unit.performance_rated.v1" }

// HeadAssigned records who heads a unit from a date on (the appraisee whose
// work-result rating follows the unit's predikat, and the leader who
// justifies distribution deviations of the units below). Stream
// unit-{unit_id}.
type HeadAssigned struct {
	// UnitID is the unit.
	UnitID string `json:"unit_id"`
	// HeadNIP is the head's NIP, or "" when the post becomes vacant.
	HeadNIP string `json:"head_nip,omitempty"`
	// EffectiveFrom is the first day the assignment holds; a later
	// assignment supersedes it from its own date on.
	EffectiveFrom calendar.Date `json:"effective_from"`
}

// EventType implements [domain.Event].
func (HeadAssigned) EventType() string { return "unit.head_assigned.v1" }

// Renamed records a correction of a unit's name (its identifier and place
// in the tree never change). Stream unit-{unit_id}.
type Renamed struct {
	// UnitID is the unit renamed.
	UnitID string `json:"unit_id"`
	// Name is the name from now on.
	Name string `json:"name"`
	// Previous is the name it replaces.
	Previous string `json:"previous"`
}

// EventType implements [domain.Event].
func (Renamed) EventType() string { return "unit.renamed.v1" }

// Events returns the specs of this package's events, for the codec.
func Events() []domain.EventSpec {
	return []domain.EventSpec{
		domain.Spec[Registered](1),
		domain.Spec[PerformanceRated](1),
		domain.Spec[HeadAssigned](1),
		domain.Spec[Renamed](1),
	}
}
