// Package calibration measures how each appraiser rates (issue 14): the
// distribution of the annual predikats they gave against their unit's and
// the agency's, a leniency/severity index with its confidence, and how
// often their ratings were changed on objection or revised after
// delivery. It flags outliers for the unit head and the BKD with the
// evidence (the rating events); it never changes a rating.
//
// The statistics are in docs/calibration.md: each predikat is a score on
// an ordinal scale (SANGAT_BAIK 4 … SANGAT_KURANG 0); a rating's residual
// is its score minus the mean score of the other appraisers' ratings in
// units of the same organisation predikat for the period (a unit that performed
// badly is expected to rate lower: SE 3/2023 ties the distribution to the
// organisation predikat); an appraiser's raw index is the mean of the
// residuals of their ratings; the index is
// its empirical-Bayes (normal–normal) estimate, shrunk towards 0 by the
// appraiser's number of ratings, with a posterior interval whose level is
// Bonferroni-adjusted for the number of appraisers judged (a family-wise
// error of 5 %: on an agency without biased appraisers, the chance of any
// false alarm is at most 5 %). An appraiser is flagged only when they gave
// at least MinRatings ratings, the interval excludes 0 and the shrunk
// index is at least MinEffect of a predikat step: a few ratings can never
// look alarming.
//
// A Collector folds the events of the store (units, employees, SKPs) in
// their global order; Report computes the view of one year from it.
package calibration

import (
	"math"
	"slices"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Filter selects the events the view reads: units, employees and SKPs.
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.UnitStreamPrefix, domain.EmployeeStreamPrefix, domain.SKPStreamPrefix}}
}

// Score is a predikat's place on the ordinal scale the index is computed
// on: SANGAT_BAIK 4, BAIK 3, BUTUH_PERBAIKAN 2, KURANG_MISCONDUCT 1,
// SANGAT_KURANG 0.
func Score(p rating.Predikat) float64 {
	switch p {
	case rating.SangatBaik:
		return 4
	case rating.Baik:
		return 3
	case rating.ButuhPerbaikan:
		return 2
	case rating.KurangMisconduct:
		return 1
	}
	return 0
}

// given is one annual evaluation as its appraiser gave it.
type given struct {
	skpID     string
	unitID    string
	stratum   rating.OrgPredikat // the unit's organisation predikat ("" if none)
	residual  float64
	appraiser string
	predikat  rating.Predikat
	eventID   string // the appraiser's last own rating (or the issue)
	issued    bool
	objection bool // an objection was filed
	changed   bool // an objection decision changed it
	revBefore int  // appraiser's revisions before issue
	revAfter  int  // revisions after delivery (any source)
	derived   bool // a unit head's: the work result follows the unit's predikat
}

// counts reports whether g is counted: rated, and not a unit head's
// rating whose work result the rules derive from the unit's predikat
// (domain.md §4.3), which is not the appraiser's judgement.
func (g *given) counts() bool { return g.appraiser != "" && g.predikat.Valid() && !g.derived }

// Collector folds events into what Report needs. It is not safe for
// concurrent use.
type Collector struct {
	parent  map[string]string                 // unit → parent
	heads   map[string][]orgunit.HeadAssigned // unit → head assignments, in order
	unitOf  map[string]string                 // NIP → unit
	names   map[string]string                 // NIP → name
	skpUnit map[string]string                 // SKP → employee's unit
	org     map[string]rating.OrgPredikat     // unit + "\x00" + period → predikat
	evals   map[string]map[string]*given      // year → SKP → evaluation
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{parent: map[string]string{}, heads: map[string][]orgunit.HeadAssigned{}, unitOf: map[string]string{}, names: map[string]string{},
		skpUnit: map[string]string{}, org: map[string]rating.OrgPredikat{}, evals: map[string]map[string]*given{}}
}

func (c *Collector) eval(per, skpID string) *given {
	p, err := period.Parse(per)
	if err != nil || !p.IsAnnual() {
		return nil
	}
	m := c.evals[per]
	if m == nil {
		m = map[string]*given{}
		c.evals[per] = m
	}
	g := m[skpID]
	if g == nil {
		g = &given{skpID: skpID, unitID: c.skpUnit[skpID]}
		m[skpID] = g
	}
	return g
}

// Add folds one event (events must come in the store's order).
func (c *Collector) Add(ev projections.Event) {
	id := strings.TrimPrefix(ev.Stream, domain.SKPStreamPrefix)
	switch e := ev.Payload.(type) {
	case orgunit.Registered:
		c.parent[e.UnitID] = e.ParentID
	case orgunit.HeadAssigned:
		c.heads[e.UnitID] = append(c.heads[e.UnitID], e)
	case orgunit.PerformanceRated:
		c.org[e.UnitID+"\x00"+e.Period] = e.Predikat
	case employee.Registered:
		c.unitOf[e.NIP], c.names[e.NIP] = e.UnitID, e.Name
	case employee.PositionChanged:
		c.unitOf[e.NIP] = e.UnitID
	case skp.Drafted:
		c.skpUnit[e.SKPID] = e.Employee.UnitID
	case skp.RatingAssigned:
		if g := c.eval(e.Period, id); g != nil {
			g.appraiser, g.predikat, g.eventID, g.derived = e.AppraiserNIP, e.Predikat, ev.ID.String(), e.UnitHead != nil
		}
	case skp.RatingRevised:
		g := c.eval(e.Period, id)
		switch {
		case g == nil:
		case g.issued:
			g.revAfter++
		case e.Source == skp.SourceAppraiser:
			g.revBefore++
			g.appraiser, g.predikat, g.eventID, g.derived = e.AppraiserNIP, e.Predikat, ev.ID.String(), e.UnitHead != nil
		}
	case skp.EvaluationIssued:
		if g := c.eval(e.Period, id); g != nil {
			g.issued, g.appraiser, g.predikat, g.eventID = true, e.AppraiserNIP, e.Predikat, ev.ID.String()
		}
	case skp.ObjectionFiled:
		if g := c.eval(e.Period, id); g != nil {
			g.objection = true
		}
	case skp.ObjectionFiledLate:
		if g := c.eval(e.Period, id); g != nil {
			g.objection = true
		}
	case skp.ObjectionDecided:
		if g := c.eval(e.Period, id); g != nil && e.Outcome == skp.Changed {
			g.changed = true
		}
	}
}

// Years returns the annual periods rated, in order.
func (c *Collector) Years() []string {
	var out []string
	for y := range c.evals {
		out = append(out, y)
	}
	slices.Sort(out)
	return out
}

// Distribution is a count of predikats.
type Distribution struct {
	// N is the number of ratings.
	N int `json:"n"`
	// Counts is the number of ratings per predikat.
	Counts map[rating.Predikat]int `json:"counts"`
	// Shares is Counts / N.
	Shares map[rating.Predikat]float64 `json:"shares"`
	// Mean is the mean score (see Score).
	Mean float64 `json:"mean"`
}

func distributionOf(ps []rating.Predikat) Distribution {
	d := Distribution{N: len(ps), Counts: map[rating.Predikat]int{}, Shares: map[rating.Predikat]float64{}}
	sum := 0.0
	for _, p := range ps {
		d.Counts[p]++
		sum += Score(p)
	}
	for _, p := range rating.Predikats() {
		if d.N > 0 {
			d.Shares[p] = float64(d.Counts[p]) / float64(d.N)
		}
	}
	if d.N > 0 {
		d.Mean = sum / float64(d.N)
	}
	return d
}

// Flag is the verdict on an appraiser.
type Flag string

// Flags.
const (
	// None: no evidence of leniency or severity.
	None Flag = ""
	// Lenient: rates higher than the agency, with confidence.
	Lenient Flag = "LENIENT"
	// Severe: rates lower than the agency, with confidence.
	Severe Flag = "SEVERE"
)

// Options are the thresholds of the view.
type Options struct {
	// MinRatings is the fewest ratings an appraiser needs to be flagged
	// (default 5).
	MinRatings int `json:"min_ratings"`
	// MinEffect is the smallest shrunk index, in predikat steps, that is
	// flagged (default 0.25).
	MinEffect float64 `json:"min_effect"`
	// Alpha is the family-wise error rate of the flags (default 0.05),
	// shared by the appraisers with at least MinRatings ratings
	// (Bonferroni).
	Alpha float64 `json:"alpha"`
}

func (o Options) withDefaults() Options {
	if o.MinRatings <= 0 {
		o.MinRatings = 5
	}
	if o.MinEffect <= 0 {
		o.MinEffect = 0.25
	}
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = 0.05
	}
	return o
}

// Appraiser is the view of one appraiser.
type Appraiser struct {
	// NIP and Name identify the appraiser.
	NIP  string `json:"nip"`
	Name string `json:"name"`
	// UnitID is the appraiser's unit; CompareUnitID the unit whose subtree
	// the Unit distribution covers (the parent of UnitID, or UnitID at the
	// root).
	UnitID        string `json:"unit_id"`
	CompareUnitID string `json:"compare_unit_id"`
	// Given, Unit and Agency are the distributions of the appraiser's
	// ratings, of the ratings in CompareUnitID's subtree, and of the agency.
	// Unit and Agency are read-only: the appraisers with the same
	// comparison unit share one Unit (its Counts and Shares maps too), and
	// every appraiser shares the report's Agency.
	Given  Distribution `json:"given"`
	Unit   Distribution `json:"unit"`
	Agency Distribution `json:"agency"`
	// Raw is the mean residual of their ratings (score minus the mean of
	// the agency's ratings in units of the same organisation predikat), in
	// predikat steps.
	Raw float64 `json:"raw"`
	// Index is the empirical-Bayes estimate of the appraiser's leniency
	// (positive) or severity (negative), in predikat steps.
	Index float64 `json:"index"`
	// Low and High bound Index's posterior interval.
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Weight is the share of Raw kept (n/(n + σ²/τ²)); small for few
	// ratings.
	Weight float64 `json:"weight"`
	// Flag is LENIENT, SEVERE or "".
	Flag Flag `json:"flag,omitempty"`
	// Objections is the number of their evaluations objected to;
	// ChangedOnObjection how many of them an objection decision changed.
	Objections         int `json:"objections"`
	ChangedOnObjection int `json:"changed_on_objection"`
	// RevisedBeforeIssue counts their own revisions before issue;
	// RevisedAfterDelivery revisions after delivery (by any source).
	RevisedBeforeIssue   int `json:"revised_before_issue"`
	RevisedAfterDelivery int `json:"revised_after_delivery"`
	// Evidence are the rating events the figures come from: per SKP, the
	// event that set the predikat counted.
	Evidence []Evidence `json:"evidence"`
}

// Evidence is one rating counted.
type Evidence struct {
	// SKPID is the SKP rated.
	SKPID string `json:"skp_id"`
	// Predikat is the predikat the appraiser gave.
	Predikat rating.Predikat `json:"predikat"`
	// EventID is the event that set it.
	EventID string `json:"event_id"`
}

// Report is the view of one year.
type Report struct {
	// Period is the annual period.
	Period string `json:"period"`
	// Agency is the agency's distribution.
	Agency Distribution `json:"agency"`
	// Sigma2 is the pooled within-appraiser variance of the scores; Tau2
	// the estimated variance of the appraisers' true indices.
	Sigma2 float64 `json:"sigma2"`
	Tau2   float64 `json:"tau2"`
	// Options are the thresholds used.
	Options Options `json:"options"`
	// Judged is the number of appraisers with at least MinRatings ratings;
	// Z the normal quantile of every interval: Φ⁻¹(1 − Alpha/(2·Judged)).
	Judged int     `json:"judged"`
	Z      float64 `json:"z"`
	// Appraisers are every appraiser with at least one rating, flagged
	// first, then by |Index| descending.
	Appraisers []Appraiser `json:"appraisers"`
}

// MinTau2 is the floor of τ² (a hundredth of a step squared), so that an
// agency with no spread between appraisers still has a defined estimate;
// it shrinks every index almost to 0.
const MinTau2 = 1e-4

// inSubtree reports whether unit lies in root's subtree.
func (c *Collector) inSubtree(unit, root string) bool {
	for seen := 0; unit != "" && seen < 64; seen++ {
		if unit == root {
			return true
		}
		unit = c.parent[unit]
	}
	return false
}

// Report computes the view of period (an annual period) with o.
func (c *Collector) Report(per string, o Options) Report {
	o = o.withDefaults()
	rep := Report{Period: per, Options: o}
	byAppr := map[string][]*given{}
	var all []rating.Predikat
	var skps []string
	for id := range c.evals[per] {
		skps = append(skps, id)
	}
	slices.Sort(skps)
	for _, id := range skps {
		g := c.evals[per][id]
		if !g.counts() {
			continue
		}
		byAppr[g.appraiser] = append(byAppr[g.appraiser], g)
		all = append(all, g.predikat)
	}
	rep.Agency = distributionOf(all)
	if rep.Agency.N == 0 {
		return rep
	}
	// Residuals against the mean of the ratings in units of the same
	// organisation predikat.
	sum, cnt := map[rating.OrgPredikat]float64{}, map[rating.OrgPredikat]int{}
	for _, gs := range byAppr {
		for _, g := range gs {
			g.stratum = c.org[g.unitID+"\x00"+per]
			sum[g.stratum] += Score(g.predikat)
			cnt[g.stratum]++
		}
	}
	total := rep.Agency.Mean * float64(rep.Agency.N)
	for _, gs := range byAppr {
		own, ownN := map[rating.OrgPredikat]float64{}, map[rating.OrgPredikat]int{}
		ownAll := 0.0
		for _, g := range gs {
			own[g.stratum] += Score(g.predikat)
			ownN[g.stratum]++
			ownAll += Score(g.predikat)
		}
		for _, g := range gs {
			// Leave the appraiser out of their own reference, or a stratum
			// made mostly of their ratings would hide their bias.
			ref := rep.Agency.Mean
			switch {
			case cnt[g.stratum] > ownN[g.stratum]:
				ref = (sum[g.stratum] - own[g.stratum]) / float64(cnt[g.stratum]-ownN[g.stratum])
			case rep.Agency.N > len(gs):
				ref = (total - ownAll) / float64(rep.Agency.N-len(gs))
			}
			g.residual = Score(g.predikat) - ref
		}
	}
	// σ²: pooled within-appraiser variance; τ²: method of moments on the
	// appraisers' raw indices (DerSimonian–Laird style), floored.
	var ss float64
	for _, gs := range byAppr {
		m := meanOf(gs)
		for _, g := range gs {
			d := g.residual - m
			ss += d * d
		}
	}
	df := rep.Agency.N - len(byAppr)
	rep.Sigma2 = 0.5 // a fallback for an agency with one rating per appraiser
	if df > 0 && ss > 0 {
		rep.Sigma2 = ss / float64(df)
	}
	var num, den float64
	for _, gs := range byAppr {
		d := meanOf(gs)
		num += float64(len(gs)) * d * d
		den += float64(len(gs))
	}
	// E[Σ n_a d_a²] ≈ (A−1)σ² + τ²(N − Σn_a²/N)
	var sumN2 float64
	for _, gs := range byAppr {
		sumN2 += float64(len(gs) * len(gs))
	}
	rep.Tau2 = MinTau2
	if k := den - sumN2/den; k > 0 {
		rep.Tau2 = max(MinTau2, (num-float64(len(byAppr)-1)*rep.Sigma2)/k)
	}
	for _, gs := range byAppr {
		if len(gs) >= o.MinRatings {
			rep.Judged++
		}
	}
	rep.Z = Quantile(1 - o.Alpha/float64(2*max(rep.Judged, 1)))
	units := c.compareDistributions(per, skps, byAppr)
	for nipA, gs := range byAppr {
		a := Appraiser{NIP: nipA, Name: c.names[nipA], UnitID: c.unitOf[nipA], Agency: rep.Agency}
		a.CompareUnitID = a.UnitID
		if p := c.parent[a.UnitID]; p != "" {
			a.CompareUnitID = p
		}
		var ps []rating.Predikat
		for _, g := range gs {
			ps = append(ps, g.predikat)
			a.Evidence = append(a.Evidence, Evidence{SKPID: g.skpID, Predikat: g.predikat, EventID: g.eventID})
			if g.objection {
				a.Objections++
			}
			if g.changed {
				a.ChangedOnObjection++
			}
			a.RevisedBeforeIssue += g.revBefore
			a.RevisedAfterDelivery += g.revAfter
		}
		a.Given, a.Unit = distributionOf(ps), units[a.CompareUnitID]
		n := float64(a.Given.N)
		a.Raw = meanOf(gs)
		a.Weight = rep.Tau2 / (rep.Tau2 + rep.Sigma2/n)
		a.Index = a.Weight * a.Raw
		sd := math.Sqrt(a.Weight * rep.Sigma2 / n)
		a.Low, a.High = a.Index-rep.Z*sd, a.Index+rep.Z*sd
		if a.Given.N >= o.MinRatings && math.Abs(a.Index) >= o.MinEffect {
			switch {
			case a.Low > 0:
				a.Flag = Lenient
			case a.High < 0:
				a.Flag = Severe
			}
		}
		rep.Appraisers = append(rep.Appraisers, a)
	}
	slices.SortFunc(rep.Appraisers, func(x, y Appraiser) int {
		if (x.Flag != None) != (y.Flag != None) {
			if x.Flag != None {
				return -1
			}
			return 1
		}
		if d := math.Abs(y.Index) - math.Abs(x.Index); d != 0 {
			if d > 0 {
				return 1
			}
			return -1
		}
		return strings.Compare(x.NIP, y.NIP)
	})
	return rep
}

// compareDistributions are the distributions of the counted ratings of
// per in the subtree of each appraiser's compare unit (the parent of their
// unit, or their unit at the root), keyed by that unit. Each rating is
// walked up its unit's ancestors once (as inSubtree walks, at most 64
// steps) and added to every compare unit it meets: O(ratings × depth),
// where asking inSubtree of every rating for every appraiser was
// O(appraisers × ratings × depth) — seconds at the root of 20,000
// employees, for every computation of the view.
func (c *Collector) compareDistributions(per string, skps []string, byAppr map[string][]*given) map[string]Distribution {
	compare := map[string][]rating.Predikat{}
	for nipA := range byAppr {
		u := c.unitOf[nipA]
		if p := c.parent[u]; p != "" {
			u = p
		}
		if u != "" {
			compare[u] = nil
		}
	}
	for _, id := range skps {
		g := c.evals[per][id]
		if !g.counts() {
			continue
		}
		var met [64]string // a unit met twice (a cycle) counts the rating once, as inSubtree does
		for unit, seen := g.unitID, 0; unit != "" && seen < 64; seen++ {
			if ps, ok := compare[unit]; ok && !slices.Contains(met[:seen], unit) {
				compare[unit] = append(ps, g.predikat)
			}
			met[seen] = unit
			unit = c.parent[unit]
		}
	}
	out := make(map[string]Distribution, len(compare)+1)
	for u, ps := range compare {
		out[u] = distributionOf(ps)
	}
	out[""] = distributionOf(nil)
	return out
}

// Quantile is the standard normal quantile function Φ⁻¹(p), 0 < p < 1.
func Quantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// meanOf is the mean residual of gs.
func meanOf(gs []*given) float64 {
	s := 0.0
	for _, g := range gs {
		s += g.residual
	}
	return s / float64(len(gs))
}

// Flagged returns the NIPs of the flagged appraisers, sorted.
func (r Report) Flagged() []string {
	var out []string
	for _, a := range r.Appraisers {
		if a.Flag != None {
			out = append(out, a.NIP)
		}
	}
	slices.Sort(out)
	return out
}
