package httpapi

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
)

// TestGetSKPClaimlessInOneRoundTrip: GET /v1/skps/{id} by a claimless
// caller sends PostgreSQL one statement (counted by a pgx QueryTracer on
// the reading process's pool, not by a wrapper of the store): the
// claimless HR token, whose tenancy check (ManyAgencies) takes the newest
// committed position from the same statement, the employee's own token,
// and a national role. It stays strongly consistent: after another
// process adds feedback, the reading process's very next GET has it, for
// each of them, and so do sixteen concurrent GETs that share statements
// (pgstore's coalesced tail reads): none of them answers from before the
// write, and together they send at most one statement each.
func TestGetSKPClaimlessInOneRoundTrip(t *testing.T) {
	pr := newPGRead(t)
	h, id := pr.h, pr.id
	natAud := caller{"auditor-nasional", []string{"NATIONAL_AUDITOR"}}
	cfg, err := pgxpool.ParseConfig(os.Getenv("KINERJA_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	traced := &statements{}
	cfg.ConnConfig.Tracer = traced
	pool, err := pgxpool.NewWithConfig(h.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reader, err := pgstore.Open(h.ctx, pool, pgstore.Options{Schema: pr.pg.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	plainSrv := h.srv // reads without a cache: the reference
	readerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.NewCached(reader, 0), h.clock.Now)
		s.appConfig.Store = reader
	})
	writerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.New(pr.other), h.clock.Now)
		s.appConfig.Store = pr.other
	})

	// get reads the SKP as c on the reading process and compares the
	// answer with the uncached reference's; counted, it must be one
	// statement.
	get := func(round string, c caller, counted bool) response {
		t.Helper()
		h.srv = plainSrv
		want := h.request(&c, "GET", "/v1/skps/"+id, nil)
		h.srv = readerSrv
		var r response
		sql := traced.during(func() { r = h.request(&c, "GET", "/v1/skps/"+id, nil) })
		if r.status != want.status || string(r.body) != string(want.body) || r.header.Get("ETag") != want.header.Get("ETag") {
			t.Fatalf("%s: GET as %s = %d %s %s\nwant %d %s %s", round, c.sub, r.status, r.header.Get("ETag"), r.body,
				want.status, want.header.Get("ETag"), want.body)
		}
		if counted && len(sql) != 1 {
			t.Errorf("%s: GET as %s sent %d statements, want 1:\n%s", round, c.sub, len(sql), strings.Join(sql, "\n"))
		}
		return r
	}
	callers := []caller{hr, empE, natAud}
	for _, c := range callers {
		get("cold", c, false) // the tenancy check's first scan, the cache's first reads
	}
	for _, c := range callers {
		get("warm", c, true)
	}
	rev := skpView(t, get("before the write", hr, true)).Revision

	// Another process adds feedback: the reading process's very next GET
	// has it, for every caller.
	feedback := func() {
		t.Helper()
		h.srv = writerSrv
		h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/feedback", map[string]any{"text": "Progres imunisasi baik, pertahankan."})
		rev++
	}
	feedback()
	for _, c := range callers {
		if v := skpView(t, get("after another process's write", c, c.sub != hr.sub)); v.Revision != rev {
			t.Fatalf("after another process's write: %s read revision %d, want %d", c.sub, v.Revision, rev)
		}
	}
	get("after it, again", hr, true)

	// Sixteen concurrent GETs right after another write: all see it.
	feedback()
	h.srv = readerSrv
	var wg sync.WaitGroup
	got := make([]response, 16)
	sql := traced.during(func() {
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := callers[i%len(callers)]
				got[i] = h.request(&c, "GET", "/v1/skps/"+id, nil)
			}()
		}
		wg.Wait()
	})
	for i, r := range got {
		if r.status != http.StatusOK {
			t.Fatalf("concurrent GET %d = %d %s", i, r.status, r.body)
		}
		if v := skpView(t, r); v.Revision != rev {
			t.Errorf("concurrent GET %d read revision %d, want %d", i, v.Revision, rev)
		}
	}
	// The claimless HR's first GET after the write also asks the head and
	// scans for registrations (ManyAgencies): up to three more statements.
	if len(sql) > len(got)+3 {
		t.Errorf("16 concurrent GETs sent %d statements:\n%s", len(sql), strings.Join(sql, "\n"))
	}
	t.Logf("16 concurrent GETs: %d statements", len(sql))
}
