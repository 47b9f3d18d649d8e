package authz_test

import (
	"errors"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

func TestAgencyScope(t *testing.T) {
	hrA := domain.Principal{ID: "hr-a", Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "A"}
	anB := domain.Principal{ID: "an-b", Roles: []domain.Role{domain.RoleHRAnalyst}, Agency: "B"}
	inA := authz.Subject{Employee: "199001012015031001", Agencies: []string{"A"}}
	moved := authz.Subject{Employee: "199001012015031001", Agencies: []string{"A", "B"}}
	if _, err := authz.Decide(hrA, authz.ReadSKP, inA, authz.Options{}); err != nil {
		t.Fatalf("A's HR reading A's SKP: %v", err)
	}
	_, err := authz.Decide(anB, authz.ReadSKP, inA, authz.Options{})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("B's analyst reading A's SKP = %v, want not found", err)
	}
	if _, err := authz.Decide(anB, authz.ReadSKP, moved, authz.Options{}); err != nil {
		t.Fatalf("B's analyst reading the SKP of a person who moved to B: %v", err)
	}
	if !errors.Is(func() error {
		_, err := authz.Decide(hrA, authz.ManageMasterData, authz.Subject{Agencies: []string{"B"}}, authz.Options{})
		return err
	}(), domain.ErrNotFound) {
		t.Fatal("A's HR manages B's master data")
	}
	// Refused by role alone: the same 403 in any agency.
	_, err = authz.Decide(anB, authz.ManageMasterData, authz.Subject{Agencies: []string{"A"}}, authz.Options{})
	if !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("B's analyst managing A's master data = %v, want forbidden (as in B)", err)
	}
	// A token that names no agency is not scoped (the application layer
	// leaves it so only while the deployment holds one agency).
	if _, err := authz.Decide(domain.Principal{ID: "hr", Roles: []domain.Role{domain.RoleHRAdmin}}, authz.ReadSKP, inA, authz.Options{}); err != nil {
		t.Fatal(err)
	}
	// Relationship roles are untouched by the scope.
	emp := domain.Principal{ID: "199001012015031001", Agency: "B"}
	if _, err := authz.Decide(emp, authz.EditPlan, inA, authz.Options{}); err != nil {
		t.Fatalf("the employee with another agency's claim: %v", err)
	}
	if got := authz.WithoutAgencyRoles(domain.Principal{ID: "x", Roles: []domain.Role{domain.RoleHRAdmin, domain.RoleNationalAnalyst}}); len(got.Roles) != 1 || got.Roles[0] != domain.RoleNationalAnalyst {
		t.Fatalf("WithoutAgencyRoles = %v", got.Roles)
	}
}

func TestNationalRoles(t *testing.T) {
	inA := authz.Subject{Employee: "199001012015031001", Agencies: []string{"A"}}
	an := domain.Principal{ID: "bkn", Roles: []domain.Role{domain.RoleNationalAnalyst}}
	aud := domain.Principal{ID: "bpk", Roles: []domain.Role{domain.RoleNationalAuditor}, Agency: "B"}
	if r, err := authz.Decide(an, authz.ReadSKP, inA, authz.Options{}); err != nil || r != domain.RoleNationalAnalyst {
		t.Fatalf("national analyst reads = %q, %v", r, err)
	}
	if r, err := authz.Decide(aud, authz.ReadHistory, inA, authz.Options{}); err != nil || r != domain.RoleNationalAuditor {
		t.Fatalf("national auditor reads the history = %q, %v", r, err)
	}
	if _, err := authz.Decide(an, authz.ReadHistory, inA, authz.Options{}); err == nil {
		t.Fatal("the national analyst reads what only auditors read")
	}
	// Never a write, whatever else the token holds: the employee's own
	// plan included.
	both := domain.Principal{ID: "199001012015031001", Roles: []domain.Role{domain.RoleNationalAuditor, domain.RoleHRAdmin}}
	for _, a := range authz.Actions() {
		if authz.IsRead(a) {
			continue
		}
		_, err := authz.Decide(both, a, inA, authz.Options{HRAdminMayDraft: true, Backfill: true})
		if !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("%s by a national role = %v, want forbidden", a, err)
		}
	}
	// A national token that also names an agency reads every agency's
	// units.
	if _, err := authz.Decide(aud, authz.ReadUnit, authz.Subject{Agencies: []string{"A"}}, authz.Options{}); err != nil {
		t.Fatalf("national auditor with a claim reads A's unit: %v", err)
	}
}

// The audit reach (which logs an auditor reads) is decided here, not by
// the edges.
func TestDecideAuditReach(t *testing.T) {
	aud := func(agency string, roles ...domain.Role) domain.Principal {
		return domain.Principal{ID: "x", Roles: roles, Agency: agency}
	}
	for _, c := range []struct {
		name     string
		p        domain.Principal
		agencies int
		want     authz.AuditReach
		denied   bool
	}{
		{"national", aud("", domain.RoleNationalAuditor), 5, authz.AuditReach{Any: true}, false},
		{"agency auditor", aud("PEMKOT", domain.RoleAuditor), 5, authz.AuditReach{Agency: "PEMKOT"}, false},
		{"claimless, one agency", aud("", domain.RoleAuditor), 1, authz.AuditReach{Any: true}, false},
		{"claimless, two agencies", aud("", domain.RoleAuditor), 2, authz.AuditReach{}, true},
		{"not an auditor", aud("PEMKOT", domain.RoleHRAdmin), 1, authz.AuditReach{}, true},
	} {
		got, err := authz.DecideAuditReach(c.p, c.agencies)
		if (err != nil) != c.denied || got != c.want {
			t.Errorf("%s: %+v, %v", c.name, got, err)
		}
		if c.denied && !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", c.name, err)
		}
	}
}

// History follows the person for reads only: the agency an SKP's
// employee moved to reads it and is told 403 for a write; the drafting
// agency writes.
func TestReadAgenciesReadOnly(t *testing.T) {
	hrA := domain.Principal{ID: "hr-a", Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "A"}
	hrB := domain.Principal{ID: "hr-b", Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "B"}
	hrC := domain.Principal{ID: "hr-c", Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "C"}
	moved := authz.Subject{Employee: "199001012015031001", Agencies: []string{"A"}, ReadAgencies: []string{"B"}}
	if _, err := authz.Decide(hrB, authz.ReadSKP, moved, authz.Options{}); err != nil {
		t.Fatalf("B reading the SKP of its new employee: %v", err)
	}
	if _, err := authz.Decide(hrB, authz.CancelSKP, moved, authz.Options{}); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("B cancelling A's SKP: %v, want forbidden", err)
	}
	if _, err := authz.Decide(hrA, authz.CancelSKP, moved, authz.Options{}); err != nil {
		t.Fatalf("A cancelling its SKP: %v", err)
	}
	if _, err := authz.Decide(hrC, authz.ReadSKP, moved, authz.Options{}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("C reading: %v, want not found", err)
	}
}
