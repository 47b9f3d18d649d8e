package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startKinerjad builds kinerjad, starts it on data and returns its base
// URL; it stops when the test ends.
func startKinerjad(t *testing.T, data string, extra ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build kinerjad: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "kinerjad")
	if out, err := exec.Command(goBin, "build", "-o", bin, "../kinerjad").CombinedOutput(); err != nil {
		t.Fatalf("build kinerjad: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"--data", data, "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(exited)
		defer cmd.Wait()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-exited:
		t.Fatal("kinerjad exited before listening")
	case <-time.After(2 * time.Minute):
		t.Fatal("kinerjad did not log listening within 2 minutes")
	}
	return ""
}

func TestBenchAPIBolt(t *testing.T) {
	data := t.TempDir()
	seeded := mustCtl(t, "seed", "--data", data, "--employees", "30", "--year", strconv.Itoa(time.Now().Year()-1))
	var stats struct{ AgencyUnit string }
	if err := json.Unmarshal([]byte(seeded), &stats); err != nil || stats.AgencyUnit == "" {
		t.Fatalf("seed printed %s (%v)", seeded, err)
	}
	base := startKinerjad(t, data)
	out := mustCtl(t, "bench", "api", "--url", base, "--data", data, "--duration", "300ms", "--warmup", "100ms", "--concurrency", "4",
		"--as-of-events", "40", "--as-of-sample", "5")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(defaultScenarios)+1 {
		t.Fatalf("bench api printed %d lines, want %d:\n%s", len(lines), len(defaultScenarios)+1, out)
	}
	var got []string
	for _, line := range lines[:len(defaultScenarios)] {
		var r apiResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bench api printed %s: %v", line, err)
		}
		got = append(got, r.Scenario)
		if r.Bench != "api" || r.Requests <= 0 || r.RPS <= 0 || r.Concurrency != 4 {
			t.Errorf("%s = %+v", r.Scenario, r)
		}
		// Errors mean a malformed scenario, not a slow server.
		if r.Errors != 0 {
			t.Errorf("%s: %d errors, e.g. %s", r.Scenario, r.Errors, r.ErrorSample)
		}
		checkLatency(t, r.Scenario, latency{P50: r.P50, P90: r.P90, P95: r.P95, P99: r.P99, Max: r.Max})
		if r.Scenario == "as_of_1000" && r.Events != 40 {
			t.Errorf("as_of_1000 replays %d events, want 40", r.Events)
		}
		if (r.Scenario == "trivial") == (r.Target == base) {
			t.Errorf("%s measured %s", r.Scenario, r.Target)
		}
	}
	if !slices.Equal(got, defaultScenarios) {
		t.Errorf("scenarios = %v, want %v", got, defaultScenarios)
	}
	var ratio struct {
		Scenario string  `json:"scenario"`
		Ratio    float64 `json:"ratio"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ratio); err != nil || ratio.Scenario != "ratio" || ratio.Ratio <= 0 {
		t.Errorf("ratio line = %s (%v)", lines[len(lines)-1], err)
	}
	// An agency-claimed reading token (--role, --agency): the GETs are
	// answered (the agency's SKPs, listed with its claim), and the lines
	// say which token read.
	out = mustCtl(t, "bench", "api", "--url", base, "--data", data, "--duration", "300ms", "--warmup", "100ms", "--concurrency", "4",
		"--scenarios", "trivial,get_skp,as_of", "--as-of-sample", "5", "--role", "HR_ANALYST", "--agency", stats.AgencyUnit)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("bench api --agency printed %d lines, want 4:\n%s", len(lines), out)
	}
	for _, line := range lines[1:3] {
		var r apiResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bench api printed %s: %v", line, err)
		}
		if r.Requests <= 0 || r.Errors != 0 || r.Role != "HR_ANALYST" || r.Agency != stats.AgencyUnit {
			t.Errorf("%s with the agency claim = %+v", r.Scenario, r)
		}
	}
	var claimed struct {
		Scenario, Role, Agency string
		Ratio                  float64
	}
	if err := json.Unmarshal([]byte(lines[3]), &claimed); err != nil || claimed.Scenario != "ratio" || claimed.Ratio <= 0 ||
		claimed.Role != "HR_ANALYST" || claimed.Agency != stats.AgencyUnit {
		t.Errorf("ratio line with the agency claim = %s (%v)", lines[3], err)
	}
	// An agency the deployment does not hold: refused before any load.
	if out, err := ctl(t, "bench", "api", "--url", base, "--data", data, "--scenarios", "get_skp", "--agency", "NOSUCHAGENCY"); err == nil {
		t.Errorf("bench api --agency NOSUCHAGENCY succeeded: %s", out)
	}

	// contention, named: writers × items on one SKP, all of them counted.
	out = mustCtl(t, "bench", "api", "--url", base, "--data", data, "--scenarios", "contention", "--concurrency", "4", "--contention-items", "5")
	var c contentionResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &c); err != nil {
		t.Fatalf("bench api contention printed %s: %v", out, err)
	}
	if c.Scenario != "contention" || c.Requests != 20 || c.OK+c.Contention+c.Other != 20 || c.SKP == "" || c.Writers != 4 || c.Items != 5 {
		t.Errorf("contention = %+v", c)
	}
	if c.OK != 20 {
		t.Errorf("contention: %d of 20 succeeded, e.g. %s", c.OK, c.ErrorSample)
	}
}

func TestBenchAPIRefusesBadFlags(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "token", "--init", "--data", data, "--sub", "x") // creates the key
	for _, args := range [][]string{
		{"--data", data},
		{"--data", data, "--url", "127.0.0.1:8080"},
		{"--data", data, "--url", "http://127.0.0.1:1", "--scenarios", "nope"},
		{"--data", data, "--url", "http://127.0.0.1:1", "--concurrency", "0"},
		{"--data", data, "--url", "http://127.0.0.1:1", "--contention-items", "0"},
		{"--data", data, "--url", "http://127.0.0.1:1", "--also-url", "127.0.0.1:2"},
		{"--data", data, "--url", "http://127.0.0.1:1", "--role", "EMPLOYEE"},
		{"--data", data, "--url", "http://127.0.0.1:1", "--agency", "NO SUCH"},
		{"--data", t.TempDir(), "--url", "http://127.0.0.1:1"},          // no key
		{"--data", data, "--url", "http://127.0.0.1:1", "--wait", "0s"}, // nothing listening
	} {
		if _, err := ctl(t, append([]string{"bench", "api"}, args...)...); err == nil {
			t.Errorf("bench api %v succeeded, want an error", args)
		}
	}
}

// TestBenchAPIOpenLoopKeepsItsConnections: the open loop's connections
// outnumber --concurrency (8 against 1). The server holds each wave of 8
// requests until all 8 have come (a stall: every connection busy at once),
// then answers; the next wave is due 50 ms later. A client whose idle pool
// is sized by --concurrency closes the surplus after the first wave and
// dials again for the second, a TCP connect counted in the service's
// latency; sized by --open-conns, the second wave reuses the first's 8.
func TestBenchAPIOpenLoopKeepsItsConnections(t *testing.T) {
	const wave = 8
	var mu sync.Mutex
	arrived := 0
	released := []chan struct{}{make(chan struct{}), make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		k := arrived / wave
		arrived++
		if k < len(released) && arrived%wave == 0 {
			close(released[k])
		}
		mu.Unlock()
		if k < len(released) {
			select {
			case <-released[k]:
			case <-time.After(10 * time.Second):
			}
		}
		w.Write([]byte("ok"))
	}))
	var dials atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	// 20/s for 800 ms: 16 requests due 50 ms apart, two waves of 8.
	c := apiConfig{concurrency: 1, openConns: wave, rate: 20, duration: 800 * time.Millisecond}
	b := &apiBench{cfg: c, client: c.httpClient(), stderr: io.Discard}
	defer b.client.CloseIdleConnections()
	sc := apiScenario{name: "trivial", target: srv.URL, want: http.StatusOK,
		next: func(*mrand.Rand) (*http.Request, error) { return get(srv.URL, "/", "") }}
	r := b.load(context.Background(), sc)
	if r.Requests != 2*wave || r.OK != 2*wave {
		t.Fatalf("open loop = %+v, want %d requests answered", r, 2*wave)
	}
	if n := dials.Load(); n != wave {
		t.Errorf("%d connections dialled for %d open-loop connections: the idle pool closed some between the waves", n, wave)
	}
}

// TestBenchAPIFailuresAreOnlyCounted: against a server that fails every
// other request, both loops count the failures apart: requests = ok +
// errors, and the rate is the successes' (ok over the window), not every
// answer's.
func TestBenchAPIFailuresAreOnlyCounted(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%2 == 0 {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	sc := apiScenario{name: "trivial", target: srv.URL, want: http.StatusOK,
		next: func(*mrand.Rand) (*http.Request, error) { return get(srv.URL, "/", "") }}
	for _, c := range []apiConfig{
		{concurrency: 2, openConns: 4, rate: 200, warmup: 100 * time.Millisecond, duration: 200 * time.Millisecond},
		{concurrency: 2, duration: 200 * time.Millisecond},
	} {
		b := &apiBench{cfg: c, client: c.httpClient(), stderr: io.Discard}
		r := b.load(context.Background(), sc)
		b.client.CloseIdleConnections()
		if r.OK == 0 || r.Errors == 0 || r.OK+r.Errors != r.Requests || !strings.Contains(r.ErrorSample, "503") {
			t.Errorf("%s loop: %d requests, %d ok, %d errors (%s): want both, adding up", r.Mode, r.Requests, r.OK, r.Errors, r.ErrorSample)
		}
		if c.rate > 0 && r.Requests != 40 { // 200/s over 200 ms, after the warm-up's 20
			t.Errorf("open loop measured %d requests, want 40", r.Requests)
		}
		// rps × duration_s is the successes, to the rounding of both.
		if got := r.RPS * r.DurationS; math.Abs(got-float64(r.OK)) > 0.02*float64(r.OK)+1 {
			t.Errorf("%s loop: rps %v × %v s = %.1f, want the %d successes (of %d)", r.Mode, r.RPS, r.DurationS, got, r.OK, r.Requests)
		}
	}
}
