package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// TestKeyedClaimOnPostgres runs Keyed on the real parts: pgstore events
// and pgidempotency records in one database. The claim commits with the
// events and the answer completes it; an answer lost after the events
// (the run not keeping it, as a crash would) leaves the claim, which still
// refuses the key with another request, and the same request meets its
// own events.
func TestKeyedClaimOnPostgres(t *testing.T) {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "app_keyed_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+"_ev CASCADE")
		pool.Close()
	})
	if err := pgidempotency.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	idem, err := pgidempotency.Open(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Migrate(ctx, pool, schema+"_ev"); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.Open(ctx, pool, pgstore.Options{Schema: schema + "_ev"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := &domain.Handler{NewID: uuid.New, Log: eventlog.New(store)}
	cfg := Config{Idempotency: idem, Units: &orgunit.Service{Handler: h}, Employees: &employee.Service{Handler: h},
		SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h}}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	now := time.Now()
	register := func(ctx context.Context, unit string) error {
		_, err := a.Services(ctx).Units.Handler.Log.Append(ctx, "unit-"+unit, domain.NoStream, []domain.NewEvent{{
			Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
			Event: orgunit.Registered{UnitID: unit, Name: "Bappeda"}}})
		return err
	}
	record := func(k Key) (keyRecord, bool) {
		a.answers.flush() // answers are written in the background (answers.go)
		s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
		raw, ok, err := idem.Get(ctx, hex.EncodeToString(s[:]), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var rec keyRecord
		if ok {
			if err := json.Unmarshal(raw, &rec); err != nil {
				t.Fatal(err)
			}
		}
		return rec, ok
	}

	k := Key{Caller: "hr", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "A")}
	ans, replayed, err := a.Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
		if err := register(ctx, "A"); err != nil {
			t.Fatal(err)
		}
		if rec, ok := record(k); !ok || rec.Status != claimStatus {
			t.Errorf("after the append the record is %+v, %v; want the claim", rec, ok)
		}
		return Answer{Status: 201, Body: []byte("created A")}, true
	})
	if err != nil || replayed || ans.Status != 201 {
		t.Fatalf("first: %+v, %v, %v", ans, replayed, err)
	}
	if rec, ok := record(k); !ok || rec.Status != 201 || string(rec.Body) != "created A" {
		t.Fatalf("completed record = %+v, %v", rec, ok)
	}
	if ans, replayed, err := a.Keyed(ctx, k, nil); err != nil || !replayed || string(ans.Body) != "created A" {
		t.Fatalf("repeat: %+v, %v, %v", ans, replayed, err)
	}

	// The answer is lost after the events committed.
	k2 := Key{Caller: "hr", Key: "k-2", Fingerprint: Fingerprint("POST", "/v1/units", "B")}
	a.Keyed(ctx, k2, func(ctx context.Context) (Answer, bool) {
		if err := register(ctx, "B"); err != nil {
			t.Fatal(err)
		}
		return Answer{}, false
	})
	if rec, ok := record(k2); !ok || rec.Status != claimStatus || rec.Fingerprint != k2.Fingerprint {
		t.Fatalf("claim of a lost answer = %+v, %v", rec, ok)
	}
	other := k2
	other.Fingerprint = Fingerprint("POST", "/v1/units", "C")
	if _, _, err := a.Keyed(ctx, other, nil); !errors.Is(err, ErrKeyReused) {
		t.Errorf("claimed key with another request = %v, want ErrKeyReused", err)
	}
	var again error
	if _, replayed, err := a.Keyed(ctx, k2, func(ctx context.Context) (Answer, bool) {
		// A command loads its stream first: the request's own event stops it.
		_, _, _, again = a.Services(ctx).Units.Handler.Log.Load(ctx, "unit-B")
		return Answer{Status: 201}, false
	}); err != nil || replayed || !errors.Is(again, ErrApplied) {
		t.Errorf("the same request again: replayed %v, %v, its load %v; want ErrApplied", replayed, err, again)
	}
}

// pgKeyedApp returns an App on its own pool, event store and idempotency
// store over schema (idempotency) and schema_ev (events), both migrated:
// one kinerjad of a deployment.
func pgKeyedApp(t *testing.T, url, schema string) (*App, *pgidempotency.Store) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgidempotency.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	idem, err := pgidempotency.Open(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Migrate(ctx, pool, schema+"_ev"); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.Open(ctx, pool, pgstore.Options{Schema: schema + "_ev"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &domain.Handler{NewID: uuid.New, Log: eventlog.New(store)}
	cfg := Config{Idempotency: idem, Units: &orgunit.Service{Handler: h}, Employees: &employee.Service{Handler: h},
		SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h}}
	cfg.setDefaults()
	return &App{cfg: cfg}, idem
}

// TestKeyedClaimRaceOnPostgres: the same caller sends one key with two
// different bodies to two kinerjad at once (two App and store instances
// over one database). Both pass the record check, both appends commit;
// only one claim takes. The other request's answer must not overwrite the
// record, even when it is stored last: exactly one answer survives and
// every replay gives the same answer (review finding 5). A request whose
// context is cancelled once its command ran still stores its answer
// (finding 6).
func TestKeyedClaimRaceOnPostgres(t *testing.T) {
	url, schema := pgTestSchema(t, "app_race_")
	apps := make([]*App, 2)
	var idem *pgidempotency.Store
	apps[0], idem = pgKeyedApp(t, url, schema)
	apps[1], _ = pgKeyedApp(t, url, schema)
	ctx := context.Background()
	now := time.Now()
	register := func(a *App, ctx context.Context, unit string) error {
		_, err := a.Services(ctx).Units.Handler.Log.Append(ctx, "unit-"+unit, domain.NoStream, []domain.NewEvent{{
			Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
			Event: orgunit.Registered{UnitID: unit, Name: "Bappeda"}}})
		return err
	}
	record := func(k Key) (keyRecord, bool) {
		for _, a := range apps {
			a.answers.flush() // answers are written in the background (answers.go)
		}
		s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
		raw, ok, err := idem.Get(ctx, hex.EncodeToString(s[:]), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var rec keyRecord
		if ok {
			if err := json.Unmarshal(raw, &rec); err != nil {
				t.Fatal(err)
			}
		}
		return rec, ok
	}

	for round := range 5 {
		key := fmt.Sprint("race-", round)
		keys := [2]Key{
			{Caller: "hr", Key: key, Fingerprint: Fingerprint("POST", "/v1/units", key, "A")},
			{Caller: "hr", Key: key, Fingerprint: Fingerprint("POST", "/v1/units", key, "B")},
		}
		var inRun sync.WaitGroup // both requests passed the record check
		inRun.Add(2)
		winnerDone := make(chan struct{})
		var answers [2]Answer
		var errs [2]error
		var won [2]bool
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				ans, replayed, err := apps[i].Keyed(ctx, keys[i], func(ctx context.Context) (Answer, bool) {
					inRun.Done()
					inRun.Wait()
					if err := register(apps[i], ctx, fmt.Sprint(key, "-", i)); err != nil {
						t.Error(err)
					}
					rec, _ := record(keys[i])
					won[i] = rec.Fingerprint == keys[i].Fingerprint
					if won[i] {
						defer close(winnerDone)
					} else {
						select { // the loser stores its answer last
						case <-winnerDone:
						case <-time.After(10 * time.Second): // no winner: reported below
						}
						time.Sleep(50 * time.Millisecond)
					}
					return Answer{Status: 201, Body: fmt.Appendf(nil, "created %d", i)}, true
				})
				if replayed {
					t.Errorf("round %d request %d replayed", round, i)
				}
				answers[i], errs[i] = ans, err
			})
		}
		wg.Wait()
		if won[0] == won[1] {
			t.Fatalf("round %d: won %v; want exactly one claim to take", round, won)
		}
		w := 0
		if won[1] {
			w = 1
		}
		for i := range 2 {
			if errs[i] != nil || answers[i].Status != 201 {
				t.Fatalf("round %d request %d: %+v, %v", round, i, answers[i], errs[i])
			}
		}
		rec, ok := record(keys[w])
		if !ok || rec.Fingerprint != keys[w].Fingerprint || rec.Status != 201 || string(rec.Body) != fmt.Sprint("created ", w) {
			t.Fatalf("round %d: record %+v, %v; want request %d's answer", round, rec, ok, w)
		}
		for range 3 {
			for _, a := range apps {
				ans, replayed, err := a.Keyed(ctx, keys[w], nil)
				if err != nil || !replayed || string(ans.Body) != fmt.Sprint("created ", w) {
					t.Fatalf("round %d winner's replay: %+v, %v, %v", round, ans, replayed, err)
				}
				if _, _, err := a.Keyed(ctx, keys[1-w], nil); !errors.Is(err, ErrKeyReused) {
					t.Fatalf("round %d loser's replay: %v, want ErrKeyReused", round, err)
				}
			}
		}
	}

	// The client goes away once its command ran: the answer is still stored.
	k := Key{Caller: "hr", Key: "gone", Fingerprint: Fingerprint("POST", "/v1/units", "gone")}
	cctx, cancel := context.WithCancel(ctx)
	if _, _, err := apps[0].Keyed(cctx, k, func(ctx context.Context) (Answer, bool) {
		if err := register(apps[0], ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		cancel()
		return Answer{Status: 201, Body: []byte("created gone")}, true
	}); err != nil {
		t.Fatal(err)
	}
	if rec, ok := record(k); !ok || rec.Status != 201 || string(rec.Body) != "created gone" {
		t.Fatalf("cancelled request's record = %+v, %v; want its answer", rec, ok)
	}
	// Nothing appended and cancelled: Put still stores the answer.
	k2 := Key{Caller: "hr", Key: "gone-4xx", Fingerprint: Fingerprint("POST", "/v1/units", "gone-4xx")}
	cctx, cancel = context.WithCancel(ctx)
	if _, _, err := apps[1].Keyed(cctx, k2, func(context.Context) (Answer, bool) {
		cancel()
		return Answer{Status: 422, Body: []byte("no")}, true
	}); err != nil {
		t.Fatal(err)
	}
	if rec, ok := record(k2); !ok || rec.Status != 422 {
		t.Fatalf("cancelled 4xx record = %+v, %v; want its answer", rec, ok)
	}
}

// pgTestSchema returns the test database's URL and a fresh schema name
// (prefix and 12 random hex digits), dropped with its events' schema
// (schema_ev) when the test ends. Without the database it skips, or
// fails under KINERJA_REQUIRE_INTEGRATION=1.
func pgTestSchema(t *testing.T, prefix string) (url, schema string) {
	t.Helper()
	url = os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema = prefix + hex.EncodeToString(b)
	t.Cleanup(func() {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			return
		}
		p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+"_ev CASCADE")
		p.Close()
	})
	return url, schema
}
