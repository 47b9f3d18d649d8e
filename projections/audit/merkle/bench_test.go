package merkle_test

import (
	"sync"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

const benchLeaves = 1_000_000

// benchStore is a 1,000,000-leaf tree in MemNodes, built once. The size is
// not a power of two, so proofs recompute a ragged right edge.
var benchStore = sync.OnceValues(func() (*merkle.MemNodes, merkle.Hash) {
	tree, store := merkle.NewTree(), merkle.NewMemNodes()
	var data [8]byte
	for i := range benchLeaves {
		data[0], data[1], data[2], data[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		if err := store.Put(tree.Append(merkle.LeafHash(data[:]))...); err != nil {
			panic(err)
		}
	}
	return store, tree.Root()
})

func BenchmarkAppend(b *testing.B) {
	leaf := merkle.LeafHash([]byte("entry"))
	tree := merkle.NewTree()
	for b.Loop() {
		tree.Append(leaf)
	}
}

func BenchmarkAppendPut(b *testing.B) {
	leaf := merkle.LeafHash([]byte("entry"))
	tree, store := merkle.NewTree(), merkle.NewMemNodes()
	for b.Loop() {
		if err := store.Put(tree.Append(leaf)...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoot(b *testing.B) {
	tree, _ := buildStore(b, testLeaves(benchLeaves/1000))
	for b.Loop() {
		tree.Root()
	}
}

func BenchmarkInclusionProof(b *testing.B) {
	store, _ := benchStore()
	ctx := b.Context()
	i := uint64(0)
	for b.Loop() {
		i = (i + 7919) % benchLeaves
		if _, err := merkle.InclusionProof(ctx, store, i, benchLeaves); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConsistencyProof(b *testing.B) {
	store, _ := benchStore()
	ctx := b.Context()
	i := uint64(0)
	for b.Loop() {
		i = (i+7919)%(benchLeaves-1) + 1
		if _, err := merkle.ConsistencyProof(ctx, store, i, benchLeaves); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRootAt(b *testing.B) {
	store, _ := benchStore()
	ctx := b.Context()
	for b.Loop() {
		if _, err := merkle.RootAt(ctx, store, benchLeaves-1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyInclusion(b *testing.B) {
	store, root := benchStore()
	const index = 123_456
	leaf, err := store.Node(b.Context(), 0, index)
	if err != nil {
		b.Fatal(err)
	}
	proof, err := merkle.InclusionProof(b.Context(), store, index, benchLeaves)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := merkle.VerifyInclusion(leaf, index, benchLeaves, proof, root); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyConsistency(b *testing.B) {
	store, root2 := benchStore()
	const size1 = 654_321
	root1, err := merkle.RootAt(b.Context(), store, size1)
	if err != nil {
		b.Fatal(err)
	}
	proof, err := merkle.ConsistencyProof(b.Context(), store, size1, benchLeaves)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := merkle.VerifyConsistency(size1, benchLeaves, root1, root2, proof); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	k := newTestKey(b, testOrigin, testSeed())
	cp := testCheckpoint()
	for b.Loop() {
		if _, err := merkle.Sign(cp, k.signer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newTestKey(b, testOrigin, testSeed())
	note, err := merkle.Sign(testCheckpoint(), k.signer)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := merkle.Open(note, k.verifier); err != nil {
			b.Fatal(err)
		}
	}
}
