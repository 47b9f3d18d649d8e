package merkle_test

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

func TestTreeRootMatchesReference(t *testing.T) {
	leaves := testLeaves(300)
	tree := merkle.NewTree()
	var zero merkle.Tree // the zero value is an empty tree too
	for n := range len(leaves) + 1 {
		if got := tree.Size(); got != uint64(n) {
			t.Fatalf("Size() = %d, want %d", got, n)
		}
		if got, want := tree.Root(), refRoot(leaves[:n]); got != want {
			t.Fatalf("Root() at size %d = %s, want %s", n, got, want)
		}
		if got := len(tree.Frontier()); got != bits.OnesCount(uint(n)) {
			t.Fatalf("len(Frontier()) at size %d = %d, want %d", n, got, bits.OnesCount(uint(n)))
		}
		if n < len(leaves) {
			tree.Append(leaves[n])
			zero.Append(leaves[n])
		}
	}
	if zero.Root() != tree.Root() {
		t.Errorf("zero-value Tree root %s, want %s", zero.Root(), tree.Root())
	}
}

// TestAppendNodes checks every node Append returns against the reference
// root of the leaves it claims to cover, and that together they are every
// complete subtree, each once.
func TestAppendNodes(t *testing.T) {
	const n = 64 + 32 + 5
	leaves := testLeaves(n)
	tree := merkle.NewTree()
	seen := map[[2]uint64]bool{}
	for i, l := range leaves {
		nodes := tree.Append(l)
		for j, node := range nodes {
			if int(node.Level) != j {
				t.Fatalf("Append #%d: node %d has level %d, want increasing levels from 0", i, j, node.Level)
			}
			begin := node.Index << node.Level
			end := begin + 1<<node.Level
			if end != uint64(i+1) {
				t.Fatalf("Append #%d: node (%d, %d) covers [%d, %d), want it to end at the new leaf", i, node.Level, node.Index, begin, end)
			}
			if want := refRoot(leaves[begin:end]); node.Hash != want {
				t.Fatalf("Append #%d: node (%d, %d) = %s, want %s", i, node.Level, node.Index, node.Hash, want)
			}
			key := [2]uint64{uint64(node.Level), node.Index}
			if seen[key] {
				t.Fatalf("node (%d, %d) returned twice", node.Level, node.Index)
			}
			seen[key] = true
		}
	}
	// A tree of n leaves has n >> l complete nodes at level l.
	want := 0
	for l := 0; n>>l > 0; l++ {
		want += n >> l
	}
	if len(seen) != want {
		t.Errorf("Append returned %d distinct nodes for %d leaves, want %d", len(seen), n, want)
	}
}

func TestRestoreTreeContinuesIdentically(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const total = 140
	leaves := testLeaves(total)
	full, store := buildStore(t, leaves)
	// The appends of the uninterrupted tree, to compare against.
	want := make([][]merkle.Node, total)
	ref := merkle.NewTree()
	for i, l := range leaves {
		want[i] = ref.Append(l)
	}
	for size := range total + 1 {
		restored, err := merkle.RestoreTree(ctx, store, uint64(size))
		if err != nil {
			t.Fatalf("RestoreTree(%d): %v", size, err)
		}
		snap, err := merkle.NewTreeFromFrontier(restored.Size(), restored.Frontier())
		if err != nil {
			t.Fatalf("NewTreeFromFrontier(%d): %v", size, err)
		}
		for name, tree := range map[string]*merkle.Tree{"RestoreTree": restored, "NewTreeFromFrontier": snap} {
			if got, want := tree.Root(), refRoot(leaves[:size]); got != want {
				t.Fatalf("%s(%d).Root() = %s, want %s", name, size, got, want)
			}
			for i := size; i < total; i++ {
				if diff := cmp.Diff(want[i], tree.Append(leaves[i])); diff != "" {
					t.Fatalf("%s(%d): append #%d nodes differ (-want +got):\n%s", name, size, i, diff)
				}
			}
			if got := tree.Root(); got != full.Root() {
				t.Fatalf("%s(%d) then appends: root %s, want %s", name, size, got, full.Root())
			}
		}
	}
}

func TestNewTreeFromFrontierRejectsWrongLength(t *testing.T) {
	tree, _ := buildStore(t, testLeaves(7))
	f := tree.Frontier()
	tests := []struct {
		name     string
		size     uint64
		frontier []merkle.Hash
	}{
		{"one short", 7, f[:2]},
		{"one extra", 7, append(f, f[0])},
		{"wrong size", 8, f},
		{"empty size with hashes", 0, f},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := merkle.NewTreeFromFrontier(tt.size, tt.frontier); !errors.Is(err, merkle.ErrInvalidSize) {
				t.Errorf("NewTreeFromFrontier error = %v, want ErrInvalidSize", err)
			}
		})
	}
	// The snapshot is a copy: changing it does not change the tree.
	f[0][0] ^= 1
	if tree.Frontier()[0] == f[0] {
		t.Errorf("Frontier() shares memory with the tree")
	}
}

func TestMemNodesPut(t *testing.T) {
	ctx := t.Context()
	a, b := merkle.LeafHash([]byte("a")), merkle.LeafHash([]byte("b"))
	tests := []struct {
		name  string
		puts  [][]merkle.Node
		want  error
		size  uint64
		level uint8
		index uint64
		hash  merkle.Hash
	}{
		{"append", [][]merkle.Node{{{0, 0, a}}, {{0, 1, b}}}, nil, 2, 0, 1, b},
		{"replay is harmless", [][]merkle.Node{{{0, 0, a}}, {{0, 0, a}}}, nil, 1, 0, 0, a},
		{"rewrite refused", [][]merkle.Node{{{0, 0, a}}, {{0, 0, b}}}, merkle.ErrNodeConflict, 1, 0, 0, a},
		{"gap refused", [][]merkle.Node{{{0, 0, a}}, {{0, 2, b}}}, merkle.ErrNodeConflict, 1, 0, 0, a},
		{"level too high", [][]merkle.Node{{{64, 0, a}}}, merkle.ErrNodeConflict, 0, 0, 0, merkle.Hash{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m merkle.MemNodes
			var err error
			for _, p := range tt.puts {
				if err = m.Put(p...); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Put error = %v, want %v", err, tt.want)
			}
			if got := m.Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
			got, err := m.Node(ctx, tt.level, tt.index)
			if tt.size == 0 {
				if !errors.Is(err, merkle.ErrNodeNotFound) {
					t.Errorf("Node on an empty store: error = %v, want ErrNodeNotFound", err)
				}
				return
			}
			if err != nil || got != tt.hash {
				t.Errorf("Node(%d, %d) = %s, %v, want %s", tt.level, tt.index, got, err, tt.hash)
			}
		})
	}
}

// TestMemNodesConcurrentReads runs proofs while one goroutine appends; run
// it with -race.
func TestMemNodesConcurrentReads(t *testing.T) {
	ctx := t.Context()
	leaves := testLeaves(512)
	_, store := buildStore(t, leaves[:16])
	tree, err := merkle.RestoreTree(ctx, store, 16)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 4 {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				size := store.Size()
				index := uint64(i*7+r) % size
				proof, err := merkle.InclusionProof(ctx, store, index, size)
				if err != nil {
					errs <- err
					return
				}
				root, err := merkle.RootAt(ctx, store, size)
				if err != nil {
					errs <- err
					return
				}
				if err := merkle.VerifyInclusion(leaves[index], index, size, proof, root); err != nil {
					errs <- fmt.Errorf("size %d index %d: %w", size, index, err)
					return
				}
			}
		})
	}
	for _, l := range leaves[16:] {
		if err := store.Put(tree.Append(l)...); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
