package skp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

// Amendments (issue 11; domain.md §3.3 "SkpAmendmentProposed: EMPLOYEE or
// APPRAISER"): the employee or the appraiser in effect opens an amendment,
// and a new version takes effect only once both have signed — the SKP is
// "signed by the employee and established by the Appraiser" (PermenPANRB
// 6/2022 Art. 14). The employee signs an amended plan either by submitting
// it again or by acknowledging it as it stands
// (skp.plan_acknowledged.v1, which names the plan it signs by digest, so an
// edit after it needs a new signature); the appraiser's establishment then
// records version n+1. Until then version n stays in effect.

// PlanAcknowledged records the employee's signature of the amended plan as
// it stands. Stream skp-{id}.
type PlanAcknowledged struct {
	// ForVersion is the version the signed plan will become.
	ForVersion int `json:"for_version"`
	// PlanDigest is the SHA-256 (hex) of the working plan signed.
	PlanDigest string `json:"plan_digest"`
}

// EventType implements [domain.Event].
func (PlanAcknowledged) EventType() string { return "skp.plan_acknowledged.v1" }

// planDigest is the SHA-256 of the working plan's JSON.
func (s *SKP) planDigest() string {
	b, err := json.Marshal(s.plan)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type acknowledgement struct {
	digest string
	at     time.Time
}

func (s *SKP) applyAcknowledged(ev PlanAcknowledged, at time.Time) {
	s.ack = &acknowledgement{digest: ev.PlanDigest, at: at}
}

// employeeSignature returns when the employee signed the plan about to be
// established: the submission, or, for an amendment, an acknowledgement
// of the plan exactly as it stands; nil when the employee has not signed.
func (s *SKP) employeeSignature() *time.Time {
	if s.submittedAt != nil {
		return s.submittedAt
	}
	if s.status == StatusAmendment && s.ack != nil && s.ack.digest == s.planDigest() {
		at := s.ack.at
		return &at
	}
	return nil
}

// AwaitsEmployeeSignature reports whether an amendment is open whose plan,
// as it stands, the employee has signed neither by submitting it nor by
// acknowledging it (an edit after an acknowledgement needs a new one): the
// amended plan waits for the employee (the inbox's "sign the amended plan").
func (s *SKP) AwaitsEmployeeSignature() bool {
	return s.status == StatusAmendment && s.employeeSignature() == nil
}

// employeeSigned refuses to establish an amended plan the employee has not
// signed.
func (s *SKP) employeeSigned() error {
	if s.employeeSignature() == nil {
		return domain.InvalidState("establish", "EMPLOYEE_NOT_SIGNED",
			"the employee has not signed the amended plan as it stands (submit it, or acknowledge it); the new version takes effect only once both have signed")
	}
	return nil
}

// AcknowledgePlan is the command by which the employee signs an amended
// plan as it stands.
type AcknowledgePlan struct {
	// SKPID is the SKP.
	SKPID string
}

// AcknowledgePlan records the employee's signature of the amended plan.
// Acknowledging the same plan again changes nothing. Errors: not found,
// forbidden (not the employee), invalid state (no amendment open), the
// plan's own problems (validation).
func (s *Service) AcknowledgePlan(ctx context.Context, req domain.Request, cmd AcknowledgePlan) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.AcknowledgePlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if sk.status != StatusAmendment {
			return domain.Change{}, domain.InvalidState("acknowledge", string(sk.status), "only an amended plan awaits the employee's signature")
		}
		if err := l.planProblems(sk, s.Policy.Date(req.OccurredAt)); err != nil {
			return domain.Change{}, err
		}
		d := sk.planDigest()
		if sk.ack != nil && sk.ack.digest == d {
			return domain.Change{}, nil
		}
		return one(role, PlanAcknowledged{ForVersion: len(sk.versions) + 1, PlanDigest: d})
	})
}
