package skp

import (
	"slices"
	"sort"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/period"
)

// ScoreEntry is one rating ever given for a period: by the appraiser, or by
// an objection decision. Superseded entries stay in the history.
type ScoreEntry struct {
	// Period is the period rated.
	Period string `json:"period"`
	// Scores are the ratings and the derived predikat given.
	Scores
	// Previous are the scores this entry replaced (nil for the first).
	Previous *Scores `json:"previous"`
	// Source is APPRAISER or OBJECTION.
	Source Source `json:"source"`
	// Rationale explains the ratings; Reason why earlier ones were replaced.
	Rationale string `json:"rationale,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Actor gave the rating.
	Actor domain.Actor `json:"actor"`
	// ObjectionID names the objection that changed the scores.
	ObjectionID string `json:"objection_id,omitempty"`
	// EventID and Revision locate the event; SupersedesEventID the event it
	// replaced.
	EventID           string `json:"event_id"`
	Revision          uint64 `json:"revision"`
	SupersedesEventID string `json:"supersedes_event_id,omitempty"`
	// OccurredAt is business time, RecordedAt ledger time.
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	// Superseded is true once a later entry replaced this one.
	Superseded bool `json:"superseded"`
}

// View is an SKP as the API shows it: a plain value.
type View struct {
	ID       string         `json:"id"`       // the SKP id
	NIP      string         `json:"nip"`      // the employee
	Year     int            `json:"year"`     // the performance year
	Sequence int            `json:"sequence"` // n of the id
	Approach Approach       `json:"approach"` // KUANTITATIF or KUALITATIF
	Cadence  period.Cadence `json:"cadence"`  // the periodic cadence it follows
	Status   Status         `json:"status"`   // the SKP's state
	// Version is the version in effect (0 before the first establishment).
	Version int `json:"version"`
	// Late is true when version 1 was established after the deadline.
	Late bool `json:"late"`
	// Employee is the snapshot taken at drafting.
	Employee Snapshot `json:"employee"`
	// AppraiserNIP and AppraiserSuperiorNIP are the line recorded with the
	// version in effect (at drafting before establishment).
	AppraiserNIP         string `json:"appraiser_nip,omitempty"`
	AppraiserSuperiorNIP string `json:"appraiser_superior_nip,omitempty"`
	// DraftedOnBehalf is true when HR_ADMIN drafted it.
	DraftedOnBehalf bool `json:"drafted_on_behalf"`
	// PolicyVersion names the rule set in force at drafting.
	PolicyVersion string `json:"policy_version"`
	// Plan is the working plan (what an edit changes).
	Plan []RHK `json:"rhk"`
	// Versions are the established versions, oldest first; the last is in
	// effect.
	Versions     []PlanVersion `json:"versions"`
	Expectations []Expectation `json:"behaviour_expectations"` // per BerAKHLAK value
	Realisations []Realisation `json:"realisations"`           // in recording order
	Evidence     []Evidence    `json:"evidence"`               // in recording order
	Feedback     []Feedback    `json:"feedback"`               // in recording order
	// FeedbackGivers are the givers from beyond the unit assigned now.
	FeedbackGivers []FeedbackGiver `json:"feedback_givers"`
	// SelfAssessments are the employee's self-assessments, in recording
	// order; a later one of a period supersedes the earlier (Superseded).
	SelfAssessments []SelfAssessment `json:"self_assessments,omitempty"`
	Evaluations     []EvaluationView `json:"evaluations"` // per period, annual last
	Notes           []Note           `json:"notes"`       // returns, amendments, endings
	// Revision is the revision of the last event applied.
	Revision   uint64    `json:"revision"`
	DraftedAt  time.Time `json:"drafted_at"`  // business time of the draft
	UpdatedAt  time.Time `json:"updated_at"`  // business time of the last event
	RecordedAt time.Time `json:"recorded_at"` // ledger time of the last event
}

// EvaluationView is one period's evaluation.
type EvaluationView struct {
	Period string `json:"period"` // the period
	// Scores are the ratings and predikat in effect.
	Scores
	Rationale    string         `json:"rationale"`           // the rationale in effect
	AppraiserNIP string         `json:"appraiser_nip"`       // who rated
	RatedAt      time.Time      `json:"rated_at"`            // business time of the appraiser's last rating
	UnitHead     *UnitHeadBasis `json:"unit_head,omitempty"` // set when the work result follows a unit's predikat
	// Status is DRAFT, ISSUED, UNDER_OBJECTION or FINAL at the view's time.
	Status EvaluationStatus `json:"status"`
	// FinalReason says why it is final.
	FinalReason FinalReason `json:"final_reason,omitempty"`
	// FinalityRecorded is true when the finality is a recorded fact (a
	// decision, an issue without objection right, or the
	// skp.evaluation_finalised.v1 event) rather than derived from the clock.
	// A finality derived from the clock alone is provisional: a paper
	// objection filed within the window may still be recorded until the
	// finality is recorded with [Service.Finalise].
	FinalityRecorded bool `json:"finality_recorded"`
	// DeliveredAt is when the issued result was delivered.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// DeliveryBackfill is the paper of a delivery a clerk entered after
	// the fact (shown as "Entri susulan (backfill)").
	DeliveryBackfill *bizdate.Backfill `json:"delivery_backfill,omitempty"`
	// ReceivedAt is the employee's acknowledgement of receipt, if any;
	// ReceiptBackfill its paper when a clerk entered it.
	ReceivedAt      *time.Time        `json:"received_at,omitempty"`
	ReceiptBackfill *bizdate.Backfill `json:"receipt_backfill,omitempty"`
	// ObjectionDeadline is the window's last instant (none when objections
	// to the period are not allowed).
	ObjectionDeadline *time.Time `json:"objection_deadline,omitempty"`
	// Objection is the latest objection; Objections all of them (a
	// withdrawn one may be followed by another within the window).
	Objection  *ObjectionView  `json:"objection,omitempty"`
	Objections []ObjectionView `json:"objections"`
	// History is every rating given for the period.
	History []ScoreEntry `json:"history"`
	// Grounds are the per-RHK ratings and per-value notes in effect, if
	// any were given (grounds.go).
	Grounds *Grounds `json:"grounds,omitempty"`
	// Achievements are the capaian of each indicator for the period,
	// computed from the realisations: evidence beside the rating, never a
	// rating.
	Achievements []Achievement `json:"achievements"`
	// ImprovementPlan is the period's improvement plan, once opened
	// (improvement.go).
	ImprovementPlan *ImprovementPlan `json:"improvement_plan,omitempty"`
}

// ObjectionStatus is the state of an objection.
type ObjectionStatus string

// Objection states.
const (
	OpenObjection      ObjectionStatus = "OPEN"
	DecidedObjection   ObjectionStatus = "DECIDED"
	WithdrawnObjection ObjectionStatus = "WITHDRAWN"
)

// ObjectionView is an objection.
type ObjectionView struct {
	ID              string               `json:"objection_id"`                // identifier
	Status          ObjectionStatus      `json:"status"`                      // OPEN, DECIDED or WITHDRAWN
	Reasons         string               `json:"reasons"`                     // the employee's reasons
	FiledAt         time.Time            `json:"filed_at"`                    // the filing date that counts
	FiledBy         domain.Actor         `json:"filed_by"`                    // who recorded it
	RecordedByClerk string               `json:"recorded_by_clerk,omitempty"` // the clerk of a paper filing
	Backfill        *bizdate.Backfill    `json:"backfill,omitempty"`          // the paper of a backfilled filing
	AddressedTo     string               `json:"addressed_to,omitempty"`      // the superior on the filing date
	AppraiserNIP    string               `json:"appraiser_nip"`               // the appraiser who issued
	Evaluation      Scores               `json:"evaluation"`                  // the scores objected to
	Deadline        time.Time            `json:"deadline"`                    // the window's last instant
	Late            bool                 `json:"late"`                        // filed after the window (recorded by policy)
	DaysLate        int                  `json:"days_late,omitempty"`         // how late
	Requests        []ExplanationRequest `json:"explanation_requests"`        // requests for explanations
	Explanations    []Explanation        `json:"explanations"`                // explanations given
	Decision        *Decision            `json:"decision,omitempty"`          // the final decision
	Withdrawal      *Withdrawal          `json:"withdrawal,omitempty"`        // the withdrawal
	// Decider is the recorded delegation or escalation of the decision,
	// when the appraiser's superior as of the filing date does not decide.
	Decider *ObjectionDeciderAssigned `json:"decider,omitempty"`
}

// View returns the SKP as a value. now is the instant at which derived
// states are judged (an evaluation whose window has passed is FINAL): the
// injected clock's now for a current read, the as-of instant for a
// historical one.
func (s *SKP) View(now time.Time) View {
	v := View{
		ID: s.id, NIP: s.nip, Year: s.year, Sequence: s.seq, Approach: s.approach, Cadence: s.cadence, Status: s.status,
		Employee: s.employee, AppraiserNIP: s.draftLine.appraiser, AppraiserSuperiorNIP: s.draftLine.superior,
		DraftedOnBehalf: s.onBehalf, PolicyVersion: s.policyVersion, Plan: clonePlan(s.plan),
		Expectations: slices.Clone(s.expectations), Realisations: slices.Clone(s.realisations),
		Evidence: slices.Clone(s.evidence), Feedback: slices.Clone(s.feedback), FeedbackGivers: s.FeedbackGivers(), Notes: slices.Clone(s.notes),
		Revision: s.revision, DraftedAt: s.draftedAt, UpdatedAt: s.updatedAt, RecordedAt: s.recordedAt,
		Versions: make([]PlanVersion, len(s.versions)), Evaluations: []EvaluationView{},
	}
	for i, pv := range s.versions {
		pv.RHK = clonePlan(pv.RHK)
		v.Versions[i] = pv
	}
	if pv := s.version(); pv != nil {
		v.Version, v.Late = pv.Version, s.versions[0].Late
		v.AppraiserNIP, v.AppraiserSuperiorNIP = pv.AppraiserNIP, pv.AppraiserSuperiorNIP
	}
	for _, p := range s.periods() {
		ev := s.evals[p].view(now)
		if g, ok := s.grounds[p]; ok {
			ev.Grounds = &g
		}
		ev.Achievements = s.Achievements(p)
		for i := range ev.Objections {
			if d, ok := s.deciderOf(ev.Objections[i].ID); ok {
				ev.Objections[i].Decider = &d
			}
		}
		if n := len(ev.Objections); n > 0 {
			last := ev.Objections[n-1]
			ev.Objection = &last
		}
		if ip, ok := s.ImprovementPlanOf(p); ok {
			ev.ImprovementPlan = &ip
		}
		v.Evaluations = append(v.Evaluations, ev)
	}
	v.SelfAssessments = slices.Clone(s.selfAssessments)
	for i := range v.SelfAssessments {
		for _, later := range v.SelfAssessments[i+1:] {
			if later.Period == v.SelfAssessments[i].Period {
				v.SelfAssessments[i].Superseded = true
			}
		}
	}
	return v
}

// SelfAssessment returns the self-assessment in effect for period (the
// latest), or nil: what the appraiser reads beside the rating.
func (v View) SelfAssessment(period string) *SelfAssessment {
	for i := len(v.SelfAssessments) - 1; i >= 0; i-- {
		if v.SelfAssessments[i].Period == period {
			sa := v.SelfAssessments[i]
			return &sa
		}
	}
	return nil
}

// periods returns the rated periods in calendar order (annual last).
func (s *SKP) periods() []string {
	var out []string
	for p, ev := range s.evals {
		if len(ev.history) > 0 {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := period.MustParse(out[i]), period.MustParse(out[j])
		if a.IsAnnual() != b.IsAnnual() {
			return b.IsAnnual()
		}
		return a.Start().Before(b.Start())
	})
	return out
}

func (ev *evaluation) view(now time.Time) EvaluationView {
	st, reason := ev.status(now)
	v := EvaluationView{
		Period: ev.period, Scores: ev.scores, Rationale: ev.rationale, AppraiserNIP: ev.appraiser, RatedAt: ev.ratedAt,
		UnitHead: ev.unitHead, Status: st, FinalReason: reason, FinalityRecorded: st == EvalFinal && (reason != WindowElapsed || ev.finalised),
		History: slices.Clone(ev.history), Objections: []ObjectionView{},
	}
	if ev.issued {
		d := ev.deliveredAt
		v.DeliveredAt, v.DeliveryBackfill, v.ReceiptBackfill = &d, ev.delivery, ev.receipt
		if ev.receivedAt != nil {
			r := *ev.receivedAt
			v.ReceivedAt = &r
		}
		if ev.deadline != nil {
			dl := *ev.deadline
			v.ObjectionDeadline = &dl
		}
	}
	for _, o := range ev.objections {
		v.Objections = append(v.Objections, o.view())
	}
	if n := len(v.Objections); n > 0 {
		last := v.Objections[n-1]
		v.Objection = &last
	}
	return v
}

func (o *objection) view() ObjectionView {
	st := OpenObjection
	switch {
	case o.decision != nil:
		st = DecidedObjection
	case o.withdrawn != nil:
		st = WithdrawnObjection
	}
	return ObjectionView{
		ID: o.id, Status: st, Reasons: o.reasons, FiledAt: o.filedAt, FiledBy: o.filedBy, RecordedByClerk: o.clerk, Backfill: o.backfill,
		AddressedTo: o.addressedTo, AppraiserNIP: o.appraiser, Evaluation: o.evaluation, Deadline: o.deadline,
		Late: o.late, DaysLate: o.daysLate, Requests: slices.Clone(o.requests), Explanations: slices.Clone(o.explanations),
		Decision: o.decision, Withdrawal: o.withdrawn,
	}
}

// ScoreHistory returns every rating and predikat ever given, per period in
// calendar order (annual last), each in the order given, with superseded
// values.
func (s *SKP) ScoreHistory() []ScoreEntry {
	var out []ScoreEntry
	for _, p := range s.periods() {
		out = append(out, s.evals[p].history...)
	}
	return out
}
