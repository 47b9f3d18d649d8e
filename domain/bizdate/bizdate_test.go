package bizdate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/bizdate"
)

func TestProblemBoundaries(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	r := bizdate.Default()
	day := 24 * time.Hour
	tests := []struct {
		name     string
		back     time.Duration
		backfill bool
		want     string // "" or a part of the problem
	}{
		{"now", 0, false, ""},
		{"one second in the future", -time.Second, false, "future"},
		{"a backfill one second in the future", -time.Second, true, "future"},
		{"tolerance minus 1s", 10*time.Minute - time.Second, false, ""},
		{"tolerance exactly", 10 * time.Minute, false, ""},
		{"tolerance plus 1s", 10*time.Minute + time.Second, false, "backfill"},
		{"a day back", day, false, "backfill"},
		{"a backfill within the tolerance", time.Minute, true, ""},
		{"a backfill a day back", day, true, ""},
		{"max age minus 1s", 90*day - time.Second, true, ""},
		{"max age exactly", 90 * day, true, ""},
		{"max age plus 1s", 90*day + time.Second, true, "at most 90 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Problem(now, now.Add(-tt.back), tt.backfill)
			switch {
			case tt.want == "" && got != "":
				t.Errorf("problem %q, want none", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("problem %q, want one saying %q", got, tt.want)
			}
		})
	}
	if p := (bizdate.Rule{Unchecked: true}).Problem(now, now.Add(-400*day), false); p != "" {
		t.Errorf("unchecked rule: %q", p)
	}
	if p := (bizdate.Rule{Unchecked: true}).Problem(now, now.Add(time.Second), false); p == "" {
		t.Error("unchecked rule accepts the future")
	}
}

func TestPaperRef(t *testing.T) {
	for ref, ok := range map[string]bool{
		"":                          false,
		"BA/2026/03/017":            true,
		"Surat No. 800/12-BKPSDM":   true,
		" leading":                  false,
		"trailing ":                 false,
		"nul\x00":                   false,
		"tab\there":                 false,
		"\xff":                      false,
		strings.Repeat("x", 200):    true,
		strings.Repeat("x", 201):    false,
		"Berita acara penyerahan ✓": true,
		"SK 800/\u202e12":           false, // a bidi override shows another number
		"SK \u2066800\u2069":        false,
		"SK 800\u200f/12":           true, // an implicit mark is no control
	} {
		if got := bizdate.PaperRefProblem(ref) == ""; got != ok {
			t.Errorf("PaperRefProblem(%q) ok = %v, want %v", ref, got, ok)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := bizdate.Default().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []bizdate.Rule{
		{Tolerance: -time.Second, MaxAge: time.Hour},
		{Tolerance: 25 * time.Hour, MaxAge: 48 * time.Hour},
		{Tolerance: time.Hour, MaxAge: time.Minute},
		{Tolerance: time.Minute, MaxAge: 4 * 366 * 24 * time.Hour},
	} {
		if r.Validate() == nil {
			t.Errorf("%+v: valid, want an error", r)
		}
	}
}

// An effective date counts back from the end of its day, in the agency's
// zone: today and later are ordinary (up to MaxAhead), yesterday is
// ordinary only within the tolerance after midnight, and an earlier day is
// a backfill of at most MaxAge since the day ended.
func TestEffectiveProblemBoundaries(t *testing.T) {
	wib := time.FixedZone("WIB", 7*3600)
	day := 24 * time.Hour
	midnight := time.Date(2026, 3, 10, 0, 0, 0, 0, wib) // start of "today"
	r := bizdate.Default()
	// d returns the start of the day n days after today, and the next one.
	d := func(n int) (time.Time, time.Time) {
		s := midnight.AddDate(0, 0, n)
		return s, s.AddDate(0, 0, 1)
	}
	tests := []struct {
		name     string
		now      time.Time
		day      int
		backfill bool
		want     string // "" or a part of the problem
		back     bool   // EffectiveBackdated
	}{
		{"today", midnight.Add(9 * time.Hour), 0, false, "", false},
		{"today as a backfill", midnight.Add(9 * time.Hour), 0, true, "", false},
		{"tomorrow", midnight.Add(9 * time.Hour), 1, false, "", false},
		{"yesterday, tolerance exactly after midnight", midnight.Add(10 * time.Minute), -1, false, "", false},
		{"yesterday, tolerance plus 1s after midnight", midnight.Add(10*time.Minute + time.Second), -1, false, "backfill", true},
		{"yesterday at noon", midnight.Add(12 * time.Hour), -1, false, "backfill", true},
		{"a year back", midnight.Add(12 * time.Hour), -365, false, "backfill", true},
		{"yesterday as a backfill", midnight.Add(12 * time.Hour), -1, true, "", true},
		{"max age exactly since the day ended", midnight.Add(91 * day), 0, true, "", true},
		{"max age plus 1s since the day ended", midnight.Add(91*day + time.Second), 0, true, "at most 90 days", true},
		{"a year back as a backfill", midnight.Add(12 * time.Hour), -365, true, "at most 90 days", true},
		{"366 days ahead exactly", midnight.Add(-MaxAheadForTest), 0, false, "", false},
		{"366 days ahead plus 1s", midnight.Add(-MaxAheadForTest - time.Second), 0, false, "after the recording", false},
		{"367 days ahead", midnight.Add(9 * time.Hour), 367, false, "after the recording", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, next := d(tt.day)
			got := r.EffectiveProblem(tt.now, start, next, tt.backfill)
			switch {
			case tt.want == "" && got != "":
				t.Errorf("problem %q, want none", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("problem %q, want one saying %q", got, tt.want)
			}
			if b := r.EffectiveBackdated(tt.now, next); b != tt.back {
				t.Errorf("EffectiveBackdated = %v, want %v", b, tt.back)
			}
		})
	}
	start, next := d(-400)
	if p := (bizdate.Rule{Unchecked: true}).EffectiveProblem(midnight, start, next, false); p != "" {
		t.Errorf("unchecked rule: %q", p)
	}
}

// MaxAheadForTest is bizdate.MaxAhead, named here so the table reads.
const MaxAheadForTest = bizdate.MaxAhead
