package memreadmodel

import (
	"context"
	"fmt"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// prunedLevels is how many of a tree's lowest levels are not held in
// memory: the leaves (level 0) are recomputed from the trail's entries and
// a leaf pair's parent (level 1) from its two leaves when a proof, a root
// or a listing reads one. They are three quarters of a tree's nodes: 48
// bytes an entry for the trail's tree and as much for its agency log's, of
// the ≈ 280 a loaded entry held (docs/benchmarks.md §39: the trail is half
// of a province's 2.1 GiB live heap). A proof reads one node a level, so
// it costs at most two leaf hashes more.
const prunedLevels = 2

// prunedNodes is a merkle.NodeReader over a tree whose levels below
// prunedLevels are computed: upper holds the node (l, i) of every level
// l ≥ prunedLevels at (l − prunedLevels, i), and leaf returns leaf i, or
// false beyond the tree. The caller keeps leaf's data from changing while
// Node runs (the tables' lock, or the one goroutine that writes).
type prunedNodes struct {
	upper *merkle.MemNodes
	leaf  func(i uint64) (merkle.Hash, bool)
}

func newPrunedNodes(leaf func(uint64) (merkle.Hash, bool)) *prunedNodes {
	return &prunedNodes{upper: merkle.NewMemNodes(), leaf: leaf}
}

// prunedNodesOf builds the nodes over the n leaves at returns
// (merkle.MemNodesOf over the first level kept), holding none of the
// pruned levels, not even while it builds: each node of the first level
// kept is hashed from its leaves at once. at reads the leaves where they
// lie (a snapshot load's one slice of the trail's leaves, for the trail
// and for every agency log), so that no copy of them is made (§67: the
// load's transient heap took a province's start past 2 GiB).
func prunedNodesOf(n int, at func(i int) merkle.Hash, workers int, leaf func(uint64) (merkle.Hash, bool)) *prunedNodes {
	var node func(level, i int) merkle.Hash
	node = func(level, i int) merkle.Hash {
		if level == 0 {
			return at(i)
		}
		return merkle.NodeHash(node(level-1, 2*i), node(level-1, 2*i+1))
	}
	kept := make([]merkle.Hash, n>>prunedLevels)
	for i := range kept {
		kept[i] = node(prunedLevels, i)
	}
	return &prunedNodes{upper: merkle.MemNodesOf(kept, workers), leaf: leaf}
}

// Node implements merkle.NodeReader.
func (p *prunedNodes) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	if level >= prunedLevels {
		return p.upper.Node(ctx, level-prunedLevels, index)
	}
	if level == 0 {
		if h, ok := p.leaf(index); ok {
			return h, nil
		}
	} else if index < 1<<63 {
		// level 1: its two leaves.
		l, lok := p.leaf(2 * index)
		r, rok := p.leaf(2*index + 1)
		if lok && rok {
			return merkle.NodeHash(l, r), nil
		}
	}
	return merkle.Hash{}, fmt.Errorf("merkle: node (%d, %d): %w", level, index, merkle.ErrNodeNotFound)
}

// put stores the nodes of an append (merkle.MemNodes.Put), those of the
// pruned levels left out.
func (p *prunedNodes) put(nodes ...merkle.Node) error {
	var up []merkle.Node
	for _, n := range nodes {
		if n.Level >= prunedLevels {
			if up == nil {
				up = make([]merkle.Node, 0, len(nodes))
			}
			up = append(up, merkle.Node{Level: n.Level - prunedLevels, Index: n.Index, Hash: n.Hash})
		}
	}
	if len(up) == 0 {
		return nil
	}
	return p.upper.Put(up...)
}
