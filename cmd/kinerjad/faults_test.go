package main

import (
	"context"
	"encoding/json"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/cmd/internal/pgtest"
)

// Fault tests (issue 10): a dependency goes away under a write load; the
// writes answer 503 unavailable (with Retry-After) or 507
// insufficient_storage, never 500; the service recovers without a restart
// once the dependency is back; and every write acknowledged with a 2xx is
// there afterwards. Nothing here asserts a duration.

// faultLoad writes units through the API from n goroutines until stop
// closes, collecting the acknowledged IDs and every answer that is not a
// 201 by status (transport errors are status 0).
type faultLoad struct {
	mu      sync.Mutex
	acked   []string
	refused map[int][]answer
	wg      sync.WaitGroup
	stop    chan struct{}
}

// loadRoot is the root unit the load registers its units under: one
// agency (a token without an agency claim acts only while there is one).
const loadRoot = "LOAD"

// registerLoadRoot registers loadRoot, before a fault is made.
func registerLoadRoot(s *server) {
	s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: loadRoot, Name: "Induk"}, nil)
}

func startLoad(s *server, prefix string, n int) *faultLoad {
	l := &faultLoad{refused: map[int][]answer{}, stop: make(chan struct{})}
	for w := range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				id := fmt.Sprintf("%s%d-%d", prefix, w, i)
				a := s.callNoFail("hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: id, Name: "Unit " + id, ParentID: loadRoot})
				l.mu.Lock()
				if a.status == 201 {
					l.acked = append(l.acked, id)
				} else {
					l.refused[a.status] = append(l.refused[a.status], a)
				}
				l.mu.Unlock()
				if a.status != 201 {
					time.Sleep(20 * time.Millisecond) // as a client honouring Retry-After would, briefly
				}
			}
		}()
	}
	return l
}

// count returns how many answers had status (201: acknowledged).
func (l *faultLoad) count(status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if status == 201 {
		return len(l.acked)
	}
	return len(l.refused[status])
}

// waitFor polls cond every 50 ms until it holds or a minute passes.
func waitFor(t *testing.T, what string, cond func() bool, show ...func() string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			for _, f := range show {
				t.Log(f())
			}
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// finish stops the load and checks the refusals: only the statuses and
// codes allowed, each a problem with the headers it promises.
func (l *faultLoad) finish(t *testing.T, allowed map[int]string) []string {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	for status, as := range l.refused {
		code, ok := allowed[status]
		if !ok && status != 0 {
			t.Errorf("%d writes answered %d, e.g. %s", len(as), status, as[0].body)
			continue
		}
		for _, a := range as {
			if status == 0 {
				continue
			}
			var p struct {
				Code string `json:"code"`
			}
			json.Unmarshal(a.body, &p)
			if p.Code != code {
				t.Errorf("a write answered %d with code %q, want %q: %s", status, p.Code, code, a.body)
				break
			}
			if status == 503 && a.header.Get("Retry-After") == "" {
				t.Errorf("a 503 without Retry-After: %s", a.body)
				break
			}
		}
	}
	if len(l.refused[0]) > 0 {
		t.Errorf("%d writes got no HTTP answer (the service must answer, not drop the connection)", len(l.refused[0]))
	}
	return l.acked
}

// checkAcked fails for every acknowledged unit the service does not have.
func checkAcked(t *testing.T, s *server, acked []string) {
	t.Helper()
	for _, id := range acked {
		if a := s.call("hr-admin", hrAdmin, "GET", "/v1/units/"+id, nil); a.status != 200 {
			t.Errorf("unit %s was acknowledged but is missing: %d %s", id, a.status, a.body)
		}
	}
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory and returns
// it; skipped (a failure with KINERJA_REQUIRE_INTEGRATION=1) where mounting
// is not allowed.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): %v %s", err, out)
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file of zeros into dir until the file system is full but
// for about leave bytes, and returns its path.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := free - leave; n > 0 {
		if _, err := f.Write(make([]byte, n)); err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
	}
	return path
}

// The disk of a bbolt store fills up under a write load: writes answer 507
// insufficient_storage (never 500), the file stays intact, and once space
// is freed the same process writes again; every acknowledged write is
// there, and the ledger verifies, also after a restart.
func TestDiskFullBolt(t *testing.T) {
	mnt := mountTmpfs(t, 16<<20)
	data := filepath.Join(mnt, "data")
	s := startServer(t, data)
	registerLoadRoot(s)
	filler := fill(t, mnt, 256<<10)
	l := startLoad(s, "DF", 4)
	waitFor(t, "writes answered 507", func() bool { return l.count(507) >= 10 })
	full := l.count(201)
	// Readiness while full: the process still answers.
	if a := s.call("", nil, "GET", "/healthz", nil); a.status != 200 {
		t.Errorf("/healthz while the disk is full: %d", a.status)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "writes to succeed again after space was freed", func() bool { return l.count(201) > full+20 })
	acked := l.finish(t, map[int]string{507: "insufficient_storage", 503: "unavailable"})
	t.Logf("%d writes acknowledged, %d answered 507, %d answered 503 (%d acknowledged before the first 507)", len(acked), l.count(507), l.count(503), full)
	checkAcked(t, s, acked)
	verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatalf("kinerjad after the disk was full: %v", err)
	}
	s2 := startServer(t, data)
	checkAcked(t, s2, acked)
	verifyAudit(t, s2)
}

// pgFault runs kinerjad on the PostgreSQL of url under a write load, calls
// outage (which makes PostgreSQL go away and returns when it is back) and
// checks that the same process recovers: writes succeed again, /readyz is
// ready, the read models catch up with every acknowledged write, and the
// ledger verifies. during is called while PostgreSQL is away, if it is.
func pgFault(t *testing.T, url, prefix string, outage func(s *server, l *faultLoad)) {
	s := startServer(t, t.TempDir(), "--store", "postgres", "--postgres-url", url, "--migrate")
	t.Cleanup(func() {
		if t.Failed() {
			for _, line := range s.logLines() {
				if strings.Contains(line, `"status":500`) || (strings.Contains(line, `"level":"ERROR"`) && !strings.Contains(line, `"status":503`)) {
					t.Log(line)
				}
			}
		}
	})
	registerLoadRoot(s)
	l := startLoad(s, prefix, 4)
	waitFor(t, "writes before the outage", func() bool { return l.count(201) >= 20 })
	outage(s, l)
	after := l.count(201)
	waitFor(t, "writes to succeed again", func() bool { return l.count(201) >= after+20 })
	acked := l.finish(t, map[int]string{503: "unavailable"})
	var last answer
	waitFor(t, "/readyz to be ready again", func() bool { last = s.call("", nil, "GET", "/readyz", nil); return last.status == 200 },
		func() string { return string(last.body) })
	// The read models catch up: every acknowledged unit is listed.
	waitFor(t, "the read models to hold every acknowledged write", func() bool {
		for _, id := range acked {
			if s.call("hr-admin", hrAdmin, "GET", "/v1/units/"+id, nil).status != 200 {
				return false
			}
		}
		return true
	})
	verifyAudit(t, s)
	t.Logf("%d writes acknowledged and all present; %d answered 503 unavailable", len(acked), l.count(503))
}

// PostgreSQL terminates the service's connections (pg_terminate_backend of
// every backend of the test's own database, repeatedly): the pools
// reconnect, nothing acknowledged is lost, no 500.
func TestPostgresBackendsTerminated(t *testing.T) {
	url := postgresURL(t)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	admin, err := pgx.Connect(context.Background(), os.Getenv("KINERJA_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	pgFault(t, url, "PT", func(s *server, l *faultLoad) {
		killed := 0
		for range 30 {
			var n int
			// Only the backends of this test's database: other packages'
			// tests share the server.
			if err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db).Scan(&n); err != nil {
				t.Fatal(err)
			}
			killed += n
			time.Sleep(50 * time.Millisecond)
		}
		if killed == 0 {
			t.Fatal("no backend of the service was terminated")
		}
		t.Logf("%d backends terminated", killed)
	})
}

// A private PostgreSQL is stopped (immediate, as a crash) under a write
// load and started again: meanwhile writes answer 503 unavailable with
// Retry-After and /readyz says not_ready and why; afterwards the same
// process writes again and its projections catch up.
func TestPostgresStoppedAndRestarted(t *testing.T) {
	pg := pgtest.StartPrivate(t)
	pgFault(t, pg.URL(), "PS", func(s *server, l *faultLoad) {
		pg.Stop()
		before := l.count(503)
		waitFor(t, "writes answered 503 while PostgreSQL is down", func() bool { return l.count(503) >= before+5 })
		var ready struct {
			Status  string   `json:"status"`
			Reasons []string `json:"reasons"`
		}
		a := s.call("", nil, "GET", "/readyz", nil)
		json.Unmarshal(a.body, &ready)
		if a.status != 503 || len(ready.Reasons) == 0 {
			t.Errorf("/readyz while PostgreSQL is down: %d %s", a.status, a.body)
		}
		t.Logf("/readyz while PostgreSQL is down: %d %s", a.status, a.body)
		pg.Start()
	})
}
