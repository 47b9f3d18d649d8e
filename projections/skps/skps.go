// Package skps is the SKP summary read model: one row per SKP with what
// lists, filters and the progress board need (employee, unit, year,
// status, version, late, the appraisal line). Rows are derived from the
// domain's own replay of the SKP stream, so the read model never
// reinterprets the rules.
package skps

import (
	"context"
	"errors"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Name is the projection's name.
const Name = "skps"

// ErrNotFound is returned for an unknown SKP.
var ErrNotFound = errors.New("skps: not found")

// Summary is one SKP.
type Summary struct {
	ID       string `json:"id"`
	NIP      string `json:"nip"`
	Name     string `json:"name"`
	UnitID   string `json:"unit_id"`
	Year     int    `json:"year"`
	Sequence int    `json:"sequence"`
	// Status is the SKP's state (DRAFT, SUBMITTED, ESTABLISHED, …).
	Status  string `json:"status"`
	Version int    `json:"version"`
	Late    bool   `json:"late"`
	// AppraiserNIP and AppraiserSuperiorNIP are the line in effect for the SKP.
	AppraiserNIP         string `json:"appraiser_nip,omitempty"`
	AppraiserSuperiorNIP string `json:"appraiser_superior_nip,omitempty"`
	DraftedOnBehalf      bool   `json:"drafted_on_behalf"`
	// Revision is the SKP stream's last revision; Position the store
	// position of that event.
	Revision uint64              `json:"revision"`
	Position eventstore.Position `json:"position"`
	// DraftedAt and UpdatedAt are business time; RecordedAt ledger time of
	// the last event.
	DraftedAt  time.Time `json:"drafted_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Query selects SKPs. Zero fields do not filter.
type Query struct {
	NIP   string
	Year  int
	Units []string
	// Employees widens Units: an SKP whose unit is not in Units still
	// matches when its employee is one of these (the earlier SKPs of the
	// people who moved into the caller's agency, which follow them). It
	// has no effect without Units.
	Employees []string
	Status    string
	// Party keeps only SKPs where this NIP is the employee, the appraiser
	// or the appraiser's superior.
	Party string
	// Limit caps the page (default 50, at most 500); Cursor continues after
	// the last item of a previous page (opaque).
	Limit  int
	Cursor string
}

// Reader is the query side.
type Reader interface {
	// Get returns one SKP (ErrNotFound if unknown).
	Get(ctx context.Context, id string) (Summary, error)
	// List returns a page of SKPs ordered by id and the cursor of the next
	// page ("" at the end).
	List(ctx context.Context, q Query) ([]Summary, string, error)
	// ForYear returns every SKP of year whose unit is one of units.
	ForYear(ctx context.Context, units []string, year int) ([]Summary, error)
}

// UnitYearCount is how many SKPs of a year one unit holds in one status,
// and how many of them are marked late.
type UnitYearCount struct {
	UnitID string
	Status string
	N      int
	Late   int
}

// Counter is a Reader that counts a year's SKPs itself, without handing
// every row over: the progress board reads it when the reader is one (at
// a province's root, 100,000 SKP rows and a page through every SKP of the
// year were most of the report's cost).
type Counter interface {
	// CountForYear returns, for each unit of units and status that has
	// any, its SKPs of year (in no particular order).
	CountForYear(ctx context.Context, units []string, year int) ([]UnitYearCount, error)
	// CoveredForYear returns the NIPs that have an SKP of year that is
	// not cancelled, in any unit (in no particular order; each once).
	CoveredForYear(ctx context.Context, year int) ([]string, error)
}
