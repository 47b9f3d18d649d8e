package pglease_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pglease"
)

func dbURL(t *testing.T) string {
	u := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	return u
}

// work is a partition that records whether it runs.
type work struct {
	mu      *sync.Mutex
	running map[string]int
	name    string
}

func (w work) Start(context.Context) error {
	w.mu.Lock()
	w.running[w.name]++
	w.mu.Unlock()
	return nil
}
func (w work) Stop() { w.mu.Lock(); w.running[w.name]--; w.mu.Unlock() }

var parts = []string{"a", "b", "c", "d", "e", "f", "g", "h"}

func join(t *testing.T, ctx context.Context, url, group, instance string, mu *sync.Mutex, running map[string]int) (*pglease.Member, context.CancelFunc, chan error) {
	t.Helper()
	m, err := pglease.Join(ctx, pglease.Config{URL: url, Group: group, Instance: instance, Partitions: parts, Poll: 50 * time.Millisecond,
		New: func(name string) (pglease.Partition, error) { return work{mu: mu, running: running, name: name}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return m, cancel, done
}

// balanced waits until every partition runs exactly once and each member
// holds at most its share.
func balanced(t *testing.T, ctx context.Context, pool *pgxpool.Pool, group string, members []*pglease.Member, mu *sync.Mutex, running map[string]int) {
	t.Helper()
	share := (len(parts) + len(members) - 1) / len(members)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		total := 0
		for _, m := range members {
			n := len(m.Owned())
			total += n
			ok = ok && n <= share
		}
		mu.Lock()
		for _, p := range parts {
			ok = ok && running[p] == 1
		}
		mu.Unlock()
		if ok && total == len(parts) {
			owners, err := pglease.Owners(ctx, pool, group, parts)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range owners {
				if o.Instance == "" {
					t.Fatalf("%s has no owner in pg_locks", o.Partition)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			var got []string
			for _, m := range members {
				got = append(got, fmt.Sprint(m.Owned()))
			}
			t.Fatalf("not balanced over %d members: %v, running %v", len(members), got, running)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBalanceJoinLeave: one member takes all 8; a second and third join
// and the work spreads to at most ceil(8/n) each, never running twice; one
// leaves and the others take its share.
func TestBalanceJoinLeave(t *testing.T) {
	url := dbURL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	group := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	var mu sync.Mutex
	running := map[string]int{}
	a, _, _ := join(t, ctx, url, group, "a", &mu, running)
	balanced(t, ctx, pool, group, []*pglease.Member{a}, &mu, running)
	b, _, _ := join(t, ctx, url, group, "b", &mu, running)
	balanced(t, ctx, pool, group, []*pglease.Member{a, b}, &mu, running)
	c, stopC, doneC := join(t, ctx, url, group, "c", &mu, running)
	balanced(t, ctx, pool, group, []*pglease.Member{a, b, c}, &mu, running)
	stopC()
	if err := <-doneC; err != nil {
		t.Fatal(err)
	}
	doneC <- nil // for the cleanup
	balanced(t, ctx, pool, group, []*pglease.Member{a, b}, &mu, running)
}

// TestInstanceInUse: a second live member with the same instance id is
// refused.
func TestInstanceInUse(t *testing.T) {
	url := dbURL(t)
	ctx := context.Background()
	group := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	var mu sync.Mutex
	join(t, ctx, url, group, "same", &mu, map[string]int{})
	_, err := pglease.Join(ctx, pglease.Config{URL: url, Group: group, Instance: "same", Partitions: parts,
		New: func(string) (pglease.Partition, error) { return nil, errors.New("unused") }})
	if !errors.Is(err, pglease.ErrInstanceInUse) {
		t.Fatalf("Join with a live member's id: %v, want ErrInstanceInUse", err)
	}
}

// TestFenceAfterLockLost: a member's check passes inside a transaction
// while its connection holds the partition, and fails with ErrFenced once
// that connection is gone (terminated by the server, as a dead or cut-off
// process's would be), even though the member itself has not noticed yet.
func TestFenceAfterLockLost(t *testing.T) {
	url := dbURL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	group := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	var mu sync.Mutex
	running := map[string]int{}
	m, _, _ := join(t, ctx, url, group, "solo", &mu, running)
	balanced(t, ctx, pool, group, []*pglease.Member{m}, &mu, running)
	check := func() error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		return m.Fence("c")(ctx, tx)
	}
	if err := check(); err != nil {
		t.Fatalf("fence while owning: %v", err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Fence("not-a-partition")(ctx, tx)
	tx.Rollback(ctx)
	if !errors.Is(err, pglease.ErrFenced) {
		t.Fatalf("fence of a partition never owned: %v", err)
	}
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, "kinerja-lease:"+group+":solo"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := check()
		if errors.Is(err, pglease.ErrFenced) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fence after the lock connection died: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// allOwned waits until every partition is owned (per pg_locks) and runs
// exactly once.
func allOwned(t *testing.T, ctx context.Context, pool *pgxpool.Pool, group string, mu *sync.Mutex, running map[string]int) []pglease.Owner {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		owners, err := pglease.Owners(ctx, pool, group, parts)
		if err != nil {
			t.Fatal(err)
		}
		ok := true
		mu.Lock()
		for _, o := range owners {
			ok = ok && o.Instance != "" && running[o.Partition] == 1
		}
		mu.Unlock()
		if ok {
			return owners
		}
		if time.Now().After(deadline) {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("not every partition owned: %v running %v", owners, running)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestrictedMemberLeavesNoneUnowned: review finding 1. A may own only
// "h" (like --partitions=control), B everything. With ceil(P/L) = 4 for
// both, B stopped at 4 and three partitions stayed unowned forever; now B's
// share counts h as half and the seven others as whole, so every partition
// is owned, and A keeps h.
func TestRestrictedMemberLeavesNoneUnowned(t *testing.T) {
	url := dbURL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	group := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	var mu sync.Mutex
	running := map[string]int{}
	newWork := func(name string) (pglease.Partition, error) { return work{mu: &mu, running: running, name: name}, nil }
	start := func(instance string, eligible []string) (*pglease.Member, func()) {
		m, err := pglease.Join(ctx, pglease.Config{URL: url, Group: group, Instance: instance, Partitions: parts, Eligible: eligible,
			Poll: 50 * time.Millisecond, New: newWork})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- m.Run(rctx) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return m, stop
	}
	a, stopA := start("a", []string{"h"})
	// Let A take h before B arrives: the scenario of the finding.
	deadline := time.Now().Add(5 * time.Second)
	for len(a.Owned()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("A never took h")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, _ := start("b", nil)
	owners := allOwned(t, ctx, pool, group, &mu, running)
	for _, o := range owners {
		want := "b"
		if o.Partition == "h" {
			want = "a"
		}
		if o.Instance != want {
			t.Errorf("%s owned by %q, want %q (%v)", o.Partition, o.Instance, want, owners)
		}
	}
	// And it stays so: nothing flaps over a few more polls.
	time.Sleep(300 * time.Millisecond)
	if got := len(b.Owned()); got != 7 {
		t.Errorf("B owns %d, want 7", got)
	}
	// A leaves: B, now the only member that may own h, takes it too.
	stopA()
	for _, o := range allOwned(t, ctx, pool, group, &mu, running) {
		if o.Instance != "b" {
			t.Errorf("after A left, %s owned by %q, want b", o.Partition, o.Instance)
		}
	}
}

// failing is a partition whose work ends on its own the first time it is
// started, as a runner whose CatchUp failed during a database blip.
type failing struct {
	mu     *sync.Mutex
	starts *int
	ended  chan struct{}
}

func (f *failing) Start(context.Context) error {
	f.mu.Lock()
	*f.starts++
	first := *f.starts == 1
	f.mu.Unlock()
	if first {
		close(f.ended)
	}
	return nil
}
func (f *failing) Stop()                  {}
func (f *failing) Ended() <-chan struct{} { return f.ended }

// TestEndedPartitionIsRestarted: review finding 2. A partition whose work
// ends on its own is released and started afresh, not left owned and idle.
func TestEndedPartitionIsRestarted(t *testing.T) {
	url := dbURL(t)
	ctx := context.Background()
	group := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	var mu sync.Mutex
	starts := 0
	m, err := pglease.Join(ctx, pglease.Config{URL: url, Group: group, Instance: "solo", Partitions: []string{"x"}, Poll: 50 * time.Millisecond,
		New: func(string) (pglease.Partition, error) {
			return &failing{mu: &mu, starts: &starts, ended: make(chan struct{})}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(rctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := starts
		mu.Unlock()
		if n >= 2 && len(m.Owned()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ended partition started %d times, owned %v; want a fresh start", n, m.Owned())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The second run does not end: it stays owned and is not restarted again.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if starts != 2 {
		t.Errorf("started %d times, want 2", starts)
	}
}

// TestLockConnectionKeepalives: review finding 3. The lock connection asks
// the server for short TCP keepalives and a user timeout, so a vanished
// host's locks are freed in seconds rather than hours.
func TestLockConnectionKeepalives(t *testing.T) {
	url := dbURL(t)
	ctx := context.Background()
	group := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	m, err := pglease.Join(ctx, pglease.Config{URL: url, Group: group, Instance: "ka", Partitions: parts,
		New: func(string) (pglease.Partition, error) { return nil, errors.New("unused") }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Run(canceled()) // closes the connection
	want := map[string]string{"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3", "tcp_user_timeout": "10000"}
	for k, v := range want {
		got, err := pglease.Show(ctx, m, k)
		if err != nil {
			t.Fatal(err)
		}
		if got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
