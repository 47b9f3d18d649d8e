package skp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// Approach is the SKP's approach (pendekatan).
type Approach string

// Approaches.
const (
	Kuantitatif Approach = "KUANTITATIF"
	Kualitatif  Approach = "KUALITATIF"
)

// Valid reports whether a is known.
func (a Approach) Valid() bool { return a == Kuantitatif || a == Kualitatif }

// RHKKind classifies an RHK.
type RHKKind string

// RHK kinds.
const (
	// Utama is a main work result; it needs a cascading link.
	Utama RHKKind = "UTAMA"
	// Tambahan is an additional work result.
	Tambahan RHKKind = "TAMBAHAN"
)

// Valid reports whether k is known.
func (k RHKKind) Valid() bool { return k == Utama || k == Tambahan }

// Aspect is the dimension an indicator measures.
type Aspect string

// Aspects.
const (
	Kuantitas Aspect = "KUANTITAS"
	Kualitas  Aspect = "KUALITAS"
	Waktu     Aspect = "WAKTU"
	Biaya     Aspect = "BIAYA"
)

// Valid reports whether a is known.
func (a Aspect) Valid() bool { return a == Kuantitas || a == Kualitas || a == Waktu || a == Biaya }

// Relationship is a feedback giver's relationship to the employee.
type Relationship string

// Relationships.
const (
	FromAppraiser Relationship = "APPRAISER"
	FromPeer      Relationship = "PEER"
	FromSelf      Relationship = "SELF"
)

// Source says who produced a rating revision.
type Source string

// Sources.
const (
	// SourceAppraiser is the appraiser, before issue.
	SourceAppraiser Source = "APPRAISER"
	// SourceObjection is an objection decision.
	SourceObjection Source = "OBJECTION"
)

// FinalReason says why an evaluation is final.
type FinalReason string

// Final reasons.
const (
	// WindowElapsed: delivered, and the window passed without an objection.
	WindowElapsed FinalReason = "WINDOW_ELAPSED"
	// ObjectionDecidedFinal: the objection was decided.
	ObjectionDecidedFinal FinalReason = "OBJECTION_DECIDED"
	// NoObjectionAllowed: objections to this period are not allowed, so the
	// evaluation is final on issue.
	NoObjectionAllowed FinalReason = "NO_OBJECTION_ALLOWED"
)

// Party is a party asked to explain in an objection.
type Party string

// Parties.
const (
	PartyAppraiser Party = "APPRAISER"
	PartyEmployee  Party = "EMPLOYEE"
)

// Valid reports whether p is known.
func (p Party) Valid() bool { return p == PartyAppraiser || p == PartyEmployee }

// Outcome is an objection decision's outcome.
type Outcome string

// Outcomes.
const (
	// Upheld keeps the evaluation (also the rejection of a late filing).
	Upheld Outcome = "UPHELD"
	// Changed sets new ratings.
	Changed Outcome = "CHANGED"
)

// Status is the state of an SKP (domain.md §3.2). Lateness is a flag, not a
// state; evaluations have their own [EvaluationStatus].
type Status string

// SKP states.
const (
	// StatusDraft: being written by the employee.
	StatusDraft Status = "DRAFT"
	// StatusSubmitted: submitted, waiting for the appraiser.
	StatusSubmitted Status = "SUBMITTED"
	// StatusEstablished: established (a version is in effect).
	StatusEstablished Status = "ESTABLISHED"
	// StatusAmendment: established, and reopened for changes; the last
	// established version stays in effect until the next establishment.
	StatusAmendment Status = "AMENDMENT"
	// StatusCancelled: cancelled (terminal).
	StatusCancelled Status = "CANCELLED"
	// StatusClosed: closed because the employee changed post (terminal).
	StatusClosed Status = "CLOSED_FOR_POSITION_CHANGE"
)

// Open reports whether an SKP in state s still counts as the employee's SKP
// for its year (not cancelled or closed).
func (s Status) Open() bool { return s != StatusCancelled && s != StatusClosed }

// EvaluationStatus is the state of one period's evaluation.
type EvaluationStatus string

// Evaluation states (api.md).
const (
	// EvalDraft: rated, not issued; the appraiser may still revise.
	EvalDraft EvaluationStatus = "DRAFT"
	// EvalIssued: issued and delivered; the objection window is open.
	EvalIssued EvaluationStatus = "ISSUED"
	// EvalUnderObjection: an objection is open.
	EvalUnderObjection EvaluationStatus = "UNDER_OBJECTION"
	// EvalFinal: final (window elapsed, objection decided, or no objection
	// possible).
	EvalFinal EvaluationStatus = "FINAL"
)

// ID returns the id of the n-th SKP (n ≥ 1) of the employee with normalised
// NIP n for year: "{nip}-{year}" for the first, "{nip}-{year}-{n}" after.
func ID(nipDigits string, year, n int) string {
	if n <= 1 {
		return fmt.Sprintf("%s-%04d", nipDigits, year)
	}
	return fmt.Sprintf("%s-%04d-%d", nipDigits, year, n)
}

// ParseID splits an SKP id into its NIP, year and sequence number.
func ParseID(id string) (nipDigits string, year, n int, err error) {
	parts := strings.Split(id, "-")
	bad := fmt.Errorf("%q is not an SKP id ({nip}-{year} or {nip}-{year}-{n})", id)
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) != 18 || nip.Normalize(parts[0]) != parts[0] || len(parts[1]) != 4 {
		return "", 0, 0, bad
	}
	if year, err = strconv.Atoi(parts[1]); err != nil {
		return "", 0, 0, bad
	}
	n = 1
	if len(parts) == 3 {
		if n, err = strconv.Atoi(parts[2]); err != nil || n < 2 || strconv.Itoa(n) != parts[2] {
			return "", 0, 0, bad
		}
	}
	return parts[0], year, n, nil
}

// NextID picks the id for a new SKP of the employee for year, given whether
// each existing SKP of that year (in order 1, 2, …) is still open. Any open
// one is a conflict: an employee has at most one open SKP per year; a
// cancelled or closed one makes room for the next number.
func NextID(nipDigits string, year int, open []bool) (string, error) {
	for i, o := range open {
		if o {
			return "", &domain.ConflictError{Kind: "skp", ID: ID(nipDigits, year, i+1),
				Detail: fmt.Sprintf("the employee already has an open SKP for %d", year)}
		}
	}
	return ID(nipDigits, year, len(open)+1), nil
}
