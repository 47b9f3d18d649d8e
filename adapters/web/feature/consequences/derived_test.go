package consequences

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// The page derives the corrections and sort orders once per register: the
// same (kept) register gets the same derived; a register computed again,
// with a correction more, gets its own, never the stale one; an empty
// register is derived afresh; the cache holds at most derivedMax.
func TestDerivedPerRegister(t *testing.T) {
	var c derivedCache
	orig := consequences.Publication{ID: "P1", Kind: consequences.Original, SKPID: "S1"}
	r1 := consequences.Register{Publications: []consequences.Publication{orig}}
	d1 := c.get(r1)
	if len(d1.corrections) != 0 {
		t.Fatalf("corrections %v", d1.corrections)
	}
	if c.get(r1) != d1 {
		t.Error("the same register was derived again")
	}
	corr := consequences.Publication{ID: "P2", Kind: consequences.Correction, Corrects: "P1", SKPID: "S1"}
	r2 := consequences.Register{Publications: []consequences.Publication{orig, corr}}
	d2 := c.get(r2)
	if d2 == d1 || len(d2.corrections) != 1 || d2.corrections[0].Original.ID != "P1" {
		t.Fatalf("the register with a correction: %+v", d2.corrections)
	}
	// The same backing array, a longer register: not the shorter's.
	arr := []consequences.Publication{orig, corr}
	short := c.get(consequences.Register{Publications: arr[:1]})
	if d := c.get(consequences.Register{Publications: arr}); d == short || len(d.corrections) != 1 {
		t.Errorf("a grown register got %+v", d.corrections)
	}
	if e1, e2 := c.get(consequences.Register{}), c.get(consequences.Register{}); e1 == e2 {
		t.Error("an empty register was kept")
	}
	for range 2 * derivedMax {
		c.get(consequences.Register{Publications: []consequences.Publication{orig}})
	}
	if len(c.entries) > derivedMax {
		t.Errorf("%d entries kept", len(c.entries))
	}
}
