package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// The projection runner: the one implementation of how events reach a
// Sink — admission, batching, apply with the checkpoint, retry with
// back-off, and the poison policy — shared by the start-up catch-up
// (Group.CatchUp) and live delivery (Runner.Deliver, which the Watermill
// router in adapters/wmbridge calls for every message). Watermill only
// delivers; what a failure means is decided here.

// GroupConfig configures a Group.
type GroupConfig struct {
	// Store is the event store the projections read.
	Store eventstore.Store
	// Sinks are the projections, each bound to its read-model backend.
	Sinks []Sink
	// Relays forward events to outside consumers (integration events).
	// They are driven like Sinks on live delivery, but CatchUp leaves them
	// out: a relay far behind catches up through its live subscription,
	// so a slow broker never holds up a start-up.
	Relays []Sink
	// Admit, when set, checks every event before any projection sees it
	// (see Group.Admit). An event it refuses is poison to every projection
	// that reads it: a Stop projection stalls before it, a DeadLetter one
	// records it and moves on.
	Admit func(ctx context.Context, ev eventstore.Event) error
	// MaxBatch is the most events a live batch holds before it is applied
	// (default 500); MaxDelay the longest its first event waits (default
	// 20 ms). One transaction per event cannot keep up with a busy ledger
	// on PostgreSQL.
	MaxBatch int
	MaxDelay time.Duration
	// RetryInterval is the first wait before a failed apply is tried again
	// (default 50 ms); the wait doubles up to MaxBackoff (default 30 s).
	RetryInterval time.Duration
	MaxBackoff    time.Duration
	// CatchUpTries bounds how often CatchUp tries a batch that fails with a
	// transient error before it leaves that projection to live delivery,
	// which keeps retrying (default 3). A start-up never waits on one
	// projection's failure.
	CatchUpTries int
	// Observer, when set, hears of every projection's progress, stalls and
	// dead letters (metrics).
	Observer Observer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the runner's logs (default slog.Default()).
	Logger *slog.Logger
}

func (c *GroupConfig) setDefaults() {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 500
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 20 * time.Millisecond
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 50 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.CatchUpTries <= 0 {
		c.CatchUpTries = 3
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Observer hears what the runners do, to keep metrics. Its methods are
// called from the runners' goroutines and must not block.
type Observer interface {
	// Progressed: the projection's checkpoint moved to pos.
	Progressed(projection string, pos eventstore.Position)
	// StalledChanged: the projection stopped (stalled true) or started
	// (false) making progress.
	StalledChanged(projection string, stalled bool)
	// DeadLettered: the projection skipped an event into its dead letters.
	DeadLettered(projection string)
}

// Group runs a set of projections: one Runner per Sink (and relay), their
// shared state for operators (Status, Stalled, WaitFor), and the start-up
// catch-up that feeds them all from one read of the store.
type Group struct {
	cfg     GroupConfig
	runners []*Runner
	byName  map[string]*Runner

	mu      sync.Mutex
	applied *sync.Cond
	gen     uint64 // counts progress, so WaitFor misses no wake-up

	// life ends with Close: flushes started by a batch timer (not by a
	// delivery, whose context ends with its subscription) stop then.
	life    context.Context
	endLife context.CancelFunc

	// decoded remembers the payloads of the events admitted last, so that
	// an event delivered to each runner by its own subscriber is decoded
	// once for the group, not once per runner (see Admit).
	decoded decodeMemo
}

// decodeMemoSize is how many recently decoded events Admit remembers: the
// runners receive an event within a few milliseconds of each other.
const decodeMemoSize = 1024

// decodeMemo is a ring of recently decoded events, keyed by position.
type decodeMemo struct {
	mu   sync.Mutex
	ring [decodeMemoSize]memoEntry
}

type memoEntry struct {
	ev      eventstore.Event // as decoded: its ID, type, version and data
	payload domain.Event
	ok      bool // ev was decoded without error
}

// get returns the payload decoded earlier from the same event: same
// position, ID, type, schema version and bytes.
func (m *decodeMemo) get(ev eventstore.Event) (domain.Event, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &m.ring[uint64(ev.Position)%decodeMemoSize]
	if !e.ok || e.ev.Position != ev.Position || e.ev.ID != ev.ID || e.ev.Type != ev.Type ||
		e.ev.SchemaVersion != ev.SchemaVersion || !bytes.Equal(e.ev.Data, ev.Data) {
		return nil, false
	}
	return e.payload, true
}

func (m *decodeMemo) put(ev eventstore.Event, payload domain.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ring[uint64(ev.Position)%decodeMemoSize] = memoEntry{ev: ev, payload: payload, ok: true}
}

// NewGroup returns a Group over cfg's Sinks and Relays, each starting from
// its stored checkpoint.
func NewGroup(ctx context.Context, cfg GroupConfig) (*Group, error) {
	if cfg.Store == nil {
		return nil, errors.New("projections: a runner group needs a store")
	}
	cfg.setDefaults()
	g := &Group{cfg: cfg, byName: map[string]*Runner{}}
	g.applied = sync.NewCond(&g.mu)
	g.life, g.endLife = context.WithCancel(context.WithoutCancel(ctx))
	add := func(s Sink, relay bool) error {
		name := s.Name()
		if _, dup := g.byName[name]; dup {
			return fmt.Errorf("projections: two projections named %s", name)
		}
		cp, err := s.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("projections: checkpoint of %s: %w", name, err)
		}
		r := &Runner{g: g, sink: s, name: name, policy: s.Policy(), filter: s.Filter(), relay: relay, queued: cp}
		r.st = State{Name: name, Policy: r.policy, Checkpoint: cp, LastProgress: cfg.Now()}
		r.timer = time.AfterFunc(time.Hour, r.flushByTimer)
		r.timer.Stop()
		g.runners = append(g.runners, r)
		g.byName[name] = r
		if cfg.Observer != nil {
			cfg.Observer.Progressed(name, cp)
			cfg.Observer.StalledChanged(name, false)
		}
		return nil
	}
	for _, s := range cfg.Sinks {
		if err := add(s, false); err != nil {
			return nil, err
		}
	}
	for _, s := range cfg.Relays {
		if err := add(s, true); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Runners returns the group's runners, Sinks first, in configuration order.
func (g *Group) Runners() []*Runner { return g.runners }

// Runner returns the runner of the projection named name, or nil.
func (g *Group) Runner(name string) *Runner { return g.byName[name] }

// Admit is the one door through which stored events enter the
// projections, on the start-up catch-up and on live delivery alike. It
// decodes the payload once for every projection: the catch-up admits each
// event once for all runners, and on live delivery, where each runner's
// subscriber delivers the event to it, the runners after the first get the
// payload the first decoded from the same bytes (a memo of the last
// decodeMemoSize events); an event that does not
// decode enters with a nil Payload, and each Sink that needs the payload
// reports it as poison (the audit trail, which records envelopes, does
// not). Then GroupConfig.Admit checks the event: what it refuses is poison
// to every projection that reads it, whatever the projection would make of
// it. This is where an integrity check of stored events belongs.
func (g *Group) Admit(ctx context.Context, ev eventstore.Event) Event {
	var e Event
	if p, ok := g.decoded.get(ev); ok {
		// Another runner admitted the same event (same bytes) just before:
		// its payload is shared, as the catch-up shares it.
		e = Event{Event: ev, Payload: p}
	} else if d, err := Decode(ev); err != nil {
		e = Event{Event: ev}
	} else {
		e = d
		g.decoded.put(ev, d.Payload)
	}
	if g.cfg.Admit != nil {
		if err := g.cfg.Admit(ctx, ev); err != nil {
			e.refused = Poison(ev, err)
		}
	}
	return e
}

// Close ends the batch timers and tries once more to apply what live
// batches still hold (what it cannot apply is delivered again after a
// restart: the checkpoints have not passed it).
func (g *Group) Close() {
	g.endLife()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, r := range g.runners {
		r.timer.Stop()
		r.bmu.Lock()
		if len(r.batch) > 0 {
			// One attempt: a stalled projection must not hold up a
			// shutdown.
			n, _ := r.applyOnce(ctx, r.batch)
			r.batch = r.batch[n:]
		}
		r.bmu.Unlock()
	}
}

// Stall is the event a Stop projection is held at, and why.
type Stall struct {
	Position eventstore.Position `json:"position"`
	EventID  string              `json:"event_id"`
	Stream   string              `json:"stream"`
	Type     string              `json:"type"`
	// Reason is the error the projection met; it names the event's place
	// and the cause, never its payload.
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// State is what a runner knows of its projection, without reading the
// store.
type State struct {
	Name   string
	Policy Policy
	// Checkpoint is the position of the last event applied or
	// dead-lettered in this process (or stored when it started).
	Checkpoint eventstore.Position
	// LastProgress is when the checkpoint last moved (or the runner
	// started).
	LastProgress time.Time
	// Stalled is true while the projection makes no progress: held at a
	// poison event (Stall says which) or failing with a transient error
	// (LastError says what; it is retried).
	Stalled bool
	// Stall is the poison event a Stop projection is held at; nil
	// otherwise.
	Stall *Stall
	// LastError is the last failure, cleared by progress.
	LastError string
	// Failures counts the failed attempts since the last progress.
	Failures int
	// Applied and DeadLetters count the events applied and dead-lettered
	// in this process.
	Applied     int
	DeadLetters int
	// Relay is true for a relay to outside consumers.
	Relay bool
}

// States returns every projection's State, in the group's order.
func (g *Group) States() []State {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]State, len(g.runners))
	for i, r := range g.runners {
		out[i] = r.state()
	}
	return out
}

// Stalled returns the names of the projections that make no progress.
func (g *Group) Stalled() []string {
	var out []string
	for _, s := range g.States() {
		if s.Stalled {
			out = append(out, s.Name)
		}
	}
	return out
}

// Runner drives one Sink. Deliver and Flush may be called from several
// goroutines (a router handler and a batch timer); they take turns, so
// the Sink sees one writer.
type Runner struct {
	g      *Group
	sink   Sink
	name   string
	policy Policy
	filter eventstore.Filter
	relay  bool

	bmu    sync.Mutex // the batch, and the right to write to the Sink
	batch  []Event
	queued eventstore.Position // the last position batched or applied
	timer  *time.Timer

	st      State // guarded by g.mu
	lastErr error // guarded by g.mu: the last failure, while stalled
}

// Name returns the projection's name.
func (r *Runner) Name() string { return r.name }

// Sink returns the runner's Sink.
func (r *Runner) Sink() Sink { return r.sink }

// state returns a copy of the runner's state; g.mu held.
func (r *Runner) state() State {
	s := r.st
	s.Relay = r.relay
	if s.Stall != nil {
		st := *s.Stall
		s.Stall = &st
	}
	return s
}

// Deliver hands the runner one event of its live subscription, in order.
// The event joins the batch, which is applied when it holds MaxBatch
// events or its first event has waited MaxDelay. An event at or below
// what the runner already holds is a redelivery and changes nothing.
//
// While the batch cannot be applied, Deliver blocks, retrying with
// back-off, and the projection reports itself stalled (a poison event of
// a Stop projection, or a transient failure); it returns only when the
// batch is applied or ctx ends (then with ctx's error; the batch is kept).
// A poison event of a DeadLetter projection is recorded and skipped.
// Acknowledging an event once Deliver returns nil is safe: it is applied,
// or batched before a checkpoint that has not passed it, so after a crash
// the subscription delivers it again.
func (r *Runner) Deliver(ctx context.Context, ev eventstore.Event) error {
	e := r.g.Admit(ctx, ev)
	r.bmu.Lock()
	defer r.bmu.Unlock()
	if ev.Position <= r.queued {
		return nil
	}
	r.queued = ev.Position
	r.batch = append(r.batch, e)
	if len(r.batch) >= r.g.cfg.MaxBatch || e.refused != nil {
		r.timer.Stop()
		return r.flush(ctx)
	}
	if len(r.batch) == 1 {
		r.timer.Reset(r.g.cfg.MaxDelay)
	}
	return nil
}

// Flush applies the batch now (see Deliver). It first waits for a flush
// already under way (the batch timer's), whatever ctx says.
func (r *Runner) Flush(ctx context.Context) error {
	r.bmu.Lock()
	defer r.bmu.Unlock()
	r.timer.Stop()
	return r.flush(ctx)
}

func (r *Runner) flushByTimer() {
	r.bmu.Lock()
	defer r.bmu.Unlock()
	r.flush(r.g.life)
}

// flush applies the batch until it is applied or ctx (or the group's life)
// ends, waiting with back-off between attempts. Called with bmu held.
func (r *Runner) flush(ctx context.Context) error {
	backoff := r.g.cfg.RetryInterval
	for len(r.batch) > 0 {
		n, err := r.applyOnce(ctx, r.batch)
		r.batch = r.batch[n:]
		if err == nil {
			continue
		}
		r.failed(err)
		if err := r.g.wait(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, r.g.cfg.MaxBackoff)
	}
	r.batch = nil
	return nil
}

// wait sleeps d, or less if ctx or the group's life ends (then it returns
// the reason).
func (g *Group) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-g.life.Done():
		return g.life.Err()
	}
}

// stoppedError is the error of a Stop projection held at a poison event;
// it matches ErrStopped and its cause.
type stoppedError struct {
	name  string
	cause error
}

func (e *stoppedError) Error() string {
	return fmt.Sprintf("projection %s stopped at a poison event: %v", e.name, e.cause)
}

func (e *stoppedError) Unwrap() []error { return []error{ErrStopped, e.cause} }

// applyOnce applies events (in order, each after the runner's checkpoint)
// once: runs of admitted events go to the Sink in one Apply; an event the
// admission refused, or that the Sink names in a PoisonError, is isolated
// (applying the run one event at a time) and given to the policy. It
// returns how many events it consumed (applied or dead-lettered) and nil,
// a *stoppedError (a Stop projection met poison: the event stays first),
// or a transient error.
func (r *Runner) applyOnce(ctx context.Context, events []Event) (int, error) {
	done := 0
	for done < len(events) {
		run := events[done:]
		if i := refusedAt(run); i == 0 {
			if err := r.poisoned(ctx, run[0], run[0].refused); err != nil {
				return done, err
			}
			done++
			continue
		} else if i > 0 {
			run = run[:i]
		}
		err := r.apply(ctx, run)
		if err == nil {
			r.progressed(run[len(run)-1].Position, len(run))
			done += len(run)
			continue
		}
		if !IsPoison(err) {
			return done, err
		}
		for _, ev := range run {
			err := r.apply(ctx, []Event{ev})
			switch {
			case err == nil:
				r.progressed(ev.Position, 1)
			case !IsPoison(err):
				return done, err
			default:
				if err := r.poisoned(ctx, ev, err); err != nil {
					return done, err
				}
			}
			done++
		}
	}
	return done, nil
}

func refusedAt(events []Event) int {
	for i, ev := range events {
		if ev.refused != nil {
			return i
		}
	}
	return -1
}

// apply calls Sink.Apply; a panic in the projection is poison: it would
// fail the same way every time, and must not take the service down.
func (r *Runner) apply(ctx context.Context, events []Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			// In a batch, which event panicked is found by applying the
			// batch one event at a time, as for any poison.
			err = Poison(events[0].Event, fmt.Errorf("projection %s panicked: %v", r.name, p))
		}
	}()
	return r.sink.Apply(ctx, events...)
}

// poisoned applies the policy to a poison event: a DeadLetter projection
// records it (moving its checkpoint past it); a Stop projection stalls
// before it and returns a *stoppedError.
func (r *Runner) poisoned(ctx context.Context, ev Event, cause error) error {
	if r.policy == DeadLetter {
		if err := r.sink.DeadLetter(ctx, ev, cause); err != nil {
			return err
		}
		r.g.cfg.Logger.Warn("projection_dead_letter", "projection", r.name, "position", uint64(ev.Position), "stream", ev.Stream, "type", ev.Type, "err", cause)
		r.g.mu.Lock()
		r.st.DeadLetters++
		r.g.mu.Unlock()
		if o := r.g.cfg.Observer; o != nil {
			o.DeadLettered(r.name)
		}
		r.progressed(ev.Position, 0)
		return nil
	}
	now := r.g.cfg.Now()
	r.g.mu.Lock()
	first := r.st.Stall == nil || r.st.Stall.Position != ev.Position
	if first {
		r.st.Stall = &Stall{Position: ev.Position, EventID: ev.ID.String(), Stream: ev.Stream, Type: ev.Type, Reason: cause.Error(), Since: now}
	}
	r.g.mu.Unlock()
	if first {
		r.g.cfg.Logger.Error("projection_stalled", "projection", r.name, "position", uint64(ev.Position), "stream", ev.Stream, "type", ev.Type, "err", cause)
	}
	return &stoppedError{name: r.name, cause: cause}
}

// failed records a failed attempt: the projection is stalled until it
// progresses again.
func (r *Runner) failed(err error) {
	r.g.mu.Lock()
	was := r.st.Stalled
	r.st.Stalled, r.st.LastError, r.lastErr = true, err.Error(), err
	r.st.Failures++
	r.g.mu.Unlock()
	var stopped *stoppedError
	if !errors.As(err, &stopped) {
		r.g.cfg.Logger.Warn("projection_apply_failed", "projection", r.name, "err", err)
	}
	if o := r.g.cfg.Observer; o != nil && !was {
		o.StalledChanged(r.name, true)
	}
}

// progressed moves the runner's checkpoint to pos and clears a stall.
// applied counts the events applied (not dead-lettered).
func (r *Runner) progressed(pos eventstore.Position, applied int) {
	now := r.g.cfg.Now()
	if o := r.g.cfg.Observer; o != nil {
		// Before the broadcast: a WaitFor it wakes must see the metrics.
		o.Progressed(r.name, pos)
	}
	r.g.mu.Lock()
	was := r.st.Stalled
	r.st.Checkpoint, r.st.LastProgress = max(r.st.Checkpoint, pos), now
	r.st.Applied += applied
	r.st.Stalled, r.st.Stall, r.st.LastError, r.st.Failures, r.lastErr = false, nil, "", 0, nil
	r.g.gen++
	r.g.applied.Broadcast()
	r.g.mu.Unlock()
	if o := r.g.cfg.Observer; o != nil && was {
		o.StalledChanged(r.name, false)
	}
}

// Checkpoint returns the checkpoint the projection named name has reached
// in this process.
func (g *Group) Checkpoint(name string) (eventstore.Position, bool) {
	r := g.byName[name]
	if r == nil {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return r.st.Checkpoint, true
}

// WaitFor blocks until every projection whose filter matches an event at or
// before pos has applied up to pos, or ctx ends. It lets a writer read its
// own writes from the projections.
func (g *Group) WaitFor(ctx context.Context, pos eventstore.Position) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			g.mu.Lock()
			g.applied.Broadcast()
			g.mu.Unlock()
		case <-done:
		}
	}()
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		gen := g.gen
		behind := false
		for _, r := range g.runners {
			if r.st.Checkpoint < pos && g.pendingFor(ctx, r, pos) {
				behind = true
				break
			}
		}
		if !behind {
			return nil
		}
		if g.gen != gen {
			continue // progress while the store was read: look again
		}
		g.applied.Wait()
	}
}

// pendingFor reports whether r has an event to apply at or before pos.
// Called with g.mu held; it reads the store briefly without it.
func (g *Group) pendingFor(ctx context.Context, r *Runner, pos eventstore.Position) bool {
	cp := r.st.Checkpoint
	g.mu.Unlock()
	defer g.mu.Lock()
	for ev, err := range g.cfg.Store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Limit: 1, Filter: r.filter}) {
		return err != nil || ev.Position <= pos
	}
	return false
}

// LagCap bounds the event count of Status.LagEvents.
const LagCap = 100_000

// Status is a projection's state for operators, with its lag read from
// the store.
type Status struct {
	State
	// Head is the store's last position.
	Head eventstore.Position
	// LagEvents counts the events after the checkpoint that the projection
	// reads (capped at LagCap; LagCapped says so).
	LagEvents int
	LagCapped bool
	// Lag is the age of the oldest event the projection has not applied
	// (0 when caught up).
	Lag time.Duration
	// CheckpointAge is the time since the checkpoint last moved.
	CheckpointAge time.Duration
	// StoredDeadLetters counts the Sink's dead letters not yet replayed.
	StoredDeadLetters int
}

// Lag returns the age of the oldest event projection name has not applied
// (0 when caught up), reading one event.
func (g *Group) Lag(ctx context.Context, name string) (time.Duration, error) {
	r := g.byName[name]
	if r == nil {
		return 0, fmt.Errorf("projections: no projection named %s", name)
	}
	g.mu.Lock()
	cp := r.st.Checkpoint
	g.mu.Unlock()
	// A time, not data to apply: read it beneath any authentication of the
	// store (authenticating a global read from the checkpoint would verify
	// every signature up to the event, at each /readyz).
	store := g.cfg.Store
	if u, ok := store.(interface{ Unwrap() eventstore.Store }); ok {
		store = u.Unwrap()
	}
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Limit: 1, Filter: r.filter}) {
		if err != nil {
			return 0, err
		}
		return max(g.cfg.Now().Sub(ev.RecordedAt), 0), nil
	}
	return 0, nil
}

// Status reports every projection's state with its lag. It counts the
// unapplied events (up to LagCap), so it reads the store; use it for
// operations, not on a hot path.
func (g *Group) Status(ctx context.Context) ([]Status, error) {
	head, err := g.cfg.Store.Head(ctx)
	if err != nil {
		return nil, err
	}
	states := g.States()
	out := make([]Status, len(states))
	for i, st := range states {
		r := g.runners[i]
		s := Status{State: st, Head: head, CheckpointAge: g.cfg.Now().Sub(st.LastProgress)}
		dls, err := r.sink.DeadLetters(ctx)
		if err != nil {
			return nil, err
		}
		s.StoredDeadLetters = len(dls)
		if s.Lag, err = g.Lag(ctx, st.Name); err != nil {
			return nil, err
		}
		for _, err := range g.cfg.Store.ReadAll(ctx, eventstore.ReadAllOptions{After: st.Checkpoint, Limit: LagCap + 1, Filter: r.filter}) {
			if err != nil {
				return nil, err
			}
			s.LagEvents++
		}
		if s.LagEvents > LagCap {
			s.LagEvents, s.LagCapped = LagCap, true
		}
		out[i] = s
	}
	return out, nil
}

// Condition is what a projection's state means for serving.
type Condition string

// The conditions Health reports.
const (
	// Healthy: applying events, within the lag allowed.
	Healthy Condition = "ok"
	// Lagging: making progress, but its oldest unapplied event is older
	// than the lag allowed.
	Lagging Condition = "lagging"
	// Failing: a transient error (its store is unreachable) keeps it from
	// applying; it is retried.
	Failing Condition = "failing"
	// Stopped: a Stop projection held at a poison event (State.Stall);
	// only a fix or an operator moves it.
	Stopped Condition = "stalled"
)

// Health is a projection's state with its lag and what they mean.
type Health struct {
	State
	Lag       time.Duration
	Condition Condition
}

// Health returns every projection's Health, maxLag being the lag allowed.
// It reads one event per projection.
func (g *Group) Health(ctx context.Context, maxLag time.Duration) []Health {
	states := g.States()
	out := make([]Health, len(states))
	for i, st := range states {
		h := Health{State: st, Condition: Healthy}
		lag, err := g.Lag(ctx, st.Name)
		switch {
		case st.Stall != nil:
			h.Condition = Stopped
		case st.Stalled || err != nil:
			h.Condition = Failing
			if err != nil && h.LastError == "" {
				h.LastError = err.Error()
			}
		case lag > maxLag:
			h.Condition = Lagging
		}
		h.Lag = lag
		out[i] = h
	}
	return out
}
