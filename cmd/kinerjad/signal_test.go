package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

const signalEnv = "KINERJAD_TEST_SIGNAL_CHILD"

// signalChild runs kinerjad as main does (shutdownSignals) in a child
// process whose shutdown snapshot hangs until its budget ends: it prints
// "snapshot_writing" on stderr when the write begins.
func signalChild() bool {
	args := os.Getenv(signalEnv)
	if args == "" {
		return false
	}
	writeAtShutdown = func(ctx context.Context, _ *wiring.Snapshots) error {
		fmt.Fprintln(os.Stderr, "snapshot_writing")
		<-ctx.Done()
		return ctx.Err()
	}
	ctx, stop := shutdownSignals()
	err := run(ctx, strings.Split(args, "\x1f"), func(string) string { return "" }, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kinerjad child:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

// TestSecondSignalEndsShutdown: a first SIGTERM starts the graceful
// shutdown; a second one, while the shutdown snapshot is still being
// written (it may take minutes at a province), ends the process at once
// rather than being swallowed until the shutdown completes.
func TestSecondSignalEndsShutdown(t *testing.T) {
	data := t.TempDir()
	args := []string{"--listen", "127.0.0.1:0", "--data", data, "--shutdown-timeout", "100ms", "--snapshot-shutdown-timeout", "10m"}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), signalEnv+"="+strings.Join(args, "\x1f"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	listening, writing := make(chan struct{}), make(chan struct{})
	watch := func(sc *bufio.Scanner, marker string, seen chan struct{}) {
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		closed := false
		for sc.Scan() {
			if !closed && strings.Contains(sc.Text(), marker) {
				close(seen)
				closed = true
			}
		}
	}
	go watch(bufio.NewScanner(stdout), `"msg":"listening"`, listening)
	go watch(bufio.NewScanner(stderr), "snapshot_writing", writing)
	go func() { exited <- cmd.Wait() }()
	wait := func(what string, ch chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case err := <-exited:
			exited <- err
			t.Fatalf("kinerjad exited before %s: %v", what, err)
		case <-time.After(2 * time.Minute):
			t.Fatalf("kinerjad: no %s", what)
		}
	}
	wait("listening", listening)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait("shutdown snapshot write", writing)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The write hangs for 10 min: only the second signal can end it this
	// soon.
	select {
	case err := <-exited:
		exited <- err
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("kinerjad exited with %v, not killed by the second SIGTERM", err)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Fatalf("kinerjad exited with %v, not killed by the second SIGTERM", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a second SIGTERM during the shutdown snapshot did not end kinerjad")
	}
}
