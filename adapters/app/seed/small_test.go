package seed_test

import (
	"context"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// TestSmallAgencies seeds the smallest agencies with several seeds: every
// choice must still fit the rules.
func TestSmallAgencies(t *testing.T) {
	for n := seed.MinEmployees; n <= 24; n += 4 {
		for s := range int64(2) {
			cfg := config(n)
			cfg.Seed = s
			e := newEnv(t, policy.Default(), now)
			st, err := seed.Run(context.Background(), cfg, e.svc)
			if err != nil {
				t.Fatalf("N=%d seed %d: %v", n, s, err)
			}
			if st.Employees != n {
				t.Errorf("N=%d seed %d: %d employees", n, s, st.Employees)
			}
		}
	}
}

// TestPolicies seeds under other policies: the seed follows each rule.
func TestPolicies(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*policy.Policy)
	}{
		{"HR may not draft", func(p *policy.Policy) { p.HRAdminMayDraft = false }},
		{"distribution blocks", func(p *policy.Policy) { p.DistributionMode = policy.Block }},
		{"population by appraiser's unit", func(p *policy.Policy) { p.DistributionPopulation = policy.AppraiserInUnit }},
		{"periodic objections, working days", func(p *policy.Policy) { p.PeriodicObjections, p.ObjectionWorkingDays = true, true }},
		{"organisation predikat required", func(p *policy.Policy) { p.RequireOrgPredikat = true }},
		{"deadline in March", func(p *policy.Policy) { p.EstablishDeadline = policy.MonthDay{Month: 3, Day: 15} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			pol := policy.Default()
			c.change(&pol)
			e := newEnv(t, pol, now)
			st, err := seed.Run(context.Background(), config(40), e.svc)
			if err != nil {
				t.Fatal(err)
			}
			if st.Objections == 0 || st.Issued == 0 {
				t.Errorf("%+v", st)
			}
		})
	}
}
