// Package directory is the read model of master data: organisation units
// (the tree, heads, organisation predikat per period) and employees (unit,
// position and the reporting line in effect). Reports use it for subtrees
// and for SKPs that are missing.
package directory

import (
	"context"
	"errors"
	"time"
)

// Name is the projection's name.
const Name = "directory"

// ErrNotFound is returned for an unknown unit or employee.
var ErrNotFound = errors.New("directory: not found")

// Unit is an organisation unit.
type Unit struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id,omitempty"`
	// HeadNIP is the head in effect at the last head assignment, if any.
	HeadNIP string `json:"head_nip,omitempty"`
	// HeadFrom is the effective date (YYYY-MM-DD) of that assignment.
	HeadFrom string `json:"head_from,omitempty"`
	// Performance is the organisation predikat per period ("2026",
	// "2026-Q1"), the value in effect.
	Performance map[string]string `json:"performance,omitempty"`
	// RegisteredAt is business time of the registration.
	RegisteredAt time.Time `json:"registered_at"`
	// Zone is the time zone the unit works in (WIB, WITA or WIT; "" for
	// the agency's), unit.zone_set.v1.
	Zone string `json:"zone,omitempty"`
}

// Employee is an employee as registered, with the reporting line most
// recently in effect.
type Employee struct {
	NIP           string `json:"nip"`
	Name          string `json:"name"`
	ASNType       string `json:"asn_type"`
	UnitID        string `json:"unit_id"`
	PositionKind  string `json:"position_kind"`
	PositionTitle string `json:"position_title"`
	// AppraiserNIP and AppraiserSuperiorNIP are the line with the latest
	// effective_from; EffectiveFrom its date (YYYY-MM-DD).
	AppraiserNIP         string `json:"appraiser_nip,omitempty"`
	AppraiserSuperiorNIP string `json:"appraiser_superior_nip,omitempty"`
	EffectiveFrom        string `json:"effective_from,omitempty"`
	// PositionFrom is the effective date (YYYY-MM-DD) of the position
	// change that set UnitID and the position; "" for the registration.
	PositionFrom string `json:"position_from,omitempty"`
}

// Reader is the query side.
type Reader interface {
	// Unit returns one unit (ErrNotFound if unknown).
	Unit(ctx context.Context, id string) (Unit, error)
	// Children returns the units directly below id, by id.
	Children(ctx context.Context, id string) ([]Unit, error)
	// Subtree returns id and every unit below it (ErrNotFound if unknown).
	Subtree(ctx context.Context, id string) ([]string, error)
	// Units returns every unit, by id.
	Units(ctx context.Context) ([]Unit, error)
	// Employee returns one employee (ErrNotFound if unknown).
	Employee(ctx context.Context, nip string) (Employee, error)
	// EmployeesIn returns the employees whose unit is one of units, by NIP.
	EmployeesIn(ctx context.Context, units []string) ([]Employee, error)
}
