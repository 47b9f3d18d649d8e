package backup

import (
	"context"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeWaitsForItsHandlers: a snapshot under way when kinerjad stops
// (ctx ends) is waited for: Serve returns only after the handler returned,
// so the store it reads is never closed under it; the client's copy is cut
// short and fails. The wait is not a timing assertion: Serve is given
// every chance to return early, and must not.
func TestServeWaitsForItsHandlers(t *testing.T) {
	dir, err := os.MkdirTemp("", "bk")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	slow := SnapshotFunc(func(w io.Writer) (int64, error) {
		defer returned.Store(true)
		n, err := w.Write(make([]byte, 1<<10))
		w.(interface{ Flush() }).Flush()
		close(started)
		<-release
		return int64(n), err
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		Serve(ctx, ln, Handler(map[string]Snapshotter{StoreFile: slow}))
		close(served)
	}()
	c, ok := Dial(dir)
	if !ok {
		t.Fatal("no answer on the socket")
	}
	copied := make(chan error, 1)
	go func() {
		_, _, err := c.Snapshot(context.Background(), StoreFile, io.Discard)
		copied <- err
	}()
	<-started
	cancel()
	select {
	case <-served:
		t.Fatalf("Serve returned while a snapshot was under way (handler returned: %v)", returned.Load())
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	<-served
	if !returned.Load() {
		t.Fatal("Serve returned before its handler")
	}
	if err := <-copied; err == nil {
		t.Fatal("the copy cut by the stop succeeded")
	}
}
