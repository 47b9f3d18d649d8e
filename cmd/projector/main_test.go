package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/pgtest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

const childEnv = "KINERJA_PROJECTOR_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		if err := run(context.Background(), strings.Split(args, "\x1f"), func(string) string { return "" }, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "projector child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild starts the projector in a child process and waits until it
// projects.
func startChild(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\x1f"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l struct{ Msg string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "projecting" {
				close(ready)
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("projector child did not start")
	}
	return cmd
}

// TestKilledProjectorResumesWithoutLossOrDoubles: a projector is SIGKILLed
// while events stream in; a new one resumes from the checkpoints. The
// PostgreSQL read models then equal read models rebuilt in memory from the
// store, and the audit trail verifies entry by entry (a double would show
// as an extra entry).
func TestKilledProjectorResumesWithoutLossOrDoubles(t *testing.T) {
	pg := pgtest.NewDatabase(t)
	ctx := context.Background()
	data := t.TempDir()
	if _, err := pgstore.MigrateURL(ctx, pg, ""); err != nil {
		t.Fatal(err)
	}
	args := []string{"--postgres-url", pg, "--data", data, "--migrate", "--checkpoint-interval", "100ms", "--deadline-interval", "100ms"}
	child := startChild(t, args...)

	// The service's writes, signed with the writer key the projector trusts
	// (it made it in the data directory on its first start).
	store, keys, seeded := seedInBackground(t, ctx, pg, data, 80, 3)
	time.Sleep(700 * time.Millisecond) // mid-stream
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	startChild(t, args...)
	if err := <-seeded; err != nil {
		t.Fatal(err)
	}
	verifyAfterLoad(t, ctx, pg, data, store, keys, "a SIGKILL of the projector")
}

// verifyAfterLoad waits until the process manager and every projection are
// caught up and the trail is signed, then holds the PostgreSQL read models
// to a rebuild in memory and verifies the audit trail entry by entry (a
// double would show as an extra entry, a gap as a missing one).
func verifyAfterLoad(t *testing.T, ctx context.Context, pg, data string, store eventstore.Store, keys *wiring.WriterKeys, what string) {
	t.Helper()
	var head eventstore.Position
	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db, err := pgreadmodel.Open(ctx, pool, pgreadmodel.Options{History: projections.StoreHistory{Store: store}, Policy: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	// The deadline process manager, killed with the rest, records the
	// finality of every evaluation of 2025 whose window passed with no
	// objection: once each, as the system. Wait for it first (its
	// finalities are appends the read models then project).
	pm, err := deadlinestore.OpenPostgres(ctx, pool, "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		head, err = store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := pm.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		behind := false
		for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Filter: deadlines.Filter(), Limit: 1}) {
			behind = err != nil || ev.Position <= head
		}
		due, err := pm.Due(ctx, time.Now(), 10_000)
		if err != nil {
			t.Fatal(err)
		}
		timers := 0
		for _, it := range due {
			if it.Kind == deadlines.FinaliseEvaluation {
				timers++
			}
		}
		if !behind && timers == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process manager did not finalise within 60s (%d timers due, behind %v)", timers, behind)
		}
		time.Sleep(200 * time.Millisecond)
	}
	perStream, bySystem := map[string]int{}, 0
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{Filter: eventstore.Filter{TypePrefixes: []string{"skp.evaluation_finalised."}}}) {
		if err != nil {
			t.Fatal(err)
		}
		perStream[ev.Stream]++
		if ev.Actor.ID == authz.SystemDeadlinesID {
			bySystem++
		}
	}
	for st, n := range perStream {
		if n != 1 {
			t.Errorf("%s holds %d finalities", st, n)
		}
	}
	if bySystem == 0 {
		t.Error("the process manager recorded no finality")
	}

	// Wait until the projector is quiet: every projection caught up with the
	// store's head, and the last checkpoint signed covers the whole trail
	// (its own event projected too).
	deadline = time.Now().Add(60 * time.Second)
	for {
		quiet := true
		head, err = store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range db.Sinks() {
			cp, err := s.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Filter: s.Filter(), Limit: 1}) {
				quiet = quiet && err == nil && ev.Position > head
			}
		}
		size, _ := db.Audit().Size(ctx)
		latest, ok, _ := db.Audit().LatestCheckpoint(ctx)
		if quiet && ok && latest.Size == size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted projector did not catch up within 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The reference: every read model rebuilt in memory from the store, up
	// to where the projector got (it also projected the signed checkpoints
	// it appended after the seed; no entry arrives after the seed, so it
	// signs nothing more).
	var until eventstore.Position
	for _, s := range db.Sinks() {
		cp, err := s.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		until = max(until, cp)
	}
	m := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: store}, Policy: policy.Default()})
	if _, err := projections.CatchUpAll(ctx, store, m.Sinks(), projections.CatchUpOptions{Until: until}); err != nil {
		t.Fatal(err)
	}
	pgB := &readmodeltest.Backend{Sinks: db.Sinks(), Directory: db.Directory(), SKPs: db.SKPs(), Evaluations: db.Evaluations(),
		Scores: db.Scores(), Objections: db.Objections(), Timeline: db.Timeline(), Audit: db.Audit()}
	memB := &readmodeltest.Backend{Sinks: m.Sinks(), Directory: m.Directory(), SKPs: m.SKPs(), Evaluations: m.Evaluations(),
		Scores: m.Scores(), Objections: m.Objections(), Timeline: m.Timeline(), Audit: m.Audit()}
	want, got := readmodeltest.Take(t, memB), readmodeltest.Take(t, pgB)
	// A sink's checkpoint stops at the last event it reads, which differs
	// between a live projector and a one-pass rebuild; the data may not.
	want.Checkpoints, got.Checkpoints = nil, nil
	readmodeltest.SameSnapshot(t, what, want, got)

	key, err := wiring.ReadVerifierKey(filepath.Join(data, wiring.AuditPubKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, store, audit.VerifyOptions{Keys: []*merkle.Verifier{key}, Stored: db.Audit(), WriterKeys: keys.Keyring})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("audit verification after the kill: %+v", rep)
	}
	accountedFor(t, rep)
	t.Logf("%s: %d events, %d trail entries, %d checkpoints, %d pending verified; %d finalities recorded by the process manager", what, rep.Checked, rep.Size, rep.Checkpoints, rep.Pending, bySystem)
}

// The projector rides through a PostgreSQL restart (a private server,
// stopped immediate as a crash would, right after the projector caught up
// with the seed): it resumes by itself, projects what is appended after
// the restart, signs it, and its audit trail verifies entry by entry.
//
// The server's WAL writer is slowed down (wal_writer_delay=10s), so that a
// crash loses every transaction committed with synchronous_commit off since
// the last synchronous commit: the read models once committed that way, and
// the projector, which goes on from what it delivered in memory, then
// never applied again the batches the crash took away (the trail lacked
// them). With the setting the loss is near certain, not 1 run in 4.
func TestProjectorRidesThroughAPostgreSQLRestart(t *testing.T) {
	pg := pgtest.StartPrivate(t, "wal_writer_delay=10000")
	url := pg.URL()
	ctx := context.Background()
	data := t.TempDir()
	if _, err := pgstore.MigrateURL(ctx, url, ""); err != nil {
		t.Fatal(err)
	}
	startChild(t, "--postgres-url", url, "--data", data, "--migrate", "--checkpoint-interval", "100ms")
	keys, err := wiring.LoadWriterKeys(filepath.Join(data, wiring.WriterKeyFile), filepath.Join(data, wiring.WriterKeyringFile), false)
	if err != nil {
		t.Fatal(err)
	}
	store, err := backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Postgres, PostgresURL: url, Signer: keys.StoreSigner(), Keyring: keys.Keyring})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := &domain.Handler{Log: eventlog.New(store), Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	if _, err := seed.Run(ctx, seed.Config{Employees: 60, Seed: 5, Year: 2025, Workers: 4}, seed.NewServices(h, policy.Default())); err != nil {
		t.Fatal(err)
	}
	// The crash comes right after the projector applied the seed's last
	// events, while those commits are still only in the WAL buffers.
	seeded, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	watch, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	watched, err := pgreadmodel.Open(ctx, watch, pgreadmodel.Options{Policy: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		cp, _ := watched.Sink(audit.Name).Checkpoint(ctx)
		if cp >= seeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projector did not catch up with the seed: audit at %d, head %d", cp, seeded)
		}
	}
	watch.Close()
	pg.Stop()
	time.Sleep(500 * time.Millisecond) // the projector's connections fail meanwhile
	pg.Start()
	// Appended after the restart: the audit trail takes every event.
	for i := range 5 {
		ev := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "ops.marker.v1", SchemaVersion: 1, OccurredAt: time.Now(),
			Actor: eventstore.Actor{ID: "ops", Role: "HR_ADMIN"}, Data: []byte(`{}`)}
		var err error
		for range 100 { // the store's pool reconnects too
			if _, err = store.Append(ctx, fmt.Sprintf("ops-marker-%d", i), eventstore.NoStream, ev); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db, err := pgreadmodel.Open(ctx, pool, pgreadmodel.Options{History: projections.StoreHistory{Store: store}, Policy: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		size, _ := db.Audit().Size(ctx)
		latest, ok, _ := db.Audit().LatestCheckpoint(ctx)
		cp, _ := db.Sink(audit.Name).Checkpoint(ctx)
		if ok && latest.Size == size && cp >= head {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projector did not catch up after the restart: trail %d entries, latest checkpoint %d (%v), audit at %d, head %d", size, latest.Size, ok, cp, head)
		}
		time.Sleep(200 * time.Millisecond)
	}
	key, err := wiring.ReadVerifierKey(filepath.Join(data, wiring.AuditPubKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, store, audit.VerifyOptions{Keys: []*merkle.Verifier{key}, Stored: db.Audit(), WriterKeys: keys.Keyring})
	if err != nil || !rep.OK {
		t.Fatalf("audit verification after the restart: %+v, %v", rep, err)
	}
	accountedFor(t, rep)
	t.Logf("%d events, %d trail entries, %d checkpoints, %d pending verified after a PostgreSQL restart", rep.Checked, rep.Size, rep.Checkpoints, rep.Pending)
}

// accountedFor checks that a verification accounts for every event it
// read: each is a trail entry compared with the stored one, a signed
// checkpoint (not a trail entry), or pending beyond the trail's
// watermark. "2,745 events, 2,739 trail entries" is therefore no missing
// entry when 6 of the events are checkpoints; a trail that lacked an
// event below its watermark fails the entry-by-entry comparison instead.
func accountedFor(t *testing.T, rep audit.Report) {
	t.Helper()
	if rep.Checked != rep.Size+uint64(rep.Checkpoints)+rep.Pending {
		t.Errorf("verification read %d events but accounts for %d entries + %d checkpoints + %d pending", rep.Checked, rep.Size, rep.Checkpoints, rep.Pending)
	}
}

// TestAgencyGroupPartitions: --agency-groups 2 makes 13 partitions, a
// split projection's name in --partitions stands for all its groups, and
// each group partition names its projection and group.
func TestAgencyGroupPartitions(t *testing.T) {
	if got := SharedPartitions(1); strings.Join(got, ",") != "audit,directory,skps,evaluations,scores,objections,timeline,control" {
		t.Errorf("SharedPartitions(1) = %v", got)
	}
	want := "audit,directory,skps#0/2,skps#1/2,evaluations#0/2,evaluations#1/2,scores#0/2,scores#1/2,objections#0/2,objections#1/2,timeline#0/2,timeline#1/2,control"
	if got := SharedPartitions(2); strings.Join(got, ",") != want {
		t.Errorf("SharedPartitions(2) = %v", got)
	}
	c, err := parseConfig([]string{"--postgres-url", "x", "--share", "--agency-groups", "2", "--partitions", "timeline,skps#1/2,audit", "--instance-id", "p-1"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.eligible(), ","); got != "timeline#0/2,timeline#1/2,skps#1/2,audit" {
		t.Errorf("eligible = %v", got)
	}
	for _, c := range []struct {
		name, projection string
		group            int
	}{{"timeline#1/2", "timeline", 1}, {"skps#0/2", "skps", 0}, {"audit", "audit", -1}, {"control", "control", -1}, {"timeline#1/3", "timeline#1/3", -1}} {
		if p, g := groupOfPartition(c.name, 2); p != c.projection || g != c.group {
			t.Errorf("groupOfPartition(%q, 2) = %q, %d", c.name, p, g)
		}
	}
}

func TestConfigRefusals(t *testing.T) {
	if _, err := parseConfig([]string{"--postgres-url", "x", "--share", "--partitions", "audit,control", "--instance-id", "p-1"}, func(string) string { return "" }, io.Discard); err != nil {
		t.Errorf("a valid shared configuration refused: %v", err)
	}
	for _, args := range [][]string{{"--store", "bolt", "--postgres-url", "x"}, {}, {"--store", "kurrentdb", "--postgres-url", "x"},
		// Shared mode: an unknown partition, no poll, no group, an id
		// PostgreSQL's application_name would mangle or cut.
		{"--postgres-url", "x", "--share", "--partitions", "audit,nope"},
		{"--postgres-url", "x", "--share", "--lease-poll", "0s"},
		{"--postgres-url", "x", "--share", "--lease-group", ""},
		{"--postgres-url", "x", "--share", "--instance-id", "a\x00b"},
		{"--postgres-url", "x", "--share", "--instance-id", "a b"},
		{"--postgres-url", "x", "--share", "--instance-id", "é"},
		{"--postgres-url", "x", "--share", "--instance-id", strings.Repeat("x", 41)},
		// Agency groups: out of range, without --share, a group of
		// another G, a group of a projection that cannot be split.
		{"--postgres-url", "x", "--share", "--agency-groups", "0"},
		{"--postgres-url", "x", "--share", "--agency-groups", "-1"},
		{"--postgres-url", "x", "--share", "--agency-groups", "65"},
		{"--postgres-url", "x", "--agency-groups", "2"},
		{"--postgres-url", "x", "--agency-groups", "-1"},
		{"--postgres-url", "x", "--share", "--agency-groups", "2", "--partitions", "timeline#0/3"},
		{"--postgres-url", "x", "--share", "--agency-groups", "2", "--partitions", "timeline#2/2"},
		{"--postgres-url", "x", "--share", "--agency-groups", "2", "--partitions", "audit#0/2"},
		{"--postgres-url", "x", "--share", "--partitions", "timeline#0/2"},
	} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseConfig(%v) succeeded", args)
		}
	}
}

// The projector's variables: --listen is KINERJA_PROJECTOR_LISTEN (an
// environment shared with kinerjad must not make both listen on one
// address), and a variable that does not parse is refused.
func TestConfigEnvironment(t *testing.T) {
	env := map[string]string{"KINERJA_POSTGRES_URL": "postgres://x", "KINERJA_LISTEN": "127.0.0.1:8080",
		"KINERJA_PROJECTOR_LISTEN": "127.0.0.1:9090", "KINERJA_MIGRATE": "1",
		"KINERJA_WITNESS_FILE": "/witness/w.json", "KINERJA_WRITER_KEY": "/keys/w.key", "KINERJA_ACCEPT_ROLLBACK": "left over"}
	c, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.Listen != "127.0.0.1:9090" || !c.Migrate || c.PostgresURL != "postgres://x" {
		t.Errorf("parseConfig = %+v, %v", c, err)
	}
	// The integrity variables apply, except an override's: that is a flag
	// given for one start.
	if c.Integrity.WitnessFile != "/witness/w.json" || c.Integrity.WriterKey != "/keys/w.key" || c.Integrity.AcceptRollback != "" {
		t.Errorf("Integrity = %+v, want the variables' files and no override", c.Integrity)
	}
	env["KINERJA_CHECKPOINT_EVERY"] = "often"
	if _, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "KINERJA_CHECKPOINT_EVERY") {
		t.Errorf("KINERJA_CHECKPOINT_EVERY=often = %v, want an error naming it", err)
	}
}

// Exit codes (cmd/internal/exitcode): -h and --help 0, configuration 2.
func TestExitCodes(t *testing.T) {
	for args, want := range map[string]int{"-h": exitcode.OK, "--help": exitcode.OK, "--no-such-flag": exitcode.UsageErr, "--store mongo": exitcode.UsageErr, "": exitcode.UsageErr} {
		err := run(context.Background(), strings.Fields(args), func(string) string { return "" }, io.Discard, io.Discard)
		if got := exitcode.Code(err); got != want {
			t.Errorf("projector %q: exit %d (%v), want %d", args, got, err, want)
		}
	}
}

// The projector takes kinerjad's policy flags (wiring.PolicyFlags, issue
// 11): a WITA agency's deadlines are WITA's in the projector's process
// manager too, from a flag or the shared environment; a value kinerjad
// refuses, the projector refuses.
func TestPolicyFlags(t *testing.T) {
	noenv := func(string) string { return "" }
	base := []string{"--postgres-url", "postgres://x"}
	c, err := parseConfig(base, noenv, io.Discard)
	if err != nil || c.Policy.Location != policy.WIB {
		t.Fatalf("default zone %v, %v", c.Policy.Location, err)
	}
	c, err = parseConfig(append(base, "--zone", "WITA", "--establish-deadline", "02-15", "--improvement-plan-days", "10"), noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	set := c.Deadlines.Settings(c.Policy)
	if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, set.Policy.Location).Zone(); off != 8*3600 ||
		set.Policy.EstablishDeadline != (policy.MonthDay{Month: time.February, Day: 15}) || set.ImprovementPlanDays != 10 {
		t.Errorf("settings %+v: want WITA, 15 February, plan due in 10 days", set)
	}
	c, err = parseConfig(base, func(k string) string { return map[string]string{"KINERJA_ZONE": "WIT"}[k] }, io.Discard)
	if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, c.Policy.Location).Zone(); err != nil || off != 9*3600 {
		t.Errorf("KINERJA_ZONE=WIT: %v, %v", c.Policy.Location, err)
	}
	for _, bad := range [][]string{{"--zone", "UTC"}, {"--establish-deadline", "13-01"}, {"--cadence", "WEEKLY"}, {"--improvement-plan-days", "-1"}} {
		if _, err := parseConfig(append(base, bad...), noenv, io.Discard); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v = %v, want an error naming the flag", bad, err)
		}
	}
}

// seedInBackground opens the PostgreSQL store with the writer key the
// projector made in data (so it trusts the writes) and seeds employees into
// it in a goroutine, as the service would write; the channel gets the
// seed's result. The store is closed when the test ends.
func seedInBackground(t *testing.T, ctx context.Context, pg, data string, employees int, seedNo int64) (eventstore.Store, *wiring.WriterKeys, <-chan error) {
	t.Helper()
	keys, err := wiring.LoadWriterKeys(filepath.Join(data, wiring.WriterKeyFile), filepath.Join(data, wiring.WriterKeyringFile), false)
	if err != nil {
		t.Fatal(err)
	}
	store, err := backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Postgres, PostgresURL: pg, Signer: keys.StoreSigner(), Keyring: keys.Keyring})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &domain.Handler{Log: eventlog.New(store), Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	seeded := make(chan error, 1)
	go func() {
		_, err := seed.Run(ctx, seed.Config{Employees: employees, Seed: seedNo, Year: 2025, Workers: 8}, seed.NewServices(h, policy.Default()))
		seeded <- err
	}()
	return store, keys, seeded
}
