package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Event is a domain event payload: an immutable fact with an explicit,
// stable, versioned name. The name is never derived from the Go type; see
// [ValidEventType] for its shape.
type Event interface {
	// EventType returns the stored name, for example "skp.rating_assigned.v1".
	EventType() string
}

// Role names the capacity in which someone acts. Token roles come from the
// caller's credentials; relationship roles are derived from the reporting
// lines in effect and are what the ledger records in [Actor.Role].
type Role string

// Token roles: coarse roles carried by the caller's token (domain.md §2.2).
const (
	// RoleHRAdmin manages master data (units, employees, reporting lines) and
	// may draft an SKP on an employee's behalf; it never rates.
	RoleHRAdmin Role = "HR_ADMIN"
	// RoleAuditor reads everything, including superseded values.
	RoleAuditor Role = "AUDITOR"
	// RoleHRAnalyst reads projections and reports.
	RoleHRAnalyst Role = "HR_ANALYST"
	// RoleGrievanceClerk records paper objections for employees; never
	// decides them.
	RoleGrievanceClerk Role = "GRIEVANCE_CLERK"
	// RoleNationalAnalyst (BKN, KemenPANRB) reads projections and reports
	// across agencies; it never writes.
	RoleNationalAnalyst Role = "NATIONAL_ANALYST"
	// RoleNationalAuditor reads everything across agencies, including
	// superseded values; it never writes.
	RoleNationalAuditor Role = "NATIONAL_AUDITOR"
)

// Relationship roles: derived from the SKP and the reporting lines in effect
// on the date of the action.
const (
	// RoleEmployee is the appraisee, owner of the SKP.
	RoleEmployee Role = "EMPLOYEE"
	// RoleAppraiser is the Pejabat Penilai Kinerja in effect.
	RoleAppraiser Role = "APPRAISER"
	// RoleAppraiserSuperior is the Atasan Pejabat Penilai Kinerja in effect.
	RoleAppraiserSuperior Role = "APPRAISER_SUPERIOR"
	// RolePeer is a colleague of the same unit giving feedback.
	RolePeer Role = "PEER"
	// RoleFeedbackGiver is a feedback giver from beyond the unit assigned
	// to the SKP (a team lead, a pemberi pertimbangan).
	RoleFeedbackGiver Role = "FEEDBACK_GIVER"
	// RoleUnitLeader is the head of the organisation one level up, who
	// justifies distribution deviations.
	RoleUnitLeader Role = "UNIT_LEADER"
	// RoleSystem is the ledger itself (for example finalising an evaluation
	// whose objection window elapsed).
	RoleSystem Role = "SYSTEM"
)

// Principal is the authenticated caller of a command or query.
type Principal struct {
	// ID is the caller's NIP (18 digits) or a service account name.
	ID string
	// Roles are the token roles of the caller.
	Roles []Role
	// Agency is the instansi the token's agency roles act in (the ID of
	// the agency's root unit; api.md "agency in tokens"); "" when the
	// token names none.
	Agency string
}

// Has reports whether the principal's token carries role r.
func (p Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// Actor is who caused an event, as recorded in its envelope.
type Actor struct {
	// ID is the actor's NIP or service account name.
	ID string `json:"id"`
	// Role is the capacity in which the actor acted (EMPLOYEE, APPRAISER,
	// HR_ADMIN, GRIEVANCE_CLERK, …).
	Role Role `json:"role"`
}

// Meta is the envelope metadata every event of a command carries. It maps
// one to one onto the event store's envelope.
type Meta struct {
	// Actor caused the event.
	Actor Actor
	// CorrelationID ties the events of one request or process together.
	CorrelationID string
	// CausationID names the message (request or event) that caused this one.
	CausationID string
	// Reason is the human justification given with the request, if any.
	Reason string
	// OccurredAt is business time: when the fact happened. Every rule that
	// compares dates (deadlines, the objection window, delivery after the
	// rating) uses it, never the recording time.
	OccurredAt time.Time
}

// NewEvent is an event a command produced, ready to be appended.
type NewEvent struct {
	// ID identifies the event; it comes from the injected generator and
	// makes appends idempotent.
	ID uuid.UUID
	// Meta is the envelope.
	Meta Meta
	// Event is the payload.
	Event Event
}

// Stored is an event as read back from the log, for rehydration.
type Stored struct {
	// ID is the event's identifier.
	ID uuid.UUID
	// Revision is the event's zero-based number in its stream.
	Revision uint64
	// RecordedAt is when the log wrote the event (ledger time).
	RecordedAt time.Time
	// Meta is the envelope as written.
	Meta Meta
	// Event is the decoded payload, upcast to its latest shape.
	Event Event
}

// Request is what a caller supplies with every command: who calls, the
// request's tracing identifiers, the optional reason and the business time.
type Request struct {
	// Caller is the authenticated principal.
	Caller Principal
	// CorrelationID ties the events of one request together.
	CorrelationID string
	// CausationID names what caused the request (for example the HTTP
	// request ID or the event a process manager reacts to).
	CausationID string
	// Reason is the free-text justification of the request. Commands that
	// need a reason (a rating revision, a predikat change) read it here.
	Reason string
	// OccurredAt is business time (default: the injected clock's now, filled
	// by [Handler]); never in the future.
	OccurredAt time.Time
	// Backfill, when set, makes the request the entry of an act done earlier
	// on signed paper (domain.md §10): OccurredAt may then lie up to the
	// backfill's maximum age back, and the command must accept the backfill
	// for the caller's role (see [Change.Backfill]) or it is forbidden.
	Backfill *BackfillRequest
	// IfMatch, when set, is the revision the caller last saw (HTTP If-Match):
	// the command is refused with [ErrRevisionMismatch], and nothing is
	// re-decided, unless the stream is still at that revision when it is
	// loaded and when it is appended to.
	IfMatch *uint64
}

// BackfillRequest is the paper a backfilled request names.
type BackfillRequest struct {
	// PaperRef names the signed paper; required.
	PaperRef string
	// OnBehalfOf, when set, is the signer of the paper (an NIP) for whom the
	// caller records it.
	OnBehalfOf string
}

// Meta returns the envelope for events caused by r in role.
func (r Request) Meta(role Role) Meta {
	return Meta{
		Actor:         Actor{ID: r.Caller.ID, Role: role},
		CorrelationID: r.CorrelationID,
		CausationID:   r.CausationID,
		Reason:        r.Reason,
		OccurredAt:    r.OccurredAt,
	}
}

// NormalTime returns t as the ledger keeps it: UTC, truncated to
// microseconds (the event store's precision). Commands normalise every time
// they store so that state decided in memory equals state read back.
func NormalTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}
