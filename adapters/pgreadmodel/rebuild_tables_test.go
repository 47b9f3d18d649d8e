package pgreadmodel_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// seededStore returns a bbolt store holding a generated agency of n
// employees (the seeder's events: every phase of a year, objections
// among them).
func seededStore(t *testing.T, n int) eventstore.Store {
	t.Helper()
	now := seed.EndOf(2026, policy.WIB)
	clock := domaintest.NewClock(now.Add(time.Hour))
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	handler := &domain.Handler{Log: eventlog.New(store), Now: clock.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	if _, err := seed.Run(context.Background(), seed.Config{Employees: n, Seed: 7, Year: 2026, Now: now, Objections: 0.3},
		seed.NewServices(handler, policy.Default())); err != nil {
		t.Fatal(err)
	}
	return store
}

// tableSums returns, per read-model table of db, its row count and an MD5
// of its rows (as text, sorted); of the audit frontiers, the last rows.
func tableSums(t *testing.T, db *pgreadmodel.DB) map[string]string {
	t.Helper()
	p := testPool(t)
	out := map[string]string{}
	for _, name := range pgreadmodel.Names() {
		for _, table := range pgreadmodel.Tables(name) {
			var n int64
			var sum string
			from := pgx.Identifier{db.Schema(), table}.Sanitize() + ` t`
			switch table {
			// The frontier tables keep the frontier after each batch:
			// their last rows (per agency) are the trees' state.
			case "audit_frontier":
				from = `(SELECT * FROM ` + pgx.Identifier{db.Schema(), table}.Sanitize() + ` ORDER BY size DESC LIMIT 1) t`
			// A count that fell to 0 stays as a row of 0, read as none
			// (migration 0005): which ones exist depends on the batches.
			case "skp_counts":
				from = `(SELECT * FROM ` + pgx.Identifier{db.Schema(), table}.Sanitize() + ` WHERE n <> 0 OR late <> 0) t`
			case "skp_coverage": // likewise (migration 0006)
				from = `(SELECT * FROM ` + pgx.Identifier{db.Schema(), table}.Sanitize() + ` WHERE n <> 0) t`
			case "audit_agency_frontier":
				from = `(SELECT DISTINCT ON (agency) * FROM ` + pgx.Identifier{db.Schema(), table}.Sanitize() + ` ORDER BY agency, size DESC) t`
			}
			q := `SELECT count(*), md5(coalesce(string_agg(r, E'\n' ORDER BY r), '')) FROM (SELECT t::text AS r FROM ` + from + `) s`
			if err := p.QueryRow(context.Background(), q).Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			out[table] = fmt.Sprintf("%d rows, md5 %s", n, sum)
		}
	}
	return out
}

// TestRebuildAllGivesTheTablesOfTheLiveSinks: over a seeded agency,
// `projections rebuild all`'s path (RunAll: one read, the events decoded
// once and applied to every rebuild's Sink, batches of 500, read ahead)
// fills every read-model table with exactly the rows that the live Sinks
// write applying the same events one projection at a time in batches of
// 20 (each projection folding each event on its own): the same row count
// and checksum, table by table. A projection skipped, an event folded
// twice or differently, a row lost or doubled changes a checksum.
func TestRebuildAllGivesTheTablesOfTheLiveSinks(t *testing.T) {
	ctx := context.Background()
	store := seededStore(t, 60)
	evs := readmodeltest.Events(t, store)
	if len(evs) < 1000 {
		t.Fatalf("the seeded agency holds %d events", len(evs))
	}

	live := openDB(t, projections.StoreHistory{Store: store})
	readmodeltest.Project(t, backend(live), evs, 20)

	rebuilt := openDB(t, projections.StoreHistory{Store: store})
	if err := pgreadmodel.RunAll(ctx, store, startAll(t, rebuilt), 500, nil); err != nil {
		t.Fatal(err)
	}

	want, got := tableSums(t, live), tableSums(t, rebuilt)
	for table, w := range want {
		if got[table] != w {
			t.Errorf("%s rebuilt: %s; projected live: %s", table, got[table], w)
		}
	}
	if t.Failed() {
		return
	}
	empty := 0
	for table, w := range want {
		if w[:2] == "0 " {
			empty++
			t.Logf("%s is empty in both", table)
		}
	}
	if empty > 4 {
		t.Errorf("%d tables are empty: the seeded agency does not exercise the projections", empty)
	}
}
