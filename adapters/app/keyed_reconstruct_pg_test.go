package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

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
	apps, skew, k, crash, record := pgLostAnswer(t)
	crash()
	if rec := record(); rec.Status != claimStatus {
		t.Fatalf("after the crash: %+v; want the claim", rec)
	}
	skew.Store(int64(time.Minute))

	fourRepeatsAtOnce(t, apps[:], k, record)
}

// TestKeyedTakeOverOwnEndedClaimRaceOnPostgres is
// TestKeyedTakeOverOwnEndedClaimRace on PostgreSQL, two App instances as
// two kinerjad: the steps of the race that made
// TestKeyedReconstructionOnPostgres flaky, in their order.
func TestKeyedTakeOverOwnEndedClaimRaceOnPostgres(t *testing.T) {
	apps, skew, k, crash, record := pgLostAnswer(t)
	orderedTakeOverRace(t, apps, k, crash, func() { skew.Store(int64(time.Minute)) }, record)
}

// pgLostAnswer sets up two App instances (two kinerjad) over one
// PostgreSQL schema, whose clocks run skew ahead (the restart after a
// crash), and a key: crash runs its request so that the events and the
// claim commit and the answer is never stored; record reads the record.
func pgLostAnswer(t *testing.T) (apps [2]*App, skew *atomic.Int64, k Key, crash func(), record func() keyRecord) {
	t.Helper()
	url, schema := pgTestSchema(t, "app_recon_")
	apps[0], _ = pgKeyedApp(t, url, schema)
	apps[1], _ = pgKeyedApp(t, url, schema)
	skew = new(atomic.Int64)
	for _, a := range apps {
		a.cfg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}
	idem := apps[0].cfg.Idempotency
	ctx := context.Background()
	now := time.Now()
	k = Key{Caller: "hr", Key: "lost", Fingerprint: Fingerprint("POST", "/v1/units", "L")}
	record = func() keyRecord {
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
	crash = func() {
		apps[0].Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
			if _, err := apps[0].Services(ctx).Units.Handler.Log.Append(ctx, "unit-L", domain.NoStream, []domain.NewEvent{{
				Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
				Event: orgunit.Registered{UnitID: "L", Name: "Bappeda"}}}); err != nil {
				t.Fatal(err)
			}
			return Answer{}, false
		})
	}
	return apps, skew, k, crash, record
}
