package employee

import (
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// Position is a post: its kind and its title.
type Position struct {
	// Kind is JPT_UTAMA, JPT_MADYA, JPT_PRATAMA, ADMINISTRATOR, PENGAWAS,
	// PELAKSANA or JF.
	Kind PositionKind `json:"kind"`
	// Title is the post's name, for example "Kepala Seksi Pelayanan".
	Title string `json:"title"`
}

// Registered records an employee. Stream employee-{nip}.
type Registered struct {
	// NIP is the normalised 18-digit NIP or NI PPPK.
	NIP string `json:"nip"`
	// ASNType is PNS or PPPK, derived from the NIP.
	ASNType nip.ASNType `json:"asn_type"`
	// BirthDate is derived from the NIP.
	BirthDate calendar.Date `json:"birth_date"`
	// Sex is LAKI_LAKI or PEREMPUAN, derived from the NIP.
	Sex nip.Sex `json:"sex"`
	// AppointmentYear is the year of first appointment, from the NIP.
	AppointmentYear int `json:"appointment_year"`
	// AppointmentMonth is the month of TMT CPNS (PNS only; 0 for PPPK).
	AppointmentMonth time.Month `json:"appointment_month,omitempty"`
	// Contracts is the number of employment contracts (PPPK only).
	Contracts int `json:"pppk_contracts,omitempty"`
	// Name is the employee's name.
	Name string `json:"name"`
	// UnitID is the unit the employee works in.
	UnitID string `json:"unit_id"`
	// Position is the employee's post.
	Position Position `json:"position"`
}

// EventType implements [domain.Event].
func (Registered) EventType() string { return "employee.registered.v1" }

// Capacity is the capacity in which an appraiser acts.
type Capacity string

// Capacities (domain.md §8.1).
const (
	// Definitif is the appraiser's own post (the default).
	Definitif Capacity = "DEFINITIF"
	// Plt is an acting official (pelaksana tugas).
	Plt Capacity = "PLT"
	// Plh is a daily acting official (pelaksana harian).
	Plh Capacity = "PLH"
	// Delegate is an official with delegated appraisal authority.
	Delegate Capacity = "DELEGATE"
)

// Valid reports whether c is a known capacity.
func (c Capacity) Valid() bool {
	switch c {
	case Definitif, Plt, Plh, Delegate:
		return true
	}
	return false
}

// ReportingLineAssigned records who appraises an employee, and who is the
// appraiser's superior, from a date on. A later effective date supersedes
// it from that date; an assignment with the same date corrects it. Stream
// employee-{nip}.
type ReportingLineAssigned struct {
	// NIP is the employee appraised.
	NIP string `json:"nip"`
	// AppraiserNIP is the Pejabat Penilai Kinerja.
	AppraiserNIP string `json:"appraiser_nip"`
	// AppraiserSuperiorNIP is the Atasan Pejabat Penilai Kinerja.
	AppraiserSuperiorNIP string `json:"appraiser_superior_nip"`
	// EffectiveFrom is the first day the line holds.
	EffectiveFrom calendar.Date `json:"effective_from"`
	// Capacity is the appraiser's capacity (DEFINITIF, PLT, PLH, DELEGATE).
	Capacity Capacity `json:"capacity"`
	// DelegationRef cites the decree or letter of delegation, when the
	// appraiser does not act in their own post.
	DelegationRef string `json:"delegation_ref,omitempty"`
	// Backfill, from schema version 2, is the decree (SK) of an act
	// effective before the day it was recorded, entered by HR_ADMIN
	// (domain.md §10); nil for an act effective from its recording day or
	// later, and for every version 1 event.
	Backfill *bizdate.Backfill `json:"backfill,omitempty"`
}

// EventType implements [domain.Event].
func (ReportingLineAssigned) EventType() string { return "employee.reporting_line_assigned.v1" }

// PositionChanged records a new post or unit from a date on (a mutation,
// promotion or transfer). The SKP of the old post is closed by a separate
// command on the SKP's stream. Stream employee-{nip}.
type PositionChanged struct {
	// NIP is the employee.
	NIP string `json:"nip"`
	// Position is the new post.
	Position Position `json:"position"`
	// UnitID is the new unit.
	UnitID string `json:"unit_id"`
	// EffectiveFrom is the first day in the new post.
	EffectiveFrom calendar.Date `json:"effective_from"`
	// DecreeRef cites the appointment decree, if any.
	DecreeRef string `json:"decree_ref,omitempty"`
	// PreviousPosition and PreviousUnitID are the post and unit in effect
	// the day before.
	PreviousPosition Position `json:"previous_position"`
	PreviousUnitID   string   `json:"previous_unit_id"`
	// Backfill, from schema version 2, is the decree (SK) of an act
	// effective before the day it was recorded, entered by HR_ADMIN
	// (domain.md §10); nil for an act effective from its recording day or
	// later, and for every version 1 event.
	Backfill *bizdate.Backfill `json:"backfill,omitempty"`
}

// EventType implements [domain.Event].
func (PositionChanged) EventType() string { return "employee.position_changed.v1" }

// TransferReleased records the release (surat lolos butuh) of an employee
// by the HR_ADMIN of their agency for a transfer to another agency: the
// destination's HR_ADMIN may then record the move (a position change into
// a unit of ToAgency) until ExpiresOn. The next position change consumes
// it. Without a release, another agency's employee is, to the
// destination, one who is not registered. Stream employee-{nip}.
type TransferReleased struct {
	// NIP is the employee.
	NIP string `json:"nip"`
	// ToAgency is the destination agency (the ID of its root unit).
	ToAgency string `json:"to_agency"`
	// ExpiresOn is the last day the destination may record the move.
	ExpiresOn calendar.Date `json:"expires_on"`
	// DecreeRef cites the release letter, if any.
	DecreeRef string `json:"decree_ref,omitempty"`
}

// EventType implements [domain.Event].
func (TransferReleased) EventType() string { return "employee.transfer_released.v1" }

// Events returns the specs of this package's events, for the codec.
func Events() []domain.EventSpec {
	return []domain.EventSpec{
		domain.Spec[Registered](1),
		domain.Spec[ReportingLineAssigned](2),
		domain.Spec[PositionChanged](2),
		domain.Spec[OfficialRegistered](1),
		domain.Spec[TransferReleased](1),
	}
}
