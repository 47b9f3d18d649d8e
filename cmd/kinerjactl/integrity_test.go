package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/forgetest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// forge appends, through a store opened without the writer key (an
// insider with the database or the file and the store's own code), a copy
// of the last event of the first SKP stream with another reason: a valid
// link of its hash chain, unsigned. It returns the forged event's ID.
func forge(t *testing.T, s eventstore.Store) string {
	t.Helper()
	ctx := context.Background()
	var stream string
	for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{Filter: eventstore.Filter{StreamPrefixes: []string{"skp-"}}}) {
		if err != nil {
			t.Fatal(err)
		}
		stream = ev.Stream
		break
	}
	return forgetest.CopyLast(t, s, stream, "diubah langsung di basis data").ID.String()
}

// verifyFinds runs kinerjactl verify with args and checks that it fails,
// naming the forged event as unsigned.
func verifyFinds(t *testing.T, id string, args ...string) {
	t.Helper()
	out, err := ctl(t, append([]string{"verify"}, args...)...)
	var rep audit.Report
	if !errors.Is(err, errProblems) || json.Unmarshal([]byte(out), &rep) != nil || rep.OK {
		t.Fatalf("verify after a forged insert = %v: %s", err, out)
	}
	for _, p := range rep.Problems {
		if p.EventID == id && strings.Contains(p.Problem, "unsigned") {
			return
		}
	}
	t.Errorf("verify does not name the forged event %s as unsigned: %+v", id, rep.Problems)
}

// TestOfflineVerifyFindsForgedInsertBolt: a seeded, signed store; a forged
// insert with a valid chain hash after the last checkpoint, found only by
// its missing writer signature; then the same forgery under a checkpoint
// signed over it (an audit key that signed a forged trail: stolen, or fed
// unauthenticated events), which --all-signatures still finds.
func TestOfflineVerifyFindsForgedInsertBolt(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "20", "--year", "2025", "--seed", "3")
	signCheckpoint(t, backend.StoreConfig{Name: "bolt", DataDir: data})
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data)), &rep); err != nil || !rep.OK || rep.Covered == 0 {
		t.Fatalf("verify of the sound store = %+v, %v (want ok, the checkpoint covering its entries)", rep, err)
	}
	s, err := boltstore.Open(backend.BoltPath(data), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := forge(t, s)
	s.Close()
	verifyFinds(t, id, "--data", data)
	// The helper signs over the raw store, forgery included: the root
	// matches what the store holds, so only a writer signature can tell.
	signCheckpoint(t, backend.StoreConfig{Name: "bolt", DataDir: data})
	verifyFinds(t, id, "--data", data, "--all-signatures")
}

// TestOfflineVerifyFindsForgedInsertPostgres: the same on PostgreSQL, the
// forged row inserted by a superuser around the store's writer.
func TestOfflineVerifyFindsForgedInsertPostgres(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "12", "--year", "2025"}, pgFlags...)...)
	for _, name := range []string{audit.Name} {
		mustCtl(t, append([]string{"projections", "rebuild", name}, pgFlags...)...)
	}
	signCheckpointPG(t, pg, data)
	ctx := context.Background()
	s, err := pgstore.Connect(ctx, pg, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := forge(t, s)
	s.Close()
	verifyFinds(t, id, pgFlags...)
}

// TestKeysCommands: init refuses to replace a key; rotate keeps the old
// public key trusted; trust adds another process's keys; export and list
// show the keyring; and the events of a key dropped from the keyring fail
// verification.
func TestKeysCommands(t *testing.T) {
	data := t.TempDir()
	out := mustCtl(t, "keys", "init", "--data", data)
	if !strings.Contains(out, "created") {
		t.Errorf("keys init printed %q", out)
	}
	if _, err := ctl(t, "keys", "init", "--data", data); err == nil {
		t.Error("a second keys init succeeded, want a refusal to replace the key")
	}
	first := strings.Fields(mustCtl(t, "keys", "list", "--data", data))[0]
	mustCtl(t, "seed", "--data", data, "--employees", "20", "--year", "2025", "--seed", "5")
	out = mustCtl(t, "keys", "rotate", "--data", data)
	if !strings.Contains(out, first) {
		t.Errorf("keys rotate printed %q, want the old key %s", out, first)
	}
	list := mustCtl(t, "keys", "list", "--data", data)
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "current") || !strings.HasPrefix(lines[0], first) {
		t.Errorf("keys list after a rotation = %q, want the old key then the current one", list)
	}
	// Another process's key, trusted from its public file.
	other := t.TempDir()
	mustCtl(t, "keys", "init", "--data", other)
	exported := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(exported, []byte(mustCtl(t, "keys", "export", "--data", other)), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCtl(t, "keys", "trust", "--data", data, exported)
	if n := len(strings.Split(strings.TrimSpace(mustCtl(t, "keys", "list", "--data", data)), "\n")); n != 3 {
		t.Errorf("keys list after trust has %d keys, want 3", n)
	}
	// Events signed by both keys verify.
	signCheckpoint(t, backend.StoreConfig{Name: "bolt", DataDir: data})
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data, "--all-signatures")), &rep); err != nil || !rep.OK {
		t.Fatalf("verify after a rotation = %+v, %v", rep, err)
	}
	// Drop the first key: what it signed no longer verifies.
	ring, err := wiring.LoadKeyring(filepath.Join(data, wiring.WriterKeyringFile))
	if err != nil {
		t.Fatal(err)
	}
	kept := eventstore.NewKeyring()
	for _, id := range ring.IDs() {
		if id != first {
			p, _ := ring.Key(id)
			kept.Add(p)
		}
	}
	b, _ := kept.MarshalPEM()
	os.WriteFile(filepath.Join(data, wiring.WriterKeyringFile), b, 0o644)
	out, err = ctl(t, "verify", "--data", data, "--all-signatures")
	if !errors.Is(err, errProblems) || !strings.Contains(out, "not trusted") {
		t.Errorf("verify without the first key = %v: %.300s, want unknown-key problems", err, out)
	}
}
