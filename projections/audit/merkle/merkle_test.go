package merkle_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// The eight-entry tree used by Certificate Transparency implementations to
// test RFC 6962 (the same data appears in google/certificate-transparency
// and transparency-dev/merkle test suites).
var (
	vectorEntries = [][]byte{
		{},
		{0x00},
		{0x10},
		{0x20, 0x21},
		{0x30, 0x31},
		{0x40, 0x41, 0x42, 0x43},
		{0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
		{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f},
	}
	// vectorRoots[i] is the root of the tree of the first i+1 entries.
	vectorRoots = []string{
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	vectorInclusion = []struct {
		index, size uint64
		proof       []string
	}{
		{0, 1, nil},
		{0, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{5, 8, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{2, 3, []string{
			"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		}},
		{1, 5, []string{
			"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		}},
	}
	vectorConsistency = []struct {
		size1, size2 uint64
		proof        []string
	}{
		{1, 1, nil},
		{1, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{6, 8, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{2, 5, []string{
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		}},
		{6, 7, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
	}
)

func mustHash(tb testing.TB, s string) merkle.Hash {
	tb.Helper()
	h, err := merkle.ParseHash(s)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func mustHashes(tb testing.TB, ss []string) []merkle.Hash {
	tb.Helper()
	out := []merkle.Hash{}
	for _, s := range ss {
		out = append(out, mustHash(tb, s))
	}
	return out
}

// buildStore appends the leaves to a Tree and stores every node it returns.
func buildStore(tb testing.TB, leaves []merkle.Hash) (*merkle.Tree, *merkle.MemNodes) {
	tb.Helper()
	tree, store := merkle.NewTree(), merkle.NewMemNodes()
	for _, l := range leaves {
		if err := store.Put(tree.Append(l)...); err != nil {
			tb.Fatal(err)
		}
	}
	return tree, store
}

// Reference implementation: RFC 6962 §2.1 MTH, PATH and PROOF written as the
// RFC states them, recursively and without any of the package's code but
// the two hash functions.

func largestPowerOfTwoBelow(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func refRoot(leaves []merkle.Hash) merkle.Hash {
	switch n := len(leaves); n {
	case 0:
		return merkle.EmptyRoot()
	case 1:
		return leaves[0]
	default:
		k := largestPowerOfTwoBelow(n)
		return merkle.NodeHash(refRoot(leaves[:k]), refRoot(leaves[k:]))
	}
}

func refPath(m int, leaves []merkle.Hash) []merkle.Hash {
	n := len(leaves)
	if n <= 1 {
		return []merkle.Hash{}
	}
	k := largestPowerOfTwoBelow(n)
	if m < k {
		return append(refPath(m, leaves[:k]), refRoot(leaves[k:]))
	}
	return append(refPath(m-k, leaves[k:]), refRoot(leaves[:k]))
}

func refSubproof(m int, leaves []merkle.Hash, whole bool) []merkle.Hash {
	n := len(leaves)
	if m == n {
		if whole {
			return []merkle.Hash{}
		}
		return []merkle.Hash{refRoot(leaves)}
	}
	k := largestPowerOfTwoBelow(n)
	if m <= k {
		return append(refSubproof(m, leaves[:k], whole), refRoot(leaves[k:]))
	}
	return append(refSubproof(m-k, leaves[k:], false), refRoot(leaves[:k]))
}

func refConsistency(m int, leaves []merkle.Hash) []merkle.Hash {
	if m == 0 || m == len(leaves) {
		return []merkle.Hash{}
	}
	return refSubproof(m, leaves, true)
}

// testLeaves returns n distinct leaf hashes.
func testLeaves(n int) []merkle.Hash {
	out := make([]merkle.Hash, n)
	for i := range out {
		out[i] = merkle.LeafHash(fmt.Appendf(nil, "audit entry %d", i))
	}
	return out
}

func TestHashes(t *testing.T) {
	tests := []struct {
		name string
		got  merkle.Hash
		want string
	}{
		{"empty root", merkle.EmptyRoot(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"leaf of empty entry", merkle.LeafHash(nil), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
		{"leaf of 0x00", merkle.LeafHash([]byte{0}), "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"},
		{"node of the first two leaves", merkle.NodeHash(merkle.LeafHash(nil), merkle.LeafHash([]byte{0})), "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got.String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseHash(t *testing.T) {
	valid := "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"lower-case hex", valid, false},
		{"upper-case hex", "5DC9DA79A70659A9AD559CB701DED9A2AB9D823AAD2F4960CFE370EFF4604328", true},
		{"short", valid[:62], true},
		{"long", valid + "00", true},
		{"not hex", "zz" + valid[2:], true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := merkle.ParseHash(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseHash(%q) error = %v, want error %t", tt.in, err, tt.wantErr)
			}
			if err == nil && h.String() != tt.in {
				t.Errorf("ParseHash(%q).String() = %s, want the input back", tt.in, h)
			}
			var u merkle.Hash
			if err := u.UnmarshalText([]byte(tt.in)); (err != nil) != tt.wantErr {
				t.Errorf("UnmarshalText(%q) error = %v, want error %t", tt.in, err, tt.wantErr)
			}
			if text, _ := u.MarshalText(); err == nil && string(text) != tt.in {
				t.Errorf("MarshalText = %s, want %s", text, tt.in)
			}
		})
	}
}

func TestVectorRoots(t *testing.T) {
	var leaves []merkle.Hash
	tree := merkle.NewTree()
	for i, e := range vectorEntries {
		leaves = append(leaves, merkle.LeafHash(e))
		tree.Append(merkle.LeafHash(e))
		want := vectorRoots[i]
		if got := tree.Root().String(); got != want {
			t.Errorf("Tree.Root() at size %d = %s, want %s", i+1, got, want)
		}
		if got := refRoot(leaves).String(); got != want {
			t.Errorf("reference root at size %d = %s, want %s", i+1, got, want)
		}
	}
	if got, want := merkle.NewTree().Root(), merkle.EmptyRoot(); got != want {
		t.Errorf("empty Tree.Root() = %s, want %s", got, want)
	}
}

func vectorStore(t *testing.T) ([]merkle.Hash, *merkle.MemNodes) {
	t.Helper()
	var leaves []merkle.Hash
	for _, e := range vectorEntries {
		leaves = append(leaves, merkle.LeafHash(e))
	}
	_, store := buildStore(t, leaves)
	return leaves, store
}

func TestVectorInclusionProofs(t *testing.T) {
	ctx := t.Context()
	leaves, store := vectorStore(t)
	for _, v := range vectorInclusion {
		t.Run(fmt.Sprintf("index %d size %d", v.index, v.size), func(t *testing.T) {
			want := mustHashes(t, v.proof)
			got, err := merkle.InclusionProof(ctx, store, v.index, v.size)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("InclusionProof(%d, %d) mismatch (-want +got):\n%s", v.index, v.size, diff)
			}
			root := mustHash(t, vectorRoots[v.size-1])
			if err := merkle.VerifyInclusion(leaves[v.index], v.index, v.size, want, root); err != nil {
				t.Errorf("VerifyInclusion of the known proof: %v", err)
			}
		})
	}
}

func TestVectorConsistencyProofs(t *testing.T) {
	ctx := t.Context()
	_, store := vectorStore(t)
	for _, v := range vectorConsistency {
		t.Run(fmt.Sprintf("size %d to %d", v.size1, v.size2), func(t *testing.T) {
			want := mustHashes(t, v.proof)
			got, err := merkle.ConsistencyProof(ctx, store, v.size1, v.size2)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ConsistencyProof(%d, %d) mismatch (-want +got):\n%s", v.size1, v.size2, diff)
			}
			root1, root2 := mustHash(t, vectorRoots[v.size1-1]), mustHash(t, vectorRoots[v.size2-1])
			if err := merkle.VerifyConsistency(v.size1, v.size2, root1, root2, want); err != nil {
				t.Errorf("VerifyConsistency of the known proof: %v", err)
			}
		})
	}
}

// probe is one claim that must not verify.
type probe struct {
	name   string
	verify func() error
}

func copyProof(p []merkle.Hash) []merkle.Hash { return append([]merkle.Hash{}, p...) }

// mutations returns every proof within one edit of p: each element with a
// bit flipped, truncated, extended at either end, each adjacent pair of
// distinct elements swapped.
func mutations(p []merkle.Hash, extra merkle.Hash) map[string][]merkle.Hash {
	out := map[string][]merkle.Hash{}
	for i := range p {
		for _, bit := range []byte{0x01, 0x80} {
			q := copyProof(p)
			q[i][i%merkle.HashSize] ^= bit
			out[fmt.Sprintf("element %d bit %#x flipped", i, bit)] = q
		}
	}
	if len(p) > 0 {
		out["last element dropped"] = copyProof(p)[:len(p)-1]
		out["first element dropped"] = copyProof(p)[1:]
	}
	out["extended at the end"] = append(copyProof(p), extra)
	out["extended at the front"] = append([]merkle.Hash{extra}, p...)
	for i := 0; i+1 < len(p); i++ {
		if p[i] == p[i+1] {
			continue
		}
		q := copyProof(p)
		q[i], q[i+1] = q[i+1], q[i]
		out[fmt.Sprintf("elements %d and %d swapped", i, i+1)] = q
	}
	return out
}

func inclusionProbes(leaves []merkle.Hash, roots []merkle.Hash, m, n uint64, proof []merkle.Hash) []probe {
	leaf, root := leaves[m], roots[n]
	var out []probe
	add := func(name string, f func() error) { out = append(out, probe{name, f}) }
	for name, q := range mutations(proof, root) {
		add(name, func() error { return merkle.VerifyInclusion(leaf, m, n, q, root) })
	}
	add("wrong leaf", func() error { return merkle.VerifyInclusion(merkle.LeafHash([]byte("forged")), m, n, proof, root) })
	add("leaf hash as node", func() error { return merkle.VerifyInclusion(merkle.NodeHash(leaf, leaf), m, n, proof, root) })
	add("wrong root", func() error { return merkle.VerifyInclusion(leaf, m, n, proof, merkle.EmptyRoot()) })
	add("index + 1", func() error { return merkle.VerifyInclusion(leaf, m+1, n, proof, root) })
	if m > 0 {
		add("index - 1", func() error { return merkle.VerifyInclusion(leaf, m-1, n, proof, root) })
	}
	add("index ^ 2", func() error { return merkle.VerifyInclusion(leaf, m^2, n, proof, root) })
	add("size * 2, same root", func() error { return merkle.VerifyInclusion(leaf, m, 2*n, proof, root) })
	add("size / 2, same root", func() error { return merkle.VerifyInclusion(leaf, m, n/2, proof, root) })
	// A size and root are trusted together (from one checkpoint), so the
	// honest root of a neighbouring size must not accept this proof either.
	if n+1 < uint64(len(roots)) {
		add("size + 1 with its root", func() error { return merkle.VerifyInclusion(leaf, m, n+1, proof, roots[n+1]) })
	}
	if n-1 > m {
		add("size - 1 with its root", func() error { return merkle.VerifyInclusion(leaf, m, n-1, proof, roots[n-1]) })
	}
	return out
}

func TestInclusionProofsAgainstReference(t *testing.T) {
	t.Parallel()
	const maxSize = 130
	ctx := t.Context()
	leaves := testLeaves(maxSize + 1)
	_, store := buildStore(t, leaves)
	roots := make([]merkle.Hash, maxSize+2)
	for n := range roots {
		roots[n] = refRoot(leaves[:min(n, len(leaves))])
	}
	for n := uint64(1); n <= maxSize; n++ {
		for m := uint64(0); m < n; m++ {
			proof, err := merkle.InclusionProof(ctx, store, m, n)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", m, n, err)
			}
			if diff := cmp.Diff(refPath(int(m), leaves[:n]), proof); diff != "" {
				t.Fatalf("InclusionProof(%d, %d) differs from the RFC 6962 PATH (-want +got):\n%s", m, n, diff)
			}
			if err := merkle.VerifyInclusion(leaves[m], m, n, proof, roots[n]); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d) of a generated proof: %v", m, n, err)
			}
			for _, p := range inclusionProbes(leaves, roots, m, n, proof) {
				if err := p.verify(); err == nil {
					t.Errorf("VerifyInclusion(index %d, size %d) accepted a proof with %s", m, n, p.name)
				}
			}
		}
	}
}

func consistencyProbes(roots []merkle.Hash, m, n uint64, proof []merkle.Hash) []probe {
	r1, r2 := roots[m], roots[n]
	var out []probe
	add := func(name string, f func() error) { out = append(out, probe{name, f}) }
	for name, q := range mutations(proof, r2) {
		add(name, func() error { return merkle.VerifyConsistency(m, n, r1, r2, q) })
	}
	add("wrong root1", func() error { return merkle.VerifyConsistency(m, n, merkle.LeafHash([]byte("forged")), r2, proof) })
	add("wrong root2", func() error { return merkle.VerifyConsistency(m, n, r1, merkle.LeafHash([]byte("forged")), proof) })
	add("swapped roots", func() error { return merkle.VerifyConsistency(m, n, r2, r1, proof) })
	add("empty proof", func() error { return merkle.VerifyConsistency(m, n, r1, r2, nil) })
	add("sizes swapped", func() error { return merkle.VerifyConsistency(n, m, r2, r1, proof) })
	add("size2 * 2, same roots", func() error { return merkle.VerifyConsistency(m, 2*n, r1, r2, proof) })
	if m > 1 {
		add("size1 - 1 with its root", func() error { return merkle.VerifyConsistency(m-1, n, roots[m-1], r2, proof) })
	}
	if m+1 < n {
		add("size1 + 1 with its root", func() error { return merkle.VerifyConsistency(m+1, n, roots[m+1], r2, proof) })
		add("size2 - 1 with its root", func() error { return merkle.VerifyConsistency(m, n-1, r1, roots[n-1], proof) })
	}
	if n+1 < uint64(len(roots)) {
		add("size2 + 1 with its root", func() error { return merkle.VerifyConsistency(m, n+1, r1, roots[n+1], proof) })
	}
	return out
}

func TestConsistencyProofsAgainstReference(t *testing.T) {
	t.Parallel()
	const maxSize = 70
	ctx := t.Context()
	leaves := testLeaves(maxSize + 1)
	_, store := buildStore(t, leaves)
	roots := make([]merkle.Hash, maxSize+2)
	for n := range roots {
		roots[n] = refRoot(leaves[:min(n, len(leaves))])
	}
	for n := uint64(0); n <= maxSize; n++ {
		for m := uint64(0); m <= n; m++ {
			proof, err := merkle.ConsistencyProof(ctx, store, m, n)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", m, n, err)
			}
			if diff := cmp.Diff(refConsistency(int(m), leaves[:n]), proof); diff != "" {
				t.Fatalf("ConsistencyProof(%d, %d) differs from the RFC 6962 PROOF (-want +got):\n%s", m, n, diff)
			}
			if err := merkle.VerifyConsistency(m, n, roots[m], roots[n], proof); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d) of a generated proof: %v", m, n, err)
			}
			if m == 0 || m == n {
				continue // trivial proofs: covered by TestVerifyConsistencyEdges
			}
			for _, p := range consistencyProbes(roots, m, n, proof) {
				if err := p.verify(); err == nil {
					t.Errorf("VerifyConsistency(%d, %d) accepted a proof with %s", m, n, p.name)
				}
			}
		}
	}
}

func TestRootAt(t *testing.T) {
	ctx := t.Context()
	leaves := testLeaves(140)
	_, store := buildStore(t, leaves)
	for n := range len(leaves) + 1 {
		got, err := merkle.RootAt(ctx, store, uint64(n))
		if err != nil {
			t.Fatalf("RootAt(%d): %v", n, err)
		}
		if want := refRoot(leaves[:n]); got != want {
			t.Errorf("RootAt(%d) = %s, want %s", n, got, want)
		}
	}
	if _, err := merkle.RootAt(ctx, store, uint64(len(leaves)+1)); !errors.Is(err, merkle.ErrNodeNotFound) {
		t.Errorf("RootAt beyond the store: error = %v, want ErrNodeNotFound", err)
	}
}

func TestProofErrors(t *testing.T) {
	ctx := t.Context()
	_, store := buildStore(t, testLeaves(10))
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"inclusion index = size", func() error { _, err := merkle.InclusionProof(ctx, store, 5, 5); return err }, merkle.ErrIndexOutOfRange},
		{"inclusion index > size", func() error { _, err := merkle.InclusionProof(ctx, store, 6, 5); return err }, merkle.ErrIndexOutOfRange},
		{"inclusion in size 0", func() error { _, err := merkle.InclusionProof(ctx, store, 0, 0); return err }, merkle.ErrIndexOutOfRange},
		{"inclusion beyond the store", func() error { _, err := merkle.InclusionProof(ctx, store, 3, 11); return err }, merkle.ErrNodeNotFound},
		{"consistency size1 > size2", func() error { _, err := merkle.ConsistencyProof(ctx, store, 5, 4); return err }, merkle.ErrInvalidSize},
		{"consistency beyond the store", func() error { _, err := merkle.ConsistencyProof(ctx, store, 3, 12); return err }, merkle.ErrNodeNotFound},
		{"restore beyond the store", func() error { _, err := merkle.RestoreTree(ctx, store, 11); return err }, merkle.ErrNodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

// failingReader fails every read with its error.
type failingReader struct{ err error }

func (f failingReader) Node(context.Context, uint8, uint64) (merkle.Hash, error) {
	return merkle.Hash{}, f.err
}

func TestProofsPassStoreErrorsThrough(t *testing.T) {
	ctx := t.Context()
	boom := errors.New("disk on fire")
	r := failingReader{boom}
	if _, err := merkle.InclusionProof(ctx, r, 1, 5); !errors.Is(err, boom) {
		t.Errorf("InclusionProof error = %v, want %v", err, boom)
	}
	if _, err := merkle.ConsistencyProof(ctx, r, 3, 5); !errors.Is(err, boom) {
		t.Errorf("ConsistencyProof error = %v, want %v", err, boom)
	}
	if _, err := merkle.RootAt(ctx, r, 5); !errors.Is(err, boom) {
		t.Errorf("RootAt error = %v, want %v", err, boom)
	}
	if _, err := merkle.RestoreTree(ctx, r, 5); !errors.Is(err, boom) {
		t.Errorf("RestoreTree error = %v, want %v", err, boom)
	}
}

func TestVerifyInclusionErrors(t *testing.T) {
	leaves := testLeaves(8)
	root := refRoot(leaves)
	good := refPath(5, leaves)
	tampered := copyProof(good)
	tampered[1][0] ^= 1
	tests := []struct {
		name  string
		leaf  merkle.Hash
		index uint64
		size  uint64
		proof []merkle.Hash
		root  merkle.Hash
		want  error
	}{
		{"valid", leaves[5], 5, 8, good, root, nil},
		{"index = size", leaves[5], 8, 8, good, root, merkle.ErrIndexOutOfRange},
		{"size 0", leaves[0], 0, 0, nil, merkle.EmptyRoot(), merkle.ErrIndexOutOfRange},
		{"short", leaves[5], 5, 8, good[:2], root, merkle.ErrProofLength},
		{"long", leaves[5], 5, 8, append(copyProof(good), root), root, merkle.ErrProofLength},
		{"tampered", leaves[5], 5, 8, tampered, root, merkle.ErrProofMismatch},
		{"single leaf, other root", leaves[0], 0, 1, nil, leaves[1], merkle.ErrProofMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := merkle.VerifyInclusion(tt.leaf, tt.index, tt.size, tt.proof, tt.root)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyInclusion: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyInclusion error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMismatchErrorDetails(t *testing.T) {
	leaves := testLeaves(8)
	root := refRoot(leaves)
	proof := refPath(2, leaves)
	err := merkle.VerifyInclusion(leaves[3], 2, 8, proof, root)
	var me *merkle.MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("VerifyInclusion error = %v, want a *MismatchError", err)
	}
	want := &merkle.MismatchError{Proof: "inclusion", Root: "root", Got: refRoot(append(append(copyProof(leaves[:2]), leaves[3]), leaves[3:]...)), Want: root}
	if diff := cmp.Diff(want, me); diff != "" {
		t.Errorf("MismatchError (-want +got):\n%s", diff)
	}
}

func TestVerifyConsistencyEdges(t *testing.T) {
	leaves := testLeaves(8)
	r := func(n int) merkle.Hash { return refRoot(leaves[:n]) }
	some := merkle.LeafHash([]byte("some"))
	tests := []struct {
		name         string
		size1, size2 uint64
		root1, root2 merkle.Hash
		proof        []merkle.Hash
		want         error
	}{
		{"empty to empty", 0, 0, r(0), r(0), nil, nil},
		{"empty to any", 0, 5, r(0), r(5), nil, nil},
		{"empty with a non-empty root1", 0, 5, some, r(5), nil, merkle.ErrProofMismatch},
		{"empty with a proof", 0, 5, r(0), r(5), []merkle.Hash{some}, merkle.ErrProofLength},
		{"same size", 5, 5, r(5), r(5), nil, nil},
		{"same size, other roots", 5, 5, r(5), r(4), nil, merkle.ErrProofMismatch},
		{"same size with a proof", 5, 5, r(5), r(5), []merkle.Hash{r(5)}, merkle.ErrProofLength},
		{"size1 > size2", 6, 5, r(6), r(5), nil, merkle.ErrInvalidSize},
		{"missing proof", 4, 5, r(4), r(5), nil, merkle.ErrProofLength},
		{"valid", 4, 5, r(4), r(5), refConsistency(4, leaves[:5]), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := merkle.VerifyConsistency(tt.size1, tt.size2, tt.root1, tt.root2, tt.proof)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyConsistency: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyConsistency error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestConsistencyChecksTheOldRoot is the immudb GHSA-672p-m5jq-mrh8 case: a
// server forges a history that ends at the right new root, so a verifier
// that only recomputes root2 is fooled. Only recomputing root1 from the
// same hashes catches it.
func TestConsistencyChecksTheOldRoot(t *testing.T) {
	honest := testLeaves(7)
	forged := copyProof(honest)
	forged[1] = merkle.LeafHash([]byte("rewritten history"))
	// The forged old tree of 6 leaves shares nothing with the new tree of 7
	// but what the proof says; its root is what the auditor trusted.
	proof := refConsistency(6, honest)
	err := merkle.VerifyConsistency(6, 7, refRoot(forged[:6]), refRoot(honest), proof)
	var me *merkle.MismatchError
	if !errors.As(err, &me) || me.Root != "root1" {
		t.Fatalf("VerifyConsistency with a rewritten old tree: error = %v, want a root1 mismatch", err)
	}
}
