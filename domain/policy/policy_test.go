package policy_test

import (
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

func TestDefaultIsValid(t *testing.T) {
	if err := policy.Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*policy.Policy)
	}{
		{name: "no version", change: func(p *policy.Policy) { p.Version = "" }},
		{name: "weekly cadence", change: func(p *policy.Policy) { p.Cadence = "WEEKLY" }},
		{name: "deadline 30 February", change: func(p *policy.Policy) { p.EstablishDeadline = policy.MonthDay{Month: 2, Day: 30} }},
		{name: "deadline month 13", change: func(p *policy.Policy) { p.EstablishDeadline = policy.MonthDay{Month: 13, Day: 1} }},
		{name: "zero-day window", change: func(p *policy.Policy) { p.ObjectionWindowDays = 0 }},
		{name: "negative SLA", change: func(p *policy.Policy) { p.ObjectionDecisionSLADays = -1 }},
		{name: "unknown mode", change: func(p *policy.Policy) { p.DistributionMode = "IGNORE" }},
		{name: "unknown population", change: func(p *policy.Policy) { p.DistributionPopulation = "ALL" }},
		{name: "unmapped org predikat", change: func(p *policy.Policy) {
			p.UnitHeadRating = map[rating.OrgPredikat]rating.Rating{rating.Istimewa: rating.AboveExpectation}
		}},
		{name: "mapping to a predikat", change: func(p *policy.Policy) {
			m := policy.Default().UnitHeadRating
			m[rating.OrgBaik] = "BAIK"
			p.UnitHeadRating = m
		}},
		{name: "no location", change: func(p *policy.Policy) { p.Location = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			tt.change(&p)
			if err := p.Validate(); err == nil {
				t.Error("Validate() = nil, want an error")
			}
		})
	}
}

func TestLateEstablishment(t *testing.T) {
	p := policy.Default()
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{name: "31 January, last minute WIB", at: time.Date(2026, 1, 31, 23, 59, 0, 0, policy.WIB), want: false},
		{name: "1 February 00:00 WIB", at: time.Date(2026, 2, 1, 0, 0, 0, 0, policy.WIB), want: true},
		// 31 January 18:00 UTC is 1 February 01:00 WIB: the date is what counts.
		{name: "31 January 18:00 UTC", at: time.Date(2026, 1, 31, 18, 0, 0, 0, time.UTC), want: true},
		{name: "in December of the year before", at: time.Date(2025, 12, 20, 9, 0, 0, 0, policy.WIB), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.LateEstablishment(2026, tt.at); got != tt.want {
				t.Errorf("LateEstablishment(2026, %v) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
	p.EstablishDeadline = policy.MonthDay{Month: time.February, Day: 29}
	if got, want := p.EstablishDeadlineFor(2026), calendar.MustNew(2026, 2, 28); got != want {
		t.Errorf("29 February deadline in 2026 = %v, want %v", got, want)
	}
}

func TestObjectionDeadline(t *testing.T) {
	delivered := time.Date(2027, 1, 8, 10, 0, 0, 0, policy.WIB) // a Friday
	tests := []struct {
		name   string
		change func(*policy.Policy)
		want   string
	}{
		{name: "14 calendar days", want: "2027-01-22T23:59:59+07:00"},
		{name: "7 calendar days", change: func(p *policy.Policy) { p.ObjectionWindowDays = 7 }, want: "2027-01-15T23:59:59+07:00"},
		{name: "14 working days", change: func(p *policy.Policy) { p.ObjectionWorkingDays = true }, want: "2027-01-28T23:59:59+07:00"},
		{name: "14 working days with a holiday", change: func(p *policy.Policy) {
			p.ObjectionWorkingDays = true
			p.Holidays = []calendar.Date{calendar.MustNew(2027, 1, 12)}
		}, want: "2027-01-29T23:59:59+07:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			if tt.change != nil {
				tt.change(&p)
			}
			got := p.ObjectionDeadline(delivered).In(policy.WIB).Format(time.RFC3339)
			if got != tt.want {
				t.Errorf("ObjectionDeadline(%v) = %s, want %s", delivered, got, tt.want)
			}
		})
	}
}

func TestWithinWindow(t *testing.T) {
	deadline := time.Date(2027, 1, 22, 23, 59, 59, 0, policy.WIB)
	tests := []struct {
		name  string
		filed time.Time
		want  bool
	}{
		{name: "a day early", filed: deadline.Add(-24 * time.Hour), want: true},
		{name: "exactly the deadline", filed: deadline, want: true},
		{name: "the last fraction of the day", filed: deadline.Add(999 * time.Millisecond), want: true},
		{name: "midnight after", filed: deadline.Add(time.Second), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.WithinWindow(tt.filed, deadline); got != tt.want {
				t.Errorf("WithinWindow(%v) = %v, want %v", tt.filed, got, tt.want)
			}
		})
	}
}

func TestUnitHeadWorkResult(t *testing.T) {
	p := policy.Default()
	want := map[rating.OrgPredikat]rating.Rating{
		rating.Istimewa:          rating.AboveExpectation,
		rating.OrgBaik:           rating.MeetsExpectation,
		rating.OrgButuhPerbaikan: rating.BelowExpectation,
		rating.OrgKurang:         rating.BelowExpectation,
		rating.OrgSangatKurang:   rating.BelowExpectation,
	}
	for o, w := range want {
		if got, ok := p.UnitHeadWorkResult(o); !ok || got != w {
			t.Errorf("UnitHeadWorkResult(%s) = %s, %v; want %s", o, got, ok, w)
		}
	}
}

func TestObjectionsAllowed(t *testing.T) {
	p := policy.Default()
	if !p.ObjectionsAllowed(period.MustParse("2026")) {
		t.Error("annual objections refused by default")
	}
	if p.ObjectionsAllowed(period.MustParse("2026-Q1")) {
		t.Error("periodic objections allowed by default")
	}
	p.PeriodicObjections = true
	if !p.ObjectionsAllowed(period.MustParse("2026-Q1")) {
		t.Error("periodic objections refused when configured")
	}
}

func TestParseSKPLimits(t *testing.T) {
	got, err := policy.ParseSKPLimits("rhk=50, feedback=7", policy.DefaultSKPLimits())
	if err != nil || got.RHK != 50 || got.Feedback != 7 || got.IndicatorsPerRHK != 20 || got.Realisations != 5000 || got.Evidence != 5000 {
		t.Fatalf("ParseSKPLimits = %+v, %v", got, err)
	}
	for _, bad := range []string{"rhk", "rhk=0", "rhk=-1", "rhk=x", "pages=3", "rhk=2000000"} {
		if _, err := policy.ParseSKPLimits(bad, policy.DefaultSKPLimits()); err == nil {
			t.Errorf("ParseSKPLimits(%q) accepted", bad)
		}
	}
	p := policy.Default()
	p.SKPLimits.Feedback = 0
	if p.Validate() == nil {
		t.Error("a zero limit is valid")
	}
}
