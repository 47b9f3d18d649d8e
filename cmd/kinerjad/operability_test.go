package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
)

// kinerjad --version prints the build and exits, reading no other
// configuration and opening nothing (even with a bad one).
func TestVersion(t *testing.T) {
	data := filepath.Join(t.TempDir(), "never")
	var out bytes.Buffer
	err := run(context.Background(), []string{"--version", "--data", data, "--store", "mongo"}, func(k string) string {
		return map[string]string{"KINERJA_CACHE_MB": "lots"}[k]
	}, &out, io.Discard)
	if err != nil || !strings.HasPrefix(out.String(), "kinerjad ") || !strings.Contains(out.String(), runtime.Version()) {
		t.Errorf("kinerjad --version = %q, %v", out.String(), err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("--version created the data directory (%v)", err)
	}
}

// The running service logs one JSON line per request, API and dashboard
// alike, with the route template and never the raw path; serves the
// build-info and contention metrics; and answers oversized headers with a
// problem, not plain text.
func TestOperability(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.call("hr-admin", hrAdmin, "GET", "/v1/employees/"+nipE, nil, "X-Request-ID", "req-op-1")
	for _, p := range []string{"/", "/pegawai/" + nipE, "/healthz"} {
		resp, err := http.Get(s.base + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"kinerja_build_info{go_version=\"" + runtime.Version() + "\"", "kinerja_commands_retries_total", "kinerja_commands_contention_total", "kinerja_projections_shared_history_mismatched_reads_total 0"} {
		if !bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	routes := map[string]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(routes) < 3 && time.Now().Before(deadline) {
		for _, l := range s.logLines() {
			var a struct {
				Msg, Route, RequestID, Subject string
				Status                         int
			}
			if json.Unmarshal([]byte(l), &a) != nil || a.Msg != "request" {
				continue
			}
			if strings.Contains(l, "/pegawai/") || strings.Contains(l, "/v1/employees/"+nipE) {
				t.Fatalf("an access line holds a raw path: %s", l)
			}
			if a.Route == "/v1/employees/{nip}" && l != "" && strings.Contains(l, `"request_id":"req-op-1"`) && strings.Contains(l, `"subject":"hr-admin"`) {
				routes["api"] = true
			}
			if a.Route == "dashboard" {
				routes["dashboard"] = true
			}
			if a.Route == "/healthz" {
				routes["ops"] = true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(routes) < 3 {
		t.Errorf("access lines found for %v, want api, dashboard and ops:\n%s", routes, strings.Join(s.logLines(), "\n"))
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(c, "GET /v1/units HTTP/1.1\r\nHost: x\r\nCookie: "+strings.Repeat("a", 2<<20)+"\r\n\r\n")
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != 431 || r.Header.Get("Content-Type") != "application/problem+json" || !bytes.Contains(body, []byte(`"code":"headers_too_large"`)) {
		t.Errorf("oversized headers = %d %v %s", r.StatusCode, r.Header, body)
	}
}

// Exit codes (cmd/internal/exitcode): -h and --help 0 with the flags on
// stderr; a bad flag, argument, variable or configuration 2; opening nothing.
func TestExitCodes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "never")
	for _, c := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{[]string{"-h"}, nil, exitcode.OK},
		{[]string{"--help"}, nil, exitcode.OK},
		{[]string{"--no-such-flag"}, nil, exitcode.UsageErr},
		{[]string{"extra"}, nil, exitcode.UsageErr},
		{[]string{"--store", "mongo"}, nil, exitcode.UsageErr},
		{[]string{"--session-idle", "2h", "--session-max", "1h"}, nil, exitcode.UsageErr},
		{[]string{}, map[string]string{"KINERJA_CACHE_MB": "lots"}, exitcode.UsageErr},
	} {
		var errb bytes.Buffer
		err := run(context.Background(), append(c.args, "--data", data), func(k string) string { return c.env[k] }, io.Discard, &errb)
		if got := exitcode.Code(err); got != c.want {
			t.Errorf("kinerjad %v: exit %d (%v), want %d", c.args, got, err, c.want)
		}
		if c.want == exitcode.OK && !strings.Contains(errb.String(), "-data") {
			t.Errorf("kinerjad %v printed no flags: %q", c.args, errb.String())
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a refused start created the data directory (%v)", err)
	}
}
