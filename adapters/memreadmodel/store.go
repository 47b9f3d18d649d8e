package memreadmodel

// chunkBits sets the block size of chunked sequences (4,096 elements).
const chunkBits = 12

// chunked is an append-only sequence kept in fixed-size blocks: growing it
// never copies what it holds (a rebuild of a million events would
// otherwise copy the trail some twenty times), and, for element types
// without pointers, the garbage collector never scans it.
type chunked[T any] struct {
	blocks [][]T
	n      int
}

func (c *chunked[T]) add(v T) {
	if c.n>>chunkBits == len(c.blocks) {
		c.blocks = append(c.blocks, make([]T, 0, 1<<chunkBits))
	}
	b := &c.blocks[len(c.blocks)-1]
	*b = append(*b, v)
	c.n++
}

func (c *chunked[T]) at(i int) *T { return &c.blocks[i>>chunkBits][i&(1<<chunkBits-1)] }

func (c *chunked[T]) len() int { return c.n }

// strtab interns strings: each distinct string is kept once, and records
// hold its uint32 number instead of a pointer. The trail and the timeline
// repeat a few thousand streams, types, actors and summaries a million
// times; interned, their records hold no pointer at all.
type strtab struct {
	idx  map[string]uint32
	strs []string
}

func newStrtab() *strtab { return &strtab{idx: map[string]uint32{"": 0}, strs: []string{""}} }

func (t *strtab) id(s string) uint32 {
	if i, ok := t.idx[s]; ok {
		return i
	}
	i := uint32(len(t.strs))
	t.idx[s] = i
	t.strs = append(t.strs, s)
	return i
}

func (t *strtab) str(i uint32) string { return t.strs[i] }

// lookup returns the number of s without adding it.
func (t *strtab) lookup(s string) (uint32, bool) {
	i, ok := t.idx[s]
	return i, ok
}

// interner shares one copy of each repeated string among the rows a
// snapshot's load decodes (gob allocates every string of every row): the
// SKP IDs, NIPs, unit IDs, periods, ratings and statuses that a
// province's score and evaluation rows repeat millions of times. It lives
// for one section's load.
type interner map[string]string

// intern replaces *p with the copy held, or holds *p.
func intern[S ~string](in interner, p *S) {
	if v, ok := in[string(*p)]; ok {
		*p = S(v)
		return
	}
	in[string(*p)] = string(*p)
}
