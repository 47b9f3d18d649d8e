package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/prometheus/client_golang/prometheus"

	application "github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// The deadline process manager (projections/deadlines): its state in a
// bbolt file of the data directory with in-memory read models (embedded
// mode), in PostgreSQL with PostgreSQL read models; its projection joins
// the other projections (checkpoint, poison policy Stop, /readyz); its
// scheduler fires from serve; its reminders go to NATS through the
// outbox when --nats-url is set. With --projections off the projector
// runs it, and kinerjad only reads its items (the inbox).

// pm is the process manager's parts; sink and scheduler are nil when
// the projections run elsewhere.
type pm struct {
	backend   deadlines.Backend
	sink      *deadlines.Sink
	scheduler *deadlines.Scheduler
	outbox    *wmbridge.OutboxRelay
}

// openDeadlines opens the process manager's state, and its projection
// when the projections run in this process.
func (a *app) openDeadlines(ctx context.Context) error {
	var b deadlines.Backend
	switch {
	case a.cfg.ReadModels == readModelsPostgres:
		pool, err := a.postgresPool(ctx)
		if err != nil {
			return err
		}
		if a.cfg.Migrate {
			if _, err := deadlinestore.Migrate(ctx, pool, ""); err != nil {
				return err
			}
		}
		if b, err = deadlinestore.OpenPostgres(ctx, pool, ""); err != nil {
			return err
		}
	case a.cfg.Projections == "inprocess":
		bb, err := deadlinestore.OpenBoltLog(filepath.Join(a.cfg.DataDir, "deadlines.db"), a.log)
		if err != nil {
			return err
		}
		a.closers = append(a.closers, bb.Close)
		b = bb
	default:
		return nil
	}
	a.pm = &pm{backend: b}
	if a.cfg.Projections == "inprocess" {
		head, err := a.store.Head(ctx)
		if err != nil {
			return err
		}
		if reset, err := deadlines.ResetIfAhead(ctx, b, head); err != nil {
			return err
		} else if reset {
			a.log.Warn("deadlines_reset", "reason", "the store's head is before the process manager's checkpoint (restored from an older copy)", "head", uint64(head))
		}
		// Items built with other settings (a `kinerjactl snapshot` or a
		// rebuild run with other flags) would keep their deadlines until
		// their SKP's next event: reset (deadlines_reset reason=settings).
		set := a.cfg.Deadlines.Settings(a.cfg.Policy)
		if err := wiring.CheckDeadlineSettings(ctx, b, set, a.log); err != nil {
			return err
		}
		a.pm.sink = deadlines.NewSink(b, deadlines.NewProjection(a.history, a.cfg.ProjectionCacheSKPs, set))
	}
	return nil
}

// startDeadlines makes the scheduler (finality through the application
// layer, as the system actor) and, with --nats-url, the reminders' relay.
func (a *app) startDeadlines(core *application.App, reg prometheus.Registerer) error {
	if a.pm == nil || a.pm.sink == nil || a.projector == nil {
		return nil
	}
	sc := deadlines.SchedulerConfig{
		Backend: a.pm.backend, Finalise: core.FinaliseAsSystem, Interval: a.cfg.Deadlines.Interval, Logger: a.log,
		Ready: wiring.DeadlineReady(a.projector.Group()),
	}
	if a.cfg.NATSURL != "" {
		pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
			URL: a.cfg.NATSURL, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: wmbridge.NATSOptions(),
			JetStream: wmnats.JetStreamConfig{AutoProvision: true, TrackMsgId: true},
		}, watermill.NewSlogLogger(a.log))
		if err != nil {
			return fmt.Errorf("nats: %w", err)
		}
		a.closers = append(a.closers, pub.Close)
		a.pm.outbox, err = wmbridge.NewOutboxRelay(wmbridge.OutboxRelayConfig{Name: "reminders-nats", Outbox: wiring.DeadlineOutbox{Backend: a.pm.backend},
			Publisher: pub, Topic: a.cfg.Deadlines.ReminderSubject, Logger: a.log})
		if err != nil {
			return err
		}
		sc.Published = a.pm.outbox.Kick
	}
	s, err := deadlines.NewScheduler(sc)
	if err != nil {
		return err
	}
	a.pm.scheduler = s
	reg.MustRegister(wiring.DeadlineMetrics(s, a.pm.outbox)...)
	return nil
}

// runDeadlines runs the scheduler and the reminders' relay until ctx ends,
// on goroutines that wg joins.
func (a *app) runDeadlines(ctx context.Context, wg *sync.WaitGroup) {
	if a.pm == nil || a.pm.scheduler == nil {
		return
	}
	goBackground(ctx, wg, "deadlines", func(ctx context.Context) { a.pm.scheduler.Run(ctx) })
	if a.pm.outbox != nil {
		goBackground(ctx, wg, "reminders", func(ctx context.Context) { a.pm.outbox.Run(ctx) })
	}
}
