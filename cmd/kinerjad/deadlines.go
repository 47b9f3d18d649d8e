package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"

	application "github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// The deadline process manager (projections/deadlines): its state in a
// bbolt file of the data directory with in-memory read models (embedded
// mode), in PostgreSQL with PostgreSQL read models; its projection joins
// the other projections (checkpoint, poison policy Stop, /readyz); its
// scheduler fires from serve; its reminders go to NATS through the
// outbox when --nats-url is set.

// pm is the process manager's parts.
type pm struct {
	backend   deadlines.Backend
	sink      *deadlines.Sink
	scheduler *deadlines.Scheduler
	outbox    *wmbridge.OutboxRelay
}

// openDeadlines opens the process manager's state and its projection.
func (a *app) openDeadlines(ctx context.Context) error {
	var b deadlines.Backend
	if a.cfg.ReadModels == readModelsPostgres {
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
	} else {
		bb, err := deadlinestore.OpenBolt(filepath.Join(a.cfg.DataDir, "deadlines.db"))
		if err != nil {
			return err
		}
		a.closers = append(a.closers, bb.Close)
		b = bb
	}
	a.pm = &pm{backend: b, sink: deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: a.authed}, 0, a.cfg.deadlineSettings()))}
	return nil
}

// deadlineSettings are the process manager's settings from the policy and
// the flags.
func (c Config) deadlineSettings() deadlines.Settings {
	s := deadlines.DefaultSettings(c.Policy)
	s.RatingDays, s.LeadDays, s.EstablishLeadDays = c.RatingDueDays, c.ReminderLeadDays, c.EstablishLeadDays
	return s
}

// startDeadlines makes the scheduler (finality through the application
// layer, as the system actor) and, with --nats-url, the reminders' relay.
func (a *app) startDeadlines(core *application.App) error {
	if a.pm == nil || a.projector == nil {
		return nil
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
		a.pm.outbox, err = wmbridge.NewOutboxRelay(wmbridge.OutboxRelayConfig{Name: "reminders-nats", Outbox: outboxOf{a.pm.backend},
			Publisher: pub, Topic: a.cfg.NATSReminderSubject, Logger: a.log})
		if err != nil {
			return err
		}
	}
	group := a.projector.Group()
	sc := deadlines.SchedulerConfig{
		Backend: a.pm.backend, Finalise: core.FinaliseAsSystem, Interval: a.cfg.DeadlineInterval, Logger: a.log,
		// Nothing fires from items the projection could not keep up
		// to date (stalled at a poison event, or failing).
		Ready: func() bool {
			for _, s := range group.States() {
				if s.Name == deadlines.Name {
					return !s.Stalled
				}
			}
			return false
		},
	}
	if a.pm.outbox != nil {
		sc.Published = a.pm.outbox.Kick
	}
	s, err := deadlines.NewScheduler(sc)
	if err != nil {
		return err
	}
	a.pm.scheduler = s
	return nil
}

// runDeadlines runs the scheduler and the reminders' relay until ctx ends.
func (a *app) runDeadlines(ctx context.Context) {
	if a.pm == nil || a.pm.scheduler == nil {
		return
	}
	go a.pm.scheduler.Run(ctx)
	if a.pm.outbox != nil {
		go a.pm.outbox.Run(ctx)
	}
}

// outboxOf is the process manager's outbox as the relay reads it.
type outboxOf struct{ b deadlines.Backend }

func (o outboxOf) Pending(ctx context.Context, limit int) ([]wmbridge.OutboxMessage, error) {
	msgs, err := o.b.Outbox(ctx, limit)
	out := make([]wmbridge.OutboxMessage, len(msgs))
	for i, m := range msgs {
		out[i] = wmbridge.OutboxMessage{ID: m.ID, Type: deadlines.ReminderType, Body: m.Body}
	}
	return out, err
}

func (o outboxOf) Published(ctx context.Context, ids []string) error { return o.b.Published(ctx, ids) }

// deadlineInterval is the default time between the scheduler's rounds.
const deadlineInterval = 30 * time.Second
