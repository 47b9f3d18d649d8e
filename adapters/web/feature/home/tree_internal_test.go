package home

import (
	"fmt"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// wideTree is a progress report's units, depth first: a root with
// fanout units at each level down to depth levels-1.
func wideTree(fanout, levels int) []reports.UnitProgress {
	var out []reports.UnitProgress
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		out = append(out, reports.UnitProgress{UnitID: id, Name: "Unit " + id, Depth: depth})
		if depth+1 == levels {
			return
		}
		for i := range fanout {
			walk(fmt.Sprintf("%s.%d", id, i), depth+1)
		}
	}
	walk("R", 0)
	return out
}

func countTree(nodes []*UnitNode) (shown, hidden int) {
	for _, n := range nodes {
		s, h := countTree(n.Children)
		shown += 1 + s
		hidden += n.Hidden + h
	}
	return shown, hidden
}

// TestTreeIsCut: a province's tree (here 1 + 8 + 64 + 512 + 4,096 units)
// is cut at the deepest level that keeps it within the limit, every unit
// left out counted on its ancestor at the cut; an agency within the limit
// is drawn whole, as before.
func TestTreeIsCut(t *testing.T) {
	units := wideTree(8, 5) // 4,681 units
	roots := buildTree(units, 400)
	shown, hidden := countTree(roots)
	if len(roots) != 1 || shown != 1+8+64 || hidden != 512+4096 {
		t.Fatalf("cut tree: %d roots, %d shown, %d hidden; want 1, 73, 4608", len(roots), shown, hidden)
	}
	for _, n := range roots[0].Children[0].Children {
		if n.Depth != 2 || len(n.Children) != 0 || n.Hidden != 8+64 {
			t.Fatalf("unit %s at the cut: depth %d, %d children, %d hidden; want 2, 0, 72", n.ID, n.Depth, len(n.Children), n.Hidden)
		}
	}

	small := wideTree(6, 4) // 259 units, like the 2,000-employee agency's 212
	roots = buildTree(small, 400)
	if shown, hidden := countTree(roots); shown != len(small) || hidden != 0 {
		t.Fatalf("small tree: %d shown, %d hidden; want all %d", shown, hidden, len(small))
	}

	// The root and its children are always shown, however many.
	flat := wideTree(1000, 2)
	if shown, _ := countTree(buildTree(flat, 400)); shown != 1001 {
		t.Fatalf("flat tree: %d shown, want 1001", shown)
	}
}
