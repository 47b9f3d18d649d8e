package distribution

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// The check at issue (issue 11). In BLOCK mode an evaluation is issued only
// if issuing it does not break the pattern of a unit it counts in, over the
// population as it stands at that moment: every employee of the unit's
// population whose evaluation of the period is rated (issued or not; the
// latest per employee), with the candidate counted at the predikat being
// issued. A rule breaks "because of" the candidate when the candidate's
// predikat is one the rule limits (a maximum) or one that takes a place the
// rule reserves for others (a minimum): [Contributing]. A violation the
// candidate does not feed (issuing a BUTUH_PERBAIKAN in a unit that already
// has too many BAIK) never blocks, so the evaluations that repair a
// distribution can always be issued. A recorded justification of the unit
// and period covers the rules it names, as in WARN mode.
//
// The consequence an agency in BLOCK mode must know: the check counts the
// rated population, so appraisers rate their unit before issuing; with only
// one employee rated in a unit rated BAIK, a BAIK is over the 70 %
// maximum (0 of 1, rounded down) and needs a justification.

// Candidate is the evaluation about to be issued.
type Candidate struct {
	// SKPID and NIP name the SKP and its employee.
	SKPID, NIP string
	// UnitID is the unit the SKP was drafted in.
	UnitID string
	// Period is the period evaluated.
	Period string
	// Predikat is the predikat being issued.
	Predikat rating.Predikat
	// AppraiserNIP is the appraiser issuing it.
	AppraiserNIP string
	// At is the business time of the issue.
	At time.Time
}

// IssueGate is the port the SKP service asks before it issues an
// evaluation. The application layer implements it over the read models
// (the domain does not count across streams). It returns nil to let the
// issue go ahead, a [*BlockedError] to refuse it, or another error when
// it cannot count.
type IssueGate interface {
	CheckIssue(ctx context.Context, c Candidate) error
}

// Contributing returns the violations of c (the population with the
// candidate counted at candidate) that the candidate feeds: a maximum whose
// predikat include candidate, a minimum whose predikat do not. For a
// pattern that is not a [Table], every violation counts.
func Contributing(p Pattern, org rating.OrgPredikat, c Counts, candidate rating.Predikat) []Violation {
	all := p.Check(org, c)
	t, ok := p.(Table)
	if !ok {
		return all
	}
	var out []Violation
	for _, r := range t.Rules[org] {
		id := r.ID(org)
		i := slices.IndexFunc(all, func(v Violation) bool { return v.Rule == id })
		if i < 0 {
			continue
		}
		in := slices.Contains(r.Predikat, candidate)
		if (r.Max && in) || (!r.Max && !in) {
			out = append(out, all[i])
		}
	}
	return out
}

// Uncovered returns the violations justified does not name.
func Uncovered(vs, justified []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if !slices.ContainsFunc(justified, func(j Violation) bool { return j.Rule == v.Rule }) {
			out = append(out, v)
		}
	}
	return out
}

// BlockedError refuses to issue an evaluation in BLOCK mode: it would break
// the distribution pattern of UnitID for Period, and no justification
// covers the rules named. It matches [domain.ErrDistributionBlocked] (422
// distribution_blocked).
type BlockedError struct {
	// UnitID and Period name the distribution broken; OrgPredikat is the
	// unit's organisation predikat and Pattern the pattern applied.
	UnitID      string             `json:"unit_id"`
	Period      string             `json:"period"`
	OrgPredikat rating.OrgPredikat `json:"org_predikat"`
	Pattern     string             `json:"pattern"`
	// Predikat is the predikat that was to be issued.
	Predikat rating.Predikat `json:"predikat"`
	// Population and Counts are the population with the candidate counted.
	Population int                     `json:"population"`
	Counts     map[rating.Predikat]int `json:"counts"`
	// Violations are the rules broken, with the numbers.
	Violations []Violation `json:"violations"`
}

// Error names the rules and the counts.
func (e *BlockedError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Rule + ": " + v.Detail
	}
	return fmt.Sprintf("issuing %s would break the distribution pattern of unit %s for %s (organisation predikat %s, %d counted with this one): %s; a justification by the unit leader must cover it first",
		e.Predikat, e.UnitID, e.Period, e.OrgPredikat, e.Population, strings.Join(parts, "; "))
}

// Unwrap returns [domain.ErrDistributionBlocked].
func (e *BlockedError) Unwrap() error { return domain.ErrDistributionBlocked }

// CheckCandidate is the decision of the gate for one unit: nil, or a
// [*BlockedError] naming the uncovered rules the candidate feeds. counts is
// the population as it stands with the candidate already counted at its
// predikat; justified the rules a recorded justification covers.
func CheckCandidate(p Pattern, unit, per string, org rating.OrgPredikat, counts Counts, candidate rating.Predikat, justified []Violation) error {
	open := Uncovered(Contributing(p, org, counts, candidate), justified)
	if len(open) == 0 {
		return nil
	}
	r := Evaluate(p, org, counts)
	return &BlockedError{UnitID: unit, Period: per, OrgPredikat: org, Pattern: p.Name(), Predikat: candidate,
		Population: r.Population, Counts: r.Counts, Violations: open}
}
