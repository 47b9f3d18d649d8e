// Package policy provides the configuration of the appraisal rules: every
// assumption domain.md tags [U] (unconfirmed) and every per-agency choice
// lives here, each with the default the document proposes. The rules that
// are confirmed or decided ([C], [S], [D]) are code, not configuration.
//
// Start from [Default] and change what an agency needs; call
// [Policy.Validate] once at start-up. Commands copy the values they apply
// into the events they record (the lateness flag, the objection deadline,
// the policy version), so a later change of policy never changes history.
//
// | Field                    | Default                        | Source                  |
// |--------------------------|--------------------------------|-------------------------|
// | Version                  | PERMENPANRB_6_2022+SE_3_2023   | §8.1, §7.3 #9           |
// | Cadence                  | QUARTERLY                      | §3.1 [C] definition, [D]|
// | EstablishDeadline        | 31 January                     | §3.1 [S]/[U]            |
// | ObjectionWindowDays      | 14                             | §5 [S]                  |
// | ObjectionWorkingDays     | false (calendar days)          | §5 [U]                  |
// | Holidays                 | none                           | (working days only)     |
// | PeriodicObjections       | false (annual only)            | §5 [U]                  |
// | RecordLateObjections     | false (refuse)                 | §5 invariant 2 [D]      |
// | ObjectionDecisionSLADays | 14                             | §5 [U] (no rule found)  |
// | HRAdminMayDraft          | true                           | §2.1, §3.3 [U]          |
// | DistributionMode         | WARN                           | §4.4 [D]                |
// | DistributionPopulation   | UNIT_AND_SUBUNITS              | §4.4 [U], api.md        |
// | UnitHeadRating           | ISTIMEWA→DI_ATAS, BAIK→SESUAI, others→DI_BAWAH | §4.3 [U] |
// | RequireOrgPredikat       | false                          | §3.3 [S], see field doc |
// | AppraiserMinimumRank     | true                           | §2.1 [C] definition     |
// | Location                 | WIB (UTC+07:00)                | [D]                     |
// | Dating.Tolerance         | 10 minutes                     | §10 [D]                 |
// | Dating.MaxAge            | 90 days                        | §10 [D]                 |
// | FeedbackAnonymityThreshold | 0 (= 3)                      | issue 14 [D]            |
// | SKPLimits                | 200 RHK, 20 indicators/RHK, 5000 realisations, evidence, feedback | issue 9 §4 [D] |
package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// DistributionMode says what a deviation from the distribution pattern does.
type DistributionMode string

// Distribution modes (domain.md §4.4).
const (
	// Warn: a deviation is allowed but needs a recorded justification by the
	// unit leader (the default; the SE calls the pattern a "pertimbangan").
	Warn DistributionMode = "WARN"
	// Block: a deviation refuses the action that would finalise it.
	Block DistributionMode = "BLOCK"
)

// SuperiorRule says what happens when the appraiser's superior recorded
// for an employee's line is not the appraiser's own appraiser on that date.
type SuperiorRule string

// Superior rules (issue 11; domain.md §2.1).
const (
	// SuperiorRefuse: the line is refused (the default: the Atasan Pejabat
	// Penilai Kinerja is the appraiser's direct superior, §2.1).
	SuperiorRefuse SuperiorRule = "REFUSE"
	// SuperiorAcceptWithReason: the line is recorded when the request
	// carries a reason, which the event's envelope keeps.
	SuperiorAcceptWithReason SuperiorRule = "ACCEPT_WITH_REASON"
)

// Population says which employees a unit's distribution counts.
type Population string

// Populations.
const (
	// UnitAndSubunits counts the employees of the unit and of every unit
	// below it (the definition api.md's distribution report uses).
	UnitAndSubunits Population = "UNIT_AND_SUBUNITS"
	// AppraiserInUnit counts the employees whose appraiser sits in the unit
	// (the default domain.md §4.4 proposes).
	AppraiserInUnit Population = "APPRAISER_IN_UNIT"
)

// MonthDay is a day of the year, such as 31 January.
type MonthDay struct {
	// Month is 1–12.
	Month time.Month
	// Day is 1–31; in a year where the month is shorter (29 February) the
	// last day of the month is used.
	Day int
}

// In returns the date of m in year.
func (m MonthDay) In(year int) calendar.Date {
	d := min(m.Day, calendar.DaysIn(year, m.Month))
	return calendar.MustNew(year, m.Month, d)
}

// Policy is the configuration of the appraisal rules. The zero value is not
// useful; start from [Default].
type Policy struct {
	// Version names the rule set, recorded in the events whose outcome it
	// shapes (the SKP schema varies by year and regulation, §7.3 #9).
	Version string
	// Cadence is the periodic evaluation cadence: QUARTERLY or MONTHLY.
	Cadence period.Cadence
	// EstablishDeadline is the last day to establish the SKP of a year.
	// Establishing later is allowed but flagged late.
	EstablishDeadline MonthDay
	// ObjectionWindowDays is the length of the objection window, counted
	// from the day after delivery; the window closes at the end of the last
	// day in Location.
	ObjectionWindowDays int
	// ObjectionWorkingDays counts the window in working days (Monday to
	// Friday except Holidays) instead of calendar days.
	ObjectionWorkingDays bool
	// Holidays are the non-working weekdays used when ObjectionWorkingDays.
	Holidays []calendar.Date
	// PeriodicObjections allows objections to periodic (monthly or
	// quarterly) evaluations; by default only annual ones. When false, a
	// periodic evaluation is final as soon as it is issued.
	PeriodicObjections bool
	// RecordLateObjections records a filing after the window as an
	// "objection filed late" event for the appraiser's superior to reject,
	// instead of refusing it.
	RecordLateObjections bool
	// ObjectionDecisionSLADays is the service level for deciding an
	// objection, for dashboards only; no rule gives an automatic outcome.
	ObjectionDecisionSLADays int
	// HRAdminMayDraft lets HR_ADMIN draft an SKP on an employee's behalf.
	HRAdminMayDraft bool
	// DistributionMode is WARN or BLOCK.
	DistributionMode DistributionMode
	// DistributionPopulation defines whom a unit's distribution counts.
	DistributionPopulation Population
	// UnitHeadRating maps a unit's organisation predikat to the work-result
	// rating of the unit's head for the same period (§4.3: "capaian kinerja
	// satuan organisasi yang dipimpin ditetapkan sebagai rating hasil kerja").
	// Every organisation predikat must be mapped.
	UnitHeadRating map[rating.OrgPredikat]rating.Rating
	// RequireOrgPredikat refuses to rate an employee for a period before the
	// organisation predikat of the employee's unit for that period is set
	// (the three-stage evaluation of SE 3/2023; domain.md §3.3 lists it as a
	// guard of rating). Off by default, a departure recorded in
	// docs/domain-model.md: the SE calls the pattern a "pertimbangan"; the
	// organisation predikat of a quarter is set from action-plan progress,
	// often after the periodic ratings that TPP payments wait for; and a
	// missing predikat is no longer silent (the distribution reads
	// UNDETERMINED). Unit heads always need it, whatever this says.
	RequireOrgPredikat bool
	// RequireRatingGrounds requires, with every rating, the work-result
	// rating of each RHK of the version in effect (with its rationale) and a
	// behaviour note on each of the seven BerAKHLAK values (forms B.1.x).
	// Off by default: domain.md §4.1 treats the overall rating as the
	// appraiser's judgement recorded with its rationale, and demands no
	// per-RHK breakdown; the grounds are then optional.
	RequireRatingGrounds bool
	// SuperiorMismatch decides a line whose appraiser's superior is not the
	// appraiser's own appraiser on the line's effective date: REFUSE
	// (default) or ACCEPT_WITH_REASON. Not checked when the appraiser has no
	// line in effect on that date.
	SuperiorMismatch SuperiorRule
	// OrgPredikatBody names the unit whose head sets the organisation
	// predikat of every unit ("the body the policy names", e.g. a
	// performance evaluation team). Empty (the default, domain.md §2.1,
	// §4.3): the leader one level up — the head of the parent unit on the
	// date; for a root unit, its own head. HR_ADMIN enters it only as a
	// backfill from paper, with paper_ref.
	OrgPredikatBody string
	// AppraiserMinimumRank requires an appraiser to hold at least a
	// Pengawas post (JPT, ADMINISTRATOR or PENGAWAS) unless the reporting
	// line records a delegation (capacity PLT, PLH or DELEGATE with a
	// reference) — PermenPANRB 6/2022 Art. 1 no. 9.
	AppraiserMinimumRank bool
	// Location is the zone in which instants become dates (deadlines,
	// windows, effective dates). A fixed zone: the domain loads no zone data.
	Location *time.Location
	// Dating says how far back business time may lie: the tolerance of an
	// ordinary act and the maximum age of a backfill (domain.md §10). The
	// service gives it to its domain.Handler, which applies it to
	// occurred_at and, through Handler.BusinessTime, to every other date a
	// client sends.
	Dating bizdate.Rule
	// SKPLimits bounds what one SKP may hold, so that no single employee
	// can grow an SKP (and every read of it) without end (issue 9 §4).
	SKPLimits SKPLimits
	// FeedbackAnonymityThreshold is K of the 360° rounds (issue 14): a PEER
	// or SUBORDINATE group is shown, as an aggregate, only from K answers
	// on. 0 means the default, 3; otherwise at least 2.
	FeedbackAnonymityThreshold int
}

// SKPLimits bounds the contents of one SKP; generous for real use.
type SKPLimits struct {
	// RHK is the most RHK of the working plan.
	RHK int
	// IndicatorsPerRHK is the most indicators of one RHK.
	IndicatorsPerRHK int
	// Realisations, Evidence and Feedback are the most records of each
	// kind over the SKP's life.
	Realisations, Evidence, Feedback int
}

// DefaultSKPLimits are the defaults: far above a real plan (a few RHK with
// a few indicators each, a realisation per indicator and period).
func DefaultSKPLimits() SKPLimits {
	return SKPLimits{RHK: 200, IndicatorsPerRHK: 20, Realisations: 5000, Evidence: 5000, Feedback: 5000}
}

// ParseSKPLimits reads "rhk=200,indicators=20,realisations=5000,
// evidence=5000,feedback=5000" (any subset) over base.
func ParseSKPLimits(s string, base SKPLimits) (SKPLimits, error) {
	if strings.TrimSpace(s) == "" {
		return base, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 1 || n > 1_000_000 {
			return base, fmt.Errorf("skp limits %q: want name=N with N in 1..1000000", kv)
		}
		switch strings.TrimSpace(k) {
		case "rhk":
			base.RHK = n
		case "indicators":
			base.IndicatorsPerRHK = n
		case "realisations":
			base.Realisations = n
		case "evidence":
			base.Evidence = n
		case "feedback":
			base.Feedback = n
		default:
			return base, fmt.Errorf("skp limits: unknown limit %q (want rhk, indicators, realisations, evidence, feedback)", k)
		}
	}
	return base, nil
}

// WIB is Western Indonesia Time, UTC+07:00.
var WIB = time.FixedZone("WIB", 7*60*60)

// Default returns the policy with every default of domain.md.
func Default() Policy {
	return Policy{
		Version:                  "PERMENPANRB_6_2022+SE_3_2023",
		Cadence:                  period.Quarterly,
		EstablishDeadline:        MonthDay{Month: time.January, Day: 31},
		ObjectionWindowDays:      14,
		ObjectionDecisionSLADays: 14,
		HRAdminMayDraft:          true,
		DistributionMode:         Warn,
		DistributionPopulation:   UnitAndSubunits,
		UnitHeadRating: map[rating.OrgPredikat]rating.Rating{
			rating.Istimewa:          rating.AboveExpectation,
			rating.OrgBaik:           rating.MeetsExpectation,
			rating.OrgButuhPerbaikan: rating.BelowExpectation,
			rating.OrgKurang:         rating.BelowExpectation,
			rating.OrgSangatKurang:   rating.BelowExpectation,
		},
		AppraiserMinimumRank: true,
		SuperiorMismatch:     SuperiorRefuse,
		Location:             WIB,
		Dating:               bizdate.Default(),
		SKPLimits:            DefaultSKPLimits(),
	}
}

// Validate reports every problem of p, joined.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("policy: "+format, args...)) }
	if p.Version == "" {
		bad("version is required")
	}
	if !p.Cadence.Valid() {
		bad("cadence %q: want QUARTERLY or MONTHLY", p.Cadence)
	}
	if m := p.EstablishDeadline; m.Month < time.January || m.Month > time.December || m.Day < 1 || m.Day > calendar.DaysIn(2024, m.Month) {
		bad("establish deadline %d-%d is not a day of the year", int(m.Month), m.Day)
	}
	if p.ObjectionWindowDays < 1 || p.ObjectionWindowDays > 366 {
		bad("objection window %d days: want 1..366", p.ObjectionWindowDays)
	}
	if p.ObjectionDecisionSLADays < 0 {
		bad("objection decision SLA %d days: want at least 0", p.ObjectionDecisionSLADays)
	}
	if p.DistributionMode != Warn && p.DistributionMode != Block {
		bad("distribution mode %q: want WARN or BLOCK", p.DistributionMode)
	}
	if p.DistributionPopulation != UnitAndSubunits && p.DistributionPopulation != AppraiserInUnit {
		bad("distribution population %q: want UNIT_AND_SUBUNITS or APPRAISER_IN_UNIT", p.DistributionPopulation)
	}
	for _, o := range rating.OrgPredikats() {
		if r, ok := p.UnitHeadRating[o]; !ok || !r.Valid() {
			bad("unit head rating for %s is missing or invalid", o)
		}
	}
	for o := range p.UnitHeadRating {
		if !o.Valid() {
			bad("unit head rating maps unknown organisation predikat %q", o)
		}
	}
	if p.Location == nil {
		bad("location is required")
	}
	if p.SuperiorMismatch != SuperiorRefuse && p.SuperiorMismatch != SuperiorAcceptWithReason {
		bad("superior mismatch %q: want REFUSE or ACCEPT_WITH_REASON", p.SuperiorMismatch)
	}
	if p.OrgPredikatBody != strings.TrimSpace(p.OrgPredikatBody) {
		bad("organisation predikat body %q has surrounding spaces", p.OrgPredikatBody)
	}
	if err := p.Dating.Validate(); err != nil {
		bad("%v", err)
	}
	if k := p.FeedbackAnonymityThreshold; k != 0 && (k < 2 || k > 1000) {
		bad("feedback anonymity threshold %d: want 2..1000 (0 for the default, 3)", k)
	}
	if l := p.SKPLimits; l.RHK < 1 || l.IndicatorsPerRHK < 1 || l.Realisations < 1 || l.Evidence < 1 || l.Feedback < 1 {
		bad("skp limits %+v: every limit must be at least 1", l)
	}
	return errors.Join(errs...)
}

// Date returns the date of instant t in the policy's location.
func (p Policy) Date(t time.Time) calendar.Date { return calendar.Of(t, p.Location) }

// EstablishDeadlineFor returns the establishment deadline of the SKP of year.
func (p Policy) EstablishDeadlineFor(year int) calendar.Date { return p.EstablishDeadline.In(year) }

// LateEstablishment reports whether establishing the SKP of year at instant
// at is after the deadline.
func (p Policy) LateEstablishment(year int, at time.Time) bool {
	return p.Date(at).After(p.EstablishDeadlineFor(year))
}

// ObjectionsAllowed reports whether an evaluation of period pr may be
// objected to.
func (p Policy) ObjectionsAllowed(pr period.Period) bool {
	return pr.IsAnnual() || p.PeriodicObjections
}

// ObjectionDeadline returns the last instant (23:59:59 of the last day, in
// Location) at which an objection to an evaluation delivered at deliveredAt
// may be filed.
func (p Policy) ObjectionDeadline(deliveredAt time.Time) time.Time {
	d := p.Date(deliveredAt)
	var last calendar.Date
	if p.ObjectionWorkingDays {
		last = calendar.Workdays{Holidays: p.Holidays}.AddWorkdays(d, p.ObjectionWindowDays)
	} else {
		last = d.AddDays(p.ObjectionWindowDays)
	}
	return last.End(p.Location).UTC()
}

// WithinWindow reports whether filedAt is on or before deadline. Filing at
// any moment of the last day counts, including its final second.
func WithinWindow(filedAt, deadline time.Time) bool {
	return filedAt.Before(deadline.Add(time.Second))
}

// UnitHeadWorkResult returns the work-result rating of a unit head whose
// unit received org.
func (p Policy) UnitHeadWorkResult(org rating.OrgPredikat) (rating.Rating, bool) {
	r, ok := p.UnitHeadRating[org]
	return r, ok && r.Valid()
}
