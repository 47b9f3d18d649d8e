package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// lateAfter is how far behind its scheduled time an append may start
// before bench lag counts its tick as late: the writer pool (or the store
// behind it) did not keep up with the pace.
const lateAfter = 10 * time.Millisecond

// lagConfig is what `bench lag` was asked to do.
type lagConfig struct {
	store, data, postgresURL string
	rate                     float64
	duration, warmup, drain  time.Duration
	employees, writers       int
	seed                     int64
	keep                     bool
}

// runBenchLag measures end-to-end projection lag: from an append being
// acknowledged to the event being visible in the read models, with the
// projections running in process as kinerjad runs them (bolt: the
// in-memory read models; postgres: pgreadmodel in a fresh schema; both fed
// by wmbridge's Projector after projections.CatchUpAll, beside the audit
// signer). It seeds a small agency into a fresh store, then appends
// skp.FeedbackGiven events from each SKP's appraiser to established SKPs
// at a fixed rate, from a pool of writers paced by a ticker, and prints one
// JSON line.
//
// Visibility is recorded, not polled: every projections.Sink is wrapped in
// a decorator that notes when Apply returned for each position. An event's
// lag to "all" is the latest of those times over the sinks whose filter
// reads it, minus the moment its append returned; "skps" is the SKP
// summaries alone (what lists and dashboards read).
func runBenchLag(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench lag", stderr)
	var c lagConfig
	fs.StringVar(&c.store, "store", backend.Bolt, "event store: bolt (in-memory read models) or postgres (read models in PostgreSQL)")
	fs.StringVar(&c.postgresURL, "postgres-url", "", "PostgreSQL URL; the store and read models go into fresh schemas there, dropped afterwards")
	fs.StringVar(&c.data, "data", "", "directory for the bolt store and keys; must not hold a store yet (default: a temporary directory, removed afterwards)")
	fs.Float64Var(&c.rate, "rate", 500, "appends per second to sustain (one event each)")
	fs.DurationVar(&c.duration, "duration", 15*time.Second, "how long to measure at the rate")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "appends at the rate before measuring (not counted)")
	fs.DurationVar(&c.drain, "drain", 30*time.Second, "how long to wait, after the last append, for the projections to apply it")
	fs.IntVar(&c.employees, "employees", 100, "employees of the seeded agency (its established SKPs are the streams written)")
	fs.IntVar(&c.writers, "writers", 32, "concurrent writers (each owns a share of the SKPs and appends with an exact revision)")
	fs.Int64Var(&c.seed, "seed", 1, "random seed of the agency and of the writers' choices")
	fs.BoolVar(&c.keep, "keep", false, "keep the store and read models (the temporary directory or the PostgreSQL schemas)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	lb, err := openLagBackend(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer lb.close(stderr)

	fmt.Fprintf(stderr, "bench lag: seeding %d employees into %s...\n", c.employees, c.store)
	h := &domain.Handler{Log: eventlog.New(lb.store), Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	stats, err := seed.Run(ctx, seed.Config{Employees: c.employees, Seed: c.seed, Year: time.Now().Year() - 1}, seed.NewServices(h, policy.Default()))
	if err != nil {
		return fmt.Errorf("bench lag: seed: %w", err)
	}
	start := time.Now()
	n, err := projections.CatchUpAll(ctx, lb.authed, lb.sinks, projections.CatchUpOptions{Batch: 2000})
	if err != nil {
		return fmt.Errorf("bench lag: catch up read models: %w", err)
	}
	fmt.Fprintf(stderr, "bench lag: seeded %d events in %.1fs; read models caught up on %d events in %.1fs\n",
		stats.Events, stats.Elapsed.Seconds(), n, time.Since(start).Seconds())
	targets, err := lagTargets(ctx, lb.skps)
	if err != nil {
		return err
	}
	res, err := measureLag(ctx, c, lb, targets, stderr)
	if err != nil {
		return err
	}
	res.Employees = stats.Employees
	return json.NewEncoder(stdout).Encode(res)
}

func (c lagConfig) validate() error {
	var errs []error
	switch c.store {
	case backend.Bolt:
	case backend.Postgres:
		if c.postgresURL == "" {
			errs = append(errs, errors.New("bench lag: --postgres-url is required with --store postgres"))
		}
	default:
		errs = append(errs, fmt.Errorf("bench lag: --store %q: want bolt or postgres", c.store))
	}
	if !(c.rate > 0) || c.rate > 1e6 {
		errs = append(errs, fmt.Errorf("bench lag: --rate %g: want 0 < rate ≤ 1,000,000", c.rate))
	}
	if c.duration <= 0 || c.warmup < 0 || c.drain <= 0 {
		errs = append(errs, errors.New("bench lag: --duration and --drain must be positive, --warmup not negative"))
	}
	if c.employees < seed.MinEmployees {
		errs = append(errs, fmt.Errorf("bench lag: --employees %d: want at least %d", c.employees, seed.MinEmployees))
	}
	if c.writers <= 0 {
		errs = append(errs, errors.New("bench lag: --writers must be positive"))
	}
	return exitcode.Usage(errors.Join(errs...))
}

// lagBackend is a fresh store with its read models, as kinerjad wires them:
// appends signed with a writer key, the projections fed authenticated
// reads (an event that does not authenticate is poison to them).
type lagBackend struct {
	store   eventstore.Store
	authed  *eventstore.AuthenticatedStore
	sinks   []projections.Sink
	skps    skps.Reader
	trail   audit.TreeReader
	readers string // "memory" or "postgres"
	closers []func() error
}

func (b *lagBackend) close(stderr io.Writer) {
	for i := len(b.closers) - 1; i >= 0; i-- {
		if err := b.closers[i](); err != nil {
			fmt.Fprintln(stderr, "bench lag: clean up:", err)
		}
	}
}

// openLagBackend opens a fresh store and empty read models: bolt in a new
// directory with the in-memory read models, or PostgreSQL with the store
// and the read models migrated into two new schemas.
func openLagBackend(ctx context.Context, c lagConfig, stderr io.Writer) (_ *lagBackend, err error) {
	lb := &lagBackend{}
	defer func() {
		if err != nil {
			lb.close(stderr)
		}
	}()
	_, wpriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	writer := eventstore.NewEd25519Signer(wpriv)
	keys := eventstore.NewKeyring(writer.Public())
	defer func() {
		if lb.store != nil {
			lb.authed = eventstore.NewAuthenticatedStore(lb.store, keys).Marking()
		}
	}()
	history := func(s eventstore.Store) projections.History {
		return projections.StoreHistory{Store: eventstore.NewAuthenticatedStore(s, keys)}
	}
	if c.store == backend.Bolt {
		dir := c.data
		if dir == "" {
			if dir, err = os.MkdirTemp("", "kinerja-bench-lag-"); err != nil {
				return nil, err
			}
			if !c.keep {
				lb.closers = append(lb.closers, func() error { return os.RemoveAll(dir) })
			}
		} else if _, err := os.Stat(backend.BoltPath(dir)); err == nil {
			return nil, fmt.Errorf("bench lag: %s already holds a store: give a new directory", dir)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if lb.store, err = backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Bolt, DataDir: dir, Signer: writer, Keyring: keys}); err != nil {
			return nil, err
		}
		lb.closers = append(lb.closers, lb.store.Close)
		m := memreadmodel.New(memreadmodel.Options{History: history(lb.store), Policy: policy.Default()})
		lb.sinks, lb.skps, lb.trail, lb.readers = m.Sinks(), m.SKPs(), m.Audit(), "memory"
		return lb, nil
	}
	suffix := fmt.Sprintf("%d_%d", time.Now().Unix(), os.Getpid())
	storeSchema, rmSchema := "kinerja_lag_"+suffix, "kinerja_lag_rm_"+suffix
	pool, err := pgxpool.New(ctx, c.postgresURL)
	if err != nil {
		return nil, fmt.Errorf("bench lag: postgres: %w", err)
	}
	lb.closers = append(lb.closers, func() error { pool.Close(); return nil })
	if !c.keep {
		lb.closers = append(lb.closers, func() error {
			drop := context.WithoutCancel(ctx)
			_, err := pool.Exec(drop, "DROP SCHEMA IF EXISTS "+pgx.Identifier{storeSchema}.Sanitize()+", "+pgx.Identifier{rmSchema}.Sanitize()+" CASCADE")
			return err
		})
	} else {
		fmt.Fprintf(stderr, "bench lag: store in schema %s, read models in %s\n", storeSchema, rmSchema)
	}
	lb.store, err = backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Postgres, PostgresURL: c.postgresURL, PostgresSchema: storeSchema,
		Signer: writer, Keyring: keys, Migrate: true, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return nil, err
	}
	lb.closers = append(lb.closers, lb.store.Close)
	if _, err := pgreadmodel.Migrate(ctx, pool, rmSchema); err != nil {
		return nil, err
	}
	db, err := pgreadmodel.Open(ctx, pool, pgreadmodel.Options{Schema: rmSchema, History: history(lb.store), Policy: policy.Default()})
	if err != nil {
		return nil, err
	}
	lb.sinks, lb.skps, lb.trail, lb.readers = db.Sinks(), db.SKPs(), db.Audit(), "postgres"
	return lb, nil
}

// lagTarget is an SKP stream the writers append to, and who may give its
// appraiser's feedback.
type lagTarget struct {
	stream    string
	appraiser string
	rev       uint64 // the stream's last revision, kept by its writer
}

// lagTargets lists the established SKPs with an appraiser, from the read
// model.
func lagTargets(ctx context.Context, r skps.Reader) ([]*lagTarget, error) {
	var out []*lagTarget
	q := skps.Query{Status: string(skp.StatusEstablished), Limit: 500}
	for {
		items, next, err := r.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, s := range items {
			if s.AppraiserNIP != "" {
				out = append(out, &lagTarget{stream: domain.SKPStream(s.ID), appraiser: s.AppraiserNIP, rev: s.Revision})
			}
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if len(out) == 0 {
		return nil, errors.New("bench lag: the seeded agency has no established SKP: seed more employees")
	}
	return out, nil
}

// lagJob is one tick of the pacer: an append due at a moment.
type lagJob struct {
	due      time.Time
	measured bool // due after the warm-up
}

// lagAppend is what a writer saw of one append.
type lagAppend struct {
	pos      eventstore.Position
	stream   string
	ack      time.Time
	took     time.Duration
	measured bool
}

// writerTally is one writer's record, merged when the writers end.
type writerTally struct {
	appends []lagAppend
	late    int
	errs    int
	lastErr error
}

// measureLag runs the projector and the signer over lb, appends at the
// configured pace, waits for the projections to apply the last append, and
// computes the lags.
func measureLag(ctx context.Context, c lagConfig, lb *lagBackend, targets []*lagTarget, stderr io.Writer) (*lagResult, error) {
	rec := newLagRecorder(lb.sinks)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The batch delay kinerjad uses for these read models.
	delay := 20 * time.Millisecond
	if lb.readers == "memory" {
		delay = 2 * time.Millisecond
	}
	projector, err := wmbridge.NewProjector(ctx, wmbridge.ProjectorConfig{Store: lb.authed, Admit: lb.authed.Verdict, Sinks: rec.sinks, Registry: prometheus.NewRegistry(), Logger: log, MaxDelay: delay})
	if err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := merkle.NewSigner("kinerja-bench-lag", priv)
	if err != nil {
		return nil, err
	}
	signer := audit.NewSigner(audit.SignerConfig{Store: lb.store, Trail: lb.trail, Key: key, Logger: log})

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	projDone, signerDone := make(chan error, 1), make(chan struct{})
	go func() { projDone <- projector.Run(runCtx) }()
	defer func() {
		stop()
		projector.Close()
		<-projDone
		<-signerDone
	}()
	select {
	case <-projector.Running():
	case err := <-projDone:
		close(signerDone)
		projDone <- err
		return nil, fmt.Errorf("bench lag: projector: %w", err)
	case <-ctx.Done():
		close(signerDone)
		return nil, ctx.Err()
	}
	go func() {
		defer close(signerDone)
		signer.Run(runCtx, time.Second)
	}()

	writers := min(c.writers, len(targets))
	if writers < c.writers {
		fmt.Fprintf(stderr, "bench lag: %d established SKPs: %d writers instead of %d\n", len(targets), writers, c.writers)
	}
	fmt.Fprintf(stderr, "bench lag: %s, %g appends/s for %s (+%s warm-up), %d writers over %d SKPs...\n",
		c.store, c.rate, c.duration, c.warmup, writers, len(targets))
	jobs := make(chan lagJob, writers)
	tallies := make([]writerTally, writers)
	var wg sync.WaitGroup
	for w := range writers {
		var own []*lagTarget
		for i := w; i < len(targets); i += writers {
			own = append(own, targets[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lagWriter(runCtx, lb.store, own, mrand.New(mrand.NewPCG(uint64(c.seed), uint64(w))), jobs, &tallies[w])
		}()
	}
	began := time.Now()
	dropped := pace(runCtx, c.rate, c.warmup, c.duration, began, jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var all []lagAppend
	var late, errs int
	var lastErr error
	for _, t := range tallies {
		all = append(all, t.appends...)
		late, errs = late+t.late, errs+t.errs
		if t.lastErr != nil {
			lastErr = t.lastErr
		}
	}
	if lastErr != nil {
		fmt.Fprintln(stderr, "bench lag: append failed:", lastErr)
	}
	var last eventstore.Position
	for _, a := range all {
		last = max(last, a.pos)
	}
	drainCtx, cancel := context.WithTimeout(runCtx, c.drain)
	defer cancel()
	if err := rec.waitFor(drainCtx, last); err != nil {
		fmt.Fprintf(stderr, "bench lag: projections did not apply position %d within %s: the events they miss count as unseen\n", last, c.drain)
	}
	res := rec.result(all)
	res.Bench, res.Store, res.ReadModels = "lag", c.store, lb.readers
	res.SKPs, res.Writers = len(targets), writers
	res.RateTarget, res.DurationS, res.WarmupS = c.rate, c.duration.Seconds(), c.warmup.Seconds()
	res.RateAchieved = round3(float64(res.Events) / c.duration.Seconds())
	res.DroppedTicks, res.LateTicks, res.AppendErrors = dropped, late, errs
	return res, nil
}

// pace issues the jobs due at rate over warmup+duration from began, on a
// ticker of at most a millisecond (several jobs per tick above 1,000/s),
// and closes jobs. A job that finds every writer busy and the queue full
// is dropped: pace returns how many were.
func pace(ctx context.Context, rate float64, warmup, duration time.Duration, began time.Time, jobs chan<- lagJob) (dropped int) {
	defer close(jobs)
	total := int(math.Round(rate * (warmup + duration).Seconds()))
	measureFrom := int(math.Round(rate * warmup.Seconds()))
	tick := max(time.Duration(float64(time.Second)/rate), time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	issued := 0
	dueAt := func(i int) time.Time { return began.Add(time.Duration(float64(i) / rate * float64(time.Second))) }
	for issued < total {
		select {
		case <-ctx.Done():
			return dropped
		case <-t.C:
		}
		now := time.Now()
		for ; issued < total && !dueAt(issued).After(now); issued++ {
			select {
			case jobs <- lagJob{due: dueAt(issued), measured: issued >= measureFrom}:
			default:
				dropped++
			}
		}
	}
	return dropped
}

// feedbackTexts are what appraisers write; varied so payloads differ.
var feedbackTexts = []string{
	"Capaian triwulan ini sesuai rencana; pertahankan ketepatan waktu pelaporan.",
	"Koordinasi dengan unit lain sudah baik, dokumentasi kegiatan perlu dilengkapi.",
	"Mohon percepat penyelesaian laporan realisasi anggaran bulan ini.",
	"Inisiatif perbaikan layanan patut dihargai; lanjutkan dengan evaluasi berkala.",
	"Kualitas analisis meningkat, perhatikan kelengkapan data pendukung.",
}

// lagWriter appends one appraiser's feedback per job to a random SKP among
// its own, with the exact revision it keeps for each.
func lagWriter(ctx context.Context, store eventstore.Store, own []*lagTarget, rng *mrand.Rand, jobs <-chan lagJob, t *writerTally) {
	values := berakhlak.Values()
	for j := range jobs {
		started := time.Now()
		if started.Sub(j.due) > lateAfter {
			t.late++
		}
		tg := own[rng.IntN(len(own))]
		about := skp.FeedbackAbout{}
		if rng.IntN(2) == 0 {
			about.Behaviour = values[rng.IntN(len(values))]
		}
		now := time.Now()
		ev, err := eventlog.Encode(domain.NewEvent{
			ID: uuid.Must(uuid.NewV7()),
			Meta: domain.Meta{Actor: domain.Actor{ID: tg.appraiser, Role: domain.RoleAppraiser},
				CorrelationID: uuid.NewString(), OccurredAt: now},
			Event: skp.FeedbackGiven{FeedbackID: uuid.NewString(), About: about, Text: feedbackTexts[rng.IntN(len(feedbackTexts))],
				GiverNIP: tg.appraiser, Relationship: skp.FromAppraiser},
		})
		if err != nil {
			t.errs, t.lastErr = t.errs+1, err
			continue
		}
		res, err := store.Append(ctx, tg.stream, eventstore.Exact(tg.rev), ev)
		ack := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			t.errs, t.lastErr = t.errs+1, err
			continue
		}
		tg.rev = res.Revision
		t.appends = append(t.appends, lagAppend{pos: res.Position, stream: tg.stream, ack: ack, took: ack.Sub(started), measured: j.measured})
	}
}

// lagRecorder wraps Sinks to note when each position became visible.
type lagRecorder struct {
	sinks    []projections.Sink // the wrapped sinks, for the projector
	recorded []*recordingSink
	notify   chan struct{} // a token after any sink progressed
}

func newLagRecorder(sinks []projections.Sink) *lagRecorder {
	r := &lagRecorder{notify: make(chan struct{}, 1)}
	for _, s := range sinks {
		rs := &recordingSink{Sink: s, notify: r.notify, seen: map[eventstore.Position]time.Time{}}
		r.recorded = append(r.recorded, rs)
		r.sinks = append(r.sinks, rs)
	}
	return r
}

// recordingSink is a projections.Sink that notes, per position, when Apply
// returned: the moment the event is visible to the read model's readers
// (both backends publish a batch with its checkpoint, atomically).
type recordingSink struct {
	projections.Sink
	notify chan<- struct{}

	mu   sync.Mutex
	seen map[eventstore.Position]time.Time
	last eventstore.Position // applied or dead-lettered
	dead int
}

// Apply implements projections.Sink.
func (s *recordingSink) Apply(ctx context.Context, events ...projections.Event) error {
	if err := s.Sink.Apply(ctx, events...); err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	for _, ev := range events {
		s.seen[ev.Position] = now
		s.last = max(s.last, ev.Position)
	}
	s.mu.Unlock()
	s.progressed()
	return nil
}

// DeadLetter implements projections.Sink: the event moves the checkpoint
// but never becomes visible.
func (s *recordingSink) DeadLetter(ctx context.Context, ev projections.Event, cause error) error {
	if err := s.Sink.DeadLetter(ctx, ev, cause); err != nil {
		return err
	}
	s.mu.Lock()
	s.last, s.dead = max(s.last, ev.Position), s.dead+1
	s.mu.Unlock()
	s.progressed()
	return nil
}

func (s *recordingSink) progressed() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// reached reports whether the sink is at or past pos, or does not read
// SKP streams at all (the only streams the writers write).
func (s *recordingSink) reached(pos eventstore.Position) bool {
	if !s.Filter().Match(domain.SKPStreamPrefix+"x", (skp.FeedbackGiven{}).EventType()) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last >= pos
}

// waitFor blocks until every sink reading SKP streams has applied (or
// dead-lettered) up to pos, or ctx ends.
func (r *lagRecorder) waitFor(ctx context.Context, pos eventstore.Position) error {
	for {
		done := true
		for _, s := range r.recorded {
			if !s.reached(pos) {
				done = false
				break
			}
		}
		if done {
			return nil
		}
		select {
		case <-r.notify:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// latency summarises durations, in milliseconds.
type latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P95 float64 `json:"p95,omitempty"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// summarise returns the nearest-rank percentiles of ds (sorted in place);
// withP95 adds the 95th.
func summarise(ds []time.Duration, withP95 bool) latency {
	if len(ds) == 0 {
		return latency{}
	}
	slices.Sort(ds)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ms(ds[min(max(i, 0), len(ds)-1)])
	}
	l := latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(ds[len(ds)-1])}
	if withP95 {
		l.P95 = at(0.95)
	}
	return l
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// lagResult is the JSON line of `bench lag`.
type lagResult struct {
	Bench      string  `json:"bench"`
	Store      string  `json:"store"`
	ReadModels string  `json:"read_models"`
	Employees  int     `json:"employees"`
	SKPs       int     `json:"skps"`
	Writers    int     `json:"writers"`
	RateTarget float64 `json:"rate_target"`
	// RateAchieved is the measured events appended per second of
	// --duration.
	RateAchieved float64 `json:"rate_achieved"`
	DurationS    float64 `json:"duration_s"`
	WarmupS      float64 `json:"warmup_s"`
	// Events are the appends measured (after the warm-up).
	Events int `json:"events"`
	// DroppedTicks found every writer busy and the queue full; LateTicks
	// started more than lateAfter after they were due.
	DroppedTicks int `json:"dropped_ticks"`
	LateTicks    int `json:"late_ticks"`
	AppendErrors int `json:"append_errors"`
	// Unseen events were not visible in every read model reading them
	// when the drain ended; DeadLetters were skipped by a projection.
	Unseen      int `json:"unseen"`
	DeadLetters int `json:"dead_letters"`
	// Append is the store's append latency as the writers saw it.
	Append latency `json:"append_ms"`
	// LagAll is the lag to visible in every read model that reads the
	// event; LagSKPs to the SKP summaries alone.
	LagAll  latency `json:"lag_all_ms"`
	LagSKPs latency `json:"lag_skps_ms"`
	// P99ByReadModel is each read model's p99 lag.
	P99ByReadModel map[string]float64 `json:"p99_ms_by_read_model"`
}

// result computes the lags of the measured appends.
func (r *lagRecorder) result(appends []lagAppend) *lagResult {
	res := &lagResult{P99ByReadModel: map[string]float64{}}
	seen := make([]map[eventstore.Position]time.Time, len(r.recorded))
	for i, s := range r.recorded {
		s.mu.Lock()
		seen[i] = maps.Clone(s.seen)
		res.DeadLetters += s.dead
		s.mu.Unlock()
	}
	var all, sk, took []time.Duration
	per := make([][]time.Duration, len(r.recorded))
	feedback := (skp.FeedbackGiven{}).EventType()
	for _, a := range appends {
		if !a.measured {
			continue
		}
		res.Events++
		took = append(took, a.took)
		var worst time.Duration
		visible := true
		for i, s := range r.recorded {
			if !s.Filter().Match(a.stream, feedback) {
				continue
			}
			at, ok := seen[i][a.pos]
			if !ok {
				visible = false
				continue
			}
			lag := max(at.Sub(a.ack), 0) // applied before the writer saw its ack: visible at once
			per[i] = append(per[i], lag)
			worst = max(worst, lag)
			if s.Name() == skps.Name {
				sk = append(sk, lag)
			}
		}
		if !visible {
			res.Unseen++
			continue
		}
		all = append(all, worst)
	}
	res.Append, res.LagAll, res.LagSKPs = summarise(took, false), summarise(all, false), summarise(sk, false)
	for i, s := range r.recorded {
		if len(per[i]) > 0 {
			res.P99ByReadModel[s.Name()] = summarise(per[i], false).P99
		}
	}
	return res
}
