package orgunit

import (
	"encoding/json"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
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
//
// Version 2 (issue 11) records who set it in which capacity and on what
// basis. Stored v1 events (HR_ADMIN entries without a basis) are read as v2
// with Capacity LEGACY_HR_ENTRY and no basis: they keep their meaning.
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
	// Capacity is how the setter acted: LEADER_ONE_LEVEL_UP (the head of
	// the parent unit; for a root unit its own head), POLICY_BODY (the head
	// of the body the policy names), HR_BACKFILL (HR_ADMIN typing in a
	// paper decision), or LEGACY_HR_ENTRY (a v1 event).
	Capacity Capacity `json:"capacity"`
	// SetterUnitID is the unit whose head set it ("" for HR entries).
	SetterUnitID string `json:"setter_unit_id,omitempty"`
	// BasisRef is the document the predikat rests on (the Format Penetapan
	// Predikat Kinerja, the evaluation of the PK or action plans); "" only
	// for a v1 event.
	BasisRef string `json:"basis_ref,omitempty"`
	// PaperRef is the paper document an HR backfill was typed from.
	PaperRef string `json:"paper_ref,omitempty"`
}

// Capacity is how an organisation predikat was set.
type Capacity string

// Capacities of [PerformanceRated].
const (
	CapacityLeader     Capacity = "LEADER_ONE_LEVEL_UP"
	CapacityPolicyBody Capacity = "POLICY_BODY"
	CapacityBackfill   Capacity = "HR_BACKFILL"
	CapacityLegacy     Capacity = "LEGACY_HR_ENTRY"
)

// EventType implements [domain.Event].
func (PerformanceRated) EventType() string { return "unit.performance_rated.v2" }

// UpcastPerformanceRatedV1 reads a stored unit.performance_rated.v1 (the
// same fields, entered by HR_ADMIN without a basis) as v2.
func UpcastPerformanceRatedV1(data []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	m["capacity"] = string(CapacityLegacy)
	return json.Marshal(m)
}

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
	// Backfill, from schema version 2, is the decree (SK) of an act
	// effective before the day it was recorded, entered by HR_ADMIN
	// (domain.md §10); nil for an act effective from its recording day or
	// later, and for every version 1 event.
	Backfill *bizdate.Backfill `json:"backfill,omitempty"`
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

// ZoneSet records the time zone a unit works in (WIB, WITA or WIT), in
// which the dashboard shows the times of the unit and of its employees'
// SKPs (issue 13). A unit without one works in the agency's zone (the
// policy's Location). Presentation only: deadlines stay in the agency's
// zone. Stream unit-{unit_id}.
type ZoneSet struct {
	// UnitID is the unit.
	UnitID string `json:"unit_id"`
	// Zone is WIB, WITA or WIT.
	Zone string `json:"zone"`
	// Previous is the zone it replaces, "" the first time.
	Previous string `json:"previous,omitempty"`
}

// EventType implements [domain.Event].
func (ZoneSet) EventType() string { return "unit.zone_set.v1" }

// Zones are the zone names a unit may work in (Indonesia's three).
var Zones = []string{"WIB", "WITA", "WIT"}

// Events returns the specs of this package's events, for the codec.
func Events() []domain.EventSpec {
	return []domain.EventSpec{
		domain.Spec[Registered](1),
		domain.Spec[PerformanceRated](1),
		domain.Spec[HeadAssigned](2),
		domain.Spec[Renamed](1),
		domain.Spec[ZoneSet](1),
	}
}
