package page

import (
	"fmt"
	"sync"
	"testing"
)

// The kept lists are bounded by bytes: over the budget the least recently
// used go first (a Get makes a list recent), a replaced list's bytes are
// given back, and a list larger than the budget is not kept.
func TestKeptIsBoundedByBytes(t *testing.T) {
	k := NewKept(100)
	k.Put("a", "A", 40)
	k.Put("b", "B", 40)
	if _, ok := k.Get("a"); !ok { // a is now the most recent
		t.Fatal("a not kept")
	}
	k.Put("c", "C", 40) // 120 > 100: b, the least recently used, goes
	if _, ok := k.Get("b"); ok {
		t.Error("b kept over the budget")
	}
	for _, key := range []string{"a", "c"} {
		if v, ok := k.Get(key); !ok || v != string(key[0]-'a'+'A') {
			t.Errorf("Get(%q) = %v, %v", key, v, ok)
		}
	}
	if b, n := k.Usage(); b != 80 || n != 2 {
		t.Errorf("usage %d bytes in %d lists, want 80 in 2", b, n)
	}
	k.Put("a", "A2", 10) // replaced: its 40 bytes given back
	if b, n := k.Usage(); b != 50 || n != 2 {
		t.Errorf("after a replace: %d bytes in %d lists, want 50 in 2", b, n)
	}
	k.Put("c", "huge", 101) // larger than the budget: not kept, the old c dropped
	if _, ok := k.Get("c"); ok {
		t.Error("a list over the whole budget kept")
	}
	if b, n := k.Usage(); b != 10 || n != 1 {
		t.Errorf("after an oversized put: %d bytes in %d lists, want 10 in 1", b, n)
	}
	if k := NewKept(0); k.max != DefaultKeptBytes {
		t.Errorf("default budget %d", k.max)
	}
}

// Many writers and readers at once (run with -race): the total stays
// within the budget.
func TestKeptConcurrent(t *testing.T) {
	k := NewKept(1000)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				key := fmt.Sprint((w*7 + i) % 40)
				k.Put(key, i, int64(10+i%90))
				k.Get(fmt.Sprint(i % 40))
				if b, _ := k.Usage(); b > 1000 {
					t.Errorf("%d bytes kept, budget 1000", b)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// KeptSize counts the rows and the sort orders Orders may build.
func TestKeptSize(t *testing.T) {
	if got := KeptSize(1000, 500, 5); got != 1000*(500+40) {
		t.Errorf("KeptSize = %d", got)
	}
}
