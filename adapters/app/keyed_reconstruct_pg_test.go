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
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// TestKeyedReconstructionOnPostgres: on real PostgreSQL (pgstore events,
// pgidempotency records, two App instances as two kinerjad), a crash
// leaves the claim written with the events and no answer. Four repeats at
// once, two in each process, meet their own events (ErrApplied), but only
// one reconstructs: its answer completes the record, the others get it,
// and later repeats replay it. The key stays refused to another request.
func TestKeyedReconstructionOnPostgres(t *testing.T) {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "app_recon_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			return
		}
		p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+"_ev CASCADE")
		p.Close()
	})
	apps := make([]*App, 2)
	apps[0], _ = pgKeyedApp(t, url, schema)
	apps[1], _ = pgKeyedApp(t, url, schema)
	var skew atomic.Int64 // the restart after the crash, on the apps' clock
	for _, a := range apps {
		a.cfg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}
	idem := apps[0].cfg.Idempotency
	ctx := context.Background()
	now := time.Now()
	k := Key{Caller: "hr", Key: "lost", Fingerprint: Fingerprint("POST", "/v1/units", "L")}
	record := func() keyRecord {
		s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
		raw, ok, err := idem.Get(ctx, hex.EncodeToString(s[:]), apps[0].cfg.Now())
		if err != nil || !ok {
			t.Fatalf("record: %v, %v", ok, err)
		}
		var rec keyRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}

	// The crash: the events and the claim commit, the answer is never stored.
	apps[0].Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
		if _, err := apps[0].Services(ctx).Units.Handler.Log.Append(ctx, "unit-L", domain.NoStream, []domain.NewEvent{{
			Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
			Event: orgunit.Registered{UnitID: "L", Name: "Bappeda"}}}); err != nil {
			t.Fatal(err)
		}
		return Answer{}, false
	})
	if rec := record(); rec.Status != claimStatus {
		t.Fatalf("after the crash: %+v; want the claim", rec)
	}
	skew.Store(int64(time.Minute))

	var reconstructions atomic.Int32
	repeat := func(a *App) func(context.Context) (Answer, bool) {
		return func(ctx context.Context) (Answer, bool) {
			if _, _, _, err := a.Services(ctx).Units.Handler.Log.Load(ctx, "unit-L"); !errors.Is(err, ErrApplied) {
				t.Errorf("the repeat's load = %v, want ErrApplied", err)
			}
			i := reconstructions.Add(1)
			time.Sleep(50 * time.Millisecond) // let the others race it
			return Answer{Status: 201, Body: fmt.Appendf(nil, "reconstructed %d", i)}, true
		}
	}
	var wg sync.WaitGroup
	answers := make([]Answer, 4)
	for i := range answers {
		wg.Go(func() {
			a := apps[i%2]
			ans, _, err := a.Keyed(ctx, k, repeat(a))
			if err != nil {
				t.Error(err)
			}
			answers[i] = ans
		})
	}
	wg.Wait()
	if n := reconstructions.Load(); n != 1 {
		t.Fatalf("%d reconstructions by four repeats at once; want 1", n)
	}
	for i, ans := range answers {
		if ans.Status != 201 || string(ans.Body) != "reconstructed 1" {
			t.Errorf("repeat %d: %d %q; want the one stored answer", i, ans.Status, ans.Body)
		}
	}
	if rec := record(); rec.Status != 201 || string(rec.Body) != "reconstructed 1" {
		t.Fatalf("record = %+v; want the reconstructed answer", rec)
	}
	for _, a := range apps {
		ans, replayed, err := a.Keyed(ctx, k, repeat(a))
		if err != nil || !replayed || string(ans.Body) != "reconstructed 1" {
			t.Fatalf("later repeat: %+v, replayed %v, %v", ans, replayed, err)
		}
		other := k
		other.Fingerprint = Fingerprint("POST", "/v1/units", "M")
		if _, _, err := a.Keyed(ctx, other, repeat(a)); !errors.Is(err, ErrKeyReused) {
			t.Fatalf("another request with the key = %v, want ErrKeyReused", err)
		}
	}
	if n := reconstructions.Load(); n != 1 {
		t.Fatalf("%d reconstructions in all; want 1", n)
	}
}
