package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backup"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// unitWriters registers units through the API from n goroutines until stop
// closes, and returns, per unit ID, when its 201 arrived.
//
// The units are sub-units of one root (BK), so that the deployment holds
// one agency and claimless tokens keep acting (issue 15).
func unitWriters(t *testing.T, base, token string, n int, stop <-chan struct{}) func() map[string]time.Time {
	root, _ := json.Marshal(map[string]string{"id": "BK", "name": "Unit BK"})
	rreq, _ := http.NewRequest(http.MethodPost, base+"/v1/units", bytes.NewReader(root))
	rreq.Header.Set("Authorization", "Bearer "+token)
	rreq.Header.Set("Content-Type", "application/json")
	rresp, err := http.DefaultClient.Do(rreq)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rresp.Body)
	rresp.Body.Close()
	if rresp.StatusCode != http.StatusCreated {
		t.Fatalf("register the root unit BK: %d", rresp.StatusCode)
	}
	var mu sync.Mutex
	acked := map[string]time.Time{}
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("BK-%d-%d", g, i)
				body, _ := json.Marshal(map[string]string{"id": id, "name": "Unit " + id, "parent_id": "BK"})
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/units", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked[id] = time.Now()
					mu.Unlock()
				}
			}
		}()
	}
	return func() map[string]time.Time {
		wg.Wait()
		return acked
	}
}

// Backup under a concurrent write load from a running kinerjad, restore
// into a fresh directory, start it and verify: every write acknowledged
// before the backup began is there. A changed backup, a non-empty target
// and a copy older than the witness are refused (the last unless
// --accept-rollback, which is recorded).
func TestBackupRestoreUnderLoad(t *testing.T) {
	ctx := context.Background()
	a := t.TempDir()
	base := startKinerjad(t, a, "--checkpoint-interval", "100ms")
	tok := strings.TrimSpace(mustCtl(t, "token", "--data", a, "--sub", "hr-admin", "--roles", "HR_ADMIN,AUDITOR"))
	stop := make(chan struct{})
	wait := unitWriters(t, base, tok, 4, stop)
	// Load until the running kinerjad has witnessed a signed checkpoint.
	for deadline := time.Now().Add(time.Minute); witnessedSize(t, filepath.Join(a, wiring.WitnessFile)) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint witnessed within a minute")
		}
	}
	// The witness as it stands before the backup: the backup holds its
	// checkpoint, so restoring against it is no rollback.
	wBefore := filepath.Join(t.TempDir(), "witness.json")
	mustCopyFile(t, filepath.Join(a, wiring.WitnessFile), wBefore)
	begun := time.Now()
	b := filepath.Join(t.TempDir(), "backup")
	var m Manifest
	if err := json.Unmarshal([]byte(mustCtl(t, "backup", "--data", a, "--out", b, "--with-keys")), &m); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	acked := wait()
	if !m.Online || m.Head == 0 || m.Checkpoint == nil || m.Events == 0 || m.StoreLayout == 0 {
		t.Fatalf("manifest = %+v", m)
	}
	names := map[string]bool{}
	for _, f := range m.Files {
		names[f.Name] = true
	}
	// No idempotency.db: the idempotency records are in the store's file.
	for _, want := range []string{backup.StoreFile, backup.SessionsFile, wiring.WriterKeyringFile, wiring.AuditPubKeyFile, wiring.WriterKeyFile} {
		if !names[want] {
			t.Errorf("the backup lacks %s: %+v", want, m.Files)
		}
	}
	if names[wiring.WitnessFile] {
		t.Error("the backup holds the witness")
	}

	// Restore into a fresh directory: every write acknowledged before the
	// backup began is there.
	c := filepath.Join(t.TempDir(), "restored")
	out := mustCtl(t, "restore", "--from", b, "--data", c, "--witness-file", wBefore)
	if !strings.Contains(out, fmt.Sprintf("head position %d", m.Head)) {
		t.Errorf("restore printed %q", out)
	}
	s, err := backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Bolt, DataDir: c})
	if err != nil {
		t.Fatal(err)
	}
	before, after := 0, 0
	for id, at := range acked {
		present := false
		for _, err := range s.ReadStream(ctx, domain.UnitStream(id), eventstore.ReadStreamOptions{Limit: 1}) {
			present = err == nil
			break
		}
		if at.Before(begun) {
			before++
			if !present {
				t.Errorf("unit %s, acknowledged at %v before the backup began (%v), is not in the restored ledger", id, at, begun)
			}
		} else if present {
			after++
		}
	}
	s.Close()
	if before == 0 {
		t.Fatal("no write was acknowledged before the backup")
	}
	t.Logf("%d writes acknowledged before the backup, all restored; %d of %d later ones in the copy; head %d, %d events", before, after, len(acked)-before, m.Head, m.Events)

	// The restored directory starts and verifies.
	base2 := startKinerjad(t, c, "--witness-file", wBefore)
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--url", base2, "--token", strings.TrimSpace(mustCtl(t, "token", "--data", c, "--sub", "aud", "--roles", "AUDITOR")))), &rep); err != nil || !rep.OK {
		t.Fatalf("verify of the restored ledger: %+v, %v", rep, err)
	}

	// Refusals.
	if code, _, _ := ctlExit(t, nil, "restore", "--from", b, "--data", c); code != exitcode.Error {
		t.Errorf("restore into a non-empty directory: exit %d, want 1", code)
	}
	changed := filepath.Join(t.TempDir(), "changed")
	mustCopyDir(t, b, changed)
	f, _ := os.OpenFile(filepath.Join(changed, backup.StoreFile), os.O_RDWR, 0)
	f.WriteAt([]byte{0xff}, 5000)
	f.Close()
	d := filepath.Join(t.TempDir(), "d")
	if code, _, errOut := ctlExit(t, nil, "restore", "--from", changed, "--data", d); code != exitcode.Verify {
		t.Errorf("restore of a changed backup: exit %d, want 3\n%s", code, errOut)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s (%v)", d, err)
	}

	// The running ledger has signed newer checkpoints since: against its
	// witness the backup is a rollback. A copy of the witness is used, so
	// that the accepted rollback does not touch the running kinerjad's.
	deadline := time.Now().Add(time.Minute)
	w := filepath.Join(t.TempDir(), "witness.json")
	for {
		mustCopyFile(t, filepath.Join(a, wiring.WitnessFile), w)
		if witnessedSize(t, w) > m.Checkpoint.Size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running kinerjad witnessed no checkpoint after the backup's (size %d)", m.Checkpoint.Size)
		}
		// A write makes the next checkpoint.
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/units", strings.NewReader(`{"id":"BK-late-`+fmt.Sprint(time.Now().UnixNano())+`","name":"late","parent_id":"BK"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, _, errOut := ctlExit(t, nil, "restore", "--from", b, "--data", d, "--witness-file", w)
	if code != exitcode.Error || !strings.Contains(errOut, "behind the witness") {
		t.Errorf("restore of a copy older than the witness: exit %d, want 1\n%s", code, errOut)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s (%v)", d, err)
	}
	out = mustCtl(t, "restore", "--from", b, "--data", d, "--witness-file", w, "--accept-rollback", "restore test: the backup of the test, on purpose")
	if !strings.Contains(out, "rollback is accepted") {
		t.Errorf("restore --accept-rollback printed %q", out)
	}
	s, err = backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Bolt, DataDir: d})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	found := false
	for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{After: m.Head}) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || ev.Type == "audit.rollback_accepted.v1"
	}
	if !found {
		t.Error("the accepted rollback is not recorded in the restored ledger")
	}
}

func mustCopyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustCopyDir(t *testing.T, src, dst string) {
	t.Helper()
	os.MkdirAll(dst, 0o700)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		mustCopyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
}

// witnessedSize returns the size of the checkpoint in the witness file at
// path (0: none yet).
func witnessedSize(t *testing.T, path string) uint64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var rec struct {
		Checkpoint audit.Checkpoint `json:"checkpoint"`
	}
	json.Unmarshal(raw, &rec)
	return rec.Checkpoint.Size
}

// With no kinerjad running, backup copies the files itself (read-only,
// each as of one transaction); the copy restores and verifies, and a
// ledger without private keys in the backup says what the operator must
// give.
func TestBackupRestoreOffline(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "20", "--year", "2025")
	signCheckpoint(t, backend.StoreConfig{Name: backend.Bolt, DataDir: data})
	b := filepath.Join(t.TempDir(), "b")
	var m Manifest
	if err := json.Unmarshal([]byte(mustCtl(t, "backup", "--data", data, "--out", b)), &m); err != nil {
		t.Fatal(err)
	}
	if m.Online || m.KeysIncluded || m.Checkpoint == nil || m.Events == 0 {
		t.Fatalf("manifest = %+v", m)
	}
	for _, f := range m.Files {
		if f.Name == wiring.WriterKeyFile || f.Name == wiring.AuditKeyFile {
			t.Errorf("a backup without --with-keys holds %s", f.Name)
		}
	}
	r := filepath.Join(t.TempDir(), "r")
	out := mustCtl(t, "restore", "--from", b, "--data", r, "--witness-file", filepath.Join(t.TempDir(), "none.json"), "--accept-rollback", "offline test", "--writer-key", filepath.Join(data, wiring.WriterKeyFile))
	if !strings.Contains(out, "holds no private keys") || !strings.Contains(out, fmt.Sprintf("%d events", m.Events)) {
		t.Errorf("restore printed %q", out)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", r, "--writer-keyring", filepath.Join(r, wiring.WriterKeyringFile))), &rep); err != nil || !rep.OK {
		t.Errorf("verify of the restored ledger = %+v, %v", rep, err)
	}
	// kinerjactl backup of a PostgreSQL ledger's data directory says to
	// use pg_dump.
	if _, err := ctl(t, "backup", "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup of a directory without a bbolt store: %v", err)
	}
}
