package readmodeltest

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// testProgressAtManyUnits checks the progress board at a root with many
// units (issue 15; checkProgressSums): the synthetic agency's 40 units
// under one root, cut while the SKPs are being established (some
// SUBMITTED, some ESTABLISHED, some late), with every seventh employee's
// SKP left out (missing).
func testProgressAtManyUnits(t *testing.T, cfg Config) {
	all := Synthetic(62 * 400)
	var events []projections.Event
	drafted, dropped, established := 0, map[string]bool{}, 0
	for _, ev := range all {
		// Two kinds of event matter here; not a switch over the events.
		if _, ok := ev.Payload.(skp.Drafted); ok {
			if drafted%7 == 3 {
				dropped[ev.Stream] = true
			}
			drafted++
		}
		if _, ok := ev.Payload.(skp.Established); ok {
			if established++; established > drafted/2 {
				break
			}
		}
		if !dropped[ev.Stream] {
			events = append(events, ev)
		}
	}
	b := cfg.Open(t, NewSyntheticHistory(events))
	ProjectInto(t, b.Sink(t, directory.Name), events, 500)
	ProjectInto(t, b.Sink(t, skps.Name), events, 500)
	p := checkProgressSums(t, b, "ROOT", 2026)
	if len(p.Units) != 41 || p.Total.Missing == 0 || p.Total.Late == 0 || p.Total.ByStatus["SUBMITTED"] == 0 || p.Total.ByStatus["ESTABLISHED"] == 0 {
		t.Errorf("the synthetic board has %d units and total %+v; want 41 units, some missing, late, submitted and established", len(p.Units), p.Total)
	}
}
