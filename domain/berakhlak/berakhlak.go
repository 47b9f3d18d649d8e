// Package berakhlak provides the seven ASN core values (SE MenPANRB 20/2021)
// against which work behaviour is judged: Berorientasi Pelayanan,
// Akuntabel, Kompeten, Harmonis, Loyal, Adaptif, Kolaboratif. There are no
// levels per job grade; the appraiser may attach a specific expectation to
// each value (domain.md §4.1, §4.5).
package berakhlak

import "slices"

// Value is one core value.
type Value string

// The seven values.
const (
	// BerorientasiPelayanan: commitment to excellent public service.
	BerorientasiPelayanan Value = "BERORIENTASI_PELAYANAN"
	// Akuntabel: accountable for the trust given.
	Akuntabel Value = "AKUNTABEL"
	// Kompeten: keep learning and developing capability.
	Kompeten Value = "KOMPETEN"
	// Harmonis: mutual care and respect for differences.
	Harmonis Value = "HARMONIS"
	// Loyal: dedication to the nation and state.
	Loyal Value = "LOYAL"
	// Adaptif: embrace change.
	Adaptif Value = "ADAPTIF"
	// Kolaboratif: build synergy.
	Kolaboratif Value = "KOLABORATIF"
)

// Values returns the seven values in the order of the acronym.
func Values() []Value {
	return []Value{BerorientasiPelayanan, Akuntabel, Kompeten, Harmonis, Loyal, Adaptif, Kolaboratif}
}

// Valid reports whether v is one of the seven values.
func (v Value) Valid() bool { return slices.Contains(Values(), v) }
