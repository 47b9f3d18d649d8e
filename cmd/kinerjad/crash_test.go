package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
)

// crashEnv carries the arguments of a kinerjad child, separated by the unit separator (0x1F).
const crashEnv = "KINERJAD_TEST_CHILD_ARGS"

// crashChild runs kinerjad in a child process started by a test (until it is
// killed) and reports whether it did.
func crashChild() bool {
	args := os.Getenv(crashEnv)
	if args == "" {
		return false
	}
	if err := run(context.Background(), strings.Split(args, "\x1f"), func(string) string { return "" }, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kinerjad child:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

// startChild starts kinerjad in a child process and returns its base URL.
func startChild(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+strings.Join(args, "\x1f"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("kinerjad child did not start listening")
	}
	return nil, ""
}

// TestCrashSafety: while 8 clients write, kinerjad is SIGKILLed; after a
// restart every mutation that was answered 2xx is there, and the audit trail
// verifies.
func TestCrashSafety(t *testing.T) {
	crashSafety(t, t.TempDir())
}

// startCrashChild starts kinerjad on data in a child process (to be
// killed) and returns it with a client signing with the data's key.
func startCrashChild(t *testing.T, data string, extra ...string) (*exec.Cmd, *server) {
	t.Helper()
	cmd, base := startChild(t, append([]string{"--listen", "127.0.0.1:0", "--data", data, "--checkpoint-interval", "20ms"}, extra...)...)
	key, err := authkey.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, &server{t: t, base: base, data: data, key: key}
}

func crashSafety(t *testing.T, data string, extra ...string) {
	cmd, s := startCrashChild(t, data, extra...)
	s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: "ROOT", Name: "Induk"}, nil)

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("U%d-%d", w, i)
				a := s.callNoFail("hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: id, Name: "Unit " + id, ParentID: "ROOT"})
				if a.status == 201 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				} else if a.status != 0 {
					t.Errorf("POST /v1/units %s: %d %s", id, a.status, a.body)
					return
				}
			}
		}()
	}
	// Kill after 1.5 s of writing, and not before 8 answers: on a loaded
	// machine the first answers can take longer than that (seen with
	// PostgreSQL at load 40), and a kill before any answer tests nothing.
	time.Sleep(1500 * time.Millisecond)
	for wait := time.Now().Add(60 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 8 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 8 {
		t.Fatalf("only %d mutations answered before the kill", n)
	}
	// Restart in process and check every answered mutation.
	s2 := startServer(t, data, extra...)
	for _, id := range acked {
		if a := s2.call("hr-admin", hrAdmin, "GET", "/v1/units/"+id, nil); a.status != 200 {
			t.Errorf("unit %s was answered 201 before the crash but is missing after it: %d %s", id, a.status, a.body)
		}
	}
	verifyAudit(t, s2)
	t.Logf("%d mutations answered 2xx before SIGKILL; all present after restart", n)
}

// callNoFail is call that reports a transport error as status 0 instead of
// failing the test (the server is being killed).
func (s *server) callNoFail(sub string, roles []string, method, path string, body any) answer {
	a, err := s.do(sub, roles, method, path, body)
	if err != nil {
		return answer{}
	}
	return a
}
