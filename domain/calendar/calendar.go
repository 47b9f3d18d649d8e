// Package calendar provides civil dates (a day without a time of day or a
// zone) and the day arithmetic the appraisal rules need: birth dates,
// effective dates of reporting lines, SKP deadlines and objection windows in
// calendar or working days.
//
// A Date names a day; turning an instant (an event's occurred_at) into a
// Date needs a location, which the caller passes explicitly. The domain
// never loads time zone data itself (that would be I/O); the policy carries
// a fixed zone, WIB (UTC+7) by default.
package calendar

import (
	"fmt"
	"time"
)

// Date is a civil date in the proleptic Gregorian calendar. The zero Date is
// not a valid date; IsZero reports it.
type Date struct {
	year  int
	month time.Month
	day   int
}

// New returns the date year-month-day, or an error if it does not exist
// (30 February, month 13) or the year is outside 1..9999.
func New(year int, month time.Month, day int) (Date, error) {
	if year < 1 || year > 9999 {
		return Date{}, fmt.Errorf("year %d outside 1..9999", year)
	}
	if month < time.January || month > time.December {
		return Date{}, fmt.Errorf("month %d outside 1..12", int(month))
	}
	if day < 1 || day > DaysIn(year, month) {
		return Date{}, fmt.Errorf("day %d outside 1..%d for %04d-%02d", day, DaysIn(year, month), year, int(month))
	}
	return Date{year, month, day}, nil
}

// MustNew is New for constants in tests and defaults; it panics on an
// invalid date.
func MustNew(year int, month time.Month, day int) Date {
	d, err := New(year, month, day)
	if err != nil {
		panic(err)
	}
	return d
}

// DaysIn returns the number of days of month in year.
func DaysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Parse parses "YYYY-MM-DD".
func Parse(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return New(t.Year(), t.Month(), t.Day())
}

// Of returns the date of instant t in loc.
func Of(t time.Time, loc *time.Location) Date {
	t = t.In(loc)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Year returns the date's year.
func (d Date) Year() int { return d.year }

// Month returns the date's month.
func (d Date) Month() time.Month { return d.month }

// Day returns the date's day of the month.
func (d Date) Day() int { return d.day }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) utc() time.Time { return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, time.UTC) }

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// AddDays returns d plus n days (n may be negative).
func (d Date) AddDays(n int) Date {
	t := d.utc().AddDate(0, 0, n)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int { return d.utc().Compare(e.utc()) }

// Equal reports whether d and e are the same day (go-cmp uses it).
func (d Date) Equal(e Date) bool { return d == e }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// DaysUntil returns the number of days from d to e (negative when e is
// earlier).
func (d Date) DaysUntil(e Date) int { return int(e.utc().Sub(d.utc()).Hours() / 24) }

// Start returns the first instant of d in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, loc)
}

// End returns the last whole second of d in loc (23:59:59). An instant t
// falls on or before d exactly when t is before d.AddDays(1).Start(loc).
func (d Date) End(loc *time.Location) time.Time {
	return d.AddDays(1).Start(loc).Add(-time.Second)
}

// String returns "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.year, int(d.month), d.day)
}

// MarshalText encodes d as "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes "YYYY-MM-DD"; the empty string gives the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Workdays says which days count as working days: Monday to Friday, except
// the listed holidays.
type Workdays struct {
	// Holidays are non-working weekdays (national holidays, cuti bersama).
	Holidays []Date
}

// IsWorkday reports whether d is a working day.
func (w Workdays) IsWorkday(d Date) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	for _, h := range w.Holidays {
		if h == d {
			return false
		}
	}
	return true
}

// AddWorkdays returns the n-th working day after d (n ≥ 0; for n = 0, d
// itself).
func (w Workdays) AddWorkdays(d Date, n int) Date {
	for n > 0 {
		d = d.AddDays(1)
		if w.IsWorkday(d) {
			n--
		}
	}
	return d
}
