// Package app is the application layer between the edges that act (the
// API, the dashboard's forms) and the domain: what they share that is not
// a rule, and needs what the domain may not have (a clock, randomness,
// waiting). Today that is how commands are executed: Streams serialises the
// commands of one stream within the process and retries across processes
// (a domain.Runner), and Keyed is the per-key lock it and the API's
// idempotency share.
package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
)

// Why both: sixteen clients writing to one SKP without If-Match used to get
// 409 in 43–69 % of their requests (issue 10). Each command loads the
// stream, decides and appends with the revision it loaded; when another
// command appended in between, the append fails and the command re-decides.
// The domain re-decided four times at once and gave up. Within a process
// the commands of a stream now queue for it (first come, first served), so
// they never race each other; commands of other processes on the same
// PostgreSQL still can, and those are retried after a jittered, growing
// pause, until the request's deadline (or MaxWait) would pass.

// Defaults of StreamsConfig.
const (
	DefaultMaxWait   = 5 * time.Second
	DefaultBaseDelay = 2 * time.Millisecond
	DefaultMaxDelay  = 200 * time.Millisecond
)

// StreamsConfig tunes Streams. The zero value is the defaults.
type StreamsConfig struct {
	// MaxWait bounds how long a command waits for its stream and between
	// attempts when its context has no earlier deadline (DefaultMaxWait).
	MaxWait time.Duration
	// BaseDelay and MaxDelay bound the pause after the n-th lost race: a
	// random duration between BaseDelay and min(MaxDelay, BaseDelay·2ⁿ)
	// ("full jitter", so that writers that lost together do not retry
	// together). Defaults DefaultBaseDelay and DefaultMaxDelay.
	BaseDelay, MaxDelay time.Duration
	// Now, Sleep and Jitter are the clock, the pause and the random source
	// (tests replace them). Jitter returns a number in [0, n).
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func(n int64) int64
}

func (c *StreamsConfig) setDefaults() {
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = DefaultBaseDelay
	}
	if c.MaxDelay < c.BaseDelay {
		c.MaxDelay = max(DefaultMaxDelay, c.BaseDelay)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.Jitter == nil {
		c.Jitter = rand.Int64N
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Streams is the service's domain.Runner. It is safe for concurrent use;
// one Streams must serve every Handler of a process (the queues are its).
// A stream's turn is not reentrant: a decider must not run a command on
// its own stream (none does; deciders only read other streams).
type Streams struct {
	cfg   StreamsConfig
	locks Keyed
	stats struct{ retries, gaveUp atomic.Uint64 }
}

var _ domain.Runner = (*Streams)(nil)

// NewStreams returns a Runner configured by cfg.
func NewStreams(cfg StreamsConfig) *Streams {
	cfg.setDefaults()
	return &Streams{cfg: cfg}
}

// StreamStats counts what Streams did, for metrics.
type StreamStats struct {
	// Retries counts attempts run again after a lost race.
	Retries uint64
	// GaveUp counts commands that ended with a ContentionError.
	GaveUp uint64
}

// Stats returns the counts so far.
func (s *Streams) Stats() StreamStats {
	return StreamStats{Retries: s.stats.retries.Load(), GaveUp: s.stats.gaveUp.Load()}
}

// ContentionError says a command gave up: its stream kept changing under
// it (or it waited too long for its turn). Nothing was written; repeating
// the request is safe. It matches domain.ErrConcurrency.
type ContentionError struct {
	// Stream is the stream written.
	Stream string
	// Attempts is how many times the command was decided (0: it never had
	// its turn).
	Attempts int
	// Waited is how long it waited in all.
	Waited time.Duration
	err    error
}

// Error says what gave up.
func (e *ContentionError) Error() string {
	return fmt.Sprintf("app: %s kept changing: gave up after %d attempts in %v: %v", e.Stream, e.Attempts, e.Waited.Round(time.Millisecond), e.err)
}

// Unwrap returns the last lost race (matching domain.ErrConcurrency).
func (e *ContentionError) Unwrap() error { return e.err }

// Run implements domain.Runner: it waits for stream's turn in this
// process, then runs attempt, and again after each lost race, pausing
// (jittered, growing) in between, while the pause ends before the deadline:
// ctx's, or MaxWait from now if that is earlier.
func (s *Streams) Run(ctx context.Context, stream string, attempt func(context.Context) error) error {
	start := s.cfg.Now()
	deadline := start.Add(s.cfg.MaxWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	turnCtx, cancel := context.WithTimeout(ctx, deadline.Sub(start))
	unlock, err := s.locks.Lock(turnCtx, stream)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.stats.gaveUp.Add(1)
		return &ContentionError{Stream: stream, Waited: s.cfg.Now().Sub(start), err: fmt.Errorf("waiting for its turn: %w", domain.ErrConcurrency)}
	}
	defer unlock()
	for n := 1; ; n++ {
		err := attempt(ctx)
		if !errors.Is(err, domain.ErrConcurrency) {
			return err
		}
		pause := s.pause(n)
		if s.cfg.Now().Add(pause).After(deadline) {
			s.stats.gaveUp.Add(1)
			return &ContentionError{Stream: stream, Attempts: n, Waited: s.cfg.Now().Sub(start), err: err}
		}
		if err := s.cfg.Sleep(ctx, pause); err != nil {
			return err
		}
		s.stats.retries.Add(1)
	}
}

// pause is the pause after the n-th lost race (n ≥ 1).
func (s *Streams) pause(n int) time.Duration {
	ceiling := s.cfg.MaxDelay
	if n < 30 {
		ceiling = min(ceiling, s.cfg.BaseDelay<<n)
	}
	return s.cfg.BaseDelay + time.Duration(s.cfg.Jitter(int64(ceiling-s.cfg.BaseDelay)+1))
}

// Keyed is a lock per key: holders of one key take turns in the order they
// asked, holders of different keys do not wait for each other. Its zero
// value is ready; it is safe for concurrent use and keeps nothing for keys
// nobody holds or waits for.
type Keyed struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	turn chan struct{} // holds a token while the key is held
	n    int           // holders and waiters
}

// Lock waits for key's turn and returns how to release it; or ctx's error
// when ctx ends first.
func (k *Keyed) Lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{turn: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.n++
	k.mu.Unlock()
	// Blocked senders on a channel are served first in, first out.
	select {
	case e.turn <- struct{}{}:
		return func() {
			<-e.turn
			k.release(key, e)
		}, nil
	case <-ctx.Done():
		k.release(key, e)
		return nil, ctx.Err()
	}
}

func (k *Keyed) release(key string, e *keyedEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e.n--; e.n == 0 {
		delete(k.m, key)
	}
}

// Len returns how many keys are held or waited for (for tests).
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
