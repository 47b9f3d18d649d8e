package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
