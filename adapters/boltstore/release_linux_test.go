package boltstore_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

// mappedRSS is the resident size of this process's map of path, in kB
// (/proc/self/smaps).
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, total := false, 0
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasSuffix(line, " "+path)
			continue
		}
		var kb int
		if in && strings.HasPrefix(line, "Rss:") {
			if _, err := fmt.Sscanf(line, "Rss: %d kB", &kb); err == nil {
				total += kb
			}
		}
	}
	return total
}

// TestReleaseMappedDropsTheReadPages: a read of the whole store leaves its
// pages resident in the process (the map is as large as what was read);
// ReleaseMapped takes them out of the resident set, and what is read
// afterwards is unchanged.
func TestReleaseMappedDropsTheReadPages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kinerja.db")
	st, err := open(path, storetest.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*boltstore.Store)
	t.Cleanup(func() { s.Close() })
	payload := bytes.Repeat([]byte("x"), 4000)
	for b := range 64 {
		batch := make([]eventstore.EventData, 32)
		for i := range batch {
			batch[i] = event(b*32 + i)
			batch[i].ID = uuid.New()
			batch[i].Data = fmt.Appendf(nil, `{"i":%d,"pad":%q}`, b*32+i, payload)
		}
		if _, err := s.Append(ctx, fmt.Sprintf("skp-%d", b), eventstore.NoStream, batch...); err != nil {
			t.Fatal(err)
		}
	}
	readAll := func() []eventstore.Event {
		var evs []eventstore.Event
		for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		return evs
	}
	before := readAll()
	read := mappedRSS(t, path)
	if read < 4096 {
		t.Fatalf("after reading %d events of 4 kB, %d kB of the map are resident, want ≥ 4 MB", len(before), read)
	}
	if err := s.ReleaseMapped(); err != nil {
		t.Fatal(err)
	}
	if released := mappedRSS(t, path); released > read/8 {
		t.Errorf("after ReleaseMapped %d kB of the map are resident (%d kB before)", released, read)
	}
	after := readAll()
	if len(after) != len(before) {
		t.Fatalf("read %d events after the release, %d before", len(after), len(before))
	}
	for i := range after {
		if after[i].ID != before[i].ID || !bytes.Equal(after[i].Data, before[i].Data) || after[i].Hash != before[i].Hash {
			t.Fatalf("event %d differs after the release", i)
		}
	}
}
