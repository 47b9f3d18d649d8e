package idfmt

import (
	"math"
	"testing"
	"time"
)

func TestNumbers(t *testing.T) {
	for _, c := range []struct {
		lang string
		f    float64
		dec  int
		want string
	}{
		{ID, 1961, 0, "1.961"},
		{EN, 1961, 0, "1,961"},
		{ID, 78.25, 1, "78,3"},
		{EN, 78.25, 1, "78.3"},
		{ID, 1234567.5, 2, "1.234.567,50"},
		{ID, -1234, 0, "-1.234"},
		{ID, -0.01, 1, "0,0"},
		{ID, 12.5, -1, "12,5"},
		{ID, 100, -1, "100"},
		{ID, 1.0 / 3, -1, "0,333333"},
		{ID, 999, 0, "999"},
		{ID, math.NaN(), 1, "—"},
		{EN, math.Inf(1), 0, "—"},
	} {
		if got := Number(c.lang, c.f, c.dec); got != c.want {
			t.Errorf("Number(%s, %v, %d) = %q, want %q", c.lang, c.f, c.dec, got, c.want)
		}
	}
	if got := Percent(ID, 0.783); got != "78,3 %" {
		t.Errorf("Percent id = %q", got)
	}
	if got := Percent(EN, 0.783); got != "78.3%" {
		t.Errorf("Percent en = %q", got)
	}
	if got := Int(ID, 2000); got != "2.000" {
		t.Errorf("Int = %q", got)
	}
}

func TestDatesAndZones(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 5, 0, 0, time.UTC) // 10.05 WIB, 11.05 WITA, 12.05 WIT
	if got := Date(ID, at, WIB); got != "6 Desember 2026" {
		t.Errorf("Date id = %q", got)
	}
	if got := Date(EN, at, WIB); got != "6 December 2026" {
		t.Errorf("Date en = %q", got)
	}
	for _, c := range []struct{ zone, want string }{{"WIB", "6 Desember 2026 10.05 WIB"}, {"wita", "6 Desember 2026 11.05 WITA"},
		{"WIT", "6 Desember 2026 12.05 WIT"}, {"Asia/Makassar", "6 Desember 2026 11.05 WITA"}} {
		loc, ok := Zone(c.zone)
		if !ok {
			t.Fatalf("Zone(%q) unknown", c.zone)
		}
		if got := DateTime(ID, at, loc); got != c.want {
			t.Errorf("DateTime in %s = %q, want %q", c.zone, got, c.want)
		}
	}
	if got := DateTime(EN, at, WIT); got != "6 December 2026 12:05 WIT" {
		t.Errorf("DateTime en = %q", got)
	}
	// Near midnight the zone decides the date.
	late := time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)
	if Date(ID, late, WIB) != "31 Desember 2026" || Date(ID, late, WIT) != "1 Januari 2027" {
		t.Errorf("dates across midnight: %q %q", Date(ID, late, WIB), Date(ID, late, WIT))
	}
	if _, ok := Zone("CET"); ok {
		t.Error("Zone(CET) accepted")
	}
	if Date(ID, time.Time{}, WIB) != "—" || DateTime(EN, time.Time{}, nil) != "—" {
		t.Error("zero time not shown as a dash")
	}
}

func TestLabels(t *testing.T) {
	if Label(ID, "predikat", "SANGAT_BAIK") != "Sangat Baik" || Label(EN, "predikat", "SANGAT_BAIK") != "Very good" {
		t.Error("predikat labels")
	}
	if Label(ID, "predikat", "NEW_VALUE") != "NEW_VALUE" || Label(ID, "predikat", "") != "—" {
		t.Error("unknown or empty values")
	}
	if Bool(ID, true) != "Ya" || Bool(ID, false) != "Tidak" || Bool(EN, true) != "Yes" {
		t.Error("booleans")
	}
}
