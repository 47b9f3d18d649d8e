package skp

import (
	"slices"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// SKP is the state of one SKP: its plan and versions, execution records,
// evaluations and objections, rebuilt from its stream. Its fields are
// unexported; commands decide on it and queries read it through [SKP.View].
type SKP struct {
	id, nip       string
	year, seq     int
	approach      Approach
	cadence       period.Cadence
	policyVersion string
	employee      Snapshot
	draftLine     line
	onBehalf      bool
	draftedAt     time.Time
	draftedBy     domain.Actor

	status      Status
	plan        []RHK // the working plan
	versions    []PlanVersion
	submittedAt *time.Time     // submission not yet established
	closedFrom  *calendar.Date // first day in the new post, once closed for a position change
	notes       []Note         // returns, amendments, cancellation, closure

	expectations []Expectation
	realisations []Realisation
	evidence     []Evidence
	feedback     []Feedback
	givers       []FeedbackGiver                     // assigned feedback givers (givers.go)
	grounds      map[string]Grounds                  // grounds of the ratings per period (grounds.go)
	deciders     map[string]ObjectionDeciderAssigned // delegated or escalated deciders by objection (decider.go)
	ack          *acknowledgement                    // the employee's signature of an amended plan (amendment.go)
	// selfAssessments are every self-assessment, in recording order.
	selfAssessments []SelfAssessment
	rounds          []feedbackRound // 360° rounds in order opened (feedback360.go)
	dev             development     // coaching and development (coaching.go)
	// improvements are the improvement plans, in opening order (improvement.go).
	improvements []*ImprovementPlan

	evals    map[string]*evaluation
	involved []string

	revision   uint64
	updatedAt  time.Time
	recordedAt time.Time
}

type line struct{ appraiser, superior string }

// RHK is a planned work result with its indicators.
type RHK struct {
	ID              string      `json:"rhk_id"`                      // identifier
	Text            string      `json:"text"`                        // the planned result
	Kind            RHKKind     `json:"kind"`                        // UTAMA or TAMBAHAN
	IntervenedRHKID string      `json:"intervened_rhk_id,omitempty"` // the appraiser's RHK it contributes to
	IntervenedSKPID string      `json:"intervened_skp_id,omitempty"` // the appraiser's SKP holding that RHK
	PKRef           string      `json:"pk_ref,omitempty"`            // Perjanjian Kinerja item (JPT)
	Indicators      []Indicator `json:"indicators"`                  // its indicators, in order added
}

// Indicator is an individual performance indicator.
type Indicator struct {
	ID     string `json:"indicator_id"` // identifier
	Aspect Aspect `json:"aspect"`       // KUANTITAS, KUALITAS, WAKTU or BIAYA
	Text   string `json:"text"`         // the indicator
	Target Target `json:"target"`       // the target value and unit
	// Direction overrides the aspect's direction for the capaian; empty:
	// the aspect's (see EffectiveDirection).
	Direction Direction `json:"direction,omitempty"`
}

// EffectiveDirection is the indicator's direction: its override, else its
// aspect's (DirectionOf).
func (i Indicator) EffectiveDirection() Direction {
	if i.Direction != "" {
		return i.Direction
	}
	return DirectionOf(i.Aspect)
}

// PlanVersion is an established version of the plan.
type PlanVersion struct {
	// Version is the version number (1, 2, …).
	Version int `json:"version"`
	// EstablishedAt is the establishment's business time; RecordedAt its
	// ledger time.
	EstablishedAt time.Time `json:"established_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	// Late is true when version 1 was established after the deadline.
	Late bool `json:"late"`
	// AppraiserNIP and AppraiserSuperiorNIP are the line that established it.
	AppraiserNIP         string `json:"appraiser_nip"`
	AppraiserSuperiorNIP string `json:"appraiser_superior_nip,omitempty"`
	// RHK is the plan of this version.
	RHK []RHK `json:"rhk"`
}

// Note is a reasoned step in the SKP's life: a return, an amendment, a
// cancellation or a closure.
type Note struct {
	// Kind is RETURNED, AMENDMENT_OPENED, CANCELLED or CLOSED_FOR_POSITION_CHANGE.
	Kind string `json:"kind"`
	// Reason is the reason given.
	Reason string `json:"reason"`
	// Actor did it; OccurredAt is business time.
	Actor      domain.Actor `json:"actor"`
	OccurredAt time.Time    `json:"occurred_at"`
}

// Expectation is the appraiser's expectation for one BerAKHLAK value.
type Expectation struct {
	Value       berakhlak.Value `json:"value"`       // the BerAKHLAK value
	Expectation string          `json:"expectation"` // the appraiser's expectation
	SetBy       string          `json:"set_by"`      // the appraiser's NIP
	OccurredAt  time.Time       `json:"occurred_at"` // business time
}

// Realisation is a recorded realisation.
type Realisation struct {
	ID          string    `json:"realisation_id"`      // identifier
	Period      string    `json:"period"`              // the period it counts for
	IndicatorID string    `json:"indicator_id"`        // the indicator…
	RHKID       string    `json:"rhk_id"`              // …its RHK…
	SKPVersion  int       `json:"skp_version"`         // …and the version that held them
	Value       float64   `json:"value"`               // the achieved quantity
	Narrative   string    `json:"narrative,omitempty"` // the employee's explanation
	OccurredAt  time.Time `json:"occurred_at"`         // business time
	RecordedAt  time.Time `json:"recorded_at"`         // ledger time
}

// Evidence is recorded evidence metadata.
type Evidence struct {
	ID          string    `json:"evidence_id"`  // identifier
	IndicatorID string    `json:"indicator_id"` // the indicator supported
	RHKID       string    `json:"rhk_id"`       // its RHK
	URI         string    `json:"uri"`          // where the file is
	SHA256      string    `json:"sha256"`       // the file's hash, lower-case hex
	Filename    string    `json:"filename"`     // the file's name
	MediaType   string    `json:"media_type"`   // the file's media type
	Size        int64     `json:"size"`         // the file's size in bytes
	OccurredAt  time.Time `json:"occurred_at"`  // business time
	RecordedAt  time.Time `json:"recorded_at"`  // ledger time
}

// SelfAssessment is a self-assessment of a period, as submitted.
type SelfAssessment struct {
	Period     string       `json:"period"`              // the period assessed
	Text       string       `json:"text"`                // the assessment
	RHKNotes   []RHKNote    `json:"rhk_notes,omitempty"` // notes per RHK
	Actor      domain.Actor `json:"actor"`               // who submitted it
	Revision   uint64       `json:"revision"`            // the event's revision
	OccurredAt time.Time    `json:"occurred_at"`         // business time
	RecordedAt time.Time    `json:"recorded_at"`         // ledger time
	// Superseded is true once a later one for the period replaced it.
	Superseded bool `json:"superseded"`
}

// Feedback is recorded feedback.
type Feedback struct {
	ID           string        `json:"feedback_id"`  // identifier
	About        FeedbackAbout `json:"about"`        // what it concerns
	Text         string        `json:"text"`         // the feedback
	GiverNIP     string        `json:"giver_nip"`    // who gave it
	Relationship Relationship  `json:"relationship"` // APPRAISER, PEER or SELF
	OccurredAt   time.Time     `json:"occurred_at"`  // business time
	RecordedAt   time.Time     `json:"recorded_at"`  // ledger time
}

type evaluation struct {
	period      string
	scores      Scores
	rationale   string
	appraiser   string
	unitHead    *UnitHeadBasis
	ratedAt     time.Time // business time of the latest rating or revision
	ratingEvent string    // id of the event that set scores
	issued      bool
	deliveredAt time.Time
	deadline    *time.Time
	issuedBy    string
	delivery    *bizdate.Backfill // the paper of a backfilled delivery
	receivedAt  *time.Time        // the employee's acknowledgement of receipt
	receipt     *bizdate.Backfill // the paper of a backfilled acknowledgement
	finalised   bool              // EvaluationFinalised recorded
	objections  []*objection
	history     []ScoreEntry
}

type objection struct {
	id           string
	filedAt      time.Time
	filedBy      domain.Actor
	clerk        string
	backfill     *bizdate.Backfill
	reasons      string
	addressedTo  string
	appraiser    string
	evaluation   Scores
	deadline     time.Time
	late         bool
	daysLate     int
	requests     []ExplanationRequest
	explanations []Explanation
	decision     *Decision
	withdrawn    *Withdrawal
}

func (o *objection) open() bool { return o.decision == nil && o.withdrawn == nil }

// ExplanationRequest is a request for an explanation.
type ExplanationRequest struct {
	ID          string     `json:"request_id"`       // identifier
	From        Party      `json:"from"`             // APPRAISER or EMPLOYEE
	DueAt       *time.Time `json:"due_at,omitempty"` // optional answer deadline
	RequestedBy string     `json:"requested_by"`     // the superior's NIP
	OccurredAt  time.Time  `json:"occurred_at"`      // business time
}

// Explanation is a submitted explanation.
type Explanation struct {
	RequestID  string    `json:"request_id"`  // the request answered
	By         Party     `json:"by"`          // APPRAISER or EMPLOYEE
	Text       string    `json:"text"`        // the explanation
	Author     string    `json:"author"`      // the author's NIP
	OccurredAt time.Time `json:"occurred_at"` // business time
}

// Decision is an objection decision.
type Decision struct {
	Outcome      Outcome   `json:"outcome"`                 // UPHELD or CHANGED
	DecisionText string    `json:"decision_text"`           // the grounds
	Previous     Scores    `json:"previous"`                // the scores before
	Result       Scores    `json:"result"`                  // the scores after
	WaiverReason string    `json:"waiver_reason,omitempty"` // why a party was not asked, if so
	DecidedBy    string    `json:"decided_by"`              // the superior's NIP
	DecidedAt    time.Time `json:"decided_at"`              // business time
	RecordedAt   time.Time `json:"recorded_at"`             // ledger time
}

// Withdrawal is an objection withdrawal.
type Withdrawal struct {
	Reason     string    `json:"reason,omitempty"` // optional reason
	At         time.Time `json:"at"`               // business time
	RecordedAt time.Time `json:"recorded_at"`      // ledger time
}

// Replay rebuilds an SKP from its stream (all of it, or a prefix for "as
// of" reads). It returns nil when the events hold no draft. Appliers never
// fail and never validate: they apply facts already decided.
func Replay(events []domain.Stored) *SKP {
	var s *SKP
	for _, e := range events {
		if d, ok := e.Event.(Drafted); ok && s == nil {
			s = newFromDraft(d, e)
		}
		if s != nil {
			s.apply(e)
		}
	}
	return s
}

// Apply applies one more event of the SKP's stream to s: the same applier
// Replay uses, for callers that keep an SKP between events (projections,
// which rebuild incrementally instead of replaying the whole stream for
// each event). It is a rehydration entry point, not a command: it never
// fails and never validates. e must follow, in revision order, the events
// s was built from; s must not be nil (start with [Replay]).
func (s *SKP) Apply(e domain.Stored) { s.apply(e) }

func newFromDraft(d Drafted, e domain.Stored) *SKP {
	s := &SKP{
		id: d.SKPID, nip: d.NIP, year: d.Year, seq: d.Sequence, approach: d.Approach, cadence: d.Cadence,
		policyVersion: d.PolicyVersion, employee: d.Employee, onBehalf: d.DraftedOnBehalf,
		draftLine: line{d.AppraiserNIP, d.AppraiserSuperiorNIP},
		draftedAt: e.Meta.OccurredAt, draftedBy: e.Meta.Actor, status: StatusDraft, evals: map[string]*evaluation{},
	}
	s.involve(d.AppraiserNIP, d.AppraiserSuperiorNIP)
	return s
}

func (s *SKP) involve(nips ...string) {
	for _, n := range nips {
		if n != "" && n != s.nip && !slices.Contains(s.involved, n) {
			s.involved = append(s.involved, n)
		}
	}
}

func (s *SKP) rhk(id string) *RHK {
	for i := range s.plan {
		if s.plan[i].ID == id {
			return &s.plan[i]
		}
	}
	return nil
}

// indicator finds an indicator in plan and returns it with its RHK.
func findIndicator(plan []RHK, id string) (*RHK, *Indicator) {
	for i := range plan {
		for j := range plan[i].Indicators {
			if plan[i].Indicators[j].ID == id {
				return &plan[i], &plan[i].Indicators[j]
			}
		}
	}
	return nil, nil
}

func clonePlan(plan []RHK) []RHK {
	out := make([]RHK, len(plan))
	for i, r := range plan {
		r.Indicators = slices.Clone(r.Indicators)
		out[i] = r
	}
	return out
}

func (s *SKP) eval(p string) *evaluation {
	ev, ok := s.evals[p]
	if !ok {
		ev = &evaluation{period: p}
		s.evals[p] = ev
	}
	return ev
}

func (ev *evaluation) objection(id string) *objection {
	for _, o := range ev.objections {
		if o.id == id {
			return o
		}
	}
	return nil
}

// current returns the latest objection, or nil.
func (ev *evaluation) current() *objection {
	if len(ev.objections) == 0 {
		return nil
	}
	return ev.objections[len(ev.objections)-1]
}

func (s *SKP) apply(e domain.Stored) {
	s.revision, s.updatedAt, s.recordedAt = e.Revision, e.Meta.OccurredAt, e.RecordedAt
	at := e.Meta.OccurredAt
	switch ev := e.Event.(type) {
	case RHKAdded:
		s.plan = append(s.plan, RHK{ID: ev.RHKID, Text: ev.Text, Kind: ev.Kind, IntervenedRHKID: ev.IntervenedRHKID,
			IntervenedSKPID: ev.IntervenedSKPID, PKRef: ev.PKRef, Indicators: []Indicator{}})
	case RHKChanged:
		if r := s.rhk(ev.RHKID); r != nil {
			r.Text, r.Kind, r.IntervenedRHKID, r.IntervenedSKPID, r.PKRef = ev.Text, ev.Kind, ev.IntervenedRHKID, ev.IntervenedSKPID, ev.PKRef
		}
	case RHKRemoved:
		s.plan = slices.DeleteFunc(s.plan, func(r RHK) bool { return r.ID == ev.RHKID })
	case IndicatorAdded:
		if r := s.rhk(ev.RHKID); r != nil {
			r.Indicators = append(r.Indicators, Indicator{ID: ev.IndicatorID, Aspect: ev.Aspect, Text: ev.Text, Target: ev.Target, Direction: ev.Direction})
		}
	case IndicatorChanged:
		if _, ind := findIndicator(s.plan, ev.IndicatorID); ind != nil {
			ind.Aspect, ind.Text, ind.Target, ind.Direction = ev.Aspect, ev.Text, ev.Target, ev.Direction
		}
	case IndicatorRemoved:
		if r, _ := findIndicator(s.plan, ev.IndicatorID); r != nil {
			r.Indicators = slices.DeleteFunc(r.Indicators, func(i Indicator) bool { return i.ID == ev.IndicatorID })
		}
	case BehaviourExpectationSet:
		x := Expectation{Value: ev.Value, Expectation: ev.Expectation, SetBy: e.Meta.Actor.ID, OccurredAt: at}
		if i := slices.IndexFunc(s.expectations, func(x Expectation) bool { return x.Value == ev.Value }); i >= 0 {
			s.expectations[i] = x
		} else {
			s.expectations = append(s.expectations, x)
		}
	case Submitted:
		s.status, s.submittedAt = StatusSubmitted, &at
	case Returned:
		s.status, s.submittedAt = StatusDraft, nil
		s.notes = append(s.notes, Note{Kind: "RETURNED", Reason: ev.Reason, Actor: e.Meta.Actor, OccurredAt: at})
	case Established:
		s.status, s.submittedAt, s.ack = StatusEstablished, nil, nil
		s.versions = append(s.versions, PlanVersion{Version: ev.Version, EstablishedAt: at, RecordedAt: e.RecordedAt, Late: ev.Late,
			AppraiserNIP: ev.AppraiserNIP, AppraiserSuperiorNIP: ev.AppraiserSuperiorNIP, RHK: clonePlan(s.plan)})
		s.involve(ev.AppraiserNIP, ev.AppraiserSuperiorNIP)
	case AmendmentOpened:
		s.status = StatusAmendment
		s.notes = append(s.notes, Note{Kind: "AMENDMENT_OPENED", Reason: ev.Reason, Actor: e.Meta.Actor, OccurredAt: at})
	case Cancelled:
		s.status = StatusCancelled
		s.notes = append(s.notes, Note{Kind: "CANCELLED", Reason: ev.Reason, Actor: e.Meta.Actor, OccurredAt: at})
	case ClosedForPositionChange:
		s.status = StatusClosed
		from := ev.EffectiveFrom
		s.closedFrom = &from
		s.notes = append(s.notes, Note{Kind: "CLOSED_FOR_POSITION_CHANGE", Reason: ev.Reason, Actor: e.Meta.Actor, OccurredAt: at})
	case RealisationRecorded:
		s.realisations = append(s.realisations, Realisation{ID: ev.RealisationID, Period: ev.Period, IndicatorID: ev.IndicatorID,
			RHKID: ev.RHKID, SKPVersion: ev.SKPVersion, Value: ev.Value, Narrative: ev.Narrative, OccurredAt: at, RecordedAt: e.RecordedAt})
	case EvidenceAttached:
		s.evidence = append(s.evidence, Evidence{ID: ev.EvidenceID, IndicatorID: ev.IndicatorID, RHKID: ev.RHKID, URI: ev.URI,
			SHA256: ev.SHA256, Filename: ev.Filename, MediaType: ev.MediaType, Size: ev.Size, OccurredAt: at, RecordedAt: e.RecordedAt})
	case FeedbackGiverAssigned:
		s.applyGiver(ev, e)
	case FeedbackRoundOpened:
		s.applyRoundOpened(ev, e)
	case FeedbackRoundAnswered:
		s.applyRoundAnswered(ev, e)
	case FeedbackRoundClosed:
		s.applyRoundClosed(ev, e)
	case FeedbackAnswersDisclosed:
		s.applyDisclosed(ev, e)
	case CoachingRecorded:
		s.applyCoaching(ev, e)
	case CompetencyGapIdentified:
		s.applyGap(ev, e)
	case DevelopmentActionPlanned:
		s.applyActionPlanned(ev)
	case DevelopmentActionConcluded:
		s.applyActionConcluded(ev, e)
	case RatingGroundsRecorded:
		s.applyGrounds(ev)
	case ObjectionDeciderAssigned:
		s.applyDecider(ev)
	case PlanAcknowledged:
		s.applyAcknowledged(ev, at)
	case FeedbackGiven:
		s.feedback = append(s.feedback, Feedback{ID: ev.FeedbackID, About: ev.About, Text: ev.Text, GiverNIP: ev.GiverNIP,
			Relationship: ev.Relationship, OccurredAt: at, RecordedAt: e.RecordedAt})
	case ImprovementPlanOpened:
		s.openImprovement(ev, at)
	case ImprovementPlanResultRecorded:
		s.recordImprovement(ev, at)
	case SelfAssessmentSubmitted:
		s.selfAssessments = append(s.selfAssessments, SelfAssessment{Period: ev.Period, Text: ev.Text, RHKNotes: slices.Clone(ev.RHKNotes),
			Actor: e.Meta.Actor, Revision: e.Revision, OccurredAt: at, RecordedAt: e.RecordedAt})
	case RatingAssigned:
		x := s.eval(ev.Period)
		x.scores, x.rationale, x.appraiser, x.unitHead, x.ratedAt, x.ratingEvent = ev.Scores, ev.Rationale, ev.AppraiserNIP, ev.UnitHead, at, e.ID.String()
		x.history = append(x.history, ScoreEntry{Period: ev.Period, Scores: ev.Scores, Source: SourceAppraiser,
			Rationale: ev.Rationale, Reason: e.Meta.Reason, Actor: e.Meta.Actor, EventID: e.ID.String(), Revision: e.Revision,
			OccurredAt: at, RecordedAt: e.RecordedAt})
		s.involve(ev.AppraiserNIP)
	case RatingRevised:
		x := s.eval(ev.Period)
		for i := range x.history {
			x.history[i].Superseded = true
		}
		prev := ev.Previous
		x.history = append(x.history, ScoreEntry{Period: ev.Period, Scores: ev.Scores, Previous: &prev, Source: ev.Source,
			Rationale: ev.Rationale, Reason: ev.Reason, Actor: e.Meta.Actor, EventID: e.ID.String(), Revision: e.Revision,
			ObjectionID: ev.ObjectionID, SupersedesEventID: ev.SupersedesEventID, OccurredAt: at, RecordedAt: e.RecordedAt})
		x.scores, x.rationale, x.unitHead, x.ratingEvent = ev.Scores, ev.Rationale, ev.UnitHead, e.ID.String()
		if ev.Source == SourceAppraiser {
			x.appraiser, x.ratedAt = ev.AppraiserNIP, at
		}
		s.involve(ev.AppraiserNIP)
	case EvaluationIssued:
		x := s.eval(ev.Period)
		x.issued, x.deliveredAt, x.deadline, x.issuedBy, x.delivery = true, ev.DeliveredAt, ev.ObjectionDeadline, ev.AppraiserNIP, ev.Backfill
		s.involve(ev.AppraiserNIP)
	case ReceiptAcknowledged:
		x := s.eval(ev.Period)
		r := ev.ReceivedAt
		x.receivedAt, x.receipt = &r, ev.Backfill
		if ev.ObjectionDeadline != nil && (x.deadline == nil || ev.ObjectionDeadline.After(*x.deadline)) {
			d := *ev.ObjectionDeadline
			x.deadline = &d
		}
	case EvaluationFinalised:
		s.eval(ev.Period).finalised = true
	case ObjectionFiled:
		s.applyFiling(ev, false, 0, e)
	case ObjectionFiledLate:
		s.applyFiling(ev.ObjectionFiled, true, ev.DaysLate, e)
	case ExplanationRequested:
		if o := s.findObjection(ev.ObjectionID); o != nil {
			o.requests = append(o.requests, ExplanationRequest{ID: ev.RequestID, From: ev.From, DueAt: ev.DueAt, RequestedBy: e.Meta.Actor.ID, OccurredAt: at})
		}
	case ExplanationSubmitted:
		if o := s.findObjection(ev.ObjectionID); o != nil {
			o.explanations = append(o.explanations, Explanation{RequestID: ev.RequestID, By: ev.By, Text: ev.Text, Author: e.Meta.Actor.ID, OccurredAt: at})
		}
	case ObjectionDecided:
		if o := s.findObjection(ev.ObjectionID); o != nil {
			o.decision = &Decision{Outcome: ev.Outcome, DecisionText: ev.DecisionText, Previous: ev.Previous, Result: ev.Result,
				WaiverReason: ev.WaiverReason, DecidedBy: e.Meta.Actor.ID, DecidedAt: at, RecordedAt: e.RecordedAt}
			s.involve(e.Meta.Actor.ID)
		}
	case ObjectionWithdrawn:
		if o := s.findObjection(ev.ObjectionID); o != nil {
			o.withdrawn = &Withdrawal{Reason: ev.Reason, At: at, RecordedAt: e.RecordedAt}
		}
	}
}

func (s *SKP) applyFiling(ev ObjectionFiled, late bool, daysLate int, e domain.Stored) {
	x := s.eval(ev.Period)
	x.objections = append(x.objections, &objection{
		id: ev.ObjectionID, filedAt: ev.FiledAt, filedBy: e.Meta.Actor, clerk: ev.RecordedByClerk, backfill: ev.Backfill, reasons: ev.Reasons,
		addressedTo: ev.AddressedTo, appraiser: ev.AppraiserNIP, evaluation: ev.Evaluation, deadline: ev.Deadline,
		late: late, daysLate: daysLate,
	})
	s.involve(ev.AddressedTo)
}

func (s *SKP) findObjection(id string) *objection {
	for _, x := range s.evals {
		if o := x.objection(id); o != nil {
			return o
		}
	}
	return nil
}

// ID returns the SKP's id.
func (s *SKP) ID() string { return s.id }

// NIP returns the employee's NIP.
func (s *SKP) NIP() string { return s.nip }

// Year returns the performance year.
func (s *SKP) Year() int { return s.year }

// Status returns the SKP's state.
func (s *SKP) Status() Status { return s.status }

// Revision returns the revision of the SKP stream's last event.
func (s *SKP) Revision() uint64 { return s.revision }

// Involved returns the NIPs recorded on the SKP other than the employee:
// appraisers and superiors named at drafting and establishment, raters,
// issuers, objection addressees and deciders. They may read the SKP.
func (s *SKP) Involved() []string { return slices.Clone(s.involved) }

// version returns the version in effect (the last established), or nil.
func (s *SKP) version() *PlanVersion {
	if len(s.versions) == 0 {
		return nil
	}
	return &s.versions[len(s.versions)-1]
}

// status of an evaluation at instant now.
func (ev *evaluation) status(now time.Time) (EvaluationStatus, FinalReason) {
	if !ev.issued {
		return EvalDraft, ""
	}
	for _, o := range ev.objections {
		if o.decision != nil && !o.late {
			return EvalFinal, ObjectionDecidedFinal
		}
	}
	if o := ev.current(); o != nil && o.open() && !o.late {
		return EvalUnderObjection, ""
	}
	switch {
	case ev.deadline == nil:
		return EvalFinal, NoObjectionAllowed
	case ev.finalised || !policy.WithinWindow(now, *ev.deadline):
		return EvalFinal, WindowElapsed
	}
	return EvalIssued, ""
}
