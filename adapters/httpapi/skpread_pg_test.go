package httpapi

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// countingStore counts the reads that reach the event store.
type countingStore struct {
	*pgstore.Store
	streams, tails, heads atomic.Int64
	withHead              atomic.Int64 // the tail reads that also read the head (ReadTailsHead)
}

func (c *countingStore) Head(ctx context.Context) (eventstore.Position, error) {
	c.heads.Add(1)
	return c.Store.Head(ctx)
}

func (c *countingStore) ReadTailsHead(ctx context.Context, reqs []eventstore.TailRequest) ([]eventstore.Tail, eventstore.Position, error) {
	c.tails.Add(1)
	c.withHead.Add(1)
	return c.Store.ReadTailsHead(ctx, reqs)
}

func (c *countingStore) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	c.streams.Add(1)
	return c.Store.ReadStream(ctx, stream, opts)
}

func (c *countingStore) ReadTails(ctx context.Context, reqs []eventstore.TailRequest) ([]eventstore.Tail, error) {
	c.tails.Add(1)
	return c.Store.ReadTails(ctx, reqs)
}

// servicesOn points the harness's domain services at log.
func servicesOn(s *settings, log domain.EventLog, now func() time.Time) {
	pol := s.appConfig.Policy
	handler := &domain.Handler{Log: log, Now: now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	s.appConfig.Units = &orgunit.Service{Handler: handler, Policy: pol}
	s.appConfig.Employees = &employee.Service{Handler: handler, Policy: pol}
	s.appConfig.SKPs = &skp.Service{Handler: handler, Policy: pol}
	s.appConfig.Distribution = &distribution.Service{Handler: handler, Policy: pol, Pattern: distribution.SE3_2023}
}

// pgRead is the set-up the PostgreSQL read tests share: the harness on
// PostgreSQL with the cast and E's established SKP (id), the harness's
// Store counted (counted: the reads of process A), and other, a second
// Store on the same schema with its own pool (process B).
type pgRead struct {
	h       *harness
	id      string
	pg      *pgstore.Store
	counted *countingStore
	other   *pgstore.Store
}

func newPGRead(t testing.TB) *pgRead {
	t.Helper()
	h := newHarnessOn(t, "postgres")
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	pg := h.store.(*pgstore.Store)
	pool, err := pgxpool.New(h.ctx, os.Getenv("KINERJA_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	other, err := pgstore.Open(h.ctx, pool, pgstore.Options{Schema: pg.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return &pgRead{h: h, id: id, pg: pg, counted: &countingStore{Store: pg}, other: other}
}

// server opens a server on the harness (closing the previous one's
// idempotency store) configured by edit, and returns it.
func (r *pgRead) server(edit func(s *settings)) *Server {
	r.h.idem.Close()
	r.h.openServer(edit)
	return r.h.srv
}

// reset zeroes the read counts.
func (r *pgRead) reset() {
	r.counted.streams.Store(0)
	r.counted.tails.Store(0)
	r.counted.heads.Store(0)
	r.counted.withHead.Store(0)
}

// TestGetSKPOneRoundTripOnPostgres: GET /v1/skps/{id} served by a process
// whose reads go through the cache of decoded events (as kinerjad's do)
// asks PostgreSQL one statement per request, for the SKP, its employee and
// the caller together, and stays strongly consistent: what another
// process (another Store, its own pool, on the same database) wrote just
// before is in the next answer, whichever of the three streams it moved.
func TestGetSKPOneRoundTripOnPostgres(t *testing.T) {
	pr := newPGRead(t)
	h, id, counted := pr.h, pr.id, pr.counted
	plainSrv := h.srv // reads without a cache: the reference
	// Process A: the cached, prefetching reads of kinerjad.
	cachedSrv := pr.server(func(s *settings) { servicesOn(s, eventlog.NewCached(counted, 0), h.clock.Now) })
	writerSrv := pr.server(func(s *settings) { servicesOn(s, eventlog.New(pr.other), h.clock.Now) })

	get := func(round string) skp.View {
		t.Helper()
		h.srv = plainSrv
		want := h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+id, nil)
		h.srv = cachedSrv
		pr.reset()
		got := h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+id, nil)
		if s, tl := counted.streams.Load(), counted.tails.Load(); s != 0 || tl != 1 {
			t.Errorf("%s: GET made %d stream reads and %d tail reads, want 0 and 1 (one round trip)", round, s, tl)
		}
		if string(got.body) != string(want.body) || got.header.Get("ETag") != want.header.Get("ETag") {
			t.Fatalf("%s: cached GET = %s %s\nwant %s %s", round, got.header.Get("ETag"), got.body, want.header.Get("ETag"), want.body)
		}
		return skpView(t, got)
	}
	v0 := get("cold")
	get("warm")

	// B moves the SKP: A's next GET has it.
	h.srv = writerSrv
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/feedback", map[string]any{"text": "Progres imunisasi baik, pertahankan."})
	v1 := get("after B's feedback")
	if v1.Revision != v0.Revision+1 {
		t.Fatalf("revision after B's write = %d, want %d", v1.Revision, v0.Revision+1)
	}

	// B moves the employee's stream (the reporting line the access
	// decision reads): A's next GET decides on it. U, a stranger to the
	// SKP until now, becomes E's appraiser.
	uCaller := caller{nipU, nil}
	h.srv = cachedSrv
	h.refused(http.StatusNotFound, "not_found", &uCaller, "GET", "/v1/skps/"+id, nil) // warms the cache of all three streams
	h.srv = writerSrv
	h.must(http.StatusOK, hr, "PUT", "/v1/employees/"+nipE+"/reporting-line",
		map[string]string{"appraiser_nip": nipU, "appraiser_superior_nip": nipT, "effective_from": "2026-01-01", "paper_ref": decree})
	h.srv = cachedSrv
	pr.reset()
	h.must(http.StatusOK, uCaller, "GET", "/v1/skps/"+id, nil)
	if s, tl := counted.streams.Load(), counted.tails.Load(); s != 0 || tl != 1 {
		t.Errorf("after B's reporting line: GET made %d stream reads and %d tail reads, want 0 and 1", s, tl)
	}
	// An outsider still sees nothing, however warm the cache.
	h.refused(http.StatusNotFound, "not_found", &outX, "GET", "/v1/skps/"+id, nil)
	h.refused(http.StatusNotFound, "not_found", &apprA, "GET", "/v1/skps/"+nipX+"-2026", nil)
	h.refused(http.StatusNotFound, "not_found", &apprA, "GET", "/v1/skps/%01bad", nil)
}

// TestGetSKPTenancyInOneRoundTrip: a claimless HR token keeps its agency
// role only while the deployment holds one agency (app.Principal), which
// asked the store for its head on every request: GET /v1/skps/{id} was two
// statements. Now the statement that reads the request's streams also
// reads the newest committed position, and while nothing was committed
// since the tenancy check last scanned the log, the check asks nothing
// more: one statement. It stays strongly consistent: a second agency
// registered through another process takes the role away on the next
// GET.
func TestGetSKPTenancyInOneRoundTrip(t *testing.T) {
	pr := newPGRead(t)
	h, id, counted := pr.h, pr.id, pr.counted
	readerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.NewCached(counted, 0), h.clock.Now)
		s.appConfig.Store = counted
	})
	writerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.New(pr.other), h.clock.Now)
		s.appConfig.Store = pr.other
		s.Authenticator = principals{inner: s.Authenticator, as: map[string]domain.Principal{
			hrProv.sub: {ID: hrProv.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PROV"},
		}}
	})

	get := func(round string, wantHeads int64) {
		t.Helper()
		h.srv = readerSrv
		pr.reset()
		h.must(http.StatusOK, hr, "GET", "/v1/skps/"+id, nil)
		if s, tl, hd := counted.streams.Load(), counted.tails.Load(), counted.heads.Load(); s != 0 || tl != 1 || hd != wantHeads {
			t.Errorf("%s: GET made %d stream reads, %d tail reads and %d head reads; want 0, 1 and %d", round, s, tl, hd, wantHeads)
		}
	}
	get("first", 1) // the tenancy check scans the log once
	get("second", 0)
	get("third", 0)

	// Another process appends (feedback on the SKP): the tenancy check
	// sees something new, asks the head and scans past it, once.
	h.srv = writerSrv
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/feedback", map[string]any{"text": "Progres imunisasi baik, pertahankan."})
	get("after another process's write", 1)
	get("after it, again", 0)

	// Another process registers a second agency: the claimless HR token
	// loses its agency role on the very next GET.
	h.srv = writerSrv
	h.must(http.StatusCreated, hrProv, "POST", "/v1/units", CreateUnitBody{ID: "PROV", Name: "Pemerintah Provinsi"})
	h.srv = readerSrv
	h.refused(http.StatusNotFound, "not_found", &hr, "GET", "/v1/skps/"+id, nil)
	h.refused(http.StatusNotFound, "not_found", &hr, "GET", "/v1/skps/"+id, nil)
	// The SKP's own parties still read it.
	h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+id, nil)
}

// TestGetSKPReadsTheHeadOnlyForTheTenancyCheck: the statement of GET
// /v1/skps/{id} carries the head's index probe only for a caller whose
// tenancy check reads it (app.Principal → ManyAgencies: a claimless token
// with an agency role while fewer than two agencies are known). A caller
// without an agency role, or with an agency claim, and every caller once
// two agencies are known, reads the streams alone. The answers stay those
// of the tenancy rules: the claimless HR token loses its role on the next
// GET after another process registers a second agency.
func TestGetSKPReadsTheHeadOnlyForTheTenancyCheck(t *testing.T) {
	pr := newPGRead(t)
	h, id, counted := pr.h, pr.id, pr.counted
	hrClaim := caller{"hr-claim", []string{"HR_ADMIN"}}
	readerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.NewCached(counted, 0), h.clock.Now)
		s.appConfig.Store = counted
		s.Authenticator = principals{inner: s.Authenticator, as: map[string]domain.Principal{
			hrClaim.sub: {ID: hrClaim.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PEMKOT"},
		}}
	})
	writerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.New(pr.other), h.clock.Now)
		s.appConfig.Store = pr.other
		s.Authenticator = principals{inner: s.Authenticator, as: map[string]domain.Principal{
			hrProv.sub: {ID: hrProv.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PROV"},
		}}
	})
	get := func(round string, c caller, status int, wantHead int64) {
		t.Helper()
		h.srv = readerSrv
		pr.reset()
		if status == http.StatusOK {
			h.must(status, c, "GET", "/v1/skps/"+id, nil)
		} else {
			h.refused(status, "not_found", &c, "GET", "/v1/skps/"+id, nil)
		}
		if tl, wh := counted.tails.Load(), counted.withHead.Load(); tl != 1 || wh != wantHead {
			t.Errorf("%s: GET made %d tail reads, %d of them with the head; want 1 and %d", round, tl, wh, wantHead)
		}
	}
	get("claimless HR, one agency", hr, http.StatusOK, 1)
	get("claimless HR, again", hr, http.StatusOK, 1)
	get("the appraiser (no agency role)", apprA, http.StatusOK, 0)
	get("HR with the agency claim", hrClaim, http.StatusOK, 0)

	h.srv = writerSrv
	h.must(http.StatusCreated, hrProv, "POST", "/v1/units", CreateUnitBody{ID: "PROV", Name: "Pemerintah Provinsi"})
	// The first GET after it still reads the head (the reader knows one
	// agency) and finds the second: the claimless role is gone at once.
	get("claimless HR, a second agency registered elsewhere", hr, http.StatusNotFound, 1)
	get("claimless HR, two agencies known", hr, http.StatusNotFound, 0)
	get("the appraiser, two agencies known", apprA, http.StatusOK, 0)
	get("HR with the agency claim, two agencies known", hrClaim, http.StatusOK, 0)
}

// BenchmarkGetSKPOnPostgres prices GET /v1/skps/{id} in the process (no
// network, no client): a cached, prefetching log on PostgreSQL, as
// kinerjad reads, for the claimless HR token of `kinerjactl bench api`
// (CPU and allocations per request; the PostgreSQL backend's CPU is not
// in it), and for an HR token with its agency claim (whose statement has
// no head row since branch getskp).
//
//	go test -run '^$' -bench GetSKPOnPostgres -benchmem -cpuprofile /tmp/getskp.pprof ./adapters/httpapi/
func BenchmarkGetSKPOnPostgres(b *testing.B) {
	pr := newPGRead(b)
	h, id := pr.h, pr.id
	pr.server(func(s *settings) { servicesOn(s, eventlog.NewCached(pr.pg, 0), h.clock.Now) })
	for _, c := range []struct {
		name string
		c    caller
	}{{"claimless", hr}, {"agency_claim", hrAgA}} {
		b.Run(c.name, func(b *testing.B) {
			tok := "Bearer " + h.token(c.c)
			h.must(http.StatusOK, c.c, "GET", "/v1/skps/"+id, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				req := httptest.NewRequest("GET", "/v1/skps/"+id, nil)
				req.Header.Set("Authorization", tok)
				rec := httptest.NewRecorder()
				h.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET = %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
