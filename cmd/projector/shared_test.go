package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pglease"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/pgtest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// ownersOf reads who owns each of partitions.
func ownersOf(t *testing.T, ctx context.Context, pool *pgxpool.Pool, partitions []string) map[string]string {
	t.Helper()
	got, err := pglease.Owners(ctx, pool, "kinerja_rm", partitions)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range got {
		out[o.Partition] = o.Instance
	}
	return out
}

// waitOwners polls until every partition is owned by one of instances and
// none of them owns more than its share; it returns the time that took.
func waitOwners(t *testing.T, ctx context.Context, pool *pgxpool.Pool, instances []string, within time.Duration) (time.Duration, map[string]string) {
	t.Helper()
	return waitOwnersOf(t, ctx, pool, SharedPartitions(1), instances, within)
}

// waitOwnersOf is waitOwners over partitions.
func waitOwnersOf(t *testing.T, ctx context.Context, pool *pgxpool.Pool, partitions, instances []string, within time.Duration) (time.Duration, map[string]string) {
	t.Helper()
	start := time.Now()
	share := (len(partitions) + len(instances) - 1) / len(instances)
	for {
		own := ownersOf(t, ctx, pool, partitions)
		count := map[string]int{}
		ok := true
		for _, p := range partitions {
			in := own[p]
			if !slices.Contains(instances, in) {
				ok = false
			}
			count[in]++
		}
		for _, n := range count {
			ok = ok && n <= share
		}
		if ok {
			return time.Since(start), own
		}
		if time.Since(start) > within {
			t.Fatalf("partitions not shared among %v within %v: %v", instances, within, own)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSharedProjectorsTakeOverAKilledOne: three projectors share the
// partitions (--share); while a writer appends a load, the one that owns
// the audit trail is SIGKILLed. Its partitions are taken by the other two
// within 10 s (measured), each then owning at most ceil(8/2) = 4, and once
// the load is projected the read models equal a single rebuild in memory
// and the audit trail verifies entry by entry: nothing skipped, nothing
// applied twice.
func TestSharedProjectorsTakeOverAKilledOne(t *testing.T) {
	pg := pgtest.NewDatabase(t)
	ctx := context.Background()
	data := t.TempDir()
	if _, err := pgstore.MigrateURL(ctx, pg, ""); err != nil {
		t.Fatal(err)
	}
	args := func(instance string, extra ...string) []string {
		return append([]string{"--postgres-url", pg, "--data", data, "--checkpoint-interval", "100ms", "--deadline-interval", "100ms",
			"--share", "--instance-id", instance, "--lease-poll", "200ms"}, extra...)
	}
	// The first creates the keys and migrates; the others find them.
	procs := map[string]*processHandle{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	procs["p1"] = &processHandle{startChild(t, args("p1", "--migrate", "--listen", metricsAddr)...)}
	procs["p2"] = &processHandle{startChild(t, args("p2")...)}
	procs["p3"] = &processHandle{startChild(t, args("p3")...)}

	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, own := waitOwners(t, ctx, pool, []string{"p1", "p2", "p3"}, 20*time.Second)
	t.Logf("owners before the kill: %v", own)
	checkMetrics(t, metricsAddr, own, "p1", 3)

	store, keys, seeded := seedInBackground(t, ctx, pg, data, 80, 3)
	time.Sleep(700 * time.Millisecond) // mid-load
	victim := own["audit"]
	var lost []string
	for p, in := range own {
		if in == victim {
			lost = append(lost, p)
		}
	}
	if err := procs[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[victim].cmd.Wait()
	var survivors []string
	for in := range procs {
		if in != victim {
			survivors = append(survivors, in)
		}
	}
	took, after := waitOwners(t, ctx, pool, survivors, 10*time.Second)
	t.Logf("killed %s (owned %v) mid-load; its partitions taken over in %v: %v", victim, lost, took.Round(time.Millisecond), after)
	if took >= 10*time.Second {
		t.Errorf("takeover took %v, want < 10s", took)
	}
	if err := <-seeded; err != nil {
		t.Fatal(err)
	}
	verifyAfterLoad(t, ctx, pg, data, store, keys, "three shared projectors, one SIGKILLed")
	// Still shared after the load.
	if _, own := waitOwners(t, ctx, pool, survivors, 5*time.Second); len(own) != len(SharedPartitions(1)) {
		t.Errorf("owners after the load: %v", own)
	}
}

type processHandle struct{ cmd *exec.Cmd }

// checkMetrics reads instance's /metrics: it owns, in
// kinerja_projector_partition_owned, exactly what pg_locks says, counts
// live members, and exports the projection metrics of what it owns.
func checkMetrics(t *testing.T, addr string, own map[string]string, instance string, live int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		problem := metricsProblem(addr, own, instance, live)
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's metrics: %s", instance, problem)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func metricsProblem(addr string, own map[string]string, instance string, live int) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	text := string(body)
	if !strings.Contains(text, fmt.Sprintf("kinerja_projector_live_instances %d\n", live)) {
		return fmt.Sprintf("live_instances is not %d", live)
	}
	for p, in := range own {
		want := 0
		if in == instance {
			want = 1
		}
		if !strings.Contains(text, fmt.Sprintf("kinerja_projector_partition_owned{partition=%q} %d\n", p, want)) {
			return fmt.Sprintf("partition_owned{%s} is not %d", p, want)
		}
		if want == 1 && p != ControlPartition && !strings.Contains(text, fmt.Sprintf("kinerja_projection_checkpoint_position{projection=%q}", p)) {
			return fmt.Sprintf("no checkpoint_position of owned %s", p)
		}
		if want == 0 && strings.Contains(text, fmt.Sprintf("kinerja_projection_checkpoint_position{projection=%q}", p)) {
			return fmt.Sprintf("checkpoint_position of %s, which it does not own", p)
		}
	}
	return ""
}

// TestSharedProjectorCutOffStops: PostgreSQL terminates one shared
// projector's lock connection mid-load (as a network cut that TCP noticed
// would). Its locks are gone at once, so the other takes its partitions
// while the cut-off one may still be applying: the fence in each write
// transaction refuses its commits, it stops its partitions and exits with
// an error, and after the load the read models equal a rebuild and the
// trail verifies.
func TestSharedProjectorCutOffStops(t *testing.T) {
	pg := pgtest.NewDatabase(t)
	ctx := context.Background()
	data := t.TempDir()
	if _, err := pgstore.MigrateURL(ctx, pg, ""); err != nil {
		t.Fatal(err)
	}
	args := func(instance string, extra ...string) []string {
		return append([]string{"--postgres-url", pg, "--data", data, "--checkpoint-interval", "100ms", "--deadline-interval", "100ms",
			"--share", "--instance-id", instance, "--lease-poll", "200ms"}, extra...)
	}
	cut := startChild(t, args("cut", "--migrate")...)
	startChild(t, args("stays")...)
	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	waitOwners(t, ctx, pool, []string{"cut", "stays"}, 20*time.Second)
	store, keys, seeded := seedInBackground(t, ctx, pg, data, 60, 4)
	time.Sleep(700 * time.Millisecond) // mid-load
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'kinerja-lease:kinerja_rm:cut'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminated %d lock connections: %v", n, err)
	}
	exited := make(chan error, 1)
	cutAt := time.Now()
	go func() { exited <- cut.Wait() }()
	select {
	case err := <-exited:
		t.Logf("the cut-off projector exited %v after the cut: %v", time.Since(cutAt).Round(time.Millisecond), err)
		if err == nil {
			t.Error("the cut-off projector exited with status 0, want an error")
		}
	case <-time.After(10 * time.Second):
		cut.Process.Signal(syscall.SIGQUIT) // its goroutines, on stderr
		<-exited
		t.Fatal("the cut-off projector did not stop within 10 s")
	}
	waitOwners(t, ctx, pool, []string{"stays"}, 10*time.Second)
	if err := <-seeded; err != nil {
		t.Fatal(err)
	}
	verifyAfterLoad(t, ctx, pg, data, store, keys, "a shared projector cut off from its locks")
}

// TestSharedAgencyGroupsTakeOverAKilledOne: three projectors share the
// partitions with --agency-groups 2, so the SKP projections and the
// timeline are two partitions each (13 in all). The load is two agencies
// (INST001 in group 0, INST002 in group 1), seeded one after the other,
// then a cross-agency transfer (INST001 releases an employee, INST002
// records the move, and a reporting line after it, in INST002's group)
// while the employee's SKP stays with INST001. Mid-load the owner of the
// audit trail is SIGKILLed; its partitions are taken within 10 s
// (logged), and once the load is projected every group has its
// checkpoint, the read models equal a single rebuild in memory and the
// audit trail verifies entry by entry.
func TestSharedAgencyGroupsTakeOverAKilledOne(t *testing.T) {
	const groups = 2
	if pgreadmodel.GroupOf("INST001", groups) == pgreadmodel.GroupOf("INST002", groups) {
		t.Fatal("the two agencies fall in one group: the test would not split anything")
	}
	pg := pgtest.NewDatabase(t)
	ctx := context.Background()
	data := t.TempDir()
	if _, err := pgstore.MigrateURL(ctx, pg, ""); err != nil {
		t.Fatal(err)
	}
	args := func(instance string, extra ...string) []string {
		return append([]string{"--postgres-url", pg, "--data", data, "--checkpoint-interval", "100ms", "--deadline-interval", "100ms",
			"--share", "--instance-id", instance, "--lease-poll", "200ms", "--agency-groups", fmt.Sprint(groups)}, extra...)
	}
	partitions := SharedPartitions(groups)
	if len(partitions) != 13 {
		t.Fatalf("partitions = %v, want 13", partitions)
	}
	procs := map[string]*processHandle{}
	procs["p1"] = &processHandle{startChild(t, args("p1", "--migrate")...)}
	procs["p2"] = &processHandle{startChild(t, args("p2")...)}
	procs["p3"] = &processHandle{startChild(t, args("p3")...)}
	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, own := waitOwnersOf(t, ctx, pool, partitions, []string{"p1", "p2", "p3"}, 20*time.Second)
	t.Logf("owners before the kill: %v", own)

	keys, err := wiring.LoadWriterKeys(filepath.Join(data, wiring.WriterKeyFile), filepath.Join(data, wiring.WriterKeyringFile), false)
	if err != nil {
		t.Fatal(err)
	}
	store, err := backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Postgres, PostgresURL: pg, Signer: keys.StoreSigner(), Keyring: keys.Keyring})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := &domain.Handler{Log: eventlog.New(store), Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	pol := policy.Default()
	svc := seed.NewServices(h, pol)
	var moved string
	seeded := make(chan error, 1)
	go func() {
		seeded <- func() error {
			taken := map[string]bool{}
			var cast []seed.Cast
			for k, code := range []string{"INST001", "INST002"} {
				st, err := seed.Run(ctx, seed.Config{Employees: 40, Seed: 3 + int64(k), Year: 2025, Workers: 8, AgencyCode: code, TakenNIPs: taken}, svc)
				if err != nil {
					return fmt.Errorf("seed %s: %w", code, err)
				}
				cast = append(cast, st.Cast)
			}
			// The cross-agency transfer: INST001 releases its employee to
			// INST002, whose HR records the move and a reporting line.
			moved = cast[0].Employee
			today := pol.Date(time.Now())
			hr := func(c seed.Cast, agency string) domain.Request {
				return domain.Request{Caller: domain.Principal{ID: c.HRAdmin, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: agency}}
			}
			if _, err := svc.Employees.ReleaseTransfer(ctx, hr(cast[0], "INST001"), employee.ReleaseTransfer{NIP: moved, ToAgency: "INST002",
				ExpiresOn: today.AddDays(30), DecreeRef: "800/1/2026"}); err != nil {
				return fmt.Errorf("release: %w", err)
			}
			if _, err := svc.Employees.ChangePosition(ctx, hr(cast[1], "INST002"), employee.ChangePosition{NIP: moved, UnitID: "INST002",
				Position: employee.Position{Kind: employee.Pelaksana, Title: "Pengadministrasi"}, EffectiveFrom: today}); err != nil {
				return fmt.Errorf("move: %w", err)
			}
			if _, err := svc.Employees.AssignReportingLine(ctx, hr(cast[1], "INST002"), employee.AssignReportingLine{NIP: moved,
				AppraiserNIP: cast[1].Appraiser, SuperiorNIP: cast[1].Superior, EffectiveFrom: today}); err != nil {
				return fmt.Errorf("reporting line after the move: %w", err)
			}
			return nil
		}()
	}()
	time.Sleep(700 * time.Millisecond) // mid-load
	victim := own["audit"]
	var lost []string
	for p, in := range own {
		if in == victim {
			lost = append(lost, p)
		}
	}
	slices.Sort(lost)
	if err := procs[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[victim].cmd.Wait()
	var survivors []string
	for in := range procs {
		if in != victim {
			survivors = append(survivors, in)
		}
	}
	took, after := waitOwnersOf(t, ctx, pool, partitions, survivors, 10*time.Second)
	t.Logf("killed %s (owned %v) mid-load; its partitions taken over in %v: %v", victim, lost, took.Round(time.Millisecond), after)
	if err := <-seeded; err != nil {
		t.Fatal(err)
	}
	verifyAfterLoad(t, ctx, pg, data, store, keys, "three shared projectors in two agency groups, one SIGKILLed")

	// Every group of every split projection checkpointed, in its own row,
	// under the layout pinned at 2; and the transfer split as designed:
	// the moved employee's events before the move in INST001's group, the
	// move and after in INST002's, the SKP with INST001.
	var pinned int64
	if err := pool.QueryRow(ctx, `SELECT position FROM kinerja_rm.checkpoints WHERE projection = 'timeline#groups'`).Scan(&pinned); err != nil || pinned != groups {
		t.Errorf("layout row = %d, %v; want %d", pinned, err, groups)
	}
	for _, p := range partitions {
		if _, g := groupOfPartition(p, groups); g < 0 {
			continue
		}
		var pos int64
		if err := pool.QueryRow(ctx, `SELECT position FROM kinerja_rm.checkpoints WHERE projection = $1`, p).Scan(&pos); err != nil || pos == 0 {
			t.Errorf("checkpoint of %s = %d, %v", p, pos, err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT e.stream, e.type, a.agency FROM kinerja_rm.audit_entries e JOIN kinerja_rm.audit_agency_entries a ON a.seq = e.seq
		WHERE e.stream IN ($1, $2) ORDER BY e.seq`, "employee-"+moved, "skp-"+moved+"-2025")
	if err != nil {
		t.Fatal(err)
	}
	var before, afterMove, skpAgencies []string
	movedYet := false
	for rows.Next() {
		var stream, typ, agency string
		if err := rows.Scan(&stream, &typ, &agency); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(stream, "skp-"):
			skpAgencies = append(skpAgencies, agency)
		case typ == "employee.position_changed.v1" || movedYet:
			movedYet = true
			afterMove = append(afterMove, agency)
		default:
			before = append(before, agency)
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(before) == 0 || len(afterMove) < 2 || len(skpAgencies) == 0 ||
		slices.ContainsFunc(before, func(a string) bool { return a != "INST001" }) ||
		slices.ContainsFunc(afterMove, func(a string) bool { return a != "INST002" }) ||
		slices.ContainsFunc(skpAgencies, func(a string) bool { return a != "INST001" }) {
		t.Errorf("the transferred employee's agencies: before %v, from the move %v, SKP %v", before, afterMove, skpAgencies)
	}
}
