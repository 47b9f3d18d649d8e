package merkle

import (
	"context"
	"fmt"
	"sync"
)

// MaxLevel is the highest node level: a node at level 63 covers 2^63
// leaves, and 64 levels are enough for any uint64 tree size.
const MaxLevel = 63

// Node is a complete (perfect) subtree of the tree. Level 0 holds the leaf
// hashes; the node at (Level, Index) covers leaves
// [Index·2^Level, (Index+1)·2^Level). Once written a node never changes.
type Node struct {
	Level uint8
	Index uint64
	Hash  Hash
}

// NodeReader reads persisted complete-subtree nodes, as written from the
// nodes Tree.Append returns.
//
// Node returns the hash at (level, index), or an error wrapping
// ErrNodeNotFound if the store does not hold that node (because the tree
// has not grown that far). Any other error is a storage failure, which the
// proof functions return wrapped with what they were doing. Implementations
// must be safe for concurrent calls; a node, once readable, must never
// change.
type NodeReader interface {
	Node(ctx context.Context, level uint8, index uint64) (Hash, error)
}

// MemNodes is an in-memory NodeReader for embedded mode and tests. The zero
// value is an empty store ready to use. Any number of goroutines may read
// while one goroutine writes with Put.
type MemNodes struct {
	mu     sync.RWMutex
	levels [][]Hash // levels[l][i] is the node at (l, i)
}

var _ NodeReader = (*MemNodes)(nil)

// NewMemNodes returns an empty store.
func NewMemNodes() *MemNodes { return &MemNodes{} }

// Node returns the node at (level, index), or an error wrapping
// ErrNodeNotFound. It never blocks on I/O; ctx is not consulted.
func (m *MemNodes) Node(_ context.Context, level uint8, index uint64) (Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if int(level) < len(m.levels) && index < uint64(len(m.levels[level])) {
		return m.levels[level][index], nil
	}
	return Hash{}, fmt.Errorf("merkle: node (%d, %d): %w", level, index, ErrNodeNotFound)
}

// Put stores nodes in the order Tree.Append returns them. Each node must
// either extend its level by one (index equal to the number of nodes the
// level holds) or repeat a stored node exactly, so that replaying the nodes
// of an append after a crash is harmless. Anything else, a gap or a
// different hash at a stored position, wraps ErrNodeConflict, and Put stores
// nothing of the batch from that node on. Readers see a batch all at once,
// so a reader that sees Size n finds every node of the tree of n leaves.
func (m *MemNodes) Put(nodes ...Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range nodes {
		if n.Level > MaxLevel {
			return fmt.Errorf("merkle: put node (%d, %d): level above %d: %w", n.Level, n.Index, MaxLevel, ErrNodeConflict)
		}
		for len(m.levels) <= int(n.Level) {
			m.levels = append(m.levels, nil)
		}
		level := m.levels[n.Level]
		switch {
		case n.Index < uint64(len(level)):
			if level[n.Index] != n.Hash {
				return fmt.Errorf("merkle: put node (%d, %d): stored hash %s differs from %s: %w", n.Level, n.Index, level[n.Index], n.Hash, ErrNodeConflict)
			}
		case n.Index == uint64(len(level)):
			m.levels[n.Level] = append(level, n.Hash)
		default:
			return fmt.Errorf("merkle: put node (%d, %d): level holds %d nodes: %w", n.Level, n.Index, len(level), ErrNodeConflict)
		}
	}
	return nil
}

// Size returns the number of leaves stored.
func (m *MemNodes) Size() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.levels) == 0 {
		return 0
	}
	return uint64(len(m.levels[0]))
}

// MemNodesOf returns a store holding every node of the tree over leaves,
// as if each leaf had been appended (Tree.Append) and its nodes Put, but
// built level by level: level 0 is leaves itself (kept, not copied: the
// caller gives it up), each level above is hashed on up to workers
// goroutines, and no level holds spare capacity beyond what leaves has.
// A read model loaded from a snapshot recomputes its tree this way.
func MemNodesOf(leaves []Hash, workers int) *MemNodes {
	workers = max(workers, 1)
	levels := [][]Hash{leaves}
	for cur := leaves; len(cur) >= 2; {
		next := make([]Hash, len(cur)/2)
		const span = 1 << 14
		if workers == 1 || len(next) < 2*span {
			for i := range next {
				next[i] = NodeHash(cur[2*i], cur[2*i+1])
			}
		} else {
			var wg sync.WaitGroup
			work := make(chan int, len(next)/span+1)
			for lo := 0; lo < len(next); lo += span {
				work <- lo
			}
			close(work)
			for range workers {
				wg.Go(func() {
					for lo := range work {
						for i := lo; i < min(lo+span, len(next)); i++ {
							next[i] = NodeHash(cur[2*i], cur[2*i+1])
						}
					}
				})
			}
			wg.Wait()
		}
		levels = append(levels, next)
		cur = next
	}
	return &MemNodes{levels: levels}
}
