package skp

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// Feedback givers beyond the unit (issue 11; domain.md §2.1 "Pihak lain /
// Pemberi Pertimbangan", §8.4 giver_role): the appraiser in effect or
// HR_ADMIN assigns a team lead (an agile team's lead, "pihak lain yang
// diberikan penugasan khusus") or a pemberi pertimbangan to an SKP; from
// then until revoked they may give feedback on it, whatever their unit, and
// read it. They never rate.

// GiverKind is the kind of an assigned feedback giver.
type GiverKind string

// Giver kinds.
const (
	TeamLead            GiverKind = "TEAM_LEAD"
	PemberiPertimbangan GiverKind = "PEMBERI_PERTIMBANGAN"
)

// Relationships of assigned givers' feedback (FeedbackGiven.Relationship).
const (
	FromTeamLead            = Relationship(TeamLead)
	FromPemberiPertimbangan = Relationship(PemberiPertimbangan)
)

// MaxAssignmentRefLen bounds an assignment reference.
const MaxAssignmentRefLen = 200

// Valid reports whether k is a known kind.
func (k GiverKind) Valid() bool { return k == TeamLead || k == PemberiPertimbangan }

// FeedbackGiverAssigned records that a feedback giver from beyond the unit
// is assigned to the SKP (or, with Revoked, no longer is). Stream skp-{id}.
type FeedbackGiverAssigned struct {
	// GiverNIP is the giver's NIP.
	GiverNIP string `json:"giver_nip"`
	// Kind is TEAM_LEAD or PEMBERI_PERTIMBANGAN.
	Kind GiverKind `json:"kind"`
	// AssignmentRef cites the assignment (a team decree, a letter).
	AssignmentRef string `json:"assignment_ref,omitempty"`
	// Revoked ends an earlier assignment of the giver.
	Revoked bool `json:"revoked,omitempty"`
}

// EventType implements [domain.Event].
func (FeedbackGiverAssigned) EventType() string { return "skp.feedback_giver_assigned.v1" }

// FeedbackGiver is an assigned feedback giver, as the SKP view shows it.
type FeedbackGiver struct {
	// NIP is the giver's NIP.
	NIP string `json:"nip"`
	// Kind is TEAM_LEAD or PEMBERI_PERTIMBANGAN.
	Kind GiverKind `json:"kind"`
	// AssignmentRef cites the assignment.
	AssignmentRef string `json:"assignment_ref,omitempty"`
	// AssignedBy is who assigned it; AssignedAt business time.
	AssignedBy domain.Actor `json:"assigned_by"`
	AssignedAt time.Time    `json:"assigned_at"`
}

func (s *SKP) applyGiver(ev FeedbackGiverAssigned, e domain.Stored) {
	s.givers = slices.DeleteFunc(s.givers, func(g FeedbackGiver) bool { return g.NIP == ev.GiverNIP })
	if !ev.Revoked {
		s.givers = append(s.givers, FeedbackGiver{NIP: ev.GiverNIP, Kind: ev.Kind, AssignmentRef: ev.AssignmentRef,
			AssignedBy: e.Meta.Actor, AssignedAt: e.Meta.OccurredAt})
		s.involve(ev.GiverNIP)
	}
}

// givers returns the NIPs of the assigned feedback givers.
func (s *SKP) giverNIPs() []string {
	out := make([]string, len(s.givers))
	for i, g := range s.givers {
		out[i] = g.NIP
	}
	return out
}

func (s *SKP) giverKind(n string) GiverKind {
	for _, g := range s.givers {
		if g.NIP == n {
			return g.Kind
		}
	}
	return ""
}

// FeedbackGivers returns the assigned feedback givers.
func (s *SKP) FeedbackGivers() []FeedbackGiver { return slices.Clone(s.givers) }

// AssignFeedbackGiver is the command to assign (or revoke) a feedback giver.
type AssignFeedbackGiver struct {
	// SKPID is the SKP.
	SKPID string
	// GiverNIP is the giver (any printed form).
	GiverNIP string
	// Kind is TEAM_LEAD or PEMBERI_PERTIMBANGAN.
	Kind string
	// AssignmentRef cites the assignment.
	AssignmentRef string
	// Revoke ends the giver's assignment.
	Revoke bool
}

// AssignFeedbackGiver assigns a feedback giver from beyond the unit to an
// SKP, or revokes one. The appraiser in effect or HR_ADMIN assigns. The
// giver is a registered employee, neither the employee nor the appraiser in
// effect. Assigning the same giver with the same kind and reference again,
// or revoking one not assigned, changes nothing. Errors: not found,
// forbidden, validation (NIP, unknown giver, kind, reference, the employee
// or appraiser as giver), invalid state (the SKP has ended).
func (s *Service) AssignFeedbackGiver(ctx context.Context, req domain.Request, cmd AssignFeedbackGiver) (domain.Committed, error) {
	var v domain.ValidationError
	info, err := nip.Parse(cmd.GiverNIP)
	v.Merge("giver_nip", err)
	giver := string(info.NIP)
	kind := GiverKind(cmd.Kind)
	if !cmd.Revoke && !kind.Valid() {
		v.Add("kind", "must be TEAM_LEAD or PEMBERI_PERTIMBANGAN")
	}
	ref := strings.TrimSpace(cmd.AssignmentRef)
	if utf8.RuneCountInString(ref) > MaxAssignmentRefLen || strings.ContainsFunc(ref, unicode.IsControl) || !utf8.ValidString(ref) {
		v.Add("assignment_ref", "at most %d characters, without control characters", MaxAssignmentRefLen)
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.AssignFeedbackGiver, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if !sk.status.Open() {
			return domain.Change{}, domain.InvalidState("assign a feedback giver", string(sk.status), "")
		}
		cur := sk.giverKind(giver)
		if cmd.Revoke {
			if cur == "" {
				return domain.Change{}, nil
			}
			return one(role, FeedbackGiverAssigned{GiverNIP: giver, Kind: cur, AssignmentRef: ref, Revoked: true})
		}
		e, err := l.employee(giver)
		if err != nil {
			return domain.Change{}, err
		}
		subj, err := l.subject(sk, l.s.Policy.Date(req.OccurredAt), req.Caller)
		if err != nil {
			return domain.Change{}, err
		}
		switch {
		case e == nil:
			return domain.Change{}, domain.Invalid("giver_nip", "employee %s is not registered", giver)
		case giver == sk.nip:
			return domain.Change{}, domain.Invalid("giver_nip", "the employee gives feedback on their own SKP without an assignment")
		case giver == subj.Appraiser:
			return domain.Change{}, domain.Invalid("giver_nip", "the appraiser gives feedback without an assignment")
		}
		for _, g := range sk.givers {
			if g.NIP == giver && g.Kind == kind && g.AssignmentRef == ref {
				return domain.Change{}, nil
			}
		}
		return one(role, FeedbackGiverAssigned{GiverNIP: giver, Kind: kind, AssignmentRef: ref})
	})
}
