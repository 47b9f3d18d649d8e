package main

// Shared mode (--share): several projectors split the work through
// PostgreSQL advisory locks (adapters/pglease). The partitions are the
// read-model projections, each with its own checkpoint row (audit,
// directory, skps, evaluations, scores, objections, timeline), and
// "control": the deadline process manager (its projection and its
// scheduler), the audit checkpoint signer and the NATS relays, which must
// run once. A partition's writes are fenced: every transaction that
// commits a read model's checkpoint checks, after locking the checkpoint
// row, that this process's lock connection still holds the partition.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kinerja-ledger/kinerja/adapters/pglease"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// ControlPartition is the partition of the work that runs once: the
// deadline process manager, the checkpoint signer and the relays.
const ControlPartition = "control"

// SharedPartitions lists every partition of shared mode with groups
// agency groups: one per projection, except that with groups > 1 each
// projection that can be split by agency (pgreadmodel.Splittable) is one
// partition per group ("timeline#1/3"), and control.
func SharedPartitions(groups int) []string {
	var out []string
	for _, name := range pgreadmodel.Names() {
		if groups > 1 && pgreadmodel.Splittable(name) {
			for g := range groups {
				out = append(out, pgreadmodel.GroupKey(name, g, groups))
			}
			continue
		}
		out = append(out, name)
	}
	return append(out, ControlPartition)
}

// groupOfPartition returns the projection and agency group of one of
// SharedPartitions(groups) (group -1: the whole projection).
func groupOfPartition(name string, groups int) (projection string, group int) {
	if groups > 1 {
		for _, p := range pgreadmodel.Names() {
			for g := range groups {
				if pgreadmodel.Splittable(p) && name == pgreadmodel.GroupKey(p, g, groups) {
					return p, g
				}
			}
		}
	}
	return name, -1
}

// maxInstanceID keeps "kinerja-lease:<group>:<instance>" within the 63
// bytes of an application_name for the default group.
const maxInstanceID = 40

func (c *Config) validateShare() error {
	if c.AgencyGroups < 0 {
		return fmt.Errorf("--agency-groups: %d, want 1 to %d", c.AgencyGroups, pgreadmodel.MaxAgencyGroups)
	}
	if !c.Share {
		if c.AgencyGroups > 1 {
			return errors.New("--agency-groups needs --share")
		}
		return nil
	}
	if c.LeasePoll <= 0 {
		return errors.New("--lease-poll must be positive")
	}
	if c.LeaseGroup == "" {
		return errors.New("--lease-group must not be empty")
	}
	if c.AgencyGroups < 1 || c.AgencyGroups > pgreadmodel.MaxAgencyGroups {
		return fmt.Errorf("--agency-groups: %d, want 1 to %d", c.AgencyGroups, pgreadmodel.MaxAgencyGroups)
	}
	if c.Partitions != "all" && c.Partitions != "" {
		for _, p := range strings.Split(c.Partitions, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(SharedPartitions(c.AgencyGroups), p) && !(c.AgencyGroups > 1 && pgreadmodel.Splittable(p)) {
				return fmt.Errorf("--partitions: unknown partition %q (known: %s)", p, strings.Join(SharedPartitions(c.AgencyGroups), ","))
			}
		}
	}
	if c.Instance == "" {
		host, _ := os.Hostname()
		host = strings.Map(func(r rune) rune {
			if r < 0x21 || r > 0x7e {
				return -1
			}
			return r
		}, host)
		pid := fmt.Sprintf("-%d", os.Getpid())
		c.Instance = host[:min(len(host), maxInstanceID-len(pid))] + pid
	}
	// The id travels in the lock connection's application_name, which
	// PostgreSQL keeps to 63 printable ASCII bytes.
	if len(c.Instance) > maxInstanceID {
		return fmt.Errorf("--instance-id: %d bytes, at most %d", len(c.Instance), maxInstanceID)
	}
	for _, r := range c.Instance {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("--instance-id %q: printable ASCII without spaces only", c.Instance)
		}
	}
	return nil
}

func (c Config) eligible() []string {
	if c.Partitions == "all" || c.Partitions == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(c.Partitions, ",") {
		p = strings.TrimSpace(p)
		if c.AgencyGroups > 1 && pgreadmodel.Splittable(p) {
			// A split projection's name stands for all its groups.
			for g := range c.AgencyGroups {
				out = append(out, pgreadmodel.GroupKey(p, g, c.AgencyGroups))
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// sharedDeps is what run has opened for shared mode.
type sharedDeps struct {
	log       *slog.Logger
	store     eventstore.Store
	authed    *eventstore.AuthenticatedStore
	key       *merkle.Signer
	guard     *wiring.Guard
	pool      *pgxpool.Pool
	db        *pgreadmodel.DB
	pol       policy.Policy
	pmSink    projections.Sink
	sc        deadlines.SchedulerConfig
	relays    []projections.Sink
	cpFence   *fenceRef // the relays' checkpoints: the control partition's lock, once joined
	relayCPs  *wiring.RelayCheckpoints
	reminders *wmbridge.OutboxRelay
	reg       *prometheus.Registry
}

// partition runs a projector over some sinks from their checkpoints (catch
// up, then live), plus extra work for control, until stopped. When its
// runner ends on its own (a failed catch-up or run, e.g. a ReadAll error
// during a database blip) it reports Ended, and the lease member releases
// it so that it is started afresh instead of staying owned and idle.
type partition struct {
	start func(ctx context.Context, wg *sync.WaitGroup, ended func()) error
	wg    sync.WaitGroup
	stop  context.CancelFunc
	ended chan struct{}
	once  sync.Once
}

func (p *partition) Start(ctx context.Context) error {
	ctx, p.stop = context.WithCancel(ctx)
	p.ended = make(chan struct{})
	return p.start(ctx, &p.wg, func() { p.once.Do(func() { close(p.ended) }) })
}

// Ended is closed when the partition's runner has ended without Stop.
func (p *partition) Ended() <-chan struct{} { return p.ended }

func (p *partition) Stop() {
	p.stop()
	p.wg.Wait()
}

// runProjector catches p's sinks up and projects live until ctx ends, then
// closes it (which applies what its batches hold, fenced). If it ends
// while ctx is live, it calls ended.
func runProjector(ctx context.Context, wg *sync.WaitGroup, p *wmbridge.Projector, log *slog.Logger, name string, running chan<- struct{}, ended func()) {
	wg.Add(2)
	go func() {
		// A fenced batch is retried with back-off (up to 30 s) while its
		// handler blocks the router's close; ending the runners' life at
		// once lets a released or cut-off partition stop promptly. What a
		// batch still holds is delivered again to the next owner, from
		// the checkpoint.
		defer wg.Done()
		<-ctx.Done()
		p.Group().Close()
	}()
	go func() {
		defer wg.Done()
		defer func() {
			if ctx.Err() == nil && ended != nil {
				ended()
			}
		}()
		defer p.Close()
		if _, err := p.CatchUp(ctx, projections.CatchUpOptions{Batch: 5000}); err != nil {
			if ctx.Err() == nil {
				log.Error("partition_catch_up_failed", "partition", name, "err", err)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		errc := make(chan error, 1)
		go func() { errc <- p.Run(ctx) }()
		select {
		case <-p.Running():
			if running != nil {
				close(running)
			}
		case err := <-errc:
			log.Error("partition_stopped", "partition", name, "err", err)
			return
		case <-ctx.Done():
		}
		if err := <-errc; err != nil && ctx.Err() == nil {
			log.Error("partition_stopped", "partition", name, "err", err)
		}
	}()
}

func runShared(ctx context.Context, cfg Config, d sharedDeps) error {
	owned := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "projector", Name: "partition_owned",
		Help: "1 while this projector owns the partition (--share), else 0."}, []string{"partition"})
	live := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "projector", Name: "live_instances",
		Help: "Projectors sharing the partitions, as seen at the last rebalance."})
	d.reg.MustRegister(owned, live)
	partitions := SharedPartitions(cfg.AgencyGroups)
	for _, p := range partitions {
		owned.WithLabelValues(p).Set(0)
	}
	// The persisted trail against the witness, once, before any partition
	// projects; from then on the guard halts the audit and score
	// projections if it did not match.
	d.guard.CheckRoot(ctx, d.db.Audit(), d.log)
	d.guard.Engage()
	var member *pglease.Member
	newPartition := func(name string) (pglease.Partition, error) {
		if name == ControlPartition {
			return &partition{start: func(ctx context.Context, wg *sync.WaitGroup, ended func()) error {
				return startControl(ctx, wg, cfg, d, ended)
			}}, nil
		}
		return &partition{start: func(ctx context.Context, wg *sync.WaitGroup, ended func()) error {
			// A fresh DB per ownership: its caches start empty, since
			// another projector may have applied events meanwhile.
			db, err := pgreadmodel.Open(ctx, d.pool, pgreadmodel.Options{History: projections.StoreHistory{Store: d.authed}, Policy: d.pol,
				Fence: member.Fence(name)})
			if err != nil {
				return err
			}
			sink := db.Sink(name)
			if projection, g := groupOfPartition(name, cfg.AgencyGroups); g >= 0 {
				// One agency group of a split projection (its checkpoint
				// row and fence are the partition's).
				if sink, err = db.GroupSink(projection, g, cfg.AgencyGroups); err != nil {
					return err
				}
			}
			if sink == nil {
				return fmt.Errorf("no projection %q", name)
			}
			p, err := wmbridge.NewProjector(ctx, wmbridge.ProjectorConfig{Store: d.authed, Admit: d.authed.Verdict,
				Sinks: d.guard.Halt([]projections.Sink{sink}), Registry: d.reg, Logger: d.log})
			if err != nil {
				return err
			}
			runProjector(ctx, wg, p, d.log, name, nil, ended)
			return nil
		}}, nil
	}
	member, err := pglease.Join(ctx, pglease.Config{URL: cfg.PostgresURL, Group: cfg.LeaseGroup, Instance: cfg.Instance,
		Partitions: partitions, Eligible: cfg.eligible(), Poll: cfg.LeasePoll, New: newPartition, Logger: d.log,
		Changed: func(names []string, n int) {
			for _, p := range partitions {
				v := 0.0
				if slices.Contains(names, p) {
					v = 1
				}
				owned.WithLabelValues(p).Set(v)
			}
			live.Set(float64(n))
		}})
	if err != nil {
		return err
	}
	if d.cpFence != nil {
		d.cpFence.set(member.Fence(ControlPartition))
	}
	if cfg.Listen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"status": "ok", "instance": cfg.Instance, "owned": member.Owned(), "live": member.Live()})
		})
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		d.log.Info("listening", "addr", ln.Addr().String())
	}
	d.log.Info("projecting", "shared", true, "instance", cfg.Instance, "partitions", len(partitions), "agency_groups", cfg.AgencyGroups)
	return member.Run(ctx)
}

// startControl runs the once-only work: the deadline process manager's
// projection and scheduler, the relays, and the checkpoint signer.
func startControl(ctx context.Context, wg *sync.WaitGroup, cfg Config, d sharedDeps, ended func()) error {
	// The control partition's lock is held: claim the relays' checkpoints
	// (fenced by that lock), so a previous owner still finishing a batch
	// can neither publish more nor move them back.
	if err := claimRelays(ctx, d.relayCPs, d.relays, d.log); err != nil {
		return err
	}
	p, err := wmbridge.NewProjector(ctx, wmbridge.ProjectorConfig{Store: d.authed, Admit: d.authed.Verdict,
		Sinks: d.guard.Halt([]projections.Sink{d.pmSink}), Relays: d.relays, Registry: d.reg, Logger: d.log})
	if err != nil {
		return err
	}
	running := make(chan struct{})
	runProjector(ctx, wg, p, d.log, ControlPartition, running, ended)
	signer := audit.NewSigner(audit.SignerConfig{Store: d.store, Trail: d.db.Audit(), Key: d.key, Every: cfg.CheckpointEvery,
		Interval: cfg.CheckpointInterval, Logger: d.log, Witness: d.guard.Witness})
	d.guard.SetSigner(signer)
	sc := d.sc
	sc.Ready = wiring.DeadlineReady(p.Group())
	scheduler, err := deadlines.NewScheduler(sc)
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-running:
		case <-ctx.Done():
			return
		}
		var inner sync.WaitGroup
		inner.Add(2)
		go func() { defer inner.Done(); signer.Run(ctx, time.Second) }()
		go func() { defer inner.Done(); scheduler.Run(ctx) }()
		if d.reminders != nil {
			inner.Add(1)
			go func() { defer inner.Done(); d.reminders.Run(ctx) }()
		}
		inner.Wait()
	}()
	return nil
}
