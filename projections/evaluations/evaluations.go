// Package evaluations is the read model of evaluations: one row per SKP and
// period with the scores in effect and the recorded status. The
// distribution report and the dashboards read it. Derived states (an
// issued evaluation whose window passed is FINAL) are computed by readers
// with a clock, from the stored deadline.
package evaluations

import (
	"context"
	"time"
)

// Name is the projection's name.
const Name = "evaluations"

// Evaluation is one period's evaluation of one SKP.
type Evaluation struct {
	SKPID  string `json:"skp_id"`
	NIP    string `json:"nip"`
	UnitID string `json:"unit_id"`
	Year   int    `json:"year"`
	Period string `json:"period"`
	// WorkResult, Behaviour and Predikat are the scores in effect.
	WorkResult string `json:"work_result"`
	Behaviour  string `json:"behaviour"`
	Predikat   string `json:"predikat"`
	// Status is DRAFT, ISSUED, UNDER_OBJECTION or FINAL as recorded
	// (without the clock); see StatusAt.
	Status            string     `json:"status"`
	FinalityRecorded  bool       `json:"finality_recorded"`
	DeliveredAt       *time.Time `json:"delivered_at,omitempty"`
	ObjectionDeadline *time.Time `json:"objection_deadline,omitempty"`
	AppraiserNIP      string     `json:"appraiser_nip"`
	RatedAt           time.Time  `json:"rated_at"`
	Revision          uint64     `json:"revision"`
}

// StatusAt returns the status at now: an ISSUED evaluation whose objection
// window has passed is FINAL.
func (e Evaluation) StatusAt(now time.Time) string {
	if e.Status == "ISSUED" && e.ObjectionDeadline != nil && now.After(*e.ObjectionDeadline) {
		return "FINAL"
	}
	return e.Status
}

// Reader is the query side.
type Reader interface {
	// ForPeriod returns the evaluations of period for SKPs whose unit is one
	// of units.
	ForPeriod(ctx context.Context, units []string, period string) ([]Evaluation, error)
	// ForSKP returns the evaluations of one SKP, by period.
	ForSKP(ctx context.Context, skpID string) ([]Evaluation, error)
}
