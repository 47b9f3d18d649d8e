package httpapi

// The OpenAPI 3.1 document (openapi.json) is generated from the operation
// table below and the Go types the handlers decode and encode (by
// reflection, following encoding/json's rules), then committed and
// embedded. TestOpenAPIUpToDate fails when the committed file differs from
// what the table and types give now (regenerate with
// `go test ./adapters/httpapi -run TestOpenAPIUpToDate -update`);
// TestOpenAPIMatchesRoutes fails when the table and the registered routes
// differ; and the harness validates every JSON answer of every test
// against the document.

import (
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
	"github.com/kinerja-ledger/kinerja/projections/development"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the operation table and the Go types")

type obj = map[string]any

// param is a query or header parameter.
type param struct {
	name, in, desc string
	schema         obj
}

// qagency is the audit routes' ?agency=.
var qagency = qstr("agency", "an agency's root unit ID (- for the national log of events of no agency): that agency's log (NATIONAL_AUDITOR; an agency's AUDITOR may name only their own, another is 404)")

func qstr(name, desc string) param { return param{name, "query", desc, obj{"type": "string"}} }
func qint(name, desc string) param { return param{name, "query", desc, obj{"type": "integer"}} }
func qenum(name, desc string, values ...string) param {
	e := make([]any, len(values))
	for i, v := range values {
		e[i] = v
	}
	return param{name, "query", desc, obj{"type": "string", "enum": e}}
}

// asOfReportParam is the as-of control of the unit reports.
var asOfReportParam = qstr("as_of", "the report as recorded then: an RFC 3339 time with zone (events recorded at or before it) or a ledger position (events at or before it); "+
	"the answer's as_of repeats it. The units, their organisation predikat and justifications are today's. A future time or a position past the head is 400")

func qtime(name, desc string) param {
	return param{name, "query", desc, obj{"type": "string", "format": "date-time"}}
}

// op is one operation of the API.
type op struct {
	method, path, tag, summary, desc string
	body                             any  // request body type (a zero value); nil for none
	bodyOptional                     bool // an empty body is accepted
	status                           int  // success status
	resp                             any  // success body type; nil: see special
	special                          string
	params                           []param
	versioned                        bool // the answer carries an ETag
	location                         bool // 201 with Location
	position                         bool // Kinerja-Projection-Position
	extra                            []int
}

var (
	formatParam = param{"format", "query", "json (default), csv or xlsx; Accept: text/csv also selects CSV", obj{"type": "string", "enum": []any{"json", "csv", "xlsx"}}}
	unitParam   = qstr("unit", "a unit: the answer covers it and every unit below it")
	// tableParams shape the CSV and Excel files (docs/documents.md).
	tableParams = []param{
		qenum("sep", "CSV separator: ; (default, with a UTF-8 byte-order mark, for Excel in the Indonesian locale) or , (for programs, no mark)", ";", ","),
		qenum("codes", "1 keeps column codes, enumeration codes, RFC 3339 times and plain NIPs (for programs); default: Indonesian labels", "0", "1"),
		qenum("lang", "language of headers and labels: id (default) or en", "id", "en"),
	}
)

func operations() []op {
	action := ActionBody{}
	return []op{
		{method: "GET", path: "/healthz", tag: "operations", summary: "The process is alive", status: 200, special: "status"},
		{method: "GET", path: "/readyz", tag: "operations", summary: "Ready (200 ready or degraded, with each projection's state) or not (503)", status: 200, resp: Readiness{}, extra: []int{503}},
		{method: "GET", path: "/metrics", tag: "operations", summary: "Prometheus metrics", status: 200, special: "metrics"},
		{method: "GET", path: "/openapi.json", tag: "operations", summary: "This document", status: 200, special: "openapi"},

		{method: "POST", path: "/v1/units", tag: "master data", summary: "Register a unit (HR_ADMIN)", body: CreateUnitBody{}, status: 201, resp: UnitResponse{}, versioned: true, location: true, position: true},
		{method: "GET", path: "/v1/units", tag: "master data", summary: "Every unit (directory projection)", status: 200, resp: UnitList{}, position: true},
		{method: "GET", path: "/v1/units/{id}", tag: "master data", summary: "A unit with its children", status: 200, resp: UnitResponse{}, versioned: true, position: true},
		{method: "PUT", path: "/v1/units/{id}/performance/{period}", tag: "master data", summary: "Set the organisation predikat of a period (the leader one level up, with basis_ref; HR_ADMIN only as a backfill with paper_ref); a change needs reason",
			desc: "The setter is the head of the parent unit on occurred_at (for a root unit its own head), or the head of the body the policy names; the history records capacity, basis_ref and paper_ref.",
			body: RateUnitBody{}, status: 200, resp: UnitResponse{}, versioned: true, position: true},
		{method: "PUT", path: "/v1/units/{id}/head", tag: "master data", summary: "Record the unit head from a date (HR_ADMIN; an earlier date only as a backfill with paper_ref)",
			desc: "An effective_from before today (in the agency zone; yesterday within the backdate tolerance after midnight) is a backfill: HR_ADMIN with paper_ref (the decree, SK), " +
				"at most the backfill maximum age (default 90 days) back; without paper_ref 422 on paper_ref, too old 422 on effective_from; paper_ref on a date not before today 422. " +
				"effective_from may lie at most 366 days ahead. The event and the audit trail record the backfill.", body: AssignHeadBody{}, status: 200, resp: UnitResponse{}, versioned: true, position: true},
		{method: "PUT", path: "/v1/units/{id}/name", tag: "master data", summary: "Correct the unit's name; its id and place in the tree stay (HR_ADMIN)", body: RenameUnitBody{}, status: 200, resp: UnitResponse{}, versioned: true, position: true},
		{method: "PUT", path: "/v1/units/{id}/zone", tag: "master data", summary: "Set the time zone the unit works in: WIB, WITA or WIT; the dashboard shows its times in it (HR_ADMIN)", body: SetUnitZoneBody{}, status: 200, resp: UnitResponse{}, versioned: true, position: true},
		{method: "POST", path: "/v1/units/{id}/distribution/{period}/justifications", tag: "master data",
			summary: "Justify a distribution that deviates from the pattern (the leader one level up)", body: JustifyDistributionBody{}, status: 201, resp: JustificationsResponse{}, versioned: true},

		{method: "POST", path: "/v1/officials", tag: "master data", summary: "Register an official without a NIP (minister, regent, mayor…) (HR_ADMIN)",
			desc: "Reporting lines and tokens name the official as official:{id}; the same official may be appraiser and appraiser's superior (domain.md §2.1), never the decider of an objection to their own rating.",
			body: OfficialBody{}, status: 201, resp: OfficialResponse{}, versioned: true},
		{method: "POST", path: "/v1/employees", tag: "master data", summary: "Register an employee (HR_ADMIN); asn_type, birth_date and sex come from the NIP",
			body: CreateEmployeeBody{}, status: 201, resp: employee.View{}, versioned: true, location: true},
		{method: "GET", path: "/v1/employees", tag: "master data", summary: "Find employees (HR roles, AUDITOR): by name, NIP prefix, unit with sub-units, position kind, SKP status",
			desc:   "Ordered by the name folded (accents removed, lower case), then NIP. q matches names that contain it (match=prefix: that start with it), case- and accent-insensitively.",
			status: 200, resp: EmployeePage{}, position: true,
			params: []param{qstr("q", "part of the name, at most 100 characters"), qenum("match", "contains (default) or prefix", "contains", "prefix"),
				qstr("nip", "the first digits of the NIP or NI PPPK (spaces ignored)"), unitParam, qenum("kind", "a position kind; any other value is 400", positionKinds()...),
				qenum("skp_status", "employees with an SKP of the year in this status; NONE: without an SKP of the year that is not cancelled (needs year)", skpStatusFilters()...),
				qint("year", "the year of skp_status, 2000 to 2100"),
				qint("limit", "1 to 500, default 50"), qstr("cursor", "next_cursor of the previous page with the same filters; 400 for any other")}},
		{method: "GET", path: "/v1/employees/{nip}", tag: "master data", summary: "An employee with the reporting line in effect (NIP in any printed form)", status: 200, resp: employee.View{}, versioned: true},
		{method: "PUT", path: "/v1/employees/{nip}/reporting-line", tag: "master data", summary: "Assign the reporting line from a date (HR_ADMIN; an earlier date only as a backfill with paper_ref)",
			desc: "An effective_from before today (in the agency zone; yesterday within the backdate tolerance after midnight) is a backfill: HR_ADMIN with paper_ref (the decree, SK), " +
				"at most the backfill maximum age (default 90 days) back; without paper_ref 422 on paper_ref, too old 422 on effective_from; paper_ref on a date not before today 422. " +
				"effective_from may lie at most 366 days ahead. The event and the audit trail record the backfill.", body: ReportingLineBody{}, status: 200, resp: employee.View{}, versioned: true},
		{method: "PUT", path: "/v1/employees/{nip}/position", tag: "master data", summary: "Record a new post or unit from a date (HR_ADMIN; an earlier date only as a backfill with paper_ref)",
			desc: "An effective_from before today (in the agency zone; yesterday within the backdate tolerance after midnight) is a backfill: HR_ADMIN with paper_ref (the decree, SK), " +
				"at most the backfill maximum age (default 90 days) back; without paper_ref 422 on paper_ref, too old 422 on effective_from; paper_ref on a date not before today 422. " +
				"effective_from may lie at most 366 days ahead. The event and the audit trail record the backfill.", body: PositionChangeBody{}, status: 200, resp: employee.View{}, versioned: true},
		{method: "PUT", path: "/v1/employees/{nip}/transfer-release", tag: "master data", summary: "Release the employee to another agency (HR_ADMIN of the employee's agency)",
			desc: "Records employee.transfer_released.v1: the HR_ADMIN of to_agency (a root unit) may then record the move (PUT position into a unit of that agency) until expires_on " +
				"(today to 180 days ahead); the move consumes the release. Without a release another agency's employee is not found. 422 for an unknown agency, the employee's own, or a date out of range.",
			body: TransferReleaseBody{}, status: 200, resp: employee.View{}, versioned: true},
		{method: "GET", path: "/v1/employees/{nip}/timeline", tag: "history", summary: "The employee's timeline, newest first (the employee, AUDITOR)", status: 200, resp: TimelinePage{}, position: true,
			params: []param{qint("before", "the next field of the previous page"), qint("limit", "1 to 500, default 50")}},
		{method: "GET", path: "/v1/inbox", tag: "history", summary: "What waits for the caller, the nearest deadline first (the deadline process manager's items)",
			desc:   "SKPs to submit, establish or return, periods to rate, evaluations to issue, objections to decide, explanations asked and an open objection window. An inbox is its owner's alone: nip, when given, must be the caller's (403 otherwise, whatever the roles).",
			status: 200, resp: InboxPage{}, params: []param{qstr("nip", "whose inbox: the caller's (default)")}},
		{method: "GET", path: "/v1/employees/{nip}/score-history", tag: "history", summary: "Every rating of every SKP of the employee (parties, AUDITOR)", status: 200, resp: EmployeeScores{}, position: true},

		{method: "POST", path: "/v1/skps", tag: "skp", summary: "Draft an SKP (the employee, or HR_ADMIN for them)",
			desc: "The appraiser in effect on occurred_at is recorded; 409 conflict if the employee already has an open SKP for that year.", body: DraftBody{}, status: 201, resp: skp.View{}, versioned: true, location: true},
		{method: "GET", path: "/v1/skps", tag: "skp", summary: "SKPs the caller may see (skps projection)", status: 200, resp: SKPPage{}, position: true,
			params: []param{qstr("nip", "the employee"), qint("year", "the performance year"), unitParam, qenum("status", "an SKP status; any other value is 400", reports.Statuses()...),
				qint("limit", "1 to 500, default 50"), qstr("cursor", "next_cursor of the previous page with the same filters; 400 for any other")}},
		{method: "GET", path: "/v1/skps/{id}", tag: "skp", summary: "The SKP now, as recorded at as_of, or after event revision",
			desc:   "Replays the SKP's stream: as_of keeps the events recorded at or before that instant (RFC 3339 with zone; encode + as %2B), revision the events up to and including it. Derived states (an evaluation whose objection window passed is FINAL) are judged at as_of. 404 when the SKP did not exist then.",
			status: 200, resp: skp.View{}, versioned: true, extra: []int{304},
			params: []param{qtime("as_of", "events recorded at or before this instant"), qint("revision", "events up to this revision"),
				{"If-None-Match", "header", "an ETag; 304 when it is current", obj{"type": "string"}}}},
		{method: "POST", path: "/v1/skps/{id}/rhk", tag: "skp", summary: "Add an RHK (the employee, in DRAFT)", body: RHKBody{}, status: 201, resp: Created{}, versioned: true},
		{method: "PUT", path: "/v1/skps/{id}/rhk/{rhk_id}", tag: "skp", summary: "Change an RHK", body: RHKBody{}, status: 200, resp: skp.View{}, versioned: true},
		{method: "DELETE", path: "/v1/skps/{id}/rhk/{rhk_id}", tag: "skp", summary: "Remove an RHK and its indicators", body: action, bodyOptional: true, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/rhk/{rhk_id}/indicators", tag: "skp", summary: "Add an indicator", body: IndicatorBody{}, status: 201, resp: Created{}, versioned: true},
		{method: "PUT", path: "/v1/skps/{id}/indicators/{indicator_id}", tag: "skp", summary: "Change an indicator", body: IndicatorBody{}, status: 200, resp: skp.View{}, versioned: true},
		{method: "DELETE", path: "/v1/skps/{id}/indicators/{indicator_id}", tag: "skp", summary: "Remove an indicator", body: action, bodyOptional: true, status: 200, resp: skp.View{}, versioned: true},
		{method: "PUT", path: "/v1/skps/{id}/behaviour-expectations/{value}", tag: "skp", summary: "Set the appraiser's expectation for a BerAKHLAK value (the appraiser)",
			body: ExpectationBody{}, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/submit", tag: "skp", summary: "Submit the plan (the employee)", body: action, bodyOptional: true, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/return", tag: "skp", summary: "Return the plan to DRAFT (the appraiser; reason required)", body: action, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/establish", tag: "skp", summary: "Establish the plan (the appraiser); late after the deadline", body: action, bodyOptional: true, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/amendment", tag: "skp", summary: "Reopen an established SKP (the employee or the appraiser; reason required)",
			desc: "The new version takes effect only once both have signed: the employee by submitting the amended plan or acknowledging it (plan-acknowledgement), the appraiser by establishing it; 409 invalid_state (EMPLOYEE_NOT_SIGNED) before.",
			body: action, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/plan-acknowledgement", tag: "skp", summary: "The employee signs the amended plan as it stands (an edit afterwards needs a new signature)",
			body: action, bodyOptional: true, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/cancel", tag: "skp", summary: "Cancel an SKP (HR_ADMIN or the appraiser; reason required)", body: action, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/close", tag: "skp", summary: "Close an SKP for a position change (HR_ADMIN)", body: CloseBody{}, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/realisations", tag: "skp", summary: "Record a realisation (the employee, when established)", body: RealisationBody{}, status: 201, resp: Created{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evidence", tag: "skp", summary: "Attach evidence metadata (the employee)", body: EvidenceBody{}, status: 201, resp: Created{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/feedback-givers", tag: "skp", summary: "Assign (or revoke) a feedback giver from beyond the unit: TEAM_LEAD or PEMBERI_PERTIMBANGAN (the appraiser or HR_ADMIN)",
			desc: "The giver then gives feedback on the SKP (role FEEDBACK_GIVER, relationship = kind) and may read it; never rates. Repeating an assignment or revoking one not assigned changes nothing.",
			body: FeedbackGiverBody{}, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/feedback-rounds", tag: "skp", summary: "Open a 360° feedback round for a period, inviting givers by group (the appraiser or HR_ADMIN)",
			desc: "Groups: SELF (the employee only), PEER (any unit), SUBORDINATE, TEAM_LEAD and PEMBERI_PERTIMBANGAN (assigned givers of that kind). One open round per period; 409 invalid_state once the period's evaluation is issued.",
			body: FeedbackRoundBody{}, status: 201, resp: FeedbackRoundCreated{}, versioned: true},
		{method: "GET", path: "/v1/skps/{id}/feedback-rounds", tag: "skp", summary: "The 360° rounds' summaries (who may read the SKP): aggregates only",
			desc:   "PEER and SUBORDINATE groups are shown only once the round is closed and at least `threshold` givers of the group answered (kinerjad --feedback-anonymity-k, default 3); below, shown=false and nothing else. `overall` counts only the groups shown (SELF aside). `hash` identifies the summary.",
			status: 200, resp: FeedbackRoundList{}},
		{method: "GET", path: "/v1/skps/{id}/feedback-rounds/{round}/answer", tag: "skp", summary: "The caller's own invitation and answer (invited givers only; 404 for anyone else who may not see the SKP)",
			status: 200, resp: skp.Invitation{}},
		{method: "PUT", path: "/v1/skps/{id}/feedback-rounds/{round}/answer", tag: "skp", summary: "Answer a 360° round: the seven BerAKHLAK values on the behaviour scale, with optional comment and examples (invited givers only)",
			desc: "Answering again while the round is open revises the answer; the same answer again changes nothing; 409 invalid_state once closed. The answer's giver is redacted from every raw-event read (events, audit trail, timelines).",
			body: FeedbackAnswerBody{}, status: 200, resp: FeedbackAnswerRecorded{}},
		{method: "POST", path: "/v1/skps/{id}/feedback-rounds/{round}/close", tag: "skp", summary: "Close a 360° round (the appraiser or HR_ADMIN)", body: action, bodyOptional: true, status: 200, resp: skp.View{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/feedback-rounds/{round}/disclosure", tag: "audit", summary: "Read who gave a round's answers (AUDITOR; reason required): recorded as skp.feedback_answers_disclosed.v1 before the answers are returned",
			body: DisclosureBody{}, status: 200, resp: skp.DisclosureResult{}},
		{method: "POST", path: "/v1/skps/{id}/coaching", tag: "skp", summary: "Record a performance dialogue (DIALOGUE) or a coaching note (COACHING) (the appraiser in effect)",
			body: CoachingBody{}, status: 201, resp: DevelopmentCreated{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/competency-gaps", tag: "skp", summary: "Record a competency gap (the appraiser in effect)",
			body: GapBody{}, status: 201, resp: DevelopmentCreated{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/development-actions", tag: "skp", summary: "Plan a development action: TRAINING, MENTORING or ASSIGNMENT, with a due date (the appraiser in effect)",
			body: DevelopmentActionBody{}, status: 201, resp: DevelopmentCreated{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/development-actions/{action}/outcome", tag: "skp", summary: "Record a development action's outcome: COMPLETED, NOT_COMPLETED or CANCELLED (the appraiser in effect)",
			desc: "The same outcome again changes nothing; another outcome once concluded is 409 invalid_state.",
			body: OutcomeBody{}, status: 200, resp: skp.Development{}, versioned: true},
		{method: "GET", path: "/v1/skps/{id}/development", tag: "skp", summary: "The SKP's coaching and development: dialogues, coaching notes, gaps, actions with `overdue` as of today (who may read the SKP)",
			status: 200, resp: skp.Development{}},
		{method: "POST", path: "/v1/skps/{id}/feedback", tag: "skp", summary: "Give feedback (the appraiser, a colleague of the unit, an assigned feedback giver, or the employee)", body: FeedbackBody{}, status: 201, resp: Created{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evidence/files", tag: "skp", summary: "Upload an evidence file (the employee): stored by its SHA-256, typed by its content",
			desc: "multipart/form-data with the file in the part \"file\" (at most kinerjad --evidence-max-bytes, default 10 MiB; PDF, PNG, JPEG, DOCX, XLSX, ODT or plain text, told by the content). " +
				"Records nothing: POST /v1/skps/{id}/evidence with the answer's fields records the evidence. Storing the same content again changes nothing.",
			special: "upload", status: 201, resp: EvidenceFileResponse{}, extra: []int{413, 422}},
		{method: "GET", path: "/v1/skps/{id}/evidence/{sha256}", tag: "skp", summary: "Download a stored evidence file of the SKP (who may read the SKP), after its hash is checked",
			desc:    "Always an attachment (Content-Disposition), with X-Content-Type-Options: nosniff; 500 integrity_violation when the stored file does not match its hash.",
			special: "file", status: 200},
		{method: "POST", path: "/v1/skps/{id}/self-assessments", tag: "skp", summary: "Submit the self-assessment of a period (the employee, before the period's evaluation is issued)",
			desc: "A later one for the same period supersedes the earlier (both stay in self_assessments); the same text and notes again record nothing.",
			body: SelfAssessmentBody{}, status: 201, resp: Created{}, versioned: true},

		{method: "PUT", path: "/v1/skps/{id}/evaluations/{period}", tag: "evaluation", summary: "Rate a period (the appraiser); the predikat is derived, a replacement needs reason",
			desc: "work_result may be omitted when the employee heads a unit with an organisation predikat for the period. Replacing a rating before issue needs reason and is recorded with old and new values; 409 invalid_state once issued. work_results (the rating of each RHK of the version in effect, with its rationale) and behaviour_notes (one per BerAKHLAK value) are the grounds, optional unless the policy requires them; the overall ratings stay the appraiser's. The evaluation shows them with the capaian of each indicator (achievements) as evidence.",
			body: RateBody{}, status: 200, resp: RatingResponse{}, versioned: true},
		{method: "GET", path: "/v1/skps/{id}/evaluations/{period}", tag: "evaluation", summary: "A period's evaluation (parties, HR roles, AUDITOR)", status: 200, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/issue", tag: "evaluation", summary: "Issue and deliver the evaluation (the appraiser); the objection window starts",
			desc: "delivered_at defaults to now; never in the future, never before the rating, at most the backdating tolerance (default 10 minutes) back. " +
				"A delivery done earlier on paper is a backfill: GRIEVANCE_CLERK with paper_ref and on_behalf_of (the appraiser in effect on the delivery date), " +
				"at most the backfill maximum age (default 90 days) back; the window then runs from that delivery. paper_ref from another role: 403. " +
				"In BLOCK mode, 422 distribution_blocked when issuing would break the distribution pattern of a unit the evaluation counts in (over the rated population as it stands, this one counted), unless a recorded justification names the rules broken; the detail names the rules and the counts.",
			body: IssueBody{}, bodyOptional: true, status: 200, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/acknowledgement", tag: "evaluation", summary: "Acknowledge receipt of the issued evaluation (the employee; GRIEVANCE_CLERK backfills a signed receipt with paper_ref)",
			desc: "The objection window runs from the later of the delivery and this receipt, unless the delivery was a clerk's backfill. " +
				"received_at defaults to now (at most the tolerance back without paper_ref). A second acknowledgement changes nothing; 409 invalid_state after the window closed.",
			body: AcknowledgementBody{}, bodyOptional: true, status: 200, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/finalise", tag: "evaluation", summary: "Record that the objection window elapsed (a party or HR_ADMIN)",
			body: action, bodyOptional: true, status: 200, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/improvement-plan", tag: "evaluation", summary: "Open the improvement plan of a FINAL evaluation rated BUTUH_PERBAIKAN or worse (the appraiser in effect or HR_ADMIN)",
			desc: "Issue 14. 409 invalid_state when the evaluation is not final, its predikat (BAIK, SANGAT_BAIK) needs no plan, or a plan is already open. " +
				"follow_up_on defaults to 6 months after the evaluation became final; it must lie after today and at most 12 months after finality (422). " +
				"The deadline process manager then reminds the appraiser of the follow-up and the result (OPEN_IMPROVEMENT_PLAN, IMPROVEMENT_FOLLOW_UP, IMPROVEMENT_RESULT).",
			body: ImprovementPlanBody{}, status: 201, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/improvement-plan/result", tag: "evaluation", summary: "Record the result of an improvement plan (the appraiser in effect or HR_ADMIN)",
			desc: "result is IMPROVED, PARTLY_IMPROVED or NOT_IMPROVED, with a note. 409 invalid_state when no plan is open or a result is recorded.",
			body: ImprovementResultBody{}, status: 200, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/objection", tag: "objection", summary: "File an objection (the employee, or GRIEVANCE_CLERK for them)",
			desc: "The window (14 calendar days by default) runs from the later of delivered_at and the employee's acknowledgement of receipt; 422 objection_window_closed after it, and always once finality is recorded; " +
				"409 conflict if one is open or decided; annual periods only unless configured. An employee's filing counts by its recording: filed_at at most the tolerance back. " +
				"Only GRIEVANCE_CLERK's backfill (paper_ref) records an earlier filed_at, at most the backfill maximum age back.",
			body: ObjectionBody{}, status: 201, resp: ObjectionResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/objection/explanation-requests", tag: "objection", summary: "Ask a party to explain (the appraiser's superior)",
			body: ExplanationRequestBody{}, status: 201, resp: Created{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/objection/explanations", tag: "objection", summary: "Explain (the party asked)",
			body: ExplanationBody{}, status: 201, resp: ObjectionResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/objection/decision", tag: "objection", summary: "Decide (the appraiser's superior, never the appraiser); final",
			body: DecisionBody{}, status: 200, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/objection/decider", tag: "objection",
			summary: "Delegate the decision to a Plt/Plh (the decider in effect or HR_ADMIN), or escalate it to the next level up (HR_ADMIN, GRIEVANCE_CLERK)",
			desc:    "Escalation only when the decider in effect is the original appraiser (or none is recorded): the decider becomes the superior's own appraiser on the filing date. 409 invalid_state without an open objection or when nothing is stuck. The decider is never the original appraiser nor the employee.",
			body:    DeciderBody{}, status: 200, resp: EvaluationResponse{}, versioned: true},
		{method: "POST", path: "/v1/skps/{id}/evaluations/{period}/objection/withdrawal", tag: "objection", summary: "Withdraw the objection (the employee)",
			body: action, bodyOptional: true, status: 200, resp: EvaluationResponse{}, versioned: true},

		{method: "GET", path: "/v1/skps/{id}/events", tag: "history", summary: "The events of the SKP in order, with hashes, a page at a time (parties, AUDITOR)",
			desc:   "Pages follow next_cursor (null on the last page). The ETag is the SKP's revision whichever page is read.",
			status: 200, resp: EventList{}, versioned: true,
			params: []param{qint("limit", "1 to 1000, default 500"), qstr("cursor", "next_cursor of the previous page; 400 for any other")}},
		{method: "GET", path: "/v1/skps/{id}/score-history", tag: "history", summary: "Every rating and predikat ever given, with previous values (parties, AUDITOR)", status: 200, resp: ScoreHistory{}},

		{method: "GET", path: "/v1/audit", tag: "audit", summary: "The audit trail in global order (AUDITOR)", status: 200, resp: AuditPage{}, position: true,
			desc: "order=desc lists the newest entries first; its next page is before=next. after and before bound the seq range (both exclusive): " +
				"before=N+1 with order=desc jumps to entry N and what precedes it.",
			params: []param{qint("after", "the next field of the previous page (exclusive seq)"), qint("before", "exclusive upper seq bound (the next field of the previous page with order=desc)"),
				qenum("order", "asc (default, oldest first) or desc (newest first); any other value is 400", "asc", "desc"),
				qint("limit", "1 to 1000, default 100"), qstr("actor", "actor NIP or name"),
				qstr("stream", "a stream name, e.g. skp-{id}"), qstr("type", "an event type"), qtime("from", "recorded at or after"), qtime("to", "recorded before"),
				qagency}},
		{method: "GET", path: "/v1/audit/checkpoint", tag: "audit", summary: "The latest signed checkpoint (AUDITOR)", status: 200, resp: audit.Checkpoint{}, position: true,
			desc: "The national checkpoint (the global tree, and the root and size of every agency's log) for NATIONAL_AUDITOR and an AUDITOR of a one-agency deployment; " +
				"an agency's AUDITOR (and ?agency=) gets the agency's latest agency checkpoint (audit.AgencyCheckpoint) instead.", params: []param{qagency}},
		{method: "GET", path: "/v1/audit/proof", tag: "audit", summary: "An inclusion proof of entry seq in the tree of size (default: the latest checkpoint's) (AUDITOR)",
			desc:   "For an agency's AUDITOR (and ?agency=) the proof is in the agency's log: seq is still the global entry, index its leaf index in the agency's log, size that log's size; an entry of another agency is 404 as a missing one.",
			status: 200, resp: InclusionProof{}, position: true, params: []param{qint("seq", "the entry (required)"), qint("size", "the tree size"), qagency}},
		{method: "GET", path: "/v1/audit/bundle", tag: "audit", summary: "The appeal bundle of an employee's year, each event with its inclusion proof against the latest signed checkpoint (AUDITOR)",
			desc: "Verify it offline with kinerjactl verify --bundle FILE --key audit-signing.pub. 404 when the employee has no events or no checkpoint is signed yet. " +
				"A bundle holding 360° answers names their givers (the events' actors, which its hashes cover): it needs reason (422 without) and is recorded as a disclosure " +
				"(skp.feedback_answers_disclosed.v1) of each such round before it is answered; the rounds are named in Kinerja-Disclosed-Rounds (docs/feedback360.md).",
			status: 200, resp: audit.Bundle{}, position: true, extra: []int{422}, params: []param{qstr("nip", "the employee's NIP or NI PPPK (required)"), qint("year", "the performance year, 2000 to 2100 (required)"),
				qstr("reason", "why the givers of the bundle's 360° answers are disclosed (required when it holds any; at most 1000 characters)"), qagency}},
		{method: "POST", path: "/v1/audit/verify", tag: "audit", summary: "Recompute the trail from the event store and check it (AUDITOR)", status: 200, resp: audit.Report{},
			desc: "An agency's AUDITOR (and ?agency=) verifies that agency's log alone: its events, tree and agency checkpoints, and its root in each national checkpoint.", params: []param{qagency}},
		{method: "GET", path: "/v1/ops/projections", tag: "operations", summary: "Each projection's checkpoint, lag, stalls and dead letters (AUDITOR, HR_ADMIN)", status: 200, resp: ProjectionList{}},

		{method: "GET", path: "/v1/reports/progress", tag: "reports", summary: "SKP counts by status, late and missing, per unit (HR_ANALYST, HR_ADMIN, AUDITOR)",
			desc: "As JSON the units are paged (issue 15: the root of a province has ten thousand): units holds at most limit of them, depth first as the report orders them, " +
				"total counts the whole subtree on every page, unit_count is how many units the report has in all, and next_cursor asks for the next page (absent on the last). " +
				"depth keeps the units at most that many levels below unit (depth=1: the unit and its direct sub-units, each with its including_subunits counts, to drill down from). " +
				"CSV/XLSX is the whole board, every unit. 400 for a limit or depth out of range and for a cursor not issued for this query.",
			status: 200, resp: ProgressReportPage{}, special: "report", params: append([]param{unitParam, qint("year", "default: this year"),
				qint("limit", "units per JSON page, 1 to 1000 (default 100)"), qstr("cursor", "next_cursor of the previous page with the same unit, year, as_of and depth; 400 for any other"),
				qint("depth", "only the units at most this many levels below unit, 0 to 1000 (default: every level)"), asOfReportParam, formatParam}, tableParams...)},
		{method: "GET", path: "/v1/reports/distribution", tag: "reports", summary: "The predikat distribution against the pattern (HR_ANALYST, HR_ADMIN, AUDITOR)",
			desc:   "undetermined is true when the unit has no organisation predikat for the period: nothing can be said about the pattern (violations is then empty and does not mean no violations).",
			status: 200, resp: reports.DistributionReport{}, special: "report", params: append([]param{unitParam, qstr("period", "2026, 2026-Q1, …"), asOfReportParam, formatParam}, tableParams...)},
		{method: "GET", path: "/v1/reports/improvement-plans", tag: "reports", summary: "Improvement plans due and open of a unit's subtree (HR_ANALYST, HR_ADMIN, AUDITOR; a unit's leader for its subtree)",
			desc: "Issue 14, from the deadline process manager's items: PLAN_DUE (a final evaluation rated BUTUH_PERBAIKAN or worse with no plan yet) and OPEN (a plan without its result), " +
				"with their deadlines; a plan belongs to the employee's unit recorded on the SKP. units and the totals count the whole subtree; as JSON the plans are paged (limit, cursor: next_cursor of the previous page), " +
				"as CSV/XLSX every plan. 404 for an unknown unit and where the process manager does not run.",
			status: 200, resp: ImprovementPlanReportPage{}, special: "report",
			params: append([]param{qstr("unit", "a unit: its subtree (default: the agency)"), qint("limit", "plans per JSON page, 1 to 1000 (default 200)"),
				qstr("cursor", "next_cursor of the previous page"), formatParam}, tableParams...)},
		{method: "GET", path: "/v1/reports/objections", tag: "reports", summary: "Objections with deadlines and outcomes (HR_ANALYST, HR_ADMIN, AUDITOR)",
			status: 200, resp: reports.ObjectionRegister{}, special: "report",
			params: append([]param{unitParam, qenum("status", "any other value is 400", objectionStatuses...), {"overdue", "query", "decision overdue or not", obj{"type": "boolean"}}, formatParam}, tableParams...)},
		{method: "GET", path: "/v1/reports/consequences", tag: "reports", summary: "The consequences of the final annual evaluations: Angka Kredit, TPP factor, recognition, with originals, corrections and their source events (HR_ADMIN, HR_ANALYST, AUDITOR; a unit's leader for its subtree)",
			desc: "Published only from final evaluations; a later change adds a correction naming the original (corrects), a cancellation after publication a retraction (kind RETRACTION, corrects, reason; no figures). " +
				"Each publication lists the events it was computed from (sources: event_id, stream, revision, position) and the tables adopted for its year (tables_version). See docs/consequences.md.",
			status: 200, resp: consequences.Register{}, special: "report", params: append([]param{qstr("year", "the performance year (required)"), qstr("unit", "a unit: its subtree (default: the agency)"), formatParam}, tableParams...)},
		{method: "GET", path: "/v1/reports/development", tag: "reports", summary: "The development report: overdue development actions (due date passed in the agency's zone, no outcome) with days overdue, and the most frequent competency gaps with count and share (HR_ANALYST, HR_ADMIN, AUDITOR; a unit's leader for its subtree)",
			desc:   "A fold of the SKP streams of the year, as of today in the agency's zone; the BKD's input for the training plan. See docs/domain-model.md.",
			status: 200, resp: development.Report{}, special: "report", params: append([]param{qstr("year", "the performance year of the SKPs (required)"), qstr("unit", "a unit: its subtree (default: the agency)"), formatParam}, tableParams...)},
		{method: "GET", path: "/v1/reports/calibration", tag: "reports", summary: "The calibration view: each appraiser's predikat distribution against their unit's and the agency's, a leniency/severity index with its interval, flags with the evidence (HR_ANALYST, AUDITOR; a unit's leader for its subtree)",
			desc:   "The statistics are in docs/calibration.md; flags never change a rating.",
			status: 200, resp: calibration.Report{}, special: "report", params: append([]param{qstr("year", "the performance year (required)"), qstr("unit", "a unit: the appraisers of its subtree (default: the agency)"), formatParam}, tableParams...)},
		{method: "GET", path: "/v1/objections", tag: "objection", summary: "The objection register (GRIEVANCE_CLERK, HR roles, AUDITOR)", status: 200, resp: ObjectionList{}, position: true,
			params: []param{unitParam, qenum("status", "any other value is 400", objectionStatuses...), {"overdue", "query", "decision overdue or not", obj{"type": "boolean"}}, qstr("skp_id", "one SKP")}},
		{method: "GET", path: "/v1/skps/{id}/document.pdf", tag: "documents", special: "pdf", status: 200,
			summary: "The SKP with its Lampiran as a PDF with a verification block (those who may read the SKP)",
			desc:    "The header " + DocumentCodeHeader + " carries the document's verification code; GET /verify/{code} (public) and `kinerjactl verify-document` check it (docs/documents.md)."},
		{method: "GET", path: "/v1/skps/{id}/evaluations/{period}/document.pdf", tag: "documents", special: "pdf", status: 200,
			summary: "The Dokumen Evaluasi Kinerja Pegawai of a rated period as a PDF with a verification block (those who may read the SKP)",
			extra:   []int{422},
			desc:    "404 when the period was never rated, 422 for a malformed period. The header " + DocumentCodeHeader + " carries the verification code."},
		{method: "GET", path: "/v1/evaluations", tag: "evaluation", summary: "Evaluations of a period in a unit and below (HR_ANALYST, HR_ADMIN, AUDITOR)", status: 200, resp: EvaluationList{}, position: true,
			params: []param{unitParam, qstr("period", "2026, 2026-Q1, …")}},
		{method: "POST", path: "/v1/imports", tag: "master data", summary: "Import units, employees and reporting lines from a CSV or XLSX file (HR_ADMIN), asynchronously",
			desc: "multipart/form-data with the file in the part \"file\" and the fields dry_run and paper_ref, or the raw file as the body (Content-Type text/csv, " +
				"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or application/octet-stream) with dry_run and paper_ref in the query. " +
				"202 with Location: /v1/imports/{id}; the layout, the checks and the outcomes are in docs/imports.md. A file the job cannot read ends FAILED with its problems. " +
				"The same file sent again while its job runs answers that job (a dry run: the earlier dry run); an apply sent again records only what the ledger lacks. No Idempotency-Key.",
			special: "upload", status: 202, resp: ImportStatus{}, location: true, extra: []int{413, 422},
			params: []param{{"dry_run", "query", "check every row against the ledger and record nothing", obj{"type": "boolean"}},
				qstr("paper_ref", "the decree or import reference (SK) the data rests on; in every event's reason"), qstr("filename", "the file's name, for a raw body")}},
		{method: "GET", path: "/v1/imports/{id}", tag: "master data", summary: "An import's status: state, progress (done of total rows), counts, and the rows with their problems (the HR_ADMIN who started it)",
			desc:   "Job records outlive a restart; a job the restart cut short reads FAILED with the problem interrupted: send the file again (it records only what the ledger lacks).",
			status: 200, resp: ImportStatus{}, params: []param{qenum("rows", "all (default) or refused: which rows the answer lists", "all", "refused")}},
	}
}

// problems are the error answers, by status.
var problems = map[int]struct{ name, desc string }{
	304: {"", "the representation named by If-None-Match is current"},
	400: {"BadRequest", "`invalid_request`: malformed JSON, a body that is not a JSON object (null included), wrong types, unknown fields, " +
		"bad query parameters (an unknown enumeration value, a cursor this service did not issue for the query) or headers"},
	401: {"Unauthenticated", "`unauthenticated`: missing, expired or invalid token"},
	403: {"Forbidden", "`forbidden`: authenticated, but not allowed (role, relationship, separation of duty)"},
	404: {"NotFound", "`not_found`: no such resource, or not visible to the caller"},
	409: {"Conflict", "`conflict`: the resource already exists; `invalid_state`: not allowed in the current state; " +
		"`contention`: the resource kept changing while the request ran, nothing was written, repeat it after Retry-After"},
	412: {"PreconditionFailed", "`revision_mismatch`: If-Match names an older revision; nothing changed"},
	413: {"PayloadTooLarge", "`payload_too_large`: body over 1 MiB"},
	422: {"Unprocessable", "`validation_failed` (errors lists each field, by its JSON path: text with invalid UTF-8, an unpaired surrogate " +
		"or a control character other than tab, LF and CR; null for a field that cannot be null; the domain's rules), " +
		"`objection_window_closed`, `distribution_blocked` (BLOCK mode: issuing would break the unit's distribution pattern; detail names the rules and counts), `idempotency_key_reused`"},
	431: {"HeadersTooLarge", "`headers_too_large`: the request's headers are over the server's limit"},
	500: {"Internal", "`internal`: a generic message; the detail is only logged; `integrity_violation`: the stored history failed its hash chain or writer signature check, nothing derived from it is served"},
	503: {"Unavailable", "`unavailable`: not ready, or a dependency (the database, the disk) is down; nothing was written; Retry-After says when to repeat"},
	507: {"InsufficientStorage", "`insufficient_storage`: the store is out of space; nothing was written"},
}

// retryable are the problems that carry Retry-After.
var retryable = map[int]bool{409: true, 503: true}

// schemas builds JSON Schemas (2020-12, as OpenAPI 3.1 uses) for Go types
// by encoding/json's rules, naming struct types as components.
type schemas struct {
	components obj
	names      map[reflect.Type]string
	enums      map[reflect.Type][]string
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	dateType   = reflect.TypeFor[calendar.Date]()
	rawType    = reflect.TypeFor[json.RawMessage]()
	uuidType   = reflect.TypeFor[uuid.UUID]()
	hashType   = reflect.TypeFor[merkle.Hash]()
	periodType = reflect.TypeFor[period.Period]()
	textType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// enums lists the values of the enumerated string types.
func enums() map[reflect.Type][]string {
	strs := func(vs ...any) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = reflect.ValueOf(v).String()
		}
		return out
	}
	of := func(s any) []string {
		v := reflect.ValueOf(s)
		out := make([]string, v.Len())
		for i := range out {
			out[i] = v.Index(i).String()
		}
		return out
	}
	return map[reflect.Type][]string{
		reflect.TypeFor[rating.Rating]():         of(rating.Ratings()),
		reflect.TypeFor[rating.Predikat]():       of(rating.Predikats()),
		reflect.TypeFor[rating.OrgPredikat]():    of(rating.OrgPredikats()),
		reflect.TypeFor[employee.PositionKind](): of(employee.PositionKinds()),
		reflect.TypeFor[employee.Capacity]():     strs(employee.Definitif, employee.Plt, employee.Plh, employee.Delegate),
		reflect.TypeFor[berakhlak.Value]():       of(berakhlak.Values()),
		reflect.TypeFor[nip.ASNType]():           strs(nip.PNS, nip.PPPK),
		reflect.TypeFor[nip.Sex]():               strs(nip.Male, nip.Female),
		reflect.TypeFor[period.Cadence]():        strs(period.Quarterly, period.Monthly),
		reflect.TypeFor[skp.Approach]():          strs(skp.Kuantitatif, skp.Kualitatif),
		reflect.TypeFor[skp.RHKKind]():           strs(skp.Utama, skp.Tambahan),
		reflect.TypeFor[skp.Aspect]():            strs(skp.Kuantitas, skp.Kualitas, skp.Waktu, skp.Biaya),
		reflect.TypeFor[skp.Relationship]():      strs(skp.FromAppraiser, skp.FromPeer, skp.FromSelf, skp.FromTeamLead, skp.FromPemberiPertimbangan),
		reflect.TypeFor[skp.GiverKind]():         strs(skp.TeamLead, skp.PemberiPertimbangan),
		reflect.TypeFor[skp.Direction]():         strs(skp.HigherIsBetter, skp.LowerIsBetter),
		reflect.TypeFor[skp.DeciderBasis]():      strs(skp.DeciderPlt, skp.DeciderPlh, skp.DeciderEscalation),
		reflect.TypeFor[employee.OfficialKind](): strs(employee.Minister, employee.CoordinatingMinister, employee.HeadOfAgency, employee.Governor, employee.Regent, employee.Mayor),
		reflect.TypeFor[orgunit.Capacity]():      strs(orgunit.CapacityLeader, orgunit.CapacityPolicyBody, orgunit.CapacityBackfill, orgunit.CapacityLegacy),
		reflect.TypeFor[skp.Source]():            strs(skp.SourceAppraiser, skp.SourceObjection),
		reflect.TypeFor[skp.Party]():             strs(skp.PartyAppraiser, skp.PartyEmployee),
		reflect.TypeFor[skp.Outcome]():           strs(skp.Upheld, skp.Changed),
		reflect.TypeFor[consequences.Kind]():     strs(consequences.Original, consequences.Correction),
		reflect.TypeFor[calibration.Flag]():      strs(calibration.Lenient, calibration.Severe),
		reflect.TypeFor[skp.Status]():            strs(skp.StatusDraft, skp.StatusSubmitted, skp.StatusEstablished, skp.StatusAmendment, skp.StatusCancelled, skp.StatusClosed),
		reflect.TypeFor[skp.EvaluationStatus]():  strs(skp.EvalDraft, skp.EvalIssued, skp.EvalUnderObjection, skp.EvalFinal),
		reflect.TypeFor[skp.ObjectionStatus]():   strs(skp.OpenObjection, skp.DecidedObjection, skp.WithdrawnObjection),
		reflect.TypeFor[skp.FinalReason]():       strs(skp.WindowElapsed, skp.ObjectionDecidedFinal, skp.NoObjectionAllowed),
	}
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]`)

// componentName names a struct type: its own name for this package's
// types, else the package name and the type name ("SkpView").
func componentName(t reflect.Type) string {
	pkg := t.PkgPath()
	if pkg == reflect.TypeFor[Server]().PkgPath() {
		return t.Name()
	}
	base := pkg[strings.LastIndex(pkg, "/")+1:]
	r := []rune(base)
	r[0] = unicode.ToUpper(r[0])
	return nonWord.ReplaceAllString(string(r)+t.Name(), "")
}

func nullable(s obj) obj {
	if typ, ok := s["type"].(string); ok {
		c := obj{}
		for k, v := range s {
			c[k] = v
		}
		c["type"] = []any{typ, "null"}
		if e, ok := c["enum"].([]any); ok {
			c["enum"] = append(e, nil)
		}
		return c
	}
	return obj{"anyOf": []any{s, obj{"type": "null"}}}
}

// of returns the schema of t; request says whether t is decoded from a
// request (objects then refuse unknown properties).
func (g *schemas) of(t reflect.Type, request bool) obj {
	switch t {
	case timeType:
		return obj{"type": "string", "format": "date-time"}
	case dateType:
		return obj{"type": "string", "format": "date"}
	case rawType:
		return obj{}
	case uuidType:
		return obj{"type": "string", "format": "uuid"}
	case hashType:
		return obj{"type": "string", "pattern": "^[0-9a-f]{64}$"}
	case periodType:
		return obj{"type": "string", "pattern": "^[0-9]{4}(-(Q[1-4]|0[1-9]|1[0-2]))?$"}
	}
	if vals, ok := g.enums[t]; ok {
		e := make([]any, len(vals))
		for i, v := range vals {
			e[i] = v
		}
		return obj{"type": "string", "enum": e}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.of(t.Elem(), request))
	case reflect.Interface:
		return obj{}
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t.Implements(textType) { // a decimal written as text (consequences.Milli)
			return obj{"type": "string"}
		}
		return obj{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return obj{"type": "string", "contentEncoding": "base64"}
		}
		return nullable(obj{"type": "array", "items": g.of(t.Elem(), request)})
	case reflect.Array:
		return obj{"type": "array", "items": g.of(t.Elem(), request), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return nullable(obj{"type": "object", "additionalProperties": g.of(t.Elem(), request)})
	case reflect.Struct:
		if t.Implements(textType) || reflect.PointerTo(t).Implements(textType) {
			return obj{"type": "string"}
		}
		if t.Name() == "" {
			return g.object(t, request)
		}
		name := componentName(t)
		if prev, ok := g.names[t]; ok {
			return obj{"$ref": "#/components/schemas/" + prev}
		}
		g.names[t] = name
		g.components[name] = obj{} // reserve against recursion
		g.components[name] = g.object(t, request)
		return obj{"$ref": "#/components/schemas/" + name}
	}
	if t.Implements(textType) {
		return obj{"type": "string"}
	}
	panic(fmt.Sprintf("openapi: no schema for %v", t))
}

// object is the schema of a struct's JSON object.
func (g *schemas) object(t reflect.Type, request bool) obj {
	props, required := obj{}, []any{}
	g.fields(t, request, props, &required)
	s := obj{"type": "object", "properties": props}
	if len(required) > 0 && !request {
		s["required"] = required
	}
	if request {
		s["additionalProperties"] = false
	}
	return s
}

// fields adds t's JSON fields, flattening embedded structs as
// encoding/json does.
func (g *schemas) fields(t reflect.Type, request bool, props obj, required *[]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, request, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := g.of(f.Type, request)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
			if e, ok := fs["enum"].([]any); ok && !request {
				// encoding/json writes the zero value of a field without
				// omitempty: "" is a possible answer.
				fs["enum"] = append(slices.Clone(e), "")
			}
		}
		props[name] = fs
	}
}

// buildOpenAPI returns the document.
func buildOpenAPI() ([]byte, error) {
	g := &schemas{components: obj{}, names: map[reflect.Type]string{}, enums: enums()}
	problem := g.of(reflect.TypeFor[Problem](), false)
	paths := obj{}
	headers := obj{
		"ETag":                 obj{"description": `"<revision>": the revision of the representation`, "schema": obj{"type": "string"}},
		"Location":             obj{"description": "the new resource", "schema": obj{"type": "string"}},
		"X-Request-ID":         obj{"description": "the request's ID (the causation ID of its events)", "schema": obj{"type": "string"}},
		PositionHeader:         obj{"description": "how far the projection behind the answer had read (as_of_position)", "schema": obj{"type": "string", "pattern": "^[0-9]+$"}},
		"Idempotency-Replayed": obj{"description": "`true`: the stored first response; `reconstructed`: the current state after a lost response", "schema": obj{"type": "string"}},
		"Retry-After":          obj{"description": "seconds to wait before repeating the request", "schema": obj{"type": "string", "pattern": "^[0-9]+$"}},
	}
	hdr := func(name string) obj { return obj{"$ref": "#/components/headers/" + name} }
	responses := obj{}
	for status, p := range problems {
		if p.name == "" {
			continue
		}
		h := obj{"X-Request-ID": hdr("X-Request-ID")}
		if retryable[status] {
			h["Retry-After"] = hdr("Retry-After")
		}
		responses[p.name] = obj{"description": p.desc, "headers": h, "content": obj{"application/problem+json": obj{"schema": problem}}}
	}
	for _, o := range operations() {
		op := obj{"summary": o.summary, "tags": []any{o.tag}, "operationId": operationID(o)}
		if o.desc != "" {
			op["description"] = o.desc
		}
		var params []any
		for _, name := range pathParams(o.path) {
			params = append(params, obj{"name": name, "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		for _, p := range o.params {
			params = append(params, obj{"name": p.name, "in": p.in, "description": p.desc, "schema": p.schema})
		}
		v1 := strings.HasPrefix(o.path, "/v1/")
		mutation := o.body != nil
		if o.special == "upload" {
			op["requestBody"] = obj{"required": true, "content": obj{"multipart/form-data": obj{"schema": obj{"type": "object",
				"properties": obj{"file": obj{"type": "string", "contentEncoding": "binary"}}, "required": []any{"file"}}}}}
		}
		if mutation {
			params = append(params,
				obj{"$ref": "#/components/parameters/IdempotencyKey"},
				obj{"$ref": "#/components/parameters/IfMatch"})
			op["requestBody"] = obj{"required": !o.bodyOptional, "content": obj{"application/json": obj{"schema": g.of(reflect.TypeOf(o.body), true)}}}
		}
		if v1 {
			params = append(params, obj{"$ref": "#/components/parameters/XCorrelationID"})
		} else {
			op["security"] = []any{}
		}
		params = append(params, obj{"$ref": "#/components/parameters/XRequestID"})
		op["parameters"] = params

		okHeaders := obj{"X-Request-ID": hdr("X-Request-ID")}
		if o.versioned {
			okHeaders["ETag"] = hdr("ETag")
		}
		if o.location {
			okHeaders["Location"] = hdr("Location")
		}
		if o.position || o.special == "report" {
			okHeaders[PositionHeader] = hdr(PositionHeader)
		}
		if mutation {
			okHeaders["Idempotency-Replayed"] = hdr("Idempotency-Replayed")
		}
		ok := obj{"description": http.StatusText(o.status), "headers": okHeaders}
		switch o.special {
		case "status":
			ok["content"] = obj{"application/json": obj{"schema": obj{"type": "object", "properties": obj{"status": obj{"type": "string"}}, "required": []any{"status"}}}}
		case "metrics":
			ok["content"] = obj{"text/plain": obj{"schema": obj{"type": "string"}}}
		case "file":
			ok["content"] = obj{"application/octet-stream": obj{"schema": obj{"type": "string", "contentEncoding": "binary"}}}
		case "openapi":
			ok["content"] = obj{"application/json": obj{"schema": obj{"type": "object"}}}
		case "pdf":
			okHeaders[DocumentCodeHeader] = obj{"description": "the document's verification code", "schema": obj{"type": "string"}}
			ok["content"] = obj{"application/pdf": obj{"schema": obj{"type": "string", "contentEncoding": "binary"}}}
		case "report":
			ok["content"] = obj{
				"application/json": obj{"schema": g.of(reflect.TypeOf(o.resp), false)},
				mediaCSV:           obj{"schema": obj{"type": "string"}},
				mediaXLSX:          obj{"schema": obj{"type": "string", "contentEncoding": "binary"}},
			}
		default:
			ok["content"] = obj{"application/json": obj{"schema": g.of(reflect.TypeOf(o.resp), false)}}
		}
		resps := obj{fmt.Sprint(o.status): ok}
		var errs []int
		switch {
		case v1 && mutation:
			errs = []int{400, 401, 403, 404, 409, 412, 413, 422, 431, 500, 503, 507}
		case v1:
			errs = []int{400, 401, 403, 404, 431, 500, 503}
		default:
			errs = []int{431}
		}
		for _, s := range append(errs, o.extra...) {
			p := problems[s]
			if p.name == "" {
				resps[fmt.Sprint(s)] = obj{"description": p.desc, "headers": okHeaders}
				continue
			}
			resps[fmt.Sprint(s)] = obj{"$ref": "#/components/responses/" + p.name}
		}
		if !v1 && o.special == "status" && len(o.extra) > 0 {
			resps["503"] = obj{"$ref": "#/components/responses/Unavailable"}
		}
		op["responses"] = resps
		item, _ := paths[o.path].(obj)
		if item == nil {
			item = obj{}
			paths[o.path] = item
		}
		item[strings.ToLower(o.method)] = op
	}
	doc := obj{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": obj{
			"title":   "Kinerja Ledger API",
			"version": "1",
			"description": "The HTTP API of kinerjad (api.md): an event-sourced ledger of ASN performance appraisal under " +
				"PermenPANRB 6/2022, PP 30/2019 and SE MenPANRB 3/2023. Every mutation body may carry occurred_at " +
				"(business time, default now, never in the future) and reason; every mutation accepts Idempotency-Key " +
				"and If-Match. NIPs are accepted with spaces or dots and returned as 18 digits. Errors are RFC 9457 problems " +
				"with a stable code.",
		},
		"servers":  []any{obj{"url": "/"}},
		"security": []any{obj{"bearerAuth": []any{}}},
		"tags": []any{
			obj{"name": "operations"}, obj{"name": "master data"}, obj{"name": "skp"}, obj{"name": "evaluation"},
			obj{"name": "objection"}, obj{"name": "history"}, obj{"name": "audit"}, obj{"name": "reports"},
		},
		"paths": paths,
		"components": obj{
			"schemas":   g.components,
			"responses": responses,
			"headers":   headers,
			"parameters": obj{
				"IdempotencyKey": obj{"name": "Idempotency-Key", "in": "header", "description": "1 to 200 printable characters; a repeat gets the first response, kept at least 30 days",
					"schema": obj{"type": "string", "minLength": 1, "maxLength": MaxIdempotencyKeyLen}},
				"IfMatch":        obj{"name": "If-Match", "in": "header", "description": `"<revision>": refuse with 412 unless the resource is still at that revision`, "schema": obj{"type": "string"}},
				"XRequestID":     obj{"name": "X-Request-ID", "in": "header", "description": "the client's request ID (echoed; a new one when absent or unusable)", "schema": obj{"type": "string", "maxLength": 100}},
				"XCorrelationID": obj{"name": "X-Correlation-ID", "in": "header", "description": "ties the events of one process together (default: the request ID)", "schema": obj{"type": "string", "maxLength": 100}},
			},
			"securitySchemes": obj{"bearerAuth": obj{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "sub: an NIP or a service account; roles: HR_ADMIN, AUDITOR, HR_ANALYST, GRIEVANCE_CLERK. Algorithms EdDSA, ES256, RS256."}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

var pathParamRE = regexp.MustCompile(`\{([a-z0-9_]+)\}`)

func pathParams(path string) []string {
	var out []string
	for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// operationID is method + the path's words in camel case.
func operationID(o op) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(o.method))
	for _, part := range strings.FieldsFunc(o.path, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if part == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
