// Package objections is the objection (keberatan) register: every
// objection with its filing deadline, its decision due date (the policy's
// service level, for dashboards only), its explanations and its outcome.
package objections

import (
	"context"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/bizdate"
)

// Name is the projection's name.
const Name = "objections"

// Objection is one objection.
type Objection struct {
	ID     string `json:"objection_id"`
	SKPID  string `json:"skp_id"`
	NIP    string `json:"nip"`
	Name   string `json:"name"`
	UnitID string `json:"unit_id"`
	Period string `json:"period"`
	// Status is OPEN, DECIDED or WITHDRAWN.
	Status  string    `json:"status"`
	FiledAt time.Time `json:"filed_at"`
	// WindowDeadline is the last instant of the filing window.
	WindowDeadline time.Time `json:"window_deadline"`
	// DecisionDue is FiledAt plus the policy's decision service level.
	DecisionDue time.Time `json:"decision_due"`
	Late        bool      `json:"late"`
	// Backfill is the paper of a filing a grievance clerk entered after the
	// fact (domain.md §10), flagged wherever the register shows.
	Backfill     *bizdate.Backfill `json:"backfill,omitempty"`
	AppraiserNIP string            `json:"appraiser_nip"`
	AddressedTo  string            `json:"addressed_to,omitempty"`
	// ExplanationsRequested and ExplanationsGiven name the parties
	// (APPRAISER, EMPLOYEE).
	ExplanationsRequested []string `json:"explanations_requested"`
	ExplanationsGiven     []string `json:"explanations_given"`
	// Outcome is UPHELD or CHANGED once decided.
	Outcome   string     `json:"outcome,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	// Before and After are the predikat objected to and decided.
	PredikatBefore string `json:"predikat_before"`
	PredikatAfter  string `json:"predikat_after,omitempty"`
}

// OverdueAt reports whether the objection is open past its decision due
// date at now.
func (o Objection) OverdueAt(now time.Time) bool {
	return o.Status == "OPEN" && now.After(o.DecisionDue)
}

// Query selects objections. Zero fields do not filter.
type Query struct {
	Units  []string
	Status string
	// Overdue, when set, keeps only objections whose OverdueAt(Now) equals it.
	Overdue *bool
	Now     time.Time
	SKPID   string
}

// Reader is the query side.
type Reader interface {
	// List returns objections matching q, by filing time.
	List(ctx context.Context, q Query) ([]Objection, error)
}
