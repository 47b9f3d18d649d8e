package skp

import (
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Every event of this file lives in the stream skp-{skp_id}. The envelope
// (actor, correlation, causation, reason, occurred_at) is not repeated in
// the payloads; a payload holds the fact itself and whatever the rules
// decided with it (the appraiser in effect, the lateness flag, the deadline),
// so that replay never depends on configuration or other streams.

// Snapshot is the employee's post and unit when the SKP was drafted
// (domain.md §7.3 #2: snapshots are stored in the SKP).
type Snapshot struct {
	// Name is the employee's name.
	Name string `json:"name"`
	// UnitID is the employee's unit.
	UnitID string `json:"unit_id"`
	// Position is the employee's post.
	Position employee.Position `json:"position"`
}

// Drafted opens an SKP.
type Drafted struct {
	// SKPID is the SKP's id: {nip}-{year}, or {nip}-{year}-{n} for the n-th.
	SKPID string `json:"skp_id"`
	// NIP is the employee's normalised NIP.
	NIP string `json:"nip"`
	// Year is the performance year.
	Year int `json:"year"`
	// Sequence is n of the id (1 for the first SKP of the year).
	Sequence int `json:"sequence"`
	// Approach is KUANTITATIF or KUALITATIF.
	Approach Approach `json:"approach"`
	// PeriodStart and PeriodEnd bound the SKP (the performance year).
	PeriodStart calendar.Date `json:"period_start"`
	PeriodEnd   calendar.Date `json:"period_end"`
	// Employee is the snapshot of the employee's post and unit.
	Employee Snapshot `json:"employee"`
	// AppraiserNIP and AppraiserSuperiorNIP are the reporting line in effect
	// on the drafting date ("" when none was in effect).
	AppraiserNIP         string `json:"appraiser_nip,omitempty"`
	AppraiserSuperiorNIP string `json:"appraiser_superior_nip,omitempty"`
	// DraftedOnBehalf is true when HR_ADMIN drafted it for the employee.
	DraftedOnBehalf bool `json:"drafted_on_behalf"`
	// Cadence is the periodic evaluation cadence this SKP follows.
	Cadence period.Cadence `json:"cadence"`
	// PolicyVersion names the rule set in force when it was drafted.
	PolicyVersion string `json:"policy_version"`
}

// RHKAdded adds a planned work result (Rencana Hasil Kerja).
type RHKAdded struct {
	// RHKID identifies the RHK.
	RHKID string `json:"rhk_id"`
	// Text is the planned result.
	Text string `json:"text"`
	// Kind is UTAMA or TAMBAHAN.
	Kind RHKKind `json:"kind"`
	// IntervenedRHKID is the appraiser's RHK this one contributes to (the
	// cascading link), "" while pending.
	IntervenedRHKID string `json:"intervened_rhk_id,omitempty"`
	// IntervenedSKPID is the appraiser's SKP that held IntervenedRHKID when
	// the link was checked.
	IntervenedSKPID string `json:"intervened_skp_id,omitempty"`
	// PKRef cites the Perjanjian Kinerja item a JPT RHK derives from.
	PKRef string `json:"pk_ref,omitempty"`
}

// EventType implements [domain.Event].
func (RHKAdded) EventType() string { return "skp.rhk_added.v1" }

// RHKChanged replaces the fields of an RHK (its indicators stay).
type RHKChanged struct {
	// RHKID identifies the RHK; the other fields are its new values, as in
	// [RHKAdded].
	RHKID           string  `json:"rhk_id"`
	Text            string  `json:"text"`
	Kind            RHKKind `json:"kind"`
	IntervenedRHKID string  `json:"intervened_rhk_id,omitempty"`
	IntervenedSKPID string  `json:"intervened_skp_id,omitempty"`
	PKRef           string  `json:"pk_ref,omitempty"`
}

// EventType implements [domain.Event].
func (RHKChanged) EventType() string { return "skp.rhk_changed.v1" }

// RHKRemoved removes an RHK and its indicators from the working plan.
type RHKRemoved struct {
	// RHKID identifies the RHK.
	RHKID string `json:"rhk_id"`
}

// EventType implements [domain.Event].
func (RHKRemoved) EventType() string { return "skp.rhk_removed.v1" }

// Target is an indicator's target.
type Target struct {
	// Value is the target quantity (finite, not negative).
	Value float64 `json:"value"`
	// Unit is the unit of measure ("dokumen", "%", "hari", "rupiah").
	Unit string `json:"unit"`
}

// IndicatorAdded adds an individual performance indicator (IKI) to an RHK.
type IndicatorAdded struct {
	// IndicatorID identifies the indicator.
	IndicatorID string `json:"indicator_id"`
	// RHKID is the RHK it measures.
	RHKID string `json:"rhk_id"`
	// Aspect is KUANTITAS, KUALITAS, WAKTU or BIAYA.
	Aspect Aspect `json:"aspect"`
	// Text is the indicator.
	Text string `json:"text"`
	// Target is the target.
	Target Target `json:"target"`
	// Direction, at schema version 2, overrides the aspect's direction
	// (HIGHER_IS_BETTER or LOWER_IS_BETTER) for the capaian; empty: the
	// aspect's (DirectionOf). Schema 1 has none and upcasts unchanged.
	Direction Direction `json:"direction,omitempty"`
}

// EventType implements [domain.Event].
func (IndicatorAdded) EventType() string { return "skp.indicator_added.v1" }

// IndicatorChanged replaces the fields of an indicator.
type IndicatorChanged struct {
	// IndicatorID identifies the indicator; the other fields are its new
	// values, as in [IndicatorAdded].
	IndicatorID string    `json:"indicator_id"`
	Aspect      Aspect    `json:"aspect"`
	Text        string    `json:"text"`
	Target      Target    `json:"target"`
	Direction   Direction `json:"direction,omitempty"`
}

// EventType implements [domain.Event].
func (IndicatorChanged) EventType() string { return "skp.indicator_changed.v1" }

// IndicatorRemoved removes an indicator from the working plan.
type IndicatorRemoved struct {
	// IndicatorID identifies the indicator.
	IndicatorID string `json:"indicator_id"`
}

// EventType implements [domain.Event].
func (IndicatorRemoved) EventType() string { return "skp.indicator_removed.v1" }

// BehaviourExpectationSet records the appraiser's specific expectation
// (ekspektasi khusus pimpinan) for one BerAKHLAK value; a later one for the
// same value replaces it.
type BehaviourExpectationSet struct {
	// Value is one of the seven BerAKHLAK values.
	Value berakhlak.Value `json:"value"`
	// Expectation is the expectation text.
	Expectation string `json:"expectation"`
}

// EventType implements [domain.Event].
func (BehaviourExpectationSet) EventType() string { return "skp.behaviour_expectation_set.v1" }

// Submitted records the employee's submission (and signature) of the plan.
type Submitted struct {
	// Version is the version the plan becomes when established.
	Version int `json:"version"`
}

// EventType implements [domain.Event].
func (Submitted) EventType() string { return "skp.submitted.v1" }

// Returned sends a submitted plan back to the employee.
type Returned struct {
	// Reason says what to revise.
	Reason string `json:"reason"`
}

// EventType implements [domain.Event].
func (Returned) EventType() string { return "skp.returned.v1" }

// Established records the appraiser's establishment (penetapan) of a plan
// version; the working plan at that moment becomes that version.
type Established struct {
	// Version is 1, or n+1 after an amendment.
	Version int `json:"version"`
	// Late is true when version 1 was established after Deadline.
	Late bool `json:"late"`
	// Deadline is the establishment deadline that applied.
	Deadline calendar.Date `json:"deadline"`
	// AppraiserNIP and AppraiserSuperiorNIP are the line in effect.
	AppraiserNIP         string `json:"appraiser_nip"`
	AppraiserSuperiorNIP string `json:"appraiser_superior_nip,omitempty"`
	// EmployeeSignedAt is when the employee submitted this version, if they
	// did (an amendment may be established without a new submission).
	EmployeeSignedAt *time.Time `json:"employee_signed_at,omitempty"`
	// AppraiserSignedAt is the establishment's business time.
	AppraiserSignedAt time.Time `json:"appraiser_signed_at"`
}

// EventType implements [domain.Event].
func (Established) EventType() string { return "skp.established.v1" }

// AmendmentOpened makes an established SKP editable again. The version in
// effect stays in effect until the next establishment; evaluations are
// never touched.
type AmendmentOpened struct {
	// FromVersion is the version being amended.
	FromVersion int `json:"from_version"`
	// Reason says why (reorganisation, a superior's RHK changed, a new
	// assignment).
	Reason string `json:"reason"`
}

// EventType implements [domain.Event].
func (AmendmentOpened) EventType() string { return "skp.amendment_opened.v1" }

// Cancelled ends an SKP that is not final. The stream is kept.
type Cancelled struct {
	// Reason is required.
	Reason string `json:"reason"`
}

// EventType implements [domain.Event].
func (Cancelled) EventType() string { return "skp.cancelled.v1" }

// ClosedForPositionChange ends an SKP because the employee moved to another
// post; a new SKP is drafted for the new post.
type ClosedForPositionChange struct {
	// EffectiveFrom is the first day in the new post.
	EffectiveFrom calendar.Date `json:"effective_from"`
	// Reason describes the change (decree, new post).
	Reason string `json:"reason,omitempty"`
}

// EventType implements [domain.Event].
func (ClosedForPositionChange) EventType() string { return "skp.closed_for_position_change.v1" }

// RealisationRecorded records what was achieved on an indicator in a period.
type RealisationRecorded struct {
	// RealisationID identifies the record.
	RealisationID string `json:"realisation_id"`
	// Period is the period ("2026", "2026-Q1", "2026-01").
	Period string `json:"period"`
	// IndicatorID and RHKID name the indicator in the version in effect.
	IndicatorID string `json:"indicator_id"`
	RHKID       string `json:"rhk_id"`
	// SKPVersion is the version in effect.
	SKPVersion int `json:"skp_version"`
	// Value is the achieved quantity.
	Value float64 `json:"value"`
	// Narrative explains it.
	Narrative string `json:"narrative,omitempty"`
}

// EventType implements [domain.Event].
func (RealisationRecorded) EventType() string { return "skp.realisation_recorded.v1" }

// EvidenceAttached records supporting evidence (bukti dukung) metadata. The
// file itself lives elsewhere; its hash makes it verifiable.
type EvidenceAttached struct {
	// EvidenceID identifies the record.
	EvidenceID string `json:"evidence_id"`
	// IndicatorID and RHKID name the indicator in the version in effect.
	IndicatorID string `json:"indicator_id"`
	RHKID       string `json:"rhk_id"`
	// URI locates the file.
	URI string `json:"uri"`
	// SHA256 is the file's SHA-256, 64 lower-case hex digits.
	SHA256 string `json:"sha256"`
	// Filename is the file's name.
	Filename string `json:"filename"`
	// MediaType is the file's media type, such as "application/pdf".
	MediaType string `json:"media_type"`
	// Size is the file's size in bytes (> 0).
	Size int64 `json:"size"`
}

// EventType implements [domain.Event].
func (EvidenceAttached) EventType() string { return "skp.evidence_attached.v1" }

// FeedbackAbout says what feedback concerns; all empty means general.
type FeedbackAbout struct {
	// RHKID is an RHK of the SKP.
	RHKID string `json:"rhk_id,omitempty"`
	// IndicatorID is an indicator of the SKP.
	IndicatorID string `json:"indicator_id,omitempty"`
	// Behaviour is a BerAKHLAK value.
	Behaviour berakhlak.Value `json:"behaviour,omitempty"`
}

// FeedbackGiven records continuous feedback (umpan balik berkelanjutan).
type FeedbackGiven struct {
	// FeedbackID identifies the record.
	FeedbackID string `json:"feedback_id"`
	// About says what it concerns.
	About FeedbackAbout `json:"about"`
	// Text is the feedback.
	Text string `json:"text"`
	// GiverNIP is who gave it.
	GiverNIP string `json:"giver_nip"`
	// Relationship is the giver's relationship: APPRAISER, PEER or SELF.
	Relationship Relationship `json:"relationship"`
}

// EventType implements [domain.Event].
func (FeedbackGiven) EventType() string { return "skp.feedback_given.v1" }

// Scores are the two ratings and the predikat derived from them.
type Scores struct {
	// WorkResult is the rating of work results.
	WorkResult rating.Rating `json:"work_result"`
	// Behaviour is the rating of behaviour.
	Behaviour rating.Rating `json:"behaviour"`
	// Predikat is rating.Derive(WorkResult, Behaviour), stored for readers.
	Predikat rating.Predikat `json:"predikat"`
}

// UnitHeadBasis records that a work-result rating followed the organisation
// predikat of the unit the employee heads (domain.md §4.3).
type UnitHeadBasis struct {
	// UnitID is the unit headed.
	UnitID string `json:"unit_id"`
	// OrgPredikat is the unit's predikat for the period.
	OrgPredikat rating.OrgPredikat `json:"org_predikat"`
}

// RatingAssigned records the first rating of a period by the appraiser.
type RatingAssigned struct {
	// Period is the period rated.
	Period string `json:"period"`
	// Scores holds the ratings and derived predikat.
	Scores
	// Rationale explains the ratings.
	Rationale string `json:"rationale"`
	// AppraiserNIP is the appraiser in effect.
	AppraiserNIP string `json:"appraiser_nip"`
	// UnitHead is set when the work result derives from a unit's predikat.
	UnitHead *UnitHeadBasis `json:"unit_head,omitempty"`
	// PolicyVersion names the rule set applied.
	PolicyVersion string `json:"policy_version"`
	// Feedback360 identifies the 360° summary of the period the rating was
	// given beside (schema version 2; absent when there was no round).
	Feedback360 *Feedback360Basis `json:"feedback360,omitempty"`
}

// EventType implements [domain.Event].
func (RatingAssigned) EventType() string { return "skp.rating_assigned.v1" }

// RatingRevised replaces the ratings of a period: by the appraiser before
// issue (source APPRAISER) or by an objection decision (source OBJECTION).
// It always carries the values it replaces.
type RatingRevised struct {
	// Period is the period.
	Period string `json:"period"`
	// Previous are the scores replaced.
	Previous Scores `json:"previous"`
	// Scores are the new scores.
	Scores
	// Source is APPRAISER or OBJECTION.
	Source Source `json:"source"`
	// Rationale explains the new ratings.
	Rationale string `json:"rationale"`
	// Reason says why they were replaced (required).
	Reason string `json:"reason"`
	// ObjectionID is the objection decided, for source OBJECTION.
	ObjectionID string `json:"objection_id,omitempty"`
	// SupersedesEventID is the event that set Previous.
	SupersedesEventID string `json:"supersedes_event_id"`
	// AppraiserNIP is who rated (the appraiser, or the superior deciding).
	AppraiserNIP string `json:"appraiser_nip"`
	// UnitHead is set when the work result derives from a unit's predikat.
	UnitHead *UnitHeadBasis `json:"unit_head,omitempty"`
	// PolicyVersion names the rule set applied.
	PolicyVersion string `json:"policy_version"`
	// Feedback360 identifies the 360° summary of the period an appraiser's
	// revision was given beside (schema version 2; never for an objection
	// decision).
	Feedback360 *Feedback360Basis `json:"feedback360,omitempty"`
}

// EventType implements [domain.Event].
func (RatingRevised) EventType() string { return "skp.rating_revised.v1" }

// EvaluationIssued locks the ratings of a period and records delivery to
// the employee, which starts the objection window.
type EvaluationIssued struct {
	// Period is the period.
	Period string `json:"period"`
	// Scores are the scores issued.
	Scores
	// DeliveredAt is when the employee received the result.
	DeliveredAt time.Time `json:"delivered_at"`
	// ObjectionDeadline is the last instant to file an objection; absent
	// when objections to this period are not allowed (then the evaluation
	// is final on issue).
	ObjectionDeadline *time.Time `json:"objection_deadline,omitempty"`
	// AppraiserNIP is the appraiser who issued it.
	AppraiserNIP string `json:"appraiser_nip"`
	// PolicyVersion names the rule set applied.
	PolicyVersion string `json:"policy_version"`
	// Backfill, from schema version 2, is the paper of a delivery a
	// grievance clerk entered after the fact for the appraiser who signed
	// it (domain.md §10). The window then runs from that delivery; an
	// acknowledgement of receipt does not move it. Absent (all version 1
	// events) for a delivery recorded by the appraiser.
	Backfill *bizdate.Backfill `json:"backfill,omitempty"`
}

// EventType implements [domain.Event].
func (EvaluationIssued) EventType() string { return "skp.evaluation_issued.v1" }

// ReceiptAcknowledged records the employee's acknowledgement of receipt of
// an issued evaluation (domain.md §10, PP 30/2019 Art. 59: the 14 days run
// from receiving the result). The objection window runs from the later of
// the delivery and this acknowledgement, unless the delivery was a
// backfill on paper.
type ReceiptAcknowledged struct {
	// Period is the evaluation's period.
	Period string `json:"period"`
	// ReceivedAt is when the employee received the result.
	ReceivedAt time.Time `json:"received_at"`
	// ObjectionDeadline is the window's last instant after this
	// acknowledgement (never earlier than before it); absent when
	// objections to the period are not allowed.
	ObjectionDeadline *time.Time `json:"objection_deadline,omitempty"`
	// Backfill is the paper of an acknowledgement a grievance clerk
	// entered for the employee.
	Backfill *bizdate.Backfill `json:"backfill,omitempty"`
}

// EventType implements [domain.Event].
func (ReceiptAcknowledged) EventType() string { return "skp.receipt_acknowledged.v1" }

// EvaluationFinalised records that an issued evaluation became final
// because its objection window elapsed without an objection. Finality is
// also derived from the clock at query time; this event makes it a fact
// projections can see.
type EvaluationFinalised struct {
	// Period is the period.
	Period string `json:"period"`
	// Reason is WINDOW_ELAPSED.
	Reason FinalReason `json:"reason"`
}

// EventType implements [domain.Event].
func (EvaluationFinalised) EventType() string { return "skp.evaluation_finalised.v1" }

// ObjectionFiled records an objection (keberatan) within the window.
type ObjectionFiled struct {
	// ObjectionID identifies the objection.
	ObjectionID string `json:"objection_id"`
	// Period is the evaluation objected to.
	Period string `json:"period"`
	// Reasons are the employee's reasons.
	Reasons string `json:"reasons"`
	// FiledAt is the filing date that counts for the window.
	FiledAt time.Time `json:"filed_at"`
	// RecordedByClerk is the grievance clerk who recorded a paper filing.
	RecordedByClerk string `json:"recorded_by_clerk,omitempty"`
	// AddressedTo is the appraiser's superior in effect on the filing date,
	// who decides; "" when no line was in effect.
	AddressedTo string `json:"addressed_to,omitempty"`
	// AppraiserNIP is the appraiser who issued the evaluation.
	AppraiserNIP string `json:"appraiser_nip"`
	// Evaluation are the scores objected to.
	Evaluation Scores `json:"evaluation"`
	// Deadline is the window's last instant.
	Deadline time.Time `json:"deadline"`
	// Backfill, from schema version 2, is the paper of a filing a
	// grievance clerk entered after the fact (domain.md §10); only then may
	// FiledAt lie more than the tolerance before the recording.
	Backfill *bizdate.Backfill `json:"backfill,omitempty"`
}

// EventType implements [domain.Event].
func (ObjectionFiled) EventType() string { return "skp.objection_filed.v1" }

// ObjectionFiledLate records a filing after the window, when the policy
// records late filings instead of refusing them; the appraiser's superior
// rejects it with an UPHELD decision.
type ObjectionFiledLate struct {
	// ObjectionFiled holds the filing, as for a timely one.
	ObjectionFiled
	// DaysLate is the number of days after the deadline's day.
	DaysLate int `json:"days_late"`
}

// EventType implements [domain.Event].
func (ObjectionFiledLate) EventType() string { return "skp.objection_filed_late.v1" }

// ExplanationRequested records the superior's request for an explanation.
type ExplanationRequested struct {
	// ObjectionID is the objection.
	ObjectionID string `json:"objection_id"`
	// RequestID identifies the request.
	RequestID string `json:"request_id"`
	// From is APPRAISER or EMPLOYEE.
	From Party `json:"from"`
	// DueAt is an optional answer deadline.
	DueAt *time.Time `json:"due_at,omitempty"`
}

// EventType implements [domain.Event].
func (ExplanationRequested) EventType() string { return "skp.explanation_requested.v1" }

// ExplanationSubmitted records an explanation by a party that was asked.
type ExplanationSubmitted struct {
	// ObjectionID is the objection.
	ObjectionID string `json:"objection_id"`
	// RequestID is the request answered.
	RequestID string `json:"request_id"`
	// By is APPRAISER or EMPLOYEE.
	By Party `json:"by"`
	// Text is the explanation.
	Text string `json:"text"`
}

// EventType implements [domain.Event].
func (ExplanationSubmitted) EventType() string { return "skp.explanation_submitted.v1" }

// ObjectionDecided records the superior's final decision. For CHANGED a
// [RatingRevised] with source OBJECTION follows in the same append.
type ObjectionDecided struct {
	// ObjectionID is the objection.
	ObjectionID string `json:"objection_id"`
	// Period is the evaluation.
	Period string `json:"period"`
	// Outcome is UPHELD or CHANGED.
	Outcome Outcome `json:"outcome"`
	// DecisionText gives the grounds.
	DecisionText string `json:"decision_text"`
	// Previous are the scores before the decision.
	Previous Scores `json:"previous"`
	// Result are the scores after it (equal to Previous for UPHELD).
	Result Scores `json:"result"`
	// WaiverReason explains why a party was not asked to explain, if so.
	WaiverReason string `json:"waiver_reason,omitempty"`
	// Final is always true: the decision is final (PP 30/2019 Art. 59(4)).
	Final bool `json:"final"`
}

// EventType implements [domain.Event].
func (ObjectionDecided) EventType() string { return "skp.objection_decided.v1" }

// ObjectionWithdrawn records the employee's withdrawal before a decision.
type ObjectionWithdrawn struct {
	// ObjectionID is the objection.
	ObjectionID string `json:"objection_id"`
	// Period is the evaluation.
	Period string `json:"period"`
	// Reason is optional.
	Reason string `json:"reason,omitempty"`
}

// EventType implements [domain.Event].
func (ObjectionWithdrawn) EventType() string { return "skp.objection_withdrawn.v1" }

// EventType implements [domain.Event].
func (Drafted) EventType() string { return "skp.drafted.v1" }

// SelfAssessmentSubmitted records the employee's self-assessment of a
// period: a text and, optionally, a note per RHK of the version in effect.
// A later one for the same period supersedes it (both stay in history).
type SelfAssessmentSubmitted struct {
	// Period is the period assessed.
	Period string `json:"period"`
	// Text is the assessment.
	Text string `json:"text"`
	// RHKNotes are notes on single RHK, in plan order.
	RHKNotes []RHKNote `json:"rhk_notes,omitempty"`
}

// RHKNote is a self-assessment's note on one RHK.
type RHKNote struct {
	// RHKID is an RHK of the version in effect.
	RHKID string `json:"rhk_id"`
	// Note is the note.
	Note string `json:"note"`
}

// EventType implements domain.Event.
func (SelfAssessmentSubmitted) EventType() string { return "skp.self_assessment_submitted.v1" }

// Events returns the specs of this package's events, for the codec.
func Events() []domain.EventSpec {
	return []domain.EventSpec{
		domain.Spec[Drafted](1),
		domain.Spec[RHKAdded](1),
		domain.Spec[RHKChanged](1),
		domain.Spec[RHKRemoved](1),
		domain.Spec[IndicatorAdded](2),
		domain.Spec[IndicatorChanged](2),
		domain.Spec[IndicatorRemoved](1),
		domain.Spec[BehaviourExpectationSet](1),
		domain.Spec[Submitted](1),
		domain.Spec[Returned](1),
		domain.Spec[Established](1),
		domain.Spec[AmendmentOpened](1),
		domain.Spec[Cancelled](1),
		domain.Spec[ClosedForPositionChange](1),
		domain.Spec[RealisationRecorded](1),
		domain.Spec[EvidenceAttached](1),
		domain.Spec[FeedbackGiven](1),
		domain.Spec[FeedbackGiverAssigned](1),
		domain.Spec[RatingGroundsRecorded](1),
		domain.Spec[ObjectionDeciderAssigned](1),
		domain.Spec[PlanAcknowledged](1),
		domain.Spec[SelfAssessmentSubmitted](1),
		domain.Spec[FeedbackRoundOpened](1),
		domain.Spec[FeedbackRoundAnswered](1),
		domain.Spec[FeedbackRoundClosed](1),
		domain.Spec[FeedbackAnswersDisclosed](1),
		domain.Spec[CoachingRecorded](1),
		domain.Spec[CompetencyGapIdentified](1),
		domain.Spec[DevelopmentActionPlanned](1),
		domain.Spec[DevelopmentActionConcluded](1),
		domain.Spec[RatingAssigned](2),
		domain.Spec[RatingRevised](2),
		domain.Spec[EvaluationIssued](2),
		domain.Spec[ReceiptAcknowledged](1),
		domain.Spec[EvaluationFinalised](1),
		domain.Spec[ObjectionFiled](2),
		domain.Spec[ObjectionFiledLate](2),
		domain.Spec[ExplanationRequested](1),
		domain.Spec[ExplanationSubmitted](1),
		domain.Spec[ObjectionDecided](1),
		domain.Spec[ObjectionWithdrawn](1),
		domain.Spec[ImprovementPlanOpened](1),
		domain.Spec[ImprovementPlanResultRecorded](1),
	}
}

// ImprovementPlanOpened opens the improvement plan of a final evaluation
// whose predikat is BUTUH_PERBAIKAN or worse (issue 14; improvement.go).
type ImprovementPlanOpened struct {
	// Period is the evaluation's period.
	Period string `json:"period"`
	// Predikat is the final predikat that called for the plan.
	Predikat rating.Predikat `json:"predikat"`
	// Goals and Actions are the plan.
	Goals   string `json:"goals"`
	Actions string `json:"actions"`
	// FollowUpOn is the follow-up date.
	FollowUpOn calendar.Date `json:"follow_up_on"`
	// AppraiserNIP is who opened it (the appraiser in effect, or HR_ADMIN).
	AppraiserNIP string `json:"appraiser_nip"`
}

// EventType implements domain.Event.
func (ImprovementPlanOpened) EventType() string { return "skp.improvement_plan_opened.v1" }

// ImprovementPlanResultRecorded records the result of an improvement plan.
type ImprovementPlanResultRecorded struct {
	// Period is the evaluation's period.
	Period string `json:"period"`
	// Result is IMPROVED, PARTLY_IMPROVED or NOT_IMPROVED.
	Result ImprovementResult `json:"result"`
	// Note explains the result.
	Note string `json:"note"`
	// AppraiserNIP is who recorded it.
	AppraiserNIP string `json:"appraiser_nip"`
}

// EventType implements domain.Event.
func (ImprovementPlanResultRecorded) EventType() string {
	return "skp.improvement_plan_result_recorded.v1"
}
