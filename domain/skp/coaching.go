package skp

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
)

// Coaching and development (issue 14; PermenPANRB 6/2022 dialogue and
// coaching, PP 30/2019 Art. 56–58): the appraiser in effect records
// performance dialogues and coaching notes, competency gaps, and
// development actions (training, mentoring, assignment) with a due date;
// an action is concluded with an outcome. Everything is on the SKP stream
// and readable by whoever may read the SKP.

// CoachingKind is a kind of coaching entry.
type CoachingKind string

// Coaching kinds.
const (
	Dialogue     CoachingKind = "DIALOGUE" // a performance dialogue
	CoachingNote CoachingKind = "COACHING" // a coaching note
)

// DevelopmentKind is a kind of development action.
type DevelopmentKind string

// Development kinds.
const (
	Training   DevelopmentKind = "TRAINING"
	Mentoring  DevelopmentKind = "MENTORING"
	Assignment DevelopmentKind = "ASSIGNMENT"
)

// DevelopmentOutcome concludes a development action.
type DevelopmentOutcome string

// Outcomes.
const (
	OutcomeCompleted    DevelopmentOutcome = "COMPLETED"
	OutcomeNotCompleted DevelopmentOutcome = "NOT_COMPLETED"
	OutcomeCancelled    DevelopmentOutcome = "CANCELLED"
)

// MaxDevelopmentEntries bounds each of the coaching entries, gaps and
// actions of one SKP.
const MaxDevelopmentEntries = 500

// CoachingRecorded records a performance dialogue or a coaching note.
// Stream skp-{id}.
type CoachingRecorded struct {
	// EntryID identifies the entry.
	EntryID string `json:"entry_id"`
	// Kind is DIALOGUE or COACHING.
	Kind CoachingKind `json:"kind"`
	// Period is the period it concerns.
	Period string `json:"period"`
	// HeldOn is the day it took place (YYYY-MM-DD).
	HeldOn string `json:"held_on"`
	// Text is what was discussed or observed.
	Text string `json:"text"`
	// Agreements are what was agreed (optional).
	Agreements string `json:"agreements,omitempty"`
}

// EventType implements [domain.Event].
func (CoachingRecorded) EventType() string { return "skp.coaching_recorded.v1" }

// CompetencyGapIdentified records a competency gap of the employee.
// Stream skp-{id}.
type CompetencyGapIdentified struct {
	// GapID identifies the gap.
	GapID string `json:"gap_id"`
	// Competency names the competency (reports group by it, case-folded).
	Competency string `json:"competency"`
	// Description says what is missing (optional).
	Description string `json:"description,omitempty"`
}

// EventType implements [domain.Event].
func (CompetencyGapIdentified) EventType() string { return "skp.competency_gap_identified.v1" }

// DevelopmentActionPlanned records a development action with its due date.
// Stream skp-{id}.
type DevelopmentActionPlanned struct {
	// ActionID identifies the action.
	ActionID string `json:"action_id"`
	// GapID is the gap it addresses (optional).
	GapID string `json:"gap_id,omitempty"`
	// Kind is TRAINING, MENTORING or ASSIGNMENT.
	Kind DevelopmentKind `json:"kind"`
	// Title says what the action is.
	Title string `json:"title"`
	// DueDate is when it is due (YYYY-MM-DD).
	DueDate string `json:"due_date"`
}

// EventType implements [domain.Event].
func (DevelopmentActionPlanned) EventType() string { return "skp.development_action_planned.v1" }

// DevelopmentActionConcluded records a development action's outcome.
// Stream skp-{id}.
type DevelopmentActionConcluded struct {
	// ActionID is the action.
	ActionID string `json:"action_id"`
	// Outcome is COMPLETED, NOT_COMPLETED or CANCELLED.
	Outcome DevelopmentOutcome `json:"outcome"`
	// Note explains the outcome (optional).
	Note string `json:"note,omitempty"`
}

// EventType implements [domain.Event].
func (DevelopmentActionConcluded) EventType() string {
	return "skp.development_action_concluded.v1"
}

// CoachingEntry is a recorded dialogue or coaching note.
type CoachingEntry struct {
	CoachingRecorded
	// By recorded it at RecordedAt.
	By         domain.Actor `json:"by"`
	RecordedAt time.Time    `json:"recorded_at"`
}

// CompetencyGap is an identified gap.
type CompetencyGap struct {
	CompetencyGapIdentified
	// By recorded it at RecordedAt.
	By         domain.Actor `json:"by"`
	RecordedAt time.Time    `json:"recorded_at"`
}

// DevelopmentAction is a planned action with its outcome, if concluded.
type DevelopmentAction struct {
	DevelopmentActionPlanned
	// Outcome and OutcomeNote once concluded; ConcludedAt business time.
	Outcome     DevelopmentOutcome `json:"outcome,omitempty"`
	OutcomeNote string             `json:"outcome_note,omitempty"`
	ConcludedAt *time.Time         `json:"concluded_at,omitempty"`
	// Overdue is true when not concluded and the due date has passed
	// (as of the read).
	Overdue bool `json:"overdue"`
}

// Development is the coaching and development of an SKP.
type Development struct {
	// Coaching are the dialogues and coaching notes, in order recorded.
	Coaching []CoachingEntry `json:"coaching"`
	// Gaps are the competency gaps, in order recorded.
	Gaps []CompetencyGap `json:"gaps"`
	// Actions are the development actions, in order planned.
	Actions []DevelopmentAction `json:"actions"`
}

type development struct {
	coaching []CoachingEntry
	gaps     []CompetencyGap
	actions  []DevelopmentAction
}

func (s *SKP) applyCoaching(ev CoachingRecorded, e domain.Stored) {
	s.dev.coaching = append(s.dev.coaching, CoachingEntry{CoachingRecorded: ev, By: e.Meta.Actor, RecordedAt: e.RecordedAt})
}

func (s *SKP) applyGap(ev CompetencyGapIdentified, e domain.Stored) {
	s.dev.gaps = append(s.dev.gaps, CompetencyGap{CompetencyGapIdentified: ev, By: e.Meta.Actor, RecordedAt: e.RecordedAt})
}

func (s *SKP) applyActionPlanned(ev DevelopmentActionPlanned) {
	s.dev.actions = append(s.dev.actions, DevelopmentAction{DevelopmentActionPlanned: ev})
}

func (s *SKP) applyActionConcluded(ev DevelopmentActionConcluded, e domain.Stored) {
	for i := range s.dev.actions {
		if a := &s.dev.actions[i]; a.ActionID == ev.ActionID {
			at := e.Meta.OccurredAt
			a.Outcome, a.OutcomeNote, a.ConcludedAt = ev.Outcome, ev.Note, &at
		}
	}
}

// Development returns the SKP's coaching and development as of day today
// (which decides what is overdue).
func (s *SKP) Development(today calendar.Date) Development {
	out := Development{Coaching: slices.Clone(s.dev.coaching), Gaps: slices.Clone(s.dev.gaps), Actions: slices.Clone(s.dev.actions)}
	if out.Coaching == nil {
		out.Coaching = []CoachingEntry{}
	}
	if out.Gaps == nil {
		out.Gaps = []CompetencyGap{}
	}
	if out.Actions == nil {
		out.Actions = []DevelopmentAction{}
	}
	for i := range out.Actions {
		if due, err := calendar.Parse(out.Actions[i].DueDate); err == nil && out.Actions[i].Outcome == "" {
			out.Actions[i].Overdue = today.After(due)
		}
	}
	return out
}

// NormalizeCompetency is the form of a competency name reports group by:
// trimmed, inner spaces collapsed, lower case.
func NormalizeCompetency(c string) string {
	return strings.ToLower(strings.Join(strings.Fields(c), " "))
}

// RecordCoaching is the command to record a dialogue or a coaching note.
type RecordCoaching struct {
	// SKPID is the SKP.
	SKPID string
	// Kind is DIALOGUE or COACHING; Period the period it concerns; HeldOn
	// the day (YYYY-MM-DD); Text what was discussed; Agreements optional.
	Kind, Period, HeldOn, Text, Agreements string
}

// IdentifyGap is the command to record a competency gap.
type IdentifyGap struct {
	// SKPID is the SKP; Competency names the competency; Description is
	// optional.
	SKPID, Competency, Description string
}

// PlanDevelopment is the command to plan a development action.
type PlanDevelopment struct {
	// SKPID is the SKP; GapID the gap addressed (optional); Kind TRAINING,
	// MENTORING or ASSIGNMENT; Title what it is; DueDate YYYY-MM-DD.
	SKPID, GapID, Kind, Title, DueDate string
}

// ConcludeDevelopment is the command to record an action's outcome.
type ConcludeDevelopment struct {
	// SKPID and ActionID name the action; Outcome is COMPLETED,
	// NOT_COMPLETED or CANCELLED; Note is optional.
	SKPID, ActionID, Outcome, Note string
}

// coachable authorises authz.Coach and checks the SKP is in effect and
// below the limit of what it holds.
func coachable(l *lookups, req domain.Request, sk *SKP, have int) (domain.Role, error) {
	role, err := l.authorize(req, sk, authz.Coach, nil)
	if err != nil {
		return "", err
	}
	if err := inEffect(sk, "record coaching and development"); err != nil {
		return "", err
	}
	return role, limit("development", "coaching entries, gaps or development actions", have, MaxDevelopmentEntries)
}

// day parses a YYYY-MM-DD within the SKP's year and the two after it.
func (sk *SKP) day(v *domain.ValidationError, field, s string) string {
	d, err := calendar.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		v.Add(field, "a date YYYY-MM-DD")
	case d.Year() < sk.year || d.Year() > sk.year+2:
		v.Add(field, "within %d..%d", sk.year, sk.year+2)
	}
	return d.String()
}

// RecordCoaching records a performance dialogue or a coaching note (the
// appraiser in effect) and returns its id. Errors: not found, forbidden,
// validation (kind, period, date, text, lengths), invalid state (not in
// effect).
func (s *Service) RecordCoaching(ctx context.Context, req domain.Request, cmd RecordCoaching) (string, domain.Committed, error) {
	var v domain.ValidationError
	kind := CoachingKind(cmd.Kind)
	if kind != Dialogue && kind != CoachingNote {
		v.Add("kind", "must be DIALOGUE or COACHING")
	}
	body := text(&v, "text", cmd.Text, MaxLongTextLen, true)
	agreements := text(&v, "agreements", cmd.Agreements, MaxLongTextLen, false)
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := coachable(l, req, sk, len(sk.dev.coaching))
		if err != nil {
			return domain.Change{}, err
		}
		vv := domain.ValidationError{Fields: slices.Clone(v.Fields)}
		p := sk.checkPeriod(&vv, cmd.Period)
		held := sk.day(&vv, "held_on", cmd.HeldOn)
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		return one(role, CoachingRecorded{EntryID: id, Kind: kind, Period: p.String(), HeldOn: held, Text: body, Agreements: agreements})
	})
	return id, c, err
}

// IdentifyGap records a competency gap (the appraiser in effect) and
// returns its id. Errors: not found, forbidden, validation (competency
// required, lengths), invalid state.
func (s *Service) IdentifyGap(ctx context.Context, req domain.Request, cmd IdentifyGap) (string, domain.Committed, error) {
	var v domain.ValidationError
	comp := strings.Join(strings.Fields(text(&v, "competency", cmd.Competency, MaxRefLen, true)), " ")
	desc := text(&v, "description", cmd.Description, MaxLongTextLen, false)
	if err := v.Err(); err != nil {
		return "", domain.Committed{}, err
	}
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := coachable(l, req, sk, len(sk.dev.gaps))
		if err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		return one(role, CompetencyGapIdentified{GapID: id, Competency: comp, Description: desc})
	})
	return id, c, err
}

// PlanDevelopment plans a development action (the appraiser in effect)
// and returns its id. Errors: not found, forbidden, validation (kind,
// title, due date within the SKP's year and the two after, an unknown
// gap), invalid state.
func (s *Service) PlanDevelopment(ctx context.Context, req domain.Request, cmd PlanDevelopment) (string, domain.Committed, error) {
	var v domain.ValidationError
	kind := DevelopmentKind(cmd.Kind)
	if kind != Training && kind != Mentoring && kind != Assignment {
		v.Add("kind", "must be TRAINING, MENTORING or ASSIGNMENT")
	}
	title := text(&v, "title", cmd.Title, MaxTextLen, true)
	gap := strings.TrimSpace(cmd.GapID)
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := coachable(l, req, sk, len(sk.dev.actions))
		if err != nil {
			return domain.Change{}, err
		}
		vv := domain.ValidationError{Fields: slices.Clone(v.Fields)}
		due := sk.day(&vv, "due_date", cmd.DueDate)
		if gap != "" && !slices.ContainsFunc(sk.dev.gaps, func(g CompetencyGap) bool { return g.GapID == gap }) {
			vv.Add("gap_id", "no gap %q in the SKP", gap)
		}
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		return one(role, DevelopmentActionPlanned{ActionID: id, GapID: gap, Kind: kind, Title: title, DueDate: due})
	})
	return id, c, err
}

// ConcludeDevelopment records a development action's outcome (the
// appraiser in effect); the same outcome again changes nothing. Errors:
// not found (SKP or action), forbidden, validation (outcome, note),
// invalid state (concluded with another outcome).
func (s *Service) ConcludeDevelopment(ctx context.Context, req domain.Request, cmd ConcludeDevelopment) (domain.Committed, error) {
	var v domain.ValidationError
	outcome := DevelopmentOutcome(cmd.Outcome)
	if outcome != OutcomeCompleted && outcome != OutcomeNotCompleted && outcome != OutcomeCancelled {
		v.Add("outcome", "must be COMPLETED, NOT_COMPLETED or CANCELLED")
	}
	note := text(&v, "note", cmd.Note, MaxLongTextLen, false)
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.Coach, nil)
		if err != nil {
			return domain.Change{}, err
		}
		i := slices.IndexFunc(sk.dev.actions, func(a DevelopmentAction) bool { return a.ActionID == cmd.ActionID })
		switch {
		case i < 0:
			return domain.Change{}, &domain.NotFoundError{Kind: "development_action", ID: cmd.SKPID + "/" + cmd.ActionID}
		case sk.dev.actions[i].Outcome == outcome && sk.dev.actions[i].OutcomeNote == note:
			return domain.Change{}, nil
		case sk.dev.actions[i].Outcome != "":
			return domain.Change{}, domain.InvalidState("conclude a development action", string(sk.dev.actions[i].Outcome), "already concluded")
		}
		return one(role, DevelopmentActionConcluded{ActionID: cmd.ActionID, Outcome: outcome, Note: note})
	})
}

// Development is the query behind GET /v1/skps/{id}/development, for
// whoever may read the SKP.
func (s *Service) Development(ctx context.Context, caller domain.Principal, id string) (Development, error) {
	sk, _, err := s.authorized(ctx, caller, id, authz.ReadSKP)
	if err != nil {
		return Development{}, err
	}
	return sk.Development(s.Policy.Date(s.Handler.Now())), nil
}
