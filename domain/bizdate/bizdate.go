// Package bizdate is the one place that says how far back a business date
// (occurred_at, delivered_at, filed_at, received_at) may lie before the
// moment it is recorded (domain.md §10, api.md "Business time and
// backfill").
//
// An ordinary act is dated by its actor at most [Rule.Tolerance] back (clock
// skew and form filling); never in the future. An earlier date is a
// backfill: the entry of an act done on signed paper, by a role that holds
// the backfill for that act, naming the paper (paper_ref), at most
// [Rule.MaxAge] back. Which roles hold which backfill is the command's
// decision (package skp, employee, orgunit); this package only judges dates
// and the paper reference. It imports nothing of the domain so that every
// package (and domain.Handler) can use it.
package bizdate

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Defaults of the policy.
const (
	// DefaultTolerance is how far back an ordinary act may be dated.
	DefaultTolerance = 10 * time.Minute
	// DefaultMaxAge is how far back a backfill may be dated.
	DefaultMaxAge = 90 * 24 * time.Hour
	// MaxPaperRefLen bounds a paper reference, in bytes of UTF-8.
	MaxPaperRefLen = 200
	// MaxAhead is how far after its recording the effective date of a
	// master-data act (a reporting line, a post, a unit head) may lie: a
	// decree (SK) is signed ahead of its TMT, but not by more than a year;
	// a later date is far more likely a typing error than a plan.
	MaxAhead = 366 * 24 * time.Hour
)

// Rule is the dating policy.
type Rule struct {
	// Tolerance is how far before its recording an ordinary act may be
	// dated (0 allows no backdating at all).
	Tolerance time.Duration
	// MaxAge is how far before its recording a backfill may be dated.
	MaxAge time.Duration
	// Unchecked turns the rule off (only the future stays refused): for
	// historical imports such as the seed, which are not clients. Never set
	// by configuration.
	Unchecked bool
}

// Default returns the rule with the defaults of domain.md §10.
func Default() Rule { return Rule{Tolerance: DefaultTolerance, MaxAge: DefaultMaxAge} }

// Validate reports what makes r unusable.
func (r Rule) Validate() error {
	var errs []error
	if r.Tolerance < 0 || r.Tolerance > 24*time.Hour {
		errs = append(errs, fmt.Errorf("backdate tolerance %s: want 0..24h", r.Tolerance))
	}
	if r.MaxAge < r.Tolerance || r.MaxAge > 3*366*24*time.Hour {
		errs = append(errs, fmt.Errorf("backfill max age %s: want from the tolerance (%s) to 3 years", r.MaxAge, r.Tolerance))
	}
	return errors.Join(errs...)
}

// Backfill is the paper behind a backfilled act.
type Backfill struct {
	// PaperRef names the signed paper (its number, register entry…).
	PaperRef string `json:"paper_ref"`
	// RecordedBy is who typed it in (the clerk or HR administrator).
	RecordedBy string `json:"recorded_by"`
	// OnBehalfOf, when set, is the signer of the paper for whom the clerk
	// records it (the appraiser who delivered, the employee who filed).
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
}

// PaperRefProblem returns what makes ref unfit as a paper reference, or "".
func PaperRefProblem(ref string) string {
	switch {
	case ref == "":
		return "required for a backfill: the reference of the signed paper"
	case !utf8.ValidString(ref):
		return "must be valid UTF-8"
	case len(ref) > MaxPaperRefLen:
		return fmt.Sprintf("at most %d bytes", MaxPaperRefLen)
	}
	for _, c := range ref {
		switch {
		case c < 0x20 || c == 0x7f:
			return "must not contain control characters"
		case (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069):
			// As in names (domain.BidiControl): they would make one
			// decree number show as another.
			return "must not contain bidirectional override or isolate characters"
		}
	}
	if ref[0] == ' ' || ref[len(ref)-1] == ' ' {
		return "must not begin or end with a space"
	}
	return ""
}

// Problem returns what makes at unfit as the business date of an act
// recorded at now, or "" when it is fit: never in the future; at most the
// tolerance back for an ordinary act, at most the maximum age back for a
// backfill.
func (r Rule) Problem(now, at time.Time, backfill bool) string {
	if at.After(now) {
		return "must not be in the future"
	}
	if r.Unchecked {
		return ""
	}
	age := now.Sub(at)
	switch {
	case backfill && age > r.MaxAge:
		return fmt.Sprintf("a backfill may be dated at most %s before its recording (this one is %s)", human(r.MaxAge), human(age.Truncate(time.Second)))
	case !backfill && age > r.Tolerance:
		return fmt.Sprintf("may lie at most %s before the recording; an earlier date is a backfill (paper_ref, by a role that holds it)", human(r.Tolerance))
	}
	return ""
}

// EffectiveProblem returns what makes a day unfit as the effective date of
// a master-data act recorded at now, or "" when it is fit. The day is given
// by its first instant and the first instant of the next day, both in the
// agency's zone. An effective date is a business date that lasts a day: it
// counts as dated back by the time since the day ended, so today (and
// yesterday, within the tolerance after midnight) is ordinary, an earlier
// day is a backfill (at most the maximum age since the day ended), and a
// day may start at most [MaxAhead] after now.
func (r Rule) EffectiveProblem(now, dayStart, nextDay time.Time, backfill bool) string {
	if dayStart.Sub(now) > MaxAhead {
		return fmt.Sprintf("may lie at most %s after the recording", human(MaxAhead))
	}
	if nextDay.After(now) {
		nextDay = now // today or later: not dated back at all
	}
	return r.Problem(now, nextDay, backfill)
}

// EffectiveBackdated reports whether the day ending at nextDay (the first
// instant of the day after it) ended more than the tolerance before now: an
// effective date so far back must be a backfill.
func (r Rule) EffectiveBackdated(now, nextDay time.Time) bool {
	return nextDay.Before(now) && r.Backdated(now, nextDay)
}

// Backdated reports whether at lies beyond the tolerance before now: an act
// dated so must be a backfill.
func (r Rule) Backdated(now, at time.Time) bool {
	return !r.Unchecked && now.Sub(at) > r.Tolerance
}

// human prints d in days when it is whole days, else as Go prints it.
func human(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
