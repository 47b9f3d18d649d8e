package main

// Issue 15: several kinerjad behind one load balancer on one PostgreSQL.
// Two kinerjad (run, as main runs it: each with its own pools, projector,
// audit signer, deadline process manager and caches) share one database:
// the events (pgstore), the read models, the sessions, the idempotency
// records, the deadlines and the evidence files. A round-robin reverse
// proxy (httputil.ReverseProxy) stands in front, and the API's e2e journey
// (with an evidence file) runs through it, every request on the other
// process than the one before. docs/operations.md ("Several kinerjad on one PostgreSQL") says
// what this shows.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
)

// backendHeader names, in a request to the balancer, the process to send
// it to ("0" or "1"; without it, round robin), and in its answer the
// process that served it.
const backendHeader = "X-Test-Backend"

// balancer is a round-robin reverse proxy over kinerjad processes that
// keeps the client's Host (as a load balancer does: the dashboard's
// cross-origin check compares Origin with it).
type balancer struct {
	*httptest.Server
	next   atomic.Uint64
	served [2]atomic.Int64
}

func newBalancer(t *testing.T, backends ...*server) *balancer {
	t.Helper()
	lb := &balancer{}
	targets := make([]*url.URL, len(backends))
	for i, b := range backends {
		u, err := url.Parse(b.base)
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = u
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := int(lb.next.Add(1) % uint64(len(targets)))
			if pin := pr.In.Header.Get(backendHeader); pin != "" {
				fmt.Sscan(pin, &i)
			}
			pr.Out.Header.Del(backendHeader)
			pr.SetURL(targets[i])
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			pr.Out.Header.Set(backendHeader, fmt.Sprint(i)) // read back by ModifyResponse
		},
		ModifyResponse: func(r *http.Response) error {
			i := r.Request.Header.Get(backendHeader)
			var n int
			fmt.Sscan(i, &n)
			lb.served[n].Add(1)
			r.Header.Set(backendHeader, i)
			return nil
		},
	}
	lb.Server = httptest.NewServer(proxy)
	t.Cleanup(lb.Close)
	return lb
}

// shareKeys makes the second process's data directory hold the first's
// token key (auth-ed25519.pem): a deployment gives every kinerjad the same
// keys. The writer and audit keys are given by flag (sharedKeyFlags).
func shareKeys(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, authkey.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, authkey.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// sharedKeyFlags point a kinerjad at the writer key, keyring and audit key
// of the data directory dir.
func sharedKeyFlags(dir string) []string {
	return []string{"--writer-key", filepath.Join(dir, wiring.WriterKeyFile), "--writer-keyring", filepath.Join(dir, wiring.WriterKeyringFile),
		"--audit-key", filepath.Join(dir, wiring.AuditKeyFile)}
}

func TestTwoProcessesOnePostgres(t *testing.T) {
	pg := postgresURL(t)
	args := []string{"--store", "postgres", "--postgres-url", pg, "--migrate"}
	dataA, dataB := t.TempDir(), t.TempDir()
	a := startServer(t, dataA, args...)
	shareKeys(t, dataA, dataB)
	b := startServer(t, dataB, append(args, sharedKeyFlags(dataA)...)...)
	lb := newBalancer(t, a, b)
	s := &server{t: t, base: lb.URL, data: dataA, key: a.key}
	conn, err := pgx.Connect(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	stored := func(stream string) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM kinerja.events WHERE stream = $1`, stream).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The whole API journey, each request on the other process, with an
	// evidence file uploaded through the balancer and downloaded from each
	// process (the files are in PostgreSQL).
	id, rhkE, ind := established(t, s)
	sum := evidenceJourney(t, s, id, ind)
	for _, pin := range []string{"0", "1"} {
		if a := s.call(nipA, nil, "GET", "/v1/skps/"+id+"/evidence/"+sum, nil, backendHeader, pin); a.status != 200 || !strings.HasPrefix(string(a.body), "%PDF") {
			t.Errorf("the evidence file from process %s: %d", pin, a.status)
		}
	}
	s.must(201, nipE, nil, "POST", "/v1/skps/"+id+"/realisations", httpapi.RealisationBody{Period: id[len(id)-4:] + "-Q1", IndicatorID: ind, Value: 2, Narrative: "2 puskesmas"}, nil)
	journeyOn(t, s, id, rhkE)
	t.Logf("journey: process 0 served %d requests, process 1 %d", lb.served[0].Load(), lb.served[1].Load())
	if lb.served[0].Load() < 10 || lb.served[1].Load() < 10 {
		t.Errorf("the balancer did not alternate: %d and %d requests", lb.served[0].Load(), lb.served[1].Load())
	}

	// A double submit: the same Idempotency-Key sent to one process, then
	// to the other (a retry after a lost answer, balanced elsewhere), and
	// twice more at once, one to each: recorded once, the same answer.
	body := httpapi.CreateUnitBody{ID: "BAPPEDA", Name: "Badan Perencanaan", ParentID: "PEMKOT"}
	first := s.call("hr-admin", hrAdmin, "POST", "/v1/units", body, "Idempotency-Key", "unit-bappeda-1", backendHeader, "0")
	again := s.call("hr-admin", hrAdmin, "POST", "/v1/units", body, "Idempotency-Key", "unit-bappeda-1", backendHeader, "1")
	if first.status != 201 || again.status != 201 || string(first.body) != string(again.body) || again.header.Get("Idempotency-Replayed") == "" {
		t.Errorf("double submit on two processes: %d %s / %d %s (replayed %q), want the same 201 replayed",
			first.status, first.body, again.status, again.body, again.header.Get("Idempotency-Replayed"))
	}
	if again.header.Get(backendHeader) != "1" {
		t.Fatalf("the repeat was served by process %q, want 1", again.header.Get(backendHeader))
	}
	var wg sync.WaitGroup
	var racing [2]answer
	body2 := httpapi.CreateUnitBody{ID: "BKPSDM", Name: "Badan Kepegawaian", ParentID: "PEMKOT"}
	for i := range 2 {
		wg.Go(func() {
			racing[i] = s.call("hr-admin", hrAdmin, "POST", "/v1/units", body2, "Idempotency-Key", "unit-bkpsdm-1", backendHeader, fmt.Sprint(i))
		})
	}
	wg.Wait()
	if racing[0].status != 201 || racing[1].status != 201 || string(racing[0].body) != string(racing[1].body) {
		t.Errorf("a double submit racing on two processes: %d %s / %d %s, want the same 201",
			racing[0].status, racing[0].body, racing[1].status, racing[1].body)
	}
	for stream, want := range map[string]int{"unit-BAPPEDA": 1, "unit-BKPSDM": 1} {
		if n := stored(stream); n != want {
			t.Errorf("%s holds %d events after double submits on two processes, want %d", stream, n, want)
		}
	}

	// Read after write on the other process. A read of a stream (the
	// employee, an SKP) is strongly consistent: process 1 reads the row
	// process 0 committed. A read of a projection (the directory search)
	// is eventually consistent; its answer says how far it had read
	// (Kinerja-Projection-Position), and the test measures the lag.
	const nipX = "199207072017071007"
	s.must(201, "hr-admin", hrAdmin, "POST", "/v1/employees", httpapi.CreateEmployeeBody{NIP: nipX, Name: "Rudi Hartono", UnitID: "BAPPEDA",
		Position: httpapi.PositionBody{Kind: "PELAKSANA", Title: "Analis Perencanaan"}}, nil)
	var wrote time.Time
	for i := range 20 {
		nip := fmt.Sprintf("19920707201707%d%03d", 1+i%2, i+10)
		w := s.call("hr-admin", hrAdmin, "POST", "/v1/employees", httpapi.CreateEmployeeBody{NIP: nip, Name: "Pegawai " + nip, UnitID: "BAPPEDA",
			Position: httpapi.PositionBody{Kind: "PELAKSANA", Title: "Pelaksana"}}, backendHeader, "0")
		wrote = time.Now()
		if w.status != 201 {
			t.Fatalf("register %s on process 0: %d %s", nip, w.status, w.body)
		}
		if r := s.call("hr-admin", hrAdmin, "GET", "/v1/employees/"+nip, nil, backendHeader, "1"); r.status != 200 {
			t.Errorf("GET /v1/employees/%s on process 1 right after the write on process 0: %d %s", nip, r.status, r.body)
		}
	}
	var lag time.Duration
	for {
		var page struct {
			Items []struct {
				NIP string `json:"nip"`
			} `json:"items"`
		}
		// Until the directory knows the unit, the search answers 404.
		r := s.call("hr-admin", hrAdmin, "GET", "/v1/employees?unit=BAPPEDA&limit=100", nil)
		if r.status != 200 && r.status != 404 {
			t.Fatalf("GET /v1/employees?unit=BAPPEDA: %d %s", r.status, r.body)
		}
		if r.status == 200 {
			if err := json.Unmarshal(r.body, &page); err != nil {
				t.Fatal(err)
			}
		}
		if len(page.Items) == 21 {
			lag = time.Since(wrote)
			t.Logf("the directory on process %s listed the 21 employees %s after the last write (position %s)",
				r.header.Get(backendHeader), lag.Round(time.Millisecond), r.header.Get(httpapi.PositionHeader))
			break
		}
		if time.Since(wrote) > 10*time.Second {
			t.Fatalf("after 10 s the directory lists %d of 21 employees", len(page.Items))
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A dashboard session begun on one process serves on the other
	// (sessions in PostgreSQL). A one-time sign-in link, though, is a file
	// in the data directory of the kinerjad it was made for: it is
	// refused by the other.
	codes, err := session.OpenLoginCodes(dataA, nil)
	if err != nil {
		t.Fatal(err)
	}
	auditorP := domain.Principal{ID: "auditor-1", Roles: []domain.Role{domain.RoleAuditor}}
	code, _, err := codes.Issue(auditorP, 0)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := func(pin, path string, v url.Values, cookie *http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, lb.URL+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", lb.URL)
		req.Header.Set(backendHeader, pin)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := form("1", "/masuk/tautan", url.Values{"kode": {code}}, nil); sessionCookie(r) != nil {
		t.Errorf("process 1 accepted a sign-in link made in process 0's data directory")
	}
	r := form("0", "/masuk/tautan", url.Values{"kode": {code}}, nil)
	ck := sessionCookie(r)
	if r.StatusCode != http.StatusSeeOther || ck == nil {
		t.Fatalf("sign-in link on process 0: %d, cookie %v", r.StatusCode, ck)
	}
	for _, pin := range []string{"1", "0", "1"} {
		req, _ := http.NewRequest(http.MethodGet, lb.URL+"/audit", nil)
		req.Header.Set(backendHeader, pin)
		req.AddCookie(ck)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), `id="trail"`) {
			t.Errorf("GET /audit with the session on process %s: %d", pin, resp.StatusCode)
		}
	}
	// Verification from the dashboard on process 1 (a form post with the
	// session made on process 0).
	if r := form("1", "/audit/verifikasi", nil, ck); r.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /audit/verifikasi on process 1 with process 0's session: %d", r.StatusCode)
	}
	// Signing out on process 1 ends the session on process 0.
	form("1", "/keluar", nil, ck)
	req, _ := http.NewRequest(http.MethodGet, lb.URL+"/audit", nil)
	req.Header.Set(backendHeader, "0")
	req.AddCookie(ck)
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode == 200 {
		t.Errorf("after signing out on process 1, process 0 still serves the session: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}

	// Both processes sign checkpoints of the one trail; each verifies it.
	for _, pin := range []string{"0", "1"} {
		p := &server{t: t, base: map[string]string{"0": a.base, "1": b.base}[pin], key: a.key}
		rep := verifyAudit(t, p)
		t.Logf("process %s: audit verified, %d entries, %d checkpoints", pin, rep.Size, rep.Checkpoints)
	}
	// Which processes signed shows in their witness files (one each here;
	// a deployment shares one witness, see docs/operations.md).
	for i, dir := range []string{dataA, dataB} {
		_, err := os.Stat(filepath.Join(dir, wiring.WitnessFile))
		t.Logf("process %d signed a checkpoint: %v", i, err == nil)
	}
}

// sessionCookie is the session cookie r sets, if any.
func sessionCookie(r *http.Response) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == session.CookieName && c.Value != "" {
			return c
		}
	}
	return nil
}
