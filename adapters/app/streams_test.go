package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// A command on unit-U that appends one event (a new head each time), as
// the decider of a real command would, after reading the stream.
func appendOne(h *domain.Handler, n int) error {
	req := domain.Request{Caller: domain.Principal{ID: "hr-admin"}}
	_, err := h.Execute(context.Background(), "unit-U", req, func(_ context.Context, _ domain.Request, s domain.Stream) (domain.Change, error) {
		if !s.Exists {
			return domain.Change{Role: domain.RoleHRAdmin, Events: []domain.Event{orgunit.Registered{UnitID: "U", Name: "Unit"}}}, nil
		}
		return domain.Change{Role: domain.RoleHRAdmin, Events: []domain.Event{orgunit.HeadAssigned{UnitID: "U", HeadNIP: fmt.Sprint(n),
			EffectiveFrom: calendar.Date{}}}}, nil
	})
	return err
}

func newHandler(log domain.EventLog, r domain.Runner) *domain.Handler {
	return &domain.Handler{Log: log, Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, Runner: r}
}

// hammer runs writers × each commands at once over handlers (writer i on
// handlers[i%len]) and returns how many failed, and the first failure.
func hammer(t *testing.T, handlers []*domain.Handler, writers, each int) (int, error) {
	t.Helper()
	var mu sync.Mutex
	failed, first := 0, error(nil)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := appendOne(handlers[w%len(handlers)], w*1000+i); err != nil {
					mu.Lock()
					failed++
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return failed, first
}

func openBolt(t *testing.T) eventstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pgLocation migrates a fresh schema in the test database and returns the
// URL and schema; skipped without PostgreSQL, failed when integration
// tests are required.
func pgLocation(t *testing.T) (string, string) {
	t.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set, and KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL is not set")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "kinerja_app_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := pgstore.MigrateURL(ctx, url, schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, url); err == nil {
			c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	return url, schema
}

func openPG(t *testing.T, url, schema string) eventstore.Store {
	t.Helper()
	s, err := pgstore.Connect(context.Background(), url, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Sixteen writers of one process, twenty commands each on one stream, all
// succeed without a single lost race: the stream's commands take turns.
// Without a Runner (the domain's four immediate attempts) most of them
// failed (43–69 % on the API, issue 10). On both stores.
func TestStreamsSerialiseAStreamInAProcess(t *testing.T) {
	url, schema := "", ""
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var store eventstore.Store
			if backend == "bolt" {
				store = openBolt(t)
			} else {
				url, schema = pgLocation(t)
				store = openPG(t, url, schema)
			}
			streams := app.NewStreams(app.StreamsConfig{})
			h := newHandler(eventlog.NewCached(store, 0), streams)
			if failed, err := hammer(t, []*domain.Handler{h}, 16, 20); failed > 0 {
				t.Fatalf("%d of 320 commands failed, the first: %v", failed, err)
			}
			if st := streams.Stats(); st.Retries != 0 || st.GaveUp != 0 {
				t.Errorf("stats = %+v, want no retry within one process", st)
			}
			if _, rev, _, err := eventlog.New(store).Load(context.Background(), "unit-U"); err != nil || rev != 319 {
				t.Errorf("unit-U ends at revision %d, %v; want 319 (a registration and 319 heads)", rev, err)
			}
		})
	}
}

// Two processes on one PostgreSQL (here: two stores on their own
// connection pools, each with its own Runner and cache) race for the same
// stream; lost races are retried after a pause and every command succeeds.
// The same with two Runners over one bbolt store.
func TestStreamsRetryAcrossProcesses(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var a, b eventstore.Store
			if backend == "bolt" {
				a = openBolt(t)
				b = a
			} else {
				url, schema := pgLocation(t)
				a, b = openPG(t, url, schema), openPG(t, url, schema)
			}
			sa, sb := app.NewStreams(app.StreamsConfig{MaxWait: time.Minute}), app.NewStreams(app.StreamsConfig{MaxWait: time.Minute})
			handlers := []*domain.Handler{newHandler(eventlog.NewCached(a, 0), sa), newHandler(eventlog.NewCached(b, 0), sb)}
			if failed, err := hammer(t, handlers, 8, 10); failed > 0 {
				t.Fatalf("%d of 80 commands failed, the first: %v", failed, err)
			}
			if _, rev, _, err := eventlog.New(a).Load(context.Background(), "unit-U"); err != nil || rev != 79 {
				t.Errorf("unit-U ends at revision %d, %v; want 79", rev, err)
			}
			t.Logf("retries: %d and %d", sa.Stats().Retries, sb.Stats().Retries)
		})
	}
}

// fakeTime is a clock that only moves when Streams pauses.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	pauses []time.Duration
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pauses = append(f.pauses, d)
	f.now = f.now.Add(d)
	return ctx.Err()
}

// A command that loses every race gives up with a ContentionError (which
// is domain.ErrConcurrency) before the deadline would pass, after pauses
// that grow and stay within their bounds; the earlier of the request's
// deadline and MaxWait counts.
func TestStreamsGiveUpBeforeTheDeadline(t *testing.T) {
	lose := func(context.Context) error { return fmt.Errorf("lost: %w", domain.ErrConcurrency) }
	for _, tc := range []struct {
		name     string
		maxWait  time.Duration
		deadline time.Duration // 0: none
		jitter   func(n int64) int64
		budget   time.Duration
	}{
		{"MaxWait, longest pauses", time.Second, 0, func(n int64) int64 { return n - 1 }, time.Second},
		{"MaxWait, shortest pauses", 100 * time.Millisecond, 0, func(int64) int64 { return 0 }, 100 * time.Millisecond},
		{"the request's deadline is earlier", time.Minute, 300 * time.Millisecond, func(n int64) int64 { return n / 2 }, 300 * time.Millisecond},
		{"MaxWait is earlier", 200 * time.Millisecond, time.Minute, func(n int64) int64 { return n / 2 }, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The fake clock starts now (request deadlines are real) and
			// moves only when Streams pauses.
			start := time.Now()
			ft := &fakeTime{now: start}
			s := app.NewStreams(app.StreamsConfig{MaxWait: tc.maxWait, BaseDelay: 2 * time.Millisecond, MaxDelay: 64 * time.Millisecond,
				Now: ft.Now, Sleep: ft.Sleep, Jitter: tc.jitter})
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(tc.deadline))
				defer cancel()
			}
			err := s.Run(ctx, "unit-U", lose)
			var ce *app.ContentionError
			if !errors.As(err, &ce) || !errors.Is(err, domain.ErrConcurrency) {
				t.Fatalf("Run = %v, want a ContentionError matching domain.ErrConcurrency", err)
			}
			waited := ft.Now().Sub(start)
			if waited > tc.budget || ce.Attempts != len(ft.pauses)+1 || ce.Attempts < 3 {
				t.Errorf("gave up after %d attempts and %v of pauses %v; budget %v", ce.Attempts, waited, ft.pauses, tc.budget)
			}
			for i, p := range ft.pauses {
				ceiling := 64 * time.Millisecond
				if i < 10 {
					ceiling = min(ceiling, 2*time.Millisecond<<(i+1))
				}
				if p < 2*time.Millisecond || p > ceiling {
					t.Errorf("pause %d = %v, want within [2ms, %v]", i+1, p, ceiling)
				}
			}
			if st := s.Stats(); st.GaveUp != 1 || int(st.Retries) != len(ft.pauses) {
				t.Errorf("stats = %+v after %d pauses", st, len(ft.pauses))
			}
		})
	}
}

// A command that does not get its turn before the deadline gives up as
// contention, without running; one whose client goes away ends with the
// context's error. Both leave the queue as they found it.
func TestStreamsWaitForTheirTurn(t *testing.T) {
	s := app.NewStreams(app.StreamsConfig{MaxWait: 50 * time.Millisecond})
	hold := make(chan struct{})
	held := make(chan struct{})
	go s.Run(context.Background(), "unit-U", func(context.Context) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	ran := false
	err := s.Run(context.Background(), "unit-U", func(context.Context) error { ran = true; return nil })
	var ce *app.ContentionError
	if !errors.As(err, &ce) || ce.Attempts != 0 || ran {
		t.Errorf("waiting past MaxWait = %v (ran %v), want a ContentionError before any attempt", err, ran)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, "unit-U", func(context.Context) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a canceled request = %v, want context.Canceled", err)
	}
	// Another stream does not wait for this one.
	if err := s.Run(context.Background(), "unit-V", func(context.Context) error { return nil }); err != nil {
		t.Errorf("another stream = %v", err)
	}
	close(hold)
}

// Keyed serves each key's holders in the order they asked, and forgets a
// key nobody holds.
func TestKeyedIsFirstComeFirstServed(t *testing.T) {
	var k app.Keyed
	ctx := context.Background()
	unlock, err := k.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := k.Lock(ctx, "a")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			u()
		}()
		time.Sleep(20 * time.Millisecond) // let it queue
	}
	unlock()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("served in order %v, want 0..4", order)
		}
	}
	if n := k.Len(); n != 0 {
		t.Errorf("Keyed keeps %d keys after everyone left", n)
	}
}
