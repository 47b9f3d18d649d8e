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
