// Command projector runs the projections of Kinerja Ledger out of process:
// it feeds the PostgreSQL read models (and the NATS integration relay) from
// a PostgreSQL or KurrentDB event store, runs the deadline process manager
// (finality as system:deadlines, reminders to NATS) and signs the audit
// checkpoints,
// while kinerjad serves the API with --projections off. Run one projector
// per deployment, or several with --share: they then split the partitions
// (each projection, and "control" for the process manager, the signer and
// the relays) through PostgreSQL advisory locks, and take over a dead
// one's at the next --lease-poll (shared.go, adapters/pglease).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/config"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "projector:", err)
	}
	// 0 (also -h), 1 error, 2 usage (flags, variables, configuration);
	// see cmd/internal/exitcode.
	os.Exit(exitcode.Code(err))
}

// Config is the projector's configuration (flags, each with an
// environment variable of the same meaning; the flag wins).
type Config struct {
	Store, PostgresURL, KurrentDBURL, DataDir string
	// Listen serves /metrics, /healthz and /readyz ("" for none).
	Listen string
	// ReadyMaxLag is the largest projection lag /readyz accepts.
	ReadyMaxLag time.Duration
	// NATSURL, when set, relays integration events to NATSSubject.
	NATSURL, NATSSubject string
	// ConsequenceSubject is the NATS subject of the consequences of final
	// evaluations ("" for none); Consequences their tables.
	ConsequenceSubject string
	Consequences       consequences.Tables
	// ConsequencesFile is the --consequence-tables file ("" for none), adopted
	// in the ledger at start (wiring.ConsequenceTables).
	ConsequencesFile string
	// AuditKeyFile and AuditLogName: the checkpoint signing key.
	AuditKeyFile, AuditLogName string
	CheckpointEvery            uint64
	CheckpointInterval         time.Duration
	Migrate                    bool
	// Integrity is the writer key and keyring, the witnesses and the
	// rollback override (paths default into DataDir). The projector signs
	// the checkpoints, so it is the one that records them with the witness.
	Integrity wiring.IntegrityConfig
	// Deadlines configures the deadline process manager, which the
	// projector runs with the projections (kinerjad --projections off
	// reads its items for the inbox).
	Deadlines wiring.DeadlineConfig
	// Share, Instance, Partitions, LeaseGroup and LeasePoll: shared mode,
	// where several projectors split the partitions (see shared.go).
	Share      bool
	Instance   string
	Partitions string
	LeaseGroup string
	LeasePoll  time.Duration
	// AgencyGroups (--agency-groups, with --share) splits each projection
	// that can be split by agency into that many partitions (1: none).
	AgencyGroups int
	// Policy is the appraisal policy from kinerjad's flags (--zone,
	// --establish-deadline, --cadence, --objection-window-days,
	// --distribution-mode: wiring.PolicyFlags): the deadlines and the
	// read models' dates follow the agency's, not the defaults.
	Policy policy.Policy
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("projector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Store, "store", backend.Postgres, "event store: postgres or kurrentdb")
	fs.StringVar(&c.PostgresURL, "postgres-url", "", "PostgreSQL of the read models (and the store)")
	fs.StringVar(&c.KurrentDBURL, "kurrentdb-url", "", "KurrentDB URL")
	fs.StringVar(&c.DataDir, "data", "./data", "directory of the checkpoint signing key and relay checkpoints")
	fs.StringVar(&c.Listen, "listen", "", "serve /metrics, /healthz and /readyz here")
	fs.StringVar(&c.NATSURL, "nats-url", "", "relay integration events to this NATS JetStream")
	fs.StringVar(&c.NATSSubject, "nats-subject", "kinerja.events", "subject of integration events")
	fs.StringVar(&c.ConsequenceSubject, "nats-consequences-subject", "kinerja.consequences", "subject of the consequences of final evaluations; empty: none")
	var tablesFile string
	fs.StringVar(&tablesFile, "consequence-tables", "", "JSON file of the consequence tables (default PermenPANRB 1/2023, see docs/consequences.md)")
	fs.StringVar(&c.AuditKeyFile, "audit-key", "", "checkpoint signing key (default DATA/audit-signing.key)")
	fs.StringVar(&c.AuditLogName, "audit-log-name", "kinerja-ledger", "audit log name when the key is created")
	fs.Uint64Var(&c.CheckpointEvery, "checkpoint-every", 1000, "sign a checkpoint every N entries")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", 10*time.Second, "sign at least this often while entries arrive")
	fs.DurationVar(&c.ReadyMaxLag, "ready-max-lag", 5*time.Second, "largest projection lag /readyz accepts")
	fs.BoolVar(&c.Migrate, "migrate", false, "apply the read models' migrations first")
	fs.BoolVar(&c.Share, "share", false, "share the partitions (one per projection, and control) with the other projectors of --lease-group")
	fs.StringVar(&c.Instance, "instance-id", "", "this projector's name among the sharing ones (default host-pid)")
	fs.StringVar(&c.Partitions, "partitions", "all", "with --share: the partitions this projector may own, comma-separated, or all")
	fs.StringVar(&c.LeaseGroup, "lease-group", "kinerja_rm", "with --share: the name the sharing projectors agree on (one per read-model schema)")
	fs.IntVar(&c.AgencyGroups, "agency-groups", 1, "with --share: split the SKP projections and the timeline into this many agency groups, each a partition (1: one partition per projection; every projector of --lease-group must use the same; changing it needs a rebuild, docs/operations.md)")
	fs.DurationVar(&c.LeasePoll, "lease-poll", time.Second, "with --share: how often ownership is rebalanced (a dead projector's partitions are taken within about this)")
	c.Integrity.RegisterFlags(fs)
	c.Deadlines.RegisterFlags(fs)
	var pf wiring.PolicyFlags
	pf.RegisterFlags(fs)
	// --listen is KINERJA_PROJECTOR_LISTEN: an environment shared with
	// kinerjad must not make both listen on one address.
	if err := config.Parse(fs, args, getenv, config.Env("listen", "KINERJA_PROJECTOR_LISTEN"), c.Integrity.NoEnv()); err != nil {
		return Config{}, err
	}
	c.Integrity = c.Integrity.WithDefaults(c.DataDir)
	var errs []error
	if err := c.Integrity.Validate(); err != nil {
		errs = append(errs, err)
	}
	if t, err := consequences.LoadTables(tablesFile); err != nil {
		errs = append(errs, fmt.Errorf("--consequence-tables: %w", err))
	} else {
		c.Consequences, c.ConsequencesFile = t, tablesFile
	}
	if c.Store == backend.Bolt {
		errs = append(errs, errors.New("--store bolt: the embedded store runs its projections inside kinerjad"))
	}
	if c.PostgresURL == "" {
		errs = append(errs, errors.New("--postgres-url is required: the read models live in PostgreSQL"))
	}
	if err := (backend.StoreConfig{Name: c.Store, PostgresURL: c.PostgresURL, KurrentDBURL: c.KurrentDBURL, DataDir: c.DataDir}).Validate(); err != nil {
		errs = append(errs, err)
	}
	c.Policy = policy.Default()
	if err := pf.Apply(&c.Policy); err != nil {
		errs = append(errs, err)
	} else if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Deadlines.Validate(c.Policy); err != nil {
		errs = append(errs, err)
	}
	if c.ReadyMaxLag <= 0 {
		errs = append(errs, errors.New("--ready-max-lag must be positive"))
	}
	if err := c.validateShare(); err != nil {
		errs = append(errs, err)
	}
	if c.CheckpointEvery == 0 || c.CheckpointInterval <= 0 {
		errs = append(errs, errors.New("--checkpoint-every and --checkpoint-interval must be positive"))
	}
	return c, errors.Join(errs...)
}

// run is the projector: catch up the read models in batches, then project
// live through the Watermill router, and sign checkpoints, until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return exitcode.Usage(err)
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	keys, err := wiring.LoadWriterKeys(cfg.Integrity.WriterKey, cfg.Integrity.WriterKeyring, true)
	if err != nil {
		return err
	}
	if keys.Created {
		log.Info("writer_key_created", "key_id", keys.Signer.KeyID(), "path", keys.KeyPath, "keyring", keys.KeyringPath)
	}
	store, err := backend.OpenStore(ctx, backend.StoreConfig{Name: cfg.Store, PostgresURL: cfg.PostgresURL, KurrentDBURL: cfg.KurrentDBURL,
		DataDir: cfg.DataDir, Migrate: cfg.Migrate, Logger: log, Signer: keys.StoreSigner(), Keyring: keys.Keyring})
	if err != nil {
		return err
	}
	defer store.Close()
	// What the projections and the history reads see is authenticated; an
	// event that does not authenticate is poison to them (Admit).
	authed := eventstore.NewAuthenticatedStore(store, keys.Keyring).Marking()
	keyPath := cfg.AuditKeyFile
	if keyPath == "" {
		keyPath = filepath.Join(cfg.DataDir, wiring.AuditKeyFile)
	}
	key, err := wiring.LoadOrCreateAuditKey(keyPath, cfg.AuditLogName)
	if err != nil {
		return err
	}
	guard, closeWitness, err := wiring.OpenGuard(ctx, cfg.Integrity, store, []*merkle.Verifier{key.Verifier()}, log)
	if err != nil {
		return err
	}
	defer closeWitness()
	pool, err := pgxpool.New(ctx, cfg.PostgresURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if cfg.Migrate {
		if _, err := pgreadmodel.Migrate(ctx, pool, ""); err != nil {
			return err
		}
	}
	pol := cfg.Policy
	db, err := pgreadmodel.Open(ctx, pool, pgreadmodel.Options{History: projections.StoreHistory{Store: authed}, Policy: pol})
	if err != nil {
		return err
	}
	// The deadline process manager: its state beside the read models,
	// its projection among them, its finality through the domain service
	// as the system actor (deadlines.Finaliser).
	if cfg.Migrate {
		if _, err := deadlinestore.Migrate(ctx, pool, ""); err != nil {
			return err
		}
	}
	pmState, err := deadlinestore.OpenPostgres(ctx, pool, "")
	if err != nil {
		return err
	}
	if head, err := store.Head(ctx); err != nil {
		return err
	} else if reset, err := deadlines.ResetIfAhead(ctx, pmState, head); err != nil {
		return err
	} else if reset {
		log.Warn("deadlines_reset", "reason", "the store's head is before the process manager's checkpoint (restored from an older copy)", "head", uint64(head))
	}
	// The state is shared with every kinerjad and projector on the
	// database: other deadline settings than those it was built with are
	// refused (wiring.CheckDeadlineSettings).
	pmSettings := cfg.Deadlines.Settings(pol)
	if err := wiring.CheckDeadlineSettings(ctx, pmState, pmSettings, log); err != nil {
		return err
	}
	events := eventlog.New(store)
	events.RequireSignatures(keys.Keyring)
	skps := &skp.Service{Handler: &domain.Handler{Log: events, Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}, Policy: pol}
	pmSink := deadlines.NewSink(pmState, deadlines.NewProjection(projections.StoreHistory{Store: authed}, 0, pmSettings))
	sc := deadlines.SchedulerConfig{Backend: pmState, Finalise: deadlines.Finaliser(skps), Interval: cfg.Deadlines.Interval, Logger: log}
	var relays []projections.Sink
	var reminders *wmbridge.OutboxRelay
	relayFence := &fenceRef{shared: cfg.Share}
	var relayCPs *wiring.RelayCheckpoints
	if cfg.NATSURL != "" {
		pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{URL: cfg.NATSURL, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: wmbridge.NATSOptions(),
			JetStream: wmnats.JetStreamConfig{AutoProvision: true, TrackMsgId: true}}, watermill.NewSlogLogger(log))
		if err != nil {
			return err
		}
		defer pub.Close()
		reminders, err = wmbridge.NewOutboxRelay(wmbridge.OutboxRelayConfig{Name: "reminders-nats", Outbox: wiring.DeadlineOutbox{Backend: pmState},
			Publisher: pub, Topic: cfg.Deadlines.ReminderSubject, Logger: log})
		if err != nil {
			return err
		}
		sc.Published = reminders.Kick
		cps, err := relayCheckpoints(cfg, store, pool, relayFence, log)
		if err != nil {
			return err
		}
		relayCPs = cps
		r, err := wmbridge.NewRelay(wmbridge.RelayConfig{Name: "integration-nats", Publisher: pub, Topic: cfg.NATSSubject, Checkpoints: cps})
		if err != nil {
			return err
		}
		relays = append(relays, r)
		if cfg.ConsequenceSubject != "" {
			set, err := wiring.ConsequenceTables(ctx, authed, cfg.Consequences, cfg.ConsequencesFile, log)
			if err != nil {
				return err
			}
			c, err := wmbridge.NewConsequenceRelay(wmbridge.ConsequenceRelayConfig{Name: "consequences-nats", Publisher: pub,
				Topic: cfg.ConsequenceSubject, TableSet: set, History: projections.StoreHistory{Store: authed}, Checkpoints: cps})
			if err != nil {
				return err
			}
			relays = append(relays, c)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(guard.Gauge())
	if cfg.Share {
		return runShared(ctx, cfg, sharedDeps{log: log, store: store, authed: authed, key: key, guard: guard, pool: pool, db: db, pol: pol,
			pmSink: pmSink, sc: sc, relays: relays, cpFence: relayFence, relayCPs: relayCPs, reminders: reminders, reg: reg})
	}
	// The persisted trail, before the catch-up adds to it.
	guard.CheckRoot(ctx, db.Audit(), log)
	// This process relays from now on: another that ran the relays on this
	// database (a second projector, an older start) stops publishing.
	if err := claimRelays(ctx, relayCPs, relays, log); err != nil {
		return err
	}
	p, err := wmbridge.NewProjector(ctx, wmbridge.ProjectorConfig{Store: authed, Admit: authed.Verdict, Sinks: guard.Halt(append(db.Sinks(), pmSink)), Relays: relays, Registry: reg, Logger: log})
	if err != nil {
		return err
	}
	// The runners catch up in batches first, then the router delivers: the
	// same runners, so a projection stalled at an event stays stalled (and
	// the others go on) in both phases.
	start := time.Now()
	n, err := p.CatchUp(ctx, projections.CatchUpOptions{Batch: 5000})
	if err != nil {
		return fmt.Errorf("catch up: %w", err)
	}
	log.Info("read_models_caught_up", "events_read", n, "seconds", time.Since(start).Seconds(), "stalled", p.Stalled())
	// The persisted trail must still give the witnessed root; if not, the
	// audit and score projections halt from now on (guard.Halt).
	guard.CheckRoot(ctx, db.Audit(), log)
	guard.Engage()
	signer := audit.NewSigner(audit.SignerConfig{Store: store, Trail: db.Audit(), Key: key, Every: cfg.CheckpointEvery, Interval: cfg.CheckpointInterval, Logger: log,
		Witness: guard.Witness})
	guard.SetSigner(signer)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- p.Run(runCtx) }()
	select {
	case <-p.Running():
	case err := <-errc:
		return err
	}
	go signer.Run(runCtx, time.Second)
	sc.Ready = wiring.DeadlineReady(p.Group())
	scheduler, err := deadlines.NewScheduler(sc)
	if err != nil {
		return err
	}
	reg.MustRegister(wiring.DeadlineMetrics(scheduler, reminders)...)
	go scheduler.Run(runCtx)
	if reminders != nil {
		go reminders.Run(runCtx)
	}
	if cfg.Listen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		// /healthz: the process runs (a stalled projection is no reason
		// to restart it). /readyz: each projection's state, 503 while one
		// fails or lags, degraded while one is stalled or the history fails
		// its check (docs/operations.md, "/readyz").
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
			rd := guard.Readiness(wiring.Readiness(r.Context(), store, p.Group(), cfg.ReadyMaxLag))
			w.Header().Set("Content-Type", "application/json")
			if rd.Status == httpapi.ReadyNot {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			json.NewEncoder(w).Encode(rd)
		})
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		log.Info("listening", "addr", ln.Addr().String())
	}
	log.Info("projecting", "projections", len(db.Sinks()), "relays", len(relays))
	select {
	case <-ctx.Done():
		cancel()
		p.Close()
		return nil
	case err := <-errc:
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("projections stopped: %w", err)
	}
}

// relayCheckpoints is where the NATS relays keep their checkpoints: with
// a PostgreSQL store, in its schema (pgstore.Checkpoints, the files of
// DATA/relays imported once), so that a relay that moves to another
// machine (--share: the control partition changing owner) resumes where
// the last owner stopped, fenced by the control partition's lock and the
// checkpoints' claim epoch; otherwise in files of the data directory.
func relayCheckpoints(cfg Config, store eventstore.Store, pool *pgxpool.Pool, fence *fenceRef, log *slog.Logger) (*wiring.RelayCheckpoints, error) {
	return wiring.NewRelayCheckpoints(store, pool, cfg.DataDir, fence.check, log)
}

// claimRelays claims the relays' checkpoints for this process (see
// wiring.RelayCheckpoints.Claim): at start-up alone, when the control
// partition is acquired with --share.
func claimRelays(ctx context.Context, cps *wiring.RelayCheckpoints, relays []projections.Sink, log *slog.Logger) error {
	if cps == nil || !cps.Shared() {
		return nil
	}
	names := make([]string, len(relays))
	for i, r := range relays {
		names[i] = r.Name()
	}
	if err := cps.Claim(ctx, names...); err != nil {
		return fmt.Errorf("claim the relays' checkpoints: %w", err)
	}
	log.Info("relays_claimed", "relays", names, "reason", "this process relays now; another that relayed on this database stops publishing")
	return nil
}

// fenceRef is the fence of the relays' checkpoints. A projector alone has
// none; a shared one uses the control partition's lock, known once it has
// joined the lease group (set), and refuses to save before.
type fenceRef struct {
	shared bool
	f      atomic.Pointer[func(ctx context.Context, tx pgx.Tx) error]
}

func (r *fenceRef) set(f func(ctx context.Context, tx pgx.Tx) error) { r.f.Store(&f) }

func (r *fenceRef) check(ctx context.Context, tx pgx.Tx) error {
	if f := r.f.Load(); f != nil {
		return (*f)(ctx, tx)
	}
	if r.shared {
		return errors.New("projector: the relays' checkpoint is fenced by the control partition, and this projector has not joined its lease group")
	}
	return nil
}
