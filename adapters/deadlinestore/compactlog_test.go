package deadlinestore

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompactionLogged (issue 15, branch warmrss): the compaction at the
// open is logged with its duration and the file's bytes before and after
// (a province's took 6–13 s unlogged, docs/benchmarks.md §67); an open
// that does not compact logs nothing of it.
func TestCompactionLogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deadlines.db")
	a, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	fragment(t, a.db)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	before := statSize(t, path)
	old := CompactMinBytes
	CompactMinBytes = 0
	defer func() { CompactMinBytes = old }()

	var buf bytes.Buffer
	b, err := OpenBoltLog(path, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	after := statSize(t, path)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	lines := logLines(t, &buf)
	compacting, compacted := lines["deadlines_compacting"], lines["deadlines_compacted"]
	if compacting == nil || compacted == nil {
		t.Fatalf("log %q: want deadlines_compacting and deadlines_compacted", buf.String())
	}
	if got := int64(compacting["bytes"].(float64)); got != before {
		t.Errorf("deadlines_compacting bytes = %d, want the file's %d", got, before)
	}
	if free := int64(compacting["free_bytes"].(float64)); free*2 < before || free > before {
		t.Errorf("deadlines_compacting free_bytes = %d of %d", free, before)
	}
	if got := int64(compacted["bytes_before"].(float64)); got != before {
		t.Errorf("deadlines_compacted bytes_before = %d, want %d", got, before)
	}
	if got := int64(compacted["bytes_after"].(float64)); got != after || after*2 > before {
		t.Errorf("deadlines_compacted bytes_after = %d, the file %d (before %d)", got, after, before)
	}
	if s, ok := compacted["seconds"].(float64); !ok || s <= 0 {
		t.Errorf("deadlines_compacted seconds = %v", compacted["seconds"])
	}

	// Compacted already: the next open copies nothing and says nothing.
	buf.Reset()
	c, err := OpenBoltLog(path, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if strings.Contains(buf.String(), "compact") {
		t.Errorf("an open without compaction logged %q", buf.String())
	}
}

// logLines maps each JSON log line's msg to its fields.
func logLines(t *testing.T, buf *bytes.Buffer) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out[m["msg"].(string)] = m
	}
	return out
}

func statSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
