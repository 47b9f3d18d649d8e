package pgreadmodel

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// TestAuditStageKeepsTheTreeWithoutCopies: the audit stage hands out its
// frontiers (the trail's and an agency's) without copying them and keeps
// the ones it is given, as audit.Apply uses them. Appending 1,000 leaves
// through it, as audit.Apply does, gives at every step the frontier and
// nodes of a tree appended directly, and Node answers every node staged
// (the stage searches them; no map is kept). A caller appending to a
// frontier it was handed cannot write into the stage's array: each is
// capped at its length (without the cap the marker below lands in it).
func TestAuditStageKeepsTheTreeWithoutCopies(t *testing.T) {
	ctx := context.Background()
	s := &auditStage{agencies: newAgencyStage()}
	s.agencies.logs["A"] = &agencyStageLog{}
	ref, agencyRef := merkle.NewTree(), merkle.NewTree()
	var want []merkle.Node
	for i := range uint64(1000) {
		leaf := merkle.LeafHash(fmt.Appendf(nil, "leaf %d", i))
		// The trail, as audit.Apply extends it.
		f, err := s.Frontier(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := merkle.NewTreeFromFrontier(s.size(), f)
		if err != nil {
			t.Fatal(err)
		}
		nodes := tr.Append(leaf)
		if err := s.Append(ctx, audit.Entry{Seq: i, LeafHash: leaf}, nodes, tr.Frontier()); err != nil {
			t.Fatal(err)
		}
		refNodes := ref.Append(leaf)
		if !slices.Equal(nodes, refNodes) || !slices.Equal(s.frontier, ref.Frontier()) {
			t.Fatalf("leaf %d: the stage's tree differs from the tree's", i)
		}
		want = append(want, refNodes...)
		// The agency log, as audit's applyAgency extends it.
		af, err := s.AgencyFrontier(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		at, err := merkle.NewTreeFromFrontier(s.agencies.logs["A"].size, af)
		if err != nil {
			t.Fatal(err)
		}
		anodes := at.Append(leaf)
		e := audit.AgencyEntry{Agency: "A", Index: s.agencies.logs["A"].size, Seq: i, LeafHash: leaf}
		if err := s.AppendAgency(ctx, e, anodes, at.Frontier()); err != nil {
			t.Fatal(err)
		}
		agencyRef.Append(leaf)
		if !slices.Equal(s.agencies.logs["A"].frontier, agencyRef.Frontier()) {
			t.Fatalf("leaf %d: the stage's agency tree differs from the tree's", i)
		}
	}
	for _, n := range want {
		h, err := s.Node(ctx, n.Level, n.Index) // a miss would query s.tx, which is nil
		if err != nil || h != n.Hash {
			t.Fatalf("Node(%d, %d) = %x, %v; want %x", n.Level, n.Index, h, err, n.Hash)
		}
	}

	marker := merkle.LeafHash([]byte("marker"))
	for name, frontier := range map[string]func() ([]merkle.Hash, *[]merkle.Hash){
		"trail": func() ([]merkle.Hash, *[]merkle.Hash) {
			f, _ := s.Frontier(ctx)
			return f, &s.frontier
		},
		"agency": func() ([]merkle.Hash, *[]merkle.Hash) {
			f, _ := s.AgencyFrontier(ctx, "A")
			return f, &s.agencies.logs["A"].frontier
		},
	} {
		_, held := frontier()
		*held = append(make([]merkle.Hash, 0, len(*held)+8), *held...) // room to append into
		before := slices.Clone(*held)
		got, _ := frontier()
		_ = append(got, marker)
		if n := len(*held); !slices.Equal(*held, before) || (*held)[:n+1][n] == marker {
			t.Errorf("%s: appending to the frontier handed out wrote into the stage's", name)
		}
	}
}
