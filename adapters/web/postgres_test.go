package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

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
		cfg.MaxConns = 8
		pool, poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	if poolErr != nil {
		tb.Fatal(poolErr)
	}
	return pool
}

// freshSchema creates and migrates a schema of the test's own, dropped
// when the test ends.
func freshSchema(tb testing.TB, p *pgxpool.Pool) string {
	tb.Helper()
	name := fmt.Sprintf("web_test_%d_%d", os.Getpid(), schemaN.Add(1))
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

type pgPositions struct{ db *pgreadmodel.DB }

func (p pgPositions) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	s := p.db.Sink(name)
	if s == nil {
		return 0, fmt.Errorf("no projection %s", name)
	}
	return s.Checkpoint(ctx)
}

// TestPagesOnPostgres serves the dashboard from the PostgreSQL read models
// (adapters/pgreadmodel) projected from the same event store as the
// in-memory ones, and requires every page to be the same, byte for byte.
func TestPagesOnPostgres(t *testing.T) {
	p := testPool(t)
	h := seeded(t)
	db, err := pgreadmodel.Open(h.ctx, p, pgreadmodel.Options{Schema: freshSchema(t, p), History: projections.StoreHistory{Store: h.store}, Policy: h.appCfg.Policy})
	if err != nil {
		t.Fatal(err)
	}
	h.catchUpSinks(db.Sinks())

	// Both dashboards share the harness's session store, so one sign-in
	// serves both.
	mem := h.handler
	pgApp := h.appCfg
	pgApp.Directory, pgApp.Justifications = db.Directory(), db.Directory()
	pgApp.SKPList, pgApp.Evaluations, pgApp.Objections, pgApp.Audit = db.SKPs(), db.Evaluations(), db.Objections(), db.Audit()
	pgApp.Scores, pgApp.Timeline = db.Scores(), db.Timeline()
	pgApp.Verifier = verifier{store: h.store, keys: []*merkle.Verifier{h.vkey}, trail: db.Audit()}
	pgApp.Positions = pgPositions{db}
	pgCore, err := app.New(pgApp)
	if err != nil {
		t.Fatal(err)
	}
	pgCfg := h.cfg
	pgCfg.App = pgCore
	pg, err := New(pgCfg)
	if err != nil {
		t.Fatal(err)
	}

	get := func(hd *Handler, c caller, path string) (int, string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(h.signIn(c))
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, r)
		return rec.Code, rec.Body.String()
	}
	for _, c := range []struct {
		who  caller
		path string
	}{
		{inspektr, "/"}, {empE, "/"},
		{analyst, "/unit/PEMKOT?year=2026"}, {analyst, "/unit/DINKES?year=2026&period=2026"}, {analyst, "/unit/DINKES?period=2026-Q1"},
		{auditor, "/skp/" + h.ag.skpE}, {empE, "/skp/" + h.ag.skpE + "?as_of=2027-02-03T10:01"},
		{clerk, "/keberatan"}, {clerk, "/keberatan?overdue=true&unit=DINKES"},
		{empE, "/riwayat-saya"}, {caller{nipA, nil}, "/riwayat-saya"}, {empE, "/skp/" + h.ag.skpE + "/rencana"},
		{auditor, "/audit"}, {auditor, "/audit?actor=" + nipS + "&seq=60"}, {auditor, "/audit?stream=skp-" + h.ag.skpE + "&after=30"},
		{analyst, "/ekspor/progress?unit=PEMKOT&year=2026&format=csv"}, {analyst, "/ekspor/distribusi?unit=DINKES&period=2026&format=csv"},
		{clerk, "/ekspor/keberatan?format=csv"}, {auditor, "/ekspor/audit?format=csv"},
		{analyst, "/ekspor/progress?unit=PEMKOT&year=2026&format=csv&sep=,&codes=1&lang=en"},
		// The unit reports at a past cut (issue 13): instants and a position.
		{analyst, "/unit/DINKES?period=2026&as_of=" + url.QueryEscape(h.ag.afterRating.Format(time.RFC3339))},
		{analyst, "/unit/DINKES?period=2026&as_of=" + url.QueryEscape(h.ag.afterRevision.Format(time.RFC3339))},
		{analyst, "/unit/PEMKOT?year=2026&as_of=2026-03-01"}, {analyst, "/unit/PEMKOT?year=2026&as_of=40"},
		{analyst, "/ekspor/distribusi?unit=DINKES&period=2026&format=csv&as_of=" + url.QueryEscape(h.ag.afterRating.Format(time.RFC3339))},
		{empE, "/skp/" + h.ag.skpE + "/dokumen"}, {empE, "/skp/" + h.ag.skpE + "/dokumen.pdf"}, {empE, "/skp/" + h.ag.skpE + "/evaluasi/2026/dokumen.pdf"},
	} {
		ms, mb := get(mem, c.who, c.path)
		ps, pb := get(pg, c.who, c.path)
		if ms != http.StatusOK || ps != ms {
			t.Errorf("%s: memory %d, PostgreSQL %d", c.path, ms, ps)
			continue
		}
		if mb != pb {
			ml, pl := strings.Split(mb, "\n"), strings.Split(pb, "\n")
			for i := range min(len(ml), len(pl)) {
				if ml[i] != pl[i] {
					t.Errorf("%s differs at line %d:\nmemory:     %s\nPostgreSQL: %s", c.path, i+1, ml[i], pl[i])
					break
				}
			}
			if len(ml) != len(pl) {
				t.Errorf("%s: memory %d lines, PostgreSQL %d", c.path, len(ml), len(pl))
			}
		}
	}

	// Verification compares the stored PostgreSQL trail entry by entry.
	r := httptest.NewRequest(http.MethodPost, "/audit/verifikasi", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(h.signIn(auditor))
	rec := httptest.NewRecorder()
	pg.ServeHTTP(rec, r)
	if _, body := get(pg, auditor, "/audit"); rec.Code != http.StatusSeeOther || !strings.Contains(body, `id="verify-result" data-ok="true"`) {
		t.Errorf("verification over the PostgreSQL trail: %d, page does not show OK", rec.Code)
	}
}

// TestVerificationShownByAnotherProcess: two dashboards on one session
// store (two kinerjad behind a load balancer, each with its own
// application layer): the verification run on one is the one the other's
// audit page shows after the redirect.
func TestVerificationShownByAnotherProcess(t *testing.T) {
	h := seeded(t)
	other, err := app.New(h.appCfg) // an application layer of its own
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	cfg.App = other
	second, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	show := func(hd *Handler) string {
		r := httptest.NewRequest(http.MethodGet, "/audit", nil)
		r.AddCookie(h.signIn(auditor))
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, r)
		return rec.Body.String()
	}
	if body := show(second); !strings.Contains(body, `id="verify-result" data-ok=""`) {
		t.Fatalf("before any verification the page shows a result")
	}
	r := httptest.NewRequest(http.MethodPost, "/audit/verifikasi", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(h.signIn(auditor))
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, r)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST /audit/verifikasi = %d", rec.Code)
	}
	if other.LastVerification() != nil {
		t.Fatal("the second application layer ran a verification itself")
	}
	if body := show(second); !strings.Contains(body, `id="verify-result" data-ok="true"`) || !strings.Contains(body, auditor.sub) {
		t.Errorf("the other dashboard does not show the verification run on the first")
	}
}
