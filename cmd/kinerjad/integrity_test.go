package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/forgetest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// skpE is the SKP the journey makes for the employee E.
var skpE = skp.ID(nipE, 2025, 1) // the e2e journey's SKP (its year has ended: it is rated)

// runErr runs kinerjad on data with args until it is listening or fails,
// and returns its start-up error (nil when it listened; it is stopped
// then).
func runErr(t *testing.T, data string, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	out := &lineWaiter{want: `"msg":"listening"`, seen: make(chan struct{})}
	go func() {
		done <- run(ctx, append([]string{"--listen", "127.0.0.1:0", "--data", data}, args...), func(string) string { return "" }, out, out)
	}()
	select {
	case err := <-done:
		return err
	case <-out.seen:
		cancel()
		<-done
		return nil
	case <-time.After(60 * time.Second):
		t.Fatal("kinerjad neither listened nor failed within 60s")
	}
	return nil
}

// lineWaiter is a Writer that notices a log line containing want.
type lineWaiter struct {
	mu   sync.Mutex
	want string
	seen chan struct{}
	done bool
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done && strings.Contains(string(p), w.want) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

// signedJourney runs the journey on a new embedded kinerjad, waits for a
// signed checkpoint, stops it and returns its data directory.
func signedJourney(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	s := startServer(t, data)
	journey(t, s)
	verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	return data
}

// forgeBolt appends, as an insider with the data file would (with the
// store's own code, but without the writer key), a copy of the last event
// of stream with a changed reason: a valid link of the hash chain, unsigned.
func forgeBolt(t *testing.T, data, stream string) eventstore.Event {
	t.Helper()
	s, err := boltstore.Open(backend.BoltPath(data), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return forgetest.CopyLast(t, s, stream, "keputusan diubah di basis data")
}

// expectIntegrityViolation checks that the SKP is refused with 500
// integrity_violation.
func expectIntegrityViolation(t *testing.T, s *server, id string) {
	t.Helper()
	a := s.call(nipE, nil, "GET", "/v1/skps/"+id, nil)
	var p httpapi.Problem
	if a.status != 500 || json.Unmarshal(a.body, &p) != nil || p.Code != "integrity_violation" {
		t.Errorf("GET /v1/skps/%s = %d %s, want 500 integrity_violation", id, a.status, a.body)
	}
}

// expectVerifyNames checks that online verification fails and names ev,
// or the first event of its append (which a refused signature names).
func expectVerifyNames(t *testing.T, s *server, ev eventstore.Event, kind string) {
	t.Helper()
	expectVerifyNamesAt(t, s, "/v1/audit/verify", ev, kind)
}

// expectVerifyNamesAt is expectVerifyNames with the verification at path
// (e.g. one agency's, ?agency=).
func expectVerifyNamesAt(t *testing.T, s *server, path string, ev eventstore.Event, kind string) {
	t.Helper()
	var rep audit.Report
	s.must(200, "auditor-1", auditor, "POST", path, nil, &rep)
	if rep.OK {
		t.Fatalf("online verification after the forgery = ok: %+v", rep)
	}
	for _, p := range rep.Problems {
		ofAppend := p.Stream == ev.Stream && p.Position <= ev.Position && p.Position+8 > ev.Position
		if (p.EventID == ev.ID.String() || ofAppend) && strings.Contains(p.Problem, kind) {
			return
		}
	}
	t.Errorf("online verification does not name the forged event %s (%q): %+v", ev.ID, kind, rep.Problems)
}

// expectStalled checks /readyz and the projections' status: the audit
// projection is stopped at the forged event with an integrity reason.
func expectStalled(t *testing.T, s *server, ev eventstore.Event) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Items []httpapi.ProjectionState `json:"items"`
		}
		a := s.call("auditor-1", auditor, "GET", "/v1/ops/projections", nil)
		json.Unmarshal(a.body, &st)
		var auditState *httpapi.ProjectionState
		for i := range st.Items {
			if st.Items[i].Name == audit.Name {
				auditState = &st.Items[i]
			}
		}
		if auditState != nil && auditState.Stalled && strings.Contains(auditState.LastError, "integrity") &&
			auditState.Checkpoint < uint64(ev.Position) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit projection is not stopped at the forged event: %s", a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Degraded, not out of rotation: every instance over this store would
	// be held the same way, and the reads that check out still serve.
	if a := s.call("", nil, "GET", "/readyz", nil); a.status != 200 || !strings.Contains(string(a.body), `"degraded"`) ||
		!strings.Contains(string(a.body), audit.Name) || !strings.Contains(string(a.body), "integrity") {
		t.Errorf("/readyz = %d %s, want 200 degraded naming the audit projection and the integrity reason", a.status, a.body)
	} else if strings.Contains(string(a.body), ev.Stream) {
		t.Errorf("/readyz names the forged event's stream (a NIP): %s", a.body)
	}
}

// TestForgedInsertIsRefusedOnlineBolt: an insider appends a forged rating
// with a valid chain hash to the bbolt file while kinerjad is stopped.
// kinerjad still starts and serves; the audit projection stops at the
// forgery, online verification names it, and the API refuses the SKP.
func TestForgedInsertIsRefusedOnlineBolt(t *testing.T) {
	data := signedJourney(t)
	forged := forgeBolt(t, data, domain.SKPStream(skpE))
	s := startServer(t, data)
	expectIntegrityViolation(t, s, skpE)
	expectStalled(t, s, forged)
	expectVerifyNames(t, s, forged, "unsigned")
	// The agency's own verification authenticates its writers too.
	expectVerifyNamesAt(t, s, "/v1/audit/verify?agency=PEMKOT", forged, "unsigned")
	// Everything else is served.
	s.must(200, nipA, nil, "GET", "/v1/skps/"+skp.ID(nipA, 2025, 1), nil, nil)
}

// TestEditedEventAfterTheLastCheckpointBolt: an event signed after the
// last checkpoint is edited in the bbolt file, its chain hash recomputed.
// Its signature no longer verifies: the API refuses the SKP and
// verification names it.
func TestEditedEventAfterTheLastCheckpointBolt(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	journey(t, s)
	verifyAudit(t, s)
	// A last, signed feedback after the checkpoint.
	rhk := firstRHK(t, s)
	s.must(201, nipA, nil, "POST", "/v1/skps/"+skpE+"/feedback", httpapi.FeedbackBody{About: httpapi.FeedbackAboutBody{RHKID: rhk}, Text: "Tetap semangat"}, nil)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	edited := editBoltHead(t, data, domain.SKPStream(skpE), func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "Tetap semangat", "Kinerja buruk!", 1))
	})
	s = startAfterHistoryEdit(t, data)
	expectIntegrityViolation(t, s, skpE)
	expectVerifyNames(t, s, edited, "does not verify")
	expectVerifyNamesAt(t, s, "/v1/audit/verify?agency=PEMKOT", edited, "does not verify")
}

// startAfterHistoryEdit starts kinerjad over a store whose events were
// edited after its last run (or whose writer keyring no longer trusts
// some of them), as a supervisor would: when the read-model
// snapshot loads (the edit is below it, where only the history check
// after /readyz reads), the check finds the edit and kinerjad exits with
// the history error (docs/projections.md, "The history check after
// readiness"); it is then started again, and that start rebuilds the read
// models from the log. A snapshot refused at the load (the edit reaches
// its last entry) rebuilds at once.
func startAfterHistoryEdit(t *testing.T, data string, args ...string) *server {
	t.Helper()
	s := startServer(t, data, args...)
	if logged(s, "readmodel_snapshot_loaded") == "" {
		return s
	}
	l := waitLogged(t, s, "readmodel_history_check_done")
	if strings.Contains(l, `"result":"ok"`) {
		// The newest snapshot does not reach the edited event (on a
		// loaded machine the stop can come before a snapshot past it is
		// written; seen in the integration run): the edit is past the
		// snapshot, and the catch-up's authentication refuses it, which
		// the caller's expectations check.
		return s
	}
	if !strings.Contains(l, `"result":"failed"`) {
		t.Fatalf("the history check over an edited store: %q", l)
	}
	if err := s.stop(); err == nil || !strings.Contains(err.Error(), "history below the snapshot changed") {
		t.Fatalf("kinerjad over an edited history ended with %v, want the history error", err)
	}
	return startServer(t, data, args...)
}

// firstRHK returns the ID of the first RHK of E's SKP.
func firstRHK(t *testing.T, s *server) string {
	t.Helper()
	var v skp.View
	s.must(200, nipE, nil, "GET", "/v1/skps/"+skpE, nil, &v)
	return v.Plan[0].ID
}

// editBoltHead rewrites the data of stream's last event in the bbolt file
// with edit (same length), recomputing its chain hash and the stream
// index's copy of it, as an attacker with the file and the store's source
// can. The record layout is boltstore's (codec.go): the chain hash at bytes
// 41–73, the data last.
func editBoltHead(t *testing.T, data, stream string, edit func([]byte) []byte) eventstore.Event {
	t.Helper()
	ctx := context.Background()
	s, err := boltstore.Open(backend.BoltPath(data), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []eventstore.Event
	for ev, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	s.Close()
	head := evs[len(evs)-1]
	prev := evs[len(evs)-2].Hash
	newData := edit(append([]byte(nil), head.Data...))
	if len(newData) != len(head.Data) || string(newData) == string(head.Data) {
		t.Fatal("edit must change the data and keep its length")
	}
	head.Data = newData
	h := eventstore.ChainHash(prev, stream, head.Revision, &head.EventData)
	db, err := bolt.Open(backend.BoltPath(data), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		key := binary.BigEndian.AppendUint64(nil, uint64(head.Position))
		rec := append([]byte(nil), tx.Bucket([]byte("events")).Get(key)...)
		copy(rec[len(rec)-len(newData):], newData)
		copy(rec[41:73], h[:])
		idx := binary.BigEndian.AppendUint64(append([]byte(stream), 0), head.Revision)
		return errors.Join(tx.Bucket([]byte("events")).Put(key, rec), tx.Bucket([]byte("streams")).Put(idx, append(key, h[:]...)))
	})
	if err != nil {
		t.Fatal(err)
	}
	head.Hash = h
	return head
}

// TestRestoredOlderCopyIsRefusedUnlessAccepted: the bbolt file is put back
// from an older copy (a restored backup). The witness has a newer signed
// checkpoint, so kinerjad refuses to serve; --accept-rollback starts it
// and records the override in the audit trail.
func TestRestoredOlderCopyIsRefusedUnlessAccepted(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	journey(t, s)
	verifyAudit(t, s)
	witnessed := waitWitnessed(t, data, 0)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "kinerja.db")
	copyFile(t, backend.BoltPath(data), backup)
	s = startServer(t, data)
	s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: "BAPPEDA", Name: "Bappeda", ParentID: "PEMKOT"}, nil)
	waitWitnessed(t, data, witnessed)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, backup, backend.BoltPath(data))

	err := runErr(t, data)
	if !errors.Is(err, audit.ErrRollback) || !strings.Contains(err.Error(), "behind the witness") || !strings.Contains(err.Error(), "--accept-rollback") {
		t.Fatalf("kinerjad on a restored older copy = %v, want a refusal saying the store is behind the witness", err)
	}
	// The operator accepts the restore.
	s = startServer(t, data, "--accept-rollback", "restored the backup of the morning after a disk failure (OPS-17)")
	var page struct {
		Items []audit.Entry `json:"items"`
	}
	s.must(200, "auditor-1", auditor, "GET", "/v1/audit?stream="+audit.OperationsStream, nil, &page)
	if len(page.Items) != 1 || page.Items[0].Type != audit.RollbackAcceptedType || !strings.Contains(page.Items[0].Reason, "OPS-17") {
		t.Fatalf("audit entries of %s = %+v, want the accepted rollback", audit.OperationsStream, page.Items)
	}
	verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	// The witness follows the accepted store: the next start needs no flag.
	if err := runErr(t, data); err != nil {
		t.Errorf("restart after the accepted rollback = %v", err)
	}
}

// waitWitnessed waits until the witness file holds a checkpoint of more
// than after entries, and returns its size.
func waitWitnessed(t *testing.T, data string, after uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(data, wiring.WitnessFile))
		var rec audit.WitnessRecord
		json.Unmarshal(b, &rec)
		if rec.Checkpoint.Size > after {
			return rec.Checkpoint.Size
		}
		if time.Now().After(deadline) {
			t.Fatalf("no witnessed checkpoint of more than %d entries: witness has %d", after, rec.Checkpoint.Size)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedDataFileGivesAClearError: a flipped byte in a bbolt meta page,
// a truncated or a zeroed file stop kinerjad with an error that says what
// is wrong, never a panic; the meta-page case can be accepted.
func TestDamagedDataFileGivesAClearError(t *testing.T) {
	page := os.Getpagesize()
	for _, c := range []struct {
		name   string
		damage func(b []byte) []byte
		want   string
		accept bool
	}{
		{"meta page byte flipped", func(b []byte) []byte {
			// The newer meta page has the higher transaction ID (offset 16+48).
			newer := 0
			if binary.LittleEndian.Uint64(b[page+64:]) > binary.LittleEndian.Uint64(b[64:]) {
				newer = 1
			}
			b[newer*page+16+30] ^= 0x10
			return b
		}, "meta page", true},
		{"truncated", func(b []byte) []byte { return b[:len(b)/3] }, "truncated", false},
		{"zeroed", func(b []byte) []byte { clear(b); return b }, "neither meta page is valid", false},
		{"emptied", func(b []byte) []byte { return b[:0] }, "empty", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			s := startServer(t, data)
			s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: "PEMKOT", Name: "Pemerintah Kota"}, nil)
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(backend.BoltPath(data))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(backend.BoltPath(data), c.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			err = runErr(t, data)
			if !errors.Is(err, boltstore.ErrDamaged) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("kinerjad on a damaged file = %v, want ErrDamaged saying %q", err, c.want)
			}
			if c.accept {
				if err := runErr(t, data, "--accept-rollback", "torn write after a power cut, checked by hand"); err != nil {
					t.Errorf("kinerjad --accept-rollback = %v", err)
				}
			}
		})
	}
}

// TestRotatedWriterKey: after a rotation the old events still verify (the
// old public key stays in the keyring); without it they are refused.
func TestRotatedWriterKey(t *testing.T) {
	data := signedJourney(t)
	keyPath, keyringPath := filepath.Join(data, wiring.WriterKeyFile), filepath.Join(data, wiring.WriterKeyringFile)
	if err := os.Rename(keyPath, keyPath+".old"); err != nil {
		t.Fatal(err)
	}
	next, err := wiring.CreateWriterKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := wiring.TrustWriterKey(keyringPath, next.Public()); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, data)
	s.must(200, nipE, nil, "GET", "/v1/skps/"+skpE, nil, nil)
	s.must(201, nipA, nil, "POST", "/v1/skps/"+skpE+"/feedback", httpapi.FeedbackBody{About: httpapi.FeedbackAboutBody{RHKID: firstRHK(t, s)}, Text: "Lanjutkan"}, nil)
	verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	// The old key dropped from the keyring: its events are refused.
	os.Remove(keyPath + ".old")
	if err := os.Remove(keyringPath); err != nil {
		t.Fatal(err)
	}
	if err := wiring.TrustWriterKey(keyringPath, next.Public()); err != nil {
		t.Fatal(err)
	}
	// The snapshot's history no longer authenticates (events of an
	// untrusted key past the witnessed checkpoint): found after /readyz,
	// and the restart rebuilds.
	s = startAfterHistoryEdit(t, data)
	a := s.call(nipE, nil, "GET", "/v1/skps/"+skpE, nil)
	if a.status != 500 || !strings.Contains(string(a.body), "integrity_violation") {
		t.Errorf("GET of an SKP signed by a key no longer trusted = %d %s, want 500 integrity_violation", a.status, a.body)
	}
	var rep audit.Report
	s.must(200, "auditor-1", auditor, "POST", "/v1/audit/verify", nil, &rep)
	if rep.OK || !strings.Contains(fmt.Sprint(rep.Problems), "not trusted") {
		t.Errorf("verification without the old key = %+v, want unknown-key problems", rep)
	}
}

// TestForgedInsertIsRefusedOnlinePostgres: on PostgreSQL a superuser
// inserts a forged rating with a valid chain hash while kinerjad runs.
func TestForgedInsertIsRefusedOnlinePostgres(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	s := startServer(t, data, "--store", "postgres", "--postgres-url", pg, "--migrate")
	journey(t, s)
	verifyAudit(t, s)
	ctx := context.Background()
	insider, err := pgstore.Connect(ctx, pg, pgstore.Options{}) // the store's code, without the writer key
	if err != nil {
		t.Fatal(err)
	}
	forged := forgetest.CopyLast(t, insider, domain.SKPStream(skpE), "keputusan diubah di basis data")
	insider.Close()
	expectIntegrityViolation(t, s, skpE)
	expectStalled(t, s, forged)
	expectVerifyNames(t, s, forged, "unsigned")
}

// TestVerifyUnderConcurrentWritesNeverCriesWolf: while writers append,
// online verification compares the store and the trail at the audit
// projection's point and reports the rest as pending, never as problems.
func TestVerifyUnderConcurrentWritesNeverCriesWolf(t *testing.T) {
	backends := map[string]func(t *testing.T) []string{
		"bolt+memory": func(*testing.T) []string { return nil },
		"postgres+postgres": func(t *testing.T) []string {
			return []string{"--store", "postgres", "--postgres-url", postgresURL(t), "--migrate"}
		},
	}
	for name, args := range backends {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, t.TempDir(), args(t)...)
			journey(t, s)
			rhk := firstRHK(t, s)
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var writes, failed sync.Map
			for w := range 8 {
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						a, err := s.do(nipA, nil, "POST", "/v1/skps/"+skpE+"/feedback", httpapi.FeedbackBody{About: httpapi.FeedbackAboutBody{RHKID: rhk}, Text: fmt.Sprintf("catatan %d/%d", w, i)})
						if err != nil || a.status/100 != 2 && a.status != 409 {
							failed.Store(fmt.Sprint(w, i), fmt.Sprint(a.status, string(a.body), err))
						}
						writes.Store(fmt.Sprint(w, i), true)
					}
				})
			}
			pending := uint64(0)
			for range 15 {
				var rep audit.Report
				s.must(200, "auditor-1", auditor, "POST", "/v1/audit/verify", nil, &rep)
				if !rep.OK {
					t.Errorf("verification under writes = %+v", rep)
					break
				}
				pending = max(pending, rep.Pending)
			}
			stop()
			wg.Wait()
			failed.Range(func(k, v any) bool { t.Errorf("a write failed: %v", v); return false })
			n := 0
			writes.Range(func(any, any) bool { n++; return true })
			t.Logf("%d writes during 15 verifications; at most %d events pending", n, pending)
			verifyAudit(t, s)
		})
	}
}

// TestHistoryChangedBelowTheWitnessedCheckpoint: an event below the
// witnessed checkpoint is edited (its chain hash recomputed). The start-up
// rebuild trusts the checkpoint for that prefix, finds that the root no
// longer matches, rebuilds with every signature checked (the edited event
// is refused), and halts the audit and score projections with the reason.
func TestHistoryChangedBelowTheWitnessedCheckpoint(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	journey(t, s)
	verifyAudit(t, s)
	var entries struct {
		Items []audit.Entry `json:"items"`
	}
	s.must(200, "auditor-1", auditor, "GET", "/v1/audit?limit=1000", nil, &entries)
	waitWitnessed(t, data, uint64(len(entries.Items)-1))
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	edited := editBoltHead(t, data, domain.SKPStream(skpE), func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "Bukti Q4 diterima", "Bukti Q4 ditolak!", 1))
	})
	s = startAfterHistoryEdit(t, data)
	a := s.call("", nil, "GET", "/readyz", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"degraded"`) || !strings.Contains(string(a.body), "history changed") {
		t.Errorf("/readyz = %d %s, want 200 degraded saying the history changed", a.status, a.body)
	}
	expectIntegrityViolation(t, s, skpE)
	expectVerifyNames(t, s, edited, "does not verify")
	var st httpapi.ProjectionList
	s.must(200, "auditor-1", auditor, "GET", "/v1/ops/projections", nil, &st)
	for _, p := range st.Items {
		if (p.Name == audit.Name || p.Name == "scores") && (!p.Stalled || !strings.Contains(p.LastError, "integrity")) {
			t.Errorf("projection %s = %+v, want it stopped for integrity", p.Name, p)
		}
	}
}

// TestIntegrityConfiguration: the integrity flags take their variables
// (KINERJA_WRITER_KEY, …) and default into the data directory, flags win;
// --accept-rollback has no variable (an override is for one start, and a
// variable left in an environment would make it every start's).
func TestIntegrityConfiguration(t *testing.T) {
	full := map[string]string{
		"KINERJA_DATA": "/d", "KINERJA_WRITER_KEY": "/keys/w.key", "KINERJA_WRITER_KEYRING": "/keys/ring.pem",
		"KINERJA_WITNESS_FILE": "/witness/w.json", "KINERJA_WITNESS_NATS_URL": "nats://w:4222",
		"KINERJA_WITNESS_NATS_STREAM": "W", "KINERJA_WITNESS_NATS_SUBJECT": "w.s", "KINERJA_ACCEPT_ROLLBACK": "left over",
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want wiring.IntegrityConfig
	}{
		{"defaults in the data directory", []string{"--data", "/d"}, nil, wiring.IntegrityConfig{
			WriterKey: "/d/" + wiring.WriterKeyFile, WriterKeyring: "/d/" + wiring.WriterKeyringFile, WitnessFile: "/d/" + wiring.WitnessFile,
			WitnessNATSStream: "KINERJA_WITNESS", WitnessNATSSubject: "kinerja.witness"}},
		{"every variable but the override's", nil, full, wiring.IntegrityConfig{
			WriterKey: "/keys/w.key", WriterKeyring: "/keys/ring.pem", WitnessFile: "/witness/w.json",
			WitnessNATSURL: "nats://w:4222", WitnessNATSStream: "W", WitnessNATSSubject: "w.s"}},
		{"flags win; the override is a flag", []string{"--writer-key", "/k2", "--witness-file", "/w2", "--accept-rollback", " restored, OPS-17 "}, full,
			wiring.IntegrityConfig{WriterKey: "/k2", WriterKeyring: "/keys/ring.pem", WitnessFile: "/w2",
				WitnessNATSURL: "nats://w:4222", WitnessNATSStream: "W", WitnessNATSSubject: "w.s", AcceptRollback: "restored, OPS-17"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.Integrity != tt.want {
				t.Errorf("Integrity = %+v, want %+v", c.Integrity, tt.want)
			}
		})
	}
}

// TestCrashBeforeTheFirstWitnessRecord: the first signed checkpoint is
// appended to the store before the witness records it. A crash between the
// two leaves the witness with only the empty record kinerjad wrote at its
// first start, and a store one checkpoint ahead: an ordinary restart, not
// a lost witness. A witness that is gone is still refused.
func TestCrashBeforeTheFirstWitnessRecord(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	witness := filepath.Join(data, wiring.WitnessFile)
	first, err := os.ReadFile(witness)
	if err != nil {
		t.Fatalf("no witness record after the first start: %v", err)
	}
	var rec audit.WitnessRecord
	if err := json.Unmarshal(first, &rec); err != nil || rec.Seq == 0 || rec.Checkpoint.Size != 0 {
		t.Fatalf("first witness record = %+v (%v), want an empty record", rec, err)
	}
	journey(t, s)
	verifyAudit(t, s)
	waitWitnessed(t, data, 0)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	// The same ledger with its witness gone (a copy of the data directory
	// without witness.json, that no process has run on): refused.
	lost := t.TempDir()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != wiring.WitnessFile {
			copyFile(t, filepath.Join(data, e.Name()), filepath.Join(lost, e.Name()))
		}
	}
	if err := runErr(t, lost); !errors.Is(err, audit.ErrRollback) {
		t.Fatalf("start without the witness = %v, want a refusal", err)
	}
	// As if the process had died after appending its first checkpoint and
	// before recording it with the witness.
	if err := os.WriteFile(witness, first, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runErr(t, data); err != nil {
		t.Fatalf("restart after a crash before the first witness record = %v, want a start", err)
	}
}
