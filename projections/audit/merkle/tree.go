package merkle

import (
	"context"
	"fmt"
	"math/bits"
)

// Tree is the writer's state of an append-only Merkle tree: its size and
// its frontier, the roots of the perfect subtrees that cover the leaves so
// far, one for each set bit of the size, largest (leftmost) first. The
// frontier is all a writer needs to append and to compute the current root;
// the nodes Append returns are all a reader needs for proofs.
//
// The zero value is an empty tree ready to use. A Tree is not safe for
// concurrent use: one goroutine appends, and readers use the persisted nodes.
type Tree struct {
	size     uint64
	frontier []Hash
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{} }

// NewTreeFromFrontier restores a tree from a snapshot taken with Size and
// Frontier. The frontier must hold exactly one hash for each set bit of
// size, or the error wraps ErrInvalidSize.
func NewTreeFromFrontier(size uint64, frontier []Hash) (*Tree, error) {
	if want := bits.OnesCount64(size); len(frontier) != want {
		return nil, fmt.Errorf("merkle: frontier of %d hashes for size %d, want %d: %w", len(frontier), size, want, ErrInvalidSize)
	}
	return &Tree{size: size, frontier: append([]Hash(nil), frontier...)}, nil
}

// RestoreTree rebuilds the tree of the given size from persisted nodes, as a
// writer does on restart. It reads one node per set bit of size. It trusts
// the store; a writer that restarts compares Root with its last signed
// checkpoint before it appends, so that a damaged store is not built on.
func RestoreTree(ctx context.Context, nodes NodeReader, size uint64) (*Tree, error) {
	t := &Tree{size: size, frontier: make([]Hash, 0, bits.OnesCount64(size))}
	for level := MaxLevel; level >= 0; level-- {
		if size&(1<<level) == 0 {
			continue
		}
		index := size>>level - 1
		h, err := nodes.Node(ctx, uint8(level), index)
		if err != nil {
			return nil, fmt.Errorf("merkle: restore tree of size %d: %w", size, err)
		}
		t.frontier = append(t.frontier, h)
	}
	return t, nil
}

// Size returns the number of leaves appended.
func (t *Tree) Size() uint64 { return t.size }

// Frontier returns a copy of the frontier: the hashes of the perfect
// subtrees covering the tree, largest first, one per set bit of Size. With
// Size it is a complete snapshot for NewTreeFromFrontier.
func (t *Tree) Frontier() []Hash {
	return append([]Hash(nil), t.frontier...)
}

// Append adds a leaf hash (see LeafHash) and returns the complete-subtree
// nodes it creates: the leaf itself at level 0, then every node the leaf
// completes, in increasing level. A store persists them in this order. It
// panics when the tree already holds 2^64-1 leaves, a size no ledger reaches.
func (t *Tree) Append(leaf Hash) []Node {
	if t.size == ^uint64(0) {
		panic("merkle: tree is full")
	}
	// The leaf completes one node for each trailing one bit of the size.
	carry := bits.TrailingZeros64(^t.size)
	out := make([]Node, 1, carry+1)
	out[0] = Node{Level: 0, Index: t.size, Hash: leaf}
	h, index := leaf, t.size
	for level := 1; level <= carry; level++ {
		last := len(t.frontier) - 1
		h = NodeHash(t.frontier[last], h)
		t.frontier = t.frontier[:last]
		index >>= 1
		out = append(out, Node{Level: uint8(level), Index: index, Hash: h})
	}
	t.frontier = append(t.frontier, h)
	t.size++
	return out
}

// Root returns the RFC 6962 root of the tree, EmptyRoot for the empty tree.
// It hashes the frontier from the right, O(log n) work.
func (t *Tree) Root() Hash {
	return foldRight(t.frontier)
}

// foldRight combines the hashes of perfect subtrees that cover a range,
// largest first, into the hash of the range: RFC 6962 splits a range at the
// largest power of two below its length, so the rightmost subtrees join
// first.
func foldRight(hs []Hash) Hash {
	if len(hs) == 0 {
		return EmptyRoot()
	}
	r := hs[len(hs)-1]
	for i := len(hs) - 2; i >= 0; i-- {
		r = NodeHash(hs[i], r)
	}
	return r
}
