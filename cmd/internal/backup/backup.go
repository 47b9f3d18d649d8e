// Package backup is the online backup of an embedded (bbolt) ledger: the
// running kinerjad serves consistent copies of its bbolt files (each a read
// transaction's WriteTo) on a Unix socket in its data directory, which
// `kinerjactl backup --data DIR` asks; with no kinerjad running, the
// command copies the files itself, the same way. The socket is the data
// directory's: whoever may read the data files may ask for their copies,
// and no one else (mode 0600, no TCP).
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SocketFile is the socket's name in the data directory.
const SocketFile = "kinerjad.sock"

// The bbolt files of a data directory, in the order a backup copies them:
// the idempotency records of their own file, the sessions, then the store.
// kinerjad keeps the idempotency records in the store's file (a keyed
// command's record commits with its events, boltstore.Store.Idempotency),
// so a copy of the store holds them with their events and a running
// kinerjad serves no idempotency.db. The file is still copied when it is
// there: a data directory of an earlier build, not yet started with this
// one (whose first start migrates it), or an embedded ledger whose events
// are not in bbolt. It goes before the store: a record is written after
// its event, so every record in the copy has its event in the later copy.
const (
	IdempotencyFile = "idempotency.db"
	SessionsFile    = "sessions.db"
	StoreFile       = "kinerja.db"
)

// Files lists the bbolt files in copy order.
var Files = []string{IdempotencyFile, SessionsFile, StoreFile}

// Snapshotter writes a consistent copy of one bbolt file.
type Snapshotter interface {
	Snapshot(w io.Writer) (int64, error)
}

// SnapshotFunc adapts a function to Snapshotter.
type SnapshotFunc func(w io.Writer) (int64, error)

// Snapshot implements Snapshotter.
func (f SnapshotFunc) Snapshot(w io.Writer) (int64, error) { return f(w) }

// Handler serves GET /snapshot/{name} for the files given (404 for any
// other).
func Handler(files map[string]Snapshotter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /snapshot/{name}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := files[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := s.Snapshot(w); err != nil {
			// The body is cut short; the client sees a short copy (its
			// length differs from the file's own) and fails.
			panic(http.ErrAbortHandler)
		}
	})
	return mux
}

// Listen listens on the data directory's socket, replacing a stale one (a
// socket no process answers on), and refuses when another process answers.
func Listen(dataDir string) (net.Listener, error) {
	path := filepath.Join(dataDir, SocketFile)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("backup socket %s: another process answers on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("backup socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Serve serves h on ln until ctx ends, and returns once every handler it
// started has returned: kinerjad closes the store after its background
// goroutines, Serve among them, and a snapshot still copying (a read
// transaction of the store) must not outlive it. At ctx's end the server
// is closed (the listener and every connection, so a copy under way fails
// its next write and returns: the client sees a short copy and fails), and
// a request that arrives after that is not served.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) {
	var g handlers
	g.idle.L = &g.mu
	srv := &http.Server{Handler: g.track(h), ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	srv.Serve(ln)
	// Serve returned: the server was closed, or the listener failed (then
	// close the server's connections too).
	srv.Close()
	g.wait()
}

// handlers counts the handlers running, so that Serve waits for them.
type handlers struct {
	mu      sync.Mutex
	idle    sync.Cond
	running int
	closed  bool
}

// track wraps h: each call is counted while it runs; once wait began, a
// call is refused (503) instead.
func (g *handlers) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			http.Error(w, "kinerjad is stopping", http.StatusServiceUnavailable)
			return
		}
		g.running++
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.running--
			if g.running == 0 {
				g.idle.Broadcast()
			}
			g.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// wait refuses new calls and returns when none runs.
func (g *handlers) wait() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.running > 0 {
		g.idle.Wait()
	}
}

// Client asks a running kinerjad over dataDir's socket.
type Client struct {
	http *http.Client
}

// Dial returns a client of the kinerjad serving dataDir, or ok=false when
// none answers on its socket.
func Dial(dataDir string) (*Client, bool) {
	path := filepath.Join(dataDir, SocketFile)
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, false
	}
	c.Close()
	return &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}, true
}

// Snapshot copies the running kinerjad's file name into w; ok=false when
// it does not keep that file (sessions in PostgreSQL).
func (c *Client) Snapshot(ctx context.Context, name string, w io.Writer) (n int64, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://kinerjad/snapshot/"+name, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("kinerjad answered %s for %s", resp.Status, name)
	}
	n, err = io.Copy(w, resp.Body)
	if err != nil {
		return n, false, fmt.Errorf("copy of %s cut short: %w", name, err)
	}
	return n, true, nil
}
