package merkle

import (
	"fmt"
	"math/bits"
)

// inclusionProofLen returns how many hashes the inclusion proof of leaf
// index in a tree of size leaves holds, for index < size: one per level
// below the point where the paths to index and to the last leaf part
// ("inner"), plus one per left sibling above it ("border").
func inclusionProofLen(index, size uint64) int {
	inner := bits.Len64(index ^ (size - 1))
	border := bits.OnesCount64(index >> inner)
	return inner + border
}

// consistencyProofLen returns how many hashes the consistency proof between
// sizes 0 < size1 < size2 holds. Below the level of the lowest set bit of
// size1 the two trees agree, so the proof is the inclusion proof of the last
// node of the old tree at that level, plus that node itself unless it is the
// whole old tree (size1 a power of two).
func consistencyProofLen(size1, size2 uint64) int {
	shift := bits.TrailingZeros64(size1)
	index := (size1 - 1) >> shift
	n := inclusionProofLen(index, (size2-1)>>shift+1)
	if index != 0 {
		n++
	}
	return n
}

// VerifyInclusion checks that proof shows the leaf with hash leafHash at
// index in the tree of the given size with the given root, by the
// algorithm of RFC 9162 §2.1.3.2. The proof must have exactly the length
// the index and size imply, and every hash enters the recomputed root.
//
// The error wraps ErrIndexOutOfRange when index >= size, ErrProofLength for
// a proof of the wrong length, and ErrProofMismatch (a *MismatchError) when
// the recomputed root differs from root.
func VerifyInclusion(leafHash Hash, index, size uint64, proof []Hash, root Hash) error {
	if index >= size {
		return fmt.Errorf("merkle: verify inclusion of index %d in size %d: %w", index, size, ErrIndexOutOfRange)
	}
	if want := inclusionProofLen(index, size); len(proof) != want {
		return fmt.Errorf("merkle: verify inclusion of index %d in size %d: %w: got %d hashes, want %d", index, size, ErrProofLength, len(proof), want)
	}
	// fn walks up the path of the leaf, sn up the path of the last leaf.
	fn, sn := index, size-1
	r := leafHash
	for _, p := range proof {
		if sn == 0 {
			// Unreachable after the length check; kept because it is
			// the algorithm's own guard against a long proof.
			return fmt.Errorf("merkle: verify inclusion of index %d in size %d: %w: proof longer than the path", index, size, ErrProofLength)
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			if fn&1 == 0 {
				// The leaf's node is the last at its level and has no
				// right sibling: skip up to where it becomes a right child.
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("merkle: verify inclusion of index %d in size %d: %w: proof shorter than the path", index, size, ErrProofLength)
	}
	if r != root {
		return &MismatchError{Proof: "inclusion", Root: "root", Got: r, Want: root}
	}
	return nil
}

// VerifyConsistency checks that proof shows the tree of size1 with root
// root1 to be a prefix of the tree of size2 with root root2, by the
// algorithm of RFC 9162 §2.1.4.2. Both roots are recomputed from the proof
// and compared, and the proof must have exactly the length the sizes imply:
// checking only some of its elements (GHSA-672p-m5jq-mrh8) would let a log
// rewrite history.
//
// A proof between equal sizes must be empty and the roots equal. A proof
// from size 0 must be empty and root1 must be EmptyRoot.
//
// The error wraps ErrInvalidSize when size1 > size2, ErrProofLength for a
// proof of the wrong length, and ErrProofMismatch (a *MismatchError) when a
// recomputed root differs from the one given.
func VerifyConsistency(size1, size2 uint64, root1, root2 Hash, proof []Hash) error {
	fail := func(err error, format string, args ...any) error {
		return fmt.Errorf("merkle: verify consistency from size %d to %d: %w"+format, append([]any{size1, size2, err}, args...)...)
	}
	switch {
	case size1 > size2:
		return fail(ErrInvalidSize, "")
	case size1 == 0 || size1 == size2:
		if len(proof) != 0 {
			return fail(ErrProofLength, ": got %d hashes, want 0", len(proof))
		}
		if size1 == 0 {
			if empty := EmptyRoot(); root1 != empty {
				return &MismatchError{Proof: "consistency", Root: "root1", Got: empty, Want: root1}
			}
			return nil
		}
		if root1 != root2 {
			return &MismatchError{Proof: "consistency", Root: "root2", Got: root1, Want: root2}
		}
		return nil
	}
	if want := consistencyProofLen(size1, size2); len(proof) != want {
		return fail(ErrProofLength, ": got %d hashes, want %d", len(proof), want)
	}

	// When size1 is a power of two the old tree is a complete node of
	// the new one and the proof leaves out its hash, root1: start from it.
	var seed Hash
	rest := proof
	if size1&(size1-1) == 0 {
		seed = root1
	} else {
		seed, rest = proof[0], proof[1:]
	}
	fn, sn := size1-1, size2-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := seed, seed
	for _, c := range rest {
		if sn == 0 {
			return fail(ErrProofLength, ": proof longer than the path")
		}
		if fn&1 == 1 || fn == sn {
			fr = NodeHash(c, fr)
			sr = NodeHash(c, sr)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fail(ErrProofLength, ": proof shorter than the path")
	}
	if fr != root1 {
		return &MismatchError{Proof: "consistency", Root: "root1", Got: fr, Want: root1}
	}
	if sr != root2 {
		return &MismatchError{Proof: "consistency", Root: "root2", Got: sr, Want: root2}
	}
	return nil
}
