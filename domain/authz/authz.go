// Package authz answers the authorisation questions of the ledger: may this
// caller do this action to this SKP (or employee, or unit) on this date,
// given the reporting lines in effect on that date?
//
// Who is the employee, the appraiser and the appraiser's superior of an SKP
// is not in the caller's token; the caller of [Decide] looks it up in the
// ledger, as in effect on the date of the action, and passes it as a
// [Subject]. Token roles (HR_ADMIN, AUDITOR, HR_ANALYST, GRIEVANCE_CLERK)
// come from the [domain.Principal].
//
// The answer tells "may not see" from "may see but not do": a [*Denied]
// error matches [domain.ErrNotFound] when the caller may not know the
// resource exists (the API answers 404) and [domain.ErrForbidden] otherwise
// (403). On success Decide returns the role in which the caller acts, which
// commands record in the event envelope.
//
// Separation of duty (domain.md §2.2) holds whatever the roles: the
// appraiser is never the employee, the appraiser's superior is never the
// appraiser, the decider of an objection is never the original appraiser,
// and HR_ADMIN never rates (rating needs the appraiser relationship, which
// no token role gives).
package authz

import (
	"fmt"
	"slices"

	"github.com/kinerja-ledger/kinerja/domain"
)

// Action is something a caller asks to do.
type Action string

// Actions on an SKP, its evaluations and objections, and on master data.
const (
	ReadSKP      Action = "skp.read"         // the SKP and its evaluations
	ReadHistory  Action = "skp.read_history" // its events and score history
	DraftSKP     Action = "skp.draft"        // create an SKP
	EditPlan     Action = "skp.edit_plan"    // add, change, remove RHK and indicators
	SubmitSKP    Action = "skp.submit"       // submit for establishment
	ReturnSKP    Action = "skp.return"       // return for revision
	EstablishSKP Action = "skp.establish"    // establish (sign) the SKP
	AmendSKP     Action = "skp.amend"        // reopen an established SKP
	// AcknowledgePlan is the employee's signature of an amended plan.
	AcknowledgePlan   Action = "skp.acknowledge_plan"
	CancelSKP         Action = "skp.cancel"          // cancel an SKP
	CloseSKP          Action = "skp.close"           // close for a position change
	SetExpectation    Action = "skp.set_expectation" // set a behaviour expectation
	RecordRealisation Action = "skp.record_realisation"
	AttachEvidence    Action = "skp.attach_evidence"
	GiveFeedback      Action = "skp.give_feedback"
	// AssignFeedbackGiver assigns a team lead or pemberi pertimbangan from
	// beyond the unit to an SKP.
	AssignFeedbackGiver Action = "skp.assign_feedback_giver"
	SelfAssess          Action = "skp.self_assess" // write the self-assessment of a period
	Rate                Action = "evaluation.rate"
	Issue               Action = "evaluation.issue"
	Finalise            Action = "evaluation.finalise"     // record that the window elapsed
	AcknowledgeReceipt  Action = "evaluation.acknowledge"  // the employee's acknowledgement of receipt
	RecordPaper         Action = "evaluation.record_paper" // enter a delivery, receipt or filing signed on paper (a backfill)
	FileObjection       Action = "objection.file"
	// OpenImprovementPlan and RecordImprovementResult are the improvement
	// plan of a final evaluation rated BUTUH_PERBAIKAN or worse (issue 14).
	OpenImprovementPlan     Action = "evaluation.open_improvement_plan"
	RecordImprovementResult Action = "evaluation.record_improvement_result"
	WithdrawObjection       Action = "objection.withdraw"
	RequestExplanation      Action = "objection.request_explanation"
	Explain                 Action = "objection.explain"
	DecideObjection         Action = "objection.decide"
	// DelegateDecision hands an objection's decision to a Plt/Plh;
	// EscalateDecision sends a stuck one to the next level up.
	DelegateDecision Action = "objection.delegate_decision"
	EscalateDecision Action = "objection.escalate_decision"
	ReadEmployee     Action = "employee.read"
	ManageMasterData Action = "master_data.manage" // units, employees, reporting lines
	// BackfillMasterData enters a master-data act (a reporting line, a
	// post, a unit head) effective before the day it is recorded, from the
	// signed decree (paper_ref): domain.md §10.
	BackfillMasterData Action = "master_data.backfill"
	RateUnit           Action = "unit.rate" // set the organisation predikat
	ReadUnit           Action = "unit.read"
	JustifyDeviation   Action = "distribution.justify"
	ReadReports        Action = "reports.read"
	// Reads of registers and operations, decided by token role alone.
	ListAllSKPs           Action = "skp.list_all"      // list every SKP, not only one's own
	ListEmployees         Action = "employee.list"     // list and search the employees of the directory
	ReadObjectionRegister Action = "objections.read"   // the objection register
	ReadAudit             Action = "audit.read"        // the audit trail, checkpoints, proofs, verification
	ReadOps               Action = "ops.read"          // projection status
	ReadTimeline          Action = "employee.timeline" // an employee's timeline
	ReadInbox             Action = "inbox.read"        // a person's inbox of what waits for them
	// 360° feedback rounds (issue 14): open or close a round; answer one
	// (invited givers only); read who answered (AUDITOR, recorded).
	ManageFeedbackRound    Action = "feedback360.manage"
	AnswerFeedbackRound    Action = "feedback360.answer"
	DiscloseFeedbackGivers Action = "feedback360.disclose_givers"
	// Coach records performance dialogues, coaching notes, competency gaps
	// and development actions (the appraiser in effect).
	Coach Action = "skp.coach"
	// ReadConsequences reads the consequences of final evaluations (Angka
	// Kredit, TPP factor, recognition) with their sources: HR_ADMIN (who
	// passes them to payroll and career management), HR_ANALYST, AUDITOR;
	// a unit's leader for the unit's subtree (Subject.UnitLeader).
	ReadConsequences Action = "consequences.read"
	// ReadCalibration reads the calibration view of the appraisers:
	// HR_ANALYST (the BKD) and AUDITOR agency-wide; a unit's leader for the
	// appraisers of the unit's subtree (Subject.UnitLeader). Not HR_ADMIN,
	// who enters data and does not judge appraisers.
	ReadCalibration Action = "calibration.read"
	// ReadDevelopment reads the development report (overdue development
	// actions, the most frequent competency gaps): HR_ANALYST (the BKD's
	// training plan), HR_ADMIN, AUDITOR; a unit's leader for the unit's
	// subtree (Subject.UnitLeader).
	ReadDevelopment Action = "development.read"
)

// SystemDeadlinesID is the identity of the deadline process manager
// (projections/deadlines): the ledger itself, recording that an
// evaluation's objection window elapsed with no objection. No token can
// carry it (tokens name people and carry the four token roles only); the
// process builds its principal with [SystemDeadlines].
const SystemDeadlinesID = "system:deadlines"

// SystemDeadlines returns the principal of the deadline process manager.
// It is authorised for exactly one act, [Finalise].
func SystemDeadlines() domain.Principal {
	return domain.Principal{ID: SystemDeadlinesID, Roles: []domain.Role{domain.RoleSystem}}
}

// isSystemDeadlines reports whether p is the deadline process manager.
func isSystemDeadlines(p domain.Principal) bool {
	return p.ID == SystemDeadlinesID && p.Has(domain.RoleSystem)
}

// RoleFormerParty is the role of someone recorded on an SKP (an earlier
// appraiser, a decider) who is no longer a party in effect. Such a person
// may read the SKP and its history.
const RoleFormerParty domain.Role = "FORMER_PARTY"

// RoleAuthenticated is the role of a caller who is known but has no token
// role and no relationship to the resource (reading units).
const RoleAuthenticated domain.Role = "AUTHENTICATED"

// Subject describes whom an action concerns, as in effect on its date.
type Subject struct {
	// Employee is the NIP of the appraisee (owner of the SKP, or the
	// employee read).
	Employee string
	// Appraiser is the NIP of the appraiser in effect ("" if none).
	Appraiser string
	// Superior is the NIP of the appraiser's superior in effect. For
	// objection actions it is the superior in effect on the filing date.
	Superior string
	// OriginalAppraiser is the appraiser who rated and issued the
	// evaluation an objection concerns.
	OriginalAppraiser string
	// Involved are others recorded on the SKP (earlier appraisers and
	// superiors, raters, deciders); they may read it.
	Involved []string
	// EmployeeUnit is the employee's unit on the date.
	EmployeeUnit string
	// CallerUnit is the caller's unit on the date when the caller is a
	// registered employee, "" otherwise.
	CallerUnit string
	// FeedbackGivers are the NIPs of the feedback givers assigned to the
	// SKP (team leads, pemberi pertimbangan).
	FeedbackGivers []string
	// RoundInvitees are the NIPs invited to the 360° round an action
	// concerns (AnswerFeedbackRound).
	RoundInvitees []string
	// UnitLeader is the NIP of the leader one level up from the unit a
	// distribution or an organisation predikat concerns (or the head of the
	// body the policy names to set the predikat).
	UnitLeader string
	// Agencies are the agencies (instansi: IDs of root units) the resource
	// belongs to: a unit's root; an employee's agency today; an SKP's
	// drafting agency. Empty for a collection or when it is not known; the
	// agency roles of a caller whose token names an agency act on the
	// resource only when it is one of these ([InAgency]).
	Agencies []string
	// ReadAgencies are agencies whose roles may read the resource but not
	// change it: an SKP's employee's agency today, when the person moved
	// (history follows the person for reads only; writes on an SKP stay
	// with the agency that drafted it).
	ReadAgencies []string
}

// forAction returns s with the agencies that may do a: Agencies, and for
// a read ReadAgencies too.
func (s Subject) forAction(a Action) Subject {
	if IsRead(a) && len(s.ReadAgencies) > 0 && len(s.Agencies) > 0 {
		s.Agencies = slices.Concat(s.Agencies, s.ReadAgencies)
	}
	return s
}

// Options are the configurable parts of the rules.
type Options struct {
	// HRAdminMayDraft lets HR_ADMIN draft an SKP for an employee.
	HRAdminMayDraft bool
	// Backfill says the act is entered from a paper document (with its
	// paper_ref), which the HR roles may type in for the named signer.
	Backfill bool
}

// Denied explains a refusal. It matches [domain.ErrNotFound] when Visible is
// false and [domain.ErrForbidden] when it is true.
type Denied struct {
	// Caller is the principal's ID.
	Caller string
	// Action is what was refused.
	Action Action
	// Visible reports whether the caller may see the resource.
	Visible bool
	// Reason says which rule refused, for logs and the problem detail.
	Reason string
}

// Error says what was refused; for a resource the caller may not see, no
// more than "not found".
func (d *Denied) Error() string {
	if !d.Visible {
		return fmt.Sprintf("%s: not found", d.Action)
	}
	return fmt.Sprintf("%s forbidden for %s: %s", d.Action, d.Caller, d.Reason)
}

// Unwrap returns [domain.ErrForbidden] or [domain.ErrNotFound].
func (d *Denied) Unwrap() error {
	if d.Visible {
		return domain.ErrForbidden
	}
	return domain.ErrNotFound
}

// Visible reports whether p may see the SKP (or employee) of s at all:
// parties in effect, people recorded on it, the HR and audit roles of its
// agency, and the national roles.
func Visible(p domain.Principal, s Subject) bool {
	if National(p) {
		return true
	}
	p = Scoped(p, s.forAction(ReadSKP))
	return party(p, s) != "" ||
		p.Has(domain.RoleHRAdmin) || p.Has(domain.RoleAuditor) ||
		p.Has(domain.RoleHRAnalyst) || p.Has(domain.RoleGrievanceClerk)
}

// AgencyRoles are the token roles that act within the agency the token
// names (Principal.Agency) only.
var AgencyRoles = []domain.Role{domain.RoleHRAdmin, domain.RoleHRAnalyst, domain.RoleAuditor, domain.RoleGrievanceClerk}

// NationalRoles read across agencies and never write.
var NationalRoles = []domain.Role{domain.RoleNationalAnalyst, domain.RoleNationalAuditor}

// National reports whether p holds a national role.
func National(p domain.Principal) bool {
	return tokenRole(p, NationalRoles...) != ""
}

// HasAgencyRole reports whether p holds one of the agency roles.
func HasAgencyRole(p domain.Principal) bool {
	return tokenRole(p, AgencyRoles...) != ""
}

// InAgency reports whether p's agency roles reach a resource of the given
// agencies: p names no agency (the application layer leaves it empty only
// in a deployment of at most one agency, see docs/security.md), or the
// resource's agencies are not known (a collection), or p's agency is one
// of them.
func InAgency(p domain.Principal, agencies []string) bool {
	return p.Agency == "" || len(agencies) == 0 || slices.Contains(agencies, p.Agency)
}

// Scoped returns p as it may act on s: without its agency roles when s
// belongs to other agencies than p's ([InAgency]). Relationship roles are
// not token roles and are untouched.
func Scoped(p domain.Principal, s Subject) domain.Principal {
	if InAgency(p, s.Agencies) {
		return p
	}
	return WithoutAgencyRoles(p)
}

// WithoutAgencyRoles returns p without its agency roles: what a token
// without an agency claim keeps once the deployment holds two or more
// agencies.
func WithoutAgencyRoles(p domain.Principal) domain.Principal {
	roles := make([]domain.Role, 0, len(p.Roles))
	for _, r := range p.Roles {
		if !slices.Contains(AgencyRoles, r) {
			roles = append(roles, r)
		}
	}
	p.Roles = roles
	return p
}

// nationalReader returns the principal the national roles of p read as:
// NATIONAL_ANALYST reads what HR_ANALYST reads, NATIONAL_AUDITOR what
// AUDITOR reads, in every agency.
func nationalReader(p domain.Principal) domain.Principal {
	var roles []domain.Role
	if p.Has(domain.RoleNationalAnalyst) {
		roles = append(roles, domain.RoleHRAnalyst)
	}
	if p.Has(domain.RoleNationalAuditor) {
		roles = append(roles, domain.RoleAuditor)
	}
	return domain.Principal{ID: p.ID, Roles: roles}
}

// readActions change nothing: the national roles may do them (as
// HR_ANALYST or AUDITOR would) across agencies. Every other action is a
// mutation, refused to a caller holding a national role.
// DiscloseFeedbackGivers records the disclosure, so it is a mutation.
var readActions = []Action{ReadSKP, ReadHistory, ReadEmployee, ReadUnit, ReadReports, ListAllSKPs, ListEmployees,
	ReadObjectionRegister, ReadAudit, ReadOps, ReadTimeline, ReadInbox, ReadConsequences, ReadCalibration, ReadDevelopment}

// IsRead reports whether a changes nothing.
func IsRead(a Action) bool { return slices.Contains(readActions, a) }

// party returns p's relationship role to s, or "".
func party(p domain.Principal, s Subject) domain.Role {
	switch id := p.ID; {
	case id == "":
		return ""
	case id == s.Employee:
		return domain.RoleEmployee
	case id == s.Appraiser:
		return domain.RoleAppraiser
	case id == s.Superior:
		return domain.RoleAppraiserSuperior
	case id == s.OriginalAppraiser || slices.Contains(s.Involved, id):
		return RoleFormerParty
	}
	return ""
}

// rule decides one action: the role granted, or a reason for refusal.
type rule func(p domain.Principal, s Subject, o Options) (domain.Role, string)

var rules = map[Action]rule{
	ReadSKP: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if r := party(p, s); r != "" {
			return r, ""
		}
		return tokenRole(p, domain.RoleAuditor, domain.RoleHRAdmin, domain.RoleHRAnalyst, domain.RoleGrievanceClerk), "not a party"
	},
	ReadHistory: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if r := party(p, s); r != "" {
			return r, ""
		}
		return tokenRole(p, domain.RoleAuditor), "the history is for the parties and auditors"
	},
	DraftSKP: func(p domain.Principal, s Subject, o Options) (domain.Role, string) {
		if p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		if o.HRAdminMayDraft {
			return tokenRole(p, domain.RoleHRAdmin), "only the employee or HR_ADMIN drafts an SKP"
		}
		return "", "only the employee drafts an SKP"
	},
	EditPlan:          employeeOnly("only the employee edits the SKP plan"),
	SubmitSKP:         employeeOnly("only the employee submits the SKP"),
	RecordRealisation: employeeOnly("only the employee records realisations"),
	SelfAssess:        employeeOnly("only the employee assesses their own work"),
	AttachEvidence:    employeeOnly("only the employee attaches evidence"),
	WithdrawObjection: employeeOnly("only the employee withdraws an objection"),
	ReturnSKP:         appraiserOnly("only the appraiser in effect returns the SKP"),
	EstablishSKP:      appraiserOnly("only the appraiser in effect establishes the SKP"),
	AmendSKP: func(p domain.Principal, s Subject, o Options) (domain.Role, string) {
		if p.ID != "" && p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		return appraiserOnly("only the employee or the appraiser in effect opens an amendment")(p, s, o)
	},
	AcknowledgePlan: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if p.ID != "" && p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		return "", "only the employee signs their amended plan"
	},
	SetExpectation:          appraiserOnly("only the appraiser in effect sets behaviour expectations"),
	Rate:                    appraiserOnly("only the appraiser in effect rates; HR_ADMIN never rates"),
	Issue:                   appraiserOnly("only the appraiser in effect issues the evaluation"),
	OpenImprovementPlan:     appraiserOrHR("only the appraiser in effect or HR_ADMIN opens an improvement plan"),
	RecordImprovementResult: appraiserOrHR("only the appraiser in effect or HR_ADMIN records an improvement plan's result"),
	CancelSKP: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if r, _ := appraiserOnly("")(p, s, Options{}); r != "" {
			return r, ""
		}
		return tokenRole(p, domain.RoleHRAdmin), "only HR_ADMIN or the appraiser in effect cancels an SKP"
	},
	CloseSKP: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleHRAdmin), "only HR_ADMIN closes an SKP for a position change"
	},
	Finalise: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if isSystemDeadlines(p) {
			return domain.RoleSystem, ""
		}
		if r := party(p, s); r == domain.RoleEmployee || r == domain.RoleAppraiser || r == domain.RoleAppraiserSuperior {
			return r, ""
		}
		return tokenRole(p, domain.RoleHRAdmin), "only a party or HR_ADMIN records finality"
	},
	GiveFeedback: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		switch {
		case p.ID == s.Employee:
			return domain.RoleEmployee, ""
		case p.ID == s.Appraiser && s.Appraiser != "":
			return domain.RoleAppraiser, ""
		case s.CallerUnit != "" && s.CallerUnit == s.EmployeeUnit:
			return domain.RolePeer, ""
		case p.ID != "" && slices.Contains(s.FeedbackGivers, p.ID):
			return domain.RoleFeedbackGiver, ""
		}
		return "", "feedback comes from the appraiser, a colleague of the same unit, an assigned feedback giver or the employee"
	},
	AssignFeedbackGiver: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if p.ID == s.Appraiser && s.Appraiser != "" {
			return domain.RoleAppraiser, ""
		}
		return tokenRole(p, domain.RoleHRAdmin), "only the appraiser in effect or HR_ADMIN assigns a feedback giver"
	},
	ManageFeedbackRound: func(p domain.Principal, s Subject, o Options) (domain.Role, string) {
		if r, _ := appraiserOnly("")(p, s, o); r != "" {
			return r, ""
		}
		return tokenRole(p, domain.RoleHRAdmin), "only the appraiser in effect or HR_ADMIN opens and closes a 360° round"
	},
	AnswerFeedbackRound: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		switch {
		case p.ID == "" || !slices.Contains(s.RoundInvitees, p.ID):
			return "", "only an invited giver answers a 360° round"
		case p.ID == s.Employee:
			return domain.RoleEmployee, ""
		}
		return domain.RoleFeedbackGiver, ""
	},
	Coach: appraiserOnly("only the appraiser in effect records coaching and development"),
	DiscloseFeedbackGivers: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleAuditor), "only AUDITOR reads who gave 360° answers"
	},
	AcknowledgeReceipt: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if s.Employee != "" && p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		// A clerk only backfills a paper acknowledgement (the decider
		// requires paper_ref).
		return tokenRole(p, domain.RoleGrievanceClerk), "only the employee acknowledges receipt, or a grievance clerk backfills it from paper"
	},
	RecordPaper: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		// domain.md §10: deliveries, receipts and filings done on paper are
		// entered afterwards by a grievance clerk, naming the paper.
		return tokenRole(p, domain.RoleGrievanceClerk), "only a grievance clerk enters acts signed on paper"
	},
	FileObjection: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		if p.ID == s.OriginalAppraiser {
			return "", "the appraiser cannot record an objection to their own evaluation"
		}
		return tokenRole(p, domain.RoleGrievanceClerk), "only the employee or a grievance clerk files an objection"
	},
	RequestExplanation: superiorOnly("only the appraiser's superior as of the filing date requests explanations"),
	DecideObjection:    superiorOnly("only the appraiser's superior as of the filing date decides an objection"),
	DelegateDecision: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if s.Superior != "" && p.ID == s.Superior && p.ID != s.OriginalAppraiser {
			return domain.RoleAppraiserSuperior, ""
		}
		return tokenRole(p, domain.RoleHRAdmin), "only the decider in effect (never the original appraiser) or HR_ADMIN delegates an objection's decision"
	},
	EscalateDecision: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleHRAdmin, domain.RoleGrievanceClerk), "only HR_ADMIN or a grievance clerk records an escalation"
	},
	Explain: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		switch {
		case p.ID == s.Employee:
			return domain.RoleEmployee, ""
		case p.ID == s.OriginalAppraiser && s.OriginalAppraiser != "":
			return domain.RoleAppraiser, ""
		}
		return "", "only the employee or the appraiser explains"
	},
	ReadEmployee: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if r := party(p, s); r != "" {
			return r, ""
		}
		return tokenRole(p, domain.RoleHRAdmin, domain.RoleAuditor, domain.RoleHRAnalyst, domain.RoleGrievanceClerk), "not a party"
	},
	ManageMasterData: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleHRAdmin), "only HR_ADMIN manages master data"
	},
	BackfillMasterData: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleHRAdmin), "only HR_ADMIN enters master data effective before today, from the signed decree (paper_ref)"
	},
	RateUnit: func(p domain.Principal, s Subject, o Options) (domain.Role, string) {
		switch {
		case s.UnitLeader != "" && p.ID == s.UnitLeader:
			return domain.RoleUnitLeader, ""
		case o.Backfill:
			return tokenRole(p, domain.RoleHRAdmin), "only the leader one level up (or the body the policy names) sets the organisation predikat; HR_ADMIN enters it from paper"
		}
		return "", "only the leader one level up (or the body the policy names) sets the organisation predikat; HR_ADMIN only enters it from paper, with paper_ref"
	},
	ReadUnit: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if p.ID == "" {
			return "", "anonymous"
		}
		if !InAgency(p, s.Agencies) {
			return "", "a unit of another agency"
		}
		if r := tokenRole(p, domain.RoleHRAdmin, domain.RoleAuditor, domain.RoleHRAnalyst, domain.RoleGrievanceClerk); r != "" {
			return r, ""
		}
		return RoleAuthenticated, ""
	},
	JustifyDeviation: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if s.UnitLeader != "" && p.ID == s.UnitLeader {
			return domain.RoleUnitLeader, ""
		}
		return "", "only the leader one level up justifies a distribution deviation"
	},
	ReadReports: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleHRAnalyst, domain.RoleHRAdmin, domain.RoleAuditor), "reports are for HR_ANALYST, HR_ADMIN and AUDITOR"
	},
	ListAllSKPs: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		// As Visible has it: the HR and audit roles see every SKP; others
		// list the SKPs they are a party to.
		return tokenRole(p, domain.RoleHRAdmin, domain.RoleHRAnalyst, domain.RoleAuditor, domain.RoleGrievanceClerk), "only the HR and audit roles list every SKP"
	},
	ListEmployees: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		// A list of everyone (names, NIPs, posts) is master data for the
		// HR and audit roles, as listing every SKP is.
		return tokenRole(p, domain.RoleHRAdmin, domain.RoleHRAnalyst, domain.RoleAuditor, domain.RoleGrievanceClerk), "only the HR and audit roles list employees"
	},
	ReadObjectionRegister: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		// Grievance clerks track the deadlines.
		return tokenRole(p, domain.RoleGrievanceClerk, domain.RoleHRAdmin, domain.RoleHRAnalyst, domain.RoleAuditor), "the objection register is for GRIEVANCE_CLERK, HR roles and AUDITOR"
	},
	ReadAudit: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleAuditor), "the audit trail is for AUDITOR"
	},
	ReadOps: func(p domain.Principal, _ Subject, _ Options) (domain.Role, string) {
		return tokenRole(p, domain.RoleAuditor, domain.RoleHRAdmin), "projection status is for AUDITOR and HR_ADMIN"
	},
	ReadInbox: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		// An inbox lists what waits for one person, across SKPs they may
		// not otherwise see together: theirs alone.
		if s.Employee != "" && p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		return "", "an inbox is its owner's alone"
	},
	ReadConsequences: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if s.UnitLeader != "" && p.ID == s.UnitLeader {
			return domain.RoleUnitLeader, ""
		}
		return tokenRole(p, domain.RoleHRAdmin, domain.RoleHRAnalyst, domain.RoleAuditor), "consequences are for HR_ADMIN, HR_ANALYST, AUDITOR and the unit's leader"
	},
	ReadCalibration: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if s.UnitLeader != "" && p.ID == s.UnitLeader {
			return domain.RoleUnitLeader, ""
		}
		return tokenRole(p, domain.RoleHRAnalyst, domain.RoleAuditor), "the calibration view is for HR_ANALYST (BKD), AUDITOR and the unit's leader"
	},
	ReadDevelopment: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if s.UnitLeader != "" && p.ID == s.UnitLeader {
			return domain.RoleUnitLeader, ""
		}
		return tokenRole(p, domain.RoleHRAnalyst, domain.RoleHRAdmin, domain.RoleAuditor), "the development report is for HR_ANALYST (BKD), HR_ADMIN, AUDITOR and the unit's leader"
	},
	ReadTimeline: func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		// The timeline includes the SKPs the employee appraises, which are
		// not others' business.
		if s.Employee != "" && p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		return tokenRole(p, domain.RoleAuditor), "the timeline is for the employee and auditors"
	},
}

// createActions are refused with 403 rather than 404: the caller addresses
// a collection or master data, not a resource they might not know.
var createActions = []Action{DraftSKP, ManageMasterData, BackfillMasterData, RateUnit, ReadUnit, JustifyDeviation, ReadReports,
	ListAllSKPs, ListEmployees, ReadObjectionRegister, ReadAudit, ReadOps, ReadInbox, ReadConsequences, ReadCalibration, ReadDevelopment}

// Allowed reports whether p may do a to the resource described by s: the
// question a page asks before it offers an action (the server asks Decide
// again when the action is taken).
func Allowed(p domain.Principal, a Action, s Subject, o Options) bool {
	_, err := Decide(p, a, s, o)
	return err == nil
}

// Decide reports whether p may do a to the resource described by s, and in
// which role. A refusal is a [*Denied].
func Decide(p domain.Principal, a Action, s Subject, o Options) (domain.Role, error) {
	r, ok := rules[a]
	if !ok {
		return "", &Denied{Caller: p.ID, Action: a, Visible: true, Reason: "unknown action"}
	}
	if National(p) && !IsRead(a) {
		// National roles never write, whatever else the token holds.
		return "", &Denied{Caller: p.ID, Action: a, Visible: true, Reason: "the national roles read and never write"}
	}
	s = s.forAction(a)
	scoped := Scoped(p, s)
	role, reason := r(scoped, s, o)
	if role == "" && National(p) {
		switch nr, _ := r(nationalReader(p), s, o); nr {
		case "":
		case domain.RoleHRAnalyst:
			role = domain.RoleNationalAnalyst
		case domain.RoleAuditor:
			role = domain.RoleNationalAuditor
		default: // a read any known caller may do (units), in any agency
			role = tokenRole(p, NationalRoles...)
		}
	}
	if isSystemDeadlines(p) && a != Finalise {
		// The process manager acts for the ledger in one act only, even
		// where any known caller may (reading units).
		role, reason = "", "the deadline process manager only records finality"
	}
	if role != "" && p.ID != "" {
		return role, nil
	}
	visible := slices.Contains(createActions, a) || Visible(p, s)
	if !InAgency(p, s.forAction(ReadSKP).Agencies) && !National(p) {
		// (An agency that reads the resource without writing it, as the
		// one an SKP's employee moved to, is told 403.)
		anywhere := p
		anywhere.Agency = ""
		if full, _ := r(anywhere, s, o); full != "" {
			// The caller's agency role would allow this in its own
			// agency: another agency's resource is, to them, one that
			// does not exist (the same 404). A refusal by role alone
			// stays what it is anywhere (403 for a collection).
			visible = false
		}
	}
	return "", &Denied{Caller: p.ID, Action: a, Visible: visible, Reason: reason}
}

// Actions returns every action Decide knows.
func Actions() []Action {
	out := make([]Action, 0, len(rules))
	for a := range rules {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func employeeOnly(reason string) rule {
	return func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		if s.Employee != "" && p.ID == s.Employee {
			return domain.RoleEmployee, ""
		}
		return "", reason
	}
}

func appraiserOnly(reason string) rule {
	return func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		switch {
		case s.Appraiser == "" || p.ID != s.Appraiser:
			return "", reason
		case p.ID == s.Employee:
			return "", "separation of duty: the appraiser cannot be the employee"
		}
		return domain.RoleAppraiser, ""
	}
}

func superiorOnly(reason string) rule {
	return func(p domain.Principal, s Subject, _ Options) (domain.Role, string) {
		switch {
		case s.Superior == "" || p.ID != s.Superior:
			return "", reason
		case p.ID == s.OriginalAppraiser:
			return "", "separation of duty: the decider cannot be the original appraiser"
		case p.ID == s.Employee:
			return "", "separation of duty: the employee cannot decide their own objection"
		}
		return domain.RoleAppraiserSuperior, ""
	}
}

// tokenRole returns the first of roles that p's token carries, or "".
func tokenRole(p domain.Principal, roles ...domain.Role) domain.Role {
	for _, r := range roles {
		if p.Has(r) {
			return r
		}
	}
	return ""
}

// appraiserOrHR allows the appraiser in effect and HR_ADMIN.
func appraiserOrHR(reason string) rule {
	return func(p domain.Principal, s Subject, o Options) (domain.Role, string) {
		if r, _ := appraiserOnly("")(p, s, o); r != "" {
			return r, ""
		}
		return tokenRole(p, domain.RoleHRAdmin), reason
	}
}

// AuditReach is which audit logs a caller reads.
type AuditReach struct {
	// Any reports that the caller reads the national trail and may pick
	// any agency's log: a NATIONAL_AUDITOR, or an AUDITOR whose token
	// names no agency while the deployment holds at most one.
	Any bool
	// Agency is the one agency log an AUDITOR whose token names an agency
	// reads (when Any is false).
	Agency string
}

// DecideAuditReach decides which audit logs p reads, given how many
// agencies the deployment holds (it matters only to a token that names no
// agency): a NATIONAL_AUDITOR every log; an AUDITOR whose token names an
// agency that agency's log only; a claimless AUDITOR every log while the
// deployment holds at most one agency, and none once it holds two or
// more. A refusal is a [*Denied] (403).
func DecideAuditReach(p domain.Principal, agencies int) (AuditReach, error) {
	if p.Has(domain.RoleNationalAuditor) {
		return AuditReach{Any: true}, nil
	}
	if _, err := Decide(p, ReadAudit, Subject{}, Options{}); err != nil {
		return AuditReach{}, err
	}
	if p.Agency != "" {
		return AuditReach{Agency: p.Agency}, nil
	}
	if agencies >= 2 {
		return AuditReach{}, &Denied{Caller: p.ID, Action: ReadAudit, Visible: true,
			Reason: "the deployment has several agencies: an AUDITOR token must name its agency"}
	}
	return AuditReach{Any: true}, nil
}
