package authz_test

import (
	"errors"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

const (
	emp      = "199001012015031001"
	appr     = "198001012005031002"
	sup      = "197001011995031003"
	peer     = "199101012016031004"
	stranger = "199201012017031005"
	former   = "197501012000031006"
	leader   = "196501011990031007"
)

var (
	employee     = domain.Principal{ID: emp}
	appraiser    = domain.Principal{ID: appr}
	superior     = domain.Principal{ID: sup}
	colleague    = domain.Principal{ID: peer}
	outsider     = domain.Principal{ID: stranger}
	formerParty  = domain.Principal{ID: former}
	unitLeader   = domain.Principal{ID: leader}
	hrAdmin      = domain.Principal{ID: "hr-admin-1", Roles: []domain.Role{domain.RoleHRAdmin}}
	auditor      = domain.Principal{ID: "auditor-1", Roles: []domain.Role{domain.RoleAuditor}}
	analyst      = domain.Principal{ID: "analyst-1", Roles: []domain.Role{domain.RoleHRAnalyst}}
	clerk        = domain.Principal{ID: "clerk-1", Roles: []domain.Role{domain.RoleGrievanceClerk}}
	appraiserHR  = domain.Principal{ID: appr, Roles: []domain.Role{domain.RoleHRAdmin}}
	strangerUnit = "unit-b"
)

func subject() authz.Subject {
	return authz.Subject{
		Employee: emp, Appraiser: appr, Superior: sup, OriginalAppraiser: appr,
		Involved: []string{former}, EmployeeUnit: "unit-a", UnitLeader: leader,
	}
}

// outcome is the role granted, or "403" / "404".
func decide(t testing.TB, p domain.Principal, a authz.Action, s authz.Subject, o authz.Options) string {
	t.Helper()
	role, err := authz.Decide(p, a, s, o)
	switch {
	case err == nil:
		return string(role)
	case errors.Is(err, domain.ErrForbidden):
		return "403"
	case errors.Is(err, domain.ErrNotFound):
		return "404"
	}
	t.Fatalf("Decide(%s, %s) error %v matches neither ErrForbidden nor ErrNotFound", p.ID, a, err)
	return ""
}

func TestDecide(t *testing.T) {
	opts := authz.Options{HRAdminMayDraft: true}
	tests := []struct {
		name   string
		caller domain.Principal
		action authz.Action
		opts   *authz.Options
		change func(*authz.Subject)
		want   string
	}{
		// Registers, the trail and operations: by token role alone, and a
		// refusal is 403 (their existence is no secret).
		{name: "HR admin lists all SKPs", caller: hrAdmin, action: authz.ListAllSKPs, want: "HR_ADMIN"},
		{name: "clerk lists all SKPs", caller: clerk, action: authz.ListAllSKPs, want: "GRIEVANCE_CLERK"},
		{name: "employee lists their own", caller: employee, action: authz.ListAllSKPs, want: "403"},
		{name: "analyst lists employees", caller: analyst, action: authz.ListEmployees, want: "HR_ANALYST"},
		{name: "employee may not list employees", caller: employee, action: authz.ListEmployees, want: "403"},
		{name: "clerk reads the register", caller: clerk, action: authz.ReadObjectionRegister, want: "GRIEVANCE_CLERK"},
		{name: "analyst reads the register", caller: analyst, action: authz.ReadObjectionRegister, want: "HR_ANALYST"},
		{name: "appraiser does not read the register", caller: appraiser, action: authz.ReadObjectionRegister, want: "403"},
		{name: "auditor reads the trail", caller: auditor, action: authz.ReadAudit, want: "AUDITOR"},
		{name: "HR admin does not read the trail", caller: hrAdmin, action: authz.ReadAudit, want: "403"},
		{name: "clerk does not read the trail", caller: clerk, action: authz.ReadAudit, want: "403"},
		{name: "HR admin reads operations", caller: hrAdmin, action: authz.ReadOps, want: "HR_ADMIN"},
		{name: "auditor reads operations", caller: auditor, action: authz.ReadOps, want: "AUDITOR"},
		{name: "analyst does not read operations", caller: analyst, action: authz.ReadOps, want: "403"},
		{name: "employee reads their timeline", caller: employee, action: authz.ReadTimeline, want: "EMPLOYEE"},
		{name: "auditor reads a timeline", caller: auditor, action: authz.ReadTimeline, want: "AUDITOR"},
		{name: "appraiser does not read the timeline", caller: appraiser, action: authz.ReadTimeline, want: "403"},
		{name: "HR admin does not read the timeline", caller: hrAdmin, action: authz.ReadTimeline, want: "403"},
		{name: "anonymous reads no register", caller: domain.Principal{}, action: authz.ReadObjectionRegister, want: "403"},
		// Reading.
		{name: "employee reads", caller: employee, action: authz.ReadSKP, want: "EMPLOYEE"},
		{name: "appraiser reads", caller: appraiser, action: authz.ReadSKP, want: "APPRAISER"},
		{name: "superior reads", caller: superior, action: authz.ReadSKP, want: "APPRAISER_SUPERIOR"},
		{name: "former party reads", caller: formerParty, action: authz.ReadSKP, want: "FORMER_PARTY"},
		{name: "HR admin reads", caller: hrAdmin, action: authz.ReadSKP, want: "HR_ADMIN"},
		{name: "auditor reads", caller: auditor, action: authz.ReadSKP, want: "AUDITOR"},
		{name: "analyst reads", caller: analyst, action: authz.ReadSKP, want: "HR_ANALYST"},
		{name: "clerk reads", caller: clerk, action: authz.ReadSKP, want: "GRIEVANCE_CLERK"},
		{name: "stranger does not see", caller: outsider, action: authz.ReadSKP, want: "404"},
		{name: "colleague does not see", caller: colleague, action: authz.ReadSKP, want: "404"},
		{name: "anonymous does not see", caller: domain.Principal{}, action: authz.ReadSKP, want: "404"},
		{name: "employee reads history", caller: employee, action: authz.ReadHistory, want: "EMPLOYEE"},
		{name: "auditor reads history", caller: auditor, action: authz.ReadHistory, want: "AUDITOR"},
		{name: "HR admin may not read history", caller: hrAdmin, action: authz.ReadHistory, want: "403"},
		{name: "analyst may not read history", caller: analyst, action: authz.ReadHistory, want: "403"},
		{name: "stranger history not found", caller: outsider, action: authz.ReadHistory, want: "404"},

		// Planning.
		{name: "employee drafts", caller: employee, action: authz.DraftSKP, want: "EMPLOYEE"},
		{name: "HR admin drafts on behalf", caller: hrAdmin, action: authz.DraftSKP, want: "HR_ADMIN"},
		{name: "HR admin may not draft when configured off", caller: hrAdmin, action: authz.DraftSKP, opts: &authz.Options{}, want: "403"},
		{name: "appraiser may not draft", caller: appraiser, action: authz.DraftSKP, want: "403"},
		{name: "stranger may not draft", caller: outsider, action: authz.DraftSKP, want: "403"},
		{name: "employee edits plan", caller: employee, action: authz.EditPlan, want: "EMPLOYEE"},
		{name: "appraiser may not edit plan", caller: appraiser, action: authz.EditPlan, want: "403"},
		{name: "HR admin may not edit plan", caller: hrAdmin, action: authz.EditPlan, want: "403"},
		{name: "stranger editing sees nothing", caller: outsider, action: authz.EditPlan, want: "404"},
		{name: "employee submits", caller: employee, action: authz.SubmitSKP, want: "EMPLOYEE"},
		{name: "appraiser returns", caller: appraiser, action: authz.ReturnSKP, want: "APPRAISER"},
		{name: "employee may not return", caller: employee, action: authz.ReturnSKP, want: "403"},
		{name: "appraiser establishes", caller: appraiser, action: authz.EstablishSKP, want: "APPRAISER"},
		{name: "superior may not establish", caller: superior, action: authz.EstablishSKP, want: "403"},
		{name: "HR admin may not establish", caller: hrAdmin, action: authz.EstablishSKP, want: "403"},
		{name: "former appraiser may not establish", caller: formerParty, action: authz.EstablishSKP, want: "403"},
		{name: "no appraiser in effect", caller: appraiser, action: authz.EstablishSKP, change: func(s *authz.Subject) { s.Appraiser = "" }, want: "403"},
		{name: "appraiser amends", caller: appraiser, action: authz.AmendSKP, want: "APPRAISER"},
		{name: "appraiser sets expectation", caller: appraiser, action: authz.SetExpectation, want: "APPRAISER"},
		{name: "HR admin cancels", caller: hrAdmin, action: authz.CancelSKP, want: "HR_ADMIN"},
		{name: "appraiser cancels", caller: appraiser, action: authz.CancelSKP, want: "APPRAISER"},
		{name: "employee may not cancel", caller: employee, action: authz.CancelSKP, want: "403"},
		{name: "HR admin closes", caller: hrAdmin, action: authz.CloseSKP, want: "HR_ADMIN"},
		{name: "appraiser may not close", caller: appraiser, action: authz.CloseSKP, want: "403"},

		// Execution.
		{name: "employee records realisation", caller: employee, action: authz.RecordRealisation, want: "EMPLOYEE"},
		{name: "appraiser may not record realisation", caller: appraiser, action: authz.RecordRealisation, want: "403"},
		{name: "employee attaches evidence", caller: employee, action: authz.AttachEvidence, want: "EMPLOYEE"},
		{name: "employee assesses their work", caller: employee, action: authz.SelfAssess, want: "EMPLOYEE"},
		{name: "appraiser may not write the self-assessment", caller: appraiser, action: authz.SelfAssess, want: "403"},
		{name: "HR admin may not write the self-assessment", caller: hrAdmin, action: authz.SelfAssess, want: "403"},
		{name: "appraiser opens an improvement plan", caller: appraiser, action: authz.OpenImprovementPlan, want: "APPRAISER"},
		{name: "HR admin opens an improvement plan", caller: hrAdmin, action: authz.OpenImprovementPlan, want: "HR_ADMIN"},
		{name: "employee may not open an improvement plan", caller: employee, action: authz.OpenImprovementPlan, want: "403"},
		{name: "appraiser records an improvement result", caller: appraiser, action: authz.RecordImprovementResult, want: "APPRAISER"},
		{name: "HR admin records an improvement result", caller: hrAdmin, action: authz.RecordImprovementResult, want: "HR_ADMIN"},
		{name: "employee may not record an improvement result", caller: employee, action: authz.RecordImprovementResult, want: "403"},
		{name: "HR admin may not attach evidence", caller: hrAdmin, action: authz.AttachEvidence, want: "403"},
		{name: "appraiser gives feedback", caller: appraiser, action: authz.GiveFeedback, want: "APPRAISER"},
		{name: "employee gives feedback", caller: employee, action: authz.GiveFeedback, want: "EMPLOYEE"},
		{name: "colleague of the same unit gives feedback", caller: colleague, action: authz.GiveFeedback,
			change: func(s *authz.Subject) { s.CallerUnit = "unit-a" }, want: "PEER"},
		{name: "colleague of another unit may not", caller: outsider, action: authz.GiveFeedback,
			change: func(s *authz.Subject) { s.CallerUnit = strangerUnit }, want: "404"},
		{name: "superior may not give feedback", caller: superior, action: authz.GiveFeedback, want: "403"},

		// Evaluation.
		{name: "appraiser rates", caller: appraiser, action: authz.Rate, want: "APPRAISER"},
		{name: "HR admin never rates", caller: hrAdmin, action: authz.Rate, want: "403"},
		{name: "appraiser with an HR token rates as appraiser", caller: appraiserHR, action: authz.Rate, want: "APPRAISER"},
		{name: "superior may not rate", caller: superior, action: authz.Rate, want: "403"},
		{name: "employee may not rate", caller: employee, action: authz.Rate, want: "403"},
		{name: "stranger rating sees nothing", caller: outsider, action: authz.Rate, want: "404"},
		{name: "self-appraisal refused", caller: employee, action: authz.Rate,
			change: func(s *authz.Subject) { s.Appraiser = emp }, want: "403"},
		{name: "appraiser issues", caller: appraiser, action: authz.Issue, want: "APPRAISER"},
		{name: "employee may not issue", caller: employee, action: authz.Issue, want: "403"},
		{name: "employee records finality", caller: employee, action: authz.Finalise, want: "EMPLOYEE"},
		{name: "employee acknowledges receipt", caller: employee, action: authz.AcknowledgeReceipt, want: "EMPLOYEE"},
		{name: "clerk backfills an acknowledgement", caller: clerk, action: authz.AcknowledgeReceipt, want: "GRIEVANCE_CLERK"},
		{name: "appraiser may not acknowledge for the employee", caller: appraiser, action: authz.AcknowledgeReceipt, want: "403"},
		{name: "clerk enters paper", caller: clerk, action: authz.RecordPaper, want: "GRIEVANCE_CLERK"},
		{name: "appraiser does not enter paper", caller: appraiser, action: authz.RecordPaper, want: "403"},
		{name: "HR admin does not enter an evaluation's paper", caller: hrAdmin, action: authz.RecordPaper, want: "403"},
		{name: "HR admin records finality", caller: hrAdmin, action: authz.Finalise, want: "HR_ADMIN"},
		{name: "auditor may not record finality", caller: auditor, action: authz.Finalise, want: "403"},

		// Objection.
		{name: "employee files", caller: employee, action: authz.FileObjection, want: "EMPLOYEE"},
		{name: "clerk records a filing", caller: clerk, action: authz.FileObjection, want: "GRIEVANCE_CLERK"},
		{name: "appraiser may not file", caller: appraiser, action: authz.FileObjection, want: "403"},
		{name: "HR admin may not file", caller: hrAdmin, action: authz.FileObjection, want: "403"},
		{name: "employee withdraws", caller: employee, action: authz.WithdrawObjection, want: "EMPLOYEE"},
		{name: "clerk may not withdraw", caller: clerk, action: authz.WithdrawObjection, want: "403"},
		{name: "superior requests explanations", caller: superior, action: authz.RequestExplanation, want: "APPRAISER_SUPERIOR"},
		{name: "appraiser may not request explanations", caller: appraiser, action: authz.RequestExplanation, want: "403"},
		{name: "superior decides", caller: superior, action: authz.DecideObjection, want: "APPRAISER_SUPERIOR"},
		{name: "appraiser never decides", caller: appraiser, action: authz.DecideObjection, want: "403"},
		{name: "clerk cannot decide", caller: clerk, action: authz.DecideObjection, want: "403"},
		{name: "HR admin cannot decide", caller: hrAdmin, action: authz.DecideObjection, want: "403"},
		{name: "superior who was the original appraiser cannot decide", caller: superior, action: authz.DecideObjection,
			change: func(s *authz.Subject) { s.OriginalAppraiser = sup }, want: "403"},
		{name: "not the superior on the filing date and not a party", caller: superior, action: authz.DecideObjection,
			change: func(s *authz.Subject) { s.Superior = "" }, want: "404"},
		{name: "employee explains", caller: employee, action: authz.Explain, want: "EMPLOYEE"},
		{name: "original appraiser explains", caller: appraiser, action: authz.Explain, want: "APPRAISER"},
		{name: "superior does not explain", caller: superior, action: authz.Explain, want: "403"},

		// Master data and reports.
		{name: "HR admin manages master data", caller: hrAdmin, action: authz.ManageMasterData, want: "HR_ADMIN"},
		{name: "auditor may not manage master data", caller: auditor, action: authz.ManageMasterData, want: "403"},
		{name: "employee may not manage master data", caller: employee, action: authz.ManageMasterData, want: "403"},
		{name: "HR admin backfills master data", caller: hrAdmin, action: authz.BackfillMasterData, want: "HR_ADMIN"},
		{name: "clerk may not backfill master data", caller: clerk, action: authz.BackfillMasterData, want: "403"},
		{name: "auditor may not backfill master data", caller: auditor, action: authz.BackfillMasterData, want: "403"},
		{name: "HR admin enters a unit's predikat from paper", caller: hrAdmin, action: authz.RateUnit, opts: &authz.Options{Backfill: true}, want: "HR_ADMIN"},
		{name: "HR admin does not set a unit's predikat itself", caller: hrAdmin, action: authz.RateUnit, want: "403"},
		{name: "the leader one level up sets a unit's predikat", caller: employee, action: authz.RateUnit, change: func(s *authz.Subject) { s.UnitLeader = employee.ID }, want: "UNIT_LEADER"},
		{name: "an employee who does not lead may not, paper or not", caller: employee, action: authz.RateUnit, opts: &authz.Options{Backfill: true}, want: "403"},
		{name: "anyone known reads units", caller: outsider, action: authz.ReadUnit, want: "AUTHENTICATED"},
		{name: "employee reads own record", caller: employee, action: authz.ReadEmployee, want: "EMPLOYEE"},
		{name: "stranger does not see an employee", caller: outsider, action: authz.ReadEmployee, want: "404"},
		{name: "unit leader justifies", caller: unitLeader, action: authz.JustifyDeviation, want: "UNIT_LEADER"},
		{name: "HR admin may not justify", caller: hrAdmin, action: authz.JustifyDeviation, want: "403"},
		{name: "analyst reads reports", caller: analyst, action: authz.ReadReports, want: "HR_ANALYST"},
		{name: "employee may not read reports", caller: employee, action: authz.ReadReports, want: "403"},
		{name: "HR admin reads consequences", caller: hrAdmin, action: authz.ReadConsequences, want: "HR_ADMIN"},
		{name: "unit leader reads the unit's consequences", caller: unitLeader, action: authz.ReadConsequences, want: "UNIT_LEADER"},
		{name: "employee may not read consequences", caller: employee, action: authz.ReadConsequences, want: "403"},
		{name: "analyst reads calibration", caller: analyst, action: authz.ReadCalibration, want: "HR_ANALYST"},
		{name: "auditor reads calibration", caller: auditor, action: authz.ReadCalibration, want: "AUDITOR"},
		{name: "unit leader reads the unit's calibration", caller: unitLeader, action: authz.ReadCalibration, want: "UNIT_LEADER"},
		{name: "HR admin may not read calibration", caller: hrAdmin, action: authz.ReadCalibration, want: "403"},
		{name: "employee may not read calibration", caller: employee, action: authz.ReadCalibration, want: "403"},
		{name: "analyst reads development", caller: analyst, action: authz.ReadDevelopment, want: "HR_ANALYST"},
		{name: "HR admin reads development", caller: hrAdmin, action: authz.ReadDevelopment, want: "HR_ADMIN"},
		{name: "auditor reads development", caller: auditor, action: authz.ReadDevelopment, want: "AUDITOR"},
		{name: "unit leader reads the unit's development", caller: unitLeader, action: authz.ReadDevelopment, want: "UNIT_LEADER"},
		{name: "employee may not read development", caller: employee, action: authz.ReadDevelopment, want: "403"},
		{name: "unknown action", caller: hrAdmin, action: "skp.delete", want: "403"},

		// Coaching and development (issue 14).
		{name: "appraiser coaches", caller: appraiser, action: authz.Coach, want: "APPRAISER"},
		{name: "employee does not coach", caller: employee, action: authz.Coach, want: "403"},
		{name: "HR admin does not coach", caller: hrAdmin, action: authz.Coach, want: "403"},
		{name: "stranger does not see coaching", caller: outsider, action: authz.Coach, want: "404"},

		// 360° rounds (issue 14).
		{name: "appraiser opens a 360 round", caller: appraiser, action: authz.ManageFeedbackRound, want: "APPRAISER"},
		{name: "HR admin opens a 360 round", caller: hrAdmin, action: authz.ManageFeedbackRound, want: "HR_ADMIN"},
		{name: "employee may not open a 360 round", caller: employee, action: authz.ManageFeedbackRound, want: "403"},
		{name: "stranger does not see a 360 round", caller: outsider, action: authz.ManageFeedbackRound, want: "404"},
		{name: "invited peer answers", caller: outsider, action: authz.AnswerFeedbackRound,
			change: func(s *authz.Subject) { s.RoundInvitees = []string{stranger} }, want: "FEEDBACK_GIVER"},
		{name: "invited employee answers as self", caller: employee, action: authz.AnswerFeedbackRound,
			change: func(s *authz.Subject) { s.RoundInvitees = []string{emp} }, want: "EMPLOYEE"},
		{name: "uninvited stranger gets 404", caller: outsider, action: authz.AnswerFeedbackRound,
			change: func(s *authz.Subject) { s.RoundInvitees = []string{peer} }, want: "404"},
		{name: "uninvited appraiser may not answer", caller: appraiser, action: authz.AnswerFeedbackRound, want: "403"},
		{name: "auditor reads the givers", caller: auditor, action: authz.DiscloseFeedbackGivers, want: "AUDITOR"},
		{name: "employee may not read the givers", caller: employee, action: authz.DiscloseFeedbackGivers, want: "403"},
		{name: "HR admin may not read the givers", caller: hrAdmin, action: authz.DiscloseFeedbackGivers, want: "403"},
		{name: "stranger does not see the givers", caller: outsider, action: authz.DiscloseFeedbackGivers, want: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := subject()
			if tt.change != nil {
				tt.change(&s)
			}
			o := opts
			if tt.opts != nil {
				o = *tt.opts
			}
			if got := decide(t, tt.caller, tt.action, s, o); got != tt.want {
				t.Errorf("Decide(%s, %s) = %s, want %s", tt.caller.ID, tt.action, got, tt.want)
			}
		})
	}
}

// Allowed is Decide's answer as a yes or no.
func TestAllowed(t *testing.T) {
	if !authz.Allowed(auditor, authz.ReadAudit, authz.Subject{}, authz.Options{}) || authz.Allowed(analyst, authz.ReadAudit, authz.Subject{}, authz.Options{}) {
		t.Error("Allowed disagrees with Decide")
	}
}

// Every action has a rule, and the table above exercises each one.
func TestEveryActionHasARule(t *testing.T) {
	for _, a := range authz.Actions() {
		_, err := authz.Decide(domain.Principal{ID: "x"}, a, authz.Subject{}, authz.Options{})
		var d *authz.Denied
		if err != nil && errors.As(err, &d) && d.Reason == "unknown action" {
			t.Errorf("action %s has no rule", a)
		}
	}
}

// The deadline process manager may record finality and nothing else; a
// principal that only borrows its name (no SYSTEM role, as any token
// would be) or only its role may not even do that.
func TestSystemDeadlinesFinalisesOnly(t *testing.T) {
	sys := authz.SystemDeadlines()
	for _, a := range authz.Actions() {
		role, err := authz.Decide(sys, a, subject(), authz.Options{HRAdminMayDraft: true})
		switch {
		case a == authz.Finalise && (err != nil || role != domain.RoleSystem):
			t.Errorf("system may not finalise: role %q, %v", role, err)
		case a != authz.Finalise && err == nil:
			t.Errorf("system may %s (role %s): it is authorised for finality only", a, role)
		}
	}
	for _, p := range []domain.Principal{
		{ID: authz.SystemDeadlinesID},
		{ID: authz.SystemDeadlinesID, Roles: []domain.Role{domain.RoleAuditor}},
		{ID: "someone-else", Roles: []domain.Role{domain.RoleSystem}},
	} {
		if authz.Allowed(p, authz.Finalise, authz.Subject{Employee: emp, Appraiser: appr}, authz.Options{}) {
			t.Errorf("%+v may finalise", p)
		}
	}
}

// An inbox is its owner's alone: not the appraiser's, not HR's, not an
// auditor's.
func TestReadInboxOwnerOnly(t *testing.T) {
	s := authz.Subject{Employee: emp}
	if !authz.Allowed(employee, authz.ReadInbox, s, authz.Options{}) {
		t.Error("the owner may not read their inbox")
	}
	for _, p := range []domain.Principal{appraiser, superior, hrAdmin, auditor, clerk, authz.SystemDeadlines(), {}} {
		if authz.Allowed(p, authz.ReadInbox, s, authz.Options{}) {
			t.Errorf("%s may read another's inbox", p.ID)
		}
	}
}
