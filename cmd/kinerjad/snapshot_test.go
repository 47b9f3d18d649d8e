package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// readsOf is what the read models answer over the journey: the SKP list,
// E's SKP's scores and evaluations, E's timeline, the audit trail.
func readsOf(t *testing.T, s *server) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for name, path := range map[string]string{
		"skps": "/v1/skps?limit=200", "timeline": "/v1/employees/" + nipE + "/timeline?limit=200",
		"audit": "/v1/audit?limit=1000", "employees": "/v1/employees", "objections": "/v1/objections",
	} {
		a := s.call("hr-admin", append(hrAdmin, auditor...), "GET", path, nil)
		if a.status != 200 {
			t.Fatalf("GET %s = %d %s", path, a.status, a.body)
		}
		out[name] = a.body
	}
	return out
}

func sameReads(t *testing.T, what string, want, got map[string]json.RawMessage) {
	t.Helper()
	for k, w := range want {
		if string(w) != string(got[k]) {
			t.Errorf("%s: %s differs:\nwant %s\ngot  %s", what, k, w, got[k])
		}
	}
}

// logged returns the first log line with msg, or "".
func logged(s *server, msg string) string {
	for _, l := range s.logLines() {
		if strings.Contains(l, `"msg":"`+msg+`"`) {
			return l
		}
	}
	return ""
}

// TestSnapshotRestartEmbedded: a clean shutdown writes the read models'
// snapshot; the next start loads it (verified against the ledger) and
// answers exactly as before; a tampered snapshot is set aside, logged and
// counted, and the read models rebuild from the log with the same
// answers; an event edited below the snapshot is found at start-up (the
// snapshot is refused, the rebuild reports the changed history).
func TestSnapshotRestartEmbedded(t *testing.T) {
	data := t.TempDir()
	snap := filepath.Join(data, memreadmodel.SnapshotFile)
	s := startServer(t, data)
	journey(t, s)
	verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if logged(s, "readmodel_snapshot_written") == "" {
		t.Fatal("no snapshot written at shutdown")
	}
	s = startServer(t, data)
	if l := logged(s, "readmodel_snapshot_loaded"); l == "" {
		t.Fatalf("the snapshot was not loaded: %v", s.logLines())
	}
	want := readsOf(t, s)
	verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// Warm start again: same answers as the start before.
	s = startServer(t, data)
	if logged(s, "readmodel_snapshot_loaded") == "" {
		t.Fatal("the snapshot was not loaded on the second warm start")
	}
	sameReads(t, "warm start", want, readsOf(t, s))
	// The history below the snapshot is checked after /readyz: an
	// untouched store ends it ok, reported in /readyz and the metrics.
	if l := waitLogged(t, s, "readmodel_history_check_done"); !strings.Contains(l, `"result":"ok"`) {
		t.Fatalf("history check of an untouched store: %q", l)
	}
	if a := s.call("", nil, "GET", "/readyz", nil); a.status != 200 || !strings.Contains(string(a.body), `"history_check":{"status":"ok"`) {
		t.Errorf("/readyz after the history check = %d %s, want 200 with history_check ok", a.status, a.body)
	}
	m := s.call("", nil, "GET", "/metrics", nil)
	checked := regexp.MustCompile(`(?m)^kinerja_readmodel_snapshot_history_checked_entries (\d+)$`).FindStringSubmatch(string(m.body))
	total := regexp.MustCompile(`(?m)^kinerja_readmodel_snapshot_history_entries (\d+)$`).FindStringSubmatch(string(m.body))
	if checked == nil || total == nil || checked[1] != total[1] || total[1] == "0" {
		t.Errorf("metrics: the history check did not cover every entry: %s", grepLines(string(m.body), "readmodel_snapshot_history"))
	}
	if !strings.Contains(string(m.body), `kinerja_readmodel_snapshot_loads_total{result="loaded"} 1`) {
		t.Errorf("metrics lack the load: %s", grepLines(string(m.body), "readmodel_snapshot"))
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// --snapshot-check-at-load: the check runs before /readyz, as before.
	s = startServer(t, data, "--snapshot-check-at-load")
	if l := logged(s, "readmodel_snapshot_loaded"); !strings.Contains(l, `"history_check":"ok"`) || strings.Contains(l, `"history_checked":0,`) {
		t.Errorf("with --snapshot-check-at-load the load did not check the history: %q", l)
	}
	if logged(s, "readmodel_history_check_started") != "" {
		t.Error("with --snapshot-check-at-load the history was checked again after /readyz")
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// One byte flipped in the middle: refused, set aside, rebuilt.
	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(snap, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, data)
	if l := logged(s, "readmodel_snapshot_refused"); l == "" {
		t.Fatalf("a tampered snapshot was not refused: %v", s.logLines())
	}
	if _, err := os.Stat(snap + ".refused"); err != nil {
		t.Errorf("the refused snapshot was not set aside: %v", err)
	}
	sameReads(t, "after a refused snapshot", want, readsOf(t, s))
	m = s.call("", nil, "GET", "/metrics", nil)
	if !strings.Contains(string(m.body), `kinerja_readmodel_snapshot_loads_total{result="refused_`) {
		t.Errorf("metrics lack the refusal: %s", grepLines(string(m.body), "readmodel_snapshot"))
	}
	if a := s.call("", nil, "GET", "/readyz", nil); a.status != 200 || strings.Contains(string(a.body), "degraded") {
		t.Errorf("/readyz after a refused snapshot = %d %s, want ok", a.status, a.body)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// An event below the (new, good) snapshot edited, its chain hash
	// recomputed: the snapshot no longer stands for the store's history.
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no new snapshot after the rebuild: %v", err)
	}
	// A's SKP's last event is far below the trail's last entry: only the
	// history check, not the snapshot's comparison of its last entry with
	// the store, can find it.
	editBoltHead(t, data, domain.SKPStream(skp.ID(nipA, 2025, 1)), func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "e", "E", 1))
	})
	// The snapshot loads and the service is ready at once; the history
	// check after /readyz finds the edit: the snapshot is set aside and
	// counted, and kinerjad stops (exit 1) instead of serving read models
	// built on a history the store no longer holds. Its rename to
	// .refused fails here (a non-empty directory is in the way): it is
	// removed instead, so that the restart does not serve it again.
	if err := os.Remove(snap + ".refused"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(snap+".refused", "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, data)
	if l := logged(s, "readmodel_snapshot_loaded"); !strings.Contains(l, `"history_check":"pending"`) {
		t.Fatalf("the snapshot was not loaded with its history check pending: %q", l)
	}
	l := waitLogged(t, s, "readmodel_snapshot_refused")
	if !strings.Contains(l, `"reason":"history"`) {
		t.Fatalf("the snapshot over a changed history was not refused for it: %q", l)
	}
	if l := logged(s, "readmodel_history_check_done"); !strings.Contains(l, `"result":"failed"`) {
		t.Errorf("no failed history check logged: %q", l)
	}
	if err := s.stop(); err == nil || !strings.Contains(err.Error(), "history below the snapshot changed") {
		t.Errorf("kinerjad over a changed history ended with %v, want the history error (exit 1)", err)
	}
	if logged(s, "readmodel_snapshot_set_aside_failed") == "" {
		t.Errorf("the failed rename was not logged: %v", s.logLines())
	}
	if _, err := os.Stat(snap); !os.IsNotExist(err) {
		t.Errorf("the refused snapshot is still there (or one was written over the changed history): %v", err)
	}
	if _, err := os.Stat(snap + ".refused-marker"); !os.IsNotExist(err) {
		t.Errorf("a refusal marker was left although the snapshot is gone: %v", err)
	}
	// The restart rebuilds from the log, which reports the change.
	s = startServer(t, data)
	if logged(s, "readmodel_snapshot_absent") == "" {
		t.Errorf("the restart did not start without the snapshot: %v", s.logLines())
	}
	a := s.call("", nil, "GET", "/readyz", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"degraded"`) || !strings.Contains(string(a.body), "history changed") {
		t.Errorf("/readyz = %d %s, want 200 degraded saying the history changed", a.status, a.body)
	}
}

// waitLogged waits up to 60 s for a log line with msg and returns it.
func waitLogged(t *testing.T, s *server, msg string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if l := logged(s, msg); l != "" {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s logged within 60 s: %v", msg, s.logLines())
	return ""
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A shutdown while the history check below the snapshot runs waits for
// it: the check ends (pending, for the next start) before the shutdown
// snapshot and before the store is closed, so that it never reads a
// closed store nor sets the snapshot aside under the shutdown's write.
func TestSnapshotHistoryCheckJoinedAtShutdown(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	journey(t, s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	var finished atomic.Bool
	real := checkHistory
	t.Cleanup(func() { checkHistory = real })
	checkHistory = func(ctx context.Context, sn *wiring.Snapshots) {
		close(entered)
		<-ctx.Done() // the shutdown began
		// Still running well after it: without the join, serve closes
		// the store meanwhile and returns.
		time.Sleep(300 * time.Millisecond)
		real(ctx, sn)
		finished.Store(true)
	}
	s = startServer(t, data)
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatalf("the history check did not start: %v", s.logLines())
	}
	if err := s.stop(); err != nil {
		t.Fatalf("kinerjad stopped during the history check with %v, want a clean exit", err)
	}
	if !finished.Load() {
		t.Fatal("kinerjad returned while its history check still ran")
	}
	for _, msg := range []string{"readmodel_history_check_retry", "readmodel_snapshot_refused", "readmodel_history_check_done"} {
		if l := logged(s, msg); l != "" {
			t.Errorf("a check cut short by the shutdown logged %s: %q", msg, l)
		}
	}
	if l := logged(s, "readmodel_snapshot_skipped"); l == "" {
		t.Errorf("the shutdown wrote a snapshot over a history not yet checked: %v", s.logLines())
	}
	// The next start loads the snapshot and checks it again.
	checkHistory = real
	s = startServer(t, data)
	if l := logged(s, "readmodel_snapshot_loaded"); !strings.Contains(l, `"history_check":"pending"`) {
		t.Fatalf("the next start did not load the snapshot with its check pending: %q", l)
	}
	if l := waitLogged(t, s, "readmodel_history_check_done"); !strings.Contains(l, `"result":"ok"`) {
		t.Errorf("the next start's history check: %q", l)
	}
}
