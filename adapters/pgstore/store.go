package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

var _ eventstore.Store = (*Store)(nil)
var _ eventstore.Pager = (*Store)(nil)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Schema is the PostgreSQL schema holding the store's tables (default
	// DefaultSchema). It must have been migrated with Migrate.
	Schema string

	// Limits bounds appends; zero fields take the eventstore defaults.
	Limits eventstore.Limits

	// Committers is the most batches of appends committed at once, each on
	// one pooled connection (default DefaultCommitters). See the package
	// doc on group commit.
	Committers int

	// BatchStart is how many appends must be queued behind a batch in
	// flight before another batch starts beside it, if a committer slot is
	// free (default DefaultBatchStart). See the package doc on group commit.
	BatchStart int

	// MaxBatchEvents caps the events of one batch statement (default 2048);
	// an append larger than that is committed alone.
	MaxBatchEvents int

	// NoGroupCommit makes every Append run its own statement in the caller's
	// goroutine instead of joining a batch. It exists to measure what group
	// commit buys; leave it false.
	NoGroupCommit bool

	// HeadCacheSize bounds the in-process cache of stream heads (default
	// 65,536 streams).
	HeadCacheSize int

	// TailReaders is the most ReadTails statements in flight at once
	// (default DefaultTailReaders); the reads that arrive while that many
	// run are answered together by the next statement, sent when one of
	// them ends. See the package doc on coalesced tail reads. A negative
	// value sends every read's own statement at once.
	TailReaders int

	// PageSize is how many events one query of ReadAll, ReadStream or a
	// subscription fetches (default 512).
	PageSize int

	// IdlePoll is the longest a subscription waits without a notification
	// before it reads again (default 1 s): an idle subscriber costs at most one
	// query per IdlePoll.
	IdlePoll time.Duration

	// FinalityWait bounds how long ReadAll and Head wait for the events
	// committed when they began to become final, that is, for older writing
	// transactions anywhere in the cluster to end (default 5 s). Past it they
	// return what is final and leave the rest to the next read.
	FinalityWait time.Duration

	// NotifyInterval is the least time between two NOTIFYs this store sends
	// after its commits to wake subscribers in other processes (default
	// 10 ms). Subscribers in this process are woken at once.
	NotifyInterval time.Duration

	// Logger receives the store's rare operational messages (listener
	// reconnects). Default: slog.Default().
	Logger *slog.Logger

	// Signer signs the last event of every append (see the package doc).
	// Without one, appends are unsigned, and an authenticating reader
	// refuses them.
	Signer eventstore.Signer

	// Keyring verifies a stream's head read from the database before an
	// append builds on it. Without one, heads are not checked.
	Keyring *eventstore.Keyring

	// Now, when set, stamps recorded_at from this process's clock instead
	// of the database's (clock_timestamp(), the default). Within one Store
	// the stamps never decrease, even if Now steps back; across processes
	// nothing orders them. It exists for tests and simulations that move a
	// clock through a business year (the as-of reads compare business time
	// with recorded_at). Leave it nil in production: with it, recorded_at
	// is whatever the writing process claims, not the database's witness
	// (see docs/eventstore.md and docs/security.md). recorded_at is not
	// covered by the hash chain or writer signatures in either mode.
	Now func() time.Time

	// legacyHorizon makes the store use the snapshot horizon, as when
	// Open's probe of the writers' horizon fails: for tests and for
	// measuring what the writers' horizon costs.
	legacyHorizon bool
}

// Group commit's defaults. At 16 writers on the project's 2-core machine
// the append is bound by CPU, not by the WAL flush (docs/benchmarks.md
// §25): the store's CPU per event, its own and its backends', falls as
// batches grow (per statement: the executor's start-up, the commit, a
// round trip and its goroutine hand-offs). Another batch starts once eight
// appends wait (≈5 appends per statement): ≈130–155 µs per event where
// starting one once two waited (≈3) cost ≈180–200. Two batches in flight
// rather than four (§35): with the committers that live as long as the
// store, two still overlap one execution with the other's flush, and the
// batches grow; on a quiet machine the median ratio to pgbench's INSERT
// was 1.058 and 1.054 against 0.996–1.020 with four (14 of 18 rounds).
// Durability is the same either way: every batch is one transaction, each
// append acknowledged after its commit.
const (
	DefaultCommitters = 2
	DefaultBatchStart = 8
)

// DefaultTailReaders is Options.TailReaders' default: two tail statements
// in flight; the reads that arrive meanwhile share the next statement.
// Quiet measurements (benchmarks §64/§67) chose 2 against 4 and -1. One
// slot halved the statements per GET on a loaded machine (benchmarks,
// issue 15, branch getcpu) but was kept off the default after review: with
// one, a single stalled statement (a lock on the events table, a slow plan)
// holds every tail read behind it with no bound; with two, one other
// statement still runs. One remains available by Options.TailReaders (and
// kinerjad's --postgres-tail-readers 1).
const DefaultTailReaders = 2

func (o *Options) setDefaults() {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	o.Limits = o.Limits.WithDefaults()
	if o.Committers <= 0 {
		o.Committers = DefaultCommitters
	}
	if o.MaxBatchEvents <= 0 {
		o.MaxBatchEvents = 2048
	}
	if o.BatchStart <= 0 {
		o.BatchStart = DefaultBatchStart
	}
	if o.HeadCacheSize <= 0 {
		o.HeadCacheSize = 1 << 16
	}
	if o.TailReaders == 0 {
		o.TailReaders = DefaultTailReaders
	}
	if o.PageSize <= 0 {
		o.PageSize = 512
	}
	if o.IdlePoll <= 0 {
		o.IdlePoll = time.Second
	}
	if o.FinalityWait <= 0 {
		o.FinalityWait = 5 * time.Second
	}
	if o.NotifyInterval <= 0 {
		o.NotifyInterval = 10 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Store is an eventstore.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	opts    Options
	q       queries
	channel string // NOTIFY channel of the schema
	// appendBatchName is the name q.appendBatch is prepared under on the
	// connections that run it through pgconn (insertWire).
	appendBatchName string

	heads headCache
	gates streamGates

	// tails coalesces ReadTails statements (see tails.go).
	tails tailCoalescer

	// Group commit: see commit.
	slots chan struct{} // one token per batch in flight
	queue chan *request // appends waiting for a batch
	// work wakes a committer goroutine; each token carries a slot.
	work           chan struct{}
	stopCommitters chan struct{} // closed by Close once no append is active
	// batchStart is the queue length at which another batch starts while
	// one is in flight.
	batchStart int

	// Wake-ups.
	bc         eventstore.Broadcaster
	listenOnce sync.Once
	listenPID  atomic.Uint32 // backend PID of the LISTEN connection, 0 when down

	// legacy: the snapshot horizon (no learning of non-writers).
	legacy bool
	// nonWriters holds the xids proven never to write this store's
	// events (learn); learnMu serialises learning, learnedAt under it.
	nonWriters atomic.Pointer[[]int64]
	learnMu    sync.Mutex
	learnedAt  time.Time
	learnings  atomic.Int64  // learnings run since Open (for tests)
	notifyCh   chan struct{} // poked after each commit; the notifier sends NOTIFY

	// notifyInStatement makes the append statement itself NOTIFY (inside
	// the appending transaction) instead of the notifier; only for the
	// benchmark that compares the two.
	notifyInStatement bool

	// lastRecorded is the last recorded_at (Unix µs) handed out under
	// Options.Now.
	lastRecorded atomic.Int64

	// notFinalWarned is when (Unix ns) a read last warned that it stopped
	// at the horizon after FinalityWait (see settle).
	notFinalWarned atomic.Int64

	stats struct {
		statements, appends, events, fallbacks, conflicts, retries atomic.Int64
	}

	// Lifetime.
	mu      sync.Mutex
	closed  bool
	active  sync.WaitGroup // appends in progress
	bgCtx   context.Context
	bgStop  context.CancelFunc
	bg      sync.WaitGroup // background goroutines
	closeMu sync.Mutex
}

// Open returns a Store on pool, which the caller keeps owning (Close does not
// close it). The schema must have been migrated (Migrate): Open checks its
// version and fails with a *VersionError otherwise. It also refuses a
// database whose stored positions are ahead of its transaction IDs (see the
// package doc: a dump restored into another cluster).
//
// The pool should allow Options.Committers connections for appends, plus
// one per concurrent read; the store opens one more connection of its own
// for LISTEN when the first subscription starts. Keep pgx's default query
// exec mode (a per-connection statement cache): the append statements rely
// on prepared plans, and are planned on every call without them. LISTEN
// needs a session, so the pool must not go through a transaction-pooling
// proxy. Configure the pool's connections with CancelOnContextDone, as
// Connect does: pgx's default only closes the socket when a context ends,
// and a statement waiting on a row lock then commits after its caller was
// told it failed.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	return open(ctx, pool, false, opts)
}

// Connect opens a pool on the database at url (a pgx connection string) and
// returns a Store that owns it: Close closes the pool. Unless the URL sets
// pool_max_conns, the pool allows Committers + 8 connections.
func Connect(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		committers := opts.Committers
		if committers <= 0 {
			committers = DefaultCommitters
		}
		cfg.MaxConns = max(cfg.MaxConns, int32(committers+8))
	}
	CancelOnContextDone(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s, err := open(ctx, pool, true, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// CancelOnContextDone makes a connection of cfg answer a context that ends
// during a statement with a cancel request to the server, which ends the
// statement and rolls its transaction back; the socket is closed only if
// the server has not answered within two seconds. (pgx's default closes
// the socket at once, which a server waiting on a lock does not notice:
// the statement then goes on and may commit.)
func CancelOnContextDone(cfg *pgx.ConnConfig) {
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
}

func open(ctx context.Context, pool *pgxpool.Pool, own bool, opts Options) (*Store, error) {
	opts.setDefaults()
	if err := checkSchemaName(opts.Schema); err != nil {
		return nil, err
	}
	have, err := schemaVersion(ctx, pool, opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	if want := SchemaVersion(); have != want {
		return nil, &VersionError{Schema: opts.Schema, Have: have, Want: want}
	}
	s := &Store{
		pool:       pool,
		ownPool:    own,
		opts:       opts,
		q:          newQueries(opts.Schema),
		legacy:     opts.legacyHorizon,
		channel:    channelName(opts.Schema),
		slots:      make(chan struct{}, opts.Committers),
		queue:      make(chan *request, 1024),
		work:       make(chan struct{}, opts.Committers),
		batchStart: opts.BatchStart,
		notifyCh:   make(chan struct{}, 1),
	}
	s.nonWriters.Store(&[]int64{})
	if !s.legacy {
		if err := s.probeHorizon(ctx); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("pgstore: open: %w", err)
			}
			opts.Logger.Warn("pgstore_writers_horizon_unavailable", "schema", opts.Schema, "err", err.Error(),
				"hint", "reads wait for every transaction with an xid in the cluster, not only for writers of events; let the store's role read pg_locks (pg_lock_status()) and call pg_xact_status()")
			s.legacy = true
		}
	}
	s.appendBatchName = stmtName(s.q.appendBatch)
	s.heads.init(opts.HeadCacheSize)
	s.gates.init()
	if err := s.checkPositions(ctx); err != nil {
		return nil, err
	}
	// Background goroutines live as long as the Store, not as long as the
	// ctx that opened it; they keep its values, for tracing.
	s.bgCtx, s.bgStop = context.WithCancel(context.WithoutCancel(ctx))
	s.bg.Add(1)
	go s.notifier()
	s.stopCommitters = make(chan struct{})
	s.bg.Add(opts.Committers)
	for range opts.Committers {
		go s.committer()
	}
	return s, nil
}

// probeHorizon checks that the writers' horizon can learn for this role:
// that it may read pg_locks and call pg_xact_status (every role may,
// unless an administrator revoked it), and that nonWritersSQL runs.
func (s *Store) probeHorizon(ctx context.Context) error {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT has_function_privilege('pg_catalog.pg_lock_status()', 'EXECUTE')
	AND has_table_privilege('pg_catalog.pg_locks', 'SELECT')
	AND has_function_privilege('pg_catalog.pg_xact_status(xid8)', 'EXECUTE')
	AND has_table_privilege('pg_catalog.pg_database', 'SELECT')`).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return &pgconn.PgError{Code: "42501", Message: "the store's role may not read pg_locks or call pg_xact_status"}
	}
	return s.learnNow(ctx)
}

// known returns the xids proven never to write this store's events (the
// horizon statements' last parameter). Never nil.
func (s *Store) known() []int64 { return *s.nonWriters.Load() }

// learnEvery is the least time between two learnings of one Store.
const learnEvery = 20 * time.Millisecond

// learn runs nonWritersSQL, unless the store uses the snapshot horizon or
// learnt less than learnEvery ago, and adds what it proves to the known
// non-writers. Reads call it when the horizon holds committed events back;
// a read that finds another learning does not wait for it. A failure only
// leaves the next read as conservative as this one, so it is logged, not
// returned.
func (s *Store) learn(ctx context.Context) {
	if s.legacy {
		return
	}
	if !s.learnMu.TryLock() {
		return // another read is learning now; the next poll gets its answer
	}
	defer s.learnMu.Unlock()
	if time.Since(s.learnedAt) < learnEvery {
		return
	}
	if err := s.learnLocked(ctx); err != nil && ctx.Err() == nil {
		s.opts.Logger.Debug("pgstore_horizon_learn_failed", "schema", s.opts.Schema, "err", err.Error())
	}
}

// learnNow is learn without the rate limit, returning the error.
func (s *Store) learnNow(ctx context.Context) error {
	s.learnMu.Lock()
	defer s.learnMu.Unlock()
	return s.learnLocked(ctx)
}

// learnSoon is learn for Finality: it waits for a learning in progress
// (and then uses its answer) and returns the error, but keeps the rate
// limit, so that a health check polling Finality while reads lag does not
// read pg_locks on every call.
func (s *Store) learnSoon(ctx context.Context) error {
	s.learnMu.Lock()
	defer s.learnMu.Unlock()
	if time.Since(s.learnedAt) < learnEvery {
		return nil
	}
	return s.learnLocked(ctx)
}

func (s *Store) learnLocked(ctx context.Context) error {
	s.learnedAt = time.Now()
	s.learnings.Add(1)
	// The statement keeps, of the known set, what its snapshot still
	// lists as running, and adds what it proves.
	var next []int64
	if err := s.pool.QueryRow(ctx, s.q.nonWriters, s.known()).Scan(&next); err != nil {
		return err
	}
	if next == nil {
		next = []int64{}
	}
	slices.Sort(next)
	next = slices.Compact(next)
	s.nonWriters.Store(&next)
	return nil
}

// checkPositions refuses to run where new positions would sort before
// stored ones: positions embed the transaction ID, which only a restore into
// another cluster (or pg_resetwal) can move backwards.
func (s *Store) checkPositions(ctx context.Context) error {
	var maxPos *int64
	var xmax int64
	err := s.pool.QueryRow(ctx, s.q.checkPositions).Scan(&maxPos, &xmax)
	if err != nil {
		return fmt.Errorf("pgstore: open: %w", err)
	}
	if xmax >= 1<<43 {
		return fmt.Errorf("pgstore: open: the cluster's transaction ID %d is past 2^43: positions ((xid << 20) | k) no longer fit in a bigint", xmax)
	}
	if maxPos != nil && *maxPos>>positionShift >= xmax {
		return fmt.Errorf("%w: the newest stored event has position %d (transaction %d), but this cluster's next transaction ID is %d: the data was probably restored from another cluster; new events would sort before stored ones. Advance the transaction ID past %d before opening the store",
			ErrPositionsAhead, *maxPos, *maxPos>>positionShift, xmax, *maxPos>>positionShift)
	}
	return nil
}

// ErrPositionsAhead is returned by Open when stored positions are ahead of
// the cluster's transaction IDs. See the package doc.
var ErrPositionsAhead = errors.New("pgstore: stored positions are ahead of the cluster's transaction IDs")

// enter registers an operation; it fails once the store is closed.
func (s *Store) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active.Add(1)
	return true
}

func (s *Store) leave() { s.active.Done() }

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close waits for appends and tail statements in progress, stops the
// store's goroutines and the listening connection, and closes the pool if
// the store opened it. Reads
// and subscriptions still running end with eventstore.ErrClosed. Calls after
// the first return nil.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	// Every queued append gets its answer, and every shared tail
	// statement in flight its rows (the coalescer's goroutines, which use
	// the pool, end before Close returns). A batch waiting on a lock that
	// another transaction holds is cancelled after closeGrace.
	drained := make(chan struct{})
	go func() { s.active.Wait(); s.tails.sending.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(closeGrace):
		s.bgStop()
		<-drained
	}
	s.bgStop()
	// No append is active, so none waits in the queue for a committer.
	close(s.stopCommitters)
	s.bg.Wait()
	s.bc.Notify() // followers read again and see ErrClosed
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// closeGrace is how long Close waits for appends in flight before it
// cancels their statements.
const closeGrace = 10 * time.Second

// Stats are counters of a Store's appends since Open, for metrics.
type Stats struct {
	// Statements is the number of append statements sent (a batch is one).
	Statements int64
	// Appends and Events count what those statements committed.
	Appends, Events int64
	// Fallbacks counts batches that failed as a whole and were retried one
	// append at a time.
	Fallbacks int64
	// Conflicts counts appends that found the stream's head elsewhere than
	// expected (or their event IDs stored); Retries, those of them that
	// tried again (Any, StreamExists, or a stale cached head).
	Conflicts, Retries int64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Statements: s.stats.statements.Load(),
		Appends:    s.stats.appends.Load(),
		Events:     s.stats.events.Load(),
		Fallbacks:  s.stats.fallbacks.Load(),
		Conflicts:  s.stats.conflicts.Load(),
		Retries:    s.stats.retries.Load(),
	}
}

// closedErr maps an error of an operation that raced with Close to
// ErrClosed: any error once the store is closed but the caller's own
// context's, and a cancellation once Close gave up waiting and cancelled
// the store's statements (closeGrace; the background context).
func (s *Store) closedErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) && s.bgCtx != nil && s.bgCtx.Err() != nil {
		return eventstore.ErrClosed
	}
	if s.isClosed() && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return eventstore.ErrClosed
	}
	return err
}

// channelName is the NOTIFY channel of a schema.
func channelName(schema string) string { return "kinerja_events_" + schema }

// Pool returns the pool the store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the schema the store uses.
func (s *Store) Schema() string { return s.opts.Schema }

// ident quotes a schema-qualified name.
func ident(schema, name string) string { return pgx.Identifier{schema, name}.Sanitize() }
