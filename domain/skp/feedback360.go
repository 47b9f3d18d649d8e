package skp

import (
	"slices"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// 360° feedback rounds (issue 14). The appraiser in effect (or HR_ADMIN)
// opens a round for a period of an SKP and invites givers by group; each
// invited giver rates the seven BerAKHLAK values on the behaviour scale
// (rating.Rating), with optional comments and concrete examples; the round
// is closed by whoever may open it. The events are on the SKP stream.
//
// Anonymity (docs/feedback360.md): the answers of the PEER and SUBORDINATE
// groups are shown only as an aggregate per value, only once the round is
// closed and at least K givers of that group answered (policy, default 3).
// Who gave an answer is the answer event's actor: the raw-event paths
// (the events endpoint, the audit trail, the timelines, the SKP page)
// redact every answer event (see [RedactedEvent]); an AUDITOR reads the
// givers only through a disclosure, which is itself an event recorded
// before the data is returned.

// FeedbackGroup is the relationship of an invited giver to the employee.
type FeedbackGroup string

// Feedback groups.
const (
	GroupSelf                FeedbackGroup = "SELF"
	GroupPeer                FeedbackGroup = "PEER"
	GroupSubordinate         FeedbackGroup = "SUBORDINATE"
	GroupTeamLead            FeedbackGroup = "TEAM_LEAD"
	GroupPemberiPertimbangan FeedbackGroup = "PEMBERI_PERTIMBANGAN"
)

// FeedbackGroups returns the groups in the order summaries show them.
func FeedbackGroups() []FeedbackGroup {
	return []FeedbackGroup{GroupSelf, GroupPeer, GroupSubordinate, GroupTeamLead, GroupPemberiPertimbangan}
}

// Valid reports whether g is a known group.
func (g FeedbackGroup) Valid() bool { return slices.Contains(FeedbackGroups(), g) }

// Anonymous reports whether the group's answers are shown only as an
// aggregate above the threshold (PEER and SUBORDINATE).
func (g FeedbackGroup) Anonymous() bool { return g == GroupPeer || g == GroupSubordinate }

// DefaultAnonymityThreshold is K when the policy leaves it unset.
const DefaultAnonymityThreshold = 3

// Limits of a round.
const (
	// MaxRoundInvitees bounds the givers of one round.
	MaxRoundInvitees = 50
	// MaxFeedbackRounds bounds the rounds of one SKP.
	MaxFeedbackRounds = 40
)

// RoundInvitee is a giver invited to a round.
type RoundInvitee struct {
	// NIP is the giver's NIP.
	NIP string `json:"nip"`
	// Group is the giver's relationship to the employee.
	Group FeedbackGroup `json:"group"`
}

// ValueAnswer is a giver's rating of one BerAKHLAK value.
type ValueAnswer struct {
	// Value is the BerAKHLAK value.
	Value berakhlak.Value `json:"value"`
	// Rating is on the behaviour scale (DI_ATAS_EKSPEKTASI, SESUAI_EKSPEKTASI,
	// DI_BAWAH_EKSPEKTASI).
	Rating rating.Rating `json:"rating"`
	// Comment is optional.
	Comment string `json:"comment,omitempty"`
	// Examples are optional concrete examples of the behaviour.
	Examples string `json:"examples,omitempty"`
}

// FeedbackRoundOpened records that a 360° feedback round is open for a
// period of the SKP, with the givers invited. Stream skp-{id}.
type FeedbackRoundOpened struct {
	// RoundID identifies the round within the SKP.
	RoundID string `json:"round_id"`
	// Period is the period the feedback is about.
	Period string `json:"period"`
	// Invitees are the invited givers with their groups.
	Invitees []RoundInvitee `json:"invitees"`
}

// EventType implements [domain.Event].
func (FeedbackRoundOpened) EventType() string { return "skp.feedback_round_opened.v1" }

// FeedbackRoundAnswered records one invited giver's answer (or, when the
// giver answered before, its revision, which supersedes the earlier one).
// The giver is the event's actor and nowhere in the data; the raw-event
// paths redact the whole event ([RedactedEvent]). Stream skp-{id}.
type FeedbackRoundAnswered struct {
	// RoundID is the round.
	RoundID string `json:"round_id"`
	// Group is the giver's group, as invited.
	Group FeedbackGroup `json:"group"`
	// Answers rate each of the seven values once.
	Answers []ValueAnswer `json:"answers"`
}

// EventType implements [domain.Event].
func (FeedbackRoundAnswered) EventType() string { return FeedbackAnswerEventType }

// FeedbackAnswerEventType is the type of [FeedbackRoundAnswered], the one
// event type whose actor and data the raw-event paths redact.
const FeedbackAnswerEventType = "skp.feedback_round_answered.v1"

// FeedbackRoundClosed records that a round takes no more answers; the
// anonymous groups' aggregates are shown from then on. Stream skp-{id}.
type FeedbackRoundClosed struct {
	// RoundID is the round.
	RoundID string `json:"round_id"`
}

// EventType implements [domain.Event].
func (FeedbackRoundClosed) EventType() string { return "skp.feedback_round_closed.v1" }

// FeedbackAnswersDisclosed records that an AUDITOR read who gave the
// answers of a round; the envelope holds who looked, when, and the reason.
// It is appended before the answers are returned. Stream skp-{id}.
type FeedbackAnswersDisclosed struct {
	// RoundID is the round whose givers were read.
	RoundID string `json:"round_id"`
	// Answers is how many answers were disclosed.
	Answers int `json:"answers"`
}

// EventType implements [domain.Event].
func (FeedbackAnswersDisclosed) EventType() string { return "skp.feedback_answers_disclosed.v1" }

// Feedback360Basis identifies the 360° summary a rating was given beside:
// the latest round of the period, as the employee saw it then.
type Feedback360Basis struct {
	// RoundID is the round.
	RoundID string `json:"round_id"`
	// Revision is the summary's version (the round's last event).
	Revision uint64 `json:"revision"`
	// Hash is the summary's hash (RoundSummary.Hash).
	Hash string `json:"hash"`
}

// Feedback360Of returns the summary of the latest round of period at
// threshold k, or false when the period has no round: what the rating
// form shows beside the behaviour rating.
func (s *SKP) Feedback360Of(period string, k int) (RoundSummary, bool) {
	for i := len(s.rounds) - 1; i >= 0; i-- {
		if s.rounds[i].period == period {
			return s.rounds[i].summary(k), true
		}
	}
	return RoundSummary{}, false
}

// feedback360Basis is the identity of Feedback360Of, or nil.
func (s *SKP) feedback360Basis(period string, k int) *Feedback360Basis {
	sum, ok := s.Feedback360Of(period, k)
	if !ok {
		return nil
	}
	return &Feedback360Basis{RoundID: sum.RoundID, Revision: sum.Revision, Hash: sum.Hash}
}

// RedactedEvent reports whether the raw-event paths must hide the actor,
// the data and the hash of an event of this type from everyone: the giver
// of a 360° answer is read only through a recorded disclosure.
func RedactedEvent(eventType string) bool { return eventType == FeedbackAnswerEventType }

// RedactedActor is the actor ID the raw-event paths show for a redacted
// event.
const RedactedActor = "REDACTED"

// feedbackAnswer is a giver's answer in effect.
type feedbackAnswer struct {
	giver      string
	group      FeedbackGroup
	answers    []ValueAnswer
	revision   uint64
	revisions  int
	recordedAt time.Time
}

// feedbackRound is a round's state.
type feedbackRound struct {
	id       string
	period   string
	invitees []RoundInvitee
	openedBy domain.Actor
	openedAt time.Time
	closed   bool
	closedBy domain.Actor
	closedAt time.Time
	answers  []feedbackAnswer // one per giver, in order of first answer
	revision uint64           // the last event of the round
	reads    []Disclosure
}

// Disclosure is a recorded read of a round's givers.
type Disclosure struct {
	// By is the auditor; At the recording time; Reason why they looked.
	By     domain.Actor `json:"by"`
	At     time.Time    `json:"at"`
	Reason string       `json:"reason"`
}

func (s *SKP) round(id string) *feedbackRound {
	for i := range s.rounds {
		if s.rounds[i].id == id {
			return &s.rounds[i]
		}
	}
	return nil
}

func (r *feedbackRound) invitee(n string) (RoundInvitee, bool) {
	for _, in := range r.invitees {
		if in.NIP == n {
			return in, true
		}
	}
	return RoundInvitee{}, false
}

func (r *feedbackRound) answerOf(n string) *feedbackAnswer {
	for i := range r.answers {
		if r.answers[i].giver == n {
			return &r.answers[i]
		}
	}
	return nil
}

func (r *feedbackRound) inviteeNIPs() []string {
	out := make([]string, len(r.invitees))
	for i, in := range r.invitees {
		out[i] = in.NIP
	}
	return out
}

// The appliers of this file's events (state.go's apply calls them); they
// never fail.

func (s *SKP) applyRoundOpened(ev FeedbackRoundOpened, e domain.Stored) {
	s.rounds = append(s.rounds, feedbackRound{id: ev.RoundID, period: ev.Period, invitees: slices.Clone(ev.Invitees),
		openedBy: e.Meta.Actor, openedAt: e.Meta.OccurredAt, revision: e.Revision})
}

func (s *SKP) applyRoundAnswered(ev FeedbackRoundAnswered, e domain.Stored) {
	r := s.round(ev.RoundID)
	if r == nil {
		return
	}
	r.revision = e.Revision
	if a := r.answerOf(e.Meta.Actor.ID); a != nil {
		a.answers, a.revision, a.recordedAt = slices.Clone(ev.Answers), e.Revision, e.RecordedAt
		a.revisions++
		return
	}
	r.answers = append(r.answers, feedbackAnswer{giver: e.Meta.Actor.ID, group: ev.Group, answers: slices.Clone(ev.Answers),
		revision: e.Revision, recordedAt: e.RecordedAt})
}

func (s *SKP) applyRoundClosed(ev FeedbackRoundClosed, e domain.Stored) {
	if r := s.round(ev.RoundID); r != nil {
		r.closed, r.closedBy, r.closedAt, r.revision = true, e.Meta.Actor, e.Meta.OccurredAt, e.Revision
	}
}

func (s *SKP) applyDisclosed(ev FeedbackAnswersDisclosed, e domain.Stored) {
	if r := s.round(ev.RoundID); r != nil {
		r.reads = append(r.reads, Disclosure{By: e.Meta.Actor, At: e.RecordedAt, Reason: e.Meta.Reason})
	}
}
