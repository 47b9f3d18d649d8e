package memreadmodel

import (
	"context"
	"slices"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// TestAuditFrontiersAreCapped: the audit transaction hands out its
// frontiers (the committed and the staged ones, the trail's and an
// agency's) without copying them, capped at their length, so that a
// caller's append cannot write into the arrays it keeps. Each array here
// has spare room, so the cap is the only thing that stops the append
// (without it the marker lands in the array).
func TestAuditFrontiersAreCapped(t *testing.T) {
	ctx := context.Background()
	room := func(hs ...merkle.Hash) []merkle.Hash { return append(make([]merkle.Hash, 0, len(hs)+8), hs...) }
	h := func(s string) merkle.Hash { return merkle.LeafHash([]byte(s)) }
	marker := h("marker")

	tables := newAuditTables()
	tables.frontier = room(h("committed"))
	tables.agencyLog("B").frontier = room(h("committed B"))
	tx := tables.begin()
	check := func(name string, held []merkle.Hash, get func() ([]merkle.Hash, error)) {
		t.Helper()
		before := slices.Clone(held)
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, held) {
			t.Fatalf("%s: handed out %x, holds %x", name, got, held)
		}
		_ = append(got, marker)
		if n := len(held); !slices.Equal(held, before) || held[:n+1][n] == marker {
			t.Errorf("%s: appending to the frontier handed out wrote into the one kept", name)
		}
	}
	check("committed trail", tables.frontier, func() ([]merkle.Hash, error) { return tx.Frontier(ctx) })
	check("committed agency", tables.agencyLog("B").frontier, func() ([]merkle.Hash, error) { return tx.AgencyFrontier(ctx, "B") })

	leaf := h("leaf 0")
	staged, stagedA := room(leaf), room(leaf)
	if err := tx.Append(ctx, audit.Entry{Seq: 0, LeafHash: leaf}, []merkle.Node{{Level: 0, Index: 0, Hash: leaf}}, staged); err != nil {
		t.Fatal(err)
	}
	if err := tx.AppendAgency(ctx, audit.AgencyEntry{Agency: "A", Index: 0, Seq: 0, LeafHash: leaf}, []merkle.Node{{Level: 0, Index: 0, Hash: leaf}}, stagedA); err != nil {
		t.Fatal(err)
	}
	check("staged trail", staged, func() ([]merkle.Hash, error) { return tx.Frontier(ctx) })
	check("staged agency", stagedA, func() ([]merkle.Hash, error) { return tx.AgencyFrontier(ctx, "A") })
}
