package nip_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// The examples of domain.md §6.
func TestParseExamples(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want nip.Info
	}{
		{
			name: "PNS with spaces (§6.1 example)",
			in:   "19660801 198803 1 001",
			want: nip.Info{NIP: "196608011988031001", Type: nip.PNS, BirthDate: calendar.MustNew(1966, 8, 1),
				AppointmentYear: 1988, AppointmentMonth: time.March, Sex: nip.Male, Serial: 1},
		},
		{
			name: "PNS printed with spaces",
			in:   "19680411 199303 1 009",
			want: nip.Info{NIP: "196804111993031009", Type: nip.PNS, BirthDate: calendar.MustNew(1968, 4, 11),
				AppointmentYear: 1993, AppointmentMonth: time.March, Sex: nip.Male, Serial: 9},
		},
		{
			name: "PNS printed with dots",
			in:   "19660801.198803.1.001",
			want: nip.Info{NIP: "196608011988031001", Type: nip.PNS, BirthDate: calendar.MustNew(1966, 8, 1),
				AppointmentYear: 1988, AppointmentMonth: time.March, Sex: nip.Male, Serial: 1},
		},
		{
			name: "NI PPPK (§6.2 example)",
			in:   "200012312024211001",
			want: nip.Info{NIP: "200012312024211001", Type: nip.PPPK, BirthDate: calendar.MustNew(2000, 12, 31),
				AppointmentYear: 2024, Contracts: 1, Sex: nip.Male, Serial: 1},
		},
		{
			name: "female PNS, December TMT",
			in:   "197502282001122999",
			want: nip.Info{NIP: "197502282001122999", Type: nip.PNS, BirthDate: calendar.MustNew(1975, 2, 28),
				AppointmentYear: 2001, AppointmentMonth: time.December, Sex: nip.Female, Serial: 999},
		},
		{
			name: "PPPK, ninth contract, female",
			in:   "1990 0615 2022 2 9 2 123",
			want: nip.Info{NIP: "199006152022292123", Type: nip.PPPK, BirthDate: calendar.MustNew(1990, 6, 15),
				AppointmentYear: 2022, Contracts: 9, Sex: nip.Female, Serial: 123},
		},
		{
			name: "leap-day birth",
			in:   "19960229 201901 2 004",
			want: nip.Info{NIP: "199602292019012004", Type: nip.PNS, BirthDate: calendar.MustNew(1996, 2, 29),
				AppointmentYear: 2019, AppointmentMonth: time.January, Sex: nip.Female, Serial: 4},
		},
		{
			name: "appointment before 18 warns",
			in:   "20000101 201701 1 001",
			want: nip.Info{NIP: "200001012017011001", Type: nip.PNS, BirthDate: calendar.MustNew(2000, 1, 1),
				AppointmentYear: 2017, AppointmentMonth: time.January, Sex: nip.Male, Serial: 1,
				Warnings: []string{"appointed before the age of 18"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nip.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "empty", in: ""},
		{name: "only separators", in: " . . "},
		{name: "legacy 9 digits", in: "131110468"},
		{name: "17 digits", in: "19660801198803100"},
		{name: "19 digits", in: "1966080119880310011"},
		{name: "letter O instead of zero", in: "19660801 198803 1 O01"},
		{name: "birth month 13", in: "19661301 198803 1 001"},
		{name: "birth day 32", in: "19660832 198803 1 001"},
		{name: "30 February", in: "19660230 198803 1 001"},
		{name: "29 February of a common year", in: "19670229 198803 1 001"},
		{name: "birth year before 1900", in: "18990101 192003 1 001"},
		{name: "TMT month 13", in: "19660801 198813 1 001"},
		{name: "TMT month 00", in: "19660801 198800 1 001"},
		{name: "digits 13-14 = 20 (neither month nor PPPK)", in: "19660801 198820 1 001"},
		{name: "digits 13-14 = 30", in: "19660801 198830 1 001"},
		{name: "sex digit 3", in: "19660801 198803 3 001"},
		{name: "sex digit 0", in: "19660801 198803 0 001"},
		{name: "serial 000", in: "19660801 198803 1 000"},
		{name: "TMT before birth", in: "19660801 196503 1 001"},
		{name: "TMT year 0000 (found by the import's fuzz test)", in: "19750202 000001 0 001"},
		{name: "TMT year 0000, valid otherwise", in: "19750202 000001 1 001"},
		{name: "TMT in the birth month", in: "19660801 196608 1 001"},
		{name: "PPPK appointed in the birth year", in: "200012312000211001"},
		{name: "PPPK sex digit 3", in: "200012312024213001"},
		{name: "PPPK serial 000", in: "200012312024211000"},
		{name: "a 16-digit NIK", in: "3201012345678901"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nip.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want a validation error", tt.in, got)
			}
			var v *domain.ValidationError
			if !errors.As(err, &v) || !errors.Is(err, domain.ErrValidation) || len(v.Fields) == 0 {
				t.Errorf("Parse(%q) error = %v, want a *domain.ValidationError", tt.in, err)
			}
		})
	}
}

func TestParseListsEveryProblem(t *testing.T) {
	_, err := nip.Parse("19661301 198813 3 000")
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("error = %v, want *domain.ValidationError", err)
	}
	if got := len(v.Fields); got != 4 {
		t.Errorf("got %d problems, want 4 (birth date, TMT month, sex, serial): %v", got, err)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"19660801 198803 1 001": "196608011988031001",
		"19660801.198803.1.001": "196608011988031001",
		"NIP: 1966-0801":        "19660801",
	} {
		if got := nip.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// An identifier whose date of birth or appointment lies after the day of
// registration names no one yet (issue 9 §4); the edges are the day itself.
func TestParseOnRefusesTheFuture(t *testing.T) {
	today := calendar.MustNew(2026, 3, 15)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"PNS appointed long ago", "199001012015031001", true},
		{"PNS appointed on the 1st of this month", "200001012026031001", true},
		{"PNS appointed next month", "200001012026041001", false},
		{"PNS appointed next year", "200001012027011001", false},
		{"born today (appointment in the future too)", "202603152044011001", false},
		{"born tomorrow", "202603162044011001", false},
		{"PPPK first contract this year", "199001012026211001", true},
		{"PPPK first contract next year", "199001012027211001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := nip.Parse(tt.in); err != nil {
				t.Fatalf("Parse(%s) = %v; the case needs a well-formed identifier", tt.in, err)
			}
			_, err := nip.ParseOn(tt.in, today)
			if (err == nil) != tt.ok {
				t.Errorf("ParseOn(%s, %s) = %v, want ok %v", tt.in, today, err, tt.ok)
			}
			if err != nil && !errors.Is(err, domain.ErrValidation) {
				t.Errorf("error %v is not a validation error", err)
			}
		})
	}
}
