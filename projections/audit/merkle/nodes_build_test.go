package merkle

import (
	"context"
	"testing"
)

// TestMemNodesOfIsAppended: the store built level by level holds exactly
// the nodes that appending each leaf and putting its nodes stores, for
// every size up to 70 on one worker and on several, and one size past the
// parallel threshold on several, and the trees restored from both have the same root.
func TestMemNodesOfIsAppended(t *testing.T) {
	ctx := context.Background()
	sizes := []int{}
	for n := range 71 {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 1<<16+1<<14+5) // level 1 past the parallel threshold (2 × 2^14 nodes)
	for _, n := range sizes {
		leaves := make([]Hash, n)
		appended, tree := NewMemNodes(), NewTree()
		for i := range leaves {
			leaves[i] = LeafHash([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
			if err := appended.Put(tree.Append(leaves[i])...); err != nil {
				t.Fatal(err)
			}
		}
		workerCounts := []int{0, 1, 3}
		if n > 70 {
			workerCounts = []int{3}
		}
		for _, workers := range workerCounts {
			built := MemNodesOf(append([]Hash(nil), leaves...), workers)
			if built.Size() != appended.Size() {
				t.Fatalf("size %d, %d workers: Size %d, want %d", n, workers, built.Size(), appended.Size())
			}
			for level := range uint8(20) {
				for index := uint64(0); ; index++ {
					want, werr := appended.Node(ctx, level, index)
					got, gerr := built.Node(ctx, level, index)
					if (werr == nil) != (gerr == nil) || got != want {
						t.Fatalf("size %d, %d workers: node (%d, %d) = %s, %v; appended %s, %v", n, workers, level, index, got, gerr, want, werr)
					}
					if werr != nil {
						break
					}
				}
			}
			if n > 0 {
				r, err := RestoreTree(ctx, built, uint64(n))
				if err != nil || r.Root() != tree.Root() {
					t.Fatalf("size %d, %d workers: restored root %v (%v), want %s", n, workers, r, err, tree.Root())
				}
			}
		}
		// The built store takes further appends as the appended one does.
		if n > 0 && n < 71 {
			built := MemNodesOf(append([]Hash(nil), leaves...), 2)
			next := LeafHash([]byte("next"))
			if err := built.Put(tree.Append(next)...); err != nil {
				t.Fatalf("size %d: an append after the build: %v", n, err)
			}
		}
	}
}
