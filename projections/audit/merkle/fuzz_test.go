package merkle_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// fuzzLeaves is the size of the reference tree the proof fuzzers make
// claims about.
const fuzzLeaves = 100

type refTree struct {
	leaves []merkle.Hash
	roots  []merkle.Hash // roots[n] is the root of the first n leaves
}

var fuzzTree = sync.OnceValue(func() refTree {
	leaves := testLeaves(fuzzLeaves)
	roots := make([]merkle.Hash, fuzzLeaves+1)
	for n := range roots {
		roots[n] = refRoot(leaves[:n])
	}
	return refTree{leaves, roots}
})

// claim is what a fuzzed edit script says about the reference tree: a
// proof and the sizes, index and roots it is offered for.
type claim struct {
	proof        []merkle.Hash
	index        uint64 // inclusion: the claimed index of the leaf
	size1, size2 uint64
	root1        merkle.Hash // consistency: the trusted old root
}

// edit applies a script of three-byte edits (op, a, b) to a claim. The low
// three bits of op pick the edit; the high bits pick a bit to flip.
func (c *claim) edit(script []byte, tree refTree) {
	for len(script) >= 3 {
		op, a, b := script[0], int(script[1]), int(script[2])
		script = script[3:]
		n := len(c.proof)
		switch op & 7 {
		case 0: // flip one bit of one element
			if n > 0 {
				c.proof[a%n][b%merkle.HashSize] ^= 1 << (op >> 5)
			}
		case 1: // drop an element
			if n > 0 {
				c.proof = append(c.proof[:a%n], c.proof[a%n+1:]...)
			}
		case 2: // repeat an element somewhere
			if n > 0 {
				c.proof = append(c.proof[:b%(n+1)], append([]merkle.Hash{c.proof[a%n]}, c.proof[b%(n+1):]...)...)
			}
		case 3: // swap two elements
			if n > 0 {
				c.proof[a%n], c.proof[b%n] = c.proof[b%n], c.proof[a%n]
			}
		case 4: // put in a genuine root of the tree, a plausible hash
			h := tree.roots[b%len(tree.roots)]
			if n > 0 && op&8 == 0 {
				c.proof[a%n] = h
			} else {
				c.proof = append(c.proof, h)
			}
		case 5: // claim another index, or another old size
			c.index = uint64(a)
			c.size1 = uint64(a)
		case 6: // claim another (new) size
			c.size2 = uint64(a)%fuzzLeaves + 1
		case 7: // trust another old root
			c.root1 = tree.roots[b%len(tree.roots)]
		}
	}
}

// hashes cuts bytes into hashes, dropping a short tail.
func hashes(b []byte) []merkle.Hash {
	out := make([]merkle.Hash, len(b)/merkle.HashSize)
	for i := range out {
		copy(out[i][:], b[i*merkle.HashSize:])
	}
	return out
}

// FuzzVerifyInclusion offers edited proofs for the reference tree, and
// arbitrary bytes as proofs for arbitrary claims. VerifyInclusion must never
// panic, and must accept exactly the one true proof of a true claim.
func FuzzVerifyInclusion(f *testing.F) {
	f.Add(uint64(5), uint64(7), []byte{})
	f.Add(uint64(0), uint64(0), []byte{0, 0, 0})
	f.Add(uint64(64), uint64(99), []byte{1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, index, size uint64, script []byte) {
		// Arbitrary claims with arbitrary hashes: no panics, and no
		// acceptance but by a collision.
		if merkle.VerifyInclusion(merkle.Hash{}, index, size, hashes(script), merkle.Hash{1}) == nil {
			t.Fatalf("VerifyInclusion accepted an arbitrary proof for index %d size %d", index, size)
		}

		tree := fuzzTree()
		n := size%fuzzLeaves + 1
		m := index % n
		c := claim{proof: refPath(int(m), tree.leaves[:n]), index: m, size2: n}
		c.edit(script, tree)
		err := merkle.VerifyInclusion(tree.leaves[m], c.index, c.size2, c.proof, tree.roots[c.size2])
		// The leaf is leaves[m]: the claim is true only at index m, and
		// then exactly one proof shows it.
		valid := c.index == m && m < c.size2 && cmp.Equal(c.proof, refPath(int(m), tree.leaves[:c.size2]))
		if valid && err != nil {
			t.Fatalf("VerifyInclusion rejected the true proof of index %d in size %d: %v", m, c.size2, err)
		}
		if !valid && err == nil {
			t.Fatalf("VerifyInclusion accepted leaf %d at index %d in size %d with proof %v", m, c.index, c.size2, c.proof)
		}
	})
}

// FuzzVerifyConsistency is FuzzVerifyInclusion for consistency proofs.
func FuzzVerifyConsistency(f *testing.F) {
	f.Add(uint64(6), uint64(7), []byte{})
	f.Add(uint64(0), uint64(0), []byte{0, 0, 0})
	f.Add(uint64(32), uint64(99), []byte{7, 1, 2, 5, 4, 3})
	f.Fuzz(func(t *testing.T, size1, size2 uint64, script []byte) {
		if merkle.VerifyConsistency(size1, size2, merkle.Hash{}, merkle.Hash{1}, hashes(script)) == nil {
			t.Fatalf("VerifyConsistency accepted an arbitrary proof from %d to %d", size1, size2)
		}

		tree := fuzzTree()
		n2 := size2%fuzzLeaves + 1
		n1 := size1 % (n2 + 1)
		c := claim{proof: refConsistency(int(n1), tree.leaves[:n2]), size1: n1, size2: n2, root1: tree.roots[n1]}
		c.edit(script, tree)
		if c.size1 > fuzzLeaves {
			c.size1 %= fuzzLeaves + 1
		}
		err := merkle.VerifyConsistency(c.size1, c.size2, c.root1, tree.roots[c.size2], c.proof)
		valid := c.size1 <= c.size2 && c.root1 == tree.roots[c.size1] &&
			cmp.Equal(c.proof, refConsistency(int(c.size1), tree.leaves[:c.size2]))
		if valid && err != nil {
			t.Fatalf("VerifyConsistency rejected the true proof from %d to %d: %v", c.size1, c.size2, err)
		}
		if !valid && err == nil {
			t.Fatalf("VerifyConsistency accepted a false proof from %d to %d (root1 %s): %v", c.size1, c.size2, c.root1, c.proof)
		}
	})
}

// FuzzOpen feeds arbitrary notes to Open. It must never panic, and what it
// accepts must be exactly what Sign writes for the checkpoint it returns:
// one encoding per checkpoint, signed by the verifier's key.
func FuzzOpen(f *testing.F) {
	k := newTestKey(f, testOrigin, testSeed())
	witness := newTestKey(f, "witness.example/w1", bytes.Repeat([]byte{3}, 32))
	golden, err := os.ReadFile(filepath.Join("testdata", "checkpoint.golden"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(append(golden[:len(golden):len(golden)], witness.sigLine(string(golden[:bytes.Index(golden, []byte("\n\n"))+1]))...))
	f.Add(k.note(testOrigin + "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"))
	f.Add([]byte("not a note"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The input as a whole note, which the fuzzer can hardly sign,
		// and the input as note text signed by the verifier's key, which
		// takes the fuzzer past the signature into the checkpoint parser.
		for _, note := range [][]byte{b, k.note(string(b))} {
			checkOpen(t, note, k, witness)
		}
	})
}

func checkOpen(t *testing.T, note []byte, k, witness testKey) {
	t.Helper()
	if cp, err := merkle.Open(note, witness.verifier); err == nil {
		t.Fatalf("Open accepted a checkpoint for origin %q under the witness key", cp.Origin)
	}
	cp, sig, err := merkle.OpenSignature(note, k.verifier)
	if err != nil {
		return
	}
	again, err := merkle.Sign(cp, k.signer)
	if err != nil {
		t.Fatalf("Open accepted %+v, which Sign refuses: %v", cp, err)
	}
	split := bytes.LastIndex(again, []byte("\n\n")) + 2
	text, line := again[:split], again[split:]
	if !bytes.HasPrefix(note, text) || !bytes.Contains(note[split:], line) {
		t.Fatalf("Open accepted a note that is not the canonical encoding of %+v:\n%s\nwant text and signature:\n%s", cp, note, again)
	}
	if want := k.sigLine(string(text[:len(text)-1])); string(line) != want {
		t.Fatalf("signature line %q, want %q", line, want)
	}
	if sig.KeyID() != k.signer.KeyID() {
		t.Fatalf("signature key ID %s, want %s", sig.KeyID(), k.signer.KeyID())
	}
}
