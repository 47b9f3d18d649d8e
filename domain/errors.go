package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds. Every error a command or query returns matches exactly one of
// these with errors.Is, so that the HTTP layer can map kinds to statuses with
// one table. The typed errors below carry the details and unwrap to their
// kind.
var (
	// ErrNotFound: the resource does not exist, or the caller may not know
	// that it exists (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the resource already exists, or a second one of a kind
	// that allows only one (an SKP per year, an objection per evaluation) was
	// requested (HTTP 409 conflict).
	ErrConflict = errors.New("conflict")
	// ErrInvalidState: the action is not allowed in the resource's current
	// state, for example editing an established SKP or rating an issued
	// evaluation (HTTP 409 invalid_state).
	ErrInvalidState = errors.New("invalid state")
	// ErrForbidden: the caller may see the resource but may not do this
	// (role, relationship, separation of duty) (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrValidation: well-formed but invalid values; the error is a
	// [*ValidationError] listing each field (HTTP 422 validation_failed).
	ErrValidation = errors.New("validation failed")
	// ErrObjectionWindowClosed: an objection was filed after its window
	// (HTTP 422 objection_window_closed).
	ErrObjectionWindowClosed = errors.New("objection window closed")
	// ErrDistributionBlocked: in BLOCK mode, issuing the evaluation would
	// break the unit's distribution pattern and no recorded justification
	// covers it (HTTP 422 distribution_blocked).
	ErrDistributionBlocked = errors.New("distribution pattern blocks the issue")
	// ErrRevisionMismatch: the request named (If-Match) a revision that is
	// not the stream's current one; nothing was changed (HTTP 412).
	ErrRevisionMismatch = errors.New("revision mismatch")
	// ErrConcurrency: the stream changed between load and append. An
	// [EventLog] returns it (wrapped) on a revision conflict; [Handler]
	// retries and returns it only when every attempt lost.
	ErrConcurrency = errors.New("concurrency conflict")
	// ErrBackfillRefused: the request is a backfill (it names a paper), but
	// the command does not give the caller's role a backfill (HTTP 403).
	ErrBackfillRefused = fmt.Errorf("%w: this act cannot be backfilled by the caller (domain.md §10: GRIEVANCE_CLERK for filings, deliveries and acknowledgements on paper, HR_ADMIN for master data)", ErrForbidden)
)

// FieldError is one problem with one input field.
type FieldError struct {
	// Field names the input field in the API's snake_case spelling, with
	// dots for nesting ("position.kind", "target.value").
	Field string `json:"field"`
	// Message says what is wrong, in lower case, for a human.
	Message string `json:"message"`
}

// ValidationError lists every problem found in a command's input. It matches
// [ErrValidation].
type ValidationError struct {
	// Fields holds the problems in the order they were found.
	Fields []FieldError
}

// Add records a problem with field.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Merge appends the fields of another validation error, each prefixed by
// prefix and a dot when prefix is not empty. Errors of other kinds are
// recorded under prefix as a single message.
func (e *ValidationError) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var v *ValidationError
	if !errors.As(err, &v) {
		e.Add(prefix, "%v", err)
		return
	}
	for _, f := range v.Fields {
		name := f.Field
		switch {
		case prefix == "":
		case name == "":
			name = prefix
		default:
			name = prefix + "." + name
		}
		e.Fields = append(e.Fields, FieldError{Field: name, Message: f.Message})
	}
}

// Err returns e when it holds a problem and nil otherwise, so that a
// function can collect problems and end with `return v.Err()`.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Error lists the problems.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		if f.Field == "" {
			parts[i] = f.Message
		} else {
			parts[i] = f.Field + ": " + f.Message
		}
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Unwrap returns [ErrValidation].
func (e *ValidationError) Unwrap() error { return ErrValidation }

// Invalid returns a [*ValidationError] with one problem.
func Invalid(field, format string, args ...any) error {
	v := &ValidationError{}
	v.Add(field, format, args...)
	return v
}

// NotFoundError says which resource does not exist. It matches [ErrNotFound].
type NotFoundError struct {
	// Kind is the resource kind: "skp", "employee", "unit", "evaluation",
	// "objection", "rhk", "indicator".
	Kind string
	// ID identifies the resource.
	ID string
}

// Error says which resource is missing.
func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %s not found", e.Kind, e.ID) }

// Unwrap returns [ErrNotFound].
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ConflictError says which resource already exists. It matches [ErrConflict].
type ConflictError struct {
	// Kind is the resource kind.
	Kind string
	// ID identifies the existing resource.
	ID string
	// Detail explains the conflict for a human.
	Detail string
}

// Error says what conflicts.
func (e *ConflictError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%s %s already exists", e.Kind, e.ID)
	}
	return fmt.Sprintf("%s %s: %s", e.Kind, e.ID, e.Detail)
}

// Unwrap returns [ErrConflict].
func (e *ConflictError) Unwrap() error { return ErrConflict }

// StateError says that an action is not allowed in the current state. It
// matches [ErrInvalidState].
type StateError struct {
	// Action is what was attempted ("establish", "rate", "file objection").
	Action string
	// State is the state that forbids it ("DRAFT", "ISSUED").
	State string
	// Detail explains the rule for a human; may be empty.
	Detail string
}

// Error says which action the state forbids.
func (e *StateError) Error() string {
	s := fmt.Sprintf("cannot %s in state %s", e.Action, e.State)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns [ErrInvalidState].
func (e *StateError) Unwrap() error { return ErrInvalidState }

// InvalidState returns a [*StateError].
func InvalidState(action, state, detail string) error {
	return &StateError{Action: action, State: state, Detail: detail}
}

// RevisionMismatchError says that a request's If-Match revision is stale. It
// matches [ErrRevisionMismatch].
type RevisionMismatchError struct {
	// Stream is the stream addressed.
	Stream string
	// Expected is the revision the request named; Actual the stream's.
	Expected, Actual uint64
	// Exists is false when the stream has no events.
	Exists bool
}

// Error gives both revisions.
func (e *RevisionMismatchError) Error() string {
	if !e.Exists {
		return fmt.Sprintf("%s: expected revision %d, the stream does not exist", e.Stream, e.Expected)
	}
	return fmt.Sprintf("%s: expected revision %d, current revision %d", e.Stream, e.Expected, e.Actual)
}

// Unwrap returns [ErrRevisionMismatch].
func (e *RevisionMismatchError) Unwrap() error { return ErrRevisionMismatch }
