package main

import (
	"encoding/json"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
)

// seed --agencies spreads the employees over that many root units, each
// a seeded agency of its own.
func TestSeedAgencies(t *testing.T) {
	data := t.TempDir()
	out := mustCtl(t, "seed", "--data", data, "--agencies", "2", "--employees", "17", "--year", "2025")
	var all []seed.Stats
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(all) != 2 || all[0].AgencyUnit != "INST001" || all[1].AgencyUnit != "INST002" || all[0].Employees+all[1].Employees != 17 {
		t.Fatalf("agencies = %+v", all)
	}
}
