package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
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
