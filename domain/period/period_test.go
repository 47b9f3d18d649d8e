package period_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantErr   bool
		wantKind  period.Kind
		wantStart calendar.Date
		wantEnd   calendar.Date
	}{
		{name: "annual", in: "2026", wantKind: period.Annual, wantStart: calendar.MustNew(2026, 1, 1), wantEnd: calendar.MustNew(2026, 12, 31)},
		{name: "Q1", in: "2026-Q1", wantKind: period.Quarter, wantStart: calendar.MustNew(2026, 1, 1), wantEnd: calendar.MustNew(2026, 3, 31)},
		{name: "Q2", in: "2026-Q2", wantKind: period.Quarter, wantStart: calendar.MustNew(2026, 4, 1), wantEnd: calendar.MustNew(2026, 6, 30)},
		{name: "Q4", in: "2026-Q4", wantKind: period.Quarter, wantStart: calendar.MustNew(2026, 10, 1), wantEnd: calendar.MustNew(2026, 12, 31)},
		{name: "February of a leap year", in: "2028-02", wantKind: period.Month, wantStart: calendar.MustNew(2028, 2, 1), wantEnd: calendar.MustNew(2028, 2, 29)},
		{name: "December", in: "2026-12", wantKind: period.Month, wantStart: calendar.MustNew(2026, 12, 1), wantEnd: calendar.MustNew(2026, 12, 31)},
		{name: "Q5", in: "2026-Q5", wantErr: true},
		{name: "Q0", in: "2026-Q0", wantErr: true},
		{name: "month 13", in: "2026-13", wantErr: true},
		{name: "month 00", in: "2026-00", wantErr: true},
		{name: "single-digit month", in: "2026-1", wantErr: true},
		{name: "lower-case q", in: "2026-q1", wantErr: true},
		{name: "two-digit year", in: "26", wantErr: true},
		{name: "year 0000", in: "0000", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "half year", in: "2026-H1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := period.Parse(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want error", tt.in, p)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if p.String() != tt.in || p.Kind() != tt.wantKind || p.Start() != tt.wantStart || p.End() != tt.wantEnd {
				t.Errorf("Parse(%q) = %s kind %d [%s, %s], want %s kind %d [%s, %s]",
					tt.in, p, p.Kind(), p.Start(), p.End(), tt.in, tt.wantKind, tt.wantStart, tt.wantEnd)
			}
		})
	}
}

func TestCadenceCheck(t *testing.T) {
	tests := []struct {
		name    string
		cadence period.Cadence
		in      string
		year    int
		wantErr bool
	}{
		{name: "annual under quarterly", cadence: period.Quarterly, in: "2026", year: 2026},
		{name: "quarter under quarterly", cadence: period.Quarterly, in: "2026-Q3", year: 2026},
		{name: "month under quarterly", cadence: period.Quarterly, in: "2026-03", year: 2026, wantErr: true},
		{name: "month under monthly", cadence: period.Monthly, in: "2026-03", year: 2026},
		{name: "quarter under monthly", cadence: period.Monthly, in: "2026-Q1", year: 2026, wantErr: true},
		{name: "annual under monthly", cadence: period.Monthly, in: "2026", year: 2026},
		{name: "other year", cadence: period.Quarterly, in: "2025-Q4", year: 2026, wantErr: true},
		{name: "other annual", cadence: period.Quarterly, in: "2027", year: 2026, wantErr: true},
		{name: "malformed", cadence: period.Quarterly, in: "Q1-2026", year: 2026, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cadence.Check(tt.in, tt.year)
			if (err != nil) != tt.wantErr {
				t.Errorf("%s.Check(%q, %d) error = %v, want error %v", tt.cadence, tt.in, tt.year, err, tt.wantErr)
			}
		})
	}
}

func TestContains(t *testing.T) {
	q := period.MustParse("2026-Q2")
	for d, want := range map[calendar.Date]bool{
		calendar.MustNew(2026, 3, 31): false,
		calendar.MustNew(2026, 4, 1):  true,
		calendar.MustNew(2026, 6, 30): true,
		calendar.MustNew(2026, 7, 1):  false,
	} {
		if got := q.Contains(d); got != want {
			t.Errorf("%s.Contains(%s) = %v, want %v", q, d, got, want)
		}
	}
}
