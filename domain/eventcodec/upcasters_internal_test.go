package eventcodec

import (
	"strings"
	"testing"
)

// TestNoUpcasterMakesAUnitRegistration guards AgencyMemo's premise
// (domain/orgunit/agency.go): a unit's parent comes from its registration
// only, so no upcaster may turn another stored event into a
// unit.registered (which would re-parent a unit on read).
func TestNoUpcasterMakesAUnitRegistration(t *testing.T) {
	for _, u := range upcasters {
		if strings.HasPrefix(u.ToType, "unit.registered.") {
			t.Errorf("upcaster %s schema %d -> %s schema %d makes a unit registration: AgencyMemo assumes none does", u.FromType, u.FromVersion, u.ToType, u.ToVersion)
		}
	}
}
