// Package deadlines is the process manager of the appraisal's deadlines:
// from the SKP streams it derives what waits for whom and until when (the
// items), and a runtime (Scheduler) acts when an item's time comes: it
// records the finality of an evaluation whose objection window passed with
// no objection (skp.evaluation_finalised.v1, as the system actor
// authz.SystemDeadlines), and it sends a reminder of every other item to
// the person it waits for (an integration event on NATS through an
// outbox, and the person's inbox).
//
// The items are a pure function of an SKP's state ([Items]); the
// projection ([Projection]) keeps them per SKP, driven by the subscription
// like every read model (the runner of package projections, with its
// checkpoint and its poison policy, Stop: a gap would lose a timer). A
// [Backend] keeps the items, the checkpoint, the record of what fired and
// the outbox durably (bbolt in embedded mode, PostgreSQL in server mode),
// so a restart neither loses a timer nor fires one twice; firing is
// idempotent anyway (see [Item.FireID] and docs/projections.md).
package deadlines

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Kind is what an item waits for.
type Kind string

// Kinds of item, with the person each waits for.
const (
	// SubmitSKP: the employee submits the draft SKP, to be established by
	// the establishment deadline (domain.md §3.1, 31 January).
	SubmitSKP Kind = "SUBMIT_SKP"
	// EstablishSKP: the appraiser establishes (or returns) a submitted SKP
	// by the establishment deadline.
	EstablishSKP Kind = "ESTABLISH_SKP"
	// RatePeriod: the appraiser rates a period that has ended.
	RatePeriod Kind = "RATE_PERIOD"
	// IssueEvaluation: the appraiser issues and delivers a rated
	// evaluation.
	IssueEvaluation Kind = "ISSUE_EVALUATION"
	// ObjectionWindow: the employee may object until the window closes.
	ObjectionWindow Kind = "OBJECTION_WINDOW"
	// DecideObjection: the appraiser's superior decides an open objection
	// (the decision SLA of the policy; no automatic outcome).
	DecideObjection Kind = "DECIDE_OBJECTION"
	// GiveExplanation: the appraiser or the employee answers a request for
	// explanation.
	GiveExplanation Kind = "GIVE_EXPLANATION"
	// SignAmendedPlan: the employee signs an amendment's plan as it stands
	// (acknowledges it, or submits it again), due ExplanationDays after the
	// amendment was opened; an edit after the signature brings it back.
	SignAmendedPlan Kind = "SIGN_AMENDED_PLAN"
	// JustifyDistribution: the leader one level up justifies a unit's
	// distribution that BLOCK mode keeps from being issued. The process
	// manager does not derive it (it counts across SKPs): the application
	// layer's inbox adds it when read; it never fires.
	JustifyDistribution Kind = "JUSTIFY_DISTRIBUTION"
	// FinaliseEvaluation: the system records the finality of an evaluation
	// whose objection window passed with no objection (no recipient).
	FinaliseEvaluation Kind = "FINALISE_EVALUATION"
	// OpenImprovementPlan: the appraiser opens the improvement plan of an
	// evaluation final with a predikat of BUTUH_PERBAIKAN or worse, within
	// Settings.ImprovementPlanDays of finality (issue 14).
	OpenImprovementPlan Kind = "OPEN_IMPROVEMENT_PLAN"
	// ImprovementFollowUp: the follow-up of an open improvement plan is
	// due on its follow-up date (a reminder before it, no overdue notices:
	// ImprovementResult waits after it).
	ImprovementFollowUp Kind = "IMPROVEMENT_FOLLOW_UP"
	// ImprovementResult: the appraiser records the plan's result, from the
	// follow-up date, within Settings.ImprovementResultDays.
	ImprovementResult Kind = "IMPROVEMENT_RESULT"
)

// Kinds returns every kind.
func Kinds() []Kind {
	return []Kind{SubmitSKP, EstablishSKP, RatePeriod, IssueEvaluation, ObjectionWindow, DecideObjection, GiveExplanation, SignAmendedPlan, JustifyDistribution, FinaliseEvaluation,
		OpenImprovementPlan, ImprovementFollowUp, ImprovementResult}
}

// Item is one thing that waits for someone (or, for FinaliseEvaluation,
// for the system) until a deadline. Its JSON shape is persisted by the
// backends: add fields, never rename one.
type Item struct {
	// Key identifies the item: kind, SKP, period and the objection or
	// request it concerns. An item keeps its key while it waits.
	Key  string `json:"key"`
	Kind Kind   `json:"kind"`
	// SKPID, NIP, Name and UnitID are the SKP and its employee.
	SKPID  string `json:"skp_id"`
	NIP    string `json:"nip"`
	Name   string `json:"name"`
	UnitID string `json:"unit_id,omitempty"`
	Year   int    `json:"year"`
	// Period is the evaluation period ("" for the SKP's own items).
	Period string `json:"period,omitempty"`
	// ObjectionID and RequestID name the objection and the explanation
	// request.
	ObjectionID string `json:"objection_id,omitempty"`
	RequestID   string `json:"request_id,omitempty"`
	// Recipient is the NIP the item waits for ("" for the system), in the
	// capacity RecipientRole.
	Recipient     string      `json:"recipient,omitempty"`
	RecipientRole domain.Role `json:"recipient_role,omitempty"`
	// From is when the item began to wait (a period's ratings wait from
	// the day after it ends); Due is its deadline.
	From time.Time `json:"from"`
	Due  time.Time `json:"due"`
	// FireAt is when the process manager acts: the reminder's time (Due
	// less the lead, not before From), the time of an overdue notice, or
	// the first instant after the objection window for FinaliseEvaluation.
	FireAt time.Time `json:"fire_at"`
	// Notice is 0 for the item itself (its reminder), n ≥ 1 for its n-th
	// overdue notice: sent while the item still waits, a second after
	// the deadline and then every Settings.OverdueEveryDays, at most
	// Settings.OverdueNotices times. A notice is an item of its own (key
	// "…/overdue-n"), so it fires once, by its own FireID, and goes away
	// with the item when what it waits for is done. Inboxes list only
	// Notice 0.
	Notice int `json:"notice,omitempty"`
}

// BaseKey is the key of the item a notice belongs to (the key itself for
// Notice 0).
func (it Item) BaseKey() string {
	if it.Notice == 0 {
		return it.Key
	}
	base, _, _ := strings.Cut(it.Key, overdueSep)
	return base
}

// overdueSep separates an item's key from the number of its overdue
// notice.
const overdueSep = "/overdue-"

// HasNotices reports whether items of kind k are followed by overdue
// notices: every reminder but the objection window's (once it closes
// nothing waits for the employee any more).
func (k Kind) HasNotices() bool {
	return k != ObjectionWindow && k != FinaliseEvaluation && k != ImprovementFollowUp
}

// Reminds reports whether the item's firing is a reminder to its
// recipient (every kind but FinaliseEvaluation).
func (it Item) Reminds() bool { return it.Kind != FinaliseEvaluation && it.Recipient != "" }

// FireID identifies one firing of the item: derived from its key, its
// deadline and its time, so the same item fires under the same ID however
// often it is tried (the Finalise command's idempotency key, the NATS
// message ID that JetStream deduplicates, the record of what fired). An
// item whose deadline moves fires again, under a new ID.
func (it Item) FireID() string {
	h := sha256.Sum256([]byte("kinerja/deadlines/fire/v1\x00" + it.Key + "\x00" + it.Due.UTC().Format(time.RFC3339Nano) + "\x00" + it.FireAt.UTC().Format(time.RFC3339Nano)))
	var u uuid.UUID
	copy(u[:], h[:16])
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}

// Settings are the deadlines and lead times the items follow. The
// objection window and the decision SLA come from the policy itself.
type Settings struct {
	// Policy is the appraisal policy (establishment deadline, objection
	// decision SLA, cadence, location).
	Policy policy.Policy
	// RatingDays: a period's ratings, and the issue of a rated
	// evaluation, are due this many days after the period ends or the
	// rating (default 14; the regulation sets none, domain.md §3.1).
	RatingDays int
	// ExplanationDays: an explanation requested without a due date is due
	// this many days after the request (default 7).
	ExplanationDays int
	// LeadDays: a reminder goes out this many days before the deadline,
	// and never before the item begins to wait (default 3).
	LeadDays int
	// EstablishLeadDays is the lead of the establishment reminders
	// (default 7: a week before 31 January).
	EstablishLeadDays int
	// OverdueNotices is how many overdue notices follow a reminder while
	// its item still waits after the deadline (default 3; 0: none).
	OverdueNotices int
	// OverdueEveryDays is the time between two overdue notices (default
	// 7); the first goes out a second after the deadline.
	OverdueEveryDays int
	// ImprovementPlanDays: an improvement plan is due this many days
	// after its evaluation became final (0: 30).
	ImprovementPlanDays int
	// ImprovementResultDays: a plan's result is due this many days after
	// its follow-up date (0: 14).
	ImprovementResultDays int
}

// Defaults of the improvement-plan settings.
const (
	DefaultImprovementPlanDays   = 30
	DefaultImprovementResultDays = 14
)

// orDefault returns n, or def when n is 0.
func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// DefaultSettings returns the settings with pol and every default.
func DefaultSettings(pol policy.Policy) Settings {
	return Settings{Policy: pol, RatingDays: 14, ExplanationDays: 7, LeadDays: 3, EstablishLeadDays: 7, OverdueNotices: 3, OverdueEveryDays: 7,
		ImprovementPlanDays: DefaultImprovementPlanDays, ImprovementResultDays: DefaultImprovementResultDays}
}

// Validate reports every problem of s.
func (s Settings) Validate() error {
	var errs []string
	if s.RatingDays < 1 || s.RatingDays > 366 {
		errs = append(errs, fmt.Sprintf("rating due %d days: want 1..366", s.RatingDays))
	}
	if s.ExplanationDays < 1 || s.ExplanationDays > 366 {
		errs = append(errs, fmt.Sprintf("explanation due %d days: want 1..366", s.ExplanationDays))
	}
	if s.LeadDays < 0 || s.LeadDays > 366 || s.EstablishLeadDays < 0 || s.EstablishLeadDays > 366 {
		errs = append(errs, fmt.Sprintf("reminder leads %d and %d days: want 0..366", s.LeadDays, s.EstablishLeadDays))
	}
	if s.OverdueNotices < 0 || s.OverdueNotices > 52 {
		errs = append(errs, fmt.Sprintf("%d overdue notices: want 0..52", s.OverdueNotices))
	}
	if s.OverdueEveryDays < 1 || s.OverdueEveryDays > 366 {
		errs = append(errs, fmt.Sprintf("overdue notices every %d days: want 1..366", s.OverdueEveryDays))
	}
	if s.ImprovementPlanDays < 0 || s.ImprovementPlanDays > 366 || s.ImprovementResultDays < 0 || s.ImprovementResultDays > 366 {
		errs = append(errs, fmt.Sprintf("improvement plan due %d days, result %d days: want 1..366 (0: default)", s.ImprovementPlanDays, s.ImprovementResultDays))
	}
	if s.Policy.Location == nil {
		errs = append(errs, "the policy has no location")
	}
	if len(errs) > 0 {
		return fmt.Errorf("deadlines: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Items returns what waits on the SKP sk, in a stable order. It reads the
// domain's own view of the SKP: the objection window's deadline is the one
// the domain recorded (it decides where the window starts and whether days
// are calendar or working days), and whether an evaluation becomes final
// when its window passes is the domain's status at that instant.
func Items(sk *skp.SKP, s Settings) []Item {
	if sk == nil {
		return nil
	}
	loc := s.Policy.Location
	v := sk.View(time.Time{})
	base := Item{SKPID: v.ID, NIP: v.NIP, Name: v.Employee.Name, UnitID: v.Employee.UnitID, Year: v.Year}
	var out []Item
	add := func(it Item, lead int) {
		it.Key = strings.Join([]string{string(it.Kind), it.SKPID, it.Period, it.ObjectionID, it.RequestID}, "/")
		if it.FireAt.IsZero() {
			it.FireAt = it.Due.AddDate(0, 0, -lead)
			if it.FireAt.Before(it.From) {
				it.FireAt = it.From
			}
		}
		out = append(out, it)
		if !it.Kind.HasNotices() || it.Recipient == "" {
			return
		}
		// Overdue notices: a second after the deadline, then every
		// OverdueEveryDays; a slot not after the reminder itself (an item
		// that began to wait after its deadline) is left out, the
		// reminder already says it is overdue.
		for n := 1; n <= s.OverdueNotices; n++ {
			o := it
			o.Notice, o.Key = n, it.Key+overdueSep+strconv.Itoa(n)
			o.FireAt = it.Due.Add(time.Second).AddDate(0, 0, (n-1)*s.OverdueEveryDays)
			if o.FireAt.After(it.FireAt) {
				out = append(out, o)
			}
		}
	}
	endOf := func(d calendar.Date) time.Time { return d.End(loc).UTC() }
	startOf := func(d calendar.Date) time.Time { return d.Start(loc).UTC() }

	switch v.Status {
	case skp.StatusDraft:
		it := base
		it.Kind, it.Recipient, it.RecipientRole = SubmitSKP, v.NIP, domain.RoleEmployee
		it.From, it.Due = v.DraftedAt, endOf(s.Policy.EstablishDeadlineFor(v.Year))
		add(it, s.EstablishLeadDays)
	case skp.StatusSubmitted:
		if v.AppraiserNIP != "" {
			it := base
			it.Kind, it.Recipient, it.RecipientRole = EstablishSKP, v.AppraiserNIP, domain.RoleAppraiser
			it.From, it.Due = v.UpdatedAt, endOf(s.Policy.EstablishDeadlineFor(v.Year))
			add(it, s.EstablishLeadDays)
		}
	case skp.StatusEstablished, skp.StatusAmendment, skp.StatusClosed:
		// A closed SKP (position change) is rated for the periods begun
		// before the close, from the first day in the new post
		// (skp.EvaluationOpens); an SKP closed before it was established
		// waits for nothing.
		closedFrom, closed := sk.ClosedFrom()
		if closed && len(v.Versions) == 0 {
			break
		}
		if sk.AwaitsEmployeeSignature() {
			// The amendment's opening is the latest AMENDMENT_OPENED note:
			// the item keeps its deadline (and its FireID) across edits.
			opened := v.UpdatedAt
			for _, n := range v.Notes {
				if n.Kind == "AMENDMENT_OPENED" {
					opened = n.OccurredAt
				}
			}
			it := base
			it.Kind, it.Recipient, it.RecipientRole = SignAmendedPlan, v.NIP, domain.RoleEmployee
			it.From, it.Due = opened, endOf(s.Policy.Date(opened).AddDays(s.ExplanationDays))
			add(it, s.LeadDays)
		}
		rated := map[string]bool{}
		for _, e := range v.Evaluations {
			rated[e.Period] = true
		}
		annual := fmt.Sprintf("%04d", v.Year)
		for _, p := range periodsOf(v.Year, v.Cadence) {
			// Once the year is rated, a periodic period left unrated
			// waits for nobody: the annual evaluation settles the year.
			if rated[p.String()] || v.AppraiserNIP == "" || (rated[annual] && !p.IsAnnual()) || (closed && !p.Start().Before(closedFrom)) {
				continue
			}
			opens := skp.EvaluationOpens(sk, p)
			it := base
			it.Kind, it.Period, it.Recipient, it.RecipientRole = RatePeriod, p.String(), v.AppraiserNIP, domain.RoleAppraiser
			it.From, it.Due = startOf(opens), endOf(opens.AddDays(s.RatingDays-1))
			add(it, s.LeadDays)
		}
	}

	for _, e := range v.Evaluations {
		if e.Status == skp.EvalDraft && e.AppraiserNIP != "" && (v.Status.Open() || v.Status == skp.StatusClosed) {
			it := base
			it.Kind, it.Period, it.Recipient, it.RecipientRole = IssueEvaluation, e.Period, e.AppraiserNIP, domain.RoleAppraiser
			it.From, it.Due = e.RatedAt, endOf(s.Policy.Date(e.RatedAt).AddDays(s.RatingDays))
			add(it, s.LeadDays)
		}
		if e.ObjectionDeadline != nil && !e.FinalityRecorded {
			deadline := *e.ObjectionDeadline
			after := deadline.Add(time.Second)
			if e.Status == skp.EvalIssued && e.DeliveredAt != nil {
				it := base
				it.Kind, it.Period, it.Recipient, it.RecipientRole = ObjectionWindow, e.Period, v.NIP, domain.RoleEmployee
				it.From, it.Due = *e.DeliveredAt, deadline
				add(it, s.LeadDays)
			}
			if final := evaluationAt(sk, e.Period, after); final.Status == skp.EvalFinal && final.FinalReason == skp.WindowElapsed && !final.FinalityRecorded {
				it := base
				it.Kind, it.Period = FinaliseEvaluation, e.Period
				it.From, it.Due, it.FireAt = deadline, deadline, after
				if e.DeliveredAt != nil {
					it.From = *e.DeliveredAt
				}
				add(it, 0)
			}
		}
		for _, o := range e.Objections {
			if o.Status != skp.OpenObjection {
				continue
			}
			decider := o.AddressedTo
			if o.Decider != nil {
				decider = o.Decider.DeciderNIP // delegated or escalated (issue 11)
			}
			if decider != "" {
				it := base
				it.Kind, it.Period, it.ObjectionID = DecideObjection, e.Period, o.ID
				it.Recipient, it.RecipientRole = decider, domain.RoleAppraiserSuperior
				it.From, it.Due = o.FiledAt, endOf(s.Policy.Date(o.FiledAt).AddDays(s.Policy.ObjectionDecisionSLADays))
				add(it, s.LeadDays)
			}
			for _, r := range o.Requests {
				if slices.ContainsFunc(o.Explanations, func(x skp.Explanation) bool { return x.RequestID == r.ID }) {
					continue
				}
				it := base
				it.Kind, it.Period, it.ObjectionID, it.RequestID = GiveExplanation, e.Period, o.ID, r.ID
				switch r.From {
				case skp.PartyAppraiser:
					it.Recipient, it.RecipientRole = o.AppraiserNIP, domain.RoleAppraiser
				default:
					it.Recipient, it.RecipientRole = v.NIP, domain.RoleEmployee
				}
				it.From = r.OccurredAt
				if r.DueAt != nil {
					it.Due = r.DueAt.UTC()
				} else {
					it.Due = endOf(s.Policy.Date(r.OccurredAt).AddDays(s.ExplanationDays))
				}
				add(it, s.LeadDays)
			}
		}
	}
	improvementItems(sk, v, base, s, add)
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// improvementItems adds the items of improvement plans (issue 14): a final
// evaluation rated BUTUH_PERBAIKAN or worse waits for its plan; an open
// plan waits for its follow-up, then for its result.
func improvementItems(sk *skp.SKP, v skp.View, base Item, s Settings, add func(Item, int)) {
	loc := s.Policy.Location
	endOf := func(d calendar.Date) time.Time { return d.End(loc).UTC() }
	for _, e := range v.Evaluations {
		appraiser := v.AppraiserNIP
		if appraiser == "" {
			appraiser = e.AppraiserNIP
		}
		plan, opened := sk.ImprovementPlanOf(e.Period)
		final, ok := sk.FinalSince(e.Period)
		switch {
		case !opened && ok && skp.NeedsImprovementPlan(e.Predikat) && appraiser != "":
			it := base
			it.Kind, it.Period, it.Recipient, it.RecipientRole = OpenImprovementPlan, e.Period, appraiser, domain.RoleAppraiser
			it.From, it.Due = final, endOf(s.Policy.Date(final).AddDays(orDefault(s.ImprovementPlanDays, DefaultImprovementPlanDays)))
			add(it, s.LeadDays)
		case opened && plan.Open():
			to := appraiser
			if to == "" {
				to = plan.OpenedBy
			}
			it := base
			it.Kind, it.Period, it.Recipient, it.RecipientRole = ImprovementFollowUp, e.Period, to, domain.RoleAppraiser
			it.From, it.Due = plan.OpenedAt, endOf(plan.FollowUpOn)
			add(it, s.LeadDays)
			it.Kind = ImprovementResult
			it.From, it.Due = plan.FollowUpOn.Start(loc).UTC(), endOf(plan.FollowUpOn.AddDays(orDefault(s.ImprovementResultDays, DefaultImprovementResultDays)))
			it.FireAt = it.From // reminded on the follow-up day itself
			add(it, 0)
		}
	}
}

// evaluationAt is the domain's view of period's evaluation at instant t.
func evaluationAt(sk *skp.SKP, p string, t time.Time) skp.EvaluationView {
	for _, e := range sk.View(t).Evaluations {
		if e.Period == p {
			return e
		}
	}
	return skp.EvaluationView{}
}

// periodsOf returns the periodic periods of year under cadence, then the
// year itself.
func periodsOf(year int, c period.Cadence) []period.Period {
	var out []period.Period
	if c == period.Monthly {
		for m := 1; m <= 12; m++ {
			out = append(out, period.MustParse(fmt.Sprintf("%04d-%02d", year, m)))
		}
	} else {
		for q := 1; q <= 4; q++ {
			out = append(out, period.MustParse(fmt.Sprintf("%04d-Q%d", year, q)))
		}
	}
	return append(out, period.MustParse(fmt.Sprintf("%04d", year)))
}
