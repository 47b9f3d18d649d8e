package deadlines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ReminderType is the type of the integration event a reminder is
// published as.
const ReminderType = "deadline.reminder.v1"

// Reminder is the integration event of a reminder: its JSON shape is a
// contract with outside consumers (add fields, never rename one).
type Reminder struct {
	// ReminderID is the firing's ID (Item.FireID), also the NATS message
	// ID: a consumer deduplicates by it.
	ReminderID string `json:"reminder_id"`
	Type       string `json:"type"`
	// Item is what waits, for whom and until when.
	Item Item `json:"item"`
	// SentAt is when the process manager sent it.
	SentAt time.Time `json:"sent_at"`
	// Overdue is true when the deadline had passed when it was sent.
	Overdue bool `json:"overdue"`
	// Stage is REMINDER for the reminder before the deadline, or
	// OVERDUE_NOTICE for a notice after it (Item.Notice numbers it).
	Stage string `json:"stage"`
}

// Stages of a reminder.
const (
	// StageReminder is the reminder of an item (Item.Notice 0).
	StageReminder = "REMINDER"
	// StageOverdueNotice is an overdue notice (Item.Notice ≥ 1).
	StageOverdueNotice = "OVERDUE_NOTICE"
)

// FinaliseFunc records the finality of it's evaluation as the system
// actor. It must be idempotent: the same item may be fired again after a
// crash (the command's event ID derives from it.FireID).
type FinaliseFunc func(ctx context.Context, it Item) error

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Backend holds the items. Required.
	Backend Backend
	// Finalise records finality. Required.
	Finalise FinaliseFunc
	// Ready, when set, is asked before each round: while it says false
	// (the process manager's projection is stalled or catching up), no
	// item fires, so nothing fires from stale items.
	Ready func() bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Interval is the time between rounds (default 30 s).
	Interval time.Duration
	// Batch bounds the items fired per round (default 200).
	Batch int
	// Logger receives the scheduler's logs (default slog.Default()).
	Logger *slog.Logger
	// Published, when set, is told of every reminder queued (a kick for
	// the outbox relay).
	Published func()
}

// Scheduler fires the items whose time has come: FinaliseEvaluation
// items through Finalise, every other item as a reminder queued in the
// outbox. Each firing is recorded by its FireID after it succeeds, so an
// item fires once across restarts; a crash between the act and the record
// repeats the act, which is idempotent (see FinaliseFunc and the outbox's
// message ID).
type Scheduler struct {
	cfg SchedulerConfig

	mu    sync.Mutex
	stats Stats
}

// Stats counts what a Scheduler did in this process.
type Stats struct {
	Finalised, Reminded, Failed int
	// LastError is the last failure ("" after a clean round).
	LastError string
	// LastRound is when the last round ended.
	LastRound time.Time
}

// NewScheduler returns a Scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Backend == nil || cfg.Finalise == nil {
		return nil, errors.New("deadlines: a scheduler needs a backend and a finalise function")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Scheduler{cfg: cfg}, nil
}

// Stats returns what the scheduler did so far.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Run fires due items every Interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("deadlines_round_failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick runs one round: it fires every item due now (up to Batch) and
// returns how many fired. An item whose act fails is left to the next
// round; the error of the last failure is returned.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	if s.cfg.Ready != nil && !s.cfg.Ready() {
		return 0, nil
	}
	now := s.cfg.Now()
	due, err := s.cfg.Backend.Due(ctx, now, s.cfg.Batch)
	if err != nil {
		s.record(0, 0, err)
		return 0, fmt.Errorf("deadlines: due items: %w", err)
	}
	fired, finalised, reminded := 0, 0, 0
	var last error
	// When the scheduler was down, an item's reminder and notices may be
	// due together: only the latest is sent, the others are recorded as
	// fired without a message (superseded).
	latest := map[string]time.Time{}
	for _, it := range due {
		if it.Reminds() && it.FireAt.After(latest[it.BaseKey()]) {
			latest[it.BaseKey()] = it.FireAt
		}
	}
	for _, it := range due {
		if ctx.Err() != nil {
			break
		}
		if it.Reminds() && it.FireAt.Before(latest[it.BaseKey()]) {
			if _, err := s.cfg.Backend.MarkFired(ctx, it, now, nil); err != nil {
				last = err
			}
			continue
		}
		ok, err := s.fire(ctx, it, now)
		switch {
		case err != nil:
			last = err
			s.cfg.Logger.Warn("deadline_fire_failed", "key", it.Key, "fire_id", it.FireID(), "err", err)
		case ok && it.Kind == FinaliseEvaluation:
			fired++
			finalised++
			s.cfg.Logger.Info("evaluation_finalised_by_deadline", "skp_id", it.SKPID, "period", it.Period, "fire_id", it.FireID())
		case ok:
			fired++
			reminded++
			s.cfg.Logger.Info("deadline_reminder_queued", "key", it.Key, "kind", string(it.Kind), "fire_id", it.FireID(), "overdue", now.After(it.Due))
		}
	}
	s.record(finalised, reminded, last)
	if reminded > 0 && s.cfg.Published != nil {
		s.cfg.Published()
	}
	return fired, last
}

func (s *Scheduler) record(finalised, reminded int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Finalised += finalised
	s.stats.Reminded += reminded
	s.stats.LastRound = s.cfg.Now()
	s.stats.LastError = ""
	if err != nil {
		s.stats.Failed++
		s.stats.LastError = err.Error()
	}
}

// fire acts on one item and records it; false when it had fired already.
func (s *Scheduler) fire(ctx context.Context, it Item, now time.Time) (bool, error) {
	if it.Kind == FinaliseEvaluation {
		if err := s.cfg.Finalise(ctx, it); err != nil {
			return false, err
		}
		return s.cfg.Backend.MarkFired(ctx, it, now, nil)
	}
	stage := StageReminder
	if it.Notice > 0 {
		stage = StageOverdueNotice
	}
	body, err := json.Marshal(Reminder{ReminderID: it.FireID(), Type: ReminderType, Item: it, SentAt: now.UTC(), Overdue: now.After(it.Due), Stage: stage})
	if err != nil {
		return false, err
	}
	return s.cfg.Backend.MarkFired(ctx, it, now, &OutboxMessage{ID: it.FireID(), Body: body})
}
