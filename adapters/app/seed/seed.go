// Package seed generates a realistic agency for demonstrations, benchmarks
// and tests (kinerjactl seed, the API's and the dashboard's tests),
// deterministically, through the same domain command handlers as the API
// and the dashboard (the application layer's services): every fact is a
// command of a domain service, made by the principal the API would
// authenticate (the employee, the appraiser in effect, the appraiser's
// superior, the HR administrator, the grievance clerk) and decided by the
// domain's rules. No event is written directly.
//
// # What an agency holds
//
// A non-ministerial agency (Badan) of Config.Employees people: a unit tree
// of deputies (Sekretariat Utama, Deputi), bureaus and directorates,
// divisions and sections whose sizes scale with N; every unit headed (JPT
// Utama at the top, JPT Madya, JPT Pratama, ADMINISTRATOR, PENGAWAS) and
// staffed (PELAKSANA and functional posts, about 15 % PPPK); valid, unique
// NIPs and NI PPPK with plausible birth dates and appointments; Indonesian
// names; reporting lines effective 1 January (the appraiser is the head of
// the unit, or of the unit above for a head; the superior is the head one
// level further up); the organisation predikat of every unit for every
// period.
//
// The head of the agency and the heads of its deputies are appraised
// outside the ledger (by the President and the head of the agency: the
// domain needs a registered appraiser and a different registered superior),
// so the first SKPs are the JPT Pratama's, whose RHK cite the Perjanjian
// Kinerja; every other UTAMA RHK cascades from an RHK of the appraiser's
// established SKP, so SKPs are planned top down, a tier at a time.
//
// For the year: SKPs drafted (a few by HR_ADMIN on the employee's behalf, a
// few before the appraiser's SKP was established, with the link added
// later), submitted and established (some late, after the deadline; some
// returned once; a few left in DRAFT or SUBMITTED); feedback, realisations
// and evidence per period; periodic and annual ratings, some revised before
// issue with a reason; deviations from the distribution pattern justified
// by the leader one level up; annual evaluations issued and delivered; some
// objections (filed by the employee or recorded by the grievance clerk),
// explanations requested from both parties and given, decided UPHELD or
// CHANGED by the appraiser's superior, withdrawn, or left open; some
// evaluations finalised once the window passed.
//
// # Time and determinism
//
// Business time comes from Config.Year and Config.Now, never from the wall
// clock: master data is recorded in December of the year before, plans in
// January, periodic work through the year, annual evaluations and
// objections in the first quarter after it. Nothing happens after
// Config.Now, so a Now inside the year seeds the year so far. The
// handlers' clock must not be before Config.Now (commands may not lie in
// the future): seed a past year, or give the handler a clock at or after
// Now.
//
// The same (Seed, Employees, Year, Now, shares) and policy give the same
// streams with the same events: payloads, envelopes and event IDs. Work is
// split into tasks (a unit, an employee, an SKP), each writing its own
// streams with its own random source and its own ID generator, and run
// Workers at a time in phases that respect the dependencies; the order in
// which the store commits them varies, nothing else does. How the
// parallelism keeps this:
//
//   - A task's random source is derived from (Seed, salt, phase, task
//     index) alone (newTask), not drawn from a shared source: the draws a
//     task makes do not depend on which tasks ran before it, or beside it.
//     Choices that span tasks (the agency, the objections, the biased
//     appraisers) are drawn from sources of their own, serially, between
//     phases.
//   - Event and entity IDs come from the task's own counter (idGen), not
//     the clock or a shared sequence.
//   - A task appends only to its own streams (an SKP task to its SKP,
//     a unit task to its unit's distribution): its commands run in order,
//     one at a time, so its expected revisions and chain do not depend on
//     scheduling. What a task reads of other streams (the employees, the
//     appraiser's established SKP) was written in an earlier phase: a phase
//     ends when all its tasks have.
//   - Business time is the task's own (t.at), never the wall clock;
//     RecordedAt and the store positions are the only values that vary,
//     and the store, not the seed, sets them.
//
// TestDeterministic checks it: runs with 3, 16 and the default number of
// workers, cached and uncached, write the same streams, event for event;
// TestDeterministicDigest compares two runs' canonical digests. Seed into a fresh
// store: a second run into the same store conflicts on the first unit.
//
// # Speed
//
// Seeding is bound by the store's commits, so each phase keeps Workers
// tasks in flight (1,024 by default) and the store's group commit shares
// one fsync among their appends; tasks run in the order of their streams'
// names, so the appends of one commit touch neighbouring keys. A task's
// commands are one stream's (an SKP's), in order, each waiting for its
// commit; what runs in parallel is the tasks. With 256 tasks and bbolt's
// batches of up to 512 appends, every task's append went into the same
// commit and the tasks all waited for it: the cores idled through each
// fsync and the committer's transaction (1.2 of 2 cores busy at a
// province, docs/benchmarks.md §57). With more tasks than a batch holds,
// half of them compute their next command while the other half commits. The run's
// commands read through a write-through cache of the streams it writes,
// which saves re-reading and re-decoding a whole SKP for every command (it
// serves exactly what a load would, but for RecordedAt, which no decision
// reads, and assumes the run is the only writer of its streams);
// Config.Uncached turns it off, and the tests check that the events are
// the same either way. It also remembers the streams the store did not
// hold (the domain looks up an appraiser's next SKP sequence for every
// cascaded RHK of their staff) until the run creates them. A task
// forgets its SKP when it is done with it (the appraisers' SKPs, which
// their staff's tasks cascade from, stay for the phase), so the cache
// holds a few hundred SKPs decoded, not a tier of them. The events a
// command appends are cached as decided, not encoded and decoded once
// more. Each SKP's state is carried from one of its commands to the next
// (skp.Carry): a command applies the events appended since the last one
// instead of replaying the whole stream, and the employees the commands
// look up are replayed once per revision. kinerjactl seed
// sizes the store's head cache (PostgreSQL) or trusted heads (bbolt) to
// the run (four heads an employee), so that a province's 210,000 streams
// are not evicted between phases (each evicted head cost a signature
// check before the append), and collects at GOGC 400. On the 2-core development machine,
// 10,000 employees (345,000 commands and events) take 21–47 s on bbolt
// depending on the machine's other load: BenchmarkSeed and TestTenThousand
// measure it.
package seed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// MinEmployees is the smallest agency: the five unit levels and three staff
// (among them the HR administrator and the grievance clerk).
const MinEmployees = 8

// MaxEmployees bounds an agency.
const MaxEmployees = 1_000_000

// DefaultWorkers is how many tasks run at once by default: enough appends
// in flight for the store's group commit to share each fsync, and for the
// next batch to be made ready while one commits (bbolt's committer takes
// up to 512 appends a transaction: with 256 tasks every task waited on
// the same commit, and the cores stood idle through its fsync).
const DefaultWorkers = 1024

// Default shares of the population (see Config).
const (
	DefaultLate       = 0.08
	DefaultReturned   = 0.05
	DefaultIncomplete = 0.02
	DefaultRevisions  = 0.06
	DefaultObjections = 0.03
)

// Config configures a run. Shares are fractions of the population
// concerned: 0 takes the default, a negative value means none.
type Config struct {
	// Employees is N, the number of people, unit heads included (at least
	// MinEmployees).
	Employees int
	// Seed drives every choice.
	Seed int64
	// Year is the performance year seeded (2000–2100).
	Year int
	// Now is the business now: no command occurs after it. Zero means 1
	// April of the year after Year, 16:00 in the policy's zone, when the
	// year's objections are decided. It must not be before 1 January of
	// Year, nor after the handlers' clock.
	Now time.Time
	// Workers is how many tasks run at once (default DefaultWorkers).
	Workers int
	// Progress, when set, is called after each task with the tasks done and
	// the total, from the workers' goroutines one call at a time.
	Progress func(done, total int)
	// Late is the share of staff whose SKP is established after the
	// deadline (and a third of it, of sections that are late as a whole).
	Late float64
	// Returned is the share of staff whose SKP is returned once.
	Returned float64
	// Incomplete is the share of staff whose SKP stays in DRAFT or
	// SUBMITTED.
	Incomplete float64
	// Revisions is the share of annual ratings revised before issue (and a
	// third of it for periodic ones).
	Revisions float64
	// Objections is the share of annual evaluations objected to.
	Objections float64
	// BiasedAppraisers is how many appraisers of staff rate with a bias
	// (for the calibration view's tests and demonstrations): the first
	// half, rounded up, leniently (their staff's work results pushed up by
	// 0.3 of the target, behaviour meeting expectations rated above), the
	// rest severely (pushed down by 0.3, behaviour above expectations rated
	// as meeting them). Only appraisers of at least MinBiasedStaff staff are chosen,
	// so a biased one gives enough ratings to be told from chance; fewer
	// such appraisers than asked is an error. 0 (the default) leaves every
	// choice of the run as without the option.
	BiasedAppraisers int
	// AgencyCode, when set, is the root unit's ID (and the agency name's
	// suffix) instead of the one drawn, so that several runs on one store
	// make several agencies (kinerjactl seed --agencies). "" leaves every
	// choice of the run as without the option.
	AgencyCode string
	// TakenNIPs, when set, are NIPs already used (by an earlier run on the
	// same store); the run draws others and adds its own. Nil leaves every
	// choice of the run as without the option.
	TakenNIPs map[string]bool
	// Uncached makes every command read its streams from the services'
	// log, as the API does, instead of through the run's write-through
	// cache of the streams it writes (slower; the events are the same).
	Uncached bool
}

func share(v, def float64) float64 {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// withDefaults fills the zero values.
func (c Config) withDefaults(pol policy.Policy) Config {
	if c.Now.IsZero() && c.Year != 0 {
		loc := pol.Location
		if loc == nil {
			loc = policy.WIB
		}
		c.Now = EndOf(c.Year, loc)
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	c.Late = share(c.Late, DefaultLate)
	c.Returned = share(c.Returned, DefaultReturned)
	c.Incomplete = share(c.Incomplete, DefaultIncomplete)
	c.Revisions = share(c.Revisions, DefaultRevisions)
	c.Objections = share(c.Objections, DefaultObjections)
	return c
}

// EndOf is the default Config.Now of year: 1 April of the year after,
// 16:00 in loc, when the year's objections are decided. A test sets its
// handlers' clock after it.
func EndOf(year int, loc *time.Location) time.Time {
	return time.Date(year+1, time.April, 1, 16, 0, 0, 0, loc)
}

// Validate reports every problem of c (after defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Employees < MinEmployees || c.Employees > MaxEmployees {
		errs = append(errs, fmt.Errorf("seed: employees %d: want %d..%d", c.Employees, MinEmployees, MaxEmployees))
	}
	if c.Year < skp.MinYear || c.Year > skp.MaxYear {
		errs = append(errs, fmt.Errorf("seed: year %d: want %d..%d", c.Year, skp.MinYear, skp.MaxYear))
	} else if !c.Now.IsZero() && c.Now.Before(time.Date(c.Year, time.January, 1, 0, 0, 0, 0, policy.WIB)) {
		errs = append(errs, fmt.Errorf("seed: now %s is before the year %d begins", c.Now.Format(time.RFC3339), c.Year))
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"late", c.Late}, {"returned", c.Returned}, {"incomplete", c.Incomplete}, {"revisions", c.Revisions}, {"objections", c.Objections}} {
		if s.v > 1 {
			errs = append(errs, fmt.Errorf("seed: %s share %g: want at most 1", s.name, s.v))
		}
	}
	if c.BiasedAppraisers < 0 || c.BiasedAppraisers > c.Employees/MinBiasedStaff {
		errs = append(errs, fmt.Errorf("seed: biased appraisers %d: want 0..%d for %d employees", c.BiasedAppraisers, c.Employees/MinBiasedStaff, c.Employees))
	}
	return errors.Join(errs...)
}

// Services are the domain services the seed commands through, as the API
// and the dashboard use them (app.Services). Each task runs on copies of
// them whose handler is a copy of the service's with a deterministic
// NewID; the log, the clock and the attempts are the caller's.
type Services = app.Services

// NewServices returns the four services on one handler and policy, with
// the SE 3/2023 distribution pattern: the usual wiring.
func NewServices(h *domain.Handler, pol policy.Policy) Services {
	return Services{
		Units:        &orgunit.Service{Handler: h, Policy: pol},
		Employees:    &employee.Service{Handler: h, Policy: pol},
		SKPs:         &skp.Service{Handler: h, Policy: pol},
		Distribution: &distribution.Service{Handler: h, Policy: pol, Pattern: distribution.SE3_2023},
	}
}

func validateServices(s Services, now time.Time) error {
	var errs []error
	check := func(name string, h *domain.Handler) {
		switch {
		case h == nil || h.Log == nil || h.Now == nil:
			errs = append(errs, fmt.Errorf("seed: the %s service needs a handler with a log and a clock", name))
		case h.Now().Before(now):
			errs = append(errs, fmt.Errorf("seed: the %s handler's clock (%s) is before the seed's now (%s): commands would lie in the future; seed a past year or set the clock",
				name, h.Now().Format(time.RFC3339), now.Format(time.RFC3339)))
		}
	}
	if s.Units == nil || s.Employees == nil || s.SKPs == nil || s.Distribution == nil {
		return errors.New("seed: every service is required")
	}
	check("units", s.Units.Handler)
	check("employees", s.Employees.Handler)
	check("skps", s.SKPs.Handler)
	check("distribution", s.Distribution.Handler)
	if err := s.SKPs.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Stats describes what a run produced.
type Stats struct {
	// Agency is the agency's name; AgencyUnit its root unit id.
	Agency, AgencyUnit string
	// Units and Employees registered; PPPK among them.
	Units, Employees, PPPK int
	// SKPs drafted; Established of them (Late after the deadline);
	// Returned once; Draft and Submitted left so at Now.
	SKPs, Established, Late, Returned, Draft, Submitted int
	// Ratings given (periodic and annual) and Revisions of them before
	// issue; Issued evaluations; Finalised ones (finality recorded).
	Ratings, Revisions, Issued, Finalised int
	// Objections filed (ByClerk recorded by the clerk); Upheld, Changed,
	// Withdrawn, and Open at Now.
	Objections, ByClerk, Upheld, Changed, Withdrawn, Open int
	// Justifications of distribution deviations.
	Justifications int
	// Commands run and Events they appended.
	Commands, Events int
	// Elapsed is the run's wall-clock duration.
	Elapsed time.Duration
	// Cast names people worth logging in as.
	Cast Cast
	// Lenient and Severe are the NIPs of the biased appraisers
	// (Config.BiasedAppraisers), sorted.
	Lenient, Severe []string
}

// Cast names people of the agency for demonstrations and browser tests.
// Employees' tokens carry no role; HRAdmin's carries HR_ADMIN and Clerk's
// GRIEVANCE_CLERK.
type Cast struct {
	// HRAdmin is the HR administrator who recorded the master data.
	HRAdmin string
	// Clerk is the grievance clerk.
	Clerk string
	// Head is the head of the agency (JPT Utama).
	Head string
	// Appraiser heads the HR administrator's section and appraises its
	// staff; Superior is the appraiser's superior.
	Appraiser, Superior string
	// Employee is a member of that section with an established SKP.
	Employee string
	// Objectors are the employees whose annual evaluation was objected to,
	// in the order of the objection kinds (upheld, changed on a paper
	// filing, withdrawn, changed, upheld on a paper filing, open, …).
	Objectors []string
}

// skpResult is what one SKP's tasks leave for later phases and other
// tasks: written by the SKP's own task, read after the phase ends.
type skpResult struct {
	id          string
	established time.Time // business time, zero if not established
	plan        []rhkRef  // the established plan
	annual      skp.Scores
	rated       bool      // annual rating given
	last        time.Time // business time of the last command so far
}

type rhkRef struct {
	id         string
	kind       skp.RHKKind
	indicators []indicatorRef
}

type indicatorRef struct {
	id     string
	aspect skp.Aspect
	target skp.Target
}

// runner is one run.
type runner struct {
	cfg      Config
	svc      Services
	pol      policy.Policy
	ag       *agency
	salt     [9]byte
	tag      string
	periodic []period.Period // the cadence's periods of the year
	year     period.Period
	results  []skpResult // by person index
	caches   map[domain.EventLog]*cachedLog
	// carry keeps each SKP's state between its commands (nil when
	// Uncached): the next command applies the events appended since
	// instead of replaying the stream (skp.Carry).
	carry *skp.Carry
	// unitCounts are the annual predikat counts of each unit's population
	// (by unit index), tallied once the annual ratings are in (counts).
	unitCounts []distribution.Counts
	tallyOnce  sync.Once

	mu    sync.Mutex
	stats Stats
	done  int
	total int
}

// Run seeds the agency described by cfg through svc and returns what it
// produced. It stops at the first error a command returns (or ctx's), with
// the stats of what was done. See the package documentation for what is
// generated and when.
func Run(ctx context.Context, cfg Config, svc Services) (Stats, error) {
	began := time.Now()
	if svc.SKPs == nil {
		return Stats{}, errors.New("seed: every service is required")
	}
	pol := svc.SKPs.Policy
	cfg = cfg.withDefaults(pol)
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	if err := validateServices(svc, cfg.Now); err != nil {
		return Stats{}, err
	}
	r := newRunner(cfg, svc)
	if err := r.chooseBiased(); err != nil {
		return Stats{}, err
	}
	err := r.run(ctx)
	r.stats.Elapsed = time.Since(began)
	return r.stats, err
}

func newRunner(cfg Config, svc Services) *runner {
	r := &runner{cfg: cfg, svc: svc, pol: svc.SKPs.Policy, caches: map[domain.EventLog]*cachedLog{}}
	if !cfg.Uncached {
		for _, h := range []*domain.Handler{svc.Units.Handler, svc.Employees.Handler, svc.SKPs.Handler, svc.Distribution.Handler} {
			if r.caches[h.Log] == nil {
				r.caches[h.Log] = newCachedLog(h.Log)
			}
		}
		r.carry = skp.NewCarry(0)
	}
	h := sha256.New()
	fmt.Fprintf(h, "kinerja-seed\x00%d\x00%d\x00%d\x00%d", cfg.Seed, cfg.Employees, cfg.Year, cfg.Now.UnixMicro())
	copy(r.salt[:], h.Sum(nil))
	r.tag = hex.EncodeToString(r.salt[:4])
	r.year = period.MustParse(fmt.Sprintf("%04d", cfg.Year))
	r.periodic = periodsOf(r.pol.Cadence, cfg.Year)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))
	r.ag = newAgency(cfg, rng, len(r.periodic))
	r.results = make([]skpResult, len(r.ag.people))
	return r
}

// MinBiasedStaff is the fewest staff an appraiser biased by
// Config.BiasedAppraisers appraises.
const MinBiasedStaff = 8

// chooseBiased marks cfg.BiasedAppraisers appraisers of at least
// MinBiasedStaff staff as lenient (+1) or severe (-1), with a random
// source of its own, so that the run's other choices do not change.
func (r *runner) chooseBiased() error {
	n := r.cfg.BiasedAppraisers
	if n == 0 {
		return nil
	}
	staff := map[int]int{}
	for _, p := range r.ag.people {
		if p.appraiser >= 0 && p.tier != -1 && !p.head {
			staff[p.appraiser]++
		}
	}
	var pool []int
	for a, k := range staff {
		if k >= MinBiasedStaff {
			pool = append(pool, a)
		}
	}
	if len(pool) < n {
		return fmt.Errorf("seed: %d biased appraisers asked, but only %d appraisers have %d staff or more", n, len(pool), MinBiasedStaff)
	}
	slices.Sort(pool)
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), 0xb1a5))
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	for i, a := range pool[:n] {
		p := r.ag.people[a]
		if i < (n+1)/2 {
			p.bias = 1
			r.stats.Lenient = append(r.stats.Lenient, p.nip)
		} else {
			p.bias = -1
			r.stats.Severe = append(r.stats.Severe, p.nip)
		}
	}
	slices.Sort(r.stats.Lenient)
	slices.Sort(r.stats.Severe)
	return nil
}

// periodsOf lists the periodic periods of year under cadence.
func periodsOf(c period.Cadence, year int) []period.Period {
	var out []period.Period
	if c == period.Monthly {
		for m := 1; m <= 12; m++ {
			out = append(out, period.MustParse(fmt.Sprintf("%04d-%02d", year, m)))
		}
		return out
	}
	for q := 1; q <= 4; q++ {
		out = append(out, period.MustParse(fmt.Sprintf("%04d-Q%d", year, q)))
	}
	return out
}

// Phases. The number is part of every event ID, so it is stable.
const (
	phaseUnits     = 1 // + level
	phaseEmployees = 6
	phaseLines     = 7
	phasePredikat  = 8
	phasePlan      = 9 // + tier
	phaseExecute   = 13
	phaseJustify   = 14
	phaseIssue     = 15
)

func (r *runner) run(ctx context.Context) error {
	a := r.ag
	nUnits, nPeople := len(a.units), len(a.people)
	nSKPs := 0
	for _, t := range a.byTier {
		nSKPs += len(t)
	}
	r.total = nUnits + nPeople + nUnits + nPeople + nUnits + 3*nSKPs + nUnits
	r.stats.Agency, r.stats.AgencyUnit = a.name, a.units[0].id
	// Tasks run in the order of their streams' names (the NIP for
	// employees and SKPs), so that the appends sharing a commit touch
	// neighbouring keys of the store's stream index: fewer pages to write.
	people := a.byNIP(nil)
	for lv := range levels {
		ids := a.byLevel[lv]
		if err := r.phase(ctx, phaseUnits+lv, len(ids), func(t *task, i int) error { return t.registerUnit(a.units[ids[i]]) }); err != nil {
			return fmt.Errorf("seed: register units: %w", err)
		}
	}
	if err := r.phase(ctx, phaseEmployees, nPeople, func(t *task, i int) error { return t.registerEmployee(a.people[people[i]]) }); err != nil {
		return fmt.Errorf("seed: register employees: %w", err)
	}
	if err := r.phase(ctx, phaseLines, nUnits+nPeople, func(t *task, i int) error {
		if i < nUnits {
			return t.assignHead(a.units[i])
		}
		return t.assignLine(a.people[people[i-nUnits]])
	}); err != nil {
		return fmt.Errorf("seed: reporting lines: %w", err)
	}
	if err := r.phase(ctx, phasePredikat, nUnits, func(t *task, i int) error { return t.ratePerformance(a.units[i]) }); err != nil {
		return fmt.Errorf("seed: organisation predikat: %w", err)
	}
	for tier := range tiers {
		ids := a.byNIP(a.byTier[tier])
		if err := r.phase(ctx, phasePlan+tier, len(ids), func(t *task, i int) error { return t.planSKP(a.people[ids[i]]) }); err != nil {
			return fmt.Errorf("seed: plan SKPs: %w", err)
		}
	}
	all := a.byNIP(slices.Concat(a.byTier[:]...))
	if err := r.phase(ctx, phaseExecute, len(all), func(t *task, i int) error { return t.executeSKP(a.people[all[i]]) }); err != nil {
		return fmt.Errorf("seed: periodic work and ratings: %w", err)
	}
	r.chooseObjections(all)
	if err := r.phase(ctx, phaseJustify, nUnits, func(t *task, i int) error { return t.justify(a.units[i]) }); err != nil {
		return fmt.Errorf("seed: distribution: %w", err)
	}
	if err := r.phase(ctx, phaseIssue, len(all), func(t *task, i int) error { return t.issueAnnual(a.people[all[i]]) }); err != nil {
		return fmt.Errorf("seed: annual evaluations: %w", err)
	}
	r.finish()
	return nil
}

// phase runs n tasks, Workers at a time, and waits for them. The first
// error cancels the rest.
func (r *runner) phase(ctx context.Context, phase, n int, do func(t *task, i int) error) error {
	if n == 0 {
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(r.cfg.Workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t := r.newTask(ctx, phase, i)
				err := do(t, i)
				r.merge(t)
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	for _, c := range r.caches {
		c.dropPrefix(domain.SKPStreamPrefix)
	}
	r.carry.Clear()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// merge adds a task's counts and reports progress.
func (r *runner) merge(t *task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, d := &r.stats, &t.stats
	s.Units += d.Units
	s.Employees += d.Employees
	s.PPPK += d.PPPK
	s.SKPs += d.SKPs
	s.Established += d.Established
	s.Late += d.Late
	s.Returned += d.Returned
	s.Ratings += d.Ratings
	s.Revisions += d.Revisions
	s.Issued += d.Issued
	s.Finalised += d.Finalised
	s.Objections += d.Objections
	s.ByClerk += d.ByClerk
	s.Upheld += d.Upheld
	s.Changed += d.Changed
	s.Withdrawn += d.Withdrawn
	s.Open += d.Open
	s.Justifications += d.Justifications
	s.Draft += d.Draft
	s.Submitted += d.Submitted
	s.Commands += d.Commands
	s.Events += d.Events
	r.done++
	if r.cfg.Progress != nil {
		r.cfg.Progress(r.done, r.total)
	}
}

// finish names the cast.
func (r *runner) finish() {
	a := r.ag
	hr := a.people[a.hr]
	c := Cast{HRAdmin: hr.nip, Clerk: a.people[a.clerk].nip, Head: a.people[a.units[0].head].nip,
		Appraiser: a.people[hr.appraiser].nip, Superior: a.people[hr.superior].nip}
	for _, x := range a.units[hr.unit].staff {
		if x != a.hr && x != a.clerk && !r.results[x].established.IsZero() {
			c.Employee = a.people[x].nip
			break
		}
	}
	for _, k := range objectionCycle {
		for _, p := range a.people {
			if p.objection == k {
				c.Objectors = append(c.Objectors, p.nip)
			}
		}
	}
	r.stats.Cast = c
}

// task is one unit of work: it writes its own streams, with its own random
// source and ID generator, so its events do not depend on scheduling.
type task struct {
	r   *runner
	ctx context.Context
	rng *rand.Rand
	ids idGen

	units orgunit.Service
	emps  employee.Service
	skps  skp.Service
	dist  distribution.Service

	corr  string    // correlation ID of the task's commands
	n     int       // commands so far
	at    time.Time // business time of the next command
	stats Stats
}

func (r *runner) newTask(ctx context.Context, phase, i int) *task {
	t := &task{r: r, ctx: ctx, ids: idGen{phase: byte(phase), task: uint32(i), salt: r.salt}}
	t.rng = rand.New(rand.NewPCG(uint64(r.cfg.Seed)^binary.BigEndian.Uint64(r.salt[:8]), uint64(phase)<<32|uint64(i)))
	withIDs := func(h *domain.Handler) *domain.Handler {
		c := *h
		c.NewID = t.ids.next
		// The seed imports a history with its own business time: it is
		// not a client, and the dating rule (domain.md §10) would refuse
		// every act of a past year.
		c.Dating.Unchecked = true
		if cl := r.caches[h.Log]; cl != nil {
			c.Log = cl
		}
		return &c
	}
	t.units = orgunit.Service{Handler: withIDs(r.svc.Units.Handler), Policy: r.svc.Units.Policy}
	t.emps = employee.Service{Handler: withIDs(r.svc.Employees.Handler), Policy: r.svc.Employees.Policy}
	t.skps = skp.Service{Handler: withIDs(r.svc.SKPs.Handler), Policy: r.svc.SKPs.Policy, Carry: r.carry}
	t.dist = distribution.Service{Handler: withIDs(r.svc.Distribution.Handler), Policy: r.svc.Distribution.Policy, Pattern: r.svc.Distribution.Pattern}
	t.corr = fmt.Sprintf("seed-%s-%d-%d", r.tag, phase, i)
	return t
}

// idGen makes the event and entity IDs of one task: UUIDs of version 8
// (custom layout) holding the phase, the task and a counter, then bits of
// the run's salt. They are unique within a run and across seeds, and they
// increase with the phase and the task, so the store's ID index grows at
// its end as with time-ordered IDs.
type idGen struct {
	phase byte
	task  uint32
	n     uint32
	salt  [9]byte
}

func (g *idGen) next() uuid.UUID {
	g.n++
	var u uuid.UUID
	u[0] = g.phase
	u[1], u[2], u[3] = byte(g.task>>16), byte(g.task>>8), byte(g.task)
	u[4], u[5] = byte(g.n>>12), byte(g.n>>4)
	u[6] = 0x80 | byte(g.n&0x0f) // version 8
	u[7] = g.salt[0]
	u[8] = 0x80 | g.salt[1]&0x3f // RFC 9562 variant
	copy(u[9:], g.salt[2:])
	return u
}

// forget drops SKP id from the caches once its task is done with it.
func (t *task) forget(id string) {
	for _, c := range t.r.caches {
		c.forget(domain.SKPStream(id))
	}
	t.r.carry.Forget(id)
}

// principal is the caller the API would authenticate for p: the NIP, with
// the token roles of the HR administrator and the clerk.
func (t *task) principal(p *person) domain.Principal {
	pr := domain.Principal{ID: p.nip}
	for _, r := range p.roles {
		pr.Roles = append(pr.Roles, domain.Role(r))
	}
	return pr
}

func (t *task) person(i int) *person { return t.r.ag.people[i] }

func (t *task) hr() domain.Principal    { return t.principal(t.person(t.r.ag.hr)) }
func (t *task) clerk() domain.Principal { return t.principal(t.person(t.r.ag.clerk)) }

// req is the request of the next command, by caller, at t.at.
func (t *task) req(caller domain.Principal) domain.Request {
	t.n++
	return domain.Request{Caller: caller, CorrelationID: t.corr, CausationID: fmt.Sprintf("%s-%d", t.corr, t.n), OccurredAt: t.at}
}

// did counts a command's result and wraps its error with what was done.
func (t *task) did(what string, c domain.Committed, err error) error {
	if err != nil {
		return fmt.Errorf("%s at %s: %w", what, t.at.Format(time.RFC3339), err)
	}
	t.stats.Commands++
	t.stats.Events += len(c.Events)
	return nil
}

// due reports whether the next command's time has come by Now.
func (t *task) due() bool { return !t.at.After(t.r.cfg.Now) }

// Business time. Commands happen on working days in office hours (07:30–16:00
// in the policy's zone); a task's times never go back.

func (t *task) loc() *time.Location { return t.r.pol.Location }

func (t *task) date(tm time.Time) calendar.Date { return t.r.pol.Date(tm) }

// workday returns d, or the next working day when it falls on a weekend,
// on 1 January or on a holiday of the policy.
func (r *runner) workday(d calendar.Date) calendar.Date {
	w := calendar.Workdays{Holidays: r.pol.Holidays}
	for !w.IsWorkday(d) || (d.Month() == time.January && d.Day() == 1) {
		d = d.AddDays(1)
	}
	return d
}

// workdays returns the n-th working day after d (n = 0: d or the next
// working day).
func (r *runner) workdays(d calendar.Date, n int) calendar.Date {
	d = r.workday(d)
	for range n {
		d = r.workday(d.AddDays(1))
	}
	return d
}

// office returns a random time in office hours on day d (or the next
// working day).
func (t *task) office(d calendar.Date) time.Time {
	d = t.r.workday(d)
	return d.Start(t.loc()).Add(7*time.Hour + 30*time.Minute + time.Duration(t.rng.IntN(8*60))*time.Minute)
}

// on moves to a random office time on day d, unless that is earlier than
// now, in which case it moves a little later than now.
func (t *task) on(d calendar.Date) {
	if at := t.office(d); at.After(t.at) {
		t.at = at
		return
	}
	t.soon()
}

// soon moves a few minutes on.
func (t *task) soon() { t.at = t.at.Add(time.Duration(2+t.rng.IntN(25)) * time.Minute) }

// later moves to a working day minDays..maxDays after the current one.
func (t *task) later(minDays, maxDays int) {
	t.on(t.date(t.at).AddDays(minDays + t.rng.IntN(maxDays-minDays+1)))
}

// afterWorkdays moves to a working day lo..hi weekdays after d (or later
// than now).
func (t *task) afterWorkdays(d calendar.Date, lo, hi int) {
	t.on(t.r.workdays(d, lo+t.rng.IntN(hi-lo+1)))
}
