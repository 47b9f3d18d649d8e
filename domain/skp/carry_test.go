package skp_test

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"pgregory.net/rapid"
)

// TestCarryFoldsAsReplay: after random command sequences (valid and
// refused, by every caller) on a service that carries each SKP's state
// between commands, the state the next command would decide on equals a
// replay of the stored stream, field for field.
func TestCarryFoldsAsReplay(t *testing.T) {
	var carried atomic.Int64
	rapid.Check(t, func(t *rapid.T) {
		m := &machine{f: newFixture(t), finals: map[string]bool{}}
		m.f.skps.Carry = skp.NewCarry(0)
		acts := m.actions()
		delete(acts, "")
		names := make([]string, 0, len(acts))
		for n := range acts {
			names = append(names, n)
		}
		slices.Sort(names)
		for range rapid.IntRange(1, 80).Draw(t, "steps") {
			acts[rapid.SampledFrom(names).Draw(t, "action")](t)
			for _, id := range append([]string{m.f.skpA}, m.ids...) {
				events, _, _, err := m.f.env.Log.Load(m.f.ctx, domain.SKPStream(id))
				if err != nil {
					t.Fatalf("%v", err)
				}
				c, eq := skp.CarriedAsReplayed(m.f.skps.Carry, id, events)
				if !eq {
					t.Fatalf("%s at revision %d: the carried state differs from a replay", id, len(events)-1)
				}
				if c {
					carried.Add(1)
				}
			}
		}
	})
	if carried.Load() == 0 {
		t.Fatal("no command carried a state: the test compared replays with replays")
	}
}

// TestCarryEvictsLeastRecent: past its bound a Carry drops the SKP
// commanded least recently, not the new one: at a province, with more
// SKPs than the bound, refusing new states left most SKPs replaying.
func TestCarryEvictsLeastRecent(t *testing.T) {
	c := skp.NewCarry(3)
	for _, id := range []string{"a", "b", "c"} {
		skp.CarryKeep(c, id)
	}
	skp.CarryKeep(c, "a") // commanded again: now the most recent
	skp.CarryKeep(c, "d") // past the bound: b goes
	skp.CarryKeep(c, "e") // then c
	for id, want := range map[string]bool{"a": true, "b": false, "c": false, "d": true, "e": true} {
		if got := skp.CarryHolds(c, id); got != want {
			t.Errorf("holds %s = %v, want %v", id, got, want)
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	c.Forget("d")
	skp.CarryKeep(c, "f")
	if c.Len() != 3 || !skp.CarryHolds(c, "a") || !skp.CarryHolds(c, "e") || !skp.CarryHolds(c, "f") {
		t.Errorf("after Forget(d) and f: Len %d, a %v e %v f %v; want 3, all held", c.Len(), skp.CarryHolds(c, "a"), skp.CarryHolds(c, "e"), skp.CarryHolds(c, "f"))
	}
	c.Clear()
	skp.CarryKeep(c, "g")
	if c.Len() != 1 {
		t.Errorf("after Clear and one put: Len %d, want 1", c.Len())
	}
}
