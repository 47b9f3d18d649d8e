package consequences

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Milli is a non-negative decimal with three places, held as thousandths
// (12.5 is 12500), so that the arithmetic of an amount is exact and the
// same on every machine. In JSON it is a string "12.500"; a plain number
// with at most three decimals is accepted on input.
type Milli int64

// String returns m with three decimals, for example "12.500".
func (m Milli) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%03d", sign, int64(m)/1000, int64(m)%1000)
}

// ParseMilli reads a decimal with at most three places ("12.5", "3.750",
// "25"). It refuses signs, exponents and anything longer than 15 digits.
func ParseMilli(s string) (Milli, error) {
	s = strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (dot && (frac == "" || len(frac) > 3)) {
		return 0, fmt.Errorf("consequences: %q is not a decimal with at most three places", s)
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("consequences: %q is not a decimal with at most three places", s)
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 3 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return Milli(w*1000 + f), nil
}

// MarshalText writes m as "12.500" (a JSON string).
func (m Milli) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a decimal with at most three places.
func (m *Milli) UnmarshalText(b []byte) error {
	v, err := ParseMilli(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// UnmarshalJSON reads a string or a number.
func (m *Milli) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseMilli(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Jenjang is a level of a functional position (jenjang jabatan
// fungsional) and its annual Angka Kredit coefficient.
type Jenjang struct {
	// Name is how the level ends a post's title, for example "Ahli Muda"
	// ("Pranata Komputer Ahli Muda"); matched case-insensitively.
	Name string `json:"name"`
	// Coefficient is the level's annual coefficient (koefisien per tahun).
	Coefficient Milli `json:"coefficient"`
}

// Tables are the configuration the consequences are computed with. They
// are configuration, not law: an agency loads its own file
// (kinerjad --consequence-tables); DefaultTables are the national
// defaults of PermenPANRB 1/2023 and an illustrative TPP table.
type Tables struct {
	// Version names the tables; every publication records it, so a figure
	// can be recomputed with the tables it was computed with.
	Version string `json:"version"`
	// AngkaKreditPercent is the percentage of the coefficient earned for a
	// year at each predikat (PermenPANRB 1/2023, Lampiran: 150, 100, 75,
	// 50, 25).
	AngkaKreditPercent map[rating.Predikat]int `json:"angka_kredit_percent"`
	// Jenjang are the levels of functional posts with their coefficients.
	Jenjang []Jenjang `json:"jenjang"`
	// TPPFactorPercent is the performance factor of the TPP/tukin at each
	// predikat, in percent of the performance component.
	TPPFactorPercent map[rating.Predikat]int `json:"tpp_factor_percent"`
	// FromYear is the first performance year the tables are adopted for
	// (0: every year); see Adopt.
	FromYear int `json:"from_year,omitempty"`
}

// DefaultTables returns the defaults: the Angka Kredit percentages and
// coefficients of PermenPANRB 1/2023 (keahlian: Ahli Pertama 12.5, Ahli
// Muda 25, Ahli Madya 37.5, Ahli Utama 50; keterampilan: Pemula 3.75,
// Terampil 5, Mahir 12.5, Penyelia 25) and an illustrative TPP table
// (100/100/80/60/40 %): the TPP factor is set by each region's or
// ministry's own regulation, which an agency must load.
func DefaultTables() Tables {
	return Tables{
		Version: "permenpanrb-1-2023/tpp-illustrative",
		AngkaKreditPercent: map[rating.Predikat]int{
			rating.SangatBaik: 150, rating.Baik: 100, rating.ButuhPerbaikan: 75, rating.KurangMisconduct: 50, rating.SangatKurang: 25,
		},
		Jenjang: []Jenjang{
			{"Ahli Pertama", 12_500}, {"Ahli Muda", 25_000}, {"Ahli Madya", 37_500}, {"Ahli Utama", 50_000},
			{"Pemula", 3_750}, {"Terampil", 5_000}, {"Mahir", 12_500}, {"Penyelia", 25_000},
		},
		TPPFactorPercent: map[rating.Predikat]int{
			rating.SangatBaik: 100, rating.Baik: 100, rating.ButuhPerbaikan: 80, rating.KurangMisconduct: 60, rating.SangatKurang: 40,
		},
	}
}

// MaxPercent bounds a percentage of the tables.
const MaxPercent = 1000

// MaxCoefficient bounds a coefficient (1,000.000).
const MaxCoefficient Milli = 1_000_000

// Validate reports every problem of t: every predikat needs a percentage
// in both tables (0–MaxPercent), every level a unique non-empty name and a
// coefficient in (0, MaxCoefficient].
func (t Tables) Validate() error {
	var errs []error
	if strings.TrimSpace(t.Version) == "" {
		errs = append(errs, errors.New("version is required"))
	}
	if t.FromYear != 0 && (t.FromYear < 2000 || t.FromYear > 2100) {
		errs = append(errs, fmt.Errorf("from_year: %d is not a year from 2000 to 2100 (or 0 for every year)", t.FromYear))
	}
	for _, p := range rating.Predikats() {
		for name, tab := range map[string]map[rating.Predikat]int{"angka_kredit_percent": t.AngkaKreditPercent, "tpp_factor_percent": t.TPPFactorPercent} {
			v, ok := tab[p]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s: %s is missing", name, p))
			case v < 0 || v > MaxPercent:
				errs = append(errs, fmt.Errorf("%s: %s is %d, not in 0–%d", name, p, v, MaxPercent))
			}
		}
	}
	for name, tab := range map[string]map[rating.Predikat]int{"angka_kredit_percent": t.AngkaKreditPercent, "tpp_factor_percent": t.TPPFactorPercent} {
		for p := range tab {
			if !p.Valid() {
				errs = append(errs, fmt.Errorf("%s: unknown predikat %q", name, p))
			}
		}
	}
	seen := map[string]bool{}
	for _, j := range t.Jenjang {
		k := strings.ToLower(strings.TrimSpace(j.Name))
		switch {
		case k == "":
			errs = append(errs, errors.New("jenjang: a level has no name"))
		case seen[k]:
			errs = append(errs, fmt.Errorf("jenjang: %q twice", j.Name))
		}
		seen[k] = true
		if j.Coefficient <= 0 || j.Coefficient > MaxCoefficient {
			errs = append(errs, fmt.Errorf("jenjang: %q has coefficient %s, not in (0, %s]", j.Name, j.Coefficient, MaxCoefficient))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("consequences: tables: %w", errors.Join(errs...))
	}
	return nil
}

// ReadTables reads tables from JSON (unknown fields refused) and validates
// them.
func ReadTables(r io.Reader) (Tables, error) {
	var t Tables
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Tables{}, fmt.Errorf("consequences: tables: %w", err)
	}
	return t, t.Validate()
}

// LoadTables reads the tables of a file; "" gives DefaultTables.
func LoadTables(path string) (Tables, error) {
	if path == "" {
		return DefaultTables(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return Tables{}, fmt.Errorf("consequences: tables: %w", err)
	}
	defer f.Close()
	return ReadTables(f)
}

// JenjangOf returns the level a functional post's title ends with (the
// longest configured name that matches), or false.
func (t Tables) JenjangOf(title string) (Jenjang, bool) {
	title = strings.ToLower(strings.Join(strings.Fields(title), " "))
	levels := slices.Clone(t.Jenjang)
	slices.SortStableFunc(levels, func(a, b Jenjang) int { return len(b.Name) - len(a.Name) })
	for _, j := range levels {
		name := strings.ToLower(strings.Join(strings.Fields(j.Name), " "))
		if name != "" && (title == name || strings.HasSuffix(title, " "+name)) {
			return j, true
		}
	}
	return Jenjang{}, false
}

// AngkaKredit returns months/12 × percent/100 × coefficient, rounded half
// up to three places: the Angka Kredit earned in a year's share of months
// at a predikat's percentage. Months outside 0–12 are clamped.
func AngkaKredit(months, percent int, coefficient Milli) Milli {
	months = min(max(months, 0), 12)
	if percent <= 0 || coefficient <= 0 {
		return 0
	}
	num := int64(months) * int64(percent) * int64(coefficient)
	const den = 12 * 100
	return Milli((2*num + den) / (2 * den))
}
