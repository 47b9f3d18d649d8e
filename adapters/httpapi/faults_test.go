package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Failures of a dependency, as the drivers and the kernel really report
// them, are 503 unavailable or 507 insufficient_storage, never 500; and the
// problem tells nothing of the cause (it is logged).
func TestFaultsAreClassified(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, connectErr := pgconn.Connect(ctx, "postgres://kinerja@127.0.0.1:1/kinerja?connect_timeout=5")
	_, dialErr := net.Dial("tcp", "127.0.0.1:1")
	if connectErr == nil || dialErr == nil {
		t.Fatal("something listens on port 1")
	}
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"PostgreSQL refuses the connection", connectErr, 503, "unavailable"},
		{"a connection refused", dialErr, 503, "unavailable"},
		{"the backend was terminated", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}, 503, "unavailable"},
		{"the server is starting", &pgconn.PgError{Code: "57P03"}, 503, "unavailable"},
		{"a connection failure", &pgconn.PgError{Code: "08006"}, 503, "unavailable"},
		{"a standby", &pgconn.PgError{Code: "25006"}, 503, "unavailable"},
		{"PostgreSQL's disk is full", &pgconn.PgError{Code: "53100", Message: "could not extend file"}, 507, "insufficient_storage"},
		{"a closed connection", fmt.Errorf("query: %w", pgconn.ErrConnClosed), 503, "unavailable"},
		{"a connection cut mid-answer", fmt.Errorf("pgstore: append: %w", io.ErrUnexpectedEOF), 503, "unavailable"},
		{"a connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), 503, "unavailable"},
		{"a closed store", fmt.Errorf("read: %w", eventstore.ErrClosed), 503, "unavailable"},
		{"a backend's sentinel", fmt.Errorf("x: %w", eventstore.ErrUnavailable), 503, "unavailable"},
		{"a backend's no-space sentinel", fmt.Errorf("x: %w", eventstore.ErrNoSpace), 507, "insufficient_storage"},
		{"a unique violation is a bug", &pgconn.PgError{Code: "23505"}, 500, "internal"},
		{"anything else", errors.New("boom"), 500, "internal"},
	}
	if f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0); err == nil {
		_, werr := f.Write([]byte("x"))
		f.Close()
		cases = append(cases, struct {
			name   string
			err    error
			status int
			code   string
		}{"a write to a full disk", fmt.Errorf("boltstore: append skp-x: %w", werr), 507, "insufficient_storage"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := problemOf(fmt.Errorf("eventlog: append skp-x: %w", tc.err))
			if p.Status != tc.status || p.Code != tc.code {
				t.Errorf("problemOf(%v) = %d %s, want %d %s", tc.err, p.Status, p.Code, tc.status, tc.code)
			}
			if msg := tc.err.Error(); len(msg) > 8 && strings.Contains(p.Detail, msg) {
				t.Errorf("the detail shows the cause: %q", p.Detail)
			}
		})
	}
}

// faultyStore fails every append with fail, and every read with failRead,
// while they are set.
type faultyStore struct {
	eventstore.Store
	fail, failRead atomic.Pointer[error]
}

func (s *faultyStore) Append(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := s.fail.Load(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("faulty: append %s: %w", stream, *err)
	}
	return s.Store.Append(ctx, stream, exp, evs...)
}

func (s *faultyStore) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	if err := s.failRead.Load(); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, *err) }
	}
	return s.Store.ReadStream(ctx, stream, opts)
}

// Through the API: a write while the disk is full is 507 and a read while
// the database is unreachable 503 with Retry-After; nothing is written, a
// keyed request is not kept (its repeat runs once the fault clears), and
// the log has the cause.
func TestFaultsThroughTheAPI(t *testing.T) {
	var faulty *faultyStore
	h := newHarness(t, func(c *settings) {
		faulty = &faultyStore{Store: c.Store}
		hd := &domain.Handler{Log: eventlog.New(faulty), Now: c.SKPs.Handler.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
		c.SKPs = &skp.Service{Handler: hd, Policy: c.Policy}
	})
	h.cast()
	_, rhkA := h.establishedA()
	id, _, ind := h.establishedE(rhkA)
	url := "/v1/skps/" + id + "/realisations"
	body := RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 3}
	head := h.headLen()

	full := error(fmt.Errorf("write /data/kinerja.db: %w", &os.PathError{Op: "write", Path: "/data/kinerja.db", Err: syscall.ENOSPC}))
	faulty.fail.Store(&full)
	r := h.request(&empE, "POST", url, body, "Idempotency-Key", "full-1")
	if r.status != http.StatusInsufficientStorage || r.problem(t).Code != "insufficient_storage" {
		t.Fatalf("append on a full disk = %d %s, want 507 insufficient_storage", r.status, r.body)
	}
	down := error(&pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"})
	faulty.fail.Store(nil)
	faulty.failRead.Store(&down)
	r = h.request(&empE, "GET", "/v1/skps/"+id, nil)
	if r.status != http.StatusServiceUnavailable || r.problem(t).Code != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("read while the database is down = %d %v %s, want 503 unavailable with Retry-After", r.status, r.header, r.body)
	}
	if h.headLen() != head {
		t.Fatalf("the faults wrote %d events", h.headLen()-head)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "57P01") || !strings.Contains(logs, "no space left") {
		t.Errorf("the causes are not logged: %s", logs)
	}
	faulty.failRead.Store(nil)
	r = h.request(&empE, "POST", url, body, "Idempotency-Key", "full-1")
	if r.status != http.StatusCreated || r.header.Get("Idempotency-Replayed") != "" {
		t.Fatalf("the repeat after the fault = %d (replayed %q) %s, want the command run: 201", r.status, r.header.Get("Idempotency-Replayed"), r.body)
	}
}
