// Package idfmt formats numbers, dates and times the way Indonesian
// offices read them (id-ID: "78,3 %", "1.961", "6 Desember 2026",
// "14.05 WIB") or, with the English switch, the way English readers do
// ("78.3%", "1,961", "6 December 2026", "14:05 WIB"), and holds the labels
// of the ledger's enumerations in both languages. The dashboard, the CSV
// and Excel exports and the printed documents all format through it, so a
// figure reads the same wherever it is shown.
package idfmt

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Languages: Indonesian, the default, and English.
const (
	ID = "id"
	EN = "en"
)

// Text is one message in both languages.
type Text struct {
	// ID is the Indonesian text (the default language).
	ID string
	// EN is the English text.
	EN string
}

// In returns the text in lang: English for EN, else Indonesian.
func (t Text) In(lang string) string {
	if lang == EN {
		return t.EN
	}
	return t.ID
}

// separators returns the decimal and thousands separators of lang.
func separators(lang string) (dec, thou byte) {
	if lang == EN {
		return '.', ','
	}
	return ',', '.'
}

// Number formats f with decimals digits after the point (-1: as few as
// needed, at most 6) and grouped thousands: Number("id", 1961, 0) is
// "1.961", Number("id", 78.25, 1) "78,3" (rounded half away from zero);
// Number("en", 1961.5, 1) "1,961.5". NaN and infinities show as "—".
func Number(lang string, f float64, decimals int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	var s string
	if decimals < 0 {
		s = strconv.FormatFloat(f, 'f', -1, 64)
		if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 6 {
			s = strings.TrimRight(strconv.FormatFloat(f, 'f', 6, 64), "0")
		}
	} else {
		p := math.Pow(10, float64(decimals))
		s = strconv.FormatFloat(math.Round(f*p)/p, 'f', decimals, 64)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	dec, thou := separators(lang)
	var b strings.Builder
	if neg && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, c := range []byte(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(thou)
		}
		b.WriteByte(c)
	}
	if hasFrac && frac != "" {
		b.WriteByte(dec)
		b.WriteString(frac)
	}
	return b.String()
}

// Int formats n with grouped thousands ("1.961"; "1,961" in English).
func Int(lang string, n int) string { return Number(lang, float64(n), 0) }

// Percent formats a share (0.783) as a percentage with one decimal:
// "78,3 %" in Indonesian (a space before the sign, as the KBBI style has
// it) and "78.3%" in English.
func Percent(lang string, share float64) string {
	n := Number(lang, 100*share, 1)
	if lang == EN {
		return n + "%"
	}
	return n + " %"
}

var months = [12]Text{
	{"Januari", "January"}, {"Februari", "February"}, {"Maret", "March"}, {"April", "April"},
	{"Mei", "May"}, {"Juni", "June"}, {"Juli", "July"}, {"Agustus", "August"},
	{"September", "September"}, {"Oktober", "October"}, {"November", "November"}, {"Desember", "December"},
}

// Month returns the name of m in lang.
func Month(lang string, m time.Month) string {
	if m < time.January || m > time.December {
		return strconv.Itoa(int(m))
	}
	return months[m-1].In(lang)
}

// Date formats the calendar date of t in loc: "6 Desember 2026" ("6
// December 2026" in English); the zero time shows as "—".
func Date(lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	t = in(t, loc)
	return strconv.Itoa(t.Day()) + " " + Month(lang, t.Month()) + " " + strconv.Itoa(t.Year())
}

// Clock formats the time of day of t in loc with the zone's abbreviation:
// "14.05 WIB" in Indonesian (a dot, as the KBBI writes hours), "14:05 WIB"
// in English.
func Clock(lang string, t time.Time, loc *time.Location) string {
	t = in(t, loc)
	layout := "15.04 MST"
	if lang == EN {
		layout = "15:04 MST"
	}
	return t.Format(layout)
}

// DateTime is Date and Clock: "6 Desember 2026 14.05 WIB"; the zero time
// shows as "—".
func DateTime(lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return Date(lang, t, loc) + " " + Clock(lang, t, loc)
}

func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = WIB
	}
	return t.In(loc)
}

// The three zones of Indonesia, as fixed zones named by their Indonesian
// abbreviations (Indonesia keeps no daylight saving time, and fixed zones
// need no zone database on the server).
var (
	WIB  = time.FixedZone("WIB", 7*3600)
	WITA = time.FixedZone("WITA", 8*3600)
	WIT  = time.FixedZone("WIT", 9*3600)
)

// Zone returns the Indonesian zone named name ("WIB", "WITA" or "WIT",
// case-insensitive; the IANA names Asia/Jakarta, Asia/Pontianak,
// Asia/Makassar and Asia/Jayapura are understood too), and whether name
// named one.
func Zone(name string) (*time.Location, bool) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "WIB", "ASIA/JAKARTA", "ASIA/PONTIANAK":
		return WIB, true
	case "WITA", "ASIA/MAKASSAR":
		return WITA, true
	case "WIT", "ASIA/JAYAPURA":
		return WIT, true
	}
	return nil, false
}

// Bool is "Ya" or "Tidak" ("Yes" or "No" in English).
func Bool(lang string, b bool) string {
	if b {
		return Text{"Ya", "Yes"}.In(lang)
	}
	return Text{"Tidak", "No"}.In(lang)
}
