package wiring

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
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
	c.RegisterSettingsFlags(fs)
	fs.DurationVar(&c.Interval, "deadline-interval", 30*time.Second, "time between the deadline process manager's rounds")
}

// RegisterSettingsFlags registers on fs only the flags of the settings
// (Settings): for a command that builds the items but runs no scheduler
// and sends no reminder (kinerjactl snapshot).
func (c *DeadlineConfig) RegisterSettingsFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.RatingDueDays, "rating-due-days", 14, "a period's ratings are due this many days after it ends")
	fs.IntVar(&c.LeadDays, "reminder-lead-days", 3, "deadline reminders go out this many days before the deadline")
	fs.IntVar(&c.EstablishLeadDays, "establish-lead-days", 7, "the establishment reminders go out this many days before the deadline")
	fs.IntVar(&c.OverdueNotices, "overdue-notices", 3, "overdue notices sent after a deadline passes with the item still waiting (0: none)")
	fs.IntVar(&c.OverdueEveryDays, "overdue-every-days", 7, "days between overdue notices; the first goes out a second after the deadline")
	fs.IntVar(&c.ImprovementPlanDays, "improvement-plan-days", deadlines.DefaultImprovementPlanDays, "an improvement plan is due this many days after its evaluation (BUTUH_PERBAIKAN or worse) became final")
	fs.IntVar(&c.ImprovementResultDays, "improvement-result-days", deadlines.DefaultImprovementResultDays, "an improvement plan's result is due this many days after its follow-up date")
}

// Settings returns the process manager's settings under pol.
func (c DeadlineConfig) Settings(pol policy.Policy) deadlines.Settings {
	s := deadlines.DefaultSettings(pol)
	s.RatingDays, s.LeadDays, s.EstablishLeadDays = c.RatingDueDays, c.LeadDays, c.EstablishLeadDays
	s.OverdueNotices, s.OverdueEveryDays = c.OverdueNotices, c.OverdueEveryDays
	s.ImprovementPlanDays, s.ImprovementResultDays = c.ImprovementPlanDays, c.ImprovementResultDays
	return s
}

// ValidateSettings reports every problem of c's settings under pol (the
// flags of RegisterSettingsFlags).
func (c DeadlineConfig) ValidateSettings(pol policy.Policy) error {
	if err := c.Settings(pol).Validate(); err != nil {
		return fmt.Errorf("--rating-due-days, --reminder-lead-days, --establish-lead-days, --overdue-notices, --overdue-every-days, --improvement-plan-days, --improvement-result-days: %w", err)
	}
	return nil
}

// Validate reports every problem of c under pol.
func (c DeadlineConfig) Validate(pol policy.Policy) error {
	var errs []error
	if err := c.ValidateSettings(pol); err != nil {
		errs = append(errs, err)
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

// CheckDeadlineSettings runs deadlines.CheckSettings on the process
// manager's state b before its projection is built with set, and logs a
// reset (deadlines_reset, reason settings, with the settings recorded and
// the new ones) or an adoption (deadlines_settings_adopted: a file of an
// earlier build, which recorded none).
//
// A state shared by several processes (deadlinestore.Postgres: every
// kinerjad and projector on the database) is not reset: another process
// may be applying events to it, from a position in its memory that the
// reset would not move back (its items before that position would be lost,
// and the resetting process's replay skipped as already applied), and two
// processes started with different settings would reset each other at
// every start. A difference is refused instead (ErrDeadlineSettings), with
// the remedy: the recorded settings' flags, or every writer stopped and
// `kinerjactl projections rebuild deadlines` with the new ones (which
// records them). A schema that records none (filled by an earlier build)
// adopts set, as deadlines.db does.
func CheckDeadlineSettings(ctx context.Context, b deadlines.Backend, set deadlines.Settings, log *slog.Logger) error {
	if sh, ok := b.(interface{ SharedState() bool }); ok && sh.SharedState() {
		return checkSharedDeadlineSettings(ctx, b, set, log)
	}
	did, was, err := deadlines.CheckSettings(ctx, b, set)
	if err != nil {
		return fmt.Errorf("deadlines: the settings check: %w", err)
	}
	switch did {
	case deadlines.SettingsReset:
		log.Warn("deadlines_reset", "reason", "settings", "detail", "the items were built with other deadline settings (flags); they are rebuilt from the log, what fired stays",
			"was", was, "now", set.Fingerprint())
	case deadlines.SettingsAdopted:
		log.Info("deadlines_settings_adopted", "detail", "the process manager's state recorded no settings (new, or of an earlier build); these are recorded", "now", set.Fingerprint())
	}
	return nil
}

// ErrDeadlineSettings refuses a start whose deadline settings differ from
// those the shared process manager's state was built with.
var ErrDeadlineSettings = errors.New("deadlines: the process manager's state in PostgreSQL was built with other deadline settings")

// checkSharedDeadlineSettings is CheckDeadlineSettings for a state shared
// by several processes: adopt when none is recorded, refuse a difference.
func checkSharedDeadlineSettings(ctx context.Context, b deadlines.Backend, set deadlines.Settings, log *slog.Logger) error {
	r, ok := b.(deadlines.SettingsRecorder)
	if !ok {
		return nil
	}
	was, err := r.SettingsFingerprint(ctx)
	if err != nil {
		return fmt.Errorf("deadlines: the settings check: %w", err)
	}
	now := set.Fingerprint()
	switch was {
	case now:
		return nil
	case "":
		// Adopted only if none is recorded still: another process starting
		// with other settings at the same moment may have come first, and
		// an overwrite would leave one of the two running on items built
		// with settings not its own.
		if ad, ok := b.(deadlines.SettingsAdopter); ok {
			rec, err := ad.AdoptSettingsFingerprint(ctx, now)
			if err != nil {
				return fmt.Errorf("deadlines: the settings check: %w", err)
			}
			if rec != now {
				was = rec
				break
			}
		} else if err := r.SetSettingsFingerprint(ctx, now); err != nil {
			return fmt.Errorf("deadlines: the settings check: %w", err)
		}
		log.Info("deadlines_settings_adopted", "detail", "the process manager's state recorded no settings (new, or of an earlier build); these are recorded", "now", now)
		return nil
	}
	return fmt.Errorf("%w (recorded %q, this process %q): start with the deadline flags it was built with (--zone, --establish-deadline, --rating-due-days, ...; the same on every kinerjad and projector), or stop every kinerjad and projector on the database and run kinerjactl projections rebuild deadlines --read-models postgres with the new flags", ErrDeadlineSettings, was, now)
}
