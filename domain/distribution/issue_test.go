package distribution_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"pgregory.net/rapid"
)

// TestCheckCandidate is the BLOCK-mode decision at issue, with the
// candidate already counted: a rule blocks only when the candidate feeds
// it (a maximum on its predikat, a minimum on others), and a justification
// naming the rule lets it through.
func TestCheckCandidate(t *testing.T) {
	tests := []struct {
		name      string
		org       rating.OrgPredikat
		counts    distribution.Counts
		candidate rating.Predikat
		justified []string
		want      []string
	}{
		{name: "BAIK unit, the 7th BAIK of 10 (exactly 70%)", org: rating.OrgBaik, counts: distribution.Counts{b: 7, bp: 3}, candidate: b},
		{name: "BAIK unit, the 8th BAIK of 10 (over 70%)", org: rating.OrgBaik, counts: distribution.Counts{b: 8, bp: 2}, candidate: b,
			want: []string{"BAIK.BAIK.max_70"}},
		{name: "BAIK unit with too many BAIK: a BUTUH_PERBAIKAN repairs, never blocked", org: rating.OrgBaik, counts: distribution.Counts{b: 8, bp: 2}, candidate: bp},
		{name: "BAIK unit, nobody below BAIK: a SANGAT_BAIK takes the reserved place", org: rating.OrgBaik, counts: distribution.Counts{b: 3, sb: 2}, candidate: sb,
			want: []string{"BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1"}},
		{name: "BAIK unit, a lone BAIK: 70% of 1 rounds down to 0 and no BP/KM", org: rating.OrgBaik, counts: distribution.Counts{b: 1}, candidate: b,
			want: []string{"BAIK.BAIK.max_70", "BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1"}},
		{name: "the same, justified", org: rating.OrgBaik, counts: distribution.Counts{b: 1}, candidate: b,
			justified: []string{"BAIK.BAIK.max_70", "BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1"}},
		{name: "the same, half justified", org: rating.OrgBaik, counts: distribution.Counts{b: 1}, candidate: b,
			justified: []string{"BAIK.BAIK.max_70"}, want: []string{"BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1"}},
		{name: "SANGAT_KURANG unit: any SANGAT_BAIK blocks (max 0%)", org: rating.OrgSangatKurang, counts: distribution.Counts{sk: 8, bp: 1, sb: 1}, candidate: sb,
			want: []string{"SANGAT_KURANG.SANGAT_BAIK.max_0"}},
		{name: "BUTUH_PERBAIKAN unit at 60% BP of 5 (3)", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 3, b: 2}, candidate: b},
		{name: "BUTUH_PERBAIKAN unit at 2 of 5 BP: a BAIK blocks", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 2, b: 3}, candidate: b,
			want: []string{"BUTUH_PERBAIKAN.BUTUH_PERBAIKAN.min_60"}},
		{name: "BUTUH_PERBAIKAN unit at 2 of 5 BP: a BP does not", org: rating.OrgButuhPerbaikan, counts: distribution.Counts{bp: 2, b: 3}, candidate: bp},
		{name: "ISTIMEWA unit, 7 of 10 SANGAT_BAIK", org: rating.Istimewa, counts: distribution.Counts{sb: 7, b: 3}, candidate: sb},
		{name: "ISTIMEWA unit, 8 of 10 SANGAT_BAIK", org: rating.Istimewa, counts: distribution.Counts{sb: 8, b: 2}, candidate: sb,
			want: []string{"ISTIMEWA.SANGAT_BAIK.max_70"}},
		{name: "KURANG unit, 10% of 7 rounds up to 1 BP", org: rating.OrgKurang, counts: distribution.Counts{km: 6, sk: 1}, candidate: km,
			want: []string{"KURANG.BUTUH_PERBAIKAN.min_10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var justified []distribution.Violation
			for _, r := range tt.justified {
				justified = append(justified, distribution.Violation{Rule: r})
			}
			err := distribution.CheckCandidate(distribution.SE3_2023, "DINKES", "2026", tt.org, tt.counts, tt.candidate, justified)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckCandidate = %v, want nil", err)
				}
				return
			}
			var be *distribution.BlockedError
			if !errors.As(err, &be) || !errors.Is(err, domain.ErrDistributionBlocked) {
				t.Fatalf("CheckCandidate = %v, want a BlockedError", err)
			}
			var got []string
			for _, v := range be.Violations {
				got = append(got, v.Rule)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rules = %v, want %v", got, tt.want)
			}
			if be.Population != tt.counts.Total() || be.Predikat != tt.candidate || be.UnitID != "DINKES" {
				t.Errorf("error = %+v", be)
			}
			// The message names the rule and the counts.
			msg := err.Error()
			if !strings.Contains(msg, tt.want[0]) || !strings.Contains(msg, "DINKES") {
				t.Errorf("message %q does not name the rule and the unit", msg)
			}
		})
	}
}

// TestUndetermined: without an organisation predikat the result says so
// instead of "no violations".
func TestUndetermined(t *testing.T) {
	r := distribution.Evaluate(distribution.SE3_2023, "", distribution.Counts{b: 10})
	if !r.Undetermined || len(r.Violations) != 0 || r.Population != 10 {
		t.Errorf("Evaluate without org predikat = %+v", r)
	}
	if r := distribution.Evaluate(distribution.SE3_2023, rating.OrgBaik, distribution.Counts{b: 7, bp: 3}); r.Undetermined {
		t.Error("with an org predikat the result is determined")
	}
}

// TestBlockInvariant is the property of BLOCK mode: whatever the order in
// which a unit's employees are rated, re-rated and issued, and however the
// population grows, the evaluations issued never exceed a maximum of the
// pattern computed over the population as it stands, and an evaluation
// outside a minimum's predikat is issued only while that minimum holds.
func TestBlockInvariant(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		org := rapid.SampledFrom(rating.OrgPredikats()).Draw(t, "org")
		preds := rating.Predikats()
		rated := map[int]rating.Predikat{}
		issued := map[int]rating.Predikat{}
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for range steps {
			emp := rapid.IntRange(0, 14).Draw(t, "employee")
			if _, done := issued[emp]; done {
				continue
			}
			if rapid.Bool().Draw(t, "rate") {
				rated[emp] = rapid.SampledFrom(preds).Draw(t, "predikat")
				continue
			}
			p, ok := rated[emp]
			if !ok {
				continue
			}
			counts := distribution.Counts{}
			for _, q := range rated {
				counts[q]++
			}
			if err := distribution.CheckCandidate(distribution.SE3_2023, "U", "2026", org, counts, p, nil); err != nil {
				if !errors.Is(err, domain.ErrDistributionBlocked) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			// Issued: every minimum whose predikat exclude p held.
			n := counts.Total()
			for _, r := range distribution.SE3_2023.(distribution.Table).Rules[org] {
				got := 0
				for _, q := range r.Predikat {
					got += counts[q]
				}
				if !r.Max && !slices.Contains(r.Predikat, p) {
					if r.MinPercent > 0 && got*100 < r.MinPercent*n {
						t.Fatalf("issued %s while %s had %d of %d", p, r.ID(org), got, n)
					}
					if r.MinCount > 0 && got < r.MinCount {
						t.Fatalf("issued %s while %s had %d", p, r.ID(org), got)
					}
				}
			}
			issued[emp] = p
			// The invariant on maximums, over the population now.
			for _, r := range distribution.SE3_2023.(distribution.Table).Rules[org] {
				if !r.Max {
					continue
				}
				got := 0
				for _, q := range issued {
					if slices.Contains(r.Predikat, q) {
						got++
					}
				}
				if got > r.MaxPercent*len(rated)/100 {
					t.Fatalf("%d issued in %s, over floor(%d%% of %d)", got, r.ID(org), r.MaxPercent, len(rated))
				}
			}
		}
	})
}
