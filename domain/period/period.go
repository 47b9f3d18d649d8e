// Package period provides evaluation periods: a whole performance year
// ("2026", the annual evaluation), a quarter ("2026-Q1".."2026-Q4") or a
// month ("2026-01".."2026-12"), and the periodic cadence an agency chooses
// (monthly or quarterly; domain.md §3.1).
//
// A performance year runs from 1 January to 31 December. Which periodic
// periods may be used is decided by the cadence: with a quarterly cadence
// the valid periods of 2026 are 2026, 2026-Q1..Q4; with a monthly cadence
// 2026, 2026-01..12.
package period

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
)

// Kind is the length of a period.
type Kind int

// Kinds of period.
const (
	// Annual is the whole performance year.
	Annual Kind = iota + 1
	// Quarter is a quarter (triwulan).
	Quarter
	// Month is a calendar month.
	Month
)

// Period is an evaluation period. The zero Period is invalid.
type Period struct {
	year int
	kind Kind
	n    int // quarter 1-4 or month 1-12; 0 for Annual
}

var periodRE = regexp.MustCompile(`^([0-9]{4})(?:-(Q[1-4]|0[1-9]|1[0-2]))?$`)

// Parse parses "2026", "2026-Q3" or "2026-07".
func Parse(s string) (Period, error) {
	m := periodRE.FindStringSubmatch(s)
	if m == nil {
		return Period{}, fmt.Errorf("%q is not a period (2026, 2026-Q1..Q4 or 2026-01..12)", s)
	}
	year, _ := strconv.Atoi(m[1])
	if year < 1 {
		return Period{}, fmt.Errorf("%q: year must be at least 1", s)
	}
	switch {
	case m[2] == "":
		return Period{year: year, kind: Annual}, nil
	case m[2][0] == 'Q':
		return Period{year: year, kind: Quarter, n: int(m[2][1] - '0')}, nil
	default:
		n, _ := strconv.Atoi(m[2])
		return Period{year: year, kind: Month, n: n}, nil
	}
}

// MustParse is Parse for constants; it panics on an invalid period.
func MustParse(s string) Period {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Year returns the performance year of p.
func (p Period) Year() int { return p.year }

// Kind returns the kind of p.
func (p Period) Kind() Kind { return p.kind }

// IsAnnual reports whether p is a whole year.
func (p Period) IsAnnual() bool { return p.kind == Annual }

// IsZero reports whether p is the zero Period.
func (p Period) IsZero() bool { return p == Period{} }

// Start returns the first day of p.
func (p Period) Start() calendar.Date {
	switch p.kind {
	case Quarter:
		return calendar.MustNew(p.year, time.Month(3*p.n-2), 1)
	case Month:
		return calendar.MustNew(p.year, time.Month(p.n), 1)
	default:
		return calendar.MustNew(p.year, time.January, 1)
	}
}

// End returns the last day of p.
func (p Period) End() calendar.Date {
	switch p.kind {
	case Quarter:
		m := time.Month(3 * p.n)
		return calendar.MustNew(p.year, m, calendar.DaysIn(p.year, m))
	case Month:
		m := time.Month(p.n)
		return calendar.MustNew(p.year, m, calendar.DaysIn(p.year, m))
	default:
		return calendar.MustNew(p.year, time.December, 31)
	}
}

// Equal reports whether p and q are the same period (go-cmp uses it).
func (p Period) Equal(q Period) bool { return p == q }

// Contains reports whether day d lies in p.
func (p Period) Contains(d calendar.Date) bool {
	return !d.Before(p.Start()) && !d.After(p.End())
}

// String returns the canonical text: "2026", "2026-Q1" or "2026-01".
func (p Period) String() string {
	switch p.kind {
	case Annual:
		return fmt.Sprintf("%04d", p.year)
	case Quarter:
		return fmt.Sprintf("%04d-Q%d", p.year, p.n)
	case Month:
		return fmt.Sprintf("%04d-%02d", p.year, p.n)
	default:
		return ""
	}
}

// MarshalText encodes the canonical text.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes the canonical text; "" gives the zero Period.
func (p *Period) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = Period{}
		return nil
	}
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Cadence is the periodic evaluation cadence of an agency.
type Cadence string

// Cadences (domain.md §3.1: "bulanan atau triwulanan").
const (
	// Quarterly evaluates per quarter (the default).
	Quarterly Cadence = "QUARTERLY"
	// Monthly evaluates per month.
	Monthly Cadence = "MONTHLY"
)

// Valid reports whether c is a known cadence.
func (c Cadence) Valid() bool { return c == Quarterly || c == Monthly }

// Allows reports whether p is a period of this cadence or annual.
func (c Cadence) Allows(p Period) bool {
	switch p.kind {
	case Annual:
		return true
	case Quarter:
		return c == Quarterly
	case Month:
		return c == Monthly
	}
	return false
}

// Check validates the period text s for an SKP of year under cadence c and
// returns the parsed period. The error message is meant for a field error.
func (c Cadence) Check(s string, year int) (Period, error) {
	p, err := Parse(s)
	if err != nil {
		return Period{}, err
	}
	if p.year != year {
		return Period{}, fmt.Errorf("period %s is outside the SKP year %d", p, year)
	}
	if !c.Allows(p) {
		return Period{}, fmt.Errorf("period %s does not match the %s cadence (use the year or its %s periods)", p, c, c.unit())
	}
	return p, nil
}

func (c Cadence) unit() string {
	if c == Monthly {
		return "monthly"
	}
	return "quarterly"
}
