package calendar_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		y       int
		m       time.Month
		d       int
		wantErr bool
	}{
		{name: "ordinary", y: 2026, m: time.January, d: 31},
		{name: "leap day in leap year", y: 2024, m: time.February, d: 29},
		{name: "leap day in 2000", y: 2000, m: time.February, d: 29},
		{name: "no leap day in 1900", y: 1900, m: time.February, d: 29, wantErr: true},
		{name: "no leap day in 2026", y: 2026, m: time.February, d: 29, wantErr: true},
		{name: "month 13", y: 2026, m: 13, d: 1, wantErr: true},
		{name: "month 0", y: 2026, m: 0, d: 1, wantErr: true},
		{name: "day 0", y: 2026, m: time.March, d: 0, wantErr: true},
		{name: "31 April", y: 2026, m: time.April, d: 31, wantErr: true},
		{name: "year 0", y: 0, m: time.March, d: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := calendar.New(tt.y, tt.m, tt.d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%d, %d, %d) error = %v, want error %v", tt.y, tt.m, tt.d, err, tt.wantErr)
			}
		})
	}
}

func TestParseAndJSON(t *testing.T) {
	d, err := calendar.Parse("2026-03-15")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), "2026-03-15"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	b, err := json.Marshal(struct {
		D calendar.Date `json:"d"`
	}{d})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"d":"2026-03-15"}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	var back struct {
		D calendar.Date `json:"d"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.D != d {
		t.Errorf("round trip = %v, %v; want %v", back.D, err, d)
	}
	for _, bad := range []string{"2026-13-01", "2026-02-30", "15-03-2026", "2026/03/15", ""} {
		if _, err := calendar.Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", bad)
		}
	}
}

func TestOfUsesLocation(t *testing.T) {
	wib := time.FixedZone("WIB", 7*3600)
	// 20:00 UTC on 31 January is 03:00 on 1 February in WIB.
	instant := time.Date(2026, 1, 31, 20, 0, 0, 0, time.UTC)
	if got, want := calendar.Of(instant, wib), calendar.MustNew(2026, 2, 1); got != want {
		t.Errorf("Of(%v, WIB) = %v, want %v", instant, got, want)
	}
	if got, want := calendar.Of(instant, time.UTC), calendar.MustNew(2026, 1, 31); got != want {
		t.Errorf("Of(%v, UTC) = %v, want %v", instant, got, want)
	}
}

func TestDayArithmetic(t *testing.T) {
	d := calendar.MustNew(2026, 12, 25)
	if got, want := d.AddDays(14), calendar.MustNew(2027, 1, 8); got != want {
		t.Errorf("AddDays(14) = %v, want %v", got, want)
	}
	if got := d.DaysUntil(calendar.MustNew(2027, 1, 8)); got != 14 {
		t.Errorf("DaysUntil = %d, want 14", got)
	}
	wib := time.FixedZone("WIB", 7*3600)
	end := d.End(wib)
	if got, want := end.Format(time.RFC3339), "2026-12-25T23:59:59+07:00"; got != want {
		t.Errorf("End = %s, want %s", got, want)
	}
}

func TestAddWorkdays(t *testing.T) {
	holiday := calendar.MustNew(2026, 3, 20) // a Friday
	w := calendar.Workdays{Holidays: []calendar.Date{holiday}}
	tests := []struct {
		name string
		from calendar.Date
		n    int
		want calendar.Date
	}{
		{name: "zero days", from: calendar.MustNew(2026, 3, 16), n: 0, want: calendar.MustNew(2026, 3, 16)},
		{name: "within a week", from: calendar.MustNew(2026, 3, 16), n: 3, want: calendar.MustNew(2026, 3, 19)},
		{name: "skips the holiday and the weekend", from: calendar.MustNew(2026, 3, 19), n: 1, want: calendar.MustNew(2026, 3, 23)},
		{name: "from a Saturday", from: calendar.MustNew(2026, 3, 21), n: 1, want: calendar.MustNew(2026, 3, 23)},
		{name: "fourteen working days", from: calendar.MustNew(2026, 3, 2), n: 14, want: calendar.MustNew(2026, 3, 23)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.AddWorkdays(tt.from, tt.n); got != tt.want {
				t.Errorf("AddWorkdays(%v, %d) = %v, want %v", tt.from, tt.n, got, tt.want)
			}
		})
	}
}
