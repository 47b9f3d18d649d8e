package pgstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// startListener starts the store's LISTEN connection once, unless the store
// is closed.
func (s *Store) startListener() {
	s.listenOnce.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		s.bg.Add(1)
		go s.listen()
	})
}

// listen keeps one connection LISTENing on the schema's channel and turns
// every notification into a Broadcaster.Notify. When the connection drops
// it reconnects with back-off (50 ms doubling to 5 s); meanwhile, and after
// every reconnect, subscribers are woken so that they read, since
// notifications sent while nobody listened are lost.
func (s *Store) listen() {
	defer s.bg.Done()
	const minBackoff, maxBackoff = 50 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		connected, err := s.listenConn()
		if s.bgCtx.Err() != nil {
			return
		}
		if connected {
			backoff = minBackoff
		}
		s.opts.Logger.LogAttrs(s.bgCtx, slog.LevelWarn, "pgstore_listener_lost",
			slog.String("schema", s.opts.Schema), slog.Any("err", err), slog.Duration("retry_in", backoff))
		s.bc.Notify()
		select {
		case <-time.After(backoff):
		case <-s.bgCtx.Done():
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenConn connects, LISTENs and relays notifications until the
// connection fails. connected reports that LISTEN succeeded.
func (s *Store) listenConn() (connected bool, err error) {
	ctx := s.bgCtx
	cfg := s.pool.Config().ConnConfig // a copy
	// This connection only waits for notifications: no statement to cancel,
	// so a cancel request would go unanswered. Close the socket at once.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		s.listenPID.Store(0)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return false, err
	}
	s.listenPID.Store(conn.PgConn().PID())
	s.bc.Notify() // events may have committed while nobody listened
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		s.bc.Notify()
	}
}

// listenerBackendPID returns the backend PID of the LISTEN connection, 0
// when there is none.
func (s *Store) listenerBackendPID() uint32 { return s.listenPID.Load() }

// notifier sends one NOTIFY on the schema's channel after commits of this
// store, at most one per Options.NotifyInterval, to wake subscribers of
// other Stores (other processes). It runs outside the appending
// transactions on purpose: a transaction that NOTIFYs takes a cluster-wide
// lock from its pre-commit until after its commit record is flushed, which
// would serialise every appending commit (and defeat PostgreSQL's WAL group
// commit). A NOTIFY lost in a crash costs a remote subscriber at most its
// idle poll.
func (s *Store) notifier() {
	defer s.bg.Done()
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-s.notifyCh:
		case <-s.bgCtx.Done():
			return
		}
		if _, err := s.pool.Exec(s.bgCtx, s.q.notify, s.channel); err != nil && s.bgCtx.Err() == nil {
			s.opts.Logger.LogAttrs(s.bgCtx, slog.LevelDebug, "pgstore_notify_failed",
				slog.String("schema", s.opts.Schema), slog.Any("err", err))
		}
		t.Reset(s.opts.NotifyInterval)
		select {
		case <-t.C:
		case <-s.bgCtx.Done():
			return
		}
	}
}
