package skp

import (
	"context"
	"slices"
	"strconv"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// AnonymityThreshold is K, the policy's or DefaultAnonymityThreshold.
func (s *Service) AnonymityThreshold() int {
	if k := s.Policy.FeedbackAnonymityThreshold; k >= 2 {
		return k
	}
	return DefaultAnonymityThreshold
}

// OpenFeedbackRound is the command to open a 360° round.
type OpenFeedbackRound struct {
	// SKPID is the SKP.
	SKPID string
	// Period is the period the feedback is about.
	Period string
	// Invitees are the givers to invite (NIPs in any printed form).
	Invitees []RoundInvitee
}

// OpenFeedbackRound opens a 360° round for a period of an SKP in effect and
// returns its id. The appraiser in effect or HR_ADMIN opens it. SELF is
// the employee and only the employee; the appraiser is never invited (the
// appraiser rates); TEAM_LEAD and PEMBERI_PERTIMBANGAN must be assigned
// givers of that kind (givers.go); every invitee is a registered employee,
// invited once. One round per period is open at a time. Errors: not found,
// forbidden, validation (period, invitees), invalid state (not in effect, an
// open round for the period, the period's evaluation issued).
func (s *Service) OpenFeedbackRound(ctx context.Context, req domain.Request, cmd OpenFeedbackRound) (string, domain.Committed, error) {
	var v domain.ValidationError
	invitees := make([]RoundInvitee, 0, len(cmd.Invitees))
	switch {
	case len(cmd.Invitees) == 0:
		v.Add("invitees", "required: at least one giver")
	case len(cmd.Invitees) > MaxRoundInvitees:
		v.Add("invitees", "at most %d givers", MaxRoundInvitees)
	}
	seen := map[string]bool{}
	for i, in := range cmd.Invitees {
		if i >= MaxRoundInvitees {
			break
		}
		field := "invitees[" + strconv.Itoa(i) + "]"
		info, err := nip.Parse(in.NIP)
		v.Merge(field+".nip", err)
		if !in.Group.Valid() {
			v.Add(field+".group", "must be SELF, PEER, SUBORDINATE, TEAM_LEAD or PEMBERI_PERTIMBANGAN")
		}
		n := string(info.NIP)
		if err == nil && seen[n] {
			v.Add(field+".nip", "invited twice")
		}
		seen[n] = true
		invitees = append(invitees, RoundInvitee{NIP: n, Group: in.Group})
	}
	if err := v.Err(); err != nil {
		return "", domain.Committed{}, err
	}
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.ManageFeedbackRound, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if err := inEffect(sk, "open a 360° round"); err != nil {
			return domain.Change{}, err
		}
		if err := limit("round", "360° rounds", len(sk.rounds), MaxFeedbackRounds); err != nil {
			return domain.Change{}, err
		}
		var vv domain.ValidationError
		p := sk.checkPeriod(&vv, cmd.Period)
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		subj, err := l.subject(sk, l.s.Policy.Date(req.OccurredAt), req.Caller)
		if err != nil {
			return domain.Change{}, err
		}
		for i, in := range invitees {
			field := "invitees[" + strconv.Itoa(i) + "]"
			e, err := l.employee(in.NIP)
			if err != nil {
				return domain.Change{}, err
			}
			switch {
			case e == nil:
				vv.Add(field+".nip", "employee %s is not registered", in.NIP)
			case (in.Group == GroupSelf) != (in.NIP == sk.nip):
				vv.Add(field+".group", "SELF is the employee, and the employee is invited only as SELF")
			case in.NIP == subj.Appraiser:
				vv.Add(field+".nip", "the appraiser rates and is not invited")
			case in.Group == GroupTeamLead && sk.giverKind(in.NIP) != TeamLead,
				in.Group == GroupPemberiPertimbangan && sk.giverKind(in.NIP) != PemberiPertimbangan:
				vv.Add(field+".group", "%s is not assigned to the SKP as %s", in.NIP, in.Group)
			}
		}
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		if ev := sk.evals[p.String()]; ev != nil && ev.issued {
			return domain.Change{}, domain.InvalidState("open a 360° round", string(sk.status), "the evaluation of "+p.String()+" is issued")
		}
		for _, r := range sk.rounds {
			if r.period == p.String() && !r.closed {
				return domain.Change{}, domain.InvalidState("open a 360° round", string(sk.status), "round "+r.id+" of "+p.String()+" is open")
			}
		}
		id = "r" + strconv.Itoa(len(sk.rounds)+1)
		return one(role, FeedbackRoundOpened{RoundID: id, Period: p.String(), Invitees: invitees})
	})
	return id, c, err
}

// AnswerFeedbackRound is the command of an invited giver's answer.
type AnswerFeedbackRound struct {
	// SKPID and RoundID name the round.
	SKPID, RoundID string
	// Answers rate each of the seven values once.
	Answers []ValueAnswer
}

// AnswerFeedbackRound records an invited giver's answer to an open round.
// One answer per giver is in effect: answering again while the round is
// open revises it (the same answer again changes nothing). Callers not
// invited get the same not-found as for a missing SKP or round, unless
// they are a party of the SKP (forbidden). Errors: not found, forbidden,
// validation (each of the seven values rated once on the behaviour scale;
// lengths), invalid state (the round is closed).
func (s *Service) AnswerFeedbackRound(ctx context.Context, req domain.Request, cmd AnswerFeedbackRound) (domain.Committed, error) {
	var v domain.ValidationError
	answers := make([]ValueAnswer, 0, 7)
	if len(cmd.Answers) != len(berakhlak.Values()) {
		v.Add("answers", "rate each of the seven BerAKHLAK values once")
	}
	seen := map[berakhlak.Value]bool{}
	for i, a := range cmd.Answers {
		if i >= 2*len(berakhlak.Values()) {
			break
		}
		field := "answers[" + strconv.Itoa(i) + "]"
		switch {
		case !a.Value.Valid():
			v.Add(field+".value", "must be one of the seven BerAKHLAK values")
		case seen[a.Value]:
			v.Add(field+".value", "%s is rated twice", a.Value)
		}
		seen[a.Value] = true
		if !a.Rating.Valid() {
			v.Add(field+".rating", "must be DI_ATAS_EKSPEKTASI, SESUAI_EKSPEKTASI or DI_BAWAH_EKSPEKTASI")
		}
		answers = append(answers, ValueAnswer{Value: a.Value, Rating: a.Rating,
			Comment: text(&v, field+".comment", a.Comment, MaxTextLen, false), Examples: text(&v, field+".examples", a.Examples, MaxTextLen, false)})
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	// Stored in the order of the acronym, whatever order they came in.
	slices.SortFunc(answers, func(a, b ValueAnswer) int {
		return slices.Index(berakhlak.Values(), a.Value) - slices.Index(berakhlak.Values(), b.Value)
	})
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		r := sk.round(cmd.RoundID)
		var invited []string
		if r != nil {
			invited = r.inviteeNIPs()
		}
		role, err := l.authorize(req, sk, authz.AnswerFeedbackRound, func(s *authz.Subject) { s.RoundInvitees = invited })
		if err != nil {
			return domain.Change{}, err
		}
		if r == nil { // unreachable: no round, no invitees
			return domain.Change{}, &domain.NotFoundError{Kind: "skp", ID: cmd.SKPID}
		}
		if r.closed {
			return domain.Change{}, domain.InvalidState("answer a 360° round", "CLOSED", "round "+r.id+" is closed")
		}
		in, _ := r.invitee(req.Caller.ID)
		if prev := r.answerOf(req.Caller.ID); prev != nil && slices.Equal(prev.answers, answers) {
			return domain.Change{}, nil
		}
		return one(role, FeedbackRoundAnswered{RoundID: r.id, Group: in.Group, Answers: answers})
	})
}

// CloseFeedbackRound closes a round (the appraiser in effect or HR_ADMIN);
// closing a closed round changes nothing. Errors: not found (SKP or
// round), forbidden.
func (s *Service) CloseFeedbackRound(ctx context.Context, req domain.Request, skpID, roundID string) (domain.Committed, error) {
	return s.onSKP(ctx, skpID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.ManageFeedbackRound, nil)
		if err != nil {
			return domain.Change{}, err
		}
		r := sk.round(roundID)
		switch {
		case r == nil:
			return domain.Change{}, &domain.NotFoundError{Kind: "feedback_round", ID: skpID + "/" + roundID}
		case r.closed:
			return domain.Change{}, nil
		}
		return one(role, FeedbackRoundClosed{RoundID: r.id})
	})
}

// DisclosedAnswer is one answer with its giver, as a disclosure returns it.
type DisclosedAnswer struct {
	// GiverNIP gave the answer, in Group.
	GiverNIP string        `json:"giver_nip"`
	Group    FeedbackGroup `json:"group"`
	// Answers are the ratings in effect; Revision the event that recorded
	// them; Revisions how often the giver revised the answer.
	Answers   []ValueAnswer `json:"answers"`
	Revision  uint64        `json:"revision"`
	Revisions int           `json:"revisions"`
}

// DisclosureResult is the disclosure of a round's givers, returned to the auditor.
type DisclosureResult struct {
	// RoundID and Period name the round.
	RoundID string `json:"round_id"`
	Period  string `json:"period"`
	// Answers are every answer in effect with its giver.
	Answers []DisclosedAnswer `json:"answers"`
	// Reads are every recorded disclosure of the round, this one last.
	Reads []Disclosure `json:"reads"`
}

// DiscloseFeedbackGivers records that an AUDITOR reads who gave the
// answers of a round, and why, and then returns them: the event is
// appended first, so no read goes unrecorded. Errors: not found (SKP or
// round, or not visible), forbidden (not AUDITOR), validation (reason
// required).
func (s *Service) DiscloseFeedbackGivers(ctx context.Context, req domain.Request, skpID, roundID, reason string) (DisclosureResult, domain.Committed, error) {
	why, err := requiredReason(reason, req)
	if err != nil {
		return DisclosureResult{}, domain.Committed{}, err
	}
	var out DisclosureResult
	c, err := s.onSKP(ctx, skpID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.DiscloseFeedbackGivers, nil)
		if err != nil {
			return domain.Change{}, err
		}
		r := sk.round(roundID)
		if r == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "feedback_round", ID: skpID + "/" + roundID}
		}
		out = DisclosureResult{RoundID: r.id, Period: r.period, Answers: []DisclosedAnswer{},
			Reads: append(slices.Clone(r.reads), Disclosure{By: domain.Actor{ID: req.Caller.ID, Role: role}, At: l.s.Handler.Now(), Reason: why})}
		for _, a := range r.answers {
			out.Answers = append(out.Answers, DisclosedAnswer{GiverNIP: a.giver, Group: a.group, Answers: slices.Clone(a.answers),
				Revision: a.revision, Revisions: a.revisions})
		}
		return reasoned(role, why, FeedbackAnswersDisclosed{RoundID: r.id, Answers: len(r.answers)})
	})
	if err != nil {
		return DisclosureResult{}, domain.Committed{}, err
	}
	return out, c, nil
}

// FeedbackRounds is the query behind GET /v1/skps/{id}/feedback-rounds:
// the summaries of every round, for those who may read the SKP.
func (s *Service) FeedbackRounds(ctx context.Context, caller domain.Principal, id string) ([]RoundSummary, error) {
	sk, _, err := s.authorized(ctx, caller, id, authz.ReadSKP)
	if err != nil {
		return nil, err
	}
	return sk.FeedbackRounds(s.AnonymityThreshold()), nil
}

// Invitation is what an invited giver sees of a round: its period, their
// group and their own answer in effect (nil before they answer).
type Invitation struct {
	// RoundID, Period and Closed describe the round.
	RoundID string `json:"round_id"`
	Period  string `json:"period"`
	Closed  bool   `json:"closed"`
	// Group is the caller's group.
	Group FeedbackGroup `json:"group"`
	// Answers is the caller's answer in effect, if any.
	Answers []ValueAnswer `json:"answers"`
}

// Invitation is the query behind GET …/feedback-rounds/{round}/answer: the
// caller's own invitation and answer. Errors: not found (not invited,
// unless a party of the SKP: forbidden).
func (s *Service) Invitation(ctx context.Context, caller domain.Principal, id, roundID string) (Invitation, error) {
	sk, _, err := s.Load(ctx, id)
	if err != nil {
		return Invitation{}, err
	}
	if sk == nil {
		return Invitation{}, &domain.NotFoundError{Kind: "skp", ID: id}
	}
	r := sk.round(roundID)
	var invited []string
	if r != nil {
		invited = r.inviteeNIPs()
	}
	l := s.lookups(ctx)
	subj, err := l.subject(sk, s.Policy.Date(s.Handler.Now()), caller)
	if err != nil {
		return Invitation{}, err
	}
	subj.RoundInvitees = invited
	if _, err := authz.Decide(caller, authz.AnswerFeedbackRound, subj, s.options()); err != nil {
		return Invitation{}, err
	}
	in, _ := r.invitee(caller.ID)
	out := Invitation{RoundID: r.id, Period: r.period, Closed: r.closed, Group: in.Group, Answers: []ValueAnswer{}}
	if a := r.answerOf(caller.ID); a != nil {
		out.Answers = slices.Clone(a.answers)
	}
	return out, nil
}

// OpenInvitations returns the ids of the open rounds of the SKP that
// caller is invited to.
func (s *SKP) OpenInvitations(caller string) []string {
	var out []string
	for i := range s.rounds {
		if _, ok := s.rounds[i].invitee(caller); ok && !s.rounds[i].closed {
			out = append(out, s.rounds[i].id)
		}
	}
	return out
}
