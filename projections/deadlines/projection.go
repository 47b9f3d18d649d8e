package deadlines

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Name is the process manager's name (its checkpoint, metrics, /readyz).
const Name = "deadlines"

// Policy is its poison policy: Stop. A skipped event could lose a timer
// (an evaluation never finalised) or keep one that should have gone (a
// reminder of a decided objection), so the process manager halts at an
// event it cannot apply and reports itself stalled, like the score
// history.
const Policy = projections.Stop

// Filter selects the events it reads: every SKP stream.
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.SKPStreamPrefix}}
}

// Store is what the projection writes, inside its Backend's transaction.
type Store interface {
	// ReplaceItems makes items the items of the SKP skpID, removing the
	// others it had. What fired stays recorded (by FireID).
	ReplaceItems(ctx context.Context, skpID string, items []Item) error
}

// OutboxMessage is a reminder waiting to be published.
type OutboxMessage struct {
	// ID is the reminder's FireID: the message ID JetStream deduplicates.
	ID string
	// Body is the integration event (a Reminder as JSON).
	Body []byte
}

// Backend keeps the process manager's state durably: the items, the
// checkpoint, what fired, and the outbox of reminders. Implementations
// are safe for concurrent use.
type Backend interface {
	// Checkpoint returns the position of the last event applied.
	Checkpoint(ctx context.Context) (eventstore.Position, error)
	// Update runs fn in one transaction that also stores pos as the
	// checkpoint; when fn fails nothing is kept.
	Update(ctx context.Context, pos eventstore.Position, fn func(Store) error) error
	// Reset removes the items and the checkpoint (a rebuild). What fired
	// and the outbox are kept: a rebuild never fires an item twice.
	Reset(ctx context.Context) error
	// Due returns up to limit items whose FireAt is at or before now and
	// whose FireID has not fired, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Item, error)
	// MarkFired records that it fired at at. With msg, in the same
	// transaction, it queues msg in the outbox, unless it had fired
	// already (then it queues nothing and reports false).
	MarkFired(ctx context.Context, it Item, at time.Time, msg *OutboxMessage) (bool, error)
	// Fired reports whether the firing fireID is recorded.
	Fired(ctx context.Context, fireID string) (bool, error)
	// ForRecipient returns the items waiting for nip, by deadline, without
	// their overdue notices (Item.Notice 0 only).
	ForRecipient(ctx context.Context, nip string) ([]Item, error)
	// Outbox returns up to limit queued messages, oldest first.
	Outbox(ctx context.Context, limit int) ([]OutboxMessage, error)
	// Published removes the messages ids from the outbox.
	Published(ctx context.Context, ids []string) error
}

// KindReader lists the items of some kinds, without their overdue notices,
// by deadline: both backends implement it (the improvement-plan report of
// issue 14 reads the OPEN_IMPROVEMENT_PLAN and IMPROVEMENT_RESULT items).
type KindReader interface {
	OfKinds(ctx context.Context, kinds ...Kind) ([]Item, error)
}

// Projection keeps each SKP's items from the domain's replay of its
// stream. It is not safe for concurrent use: its Sink applies one batch at
// a time.
type Projection struct {
	cache    *projections.Cache[*skp.SKP]
	settings Settings
	// written holds, per SKP stream, a hash of the items last written
	// (in a transaction that may not have committed: the Sink forgets the
	// streams of a failed batch), so that an event that changes no item
	// writes nothing.
	written map[string]uint64
}

// NewProjection returns the projection. h rebuilds SKPs the cache does not
// hold; cacheSize bounds the cache (≤ 0: projections.DefaultCacheSize, growing only when
// a projections.BoundedHistory enables it, see projections.Cache).
func NewProjection(h projections.History, cacheSize int, s Settings) *Projection {
	return &Projection{cache: projections.NewCache(h, cacheSize, fold), settings: s, written: map[string]uint64{}}
}

// Apply projects ev: the items of its SKP after ev.
func (p *Projection) Apply(ctx context.Context, s Store, ev projections.Event) error {
	if !strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
		return nil
	}
	if ev.Payload == nil {
		// An SKP event the codec cannot read: skipping it could lose a
		// timer.
		return projections.Poison(ev.Event, errors.New("deadlines: the event's payload does not decode"))
	}
	sk, err := p.cache.Advance(ctx, ev)
	if err != nil {
		p.forget(ev.Stream)
		return err
	}
	if sk == nil || !changesItems(ev.Payload) {
		return nil
	}
	items := Items(sk, p.settings)
	h := hashItems(items)
	if old, ok := p.written[ev.Stream]; ok && old == h {
		return nil
	}
	if err := s.ReplaceItems(ctx, sk.ID(), items); err != nil {
		return err
	}
	p.written[ev.Stream] = h
	return nil
}

// Reset forgets every cached SKP.
func (p *Projection) Reset() {
	p.cache.Reset()
	clear(p.written)
}

// forget drops what the projection holds of stream.
func (p *Projection) forget(stream string) {
	p.cache.Forget(stream)
	delete(p.written, stream)
}

// changesItems reports whether an SKP event may change the SKP's items.
// An edit of the plan may (during an amendment it voids the employee's
// signature: SignAmendedPlan); realisations, evidence, feedback and the
// self-assessment wait for no one and move no deadline; every other event
// (an acknowledgement of receipt moves the objection window) recomputes
// the items (an event
// type added later must be placed here: event_switches_test.go).
func changesItems(e domain.Event) bool {
	switch e.(type) {
	case skp.RealisationRecorded, skp.EvidenceAttached, skp.FeedbackGiven, skp.SelfAssessmentSubmitted,
		skp.FeedbackGiverAssigned, skp.RatingGroundsRecorded,
		skp.FeedbackRoundOpened, skp.FeedbackRoundAnswered, skp.FeedbackRoundClosed, skp.FeedbackAnswersDisclosed,
		skp.CoachingRecorded, skp.CompetencyGapIdentified, skp.DevelopmentActionPlanned, skp.DevelopmentActionConcluded:
		return false
	case skp.Drafted, skp.Submitted, skp.Returned, skp.Established, skp.AmendmentOpened, skp.Cancelled, skp.ClosedForPositionChange,
		skp.RatingAssigned, skp.RatingRevised, skp.EvaluationIssued, skp.ReceiptAcknowledged, skp.EvaluationFinalised,
		skp.ObjectionFiled, skp.ObjectionFiledLate, skp.ExplanationRequested, skp.ExplanationSubmitted, skp.ObjectionDecided, skp.ObjectionWithdrawn,
		skp.ObjectionDeciderAssigned, skp.PlanAcknowledged, skp.ImprovementPlanOpened, skp.ImprovementPlanResultRecorded,
		skp.RHKAdded, skp.RHKChanged, skp.RHKRemoved, skp.IndicatorAdded, skp.IndicatorChanged, skp.IndicatorRemoved, skp.BehaviourExpectationSet:
		return true
	}
	return true
}

// hashItems is a hash of everything of items a backend stores.
func hashItems(items []Item) uint64 {
	h := fnv.New64a()
	var n [8]byte
	for _, it := range items {
		for _, f := range []string{it.Key, it.Recipient, string(it.RecipientRole), it.NIP, it.Name, it.UnitID, it.SKPID, it.Period, it.ObjectionID, it.RequestID} {
			binary.BigEndian.PutUint64(n[:], uint64(len(f)))
			h.Write(n[:])
			h.Write([]byte(f))
		}
		for _, t := range []time.Time{it.From, it.Due, it.FireAt} {
			binary.BigEndian.PutUint64(n[:], uint64(t.UnixNano()))
			h.Write(n[:])
		}
		binary.BigEndian.PutUint64(n[:], uint64(it.Year))
		h.Write(n[:])
	}
	return h.Sum64()
}

func fold(sk *skp.SKP, ev projections.Event) *skp.SKP {
	if ev.Payload == nil {
		return sk
	}
	if sk == nil {
		if _, ok := ev.Payload.(skp.Drafted); ok {
			return skp.Replay([]domain.Stored{ev.Stored()})
		}
		return nil
	}
	sk.Apply(ev.Stored())
	return sk
}

// Sink is the process manager's projection bound to a Backend: the runner
// of package projections drives it like any read model.
type Sink struct {
	b Backend
	p *Projection
}

var _ projections.Sink = (*Sink)(nil)

// NewSink returns the Sink of p over b.
func NewSink(b Backend, p *Projection) *Sink { return &Sink{b: b, p: p} }

// Backend returns the Sink's Backend.
func (s *Sink) Backend() Backend { return s.b }

// Name implements projections.Sink.
func (s *Sink) Name() string { return Name }

// Policy implements projections.Sink.
func (s *Sink) Policy() projections.Policy { return Policy }

// Filter implements projections.Sink.
func (s *Sink) Filter() eventstore.Filter { return Filter() }

// Checkpoint implements projections.Sink.
func (s *Sink) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return s.b.Checkpoint(ctx)
}

// Apply implements projections.Sink: the events after the checkpoint, and
// the checkpoint, in one transaction.
func (s *Sink) Apply(ctx context.Context, events ...projections.Event) error {
	cp, err := s.b.Checkpoint(ctx)
	if err != nil {
		return err
	}
	var todo []projections.Event
	for _, ev := range events {
		if ev.Position > cp {
			todo = append(todo, ev)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	err = s.b.Update(ctx, todo[len(todo)-1].Position, func(st Store) error {
		for _, ev := range todo {
			if err := s.p.Apply(ctx, st, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The cache may hold states the failed transaction did not
		// keep: forget the streams, they are replayed on redelivery.
		for _, ev := range todo {
			s.p.forget(ev.Stream)
		}
	}
	return err
}

// DeadLetter implements projections.Sink; with policy Stop it is never
// called.
func (s *Sink) DeadLetter(context.Context, projections.Event, error) error {
	return errors.New("deadlines: the process manager never skips an event")
}

// DeadLetters implements projections.Sink: none.
func (s *Sink) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) {
	return nil, nil
}

// Reset implements projections.Sink.
func (s *Sink) Reset(ctx context.Context) error {
	s.p.Reset()
	return s.b.Reset(ctx)
}

// ResetIfAhead resets b (its items and checkpoint; what fired stays) when
// its checkpoint is past head, the store's last position: the store was
// restored from an older copy (an operator's --accept-rollback), and the
// events appended from now on would take positions the checkpoint already
// passed and never reach the process manager. It reports whether it
// reset.
func ResetIfAhead(ctx context.Context, b Backend, head eventstore.Position) (bool, error) {
	cp, err := b.Checkpoint(ctx)
	if err != nil || cp <= head {
		return false, err
	}
	return true, b.Reset(ctx)
}

// Fingerprint is the canonical text of what in s decides the items'
// deadlines and firing times: every day count (0 of the improvement-plan
// days as its default) and the three policy fields the items read (the
// zone, by name and offset; the establishment deadline; the objection
// decision SLA). The other policy fields do not move a deadline (the
// objection window's end and the SKP's cadence are in its events), so a
// change of them is no reason to rebuild. A backend that records it
// (SettingsRecorder) lets a start notice that its items were built with
// other settings.
func (s Settings) Fingerprint() string {
	zone, offset := "UTC", 0
	if s.Policy.Location != nil {
		zone = s.Policy.Location.String()
		_, offset = time.Date(2000, 1, 1, 0, 0, 0, 0, s.Policy.Location).Zone()
	}
	return fmt.Sprintf("v1 zone=%s/%d establish=%02d-%02d objection-sla=%d rating=%d explanation=%d lead=%d establish-lead=%d overdue=%d/%d improvement-plan=%d improvement-result=%d",
		zone, offset, int(s.Policy.EstablishDeadline.Month), s.Policy.EstablishDeadline.Day, s.Policy.ObjectionDecisionSLADays,
		s.RatingDays, s.ExplanationDays, s.LeadDays, s.EstablishLeadDays, s.OverdueNotices, s.OverdueEveryDays,
		orDefault(s.ImprovementPlanDays, DefaultImprovementPlanDays), orDefault(s.ImprovementResultDays, DefaultImprovementResultDays))
}

// SettingsRecorder is a Backend that records the fingerprint of the
// settings its items were built with (deadlinestore.Bolt, in its meta
// bucket): "" when none is recorded.
type SettingsRecorder interface {
	SettingsFingerprint(ctx context.Context) (string, error)
	SetSettingsFingerprint(ctx context.Context, fingerprint string) error
}

// SettingsAdopter is a SettingsRecorder whose state several processes
// share (deadlinestore.Postgres): AdoptSettingsFingerprint records
// fingerprint only when none is recorded, atomically, and returns the one
// recorded after it (another process's, when that one came first), so
// that of two starts racing with different settings exactly one is taken.
type SettingsAdopter interface {
	AdoptSettingsFingerprint(ctx context.Context, fingerprint string) (recorded string, err error)
}

// SettingsCheck is what CheckSettings did.
type SettingsCheck int

const (
	// SettingsSame: the recorded settings are s (or b records none).
	SettingsSame SettingsCheck = iota
	// SettingsAdopted: b recorded no settings (a file of an earlier
	// build, or a new one); s is recorded now.
	SettingsAdopted
	// SettingsReset: b recorded other settings; it was reset (its items
	// and checkpoint; what fired stays) and s is recorded.
	SettingsReset
)

// CheckSettings compares the settings b's items were built with to s,
// when b records them (SettingsRecorder), and resets b when they differ:
// an item is recomputed only when its SKP gets a new event, so items
// built with other settings (another --rating-due-days, another zone)
// would keep their deadlines silently. The reset keeps what fired, as
// ResetIfAhead: an item whose deadline did not move keeps its firing IDs
// and does not fire again. It returns what it did and the settings that
// were recorded before.
//
// A backend that records none (a file of an earlier build) adopts s: that
// file was built by kinerjad (the only writer of an earlier build) with
// the flags it is most likely started with again, and resetting it would
// make every upgrade replay the whole log for the process manager (26 min
// at 20,000 employees, docs/benchmarks.md §55). An operator who changed
// the settings across the upgrade runs `kinerjactl projections rebuild
// deadlines` (docs/operations.md).
func CheckSettings(ctx context.Context, b Backend, s Settings) (SettingsCheck, string, error) {
	r, ok := b.(SettingsRecorder)
	if !ok {
		return SettingsSame, "", nil
	}
	was, err := r.SettingsFingerprint(ctx)
	if err != nil {
		return SettingsSame, "", err
	}
	now := s.Fingerprint()
	switch was {
	case now:
		return SettingsSame, was, nil
	case "":
		return SettingsAdopted, was, r.SetSettingsFingerprint(ctx, now)
	}
	// Reset first: a crash between the two leaves the old fingerprint,
	// and the next start resets again (an empty store: no harm).
	if err := b.Reset(ctx); err != nil {
		return SettingsSame, was, err
	}
	return SettingsReset, was, r.SetSettingsFingerprint(ctx, now)
}

// RecordSettings records s as the settings b's items are built with, when
// b records them (after a rebuild from the log, which resets b first).
func RecordSettings(ctx context.Context, b Backend, s Settings) error {
	if r, ok := b.(SettingsRecorder); ok {
		return r.SetSettingsFingerprint(ctx, s.Fingerprint())
	}
	return nil
}
