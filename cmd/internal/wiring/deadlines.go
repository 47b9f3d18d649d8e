package wiring

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// DeadlineConfig is the deadline process manager's configuration, the
// same flags in kinerjad and the projector (docs/projections.md, "The
// deadline process manager").
type DeadlineConfig struct {
	// ReminderSubject is the NATS subject of the reminders.
	ReminderSubject string
	// RatingDueDays, LeadDays and EstablishLeadDays: deadlines.Settings.
	RatingDueDays, LeadDays, EstablishLeadDays int
	// OverdueNotices and OverdueEveryDays: the overdue notices
	// (deadlines.Settings).
	OverdueNotices, OverdueEveryDays int
	// ImprovementPlanDays and ImprovementResultDays: the improvement-plan
	// items (deadlines.Settings, issue 14).
	ImprovementPlanDays, ImprovementResultDays int
	// Interval is the time between the scheduler's rounds.
	Interval time.Duration
}

// RegisterFlags registers the flags on fs.
func (c *DeadlineConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ReminderSubject, "nats-reminder-subject", "kinerja.reminders", "NATS subject of deadline reminders")
	fs.IntVar(&c.RatingDueDays, "rating-due-days", 14, "a period's ratings are due this many days after it ends")
	fs.IntVar(&c.LeadDays, "reminder-lead-days", 3, "deadline reminders go out this many days before the deadline")
	fs.IntVar(&c.EstablishLeadDays, "establish-lead-days", 7, "the establishment reminders go out this many days before the deadline")
	fs.IntVar(&c.OverdueNotices, "overdue-notices", 3, "overdue notices sent after a deadline passes with the item still waiting (0: none)")
	fs.IntVar(&c.OverdueEveryDays, "overdue-every-days", 7, "days between overdue notices; the first goes out a second after the deadline")
	fs.IntVar(&c.ImprovementPlanDays, "improvement-plan-days", deadlines.DefaultImprovementPlanDays, "an improvement plan is due this many days after its evaluation (BUTUH_PERBAIKAN or worse) became final")
	fs.IntVar(&c.ImprovementResultDays, "improvement-result-days", deadlines.DefaultImprovementResultDays, "an improvement plan's result is due this many days after its follow-up date")
	fs.DurationVar(&c.Interval, "deadline-interval", 30*time.Second, "time between the deadline process manager's rounds")
}

// Settings returns the process manager's settings under pol.
func (c DeadlineConfig) Settings(pol policy.Policy) deadlines.Settings {
	s := deadlines.DefaultSettings(pol)
	s.RatingDays, s.LeadDays, s.EstablishLeadDays = c.RatingDueDays, c.LeadDays, c.EstablishLeadDays
	s.OverdueNotices, s.OverdueEveryDays = c.OverdueNotices, c.OverdueEveryDays
	s.ImprovementPlanDays, s.ImprovementResultDays = c.ImprovementPlanDays, c.ImprovementResultDays
	return s
}

// Validate reports every problem of c under pol.
func (c DeadlineConfig) Validate(pol policy.Policy) error {
	var errs []error
	if err := c.Settings(pol).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--rating-due-days, --reminder-lead-days, --establish-lead-days, --overdue-notices, --overdue-every-days, --improvement-plan-days, --improvement-result-days: %w", err))
	}
	if c.ReminderSubject == "" {
		errs = append(errs, errors.New("--nats-reminder-subject is required"))
	}
	if c.Interval <= 0 {
		errs = append(errs, errors.New("--deadline-interval must be a positive duration"))
	}
	return errors.Join(errs...)
}

// DeadlineReady is the scheduler's Ready: nothing fires while the
// process manager's projection in g is stalled or failing.
func DeadlineReady(g *projections.Group) func() bool {
	return func() bool {
		for _, s := range g.States() {
			if s.Name == deadlines.Name {
				return !s.Stalled
			}
		}
		return false
	}
}

// DeadlineOutbox is the process manager's outbox as wmbridge.OutboxRelay
// reads it.
type DeadlineOutbox struct{ Backend deadlines.Backend }

var _ wmbridge.Outbox = DeadlineOutbox{}

// Pending implements wmbridge.Outbox.
func (o DeadlineOutbox) Pending(ctx context.Context, limit int) ([]wmbridge.OutboxMessage, error) {
	msgs, err := o.Backend.Outbox(ctx, limit)
	out := make([]wmbridge.OutboxMessage, len(msgs))
	for i, m := range msgs {
		out[i] = wmbridge.OutboxMessage{ID: m.ID, Type: deadlines.ReminderType, Body: m.Body}
	}
	return out, err
}

// Published implements wmbridge.Outbox.
func (o DeadlineOutbox) Published(ctx context.Context, ids []string) error {
	return o.Backend.Published(ctx, ids)
}

// DeadlineMetrics are the process manager's counters: finalities
// recorded, reminders queued, failed acts (kinerja_deadlines_*), and the
// reminders published to NATS when relay is set.
func DeadlineMetrics(s *deadlines.Scheduler, relay *wmbridge.OutboxRelay) []prometheus.Collector {
	counter := func(name, help string, v func(deadlines.Stats) int) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "deadlines", Name: name, Help: help},
			func() float64 { return float64(v(s.Stats())) })
	}
	out := []prometheus.Collector{
		counter("finalised_total", "Evaluations whose finality the process manager recorded (objection window elapsed).", func(st deadlines.Stats) int { return st.Finalised }),
		counter("reminders_total", "Deadline reminders queued for NATS and the inbox.", func(st deadlines.Stats) int { return st.Reminded }),
		counter("failures_total", "Rounds in which an act (a finality, a reminder) failed; it is retried.", func(st deadlines.Stats) int { return st.Failed }),
	}
	if relay != nil {
		out = append(out, prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "deadlines", Name: "reminders_published_total",
			Help: "Deadline reminders published to NATS."}, func() float64 { n, _ := relay.State(); return float64(n) }))
	}
	return out
}
