// Package nip parses and validates the 18-digit identifiers of Indonesian
// civil servants: the NIP of a PNS (Perka BKN 22/2007) and the NI PPPK of a
// contract employee (domain.md §6).
//
// Both identifiers start with the date of birth (YYYYMMDD). A NIP continues
// with the year and month of first appointment as CPNS (YYYYMM), the sex
// digit and a three-digit serial. An NI PPPK continues with the year of
// first appointment (YYYY), the PPPK code 2, the number of contracts (1–9),
// the sex digit and the serial. Digits 13–14 therefore tell the two apart:
// a month 01–12 for a PNS, 21–29 (never a month) for a PPPK.
//
// Printed forms vary ("19660801 198803 1 001", "19660801.198803.1.001");
// [Parse] strips every non-digit before validating and always returns the
// 18 digits. Legacy 9-digit NIPs are refused.
package nip

import (
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
)

// NIP is a normalised 18-digit identifier (a NIP or an NI PPPK).
type NIP string

// String returns the 18 digits.
func (n NIP) String() string { return string(n) }

// ASNType tells a PNS from a PPPK.
type ASNType string

// ASN types.
const (
	// PNS is a permanent civil servant, identified by a NIP.
	PNS ASNType = "PNS"
	// PPPK is a contract employee, identified by an NI PPPK.
	PPPK ASNType = "PPPK"
)

// Sex is the sex encoded in digit 15.
type Sex string

// Sexes.
const (
	// Male is digit 1.
	Male Sex = "LAKI_LAKI"
	// Female is digit 2.
	Female Sex = "PEREMPUAN"
)

// Info is what an identifier encodes.
type Info struct {
	// NIP is the normalised 18 digits.
	NIP NIP
	// Type is PNS or PPPK.
	Type ASNType
	// BirthDate is digits 1–8.
	BirthDate calendar.Date
	// AppointmentYear is the year of first appointment (TMT CPNS for a PNS,
	// first contract for a PPPK).
	AppointmentYear int
	// AppointmentMonth is the month of TMT CPNS for a PNS (the day is always
	// the 1st); 0 for a PPPK, whose identifier carries no month.
	AppointmentMonth time.Month
	// Contracts is the number of employment contracts (1–9) of a PPPK; 0 for
	// a PNS.
	Contracts int
	// Sex is digit 15.
	Sex Sex
	// Serial is digits 16–18 (1–999).
	Serial int
	// Warnings lists implausible but valid facts, for example an
	// appointment before the age of 18 (the minimum age is not verified,
	// so it warns and does not refuse).
	Warnings []string
}

// Normalize returns s with every non-digit removed.
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// minAppointmentAge is the age below which an appointment draws a warning.
const minAppointmentAge = 18

// Parse normalises and validates s and returns what it encodes. A refusal
// is a [*domain.ValidationError] whose field names are empty (the caller
// merges them under its own field, such as "nip" or "appraiser_nip") and
// whose messages list every problem found.
func Parse(s string) (Info, error) {
	d := Normalize(s)
	var v domain.ValidationError
	switch {
	case d == "":
		v.Add("", "required")
		return Info{}, &v
	case len(d) == 9:
		v.Add("", "legacy 9-digit NIP is not accepted; use the 18-digit NIP")
		return Info{}, &v
	case len(d) != 18:
		v.Add("", "must have 18 digits, has %d", len(d))
		return Info{}, &v
	}
	info := Info{NIP: NIP(d)}
	num := func(from, to int) int { n, _ := strconv.Atoi(d[from:to]); return n }

	birth, err := calendar.New(num(0, 4), time.Month(num(4, 6)), num(6, 8))
	if err != nil || birth.Year() < 1900 {
		v.Add("", "digits 1-8 are not a valid date of birth YYYYMMDD (%s)", d[0:8])
	}
	info.BirthDate = birth

	switch mm := num(12, 14); {
	case d[12] == '2' && d[13] >= '1' && d[13] <= '9':
		info.Type = PPPK
		info.AppointmentYear = num(8, 12)
		info.Contracts = int(d[13] - '0')
	case mm >= 1 && mm <= 12:
		info.Type = PNS
		info.AppointmentYear = num(8, 12)
		info.AppointmentMonth = time.Month(mm)
	default:
		v.Add("", "digits 13-14 (%s) are neither a TMT month 01-12 (PNS) nor a PPPK code 21-29", d[12:14])
	}

	switch d[14] {
	case '1':
		info.Sex = Male
	case '2':
		info.Sex = Female
	default:
		v.Add("", "digit 15 (sex) must be 1 or 2, is %c", d[14])
	}

	info.Serial = num(15, 18)
	if info.Serial == 0 {
		v.Add("", "serial (digits 16-18) must be 001-999, is 000")
	}

	if err == nil && info.Type != "" {
		checkAppointment(&info, &v)
	}
	if err := v.Err(); err != nil {
		return Info{}, err
	}
	return info, nil
}

// ParseOn is Parse for an identifier registered on day today: a date of
// birth or an appointment (TMT CPNS, or a PPPK's year of first contract)
// after today is refused as well (issue 9 §4: such an identifier names no
// one yet). The clock is the caller's; the domain reads none.
func ParseOn(s string, today calendar.Date) (Info, error) {
	info, err := Parse(s)
	if err != nil {
		return info, err
	}
	var v domain.ValidationError
	if info.BirthDate.After(today) {
		v.Add("", "the date of birth %s lies in the future (today is %s)", info.BirthDate, today)
	}
	switch info.Type {
	case PNS:
		if tmt := calendar.MustNew(info.AppointmentYear, info.AppointmentMonth, 1); tmt.After(today) {
			v.Add("", "TMT CPNS %04d-%02d lies in the future (today is %s)", info.AppointmentYear, int(info.AppointmentMonth), today)
		}
	case PPPK:
		if info.AppointmentYear > today.Year() {
			v.Add("", "the year of first appointment %d lies in the future (today is %s)", info.AppointmentYear, today)
		}
	}
	if err := v.Err(); err != nil {
		return Info{}, err
	}
	return info, nil
}

// checkAppointment requires the appointment after the birth and warns on an
// appointment before the age of 18.
func checkAppointment(info *Info, v *domain.ValidationError) {
	b := info.BirthDate
	if info.Type == PNS {
		// TMT CPNS is the 1st of the month: it must come after the birth.
		// Year 0000 is no date at all (calendar.New refuses it).
		tmt, err := calendar.New(info.AppointmentYear, info.AppointmentMonth, 1)
		if err != nil {
			v.Add("", "digits 9-14 are not a valid TMT CPNS YYYYMM (%04d%02d)", info.AppointmentYear, int(info.AppointmentMonth))
			return
		}
		if !tmt.After(b) {
			v.Add("", "TMT CPNS %04d-%02d is not after the date of birth %s", info.AppointmentYear, int(info.AppointmentMonth), b)
			return
		}
		age := info.AppointmentYear - b.Year()
		if info.AppointmentMonth < b.Month() {
			age--
		}
		if age < minAppointmentAge {
			info.Warnings = append(info.Warnings, "appointed before the age of 18")
		}
		return
	}
	if info.AppointmentYear <= b.Year() {
		v.Add("", "year of appointment %d is not after the year of birth %d", info.AppointmentYear, b.Year())
		return
	}
	if info.AppointmentYear-b.Year() < minAppointmentAge {
		info.Warnings = append(info.Warnings, "appointed before the age of 18")
	}
}
