package wmbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// ProjectorConfig configures a Projector.
type ProjectorConfig struct {
	// Store is the event store the projections read.
	Store eventstore.Store
	// Sinks are the projections, each bound to its read-model backend.
	Sinks []projections.Sink
	// Relays forward events to outside consumers (integration events);
	// each keeps its own checkpoint like a projection.
	Relays []projections.Sink
	// Registry receives the Prometheus metrics (Watermill's router metrics
	// and the projections' own). Nil: no metrics.
	Registry prometheus.Registerer
	// MaxRetries bounds the in-place retries of a failing event before it is
	// nacked (and redelivered with growing back-off) or dead-lettered
	// (default 3).
	MaxRetries int
	// RetryInterval is the first retry's wait (default 50 ms).
	RetryInterval time.Duration
	// SamplePeriod is how often lag metrics are sampled (default 2 s).
	SamplePeriod time.Duration
	// MaxBatch is the most events a projection applies in one transaction
	// (default 500); MaxDelay the longest an event waits in a batch
	// (default 20 ms). See Projector.
	MaxBatch int
	MaxDelay time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the projector's logs (default slog.Default()).
	Logger *slog.Logger
}

// Projector runs projections as Watermill router handlers: one handler per
// Sink, fed by a Subscriber over the event store that starts after the
// Sink's checkpoint and carries the Sink's filter. Every handler has the
// Recoverer, CorrelationID, Prometheus and bounded Retry middlewares.
//
// # Batches
//
// One transaction per event and read model cannot keep up with a busy
// ledger on PostgreSQL, so a handler adds each decoded event to its
// projection's batch and acknowledges it; the batch is applied (with the
// checkpoint, in one transaction) when it holds MaxBatch events or its
// first event has waited MaxDelay. An acknowledged event that is not yet
// applied is safe: the checkpoint has not passed it, so after a crash the
// subscription delivers it again.
//
// A batch that fails blocks the handler, and with it the subscription,
// until it is applied: a transient error is retried with back-off; a
// poison event is isolated by applying the batch one event at a time, then
// recorded in the Sink's dead letters (DeadLetter) or kept at the head of
// the batch with the projection reported stalled (Stop): nothing after it
// is applied until the cause is fixed, and a restart resumes before it. An
// event that cannot even be decoded takes the same paths (the poison queue
// of a DeadLetter projection records it after the batch before it is
// applied, so checkpoints stay in order).
type Projector struct {
	cfg    ProjectorConfig
	router *message.Router
	stats  map[string]*sinkStats
	order  []string
	sinks  map[string]projections.Sink

	mu      sync.Mutex
	applied *sync.Cond
	gen     uint64 // counts progress, so WaitFor misses no wake-up

	// life ends when the projector closes: flushes started by a batch timer
	// (not by a message, whose context ends with its subscription) stop then.
	life    context.Context
	endLife context.CancelFunc

	lag, checkpointAge, stalledG, position *prometheus.GaugeVec
	deadLetters                            *prometheus.CounterVec
}

type sinkStats struct {
	// mu serialises the handler and the flush timer on the batch.
	mu    sync.Mutex
	batch []projections.Event
	timer *time.Timer

	policy       projections.Policy
	checkpoint   eventstore.Position
	lastProgress time.Time
	lastRecorded time.Time
	stalled      bool
	lastError    string
	nacks        int
	deadLetters  int
}

// Status is a projection's state for operators.
type Status struct {
	Name       string              `json:"name"`
	Policy     string              `json:"policy"`
	Checkpoint eventstore.Position `json:"checkpoint"`
	Head       eventstore.Position `json:"head"`
	// LagEvents counts the events after the checkpoint that the projection
	// reads (capped at LagCap; LagCapped says so).
	LagEvents int  `json:"lag_events"`
	LagCapped bool `json:"lag_capped,omitempty"`
	// LagSeconds is the age of the oldest event the projection has not
	// applied (0 when caught up).
	LagSeconds float64 `json:"lag_seconds"`
	// CheckpointAgeSeconds is the time since the checkpoint last moved.
	CheckpointAgeSeconds float64 `json:"checkpoint_age_seconds"`
	Stalled              bool    `json:"stalled"`
	LastError            string  `json:"last_error,omitempty"`
	DeadLetters          int     `json:"dead_letters"`
}

// LagCap bounds the event count of Status.LagEvents.
const LagCap = 100_000

// NewProjector builds the router and its handlers. It starts nothing; call
// Run.
func NewProjector(cfg ProjectorConfig) (*Projector, error) {
	if cfg.Store == nil {
		return nil, errors.New("wmbridge: projector needs a store")
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 50 * time.Millisecond
	}
	if cfg.SamplePeriod <= 0 {
		cfg.SamplePeriod = 2 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 500
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 20 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	wlog := watermill.NewSlogLogger(cfg.Logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, wlog)
	if err != nil {
		return nil, err
	}
	p := &Projector{cfg: cfg, router: router, stats: map[string]*sinkStats{}, sinks: map[string]projections.Sink{}}
	p.life, p.endLife = context.WithCancel(context.Background())
	p.applied = sync.NewCond(&p.mu)
	router.AddMiddleware(middleware.Recoverer, middleware.CorrelationID)
	if cfg.Registry != nil {
		if err := p.registerMetrics(cfg.Registry); err != nil {
			return nil, err
		}
		metrics.NewPrometheusMetricsBuilder(cfg.Registry, "kinerja", "projector").AddPrometheusRouterMetrics(router)
	}
	for _, s := range append(append([]projections.Sink(nil), cfg.Sinks...), cfg.Relays...) {
		if err := p.add(s, wlog); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Projector) registerMetrics(r prometheus.Registerer) error {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "projection", Name: name, Help: help}, []string{"projection"})
	}
	p.lag = gauge("lag_seconds", "Age of the oldest event the projection has not applied (0 when caught up).")
	p.checkpointAge = gauge("checkpoint_age_seconds", "Seconds since the projection's checkpoint last moved.")
	p.stalledG = gauge("stalled", "1 while the projection is stopped at a poison event or failing, else 0.")
	p.position = gauge("checkpoint_position", "The projection's checkpoint (store position).")
	p.deadLetters = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "projection", Name: "dead_letters_total", Help: "Events the projection skipped into its dead letters."}, []string{"projection"})
	for _, c := range []prometheus.Collector{p.lag, p.checkpointAge, p.stalledG, p.position, p.deadLetters} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("wmbridge: register metrics: %w", err)
		}
	}
	return nil
}

func (p *Projector) add(s projections.Sink, wlog watermill.LoggerAdapter) error {
	name := s.Name()
	if _, dup := p.sinks[name]; dup {
		return fmt.Errorf("wmbridge: two projections named %s", name)
	}
	cp, err := s.Checkpoint(context.Background())
	if err != nil {
		return fmt.Errorf("wmbridge: checkpoint of %s: %w", name, err)
	}
	p.sinks[name] = s
	p.order = append(p.order, name)
	st := &sinkStats{policy: s.Policy(), checkpoint: cp, lastProgress: p.cfg.Now()}
	p.stats[name] = st
	if p.deadLetters != nil {
		p.deadLetters.WithLabelValues(name)
		p.position.WithLabelValues(name).Set(float64(cp))
	}
	sub := NewSubscriber(p.cfg.Store, Config{
		StartAfter: func(ctx context.Context, _ string) (eventstore.Position, error) { return s.Checkpoint(ctx) },
		Filter:     s.Filter(),
		OnNack: func(_ string, ev eventstore.Event, attempts int) {
			p.mu.Lock()
			st.stalled, st.nacks = true, attempts
			p.mu.Unlock()
			if p.stalledG != nil {
				p.stalledG.WithLabelValues(name).Set(1)
			}
			p.cfg.Logger.Error("projection_stalled", "projection", name, "position", uint64(ev.Position), "stream", ev.Stream, "attempts", attempts)
		},
		Logger: wlog,
	})
	st.timer = time.AfterFunc(time.Hour, func() { p.flushTimer(s, st) })
	st.timer.Stop()
	h := p.router.AddConsumerHandler(name, "*", sub, func(msg *message.Message) error { return p.handle(s, st, msg) })
	h.AddMiddleware(middleware.Retry{
		MaxRetries:      p.cfg.MaxRetries,
		InitialInterval: p.cfg.RetryInterval,
		MaxInterval:     time.Second,
		Multiplier:      2,
		// A poison event fails the same way every time: retrying it here
		// only delays the policy.
		ShouldRetry:         func(rp middleware.RetryParams) bool { return !projections.IsPoison(rp.Err) },
		ResetContextOnRetry: true,
		Logger:              wlog,
	}.Middleware)
	if s.Policy() == projections.DeadLetter {
		pq, err := middleware.PoisonQueueWithFilter(&deadLetterPublisher{p: p, sink: s, st: st}, "dead-letters-"+name, projections.IsPoison)
		if err != nil {
			return err
		}
		h.AddMiddleware(pq)
	}
	return nil
}

// handle adds one message's event to the Sink's batch, applying the batch
// when it is full.
func (p *Projector) handle(s projections.Sink, st *sinkStats, msg *message.Message) error {
	ev, err := EventOf(msg)
	if err != nil {
		err = projections.Poison(ev, err)
	}
	var pev projections.Event
	if err == nil {
		pev, err = projections.Decode(ev)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		// The events before it go first, so that a dead letter (which moves
		// the checkpoint) never overtakes them.
		if ferr := p.flush(msg.Context(), s, st); ferr != nil {
			return ferr
		}
		p.noteError(st, err)
		return err
	}
	st.batch = append(st.batch, pev)
	if len(st.batch) >= p.cfg.MaxBatch {
		st.timer.Stop()
		return p.flush(msg.Context(), s, st)
	}
	if len(st.batch) == 1 {
		st.timer.Reset(p.cfg.MaxDelay)
	}
	return nil
}

// flushTimer applies a batch whose first event has waited MaxDelay.
func (p *Projector) flushTimer(s projections.Sink, st *sinkStats) {
	st.mu.Lock()
	defer st.mu.Unlock()
	p.flush(p.life, s, st)
}

// flush applies the batch until it is applied or ctx ends: transient errors
// are retried with back-off; a poison event is dead-lettered or, for a
// Stop projection, stays at the head of the batch and the projection
// reports itself stalled. Called with st.mu held.
func (p *Projector) flush(ctx context.Context, s projections.Sink, st *sinkStats) error {
	backoff := p.cfg.RetryInterval
	for len(st.batch) > 0 {
		err := s.Apply(ctx, st.batch...)
		if err == nil {
			p.progressed(s.Name(), st, st.batch[len(st.batch)-1].Event)
			st.batch = st.batch[:0]
			return nil
		}
		if projections.IsPoison(err) {
			err = p.isolate(ctx, s, st)
			if err == nil {
				continue
			}
		}
		p.noteError(st, err)
		if !errors.Is(err, errStalled) {
			p.cfg.Logger.Warn("projection_apply_failed", "projection", s.Name(), "err", err, "retry_in", backoff.String())
		}
		p.mu.Lock()
		st.stalled = true
		p.mu.Unlock()
		if p.stalledG != nil {
			p.stalledG.WithLabelValues(s.Name()).Set(1)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 30*time.Second)
	}
	return nil
}

// errStalled marks a Stop projection held at a poison event.
var errStalled = errors.New("wmbridge: projection stopped at a poison event")

// isolate applies the batch one event at a time, dead-lettering a poison
// event (DeadLetter) or stopping at it (Stop: it and what follows stay in
// the batch). Called with st.mu held.
func (p *Projector) isolate(ctx context.Context, s projections.Sink, st *sinkStats) error {
	for len(st.batch) > 0 {
		ev := st.batch[0]
		err := s.Apply(ctx, ev)
		switch {
		case err == nil:
			p.progressed(s.Name(), st, ev.Event)
		case !projections.IsPoison(err):
			return err
		case s.Policy() == projections.DeadLetter:
			if err := s.DeadLetter(ctx, ev, err); err != nil {
				return err
			}
			p.deadLettered(s, st, ev.Event)
		default:
			p.cfg.Logger.Error("projection_stalled", "projection", s.Name(), "position", uint64(ev.Position), "stream", ev.Stream, "err", err)
			return fmt.Errorf("%w: %w", errStalled, err)
		}
		st.batch = st.batch[1:]
	}
	return nil
}

func (p *Projector) noteError(st *sinkStats, err error) {
	p.mu.Lock()
	st.lastError = err.Error()
	p.mu.Unlock()
}

func (p *Projector) progressed(name string, st *sinkStats, ev eventstore.Event) {
	now := p.cfg.Now()
	// Metrics first: a WaitFor woken by the broadcast below must see them.
	if p.position != nil {
		p.position.WithLabelValues(name).Set(float64(ev.Position))
		p.stalledG.WithLabelValues(name).Set(0)
	}
	p.mu.Lock()
	st.checkpoint, st.lastProgress, st.lastRecorded = ev.Position, now, ev.RecordedAt
	st.stalled, st.lastError, st.nacks = false, "", 0
	p.gen++
	p.applied.Broadcast()
	p.mu.Unlock()
}

// deadLetterPublisher is the poison queue's publisher: it records poisoned
// messages in their Sink's dead letters (which also moves the checkpoint).
type deadLetterPublisher struct {
	p    *Projector
	sink projections.Sink
	st   *sinkStats
}

func (d *deadLetterPublisher) Publish(_ string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		ev, err := EventOf(msg)
		if err != nil {
			return err
		}
		pev, _ := projections.Decode(ev)
		cause := errors.New(msg.Metadata.Get(middleware.ReasonForPoisonedKey))
		if err := d.sink.DeadLetter(msg.Context(), pev, cause); err != nil {
			return err
		}
		d.p.deadLettered(d.sink, d.st, ev)
	}
	return nil
}

// deadLettered counts and logs a dead letter and moves the projection on.
func (p *Projector) deadLettered(s projections.Sink, st *sinkStats, ev eventstore.Event) {
	if p.deadLetters != nil {
		p.deadLetters.WithLabelValues(s.Name()).Inc()
	}
	p.mu.Lock()
	st.deadLetters++
	p.mu.Unlock()
	p.cfg.Logger.Warn("projection_dead_letter", "projection", s.Name(), "position", uint64(ev.Position), "stream", ev.Stream, "type", ev.Type)
	p.progressed(s.Name(), st, ev)
}

func (d *deadLetterPublisher) Close() error { return nil }

// Run runs the router and the lag sampler until ctx ends or Close.
func (p *Projector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.sample(ctx)
	return p.router.Run(ctx)
}

// Running is closed once every handler is running.
func (p *Projector) Running() chan struct{} { return p.router.Running() }

// Close stops the router, letting handlers finish their current message,
// and applies the events still waiting in batches (what it cannot apply
// is delivered again after a restart: the checkpoints have not passed it).
func (p *Projector) Close() error {
	p.endLife()
	err := p.router.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range p.order {
		st := p.stats[name]
		st.timer.Stop()
		st.mu.Lock()
		p.flush(ctx, p.sinks[name], st)
		st.mu.Unlock()
	}
	return err
}

// sample refreshes the lag metrics every SamplePeriod.
func (p *Projector) sample(ctx context.Context) {
	if p.lag == nil {
		return
	}
	t := time.NewTicker(p.cfg.SamplePeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, name := range p.order {
			lag, age, err := p.lagOf(ctx, name)
			if err != nil {
				continue
			}
			p.lag.WithLabelValues(name).Set(lag.Seconds())
			p.checkpointAge.WithLabelValues(name).Set(age.Seconds())
		}
	}
}

// lagOf returns the age of the oldest unapplied event and the checkpoint's
// age.
func (p *Projector) lagOf(ctx context.Context, name string) (lag, age time.Duration, err error) {
	p.mu.Lock()
	st := p.stats[name]
	cp, since := st.checkpoint, st.lastProgress
	p.mu.Unlock()
	now := p.cfg.Now()
	age = now.Sub(since)
	filter := p.sinks[name].Filter()
	for ev, err := range p.cfg.Store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Limit: 1, Filter: filter}) {
		if err != nil {
			return 0, age, err
		}
		return max(now.Sub(ev.RecordedAt), 0), age, nil
	}
	return 0, age, nil
}

// Status reports every projection's state. It counts the unapplied events
// (up to LagCap), so it reads the store; use it for operations, not on a
// hot path.
func (p *Projector) Status(ctx context.Context) ([]Status, error) {
	head, err := p.cfg.Store.Head(ctx)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, name := range p.order {
		p.mu.Lock()
		st := p.stats[name]
		s := Status{Name: name, Policy: st.policy.String(), Checkpoint: st.checkpoint, Head: head, Stalled: st.stalled,
			LastError: st.lastError, CheckpointAgeSeconds: p.cfg.Now().Sub(st.lastProgress).Seconds()}
		checkpoint := st.checkpoint
		p.mu.Unlock()
		dls, err := p.sinks[name].DeadLetters(ctx)
		if err != nil {
			return nil, err
		}
		s.DeadLetters = len(dls)
		lag, _, err := p.lagOf(ctx, name)
		if err != nil {
			return nil, err
		}
		s.LagSeconds = lag.Seconds()
		for _, err := range p.cfg.Store.ReadAll(ctx, eventstore.ReadAllOptions{After: checkpoint, Limit: LagCap + 1, Filter: p.sinks[name].Filter()}) {
			if err != nil {
				return nil, err
			}
			s.LagEvents++
		}
		if s.LagEvents > LagCap {
			s.LagEvents, s.LagCapped = LagCap, true
		}
		out = append(out, s)
	}
	return out, nil
}

// Checkpoint returns the checkpoint a projection has reached in this
// process.
func (p *Projector) Checkpoint(name string) (eventstore.Position, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.stats[name]
	if !ok {
		return 0, false
	}
	return st.checkpoint, true
}

// Stalled returns the names of stalled projections.
func (p *Projector) Stalled() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, name := range p.order {
		if p.stats[name].stalled {
			out = append(out, name)
		}
	}
	return out
}

// WaitFor blocks until every projection whose filter matches an event at or
// before pos has applied up to pos, or ctx ends. It lets a writer read its
// own writes from the projections.
func (p *Projector) WaitFor(ctx context.Context, pos eventstore.Position) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.applied.Broadcast()
			p.mu.Unlock()
		case <-done:
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		gen := p.gen
		behind := false
		for _, name := range p.order {
			if p.stats[name].checkpoint < pos && p.pendingFor(name, pos) {
				behind = true
				break
			}
		}
		if !behind {
			return nil
		}
		if p.gen != gen {
			continue // progress while the store was read: look again
		}
		p.applied.Wait()
	}
}

// pendingFor reports whether projection name has an event to apply at or
// before pos. Called with p.mu held; it reads the store briefly.
func (p *Projector) pendingFor(name string, pos eventstore.Position) bool {
	cp := p.stats[name].checkpoint
	p.mu.Unlock()
	defer p.mu.Lock()
	for ev, err := range p.cfg.Store.ReadAll(context.Background(), eventstore.ReadAllOptions{After: cp, Limit: 1, Filter: p.sinks[name].Filter()}) {
		return err != nil || ev.Position <= pos
	}
	return false
}

// Lags returns, per projection, the age of the oldest event it has not
// applied (0 when caught up). It reads one event per projection.
func (p *Projector) Lags(ctx context.Context) (map[string]time.Duration, error) {
	out := make(map[string]time.Duration, len(p.order))
	for _, name := range p.order {
		lag, _, err := p.lagOf(ctx, name)
		if err != nil {
			return nil, err
		}
		out[name] = lag
	}
	return out, nil
}
