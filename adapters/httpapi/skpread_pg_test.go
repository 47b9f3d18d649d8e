package httpapi

import (
	"context"
	"iter"
	"net/http"
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
	streams, tails atomic.Int64
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

// TestGetSKPOneRoundTripOnPostgres: GET /v1/skps/{id} served by a process
// whose reads go through the cache of decoded events (as kinerjad's do)
// asks PostgreSQL one statement per request, for the SKP, its employee and
// the caller together, and stays strongly consistent: what another
// process (another Store, its own pool, on the same database) wrote just
// before is in the next answer, whichever of the three streams it moved.
func TestGetSKPOneRoundTripOnPostgres(t *testing.T) {
	h := newHarnessOn(t, "postgres")
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	pg := h.store.(*pgstore.Store)

	// Process B: another Store on the same schema, with its own pool.
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
	plainSrv := h.srv // reads without a cache: the reference

	// Process A: the cached, prefetching reads of kinerjad.
	counted := &countingStore{Store: pg}
	if err := h.idem.Close(); err != nil {
		t.Fatal(err)
	}
	h.openServer(func(s *settings) { servicesOn(s, eventlog.NewCached(counted, 0), h.clock.Now) })
	cachedSrv := h.srv
	h.idem.Close()
	h.openServer(func(s *settings) { servicesOn(s, eventlog.New(other), h.clock.Now) })
	writerSrv := h.srv

	get := func(round string) skp.View {
		t.Helper()
		h.srv = plainSrv
		want := h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+id, nil)
		h.srv = cachedSrv
		counted.streams.Store(0)
		counted.tails.Store(0)
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
	counted.streams.Store(0)
	counted.tails.Store(0)
	h.must(http.StatusOK, uCaller, "GET", "/v1/skps/"+id, nil)
	if s, tl := counted.streams.Load(), counted.tails.Load(); s != 0 || tl != 1 {
		t.Errorf("after B's reporting line: GET made %d stream reads and %d tail reads, want 0 and 1", s, tl)
	}
	// An outsider still sees nothing, however warm the cache.
	h.refused(http.StatusNotFound, "not_found", &outX, "GET", "/v1/skps/"+id, nil)
	h.refused(http.StatusNotFound, "not_found", &apprA, "GET", "/v1/skps/"+nipX+"-2026", nil)
	h.refused(http.StatusNotFound, "not_found", &apprA, "GET", "/v1/skps/%01bad", nil)
}
