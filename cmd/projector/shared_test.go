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
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/pgtest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// owners reads who owns each shared partition.
func owners(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	got, err := pglease.Owners(ctx, pool, "kinerja_rm", SharedPartitions(1))
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
	start := time.Now()
	share := (len(SharedPartitions(1)) + len(instances) - 1) / len(instances)
	for {
		own := owners(t, ctx, pool)
		count := map[string]int{}
		ok := true
		for _, p := range SharedPartitions(1) {
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
	seeded := make(chan error, 1)
	go func() {
		_, err := seed.Run(ctx, seed.Config{Employees: 80, Seed: 3, Year: 2025, Workers: 8}, seed.NewServices(h, policy.Default()))
		seeded <- err
	}()
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
	seeded := make(chan error, 1)
	go func() {
		_, err := seed.Run(ctx, seed.Config{Employees: 60, Seed: 4, Year: 2025, Workers: 8}, seed.NewServices(h, policy.Default()))
		seeded <- err
	}()
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
