// Package timeline is the employee timeline: every event that concerns an
// employee (their own stream, their SKPs, and SKPs they appraise or decide
// on), newest first, with actor, reason and both times.
package timeline

import (
	"context"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Name is the projection's name.
const Name = "timeline"

// Item is one event in an employee's timeline.
type Item struct {
	NIP      string              `json:"nip"`
	Position eventstore.Position `json:"position"`
	Stream   string              `json:"stream"`
	Revision uint64              `json:"revision"`
	Type     string              `json:"type"`
	// Role is the employee's part in the event (EMPLOYEE, APPRAISER, ...).
	Role string `json:"role"`
	// Summary is a short human description (Indonesian).
	Summary    string    `json:"summary"`
	ActorID    string    `json:"actor_id"`
	ActorRole  string    `json:"actor_role"`
	Reason     string    `json:"reason,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Reader is the query side.
type Reader interface {
	// ForEmployee returns up to limit items of nip, newest first, before
	// the position before (0 for the newest).
	ForEmployee(ctx context.Context, nip string, before eventstore.Position, limit int) ([]Item, error)
}
