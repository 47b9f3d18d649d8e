package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// crashEnv names the environment variable that turns a test binary into a
// crash child: its value is the storage location to write to.
const crashEnv = "KINERJA_STORETEST_CRASH_CHILD"

// CrashChildMain must be called first thing in the TestMain of a backend
// that sets Backend.Crash. In the parent it returns at once. In a child
// started by the crash test it opens the store on the location it was given
// and appends, from 8 goroutines, batches of 3 events as fast as it can,
// printing a line "ack STREAM REVISION ID ID ID" after each acknowledged
// append, until it is killed. It never returns in the child.
func CrashChildMain(open func(loc string, cfg Config) (eventstore.Store, error)) {
	loc := os.Getenv(crashEnv)
	if loc == "" {
		return
	}
	s, err := open(loc, DefaultConfig())
	if err != nil {
		fmt.Fprintf(os.Stdout, "fail open: %v\n", err)
		os.Exit(3)
	}
	var mu sync.Mutex // one line per write(2), whole lines only
	for w := range 8 {
		go func() {
			stream := fmt.Sprintf("crash-%d", w)
			exp := eventstore.NoStream
			for {
				batch := evs(3)
				res, err := s.Append(context.Background(), stream, exp, batch...)
				if err != nil {
					mu.Lock()
					fmt.Fprintf(os.Stdout, "fail %s: %v\n", stream, err)
					mu.Unlock()
					os.Exit(4)
				}
				exp = eventstore.Exact(res.Revision)
				line := fmt.Sprintf("ack %s %d %s %s %s\n", stream, res.Revision, batch[0].ID, batch[1].ID, batch[2].ID)
				mu.Lock()
				os.Stdout.WriteString(line)
				mu.Unlock()
			}
		}()
	}
	select {}
}

// runCrash starts a child writing to the harness's location, SIGKILLs it
// after a burst, reopens the storage and checks that every acknowledged
// append is there, whole, and that every stream verifies.
func runCrash(t *testing.T, h *harness) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+h.loc)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		stream string
		rev    uint64
		ids    [3]uuid.UUID
	}
	var acks []ack
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(20 * time.Second)
	const want = 400
loop:
	for len(acks) < want {
		select {
		case line, ok := <-lines:
			if !ok {
				break loop
			}
			f := strings.Fields(line)
			if len(f) != 6 || f[0] != "ack" {
				t.Fatalf("child: %s", line)
			}
			a := ack{stream: f[1]}
			fmt.Sscan(f[2], &a.rev)
			for i := range 3 {
				a.ids[i] = uuid.MustParse(f[3+i])
			}
			acks = append(acks, a)
		case <-deadline:
			break loop
		}
	}
	// Kill mid-burst: the child is appending right now.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Acks printed before the kill took effect are acknowledged too.
	for line := range lines {
		f := strings.Fields(line)
		if len(f) == 6 && f[0] == "ack" {
			a := ack{stream: f[1]}
			fmt.Sscan(f[2], &a.rev)
			for i := range 3 {
				a.ids[i] = uuid.MustParse(f[3+i])
			}
			acks = append(acks, a)
		}
	}
	cmd.Wait()
	if len(acks) < 8 {
		t.Fatalf("child acknowledged only %d appends before the deadline", len(acks))
	}
	s := h.store()
	stored := map[uuid.UUID]eventstore.Event{}
	for w := range 8 {
		stream := fmt.Sprintf("crash-%d", w)
		events, err := readStream(t, s, stream, eventstore.ReadStreamOptions{})
		if err != nil {
			t.Fatalf("ReadStream(%s) after crash = %v", stream, err)
		}
		if len(events)%3 != 0 {
			t.Errorf("%s has %d events after the crash: a torn append", stream, len(events))
		}
		for _, e := range events {
			stored[e.ID] = e
		}
		verifyStream(t, s, stream)
	}
	for _, a := range acks {
		for i, id := range a.ids {
			e, ok := stored[id]
			if !ok {
				t.Errorf("acknowledged event %s (%s, append ending at revision %d) is missing after the crash", id, a.stream, a.rev)
				continue
			}
			if e.Stream != a.stream || e.Revision != a.rev-2+uint64(i) {
				t.Errorf("acknowledged event %s is at %s@%d, want %s@%d", id, e.Stream, e.Revision, a.stream, a.rev-2+uint64(i))
			}
		}
	}
	t.Logf("%d acknowledged appends survived a SIGKILL; %d events stored", len(acks), len(stored))
	verifyAll(t, s)
}
