package wmbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Admit, when set, checks every event before any projection sees it
	// (projections.GroupConfig.Admit).
	Admit func(ctx context.Context, ev eventstore.Event) error
	// Registry receives the Prometheus metrics (Watermill's router metrics
	// and the projections' own). Nil: no metrics.
	Registry prometheus.Registerer
	// RetryInterval is the first wait before a failed apply is tried again
	// (default 50 ms; it doubles up to 30 s).
	RetryInterval time.Duration
	// SamplePeriod is how often lag metrics are sampled (default 2 s).
	SamplePeriod time.Duration
	// MaxBatch is the most events a projection applies in one transaction
	// (default 500); MaxDelay the longest an event waits in a batch
	// (default 20 ms).
	MaxBatch int
	MaxDelay time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the projector's logs (default slog.Default()).
	Logger *slog.Logger
}

// Projector delivers the store's events to the projection runners
// (projections.Group) through a Watermill router: one handler per
// projection, fed by a Subscriber over the event store that starts after
// the projection's checkpoint and carries its filter, and that hands each
// message's event to the projection's projections.Runner. Watermill only
// delivers: batching, applying with the checkpoint, retries and the poison
// policy are the runner's, the same code that catches projections up at
// start-up (CatchUp). Every handler has the Recoverer, CorrelationID and
// Prometheus middlewares.
//
// A handler returns when the runner has taken the event (applied, or
// batched before a checkpoint that has not passed it), so the message is
// acknowledged; while a projection's batch cannot be applied, its handler
// blocks and with it that projection's subscription only: the others, and
// the writers, go on.
type Projector struct {
	cfg    ProjectorConfig
	group  *projections.Group
	router *message.Router
	m      *projectionMetrics
}

// Status is a projection's state for operators.
type Status = projections.Status

// LagCap bounds the event count of Status.LagEvents.
const LagCap = projections.LagCap

// NewProjector builds the runners, reading each projection's checkpoint,
// and the router with its handlers. It starts nothing: call CatchUp (at
// start-up), then Run.
func NewProjector(ctx context.Context, cfg ProjectorConfig) (*Projector, error) {
	if cfg.Store == nil {
		return nil, errors.New("wmbridge: projector needs a store")
	}
	if cfg.SamplePeriod <= 0 {
		cfg.SamplePeriod = 2 * time.Second
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
	p := &Projector{cfg: cfg, router: router}
	gcfg := projections.GroupConfig{
		Store: cfg.Store, Sinks: cfg.Sinks, Relays: cfg.Relays, Admit: cfg.Admit, MaxBatch: cfg.MaxBatch, MaxDelay: cfg.MaxDelay,
		RetryInterval: cfg.RetryInterval, Now: cfg.Now, Logger: cfg.Logger,
	}
	if cfg.Registry != nil {
		if p.m, err = newProjectionMetrics(cfg.Registry); err != nil {
			return nil, err
		}
		gcfg.Observer = p.m
		metrics.NewPrometheusMetricsBuilder(cfg.Registry, "kinerja", "projector").AddPrometheusRouterMetrics(router)
	}
	if p.group, err = projections.NewGroup(ctx, gcfg); err != nil {
		return nil, err
	}
	router.AddMiddleware(middleware.Recoverer, middleware.CorrelationID)
	for _, r := range p.group.Runners() {
		sink := r.Sink()
		sub := NewSubscriber(cfg.Store, Config{
			StartAfter: func(ctx context.Context, _ string) (eventstore.Position, error) { return sink.Checkpoint(ctx) },
			Filter:     sink.Filter(),
			Logger:     wlog,
		})
		router.AddConsumerHandler(r.Name(), "*", sub, func(msg *message.Message) error {
			ev, err := EventOf(msg)
			if err == nil && IsRedacted(msg) {
				ev, err = storedAt(msg.Context(), cfg.Store, ev)
			}
			if err != nil {
				// Not a message of this bridge's Subscriber: a delivery
				// fault, not an event to judge. Nack it.
				cfg.Logger.Error("projection_bad_message", "projection", r.Name(), "err", err)
				return err
			}
			return r.Deliver(msg.Context(), ev)
		})
	}
	return p, nil
}

// Group returns the projection runners the projector delivers to.
func (p *Projector) Group() *projections.Group { return p.group }

// CatchUp catches every projection (not the relays) up from the store in
// batches, before Run (projections.Group.CatchUp: no event can make it
// fail; a projection that cannot apply one is left stalled).
func (p *Projector) CatchUp(ctx context.Context, opts projections.CatchUpOptions) (int, error) {
	return p.group.CatchUp(ctx, opts)
}

// projectionMetrics are the projections' Prometheus metrics, kept by the
// runners (projections.Observer) and the lag sampler.
type projectionMetrics struct {
	lag, checkpointAge, stalled, position *prometheus.GaugeVec
	deadLetters                           *prometheus.CounterVec
}

func newProjectionMetrics(r prometheus.Registerer) (*projectionMetrics, error) {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "projection", Name: name, Help: help}, []string{"projection"})
	}
	m := &projectionMetrics{
		lag:           gauge("lag_seconds", "Age of the oldest event the projection has not applied (0 when caught up)."),
		checkpointAge: gauge("checkpoint_age_seconds", "Seconds since the projection's checkpoint last moved."),
		stalled:       gauge("stalled", "1 while the projection is stopped at a poison event or failing, else 0."),
		position:      gauge("checkpoint_position", "The projection's checkpoint (store position)."),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "projection", Name: "dead_letters_total",
			Help: "Events the projection skipped into its dead letters."}, []string{"projection"}),
	}
	// Several Projectors may share a registry (shared projectors start one
	// per partition they own): the second reuses the first's collectors.
	gauges := []**prometheus.GaugeVec{&m.lag, &m.checkpointAge, &m.stalled, &m.position}
	for _, g := range gauges {
		if err := r.Register(*g); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("wmbridge: register metrics: %w", err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.GaugeVec)
			if !ok {
				return nil, fmt.Errorf("wmbridge: register metrics: %w", err)
			}
			*g = existing
		}
	}
	if err := r.Register(m.deadLetters); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("wmbridge: register metrics: %w", err)
		}
		existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, fmt.Errorf("wmbridge: register metrics: %w", err)
		}
		m.deadLetters = existing
	}
	return m, nil
}

// Progressed implements projections.Observer.
func (m *projectionMetrics) Progressed(name string, pos eventstore.Position) {
	m.position.WithLabelValues(name).Set(float64(pos))
	m.deadLetters.WithLabelValues(name) // the series exists from the start
}

// StalledChanged implements projections.Observer.
func (m *projectionMetrics) StalledChanged(name string, stalled bool) {
	v := 0.0
	if stalled {
		v = 1
	}
	m.stalled.WithLabelValues(name).Set(v)
}

// DeadLettered implements projections.Observer.
func (m *projectionMetrics) DeadLettered(name string) { m.deadLetters.WithLabelValues(name).Inc() }

// Run runs the router and the lag sampler until ctx ends or Close, and
// returns once both have stopped (the sampler reads the store, which the
// caller may close next).
func (p *Projector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		p.sample(ctx)
	}()
	err := p.router.Run(ctx)
	cancel()
	<-sampled
	return err
}

// Running is closed once every handler is running.
func (p *Projector) Running() chan struct{} { return p.router.Running() }

// Close stops the router, letting handlers finish their current message,
// and applies the events still waiting in batches (what it cannot apply
// is delivered again after a restart: the checkpoints have not passed it).
func (p *Projector) Close() error {
	err := p.router.Close()
	p.group.Close()
	// A Projector that shares its registry with later ones (a released
	// partition) leaves no stale series behind; the dead-letter counter
	// stays, as counters do.
	if p.m != nil {
		for _, r := range p.group.Runners() {
			for _, g := range []*prometheus.GaugeVec{p.m.lag, p.m.checkpointAge, p.m.stalled, p.m.position} {
				g.DeleteLabelValues(r.Name())
			}
		}
	}
	return err
}

// sample refreshes the lag metrics every SamplePeriod.
//
// It works from positions: a projection whose checkpoint is at the store's
// head has no lag, and no event is read for it. Otherwise its lag is the
// age of the first event after its checkpoint that it reads, found with
// one filtered read of the store beneath any authentication (rawStore)
// and remembered until the checkpoint moves; a read that finds none
// remembers the head it searched to, and the next sample searches only
// past it. So sampling checks no signature, and reads nothing while the
// projections and the store stand still. What it reads is unauthenticated
// but only timed: an event inserted behind the store's back can show as
// lag, never as applied data (the projections' own reads authenticate).
func (p *Projector) sample(ctx context.Context) {
	if p.m == nil {
		return
	}
	t := time.NewTicker(p.cfg.SamplePeriod)
	defer t.Stop()
	s := lagSampler{store: rawStore(p.cfg.Store), probes: map[string]*lagProbe{}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := p.cfg.Now()
		head, err := s.store.Head(ctx)
		if err != nil {
			continue
		}
		for _, st := range p.group.States() {
			r := p.group.Runner(st.Name)
			if r == nil {
				continue
			}
			lag, err := s.lag(ctx, st.Name, r.Sink().Filter(), st.Checkpoint, head, now)
			if err != nil {
				continue
			}
			p.m.lag.WithLabelValues(st.Name).Set(lag.Seconds())
			p.m.checkpointAge.WithLabelValues(st.Name).Set(now.Sub(st.LastProgress).Seconds())
		}
	}
}

// rawStore returns the store beneath an authenticating wrapper
// (eventstore.AuthenticatedStore.Unwrap), or s itself.
func rawStore(s eventstore.Store) eventstore.Store {
	if u, ok := s.(interface{ Unwrap() eventstore.Store }); ok {
		return u.Unwrap()
	}
	return s
}

// lagSampler keeps, per projection, what sampling found after its
// checkpoint. It is used by the one sampling goroutine.
type lagSampler struct {
	store  eventstore.Store
	probes map[string]*lagProbe
}

// lagProbe is what a projection's sampling knows at checkpoint cp: no
// event the projection reads lies in (cp, searched]; or, when found, the
// first one after cp was recorded at oldest.
type lagProbe struct {
	cp, searched eventstore.Position
	found        bool
	oldest       time.Time
}

// lag returns the age at now of the oldest event after cp that matches f,
// with the store's head at head (0 when there is none).
func (s *lagSampler) lag(ctx context.Context, name string, f eventstore.Filter, cp, head eventstore.Position, now time.Time) (time.Duration, error) {
	if head <= cp {
		delete(s.probes, name)
		return 0, nil
	}
	pr := s.probes[name]
	if pr == nil || pr.cp != cp {
		pr = &lagProbe{cp: cp, searched: cp}
		s.probes[name] = pr
	}
	if !pr.found && head > pr.searched {
		for ev, err := range s.store.ReadAll(ctx, eventstore.ReadAllOptions{After: pr.searched, Limit: 1, Filter: f}) {
			if err != nil {
				return 0, err
			}
			pr.found, pr.oldest = true, ev.RecordedAt
		}
		if !pr.found {
			pr.searched = head // read before: nothing of the projection's up to it
		}
	}
	if !pr.found {
		return 0, nil
	}
	return max(now.Sub(pr.oldest), 0), nil
}

// Status reports every projection's state (projections.Group.Status).
func (p *Projector) Status(ctx context.Context) ([]Status, error) { return p.group.Status(ctx) }

// Checkpoint returns the checkpoint a projection has reached in this
// process.
func (p *Projector) Checkpoint(name string) (eventstore.Position, bool) {
	return p.group.Checkpoint(name)
}

// Stalled returns the names of stalled projections.
func (p *Projector) Stalled() []string { return p.group.Stalled() }

// WaitFor blocks until every projection whose filter matches an event at or
// before pos has applied up to pos, or ctx ends.
func (p *Projector) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return p.group.WaitFor(ctx, pos)
}

// Lags returns, per projection, the age of the oldest event it has not
// applied (0 when caught up). It reads one event per projection.
func (p *Projector) Lags(ctx context.Context) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, r := range p.group.Runners() {
		lag, err := p.group.Lag(ctx, r.Name())
		if err != nil {
			return nil, err
		}
		out[r.Name()] = lag
	}
	return out, nil
}

// storedAt reads the whole event a redacted message stands for (its actor
// travels in no message: IsRedacted) from the store, at its position.
func storedAt(ctx context.Context, store eventstore.Store, ev eventstore.Event) (eventstore.Event, error) {
	if ev.Position == 0 {
		return eventstore.Event{}, fmt.Errorf("wmbridge: the redacted message %s names no position", ev.ID)
	}
	for got, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{After: ev.Position - 1, Limit: 1}) {
		if err != nil {
			return eventstore.Event{}, err
		}
		if got.ID != ev.ID {
			return eventstore.Event{}, fmt.Errorf("wmbridge: the event at position %d is %s, not the redacted message's %s", ev.Position, got.ID, ev.ID)
		}
		return got, nil
	}
	return eventstore.Event{}, fmt.Errorf("wmbridge: no event at position %d for the redacted message %s", ev.Position, ev.ID)
}
