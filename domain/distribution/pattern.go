// Package distribution provides the distribution pattern of employee
// predikat (pola distribusi, SE MenPANRB 3/2023; domain.md §4.4) as a
// pluggable policy, and the record of justified deviations per unit and
// period.
//
// The organisation predikat of a unit bounds how many of its employees may
// receive each predikat: for a unit rated BAIK, at most 70 % may be BAIK and
// at least one must be BUTUH_PERBAIKAN or KURANG_MISCONDUCT, and so on. A
// [Pattern] turns an organisation predikat and the counts of a unit into a
// list of violations; [SE3_2023] is the pattern of the SE (a single
// secondary source, so it is data that an agency can replace). Minimums
// round up and maximums round down (ceil/floor, decided in §4.4 for small
// units), computed in integers so that 60 % of 5 is exactly 3.
//
// What a violation does is the policy's DistributionMode: in WARN mode (the
// default; the SE calls the pattern a "pertimbangan") a deviation is
// reported until the leader one level up records a justification, in the
// stream distribution-{unit_id}-{period}; in BLOCK mode issuing an
// evaluation that would break the pattern is refused ([CheckCandidate],
// asked through [IssueGate] by the SKP service) unless such a
// justification covers it. The counts come from a projection (the
// population is the policy's DistributionPopulation); the domain does not
// count across streams. Without an organisation predikat for the period
// the distribution is undetermined ([Result.Undetermined]).
package distribution

import (
	"fmt"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Counts is the number of employees per predikat in a unit for a period.
type Counts map[rating.Predikat]int

// Total returns the population.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Violation is one rule of the pattern that the counts break.
type Violation struct {
	// Rule identifies the rule, such as "BAIK.BAIK.max_70".
	Rule string `json:"rule"`
	// Detail explains it with the numbers.
	Detail string `json:"detail"`
}

// Pattern checks a unit's counts against an organisation predikat.
type Pattern interface {
	// Name identifies the pattern in records, such as "SE_MENPANRB_3_2023".
	Name() string
	// Check returns the violations, in a stable order; none for an empty
	// unit.
	Check(org rating.OrgPredikat, c Counts) []Violation
}

// Rule is one bound on the share of one or more predikat taken together.
type Rule struct {
	// Predikat are the predikat counted together.
	Predikat []rating.Predikat
	// MinPercent, when > 0, requires at least ceil(MinPercent % of the
	// population).
	MinPercent int
	// MaxPercent, when ≥ 0 and Max is true, allows at most floor(MaxPercent
	// % of the population).
	MaxPercent int
	// Max marks MaxPercent as set (so that a maximum of 0 % is expressible).
	Max bool
	// MinCount, when > 0, requires at least that many.
	MinCount int
}

// ID returns the rule's identifier within an organisation predikat.
func (r Rule) ID(org rating.OrgPredikat) string {
	names := make([]string, len(r.Predikat))
	for i, p := range r.Predikat {
		names[i] = string(p)
	}
	var bound string
	switch {
	case r.Max:
		bound = fmt.Sprintf("max_%d", r.MaxPercent)
	case r.MinPercent > 0:
		bound = fmt.Sprintf("min_%d", r.MinPercent)
	default:
		bound = fmt.Sprintf("min_count_%d", r.MinCount)
	}
	return fmt.Sprintf("%s.%s.%s", org, strings.Join(names, "+"), bound)
}

// Table is a pattern given as rules per organisation predikat.
type Table struct {
	// ID names the pattern.
	ID string
	// Rules are the rules of each organisation predikat.
	Rules map[rating.OrgPredikat][]Rule
}

// Name implements [Pattern].
func (t Table) Name() string { return t.ID }

// Check implements [Pattern].
func (t Table) Check(org rating.OrgPredikat, c Counts) []Violation {
	n := c.Total()
	if n == 0 {
		return nil
	}
	var out []Violation
	for _, r := range t.Rules[org] {
		got := 0
		for _, p := range r.Predikat {
			got += c[p]
		}
		what := strings.Join(predikatNames(r.Predikat), " and ")
		share := fmt.Sprintf("%d of %d (%.1f%%)", got, n, 100*float64(got)/float64(n))
		switch {
		case r.Max:
			if limit := r.MaxPercent * n / 100; got > limit {
				out = append(out, Violation{Rule: r.ID(org), Detail: fmt.Sprintf("%s are %s; at most %d allowed (%d%% of %d, rounded down)", share, what, limit, r.MaxPercent, n)})
			}
		case r.MinPercent > 0:
			if need := (r.MinPercent*n + 99) / 100; got < need {
				out = append(out, Violation{Rule: r.ID(org), Detail: fmt.Sprintf("%s are %s; at least %d required (%d%% of %d, rounded up)", share, what, need, r.MinPercent, n)})
			}
		case r.MinCount > 0:
			if got < r.MinCount {
				out = append(out, Violation{Rule: r.ID(org), Detail: fmt.Sprintf("%s are %s; at least %d required", share, what, r.MinCount)})
			}
		}
	}
	return out
}

func predikatNames(ps []rating.Predikat) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// SE3_2023 is the distribution pattern of SE MenPANRB 3/2023 as reproduced
// in domain.md §4.4 (source S14, not checked against the SE text):
//
//	ISTIMEWA         SANGAT_BAIK ≤ 70 %
//	BAIK             BAIK ≤ 70 %; at least one BUTUH_PERBAIKAN and/or KURANG_MISCONDUCT
//	BUTUH_PERBAIKAN  BUTUH_PERBAIKAN ≥ 60 %; SANGAT_BAIK ≤ 10 %
//	KURANG           KURANG_MISCONDUCT ≥ 60 %; BUTUH_PERBAIKAN ≥ 10 %; SANGAT_BAIK ≤ 10 %
//	SANGAT_KURANG    SANGAT_KURANG ≥ 60 %; KURANG_MISCONDUCT + BUTUH_PERBAIKAN ≥ 10 %; SANGAT_BAIK = 0
//
// "Sebagian besar (maksimal 70%)" is implemented as the upper bound only.
var SE3_2023 Pattern = Table{
	ID: "SE_MENPANRB_3_2023",
	Rules: map[rating.OrgPredikat][]Rule{
		rating.Istimewa: {
			{Predikat: []rating.Predikat{rating.SangatBaik}, Max: true, MaxPercent: 70},
		},
		rating.OrgBaik: {
			{Predikat: []rating.Predikat{rating.Baik}, Max: true, MaxPercent: 70},
			{Predikat: []rating.Predikat{rating.ButuhPerbaikan, rating.KurangMisconduct}, MinCount: 1},
		},
		rating.OrgButuhPerbaikan: {
			{Predikat: []rating.Predikat{rating.ButuhPerbaikan}, MinPercent: 60},
			{Predikat: []rating.Predikat{rating.SangatBaik}, Max: true, MaxPercent: 10},
		},
		rating.OrgKurang: {
			{Predikat: []rating.Predikat{rating.KurangMisconduct}, MinPercent: 60},
			{Predikat: []rating.Predikat{rating.ButuhPerbaikan}, MinPercent: 10},
			{Predikat: []rating.Predikat{rating.SangatBaik}, Max: true, MaxPercent: 10},
		},
		rating.OrgSangatKurang: {
			{Predikat: []rating.Predikat{rating.SangatKurang}, MinPercent: 60},
			{Predikat: []rating.Predikat{rating.KurangMisconduct, rating.ButuhPerbaikan}, MinPercent: 10},
			{Predikat: []rating.Predikat{rating.SangatBaik}, Max: true, MaxPercent: 0},
		},
	},
}

// Result is a unit's distribution checked against a pattern.
type Result struct {
	// OrgPredikat is the unit's organisation predikat.
	OrgPredikat rating.OrgPredikat `json:"org_predikat"`
	// Population is the number of employees counted.
	Population int `json:"population"`
	// Counts and Shares (0–1) per predikat, every predikat present.
	Counts map[rating.Predikat]int     `json:"counts"`
	Shares map[rating.Predikat]float64 `json:"shares"`
	// Pattern names the pattern applied.
	Pattern string `json:"policy"`
	// Violations are the rules broken.
	Violations []Violation `json:"violations"`
	// Undetermined is true when the unit has no organisation predikat for
	// the period: the pattern cannot be chosen, so nothing can be said
	// about the distribution (Violations is then empty, which does not
	// mean "no violations"). SE 3/2023 sets the organisation predikat
	// first (domain.md §4.3).
	Undetermined bool `json:"undetermined"`
}

// Evaluate checks counts against p for org.
func Evaluate(p Pattern, org rating.OrgPredikat, c Counts) Result {
	r := Result{OrgPredikat: org, Population: c.Total(), Counts: map[rating.Predikat]int{}, Shares: map[rating.Predikat]float64{},
		Pattern: p.Name(), Violations: p.Check(org, c), Undetermined: !org.Valid()}
	if r.Undetermined {
		r.Violations = nil
	}
	if r.Violations == nil {
		r.Violations = []Violation{}
	}
	for _, pr := range rating.Predikats() {
		r.Counts[pr] = c[pr]
		if r.Population > 0 {
			r.Shares[pr] = float64(c[pr]) / float64(r.Population)
		} else {
			r.Shares[pr] = 0
		}
	}
	return r
}

// DeviationError refuses an action because the distribution deviates from
// the pattern: in BLOCK mode always, in WARN mode until a justification
// covers the violations. It matches [domain.ErrInvalidState].
type DeviationError struct {
	// Mode is the policy's mode.
	Mode policy.DistributionMode
	// Violations are the uncovered violations.
	Violations []Violation
}

// Error lists the violated rules.
func (e *DeviationError) Error() string {
	rules := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		rules[i] = v.Rule
	}
	if e.Mode == policy.Block {
		return "the distribution deviates from the pattern (" + strings.Join(rules, ", ") + ") without a recorded justification, and the policy blocks issuing deviating evaluations"
	}
	return "the distribution deviates from the pattern (" + strings.Join(rules, ", ") + ") without a recorded justification"
}

// Unwrap returns [domain.ErrInvalidState].
func (e *DeviationError) Unwrap() error { return domain.ErrInvalidState }

// Gate says whether a unit's distribution is settled: yes without
// violations, or when justified covers every violation (in either mode: in
// BLOCK mode a justification is what lets a deviating evaluation be issued,
// see [CheckCandidate]). Reports call it with the projection's counts to
// list the unjustified violations.
func Gate(mode policy.DistributionMode, r Result, justified []Violation) error {
	if len(r.Violations) == 0 {
		return nil
	}
	if open := Uncovered(r.Violations, justified); len(open) > 0 {
		return &DeviationError{Mode: mode, Violations: open}
	}
	return nil
}
