package httpapi

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// statements is a pgx QueryTracer: every statement a pool sends, by its
// SQL, while counting.
type statements struct {
	mu  sync.Mutex
	on  bool
	sql []string
	// sent is sql with, for each statement, the request it was sent under
	// (the context's requestTag; "" for one sent under no request's
	// context: a shared tail statement) and, for a tail read, how many
	// stream reads it carries.
	sent []sentStatement
}

type sentStatement struct {
	sql     string
	request string
	streams int
}

// requestTag keys, in a request's context, the name a test gives it.
type requestTag struct{}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	if s.on {
		q := strings.Join(strings.Fields(d.SQL), " ")
		s.sql = append(s.sql, q)
		st := sentStatement{sql: q}
		st.request, _ = ctx.Value(requestTag{}).(string)
		if len(d.Args) > 0 {
			if streams, ok := d.Args[0].([]string); ok {
				st.streams = len(streams)
			}
		}
		s.sent = append(s.sent, st)
	}
	s.mu.Unlock()
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// during returns the statements sent while f ran.
func (s *statements) during(f func()) []string {
	s.mu.Lock()
	s.on, s.sql, s.sent = true, nil, nil
	s.mu.Unlock()
	f()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on = false
	return s.sql
}

// TestGetSKPAgencyClaimInOneRoundTrip: GET /v1/skps/{id} with a token
// that names its agency sends PostgreSQL one statement, as the claimless
// one does (counted by a pgx QueryTracer on the reading process's pool):
// the agency of the SKP's drafting unit and of its employee's unit today
// is remembered per unit (orgunit.AgencyMemo) instead of walking the unit
// tree through the store on every request (1 + depth statements before).
// It stays strongly consistent across processes: when another process
// moves the employee to agency B, B's HR reads the SKP on the very next
// GET; when B releases them on to agency C, B's HR is refused on the very
// next GET, with the answer of an SKP that does not exist, while the
// drafting agency A keeps reading it.
func TestGetSKPAgencyClaimInOneRoundTrip(t *testing.T) {
	pr := newPGRead(t)
	h, id := pr.h, pr.id
	hrC := caller{"hr-c", []string{"HR_ADMIN"}}
	claims := func(s *settings) {
		s.Authenticator = principals{inner: s.Authenticator, as: map[string]domain.Principal{
			hrC.sub: {ID: hrC.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PEMKAB"},
		}}
	}
	// Process A reads through its own pool, traced.
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
	readerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.NewCached(reader, 0), h.clock.Now)
		s.appConfig.Store = reader
		claims(s)
	})
	// Process B writes.
	writerSrv := pr.server(func(s *settings) {
		servicesOn(s, eventlog.New(pr.other), h.clock.Now)
		s.appConfig.Store = pr.other
		claims(s)
	})
	write := func(c caller, method, path string, body any) {
		t.Helper()
		h.srv = writerSrv
		if r := h.request(&c, method, path, body); r.status/100 != 2 {
			t.Fatalf("%s %s as %s = %d %s", method, path, c.sub, r.status, r.body)
		}
	}
	for _, u := range []CreateUnitBody{{ID: "PEMPROV", Name: "Pemerintah Provinsi"}, {ID: "DISDIK", Name: "Dinas Pendidikan", ParentID: "PEMPROV"}} {
		write(hrB, "POST", "/v1/units", u)
	}
	for _, u := range []CreateUnitBody{{ID: "PEMKAB", Name: "Pemerintah Kabupaten"}, {ID: "DISKES", Name: "Dinas Kesehatan Kabupaten", ParentID: "PEMKAB"}} {
		write(hrC, "POST", "/v1/units", u)
	}

	unknown := "198001012005011091-2026" // an SKP that does not exist
	// get reads SKP path as c on process A; warm GETs first (the first
	// meeting of a unit walks the tree), then the counted one.
	get := func(round string, c caller, path string, want int, warm int) response {
		t.Helper()
		h.srv = readerSrv
		for range warm {
			h.request(&c, "GET", path, nil)
		}
		var r response
		sql := traced.during(func() { r = h.request(&c, "GET", path, nil) })
		if r.status != want {
			t.Fatalf("%s: GET %s as %s = %d %s, want %d", round, path, c.sub, r.status, r.body, want)
		}
		if len(sql) != 1 {
			t.Errorf("%s: GET %s as %s sent %d statements, want 1:\n%s", round, path, c.sub, len(sql), strings.Join(sql, "\n"))
		}
		return r
	}
	// same checks that a refusal reads as the answer for an SKP that does
	// not exist.
	same := func(round string, refused, missing response) {
		t.Helper()
		if normal(refused) != strings.ReplaceAll(normal(missing), unknown, id) {
			t.Errorf("%s: the refusal differs from an unknown SKP's answer:\n%d %s\n%d %s", round, refused.status, refused.body, missing.status, missing.body)
		}
	}

	get("A's HR", hrAgA, "/v1/skps/"+id, http.StatusOK, 1)
	get("A's HR, again", hrAgA, "/v1/skps/"+id, http.StatusOK, 0)
	get("A's analyst", anAgA, "/v1/skps/"+id, http.StatusOK, 0)
	same("B's HR before the move",
		get("B's HR before the move", hrB, "/v1/skps/"+id, http.StatusNotFound, 1),
		get("B's HR, an unknown SKP", hrB, "/v1/skps/"+unknown, http.StatusNotFound, 1))
	get("the appraiser (no agency role)", apprA, "/v1/skps/"+id, http.StatusOK, 0)

	// Process B moves E from A to agency B (A's release, B's move): B's HR
	// reads the SKP on process A's very next GET.
	today := func() string { return h.clock.Now().In(policy.WIB).Format("2006-01-02") }
	moveTo := func(c caller, from caller, agency, unit string) {
		t.Helper()
		write(from, "PUT", "/v1/employees/"+nipE+"/transfer-release", map[string]any{
			"to_agency": agency, "expires_on": h.clock.Now().AddDate(0, 0, 30).In(policy.WIB).Format("2006-01-02"), "decree_ref": "800/12/BKPSDM"})
		write(c, "PUT", "/v1/employees/"+nipE+"/position", map[string]any{
			"unit_id": unit, "position": map[string]any{"kind": "PELAKSANA", "title": "Pengadministrasi"}, "effective_from": today()})
	}
	h.clock.Advance(24 * time.Hour)
	moveTo(hrB, hrAgA, "PEMPROV", "DISDIK")
	h.srv = readerSrv
	if r := h.request(&hrB, "GET", "/v1/skps/"+id, nil); r.status != http.StatusOK {
		t.Fatalf("B's HR, the first GET after E moved to B = %d %s, want 200", r.status, r.body)
	}
	get("B's HR after the move", hrB, "/v1/skps/"+id, http.StatusOK, 0)
	get("A's HR after the move (A drafted it)", hrAgA, "/v1/skps/"+id, http.StatusOK, 0)

	// B releases E on to agency C: B neither drafted the SKP nor holds
	// its employee; the very next GET by B's HR is refused.
	h.clock.Advance(24 * time.Hour)
	moveTo(hrC, hrB, "PEMKAB", "DISKES")
	h.srv = readerSrv
	if r := h.request(&hrB, "GET", "/v1/skps/"+id, nil); r.status != http.StatusNotFound {
		t.Fatalf("B's HR, the first GET after E moved on to C = %d %s, want 404", r.status, r.body)
	}
	same("B's HR after E moved on",
		get("B's HR after E moved on", hrB, "/v1/skps/"+id, http.StatusNotFound, 0),
		get("B's HR, an unknown SKP, after", hrB, "/v1/skps/"+unknown, http.StatusNotFound, 0))
	if r := h.request(&hrC, "GET", "/v1/skps/"+id, nil); r.status != http.StatusOK {
		t.Fatalf("C's HR, the first GET after E moved to C = %d %s, want 200", r.status, r.body)
	}
	get("C's HR", hrC, "/v1/skps/"+id, http.StatusOK, 0)
	get("A's HR at the end", hrAgA, "/v1/skps/"+id, http.StatusOK, 0)
}
