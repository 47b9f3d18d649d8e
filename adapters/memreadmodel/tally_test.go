package memreadmodel

import (
	"context"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// TestTallyBuiltOnlyForTheRuleItCounts: a distribution counted by
// APPRAISER_IN_UNIT (which the Tally does not count) leaves the Tally
// unbuilt, so later writes pay no hooks for it (it was built before the
// rule was looked at: review finding 3); one counted by UNIT_AND_SUBUNITS
// builds it.
func TestTallyBuiltOnlyForTheRuleItCounts(t *testing.T) {
	ctx := context.Background()
	events := readmodeltest.Synthetic(20 * 62)
	m := New(Options{History: readmodeltest.NewSyntheticHistory(events)})
	for _, s := range m.Sinks() {
		readmodeltest.ProjectInto(t, s, events, 500)
	}
	in := reports.DistributionInput{Directory: m.Directory(), SKPs: m.SKPs(), Evaluations: m.Evaluations(),
		Justifications: m.Directory(), Policy: policy.Default(), Pattern: distribution.SE3_2023}
	in.Policy.DistributionPopulation = policy.AppraiserInUnit
	if _, err := reports.Distribution(ctx, in, "ROOT", "2026"); err != nil {
		t.Fatal(err)
	}
	if m.skpsR.hub.t.On() {
		t.Fatal("a distribution counted by APPRAISER_IN_UNIT built the Tally")
	}
	in.Policy.DistributionPopulation = policy.UnitAndSubunits
	if _, err := reports.Distribution(ctx, in, "ROOT", "2026"); err != nil {
		t.Fatal(err)
	}
	if !m.skpsR.hub.t.On() {
		t.Fatal("a distribution counted by UNIT_AND_SUBUNITS did not build the Tally")
	}
}
