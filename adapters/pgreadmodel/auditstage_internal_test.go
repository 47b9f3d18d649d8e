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
// frontiers (the trail's and the agency logs') without copying them and
// keeps the ones it is given, as audit.Apply uses them. Appending 1,000
// leaves through it, as audit.Apply does, each also to one of three
// agency logs in one stage, gives at every step the frontiers and nodes of
// trees appended directly, and Node answers every node staged. A caller
// appending to a frontier it was handed cannot write into the stage's
// array: each is capped at its length (without the cap the marker below
// lands in it).
func TestAuditStageKeepsTheTreeWithoutCopies(t *testing.T) {
	ctx := context.Background()
	s := &auditStage{agencies: newAgencyStage()}
	agencies := []string{"A", "B", "C"}
	agencyRef := map[string]*merkle.Tree{}
	for _, a := range agencies {
		s.agencies.logs[a] = &agencyStageLog{}
		s.agencies.order = append(s.agencies.order, a)
		agencyRef[a] = merkle.NewTree()
	}
	ref := merkle.NewTree()
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
		// An agency log, as audit's applyAgency extends it: the three
		// take turns unevenly (i*7/5 mod 3: A, B, C, B, C, B, C, A, C,
		// ...), so that each log grows in runs and in alternations.
		a := agencies[(i*7/5)%3]
		l := s.agencies.logs[a]
		af, err := s.AgencyFrontier(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		at, err := merkle.NewTreeFromFrontier(l.size, af)
		if err != nil {
			t.Fatal(err)
		}
		anodes := at.Append(leaf)
		e := audit.AgencyEntry{Agency: a, Index: l.size, Seq: i, LeafHash: leaf}
		if err := s.AppendAgency(ctx, e, anodes, at.Frontier()); err != nil {
			t.Fatal(err)
		}
		agencyRef[a].Append(leaf)
		for _, b := range agencies {
			if s.agencies.logs[b].size != agencyRef[b].Size() || !slices.Equal(s.agencies.logs[b].frontier, agencyRef[b].Frontier()) {
				t.Fatalf("leaf %d (agency %s): the stage's tree of agency %s differs from the tree's", i, a, b)
			}
		}
	}
	for _, a := range agencies {
		if agencyRef[a].Size() < 300 {
			t.Fatalf("agency %s got %d of the 1,000 leaves; the test means to spread them", a, agencyRef[a].Size())
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
			f, _ := s.AgencyFrontier(ctx, "B")
			return f, &s.agencies.logs["B"].frontier
		},
	} {
		// The stage keeps merkle.Tree.Frontier's copy, whose capacity is
		// whatever the allocator rounded it to, perhaps its length: then
		// an append to it would reallocate whether or not it was capped,
		// and the check below could not fail. A slice with spare room
		// makes the cap the only thing that stops the append.
		_, held := frontier()
		*held = append(make([]merkle.Hash, 0, len(*held)+8), *held...)
		before := slices.Clone(*held)
		got, _ := frontier()
		_ = append(got, marker)
		if n := len(*held); !slices.Equal(*held, before) || (*held)[:n+1][n] == marker {
			t.Errorf("%s: appending to the frontier handed out wrote into the stage's", name)
		}
	}
}

// TestAuditStageFrontierSurvivesTheTreesAppend: a frontier the stage hands
// out is read-only, and the cap does not make it so: merkle.Tree.Append
// truncates its frontier and appends the new node, which would write into
// the stage's array if the tree held the slice itself. merkle.Tree built
// by NewTreeFromFrontier copies it, so the stage's frontier stays as it
// was through the tree's Append, until the stage's own Append (or
// AppendAgency) takes the tree's new frontier. Each size here ends in one
// bits, so that Append folds the frontier down (7, 15: to one hash), and
// the stage's arrays have spare room, as after an append of their own.
// (Fails if NewTreeFromFrontier keeps the slice it is given.)
func TestAuditStageFrontierSurvivesTheTreesAppend(t *testing.T) {
	ctx := context.Background()
	for _, size := range []uint64{1, 3, 7, 15, 23, 1023} {
		s := &auditStage{agencies: newAgencyStage()}
		s.agencies.logs["A"] = &agencyStageLog{}
		ref := merkle.NewTree()
		for i := range size {
			ref.Append(merkle.LeafHash(fmt.Appendf(nil, "leaf %d", i)))
		}
		room := func(f []merkle.Hash) []merkle.Hash { return append(make([]merkle.Hash, 0, len(f)+8), f...) }
		s.baseSize, s.frontier = size, room(ref.Frontier())
		s.agencies.logs["A"].size, s.agencies.logs["A"].frontier = size, room(ref.Frontier())
		leaf := merkle.LeafHash([]byte("next"))
		for _, c := range []struct {
			name   string
			held   *[]merkle.Hash
			get    func() ([]merkle.Hash, error)
			append func(nodes []merkle.Node, frontier []merkle.Hash) error
		}{
			{"trail", &s.frontier, func() ([]merkle.Hash, error) { return s.Frontier(ctx) },
				func(nodes []merkle.Node, frontier []merkle.Hash) error {
					return s.Append(ctx, audit.Entry{Seq: size, LeafHash: leaf}, nodes, frontier)
				}},
			{"agency", &s.agencies.logs["A"].frontier, func() ([]merkle.Hash, error) { return s.AgencyFrontier(ctx, "A") },
				func(nodes []merkle.Node, frontier []merkle.Hash) error {
					return s.AppendAgency(ctx, audit.AgencyEntry{Agency: "A", Index: size, Seq: size, LeafHash: leaf}, nodes, frontier)
				}},
		} {
			before := slices.Clone(*c.held)
			f, err := c.get()
			if err != nil {
				t.Fatal(err)
			}
			tr, err := merkle.NewTreeFromFrontier(size, f)
			if err != nil {
				t.Fatal(err)
			}
			nodes := tr.Append(leaf)
			if !slices.Equal(*c.held, before) || !slices.Equal(f, before) {
				t.Fatalf("size %d, %s: the tree's Append changed the stage's frontier", size, c.name)
			}
			if err := c.append(nodes, tr.Frontier()); err != nil {
				t.Fatal(err)
			}
			next := merkle.NewTree()
			for i := range size {
				next.Append(merkle.LeafHash(fmt.Appendf(nil, "leaf %d", i)))
			}
			next.Append(leaf)
			if !slices.Equal(*c.held, next.Frontier()) {
				t.Fatalf("size %d, %s: the stage's Append did not take the tree's frontier", size, c.name)
			}
		}
	}
}

// TestAuditStageNodeWithManyStagedNodes: Node answers from the map it
// builds on its first call, and indexes the nodes staged after that call
// on the next: 100,000 leaves staged in two parts, with Node asked
// between them, give for every staged node the hash of the newest staged
// node at its place (what Node's search, newest first, gave before the
// map), and for a sample the search's own answer.
func TestAuditStageNodeWithManyStagedNodes(t *testing.T) {
	ctx := context.Background()
	s := &auditStage{agencies: newAgencyStage()}
	search := func(level uint8, index uint64) (merkle.Hash, bool) {
		for i := len(s.nodes) - 1; i >= 0; i-- {
			if n := &s.nodes[i]; n.Level == level && n.Index == index {
				return n.Hash, true
			}
		}
		return merkle.Hash{}, false
	}
	check := func(step string) {
		t.Helper()
		newest := make(map[nodeKey]merkle.Hash, len(s.nodes))
		for _, n := range s.nodes {
			newest[nodeKey{n.Level, n.Index}] = n.Hash
		}
		for i, n := range s.nodes {
			h, err := s.Node(ctx, n.Level, n.Index) // a miss would query s.tx, which is nil
			want := newest[nodeKey{n.Level, n.Index}]
			if i%5003 == 0 || i >= len(s.nodes)-50 {
				if w, ok := search(n.Level, n.Index); !ok || w != want {
					t.Fatalf("%s: the search finds %x at (%d, %d); want %x", step, w, n.Level, n.Index, want)
				}
			}
			if err != nil || h != want {
				t.Fatalf("%s: Node(%d, %d) = %x, %v; want %x", step, n.Level, n.Index, h, err, want)
			}
		}
	}
	tr := merkle.NewTree()
	stage := func(from, to uint64) {
		for i := from; i < to; i++ {
			leaf := merkle.LeafHash(fmt.Appendf(nil, "leaf %d", i))
			nodes := tr.Append(leaf)
			if err := s.Append(ctx, audit.Entry{Seq: i, LeafHash: leaf}, nodes, tr.Frontier()); err != nil {
				t.Fatal(err)
			}
		}
	}
	stage(0, 60_000)
	if s.staged != nil {
		t.Fatal("the stage built its map of nodes before Node was called")
	}
	check("after 60,000 leaves")
	stage(60_000, 100_000)
	check("after 100,000 leaves")
	if len(s.staged) != len(s.nodes) || len(s.nodes) < 199_990 {
		t.Fatalf("%d nodes staged, %d indexed", len(s.nodes), len(s.staged))
	}
}
