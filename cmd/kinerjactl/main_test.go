package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/pgtest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// ctl runs kinerjactl with args and an empty environment.
func ctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &out, &errb)
	if err != nil {
		t.Logf("kinerjactl %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), err
}

func mustCtl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ctl(t, args...)
	if err != nil {
		t.Fatalf("kinerjactl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// withWriterKey returns sf with the data directory's writer key (made if
// missing) signing, as kinerjad opens its store.
func withWriterKey(t *testing.T, sf backend.StoreConfig) backend.StoreConfig {
	t.Helper()
	k, err := wiring.LoadWriterKeys(filepath.Join(sf.DataDir, wiring.WriterKeyFile), filepath.Join(sf.DataDir, wiring.WriterKeyringFile), true)
	if err != nil {
		t.Fatal(err)
	}
	sf.Signer, sf.Keyring = k.StoreSigner(), k.Keyring
	return sf
}

// signCheckpoint signs a checkpoint of the whole trail with the data
// directory's key, as a running kinerjad would.
func signCheckpoint(t *testing.T, sf backend.StoreConfig) {
	t.Helper()
	ctx := context.Background()
	s, err := backend.OpenStore(ctx, withWriterKey(t, sf))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: s}, Policy: policy.Default()})
	if _, err := projections.CatchUp(ctx, s, m.Sink(audit.Name), projections.CatchUpOptions{}); err != nil {
		t.Fatal(err)
	}
	key, err := wiring.LoadOrCreateAuditKey(filepath.Join(sf.DataDir, wiring.AuditKeyFile), "kinerja-ledger")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := audit.NewSigner(audit.SignerConfig{Store: s, Trail: m.Audit(), Key: key}).SignNow(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSeedExportVerifyEmbedded(t *testing.T) {
	data := t.TempDir()
	var stats struct {
		Employees int `json:"employees"`
		SKPs      int `json:"skps"`
	}
	out := mustCtl(t, "seed", "--data", data, "--employees", "40", "--year", "2025", "--seed", "7", "--sign-checkpoint=false")
	if err := json.Unmarshal([]byte(out), &stats); err != nil || stats.Employees != 40 || stats.SKPs == 0 {
		t.Fatalf("seed printed %s (%v)", out, err)
	}
	// Nothing signed yet (--sign-checkpoint=false): export refuses; online verification still
	// checks every chain (and warns about nothing signed).
	if _, err := ctl(t, "export", "--data", data, "--nip", "198211102004061444", "--year", "2025"); err == nil {
		t.Error("export without a signed checkpoint succeeded")
	}
	signCheckpoint(t, backend.StoreConfig{Name: "bolt", DataDir: data})
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data)), &rep); err != nil || !rep.OK || rep.Checkpoints != 1 {
		t.Fatalf("verify = %+v, %v", rep, err)
	}
	// Export the appeal bundle of an employee who has an SKP.
	nip := firstSKPOwner(t, data)
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	mustCtl(t, "export", "--data", data, "--nip", nip, "--year", "2025", "--out", bundle)
	var br audit.BundleReport
	pub := filepath.Join(data, wiring.AuditPubKeyFile)
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--bundle", bundle, "--key", pub)), &br); err != nil || !br.OK || br.Proven == 0 || !br.Trusted {
		t.Fatalf("verify --bundle = %+v, %v", br, err)
	}
	// A forged bundle fails, and the command says so with its exit status.
	raw, _ := os.ReadFile(bundle)
	var b map[string]any
	json.Unmarshal(raw, &b)
	streams := b["streams"].([]any)
	ev := streams[len(streams)-1].(map[string]any)["events"].([]any)[1].(map[string]any)
	ev["reason"] = "forged"
	forged := filepath.Join(t.TempDir(), "forged.json")
	raw, _ = json.Marshal(b)
	os.WriteFile(forged, raw, 0o600)
	out, err := ctl(t, "verify", "--bundle", forged, "--key", pub)
	if !errors.Is(err, errProblems) || !strings.Contains(out, "hash chain") {
		t.Errorf("verify of a forged bundle = %v, %s", err, out)
	}
	if code := exitcode.Code(err); code != exitcode.Verify {
		t.Errorf("verify of a forged bundle exits %d, want %d", code, exitcode.Verify)
	}
	// Without --key, the data directory's key is the trusted one (as the
	// help says), not the bundle's own.
	br = audit.BundleReport{}
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--bundle", bundle, "--data", data)), &br); err != nil || !br.OK || !br.Trusted {
		t.Fatalf("verify --bundle with the default key = %+v, %v", br, err)
	}
}

// firstSKPOwner returns the NIP of the first SKP stream in the store.
func firstSKPOwner(t *testing.T, data string) string {
	t.Helper()
	s, err := backend.OpenStore(context.Background(), backend.StoreConfig{Name: "bolt", DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for ev, err := range s.ReadAll(context.Background(), eventstoreAll()) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev.Stream, "skp-") {
			return ev.Stream[4:22]
		}
	}
	t.Fatal("no SKP stream")
	return ""
}

func TestTokenAndUsage(t *testing.T) {
	data := t.TempDir()
	tok := strings.TrimSpace(mustCtl(t, "token", "--init", "--data", data, "--sub", "19660801 198803 1 001", "--roles", "hr_admin,AUDITOR"))
	if strings.Count(tok, ".") != 2 {
		t.Errorf("token = %q, want a JWT", tok)
	}
	for _, args := range [][]string{{}, {"nope"}, {"token", "--data", data}, {"token", "--data", data, "--sub", "x", "--roles", "KING"},
		{"export", "--nip", "12", "--year", "2025"}, {"projections"}, {"projections", "rebuild"}, {"projections", "replay"},
		{"projections", "replay", "timeline", "--data", data}, {"bench"}} {
		if _, err := ctl(t, args...); err == nil {
			t.Errorf("kinerjactl %v succeeded, want an error", args)
		}
	}
}

func TestBenchStoreBolt(t *testing.T) {
	out := mustCtl(t, "bench", "store", "--data", t.TempDir(), "--writers", "1,4", "--streams-per-writer", "5", "--events-per-stream", "3")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("bench printed %d lines, want 3:\n%s", len(lines), out)
	}
	var r struct {
		Bench        string  `json:"bench"`
		Events       int     `json:"events"`
		EventsPerSec float64 `json:"events_per_sec"`
		P99          float64 `json:"p99_ms"`
	}
	json.Unmarshal([]byte(lines[1]), &r)
	if r.Bench != "append" || r.Events != 60 || r.EventsPerSec <= 0 || r.P99 <= 0 {
		t.Errorf("bench line = %+v", r)
	}
}

// postgresURL creates a fresh database for one test (see pgtest).
func postgresURL(t *testing.T) string { return pgtest.NewDatabase(t) }

func TestPostgresMigrateSeedStatusRebuildVerify(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	out := mustCtl(t, "migrate", "--postgres-url", pg)
	if !strings.Contains(out, "read model schema") || !strings.Contains(out, "applied") || !strings.Contains(out, "deadline process manager schema kinerja_deadlines: applied") {
		t.Errorf("migrate printed %q", out)
	}
	if out := mustCtl(t, "migrate", "--postgres-url", pg); strings.Contains(out, "applied") {
		t.Errorf("a second migrate applied something: %q", out)
	}
	mustCtl(t, append([]string{"seed", "--employees", "30", "--year", "2025"}, pgFlags...)...)
	// The read models have not projected anything yet: status shows the lag.
	var rows []statusRow
	json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, pgFlags...)...)), &rows)
	// The seven read models and the deadline process manager (which
	// kinerjad or the projector runs; it is not rebuilt blue/green).
	if len(rows) != 8 || rows[0].LagEvents == 0 || rows[7].Name != "deadlines" || rows[7].LagEvents == 0 {
		t.Fatalf("status before projecting = %+v", rows)
	}
	rows = rows[:7]
	// Rebuild every projection blue/green: each catches up and swaps in,
	// every writer signature verified (--cover=false; the seed signed and
	// witnessed a checkpoint, which `rebuild all` below reads under).
	for _, r := range rows {
		mustCtl(t, append([]string{"projections", "rebuild", r.Name, "--cover=false"}, pgFlags...)...)
	}
	json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, pgFlags...)...)), &rows)
	for _, r := range rows[:7] {
		if r.LagEvents != 0 || r.Generation < 2 {
			t.Errorf("after rebuild %s: %+v", r.Name, r)
		}
	}
	// All seven again, from one read of the log covered by the seed's
	// witnessed checkpoint: the same tables, row for row, as the rebuilds
	// one by one made with every signature verified.
	before := readModelDigests(t, pg, data)
	out = mustCtl(t, append([]string{"projections", "rebuild", "all"}, pgFlags...)...)
	if n := strings.Count(out, "rebuilt "); n != 7 {
		t.Errorf("rebuild all printed %q, want 7 projections rebuilt", out)
	}
	json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, pgFlags...)...)), &rows)
	for _, r := range rows[:7] {
		if r.LagEvents != 0 || r.Generation != 3 {
			t.Errorf("after rebuild all: %+v, want generation 3 at the head", r)
		}
	}
	if after := readModelDigests(t, pg, data); !maps.Equal(before, after) {
		t.Errorf("rebuild all changed the read models: digests %v, before %v", after, before)
	}
	if _, err := ctl(t, append([]string{"projections", "rebuild", "skps,nosuch"}, pgFlags...)...); err == nil {
		t.Error("rebuild of an unknown projection in a list succeeded")
	}
	// The seed signed one checkpoint; this signs another unless the seed's
	// already covered the whole trail (its read may stop short, at a
	// snapshot horizon another transaction of the cluster holds).
	signCheckpointPG(t, pg, data)
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, append([]string{"verify"}, pgFlags...)...)), &rep); err != nil || !rep.OK || rep.Checkpoints == 0 {
		t.Fatalf("verify on PostgreSQL = %+v, %v", rep, err)
	}
	// The audit trail's two rebuilds retired generations 1 and 2; the live
	// trail reproduces both, so they are dropped, and the trail verifies.
	if out := mustCtl(t, append([]string{"projections", "drop-retired"}, pgFlags...)...); !strings.Contains(out, "generation 1\n") || !strings.Contains(out, "generation 2\n") {
		t.Errorf("drop-retired printed %q, want generations 1 and 2 dropped", out)
	}
	if out := mustCtl(t, append([]string{"projections", "drop-retired"}, pgFlags...)...); !strings.Contains(out, "no retired audit generation") {
		t.Errorf("a second drop-retired printed %q", out)
	}
	if err := json.Unmarshal([]byte(mustCtl(t, append([]string{"verify"}, pgFlags...)...)), &rep); err != nil || !rep.OK {
		t.Fatalf("verify after drop-retired = %+v, %v", rep, err)
	}
}

// readModelDigests returns, per table of the seven read models, a digest of
// its rows in a fixed order.
func readModelDigests(t *testing.T, pg, data string) map[string]string {
	t.Helper()
	ctx := context.Background()
	l, db, err := openPostgresReadModels(ctx, storeFlags{data: data, store: "postgres", postgresURL: pg}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	out := map[string]string{}
	for _, name := range pgreadmodel.Names() {
		for _, table := range pgreadmodel.Tables(name) {
			var d *string
			q := `SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM ` + pgx.Identifier{db.Schema(), table}.Sanitize() + ` r`
			if table == "skp_counts" { // its rows of 0 are read as none; which exist depends on the batches
				q += ` WHERE n <> 0 OR late <> 0`
			}
			if table == "skp_coverage" { // likewise (read-model migration 0006)
				q += ` WHERE n <> 0`
			}
			if err := l.pool.QueryRow(ctx, q).Scan(&d); err != nil {
				t.Fatal(err)
			}
			if d != nil {
				out[table] = *d
			}
		}
	}
	if len(out) < 7 {
		t.Fatalf("only %d read-model tables have rows: %v", len(out), out)
	}
	return out
}

// signCheckpointPG signs a checkpoint over the PostgreSQL trail.
func signCheckpointPG(t *testing.T, pg, data string) {
	t.Helper()
	ctx := context.Background()
	l, db, err := openPostgresReadModels(ctx, storeFlags{data: data, store: "postgres", postgresURL: pg}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	s, err := backend.OpenStore(ctx, withWriterKey(t, backend.StoreConfig{Name: backend.Postgres, PostgresURL: pg, DataDir: data}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := projections.CatchUp(ctx, l.store, db.Sink(audit.Name), projections.CatchUpOptions{}); err != nil {
		t.Fatal(err)
	}
	key, err := wiring.LoadOrCreateAuditKey(filepath.Join(data, wiring.AuditKeyFile), "kinerja-ledger")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := audit.NewSigner(audit.SignerConfig{Store: s, Trail: db.Audit(), Key: key}).SignNow(ctx); err != nil {
		t.Fatal(err)
	}
	// Project the checkpoint event too, so the stored trail knows it.
	if _, err := projections.CatchUp(ctx, l.store, db.Sink(audit.Name), projections.CatchUpOptions{}); err != nil {
		t.Fatal(err)
	}
}

func eventstoreAll() eventstore.ReadAllOptions { return eventstore.ReadAllOptions{} }

// kinerjactl --version (and version) prints the build on stdout and
// succeeds.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		out := mustCtl(t, arg)
		if !strings.HasPrefix(out, "kinerjactl ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("kinerjactl %s = %q", arg, out)
		}
	}
}
