package app

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// BenchmarkKeyedAppendOnBolt: one keyed command appending one event, on
// the embedded store with its claims (kinerjad's embedded path), 16 at
// once: the cost of the claim machinery per keyed command, the claim's
// renewal timer included.
func BenchmarkKeyedAppendOnBolt(b *testing.B) {
	store, err := boltstore.Open(filepath.Join(b.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	h := &domain.Handler{Log: eventlog.New(store), NewID: uuid.New}
	cfg := Config{Idempotency: store.Idempotency(), IdempotencyExclusive: true, Units: &orgunit.Service{Handler: h},
		Employees: &employee.Service{Handler: h}, SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h}}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	defer a.Close()
	now := time.Now()
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := uuid.NewString()
			k := Key{Caller: "hr", Key: u, Fingerprint: Fingerprint("POST", "/v1/units", u)}
			_, _, err := a.Keyed(context.Background(), k, func(ctx context.Context) (Answer, bool) {
				if _, err := a.Services(ctx).Units.Handler.Log.Append(ctx, "unit-"+u, domain.NoStream, []domain.NewEvent{{
					Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
					Event: orgunit.Registered{UnitID: u, Name: "Bappeda"}}}); err != nil {
					panic(fmt.Sprint(err))
				}
				return Answer{Status: 201, Body: []byte(`{}`)}, true
			})
			if err != nil {
				panic(fmt.Sprint(err))
			}
		}
	})
}
