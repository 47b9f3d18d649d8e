// Package esdbstore implements eventstore.Store on KurrentDB (formerly
// EventStoreDB) through github.com/EventStore/EventStore-Client-Go/v4.
//
// # Mapping
//
//   - A stream is a KurrentDB stream of the same name (after an optional
//     Options.Namespace prefix); revisions are KurrentDB stream revisions,
//     one to one.
//   - Position is the event's $all commit position + 1 (see toPosition):
//     every event this package writes is its own self-committed log record,
//     so commit positions are unique and increase in $all order, and every
//     event gets a position > 0. Positions have gaps (the log is measured in
//     bytes).
//   - The event ID is the KurrentDB event ID, the event type is Type, the
//     data are the event data byte for byte (content type JSON only when the
//     data are valid JSON). Every other envelope field, and the chain hash,
//     is in the event's metadata JSON (see envelope), which also carries
//     KurrentDB's $correlationId and $causationId.
//   - RecordedAt is the server's "created" timestamp, in UTC, truncated to
//     microseconds.
//
// # Appends
//
// The hash chain is computed above the backend (eventstore.Seal) and needs
// the stream head, so every append is sent with an exact expected revision
// (or no_stream): Any and StreamExists read the head (revision and hash of
// the last event) and retry a bounded number of times when another writer
// wins; in-process writers to one stream take turns, so they do not make
// each other retry. Heads are kept in a bounded in-process cache that is
// always safe to use: events are immutable, and a stale head only makes the
// server refuse the append, which refreshes it.
//
// KurrentDB checks event IDs only within a stream, and without fault only
// for exact expected revisions. The port promises more: an event ID
// appended once is never appended again anywhere, and a repeat returns the
// first result. So each append first claims its event IDs, one claim stream
// per ID (claim.go); a claim that already exists for the same stream marks
// the call as a possible repeat, which is settled by reading the stream and
// eventstore.CheckRepeat before anything is written; a claim by another
// stream fails the call with IdempotencyOtherStream. KurrentDB's own answer
// to a partially repeated append ("corrupted idempotency") is
// WrongExpectedVersion; it leads to the same lookup. Events written into
// the store's streams by anything but this package have no claims and are
// not covered.
//
// An append of n events thus costs n claim appends (up to 16 in parallel)
// and the append itself, plus a read of the stream head when the head is
// not cached, plus a read of the stream on a repeat. A node refuses appends
// larger than its MaxAppendSize (1 MiB by default, counting data, metadata
// and type of all events): raise it to store events of the default 1 MiB
// data limit.
//
// # Reads and subscriptions
//
// ReadAll and Head read $all and keep only this store's events: streams in
// the namespace with valid eventstore names and event types that do not
// start with "$" (so no system events, metadata streams or claim streams).
// The v4 client cannot filter a $all read on the server, so that happens
// here. SubscribeAll uses the client's SubscribeToAll with a server-side
// stream-name regex (system and claim streams never match; the filter's
// stream prefixes are folded in) and applies the full filter here as well;
// when the subscription drops it resubscribes after the last of the store's
// events it has seen, and never delivers an event twice. After positions
// must be 0 or positions this store returned: KurrentDB refuses to read
// from a position inside a record. Reading $all and filtered subscriptions
// need a user in $admins. A missing stream is the client's *esdb.Error
// with ErrorCodeResourceNotFound (v4.2.0 has no sentinel for it), reported
// as eventstore.ErrStreamNotFound. Stream reads need a node that reports
// positions on them (KurrentDB does for self-committed events); an event
// without a position fails the read.
//
// # The client's failure modes
//
// The v4 client closes itself for good when a connection attempt finds no
// node (discovery fails), after which every call fails with
// ErrorCodeConnectionClosed. The store then builds a new client and retries
// the call once (nothing was sent). Client calls that can block regardless
// of their context (discovery ignores it; a call that fails while the
// client's connection goroutine is busy or gone blocks sending to it) run
// on their own goroutine, so a caller always gets its context's error in
// time; while a client has not yet reached a node, calls go through it one
// at a time, which keeps that goroutine from being raced. What cannot be
// mended from outside the client: a goroutine blocked inside a dead client
// stays blocked (one per such call), and a client that closes itself after
// losing a working connection never closes that connection. Close waits up
// to 10 s for the calls in flight before it closes the client, because a
// call failing after the close could make the client panic. Errors are
// matched with errors.As on *esdb.Error and its Code (esdb.FromError only
// reports "ok" for a nil error and misses wrapped errors).
package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Limits bounds appends; zero fields take the eventstore defaults. A
	// KurrentDB node refuses appends above its MaxAppendSize (1 MiB by
	// default, data, metadata and type of all events together): raise it to
	// hold events of the default 1 MiB limit.
	Limits eventstore.Limits
	// Namespace, when set, prefixes every stream name on the server, so that
	// several stores (tests, environments) can share one database without
	// seeing each other's events. It must be empty or a valid stream-name
	// start: a letter or digit, then letters, digits and _ . : @ = + -.
	Namespace string
	// Logger receives the client's log lines (at debug level, the client's
	// own level as an attribute) and the store's warnings. Nil discards them.
	Logger *slog.Logger
	// MaxAppendAttempts bounds the attempts of an Any or StreamExists append
	// that keeps losing to writers in other processes (default 32).
	MaxAppendAttempts int
	// HeadCacheSize bounds the number of stream heads cached (default 4096).
	HeadCacheSize int
	// ResubscribeBackoff is the longest wait between attempts to resume a
	// dropped subscription (default 5 s; the first retry is immediate).
	ResubscribeBackoff time.Duration
	// Signer signs the last event of every append, in its metadata (see
	// envelope). Without one, appends are unsigned, and an authenticating
	// reader refuses them.
	Signer eventstore.Signer
	// Keyring verifies a stream's head read from the server before an
	// append builds on it. Without one, heads are not checked.
	Keyring *eventstore.Keyring
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@=+-]*$`)

// Validate reports every problem with o.
func (o Options) Validate() error {
	var errs []error
	if o.Namespace != "" && (!namespaceRE.MatchString(o.Namespace) || len(o.Namespace) > 100) {
		errs = append(errs, fmt.Errorf("namespace %q: want at most 100 characters, a letter or digit, then letters, digits and _ . : @ = + -", o.Namespace))
	}
	if o.MaxAppendAttempts < 0 {
		errs = append(errs, fmt.Errorf("max append attempts %d is negative", o.MaxAppendAttempts))
	}
	if o.HeadCacheSize < 0 {
		errs = append(errs, fmt.Errorf("head cache size %d is negative", o.HeadCacheSize))
	}
	if o.ResubscribeBackoff < 0 {
		errs = append(errs, fmt.Errorf("resubscribe backoff %v is negative", o.ResubscribeBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("esdbstore: options: %w", err)
	}
	return nil
}

func (o *Options) setDefaults() {
	o.Limits = o.Limits.WithDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxAppendAttempts == 0 {
		o.MaxAppendAttempts = 32
	}
	if o.HeadCacheSize == 0 {
		o.HeadCacheSize = 4096
	}
	if o.ResubscribeBackoff == 0 {
		o.ResubscribeBackoff = 5 * time.Second
	}
}

// Store is an eventstore.Store on a KurrentDB node or cluster. It is safe
// for concurrent use.
type Store struct {
	opts  Options
	names names
	cfg   esdb.Configuration
	heads *headCache

	streamLocks keyedLocks

	base   context.Context // cancelled by Close
	cancel context.CancelFunc

	mu       sync.Mutex // guards the fields below
	client   *esdb.Client
	ready    bool // a call on client has reached the server
	closed   bool
	inflight int
	drained  chan struct{} // closed when inflight drops to 0 after Close

	gate chan struct{} // one call at a time while the client is not ready
}

// Open returns a Store for the KurrentDB named by connectionString
// ("esdb://host:2113?tls=false", "esdb+discover://...", with the client's
// usual settings). It does not connect: the first call does, and a node
// that is down at first is found by a later call.
func Open(connectionString string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	cfg, err := esdb.ParseConnectionString(connectionString)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: connection string: %w", err)
	}
	logger := opts.Logger
	cfg.Logger = func(level esdb.LogLevel, format string, args ...any) {
		logger.Debug("esdb_client", "client_level", level, "client_message", fmt.Sprintf(format, args...))
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Store{
		opts:   opts,
		names:  names{ns: opts.Namespace},
		cfg:    *cfg,
		heads:  newHeadCache(opts.HeadCacheSize),
		base:   base,
		cancel: cancel,
		gate:   make(chan struct{}, 1),
	}
	return s, nil
}

// Close stops every call in flight, waits (up to 10 s) for them to leave
// the client, and closes it. Calls after Close fail with
// eventstore.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.drained = make(chan struct{})
	if s.inflight == 0 {
		close(s.drained)
	}
	c := s.client
	s.client = nil
	s.mu.Unlock()
	s.cancel()
	select {
	case <-s.drained:
	case <-time.After(10 * time.Second):
		// A call is stuck inside the client (see the package doc). Closing
		// the client now could make it panic (send on a closed channel);
		// leaving it is a leak, but a bounded one.
		s.opts.Logger.Warn("esdbstore_close_left_client_open", "reason", "calls still inside the client after 10s")
		return nil
	}
	if c != nil {
		return c.Close()
	}
	return nil
}

// Ping reaches the server (a one-event read of $all), for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	_, _, err := s.logEnd(ctx)
	return err
}

// opContext returns a context that ends with ctx or with Close.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.base, cancel)
	return c, func() { stop(); cancel() }
}

// ctxErr returns the error to report when ctx (from opContext) is done:
// ErrClosed if the store was closed, else the caller's context error.
func (s *Store) ctxErr(ctx context.Context) error {
	if s.base.Err() != nil {
		return eventstore.ErrClosed
	}
	return ctx.Err()
}

// lease is one use of the client: it counts as in flight (Close waits for
// it) until end, and holds the gate while the client has not reached a
// node, until its first report.
type lease struct {
	s     *Store
	c     *esdb.Client
	gated bool
}

// lease returns a lease on the client, creating the client if needed.
func (s *Store) lease(ctx context.Context) (*lease, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, eventstore.ErrClosed
	}
	if s.client == nil {
		cfg := s.cfg
		nc, err := esdb.NewClient(&cfg)
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("esdbstore: client: %w", err)
		}
		s.client, s.ready = nc, false
	}
	l := &lease{s: s, c: s.client}
	ready := s.ready
	s.inflight++
	s.mu.Unlock()
	if ready {
		return l, nil
	}
	select {
	case s.gate <- struct{}{}:
		l.gated = true
		return l, nil
	case <-ctx.Done():
		l.end()
		return nil, s.ctxErr(ctx)
	}
}

// report records the outcome of an exchange with the server: the client is
// ready when the server answered, not ready when no node was reachable,
// and dropped when it closed itself. The first report frees the gate.
func (l *lease) report(err error) {
	s := l.s
	s.mu.Lock()
	switch {
	case s.client != l.c:
	case err == nil || answered(err):
		s.ready = true
	case clientClosed(err):
		// The client gave up after a failed discovery; its goroutine is
		// gone. Do not Close it (see Close); build a new one next time.
		s.client, s.ready = nil, false
	case unavailable(err):
		s.ready = false
	}
	s.mu.Unlock()
	if l.gated {
		l.gated = false
		<-s.gate
	}
}

// end ends the lease.
func (l *lease) end() {
	s := l.s
	if l.gated {
		l.gated = false
		<-s.gate
	}
	s.mu.Lock()
	s.inflight--
	if s.closed && s.inflight == 0 && s.drained != nil {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
	s.mu.Unlock()
}

// open runs f (which starts an exchange with the server) with a client and
// returns the lease, already reported, for the caller to end. When the
// client turns out to have closed itself before sending anything, it runs
// f once more on a new client.
func (s *Store) open(ctx context.Context, f func(c *esdb.Client) error) (*lease, error) {
	for attempt := 0; ; attempt++ {
		l, err := s.lease(ctx)
		if err != nil {
			return nil, err
		}
		err = f(l.c)
		l.report(err)
		if err == nil {
			return l, nil
		}
		l.end()
		if clientClosed(err) && attempt == 0 && ctx.Err() == nil {
			s.opts.Logger.Info("esdbstore_new_client", "reason", "the client closed itself after a failed connection")
			continue
		}
		return nil, err
	}
}

// withClient runs a one-shot exchange f with a client, on the calling
// goroutine (see open).
func (s *Store) withClient(ctx context.Context, f func(c *esdb.Client) error) error {
	l, err := s.open(ctx, f)
	if err != nil {
		return err
	}
	l.end()
	return nil
}

// call runs f like withClient but on its own goroutine, returning when f
// does or when ctx is done, whichever is first.
func (s *Store) call(ctx context.Context, f func(c *esdb.Client) error) error {
	done := make(chan error, 1)
	go func() { done <- s.withClient(ctx, f) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return s.ctxErr(ctx)
	}
}

// answered reports whether err is an answer from the server (so the client
// did reach a node).
func answered(err error) bool {
	var e *esdb.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case esdb.ErrorCodeWrongExpectedVersion, esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted,
		esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated:
		return true
	}
	return false
}

// clientClosed reports whether err says the client is closed (it closed
// itself, or was closed).
func clientClosed(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeConnectionClosed
}

// unavailable reports whether err says no node could be reached.
func unavailable(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && (e.Code() == esdb.ErrorUnavailable || e.Code() == esdb.ErrorCodeDeadlineExceeded)
}
