// Package rating provides the rating scales of PermenPANRB 6/2022: the
// three-level rating of work results (hasil kerja) and of behaviour
// (perilaku kerja), the employee predikat derived from the two by the
// "kuadran kinerja pegawai" (domain.md §4.2), and the five-level
// organisation predikat (capaian kinerja organisasi, §4.3).
//
// The predikat is never chosen: an appraiser chooses the two ratings and
// [Derive] computes the label. No override exists.
package rating

import "fmt"

// Rating is a rating of work results or of behaviour.
type Rating string

// Ratings.
const (
	// AboveExpectation is "Di Atas Ekspektasi".
	AboveExpectation Rating = "DI_ATAS_EKSPEKTASI"
	// MeetsExpectation is "Sesuai Ekspektasi".
	MeetsExpectation Rating = "SESUAI_EKSPEKTASI"
	// BelowExpectation is "Di Bawah Ekspektasi".
	BelowExpectation Rating = "DI_BAWAH_EKSPEKTASI"
)

// Ratings lists the ratings from best to worst.
func Ratings() []Rating { return []Rating{AboveExpectation, MeetsExpectation, BelowExpectation} }

// Valid reports whether r is a known rating.
func (r Rating) Valid() bool {
	return r == AboveExpectation || r == MeetsExpectation || r == BelowExpectation
}

// ParseRating returns s as a Rating or an error naming the valid values.
func ParseRating(s string) (Rating, error) {
	r := Rating(s)
	if !r.Valid() {
		return "", fmt.Errorf("must be one of DI_ATAS_EKSPEKTASI, SESUAI_EKSPEKTASI, DI_BAWAH_EKSPEKTASI")
	}
	return r, nil
}

// Predikat is an employee's performance predikat.
type Predikat string

// Predikat values.
const (
	// SangatBaik is "Sangat Baik".
	SangatBaik Predikat = "SANGAT_BAIK"
	// Baik is "Baik".
	Baik Predikat = "BAIK"
	// ButuhPerbaikan is "Butuh Perbaikan" (also "Cukup").
	ButuhPerbaikan Predikat = "BUTUH_PERBAIKAN"
	// KurangMisconduct is "Kurang/Misconduct".
	KurangMisconduct Predikat = "KURANG_MISCONDUCT"
	// SangatKurang is "Sangat Kurang".
	SangatKurang Predikat = "SANGAT_KURANG"
)

// Predikats lists the employee predikat from best to worst.
func Predikats() []Predikat {
	return []Predikat{SangatBaik, Baik, ButuhPerbaikan, KurangMisconduct, SangatKurang}
}

// Valid reports whether p is a known predikat.
func (p Predikat) Valid() bool {
	switch p {
	case SangatBaik, Baik, ButuhPerbaikan, KurangMisconduct, SangatKurang:
		return true
	}
	return false
}

// Derive returns the predikat of the kuadran kinerja pegawai for a work
// result rating and a behaviour rating (domain.md §4.2):
//
//	work result ↓ / behaviour →  DI_BAWAH            SESUAI           DI_ATAS
//	DI_ATAS                      KURANG_MISCONDUCT   BAIK             SANGAT_BAIK
//	SESUAI                       KURANG_MISCONDUCT   BAIK             BAIK
//	DI_BAWAH                     SANGAT_KURANG       BUTUH_PERBAIKAN  BUTUH_PERBAIKAN
//
// It returns "" if either rating is invalid.
func Derive(workResult, behaviour Rating) Predikat {
	if !workResult.Valid() || !behaviour.Valid() {
		return ""
	}
	switch {
	case behaviour == BelowExpectation && workResult == BelowExpectation:
		return SangatKurang
	case behaviour == BelowExpectation:
		return KurangMisconduct
	case workResult == BelowExpectation:
		return ButuhPerbaikan
	case workResult == AboveExpectation && behaviour == AboveExpectation:
		return SangatBaik
	default:
		return Baik
	}
}

// OrgPredikat is an organisation unit's performance predikat.
type OrgPredikat string

// Organisation predikat values.
const (
	// Istimewa is "Istimewa" (exceptional).
	Istimewa OrgPredikat = "ISTIMEWA"
	// OrgBaik is "Baik".
	OrgBaik OrgPredikat = "BAIK"
	// OrgButuhPerbaikan is "Butuh Perbaikan" (also "Cukup").
	OrgButuhPerbaikan OrgPredikat = "BUTUH_PERBAIKAN"
	// OrgKurang is "Kurang".
	OrgKurang OrgPredikat = "KURANG"
	// OrgSangatKurang is "Sangat Kurang".
	OrgSangatKurang OrgPredikat = "SANGAT_KURANG"
)

// OrgPredikats lists the organisation predikat from best to worst.
func OrgPredikats() []OrgPredikat {
	return []OrgPredikat{Istimewa, OrgBaik, OrgButuhPerbaikan, OrgKurang, OrgSangatKurang}
}

// Valid reports whether o is a known organisation predikat.
func (o OrgPredikat) Valid() bool {
	switch o {
	case Istimewa, OrgBaik, OrgButuhPerbaikan, OrgKurang, OrgSangatKurang:
		return true
	}
	return false
}

// ParseOrgPredikat returns s as an OrgPredikat or an error naming the valid
// values.
func ParseOrgPredikat(s string) (OrgPredikat, error) {
	o := OrgPredikat(s)
	if !o.Valid() {
		return "", fmt.Errorf("must be one of ISTIMEWA, BAIK, BUTUH_PERBAIKAN, KURANG, SANGAT_KURANG")
	}
	return o, nil
}

// MatrixRow is one work-result rating's row of the predikat matrix
// (kuadran kinerja pegawai).
type MatrixRow struct {
	// WorkResult is the row's work-result rating.
	WorkResult Rating
	// Cells are the row's predikat, one per behaviour rating.
	Cells []MatrixCell
}

// MatrixCell is the predikat of one work result and one behaviour.
type MatrixCell struct {
	// WorkResult and Behaviour are the two ratings of the cell.
	WorkResult, Behaviour Rating
	// Predikat is what Derive gives for them.
	Predikat Predikat
}

// Matrix is Derive over every pair of ratings, a row per work result and
// a cell per behaviour, both in the order of Ratings: the table a page
// shows, so that no page writes the matrix down again.
func Matrix() []MatrixRow {
	var rows []MatrixRow
	for _, wr := range Ratings() {
		row := MatrixRow{WorkResult: wr}
		for _, bh := range Ratings() {
			row.Cells = append(row.Cells, MatrixCell{WorkResult: wr, Behaviour: bh, Predikat: Derive(wr, bh)})
		}
		rows = append(rows, row)
	}
	return rows
}
