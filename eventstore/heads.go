package eventstore

import "hash/maphash"

// headTable is an Authenticator's record of every stream's head: a map
// from stream name to Head, kept compact because a global feed over the
// whole log (a rebuild, kinerjad's history check) holds the head of every
// stream in the store at once.
//
// A map[string]Head costs, per stream, a 64-byte slot (a string header
// and a 48-byte Head) at the map's load factor, plus the name's own
// allocation, and that allocation is the string of the first event read
// of the stream, kept alive for the whole read. Here the names are copied
// into shared chunks of bytes (no allocation and no header each), the
// heads into chunks of fixed-size entries, and the index is an
// open-addressed table of 4-byte entry numbers. Lookups compare the whole
// name: a collision of the 64-bit hashes costs a probe, never a confusion
// of two streams.
type headTable struct {
	seed     maphash.Seed
	testHash func(name string) uint64 // replaces maphash in tests (collisions)
	slots    []uint32                 // 0 empty, else entry number + 1
	ents     [][]headEntry            // chunks of headChunk entries
	n        int                      // entries
	names    [][]byte                 // chunks of nameChunk bytes (or one long name)
}

type headEntry struct {
	hash Hash
	rev  uint64
	// The name is names[chunk&^existsBit][off:off+len], or the whole
	// chunk when len is longName; existsBit is the Head's Exists.
	chunk uint32
	off   uint16
	len   uint16
}

const (
	existsBit = 1 << 31
	longName  = 1<<16 - 1
)

func (e *headEntry) set(h Head) {
	e.rev, e.hash = h.Revision, h.Hash
	e.chunk &^= existsBit
	if h.Exists {
		e.chunk |= existsBit
	}
}

func (e *headEntry) head() Head {
	return Head{Exists: e.chunk&existsBit != 0, Revision: e.rev, Hash: e.hash}
}

const (
	headChunk = 1024
	nameChunk = 64 << 10
)

func newHeadTable() *headTable {
	return &headTable{seed: maphash.MakeSeed()}
}

func (t *headTable) hashString(s string) uint64 {
	if t.testHash != nil {
		return t.testHash(s)
	}
	return maphash.String(t.seed, s)
}

// hashBytes is hashString(string(b)) without the copy.
func (t *headTable) hashBytes(b []byte) uint64 {
	if t.testHash != nil {
		return t.testHash(string(b))
	}
	return maphash.Bytes(t.seed, b)
}

func (t *headTable) entry(i uint32) *headEntry { return &t.ents[i/headChunk][i%headChunk] }

func (t *headTable) name(e *headEntry) []byte {
	c := t.names[e.chunk&^existsBit]
	if e.len == longName {
		return c
	}
	return c[e.off : int(e.off)+int(e.len)]
}

// find returns the slot of stream: its entry's, or the empty one where it
// would go.
func (t *headTable) find(stream string) (slot int, found bool) {
	mask := len(t.slots) - 1
	i := int(t.hashString(stream)) & mask
	for {
		s := t.slots[i]
		if s == 0 {
			return i, false
		}
		if string(t.name(t.entry(s-1))) == stream {
			return i, true
		}
		i = (i + 1) & mask
	}
}

// get returns stream's head, and whether it has one.
func (t *headTable) get(stream string) (Head, bool) {
	if t.n == 0 {
		return Head{}, false
	}
	slot, ok := t.find(stream)
	if !ok {
		return Head{}, false
	}
	return t.entry(t.slots[slot] - 1).head(), true
}

// put sets stream's head.
func (t *headTable) put(stream string, h Head) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	slot, ok := t.find(stream)
	if ok {
		t.entry(t.slots[slot] - 1).set(h)
		return
	}
	if t.n%headChunk == 0 {
		t.ents = append(t.ents, make([]headEntry, headChunk))
	}
	e := t.entry(uint32(t.n))
	e.chunk, e.off, e.len = t.store(stream)
	e.set(h)
	t.n++
	t.slots[slot] = uint32(t.n)
}

// store copies name into the name chunks.
func (t *headTable) store(name string) (chunk uint32, off, n uint16) {
	if len(name) > nameChunk/4 {
		// A name longer than any valid one (a store's record is not
		// trusted): a chunk of its own.
		t.names = append(t.names, []byte(name))
		return uint32(len(t.names) - 1), 0, longName
	}
	if k := len(t.names) - 1; k >= 0 && len(t.names[k])+len(name) <= nameChunk && cap(t.names[k]) == nameChunk {
		b := t.names[k]
		t.names[k] = append(b, name...)
		return uint32(k), uint16(len(b)), uint16(len(name))
	}
	t.names = append(t.names, append(make([]byte, 0, nameChunk), name...))
	return uint32(len(t.names) - 1), 0, uint16(len(name))
}

// grow doubles the index and places every entry again.
func (t *headTable) grow() {
	size := max(64, 2*len(t.slots))
	t.slots = make([]uint32, size)
	mask := size - 1
	for k := range t.n {
		i := int(t.hashBytes(t.name(t.entry(uint32(k))))) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = uint32(k + 1)
	}
}
