package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
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

	// Sixteen concurrent GETs right after another write: all see it, and
	// each is one round trip: its stream reads are in exactly one tail
	// statement, its own or one shared with the others (how many
	// statements that makes depends on how the GETs meet in time: on a
	// loaded machine they arrive one after another and each sends its
	// own). Counted per request: the statements sent under its context,
	// and the stream reads each statement carries.
	feedback()
	h.srv = readerSrv
	h.reqContext = func(r *http.Request) context.Context {
		return context.WithValue(r.Context(), requestTag{}, r.Header.Get("X-Test-Get"))
	}
	defer func() { h.reqContext = nil }()
	var wg sync.WaitGroup
	got := make([]response, 16)
	traced.during(func() {
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := callers[i%len(callers)]
				got[i] = h.request(&c, "GET", "/v1/skps/"+id, nil, "X-Test-Get", strconv.Itoa(i))
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
	traced.mu.Lock()
	sent := traced.sent
	traced.mu.Unlock()
	isHR := func(req string) bool {
		i, err := strconv.Atoi(req)
		return err == nil && callers[i%len(callers)].sub == hr.sub
	}
	if msg := oneRoundTripEach(sent, len(got), getStreams, isHR); msg != "" {
		var all []string
		for _, st := range sent {
			all = append(all, fmt.Sprintf("GET %q (%d streams): %s", st.request, st.streams, st.sql))
		}
		t.Errorf("16 concurrent GETs: %s\n%s", msg, strings.Join(all, "\n"))
	}
	t.Logf("16 concurrent GETs: %d statements", len(sent))
}

// getStreams is how many streams one GET /v1/skps/{id} of the test reads
// (app.PrefetchSKP: the SKP's and its employee's; none of the callers is
// another employee).
const getStreams = 2

// oneRoundTripEach checks that the statements sent while gets concurrent
// GETs ran gave each of them one round trip, and says why not ("" when
// they did): every tail statement is one GET's own (sent under its
// context, at most one each) or shared (under none), and together they
// carry each GET's perStream stream reads exactly once: a GET that read
// its streams twice (its own statement and a shared one, two shared ones,
// or a stream again after its tail read) adds reads, one answered without
// a read takes some away. Other statements are allowed to one claimless
// HR GET only (isHR): the tenancy check's scan for registrations after
// the write (ManyAgencies: the head and the unit registrations after the
// last scan, each waiting for older writing transactions, polling while
// other transactions of the cluster hold the horizon back).
func oneRoundTripEach(sent []sentStatement, gets, perStream int, isHR func(request string) bool) string {
	own := map[string]int{}
	reads := 0
	var scanner string
	for _, st := range sent {
		tail := strings.HasPrefix(st.sql, "WITH p AS MATERIALIZED (SELECT $1::text[] AS stream")
		switch {
		case tail && st.request != "":
			if own[st.request]++; own[st.request] > 1 {
				return fmt.Sprintf("GET %s sent %d tail statements of its own", st.request, own[st.request])
			}
			if st.streams != perStream {
				return fmt.Sprintf("GET %s read %d streams, want %d", st.request, st.streams, perStream)
			}
			reads += st.streams
		case tail:
			reads += st.streams
		case st.request == "":
			return "a statement other than a tail read under no request's context: " + st.sql
		case !isScan(st.sql):
			return fmt.Sprintf("GET %s sent a statement other than its tail read and the tenancy scan: %s", st.request, st.sql)
		case !isHR(st.request):
			return fmt.Sprintf("GET %s, not the claimless HR's, scanned: %s", st.request, st.sql)
		case scanner != "" && scanner != st.request:
			return fmt.Sprintf("GETs %s and %s both scanned for registrations", scanner, st.request)
		default:
			scanner = st.request
		}
	}
	if reads != gets*perStream {
		return fmt.Sprintf("the tail statements carry %d stream reads, want %d (%d GETs × %d streams): a GET read its streams twice or not at all",
			reads, gets*perStream, gets, perStream)
	}
	return ""
}

// isScan reports whether sql is one of the statements of ManyAgencies'
// scan (pgstore's Head and ReadAll: the horizon, the learning of which
// transactions do not write events, the head below the horizon, a page
// of the log).
func isScan(sql string) bool {
	for _, s := range []string{"pg_is_in_recovery()", "FROM pg_locks", "WHERE position < $1", "WHERE position > $1 AND position < $2"} {
		if strings.Contains(sql, s) {
			return true
		}
	}
	return false
}

// TestOneRoundTripEach: the concurrent GETs' check fails a GET that takes
// two round trips however the statements fall (its own tail statement and
// a shared one, two shared ones, a stream read again after its tail read,
// a scan by a caller whose tenancy check asks nothing, two scans) and
// passes the shapes scheduling makes legitimately.
func TestOneRoundTripEach(t *testing.T) {
	const tail = "WITH p AS MATERIALIZED (SELECT $1::text[] AS stream, $2::bigint[] AS from_revision) SELECT t.*"
	const settle = "SELECT (SELECT CASE WHEN pg_is_in_recovery() THEN w.lo ELSE 1 END)"
	const page = `SELECT position, stream FROM "s"."events" WHERE position > $1 AND position < $2 ORDER BY position`
	const stream = `SELECT position, stream FROM "s"."events" WHERE stream = $1 AND revision >= $2`
	own := func(req string) sentStatement { return sentStatement{sql: tail, request: req, streams: 2} }
	shared := func(gets int) sentStatement { return sentStatement{sql: tail, streams: 2 * gets} }
	isHR := func(req string) bool { return req == "0" || req == "3" }
	for _, c := range []struct {
		name string
		sent []sentStatement
		ok   bool
	}{
		{"each its own", []sentStatement{own("0"), own("1"), own("2"), own("3")}, true},
		{"one shared", []sentStatement{shared(4)}, true},
		{"own and shared, with the HR's scan", []sentStatement{own("0"), {settle, "0", 0}, shared(3), {settle, "0", 0}, {page, "0", 0}}, true},
		{"own and shared for one GET", []sentStatement{own("1"), shared(4)}, false},
		{"two shared for one GET", []sentStatement{shared(3), shared(2)}, false},
		{"own twice", []sentStatement{own("1"), own("1"), shared(2)}, false},
		{"one GET read nothing", []sentStatement{shared(3)}, false},
		{"a stream read again", []sentStatement{shared(4), {stream, "2", 0}}, false},
		{"a scan by a caller that asks nothing", []sentStatement{shared(4), {settle, "1", 0}}, false},
		{"two scans", []sentStatement{shared(4), {settle, "0", 0}, {settle, "3", 0}}, false},
		{"a statement of no request", []sentStatement{shared(4), {settle, "", 0}}, false},
	} {
		msg := oneRoundTripEach(c.sent, 4, getStreams, isHR)
		if (msg == "") != c.ok {
			t.Errorf("%s: oneRoundTripEach = %q, want ok %v", c.name, msg, c.ok)
		}
	}
}
