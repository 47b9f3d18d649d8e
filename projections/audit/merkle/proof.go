package merkle

import (
	"context"
	"fmt"
	"math/bits"
	"slices"
)

// span is the half-open leaf range [begin, end) of a subtree that a proof
// needs the hash of. In RFC 6962 trees begin is always a multiple of a power
// of two at least end-begin, so a span is either one complete node or the
// ragged right edge of the tree.
type span struct{ begin, end uint64 }

// largestPowerOfTwoBelow returns the largest power of two strictly less than
// n, for n > 1: the split point k of RFC 6962 §2.1.
func largestPowerOfTwoBelow(n uint64) uint64 {
	return 1 << (bits.Len64(n-1) - 1)
}

// inclusionSpans lists the subtrees whose hashes form the inclusion proof of
// leaf index in a tree of size leaves, leaf to root: the PATH of RFC 6962
// §2.1.1 (RFC 9162 §2.1.3.1), unrolled top-down and reversed.
func inclusionSpans(index, size uint64) []span {
	var out []span
	begin, end := uint64(0), size
	for end-begin > 1 {
		k := largestPowerOfTwoBelow(end - begin)
		if index < begin+k {
			out = append(out, span{begin + k, end})
			end = begin + k
		} else {
			out = append(out, span{begin, begin + k})
			begin += k
		}
	}
	slices.Reverse(out)
	return out
}

// consistencySpans lists the subtrees whose hashes form the consistency
// proof between sizes 0 < size1 < size2: SUBPROOF of RFC 6962 §2.1.2 (RFC
// 9162 §2.1.4.1), unrolled top-down and reversed.
func consistencySpans(size1, size2 uint64) []span {
	var out []span
	begin, end := uint64(0), size2
	// whole is the "b" flag of SUBPROOF: true while the subtree being
	// descended into is a left edge, whose hash the verifier already has as
	// the old root.
	whole := true
	for {
		if size1 == end {
			if !whole {
				out = append(out, span{begin, end})
			}
			break
		}
		k := largestPowerOfTwoBelow(end - begin)
		if size1 <= begin+k {
			out = append(out, span{begin + k, end})
			end = begin + k
		} else {
			out = append(out, span{begin, begin + k})
			begin += k
			whole = false
		}
	}
	slices.Reverse(out)
	return out
}

// spanHash computes the hash of the subtree over [begin, end) from complete
// nodes: a complete node is one read; a ragged right edge is split into the
// perfect subtrees covering it, at most one per level, and folded.
func spanHash(ctx context.Context, nodes NodeReader, s span) (Hash, error) {
	var hs [MaxLevel + 1]Hash
	n := 0
	for begin := s.begin; begin < s.end; {
		// The largest perfect subtree starting at begin that fits.
		level := bits.Len64(s.end-begin) - 1
		if begin != 0 {
			level = min(level, bits.TrailingZeros64(begin))
		}
		h, err := nodes.Node(ctx, uint8(level), begin>>level)
		if err != nil {
			return Hash{}, err
		}
		hs[n] = h
		n++
		begin += 1 << level
	}
	return foldRight(hs[:n]), nil
}

// spanHashes resolves every span of a proof.
func spanHashes(ctx context.Context, nodes NodeReader, spans []span) ([]Hash, error) {
	proof := make([]Hash, len(spans))
	for i, s := range spans {
		h, err := spanHash(ctx, nodes, s)
		if err != nil {
			return nil, err
		}
		proof[i] = h
	}
	return proof, nil
}

// InclusionProof returns the audit path proving that leaf index is in the
// tree of the given size (RFC 9162 §2.1.3.1), leaf to root. It reads
// O(log size) nodes; the tree behind nodes may have grown past size. The
// error wraps ErrIndexOutOfRange when index >= size (so always for size 0),
// ErrNodeNotFound when the store has not reached size, or the store's error.
func InclusionProof(ctx context.Context, nodes NodeReader, index, size uint64) ([]Hash, error) {
	if index >= size {
		return nil, fmt.Errorf("merkle: inclusion proof for index %d in size %d: %w", index, size, ErrIndexOutOfRange)
	}
	proof, err := spanHashes(ctx, nodes, inclusionSpans(index, size))
	if err != nil {
		return nil, fmt.Errorf("merkle: inclusion proof for index %d in size %d: %w", index, size, err)
	}
	return proof, nil
}

// ConsistencyProof returns the proof that the tree of size1 is a prefix of
// the tree of size2 (RFC 9162 §2.1.4.1). It reads O(log size2) nodes. The
// proof is empty when size1 is 0 or equals size2: the empty tree is a prefix
// of every tree, and every tree is a prefix of itself. The error wraps
// ErrInvalidSize when size1 > size2, ErrNodeNotFound when the store has not
// reached size2, or the store's error.
func ConsistencyProof(ctx context.Context, nodes NodeReader, size1, size2 uint64) ([]Hash, error) {
	if size1 > size2 {
		return nil, fmt.Errorf("merkle: consistency proof from size %d to %d: %w", size1, size2, ErrInvalidSize)
	}
	if size1 == 0 || size1 == size2 {
		return []Hash{}, nil
	}
	proof, err := spanHashes(ctx, nodes, consistencySpans(size1, size2))
	if err != nil {
		return nil, fmt.Errorf("merkle: consistency proof from size %d to %d: %w", size1, size2, err)
	}
	return proof, nil
}

// RootAt returns the root of the tree when it held size leaves, EmptyRoot
// for size 0, reading one node per set bit of size. The error wraps
// ErrNodeNotFound when the store has not reached size, or is the store's.
func RootAt(ctx context.Context, nodes NodeReader, size uint64) (Hash, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	h, err := spanHash(ctx, nodes, span{0, size})
	if err != nil {
		return Hash{}, fmt.Errorf("merkle: root at size %d: %w", size, err)
	}
	return h, nil
}
