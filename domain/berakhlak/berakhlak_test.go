package berakhlak_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
)

func TestValues(t *testing.T) {
	vs := berakhlak.Values()
	if len(vs) != 7 {
		t.Fatalf("len(Values()) = %d, want 7", len(vs))
	}
	// The initials spell BerAKHLAK.
	var initials string
	for _, v := range vs {
		initials += string(v[0])
		if !v.Valid() {
			t.Errorf("%s.Valid() = false", v)
		}
	}
	if initials != "BAKHLAK" {
		t.Errorf("initials = %s, want BAKHLAK", initials)
	}
	for _, bad := range []berakhlak.Value{"", "INTEGRITAS", "akuntabel"} {
		if bad.Valid() {
			t.Errorf("%q.Valid() = true, want false", bad)
		}
	}
}
