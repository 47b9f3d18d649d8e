package form

import (
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// textUnknownUnit is the problem of a unit field naming no unit of the
// caller's agency (unknown, another agency's, control characters, too long).
var textUnknownUnit = i18n.Text{ID: "Unit tidak dikenal di instansi Anda: ketik ID unit yang ada atau pilih dari daftar.",
	EN: "No such unit in your agency: type an existing unit ID or choose one from the list."}

// UnitPicker is the picker (page.UnitPicker, the shared "unit-picker"
// template) of s's field over the caller's units: it shows the value
// typed, the units near it or near near, or the units matching a value
// that is no unit's ID; its error is the form's problem of field.
func (s State) UnitPicker(field string, units []directory.Unit, near string) page.UnitPicker {
	p := page.NewUnitPicker(s.lang, field, s.Value(field), units, near)
	p.Error = ""
	if pr := s.Problem(field); pr != nil {
		p.Error = pr.Text
	}
	return p
}

// CheckUnit adds the problem "unknown unit" to field when id is set and is
// none of units (the caller's agency's, app.Units): the command then does
// not run, so nothing is written for a unit the caller cannot see.
func (s *State) CheckUnit(field, id string, units []directory.Unit) {
	if id != "" && !s.Invalid(field) && !page.Known(units, id) {
		s.AddProblem(field, textUnknownUnit)
	}
}
