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
