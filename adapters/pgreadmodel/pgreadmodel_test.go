package pgreadmodel_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

var update = flag.Bool("update", false, "rewrite the read-model suite's golden file")

var (
	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error
	schemaN  atomic.Int64
)

// testPool returns a pool on KINERJA_TEST_POSTGRES_URL. Without it the test
// is skipped, or fails when KINERJA_REQUIRE_INTEGRATION=1 (CI).
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal("KINERJA_TEST_POSTGRES_URL is not set and KINERJA_REQUIRE_INTEGRATION=1")
		}
		tb.Skip("KINERJA_TEST_POSTGRES_URL is not set")
	}
	poolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			poolErr = err
			return
		}
		cfg.MaxConns = 16
		// Named, so that the benchmarks can find their server processes
		// (serverCPU).
		cfg.ConnConfig.RuntimeParams["application_name"] = benchAppName
		pool, poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	if poolErr != nil {
		tb.Fatal(poolErr)
	}
	return pool
}

// freshSchema creates and migrates a schema of its own for one test, and
// drops it when the test ends.
func freshSchema(tb testing.TB, p *pgxpool.Pool) string {
	tb.Helper()
	name := fmt.Sprintf("rm_test_%d_%d", os.Getpid(), schemaN.Add(1))
	ctx := context.Background()
	if _, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`); err != nil {
		tb.Fatal(err)
	}
	if _, err := pgreadmodel.Migrate(ctx, p, name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+name+` CASCADE`) })
	return name
}

func openDB(tb testing.TB, h projections.History) *pgreadmodel.DB {
	tb.Helper()
	p := testPool(tb)
	db, err := pgreadmodel.Open(context.Background(), p, pgreadmodel.Options{Schema: freshSchema(tb, p), History: h})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

func backend(db *pgreadmodel.DB) *readmodeltest.Backend {
	return &readmodeltest.Backend{Sinks: db.Sinks(), Directory: db.Directory(), SKPs: db.SKPs(), Evaluations: db.Evaluations(),
		Scores: db.Scores(), Objections: db.Objections(), Timeline: db.Timeline(), Audit: db.Audit(), AuditAppendOnly: true}
}

func openStore(tb testing.TB, now func() time.Time) (eventstore.Store, domain.EventLog) {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "kinerja.db"), boltstore.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	// The journey writes what older versions let into stores (readmodeltest.LegacyStore).
	return s, eventlog.New(readmodeltest.LegacyStore(s))
}

func TestReadModels(t *testing.T) {
	testPool(t)
	readmodeltest.Run(t, readmodeltest.Config{Store: openStore, Update: *update,
		Open: func(tb testing.TB, h projections.History) *readmodeltest.Backend { return backend(openDB(tb, h)) }})
}

func TestMigrate(t *testing.T) {
	p := testPool(t)
	ctx := context.Background()
	name := fmt.Sprintf("rm_test_%d_%d", os.Getpid(), schemaN.Add(1))
	t.Cleanup(func() { p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+name+` CASCADE`) })
	if _, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: name}); !errors.Is(err, pgreadmodel.ErrSchemaVersion) {
		t.Fatalf("Open(unmigrated) error = %v, want ErrSchemaVersion", err)
	}
	applied, err := pgreadmodel.Migrate(ctx, p, name)
	if err != nil || len(applied) != pgreadmodel.SchemaVersion() {
		t.Fatalf("Migrate = %v, %v; want every migration", applied, err)
	}
	if applied, err := pgreadmodel.Migrate(ctx, p, name); err != nil || len(applied) != 0 {
		t.Fatalf("Migrate again = %v, %v; want nothing to do", applied, err)
	}
	if _, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: name}); err != nil {
		t.Fatalf("Open(migrated): %v", err)
	}
	if _, err := pgreadmodel.Migrate(ctx, p, "Bad-Name"); !errors.Is(err, pgreadmodel.ErrBadSchemaName) {
		t.Errorf("Migrate(bad name) error = %v, want ErrBadSchemaName", err)
	}
}

// TestAuditTablesAreAppendOnly proves the triggers: every UPDATE, DELETE
// and TRUNCATE of an audit table fails, and the trail is unchanged.
func TestAuditTablesAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	p := testPool(t)
	j := readmodeltest.RunJourney(t, openStore)
	db := openDB(t, projections.StoreHistory{Store: j.Store})
	b := backend(db)
	readmodeltest.Project(t, b, readmodeltest.Events(t, j.Store), 50)
	before, err := audit.Verify(ctx, j.Store, audit.VerifyOptions{Stored: b.Audit})
	if err != nil || !before.OK || before.Size == 0 {
		t.Fatalf("Verify before = %+v, %v", before, err)
	}
	for _, stmt := range []string{
		`UPDATE %s.audit_entries SET reason = 'edited' WHERE seq = 3`,
		`UPDATE %s.audit_entries SET reason = reason WHERE false`,
		`DELETE FROM %s.audit_entries WHERE seq = 3`,
		`TRUNCATE %s.audit_entries`,
		`UPDATE %s.audit_nodes SET hash = hash WHERE level = 1 AND index = 0`,
		`DELETE FROM %s.audit_nodes`,
		`TRUNCATE %s.audit_nodes`,
		`DELETE FROM %s.audit_frontier`,
		`UPDATE %s.audit_frontier SET size = size`,
		`TRUNCATE %s.audit_frontier`,
		`UPDATE %s.audit_checkpoints SET note = ''`,
		`DELETE FROM %s.audit_checkpoints`,
		`TRUNCATE %s.audit_checkpoints`,
	} {
		q := fmt.Sprintf(stmt, db.Schema())
		_, err := p.Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23001" { // restrict_violation
			t.Errorf("%s: error = %v, want the append-only trigger's restrict_violation", q, err)
		}
	}
	after, err := audit.Verify(ctx, j.Store, audit.VerifyOptions{Stored: b.Audit})
	if err != nil || !after.OK || after.Size != before.Size {
		t.Errorf("Verify after = %+v, %v; want the trail unchanged", after, err)
	}
	if err := b.Sink(t, audit.Name).Reset(ctx); !errors.Is(err, pgreadmodel.ErrAppendOnly) {
		t.Errorf("audit Reset error = %v, want ErrAppendOnly", err)
	}
}

// TestRebuild builds each projection into fresh tables while the live ones
// keep serving and keep applying new events, then swaps: the readers answer
// as before, from the new tables.
func TestRebuild(t *testing.T) {
	ctx := context.Background()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	db := openDB(t, projections.StoreHistory{Store: j.Store})
	b := backend(db)
	half := len(evs) / 2
	readmodeltest.Project(t, b, evs[:half], 20)

	for _, name := range pgreadmodel.Names() {
		t.Run(name, func(t *testing.T) {
			rb, err := db.StartRebuild(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			// The rebuild applies the first third; the live Sink meanwhile
			// gets nothing new: the rebuild is behind and may not swap.
			readmodeltest.ProjectInto(t, rb.Sink(), evs[:half/3], 17)
			if err := rb.Swap(ctx); !errors.Is(err, pgreadmodel.ErrNotCaughtUp) {
				t.Fatalf("Swap while behind: error = %v, want ErrNotCaughtUp", err)
			}
			// Status shows the rebuild in progress.
			st, err := db.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range st {
				if s.Projection == name && s.Rebuilding == fmt.Sprintf("%s@g%d", name, rb.Generation()) {
					found = true
				}
			}
			if !found {
				t.Errorf("Status = %+v, want %s's rebuild listed", st, name)
			}
			if err := rb.Run(ctx, j.Store, 13); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The live Sinks go on past the swap (they checkpoint at the end of the
	// store now) and the answers are those of a backend that never rebuilt.
	readmodeltest.Project(t, b, evs, 20)
	ref := backend(openDB(t, projections.StoreHistory{Store: j.Store}))
	readmodeltest.Project(t, ref, evs, 100)
	want, got := readmodeltest.Take(t, ref), readmodeltest.Take(t, b)
	readmodeltest.SameSnapshot(t, "rebuilding every projection", want, got)
	st, err := db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		var last eventstore.Position
		for _, ev := range evs {
			if db.Sink(s.Projection).Filter().Match(ev.Stream, ev.Type) {
				last = ev.Position
			}
		}
		if s.Generation != 2 || s.Rebuilding != "" || s.Position != last {
			t.Errorf("status after the rebuild = %+v, want generation 2 at %d", s, last)
		}
	}
	// The old trail is kept, renamed, and still append-only.
	var n int64
	p := testPool(t)
	if err := p.QueryRow(ctx, `SELECT count(*) FROM `+db.Schema()+`.audit_entries__retired_g1`).Scan(&n); err != nil || n == 0 {
		t.Errorf("retired audit entries: %d, %v", n, err)
	}
	if _, err := p.Exec(ctx, `DELETE FROM `+db.Schema()+`.audit_entries__retired_g1`); err == nil {
		t.Error("DELETE from the retired trail succeeded")
	}
	if _, err := p.Exec(ctx, `DELETE FROM `+db.Schema()+`.audit_entries`); err == nil {
		t.Error("DELETE from the rebuilt trail succeeded")
	}
	// A second rebuild of one projection, abandoned, leaves the live one.
	rb, err := db.StartRebuild(ctx, skps.Name)
	if err != nil {
		t.Fatal(err)
	}
	readmodeltest.ProjectInto(t, rb.Sink(), evs, 50)
	if err := rb.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	readmodeltest.SameSnapshot(t, "an aborted rebuild", want, readmodeltest.Take(t, b))
}
