package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	application "github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/imports"
	"github.com/kinerja-ledger/kinerja/adapters/blobstore"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/jwtauth"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/adapters/web"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backup"
	"github.com/kinerja-ledger/kinerja/cmd/internal/buildinfo"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// app is a running kinerjad: what newApp opened, in the order to close it.
type app struct {
	cfg   Config
	log   *slog.Logger
	store eventstore.Store
	// authed is the store with authenticated reads: what the projections,
	// the history reads and the API read (marking: an event that does not
	// authenticate is poison to the projections, see Verdict).
	authed *eventstore.AuthenticatedStore
	// shared is the one History of every projection that replays an
	// aggregate (the SKP read models, the deadline process manager, the
	// consequence relay), over authed: they read and decode a stream's
	// past once between them, not once each.
	shared *projections.SharedHistory
	// history is shared as the projections' aggregate caches see it: its
	// bound keeps the caches small during the start-up catch-up
	// (--catchup-cache-skps).
	history *projections.BoundedHistory
	// memLimit follows the live heap with the soft memory limit: during
	// the catch-up, then while serving (memlimit.go).
	memLimit *catchUpMemoryLimit
	keys     *wiring.WriterKeys
	// tables are the consequence tables the ledger adopted for each year.
	tables    *consequences.TableSet
	guard     *wiring.Guard
	projector *wmbridge.Projector
	signer    *audit.Signer
	handler   http.Handler
	dash      *web.Handler
	// core is the application layer (the views' warm-up, --warm-views).
	core *application.App
	pool *pgxpool.Pool
	pm   *pm
	// snaps keeps the in-memory read models' snapshot (nil otherwise).
	snaps   *wiring.Snapshots
	closers []func() error
	// snapshots are the bbolt files the backup socket copies (embedded
	// mode; cmd/internal/backup).
	snapshots map[string]backup.Snapshotter
}

// readModels is what a read-model backend gives the service.
type readModels struct {
	sinks []projections.Sink
	// readers sets the application layer's readers.
	readers func(*application.Config)
	trail   audit.TreeReader
	stored  audit.Stored
	// mem is the in-memory read models (nil with PostgreSQL).
	mem *memreadmodel.Model
}

func newApp(ctx context.Context, cfg Config, stdout io.Writer) (a *app, err error) {
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a = &app{cfg: cfg, log: log}
	build := buildinfo.Read()
	opened := a // the error returns below set a to nil
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	applyMemoryLimit(cfg.MemoryLimitMB, os.Getenv, log)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	// The writer key signs every append; like the audit key, it is made on
	// the first start (docs/operations.md says where production keeps it).
	a.keys, err = wiring.LoadWriterKeys(cfg.Integrity.WriterKey, cfg.Integrity.WriterKeyring, true)
	if err != nil {
		return nil, err
	}
	if a.keys.Created {
		log.Info("writer_key_created", "key_id", a.keys.Signer.KeyID(), "path", a.keys.KeyPath, "keyring", a.keys.KeyringPath)
	}
	a.store, err = backend.OpenStore(ctx, backend.StoreConfig{
		Name: cfg.Store, DataDir: cfg.DataDir, PostgresURL: cfg.PostgresURL, KurrentDBURL: cfg.KurrentDBURL,
		Migrate: cfg.Migrate, Logger: log, Signer: a.keys.StoreSigner(), Keyring: a.keys.Keyring,
		AllowMetaFallback: cfg.Integrity.AcceptRollback != "", PostgresTailReaders: cfg.PostgresTailReaders,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", cfg.Store, err)
	}
	a.closers = append(a.closers, a.store.Close)
	a.snapshots = map[string]backup.Snapshotter{}
	if bs, ok := a.store.(*boltstore.Store); ok {
		a.snapshots[backup.StoreFile] = backup.SnapshotFunc(func(w io.Writer) (int64, error) {
			_, n, err := bs.Snapshot(w)
			return n, err
		})
	}
	log.Info("store_opened", "store", cfg.Store, "version", build.Version, "revision", build.Revision,
		"writer_key_id", a.keys.Signer.KeyID(), "trusted_writer_keys", a.keys.Keyring.Len())
	a.authed = eventstore.NewAuthenticatedStore(a.store, a.keys.Keyring).Marking()
	a.shared = projections.NewSharedHistory(projections.StoreHistory{Store: a.authed}, 0)
	a.history = &projections.BoundedHistory{History: a.shared}
	if a.tables, err = wiring.ConsequenceTables(ctx, a.authed, cfg.Consequences, cfg.ConsequencesFile, log); err != nil {
		return nil, err
	}
	auditKey, err := a.auditKey()
	if err != nil {
		return nil, err
	}
	verifiers := []*merkle.Verifier{auditKey.Verifier()}
	// Before anything is served: the store must hold the newest witnessed
	// checkpoint (a restored old copy, a truncated file does not).
	a.guard, err = a.openGuard(ctx, verifiers)
	if err != nil {
		return nil, err
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), build.Collector(), a.guard.Gauge(),
		mismatchedReadsMetric(a.shared))

	rm, err := a.openReadModels(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.openDeadlines(ctx); err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}

	if cfg.Projections == "inprocess" {
		if err := a.startProjections(ctx, rm, registry, auditKey); err != nil {
			return nil, err
		}
	}

	// Reads go through a cache of decoded events (stored events never
	// change); see eventlog.Cached.
	cacheEvents, cacheSKPs, cacheRenders := cfg.cacheSizes()
	// The commands of one stream take turns in this process, and retry
	// after a jittered pause when another process wrote first (app.Streams).
	streams := application.NewStreams(application.StreamsConfig{MaxWait: cfg.ContentionWait})
	registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "commands", Name: "retries_total",
			Help: "Commands decided again after another writer appended to their stream first."},
			func() float64 { return float64(streams.Stats().Retries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "commands", Name: "contention_total",
			Help: "Commands that gave up because their stream kept changing (409 contention)."},
			func() float64 { return float64(streams.Stats().GaveUp) }),
	)
	// Loads authenticate what they read (chain and writer signatures), so
	// that a forged event is answered with integrity_violation, not served.
	events := eventlog.NewCached(a.store, cacheEvents)
	events.RequireSignatures(a.keys.Keyring)
	if t, ok := rm.trail.(wiring.AnchorTrail); ok && rm.mem != nil {
		// The trail is in memory and its root was compared with the
		// witnessed checkpoint: the first load of a stream after the start
		// checks the covered events' chain against it, not a signature
		// per append.
		if anchors := a.guard.StreamAnchors(t); anchors != nil {
			events.AnchorStreams(anchors)
			a.authed.AnchorStreams(anchors) // the projections' history reads, the app's other reads
		}
	}
	// A command's first load of a stream after a start reads it whole; the
	// SKP projections replay the same past a moment later, when the
	// command's event reaches them: they take it from the shared history.
	events.ObserveWholeReads(a.shared.OfferRead)
	pol := cfg.Policy
	handler := &domain.Handler{Log: events, Now: time.Now, NewID: newID, Runner: streams, Dating: pol.Dating}
	authn, dashAuthn, dashOIDC, err := a.authenticator(ctx)
	if err != nil {
		return nil, err
	}
	idem, err := a.idempotency(ctx)
	if err != nil {
		return nil, err
	}
	blobs, err := a.blobs(ctx)
	if err != nil {
		return nil, err
	}
	// A command on an SKP starts from the state the previous command on
	// it decided on, advanced by the events since (skp.Carry), instead of
	// replaying the whole stream: the replay was ≈ 5 % of kinerjad's CPU
	// per mutation (docs/benchmarks.md, issue 15, branch mutcpu2).
	carry := skp.NewCarry(0)
	registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "commands", Name: "carried_skps",
		Help: "SKP states kept for the next command on them (skp.Carry)."}, func() float64 { return float64(carry.Len()) }))
	appCfg := application.Config{
		Units:        &orgunit.Service{Handler: handler, Policy: pol},
		Employees:    &employee.Service{Handler: handler, Policy: pol},
		SKPs:         &skp.Service{Handler: handler, Policy: pol, Reads: skp.NewReadCache(cacheSKPs), Carry: carry},
		Distribution: &distribution.Service{Handler: handler, Policy: pol, Pattern: distribution.SE3_2023},
		Store:        eventstore.NewAuthenticatedStore(a.store, a.keys.Keyring),
		Verifier:     &wiring.Verifier{Store: a.store, Keys: verifiers, WriterKeys: a.keys.Keyring, Stored: rm.stored, Witness: a.guard.Witness},
		AuditKey:     verifiers[0].String(),
		Positions:    wiring.PositionsOf(rm.sinks),
		WaitForProjections: func(ctx context.Context, pos eventstore.Position) error {
			if a.projector == nil {
				return nil // projections run elsewhere: count as they stand
			}
			return a.projector.WaitFor(ctx, pos)
		},
		Idempotency: idem,
		DocumentKey: auditKey,
		PublicURL:   cfg.PublicURL,
		Policy:      pol,
		Pattern:     distribution.SE3_2023,
		Logger:      log,
	}
	rm.readers(&appCfg)
	appCfg.Blobs, appCfg.MaxEvidenceBytes = blobs, cfg.EvidenceMaxBytes
	// bbolt's idempotency records are locked to this process: answers may
	// be stored after they are returned (adapters/app/answers.go).
	appCfg.IdempotencyExclusive = isBoltIdempotency(idem)
	appCfg.ConsequenceTables = cfg.Consequences
	appCfg.RequireAgencyClaim = cfg.RequireAgencyClaim
	if a.pm != nil {
		appCfg.Inbox = a.pm.backend
	}
	core, err := application.New(appCfg)
	if err != nil {
		return nil, err
	}
	// Closed before the idempotency store (closers run last first): the
	// answers written in the background are stored first.
	a.closers = append(a.closers, core.Close)
	a.core = core
	if err := a.startDeadlines(core, registry); err != nil {
		return nil, err
	}
	// One importer for the API and the dashboard: a job started in one is
	// seen in the other.
	importer, err := imports.New(imports.Config{App: core})
	if err != nil {
		return nil, err
	}
	apiCfg := httpapi.Config{
		App:           core,
		Imports:       importer,
		Authenticator: authn,
		Readiness:     a.readiness,
		Registry:      registry,

		RenderCacheBytes: cacheRenders,
	}
	if a.projector != nil {
		apiCfg.Projections = a.projectionStates
	}
	api, err := httpapi.New(apiCfg)
	if err != nil {
		return nil, err
	}
	sessions, err := a.sessions(ctx)
	if err != nil {
		return nil, err
	}
	dashCfg := web.Config{App: core, Sessions: sessions, IdleTimeout: cfg.SessionIdle, AbsoluteTimeout: cfg.SessionMax,
		Authenticator: dashAuthn, OIDC: dashOIDC, SecureCookies: cfg.SecureCookies, Imports: importer}
	if dashOIDC == nil {
		// Embedded sign-in: the one-time links of kinerjactl login-link,
		// written into the data directory.
		if dashCfg.LoginCodes, err = session.OpenLoginCodes(cfg.DataDir, nil); err != nil {
			return nil, err
		}
	}
	dash, err := web.New(dashCfg)
	if err != nil {
		return nil, err
	}
	a.dash = dash
	// The API owns /v1 and the operational routes; the dashboard the rest.
	mux := http.NewServeMux()
	for _, p := range []string{"/v1/", "/healthz", "/readyz", "/metrics", "/openapi.json"} {
		mux.Handle(p, api)
	}
	// The API logs its own requests; the dashboard's get the same line.
	mux.Handle("/", httpapi.AccessLog(log, "dashboard", dash))
	a.handler = mux
	return a, nil
}

// applyMemoryLimit sets the Go runtime's soft memory limit to mb MiB
// (--memory-limit-mb), unless GOMEMLIMIT is set in the environment (the
// runtime read it at start and it wins) or mb is 0. Under the limit the
// garbage collector runs more often instead of letting the heap double
// (GOGC 100): the peak of a cold start's catch-up stays near the limit
// while the live heap is below it (docs/operations.md, "Memory").
func applyMemoryLimit(mb int, getenv func(string) string, log *slog.Logger) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory_limit", "source", "GOMEMLIMIT", "value", v)
		return
	}
	if mb <= 0 {
		return
	}
	debug.SetMemoryLimit(int64(mb) << 20)
	log.Info("memory_limit", "source", "--memory-limit-mb", "mib", mb)
}

// newID returns time-ordered (v7) UUIDs: they keep the event-ID indexes of
// the stores append-mostly.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// openReadModels opens the configured read models (empty in memory: the
// start-up catch-up fills them).
func (a *app) openReadModels(ctx context.Context) (*readModels, error) {
	switch a.cfg.ReadModels {
	case readModelsMemory:
		m := memreadmodel.New(memreadmodel.Options{History: a.history, Policy: a.cfg.Policy, CacheSize: a.cfg.ProjectionCacheSKPs})
		return &readModels{
			sinks: m.Sinks(), trail: m.Audit(), mem: m,
			readers: func(c *application.Config) {
				c.Directory, c.Justifications, c.SKPList, c.Evaluations, c.Scores = m.Directory(), m.Directory(), m.SKPs(), m.Evaluations(), m.Scores()
				c.Objections, c.Timeline, c.Audit = m.Objections(), m.Timeline(), m.Audit()
			},
		}, nil
	case readModelsPostgres:
		return a.openPostgresReadModels(ctx)
	}
	return nil, fmt.Errorf("unknown read models %q", a.cfg.ReadModels)
}

// startProjections builds the projection runners over the read models and
// the relays, and catches the read models up from the store before the
// service listens: in memory that rebuilds them (catch-up batches of
// 2,000), in PostgreSQL it applies what they miss (5,000, in short
// transactions). No event can stop the start-up: a projection that cannot
// apply one is left stalled at it (the runner's policy), reported by
// /readyz, and the rest serve.
//
// The projections read authenticated events (a.authed): one that fails
// its chain or writer signature is poison to them. A memory rebuild trusts
// the witnessed checkpoint for the entries below it instead of a signature
// check each (77 µs an append), then compares the rebuilt trail's root with
// the witnessed one; if they differ it rebuilds again with every signature
// checked, and the audit and score projections halt after it (the guard).
func (a *app) startProjections(ctx context.Context, rm *readModels, registry prometheus.Registerer, key *merkle.Signer) error {
	relays, err := a.relays(ctx)
	if err != nil {
		return err
	}
	// In memory a batch costs nothing to apply: a short delay keeps reads
	// close to writes. In PostgreSQL, fuller batches are what keep up with
	// a busy ledger (see projections.GroupConfig).
	delay, batch := 20*time.Millisecond, 5000
	if a.cfg.ReadModels == readModelsMemory {
		delay, batch = 2*time.Millisecond, 2000
	}
	memory := a.cfg.ReadModels == readModelsMemory
	start := func(store *eventstore.AuthenticatedStore, reg prometheus.Registerer) (int, error) {
		a.projector, err = wmbridge.NewProjector(ctx, wmbridge.ProjectorConfig{
			Store: store, Admit: store.Verdict, Sinks: a.guard.Halt(a.sinks(rm)), Relays: relays, Registry: reg, Logger: a.log, MaxDelay: delay,
		})
		if err != nil {
			return 0, err
		}
		return a.projector.CatchUp(ctx, projections.CatchUpOptions{Batch: batch, Progress: catchUpProgress(a.log, a.history)})
	}
	begin := time.Now()
	// During the catch-up the aggregate caches stay small (unless they
	// meet a scan over more SKPs than they hold: then they grow, up to
	// --projection-cache-max-skps, rather than replay a stream per event),
	// and the soft memory limit follows the live heap instead of starving
	// the process (docs/operations.md, "Memory").
	a.history.SetBound(a.cfg.CatchUpCacheSKPs)
	a.history.SetGrowTo(a.cfg.ProjectionCacheMaxSKPs)
	limit := startCatchUpMemoryLimit(a.cfg.MemoryLimitMB, a.cfg.MemoryBudgetMB, os.Getenv, a.log)
	defer limit.stop() // on the error returns; stopping twice is a no-op
	a.memLimit = limit
	registry.MustRegister(limit.collector())
	if !memory {
		a.guard.CheckRoot(ctx, rm.trail, a.log) // the persisted trail, before it grows
	}
	if memory && rm.mem != nil && a.cfg.SnapshotEvery > 0 {
		// Resume from the snapshot, verified against the ledger: the
		// catch-up then reads only the events after it (and checks their
		// signatures once).
		a.snaps = &wiring.Snapshots{Model: rm.mem, Path: filepath.Join(a.cfg.DataDir, memreadmodel.SnapshotFile), Key: key,
			Verifiers: []*merkle.Verifier{key.Verifier()}, Store: a.store, WriterKeys: a.keys.Keyring, Witnessed: a.guard.Witnessed, Healthy: a.guard.Problem,
			Every: a.cfg.SnapshotEvery, Interval: a.cfg.SnapshotInterval, CheckAtLoad: a.cfg.SnapshotCheckAtLoad, Log: a.log}
		if bs, ok := a.store.(*boltstore.Store); ok {
			a.snaps.Release = bs.ReleaseMapped
		}
		registry.MustRegister(a.snaps.Collectors()...)
		limit.expectSnapshot(a.snaps.Path) // the heap the load builds, not in steps (memlimit.go)
		a.snaps.Load(ctx)
	}
	var n int
	if cover := a.guard.Cover(); memory && cover != nil {
		// Metrics are registered once the rebuild is kept.
		pending := &pendingRegisterer{}
		if n, err = start(a.authed.Covering(cover), pending); err != nil {
			return fmt.Errorf("catch up read models: %w", err)
		}
		if a.guard.CheckRoot(ctx, rm.trail, a.log) == nil {
			registry.MustRegister(pending.cs...)
		} else {
			a.projector.Close()
			fresh, err := a.openReadModels(ctx)
			if err != nil {
				return err
			}
			*rm = *fresh
			if a.snaps != nil {
				a.snaps.Replaced(fresh.mem)
			}
			if n, err = start(a.authed, registry); err != nil {
				return fmt.Errorf("catch up read models: %w", err)
			}
		}
	} else if n, err = start(a.authed, registry); err != nil {
		return fmt.Errorf("catch up read models: %w", err)
	}
	a.guard.CheckRoot(ctx, rm.trail, a.log)
	a.guard.Engage()
	if rm.mem != nil && !a.cfg.KeepProjectionCaches {
		// What the catch-up cached (every SKP after a rebuild from the
		// whole log) is mostly dead weight once it is done.
		rm.mem.DropCaches()
		runtime.GC()
		debug.FreeOSMemory()
	}
	// Serving: no cache grows any more, and every SKP cache over the
	// history (the in-memory or PostgreSQL read models', the deadline
	// manager's, the consequence relay's) is shrunk at once to
	// --projection-cache-skps, keeping its most recently used SKPs warm,
	// unless the operator keeps what the catch-up cached.
	a.history.SetGrowTo(0)
	if a.cfg.KeepProjectionCaches {
		a.history.SetBound(0)
	} else {
		serving := servingCacheSKPs(a.cfg.ProjectionCacheSKPs)
		a.history.SetBound(serving)
		a.history.Shrink(serving)
	}
	caches, cached := a.history.Held()
	limit.stop()
	// Serving: the collector's target rises under the limit stop settled
	// (memlimit.go, applyServingGC).
	applyServingGC(a.cfg.ServingGCPercent, os.Getenv, a.log)
	a.log.Info("read_models_caught_up", "backend", a.cfg.ReadModels, "events_read", n, "seconds", time.Since(begin).Seconds(),
		"stalled", a.projector.Stalled(), "covered_by_checkpoint", a.guard.CoveredSize(),
		"catchup_cache_skps", a.cfg.CatchUpCacheSKPs, "cache_max_skps", a.cfg.ProjectionCacheMaxSKPs, "stream_replays", a.history.Replays(),
		"skp_caches", caches, "cached_skps", cached)
	a.signer = audit.NewSigner(audit.SignerConfig{
		Store: a.store, Trail: rm.trail, Key: key, Every: a.cfg.CheckpointEvery, Interval: a.cfg.CheckpointInterval, Logger: a.log,
		Witness: a.guard.Witness,
	})
	a.guard.SetSigner(a.signer)
	if a.snaps != nil {
		a.snaps.Sign = func(ctx context.Context) error {
			_, _, err := a.signer.SignNow(ctx)
			return err
		}
	}
	return nil
}

// sinks are the projections the projector runs: the read models and the
// deadline process manager.
func (a *app) sinks(rm *readModels) []projections.Sink {
	if a.pm == nil || a.pm.sink == nil {
		return rm.sinks
	}
	return append(slices.Clip(rm.sinks), a.pm.sink)
}

// pendingRegisterer holds Prometheus collectors until they are registered
// for real (a projector that may be thrown away must not register them).
type pendingRegisterer struct{ cs []prometheus.Collector }

func (p *pendingRegisterer) Register(c prometheus.Collector) error {
	p.cs = append(p.cs, c)
	return nil
}

func (p *pendingRegisterer) MustRegister(cs ...prometheus.Collector) { p.cs = append(p.cs, cs...) }

func (p *pendingRegisterer) Unregister(c prometheus.Collector) bool {
	for i, x := range p.cs {
		if x == c {
			p.cs = append(p.cs[:i], p.cs[i+1:]...)
			return true
		}
	}
	return false
}

// openGuard opens the witnesses and compares the store with the newest
// witnessed checkpoint (see wiring.OpenGuard).
func (a *app) openGuard(ctx context.Context, auditKeys []*merkle.Verifier) (*wiring.Guard, error) {
	g, closeWitness, err := wiring.OpenGuard(ctx, a.cfg.Integrity, a.store, auditKeys, a.log)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, closeWitness)
	return g, nil
}

// relays returns the NATS JetStream relays when configured. With a
// PostgreSQL store their checkpoints live in it (wiring.RelayCheckpoints,
// the files of DATA/relays imported once) and this process claims them
// here: of several kinerjad on one database, the last started relays and
// the others' relays stall (pgstore.ErrStaleEpoch) before publishing
// anything, instead of each republishing the log from its own file.
func (a *app) relays(ctx context.Context) ([]projections.Sink, error) {
	if a.cfg.NATSURL == "" {
		return nil, nil
	}
	pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
		URL: a.cfg.NATSURL, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: wmbridge.NATSOptions(),
		JetStream: wmnats.JetStreamConfig{AutoProvision: true, TrackMsgId: true},
	}, watermill.NewSlogLogger(a.log))
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	a.closers = append(a.closers, pub.Close)
	var pool *pgxpool.Pool
	if _, ok := a.store.(*pgstore.Store); ok {
		if pool, err = a.postgresPool(ctx); err != nil {
			return nil, err
		}
	}
	cps, err := wiring.NewRelayCheckpoints(a.store, pool, a.cfg.DataDir, nil, a.log)
	if err != nil {
		return nil, err
	}
	r, err := wmbridge.NewRelay(wmbridge.RelayConfig{Name: "integration-nats", Publisher: pub, Topic: a.cfg.NATSSubject, Checkpoints: cps})
	if err != nil {
		return nil, err
	}
	relays := []projections.Sink{r}
	if a.cfg.ConsequenceSubject != "" {
		c, err := wmbridge.NewConsequenceRelay(wmbridge.ConsequenceRelayConfig{Name: "consequences-nats", Publisher: pub,
			Topic: a.cfg.ConsequenceSubject, TableSet: a.tables, History: a.history, Checkpoints: cps})
		if err != nil {
			return nil, err
		}
		relays = append(relays, c)
	}
	names := make([]string, len(relays))
	for i, r := range relays {
		names[i] = r.Name()
	}
	if err := cps.Claim(ctx, names...); err != nil {
		return nil, fmt.Errorf("claim the relays' checkpoints: %w", err)
	}
	if cps.Shared() {
		a.log.Info("relays_claimed", "relays", names, "reason", "this process relays now; another kinerjad or projector that relayed on this database stops publishing")
	}
	return relays, nil
}

func (a *app) auditKey() (*merkle.Signer, error) {
	path := a.cfg.AuditKeyFile
	if path == "" {
		path = filepath.Join(a.cfg.DataDir, wiring.AuditKeyFile)
	}
	return wiring.LoadOrCreateAuditKey(path, a.cfg.AuditKeyName)
}

// authenticator returns the API's Authenticator and the dashboard's: the
// same, unless the dashboard signs users in through the OIDC issuer
// itself, when the dashboard also accepts the issuer's ID tokens for its
// client (audience: the client ID) — and only the dashboard: the API keeps
// its own audience.
func (a *app) authenticator(ctx context.Context) (api, dash httpapi.Authenticator, oidc *web.OIDC, err error) {
	if a.cfg.OIDCIssuer != "" {
		p, err := jwtauth.Discover(ctx, jwtauth.OIDCConfig{Issuer: a.cfg.OIDCIssuer})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("oidc %s: %w", a.cfg.OIDCIssuer, err)
		}
		api, err := jwtauth.New(jwtauth.Config{Provider: p, Issuer: a.cfg.OIDCIssuer, Audience: a.cfg.OIDCAudience})
		if err != nil || a.cfg.OIDCClientID == "" {
			return api, api, nil, err
		}
		id, err := jwtauth.New(jwtauth.Config{Provider: p, Issuer: a.cfg.OIDCIssuer, Audience: a.cfg.OIDCClientID})
		if err != nil {
			return nil, nil, nil, err
		}
		oidc := a.cfg.dashboardOIDC()
		oidc.Provider, oidc.IDTokens = p, id
		// A reverse proxy that runs the code flow itself (oauth2-proxy)
		// passes an ID token for the dashboard's client, or an API token:
		// the dashboard accepts both as a bearer, the API its own only.
		return api, firstOf{api, id}, oidc, nil
	}
	k, err := authkey.LoadOrCreate(a.cfg.DataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	api, err = jwtauth.New(jwtauth.Config{Keys: jwtauth.Static{k.ID(): k.Public()}, Issuer: authkey.Issuer, Audience: authkey.Audience})
	return api, api, nil, err
}

// sessions opens the dashboard's session store: a bbolt file in the data
// directory in embedded mode, the PostgreSQL table (shared by every
// kinerjad of the deployment) otherwise.
func (a *app) sessions(ctx context.Context) (session.Store, error) {
	if a.cfg.ReadModels == readModelsPostgres {
		pool, err := a.postgresPool(ctx)
		if err != nil {
			return nil, err
		}
		if a.cfg.Migrate {
			if _, err := session.Migrate(ctx, pool, ""); err != nil {
				return nil, err
			}
		}
		return session.OpenPostgres(ctx, pool, "")
	}
	s, err := session.OpenBolt(filepath.Join(a.cfg.DataDir, "sessions.db"))
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, s.Close)
	a.snapshots[backup.SessionsFile] = s
	return s, nil
}

// blobs opens the store of evidence files: a folder in the data directory
// in embedded mode, PostgreSQL tables (shared by every kinerjad of the
// deployment) otherwise.
func (a *app) blobs(ctx context.Context) (application.Blobs, error) {
	if a.cfg.ReadModels == readModelsPostgres {
		pool, err := a.postgresPool(ctx)
		if err != nil {
			return nil, err
		}
		if a.cfg.Migrate {
			if _, err := blobstore.Migrate(ctx, pool, ""); err != nil {
				return nil, err
			}
		}
		return blobstore.OpenPostgres(ctx, pool, "")
	}
	return blobstore.OpenFolder(filepath.Join(a.cfg.DataDir, blobstore.FolderName))
}

// firstOf accepts a token that any of its Authenticators accepts, asking
// them in order; it reports the first one's refusal.
type firstOf []httpapi.Authenticator

func (f firstOf) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	var first error
	for _, a := range f {
		p, err := a.Authenticate(ctx, token)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	return domain.Principal{}, first
}

func isBoltIdempotency(s application.IdempotencyStore) bool {
	_, ok := s.(*boltstore.Idempotency)
	return ok
}

func (a *app) idempotency(ctx context.Context) (application.IdempotencyStore, error) {
	if a.cfg.ReadModels == readModelsPostgres {
		return a.postgresIdempotency()
	}
	legacy := filepath.Join(a.cfg.DataDir, backup.IdempotencyFile)
	if bs, ok := a.store.(*boltstore.Store); ok {
		// The records live in the store's file, a keyed command's claim in
		// its events' transaction; an idempotency.db of an earlier build is
		// copied in once (and renamed).
		idem := bs.Idempotency()
		n, err := idem.MigrateFrom(ctx, legacy, time.Now())
		if err != nil {
			return nil, err
		}
		if n > 0 {
			a.log.Info("idempotency_records_migrated", "records", n, "from", legacy, "renamed_to", legacy+boltstore.MigratedSuffix)
		}
		return idem, nil
	}
	idem, err := boltstore.OpenIdempotency(legacy)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, idem.Close)
	a.snapshots[backup.IdempotencyFile] = idem
	return idem, nil
}

// readiness is /readyz (docs/operations.md, "/readyz"; wiring.Readiness).
func (a *app) readiness(ctx context.Context) httpapi.Readiness {
	var g *projections.Group
	if a.projector != nil {
		g = a.projector.Group()
	}
	rd := a.guard.Readiness(wiring.Readiness(ctx, a.store, g, a.cfg.ReadyMaxLag))
	if a.snaps != nil {
		if rd.HistoryCheck = a.snaps.HistoryStatus(); rd.HistoryCheck != nil && rd.HistoryCheck.Status == wiring.HistoryFailed {
			// The read models were loaded from a snapshot of a history the
			// store no longer holds: out of rotation until the restart
			// (serve is stopping) has rebuilt them from the log.
			rd.Status = httpapi.ReadyNot
			rd.Reasons = append(rd.Reasons, "integrity_violation: the history below the read-model snapshot changed; stopping so that the restart rebuilds the read models from the log")
		}
	}
	return rd
}

// projectionStates reports the projector's status to the API.
func (a *app) projectionStates(ctx context.Context) ([]httpapi.ProjectionState, error) {
	st, err := a.projector.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.ProjectionState, len(st))
	for i, s := range st {
		out[i] = httpapi.ProjectionState{Name: s.Name, Policy: s.Policy.String(), Checkpoint: uint64(s.Checkpoint), Head: uint64(s.Head),
			LagEvents: s.LagEvents, LagCapped: s.LagCapped, LagSeconds: s.Lag.Seconds(), CheckpointAgeSeconds: s.CheckpointAge.Seconds(),
			Stalled: s.Stalled, LastError: s.LastError, DeadLetters: s.StoredDeadLetters}
	}
	return out, nil
}

// serve runs the projections and the signer, then serves HTTP until ctx
// ends, and shuts down gracefully: drain HTTP, stop the router, close the
// store.
func (a *app) serve(ctx context.Context) error {
	defer a.close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// background: the goroutines that read the store after serve's
	// caller may think it done (the history check below the snapshot):
	// joined before the shutdown snapshot and before a.close closes the
	// store, on every return path.
	// Every goroutine that uses the store, the read models or the other
	// bbolt files (the projector, the signer, the snapshots, the deadline
	// scheduler and relay, the session sweep, the backup socket) is
	// started with goBackground and joined the same way.
	var background sync.WaitGroup
	defer func() { cancel(); background.Wait() }()
	errc := make(chan error, 3)
	if a.projector != nil {
		goBackground(runCtx, &background, "projector", func(ctx context.Context) {
			if err := a.projector.Run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("projections: %w", err)
			}
		})
		select {
		case <-a.projector.Running():
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
		goBackground(runCtx, &background, "signer", func(ctx context.Context) { a.signer.Run(ctx, time.Second) })
		if a.snaps != nil {
			goBackground(runCtx, &background, "snapshots", func(ctx context.Context) { a.snaps.Run(ctx, 5*time.Second) })
		}
		a.runDeadlines(runCtx, &background)
	}
	goBackground(runCtx, &background, "sessions", a.sweepSessions)
	if a.memLimit != nil {
		goBackground(runCtx, &background, "memory-limit", func(ctx context.Context) { a.memLimit.serve(ctx, 0) })
	}
	if a.cfg.DebugAddr != "" {
		dl, err := net.Listen("tcp", a.cfg.DebugAddr)
		if err != nil {
			return err
		}
		enableContentionProfiles()
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
		dbg.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		dsrv := &http.Server{Handler: dbg, ReadHeaderTimeout: 10 * time.Second}
		go dsrv.Serve(dl)
		defer dsrv.Close()
		a.log.Info("debug_listening", "addr", dl.Addr().String())
	}
	if a.snapshots[backup.StoreFile] != nil {
		// The online backup of the bbolt files (kinerjactl backup).
		// Without it the service still serves: a backup then needs
		// kinerjad stopped (kinerjactl backup says so).
		if bl, err := backup.Listen(a.cfg.DataDir); err != nil {
			a.log.Warn("backup_socket_unavailable", "err", err)
		} else {
			goBackground(runCtx, &background, "backup", func(ctx context.Context) { backup.Serve(ctx, bl, backup.Handler(a.snapshots)) })
			a.log.Info("backup_socket_listening", "path", bl.Addr().String())
		}
	}
	if a.core != nil {
		// The expired idempotency records are removed here, never in a
		// request (app.SweepIdempotency); joined at shutdown before the
		// closers close the store.
		goBackground(runCtx, &background, "idempotency_sweep", func(ctx context.Context) { a.core.SweepIdempotency(ctx, application.SweepEvery) })
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go func() {
		// httpapi.Listener: what net/http refuses by itself (headers over
		// MaxHeaderBytes: 431) is a problem+json like every other error.
		if err := srv.Serve(httpapi.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	a.log.Info("listening", "addr", ln.Addr().String(), "store", a.cfg.Store, "read_models", a.cfg.ReadModels)
	if a.snaps != nil && a.projector != nil {
		// Ready on the snapshot and the events since: the history below it
		// is checked now, in the background (docs/projections.md,
		// "Snapshots"). If it changed, the service stops serving read
		// models built on it: the guard records it, /readyz answers 503,
		// and serve returns an error (exit 1) so that the restart
		// rebuilds them from the log.
		a.snaps.OnHistoryChanged = func(err error) {
			a.guard.Fail(fmt.Errorf("the history below the read-model snapshot changed: %w", err))
			select {
			case errc <- fmt.Errorf("read models: %w", err):
			default:
			}
		}
		goBackground(runCtx, &background, "history_check", func(ctx context.Context) { checkHistory(ctx, a.snaps) })
	}
	// The warm-up has its own context, ended before srv.Shutdown: a
	// request queued on a view's fold lock behind it must not wait for the
	// whole fold (up to ShutdownTimeout) while the shutdown drains it.
	warmCtx, warmCancel := context.WithCancel(runCtx)
	defer warmCancel()
	if a.cfg.WarmViews && a.core != nil {
		// The views' first fold (the whole log), now rather than in the
		// first request of /konsekuensi or /kalibrasi (docs/web.md).
		goBackground(warmCtx, &background, "views_warm", func(ctx context.Context) {
			t0 := time.Now()
			if err := a.core.WarmViews(ctx); err != nil {
				if ctx.Err() == nil {
					a.log.Warn("views_warm_failed", "err", err)
				}
				return
			}
			a.log.Info("views_warm", "seconds", time.Since(t0).Seconds())
		})
	}
	var runErr error
	select {
	case <-ctx.Done():
		// A failure recorded as the stop came (the history check's, a
		// projection's) is still the exit's error: a stop does not hide it.
		select {
		case runErr = <-errc:
			a.log.Error("stopping", "err", runErr)
		default:
		}
	case runErr = <-errc:
		a.log.Error("stopping", "err", runErr)
	}
	a.log.Info("shutting_down")
	shutCtx, shutCancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer shutCancel()
	warmCancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.log.Warn("http_shutdown", "err", err)
	}
	cancel()
	// The background goroutines stop at runCtx's end (a history check cut
	// short stays pending: the next start runs it again); they are waited
	// for so that none reads or writes the store, the read models or a
	// bbolt file once closed, and the history check does not set the
	// snapshot aside while the shutdown writes one.
	background.Wait()
	if a.projector != nil {
		a.projector.Close()
	}
	if a.snaps != nil {
		// The projector is stopped: the snapshot holds everything it
		// applied, and the next start resumes from there.
		// Its own budget (--snapshot-shutdown-timeout): the drain may
		// have used all of shutCtx's (docs/benchmarks.md §46).
		snapCtx, snapCancel := context.WithTimeout(context.Background(), a.cfg.SnapshotShutdownTimeout)
		defer snapCancel()
		if err := writeAtShutdown(snapCtx, a.snaps); err != nil {
			a.log.Warn("readmodel_snapshot_failed", "path", a.snaps.Path, "err", err, "budget", a.cfg.SnapshotShutdownTimeout.String())
		}
	}
	return runErr
}

// goBackground runs fn(ctx) on a goroutine that wg joins. afterBackground,
// when set (tests), is called with the goroutine's name once fn returns,
// before the goroutine counts as done.
func goBackground(ctx context.Context, wg *sync.WaitGroup, name string, fn func(context.Context)) {
	wg.Go(func() {
		fn(ctx)
		if afterBackground != nil {
			afterBackground(name)
		}
	})
}

// afterBackground is nil but in the tests, which hold a background
// goroutine past the shutdown to see that serve waits for it.
var afterBackground func(name string)

// checkHistory runs the background history check of the loaded snapshot
// (wiring.Snapshots.CheckHistory). A variable for the tests: they hold it
// past the shutdown to see that serve waits for it.
var checkHistory = func(ctx context.Context, s *wiring.Snapshots) { s.CheckHistory(ctx, 10*time.Second) }

// writeAtShutdown writes the read models' snapshot at a clean shutdown
// (wiring.Snapshots.WriteAtShutdown). A variable for the tests: they slow
// it down to see that it has a budget of its own.
var writeAtShutdown = func(ctx context.Context, s *wiring.Snapshots) error { return s.WriteAtShutdown(ctx) }

// sweepSessions removes the dashboard's expired session records every
// ten minutes until ctx ends.
func (a *app) sweepSessions(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.dash.Sessions().Sweep(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("session_sweep_failed", "err", err)
			}
		}
	}
}

// close releases what newApp opened, last first.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.log.Warn("close", "err", err)
		}
	}
	a.closers = nil
}

// mismatchedReadsMetric exports h.MismatchedReads: the whole reads the
// command path offered the projections' shared history whose events and
// payloads differed in count (projections.SharedHistory.OfferRead). They
// are dropped, so the projections read those streams themselves; anything
// but 0 is a bug in the reader that offered them, worth an alert.
func mismatchedReadsMetric(h *projections.SharedHistory) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "projections", Name: "shared_history_mismatched_reads_total",
		Help: "Whole stream reads offered to the projections' shared history and refused because their events and payloads differed in count (a bug in the reader; 0 expected)."},
		func() float64 { return float64(h.MismatchedReads()) })
}
