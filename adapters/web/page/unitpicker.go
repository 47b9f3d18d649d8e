package page

import (
	"slices"
	"strings"
	"unicode"

	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// PickerMax is the most units a unit picker's <datalist> offers: a page
// that picks a unit never lists the whole tree (a province has ≈ 10,000
// units; a <select> of them all was ≈ 0.9 MB of HTML, issue 15).
const PickerMax = 200

// PickerInputMax is the longest text a unit picker reads; longer input is
// refused as unknown, never searched.
const PickerInputMax = 200

// UnitPicker is a unit field: a text input (the unit's ID, typed or
// chosen) with a <datalist> of at most PickerMax units. Without a typed
// text the list is the units nearest the field's unit (its ancestors, its
// siblings, its children) and then the top of the tree; with a text that
// is no unit's ID it is the units whose ID or name contain the text: the
// page's own search, served by the page again (a GET filter's submit, a
// refused form's answer), so the field works without JavaScript. Rendered
// by the shared template "unit-picker" (templates/layout.html).
type UnitPicker struct {
	// Field is the input's name; ID its id (Field unless set), of which
	// the list's, the error's and the hint's ids are made.
	Field, ID string
	// Value is the text the input shows.
	Value string
	// Options are the units offered, in the tree's order.
	Options []UnitRow
	// Required marks the input required.
	Required bool
	// Error is the field's problem ("" when none): shown beside it,
	// aria-describedby points to it.
	Error string
	// Hint is the text under the input (what to type; how many units were
	// found for a search).
	Hint string
}

var (
	textPickerHint   = i18n.Text{ID: "Ketik ID unit atau pilih dari daftar; ketik sebagian nama atau ID lalu kirim untuk mencari.", EN: "Type a unit ID or choose one from the list; type part of a name or ID and submit to search."}
	textPickerFound  = i18n.Text{ID: "Unit yang cocok ada di daftar pilihan isian ini.", EN: "The matching units are in this field's list."}
	textPickerNone   = i18n.Text{ID: "Tidak ada unit yang cocok.", EN: "No unit matches."}
	textPickerBad    = i18n.Text{ID: "Unit tidak dikenal di instansi Anda: ketik ID unit yang ada atau pilih dari daftar.", EN: "No such unit in your agency: type an existing unit ID or choose one from the list."}
	textPickerTooBig = i18n.Text{ID: "Isian unit terlalu panjang.", EN: "The unit text is too long."}
)

// NewUnitPicker builds the picker of field showing value, over the caller's
// units (app.Units: the caller's agency's only). near is the unit whose
// neighbours are offered when value names no search ("" for the top of the
// tree). A value that is no unit's ID is searched for, and the picker gets
// the form error "unknown unit" (Error), in lang.
func NewUnitPicker(lang, field, value string, units []directory.Unit, near string) UnitPicker {
	p := UnitPicker{Field: field, ID: field, Value: value, Hint: textPickerHint.In(lang)}
	byID := make(map[string]directory.Unit, len(units))
	for _, u := range units {
		byID[u.ID] = u
	}
	if value != "" {
		if _, ok := byID[value]; ok {
			near = value
		} else {
			p.Error = textPickerBad.In(lang)
			if len(value) > PickerInputMax || strings.IndexFunc(value, unicode.IsControl) >= 0 {
				if len(value) > PickerInputMax {
					p.Error = textPickerTooBig.In(lang)
				}
				p.Value = ""
			} else {
				p.Options = searchUnits(units, value)
				p.Hint = textPickerNone.In(lang)
				if len(p.Options) > 0 {
					p.Hint = textPickerFound.In(lang)
				}
				return p
			}
		}
	}
	p.Options = nearUnits(units, byID, near)
	return p
}

// Known reports whether id is one of units' IDs: a unit of the caller's
// agency (a foreign or unknown one is refused before anything is written).
func Known(units []directory.Unit, id string) bool {
	for _, u := range units {
		if u.ID == id {
			return true
		}
	}
	return false
}

// searchUnits returns the units whose ID or name contains q (letter case
// ignored), at most PickerMax, in the tree's order.
func searchUnits(units []directory.Unit, q string) []UnitRow {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return nil
	}
	var out []UnitRow
	for _, r := range UnitTree(units) {
		if strings.Contains(strings.ToLower(r.ID), q) || strings.Contains(strings.ToLower(r.Name), q) {
			out = append(out, r)
			if len(out) == PickerMax {
				break
			}
		}
	}
	return out
}

// nearUnits returns near's ancestors, near, its siblings and children,
// then the tree from its top, at most PickerMax, in the tree's order.
func nearUnits(units []directory.Unit, byID map[string]directory.Unit, near string) []UnitRow {
	want := map[string]bool{}
	if u, ok := byID[near]; ok {
		want[u.ID] = true
		for p, n := u.ParentID, 0; p != "" && n < 64; n++ { // a cycle never loops
			pu, ok := byID[p]
			if !ok {
				break
			}
			want[p] = true
			p = pu.ParentID
		}
		for _, o := range units {
			if o.ParentID == near || (o.ParentID == u.ParentID && len(want) < PickerMax) {
				want[o.ID] = true
			}
		}
	}
	tree := UnitTree(units)
	var out []UnitRow
	for _, r := range tree {
		if len(out) < PickerMax && want[r.ID] {
			out = append(out, r)
		}
	}
	if len(out) < PickerMax {
		for _, r := range tree {
			if len(out) == PickerMax {
				break
			}
			if !want[r.ID] {
				want[r.ID] = true
				out = append(out, r)
			}
		}
		// keep the tree's order
		pos := make(map[string]int, len(tree))
		for i, r := range tree {
			pos[r.ID] = i
		}
		slices.SortFunc(out, func(a, b UnitRow) int { return pos[a.ID] - pos[b.ID] })
	}
	return out
}
