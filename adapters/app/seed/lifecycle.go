package seed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Calendar of the run. Master data is recorded in December of the year
// before; reporting lines and heads take effect on 1 January.

// setupDay is when HR starts recording the agency.
func (r *runner) setupDay() calendar.Date {
	return r.workdays(calendar.MustNew(r.cfg.Year-1, time.December, 8), 0)
}

// newYear is 1 January of the year.
func (r *runner) newYear() calendar.Date { return calendar.MustNew(r.cfg.Year, time.January, 1) }

// orgDay is the first working day after period i (len(periodic) is the
// year) ends: the organisation predikat is set then, a correction on the
// next working day, and ratings start the working day after.
func (r *runner) orgDay(i int) calendar.Date {
	end := r.year.End()
	if i < len(r.periodic) {
		end = r.periodic[i].End()
	}
	return r.workdays(end.AddDays(1), 0)
}

// justifyDay is when the leaders justify deviations of the annual
// distribution: after the annual ratings, before issue.
func (r *runner) justifyDay() calendar.Date {
	return r.workdays(calendar.MustNew(r.cfg.Year+1, time.January, 21), 0)
}

// Master data, by HR_ADMIN.

func (t *task) registerUnit(u *unit) error {
	t.on(t.r.workdays(t.r.setupDay(), u.level))
	if !t.due() {
		return nil
	}
	parent := ""
	if u.parent >= 0 {
		parent = t.r.ag.units[u.parent].id
	}
	c, err := t.units.Register(t.ctx, t.req(t.hr()), orgunit.Register{ID: u.id, Name: u.name, ParentID: parent})
	t.stats.Units++
	return t.did("register unit "+u.id, c, err)
}

func (t *task) registerEmployee(p *person) error {
	t.afterWorkdays(t.r.setupDay(), 5, 7)
	if !t.due() {
		return nil
	}
	c, err := t.emps.Register(t.ctx, t.req(t.hr()), employee.Register{NIP: p.nip, Name: p.name, UnitID: t.r.ag.units[p.unit].id, Position: p.pos})
	t.stats.Employees++
	if p.pppk {
		t.stats.PPPK++
	}
	return t.did("register employee "+p.nip, c, err)
}

func (t *task) assignHead(u *unit) error {
	t.afterWorkdays(t.r.setupDay(), 9, 10)
	if !t.due() {
		return nil
	}
	c, err := t.units.AssignHead(t.ctx, t.req(t.hr()), orgunit.AssignHead{UnitID: u.id, HeadNIP: t.person(u.head).nip, EffectiveFrom: t.r.newYear()})
	return t.did("assign the head of "+u.id, c, err)
}

func (t *task) assignLine(p *person) error {
	if p.appraiser < 0 {
		return nil // appraised outside the ledger
	}
	t.afterWorkdays(t.r.setupDay(), 9, 11)
	if !t.due() {
		return nil
	}
	c, err := t.emps.AssignReportingLine(t.ctx, t.req(t.hr()), employee.AssignReportingLine{
		NIP: p.nip, AppraiserNIP: t.person(p.appraiser).nip, SuperiorNIP: t.person(p.superior).nip, EffectiveFrom: t.r.newYear()})
	return t.did("assign the reporting line of "+p.nip, c, err)
}

// ratePerformance records the organisation predikat of u for every period,
// correcting a few the next working day.
func (t *task) ratePerformance(u *unit) error {
	for i := range u.predikat {
		per := t.r.year
		if i < len(t.r.periodic) {
			per = t.r.periodic[i]
		}
		t.on(t.r.orgDay(i))
		if !t.due() {
			return nil
		}
		first := u.predikat[i]
		if u.initial[i] != "" {
			first = u.initial[i]
		}
		c, err := t.units.RatePerformance(t.ctx, t.req(t.hr()), orgunit.RatePerformance{UnitID: u.id, Period: per.String(), Predikat: string(first),
			PaperRef: "BA/PREDIKAT/" + u.id + "/" + per.String()})
		if err := t.did("rate unit "+u.id+" for "+per.String(), c, err); err != nil {
			return err
		}
		if u.initial[i] == "" {
			continue
		}
		t.on(t.r.workdays(t.r.orgDay(i), 1))
		if !t.due() {
			return nil
		}
		c, err = t.units.RatePerformance(t.ctx, t.req(t.hr()), orgunit.RatePerformance{UnitID: u.id, Period: per.String(),
			Predikat: string(u.predikat[i]), Reason: pick(t.rng, predikatReasons), PaperRef: "BA/PREDIKAT/" + u.id + "/" + per.String() + "/R"})
		if err := t.did("correct the predikat of unit "+u.id+" for "+per.String(), c, err); err != nil {
			return err
		}
	}
	return nil
}

// Planning: draft, RHK and indicators, expectations, submission, return,
// establishment.

// rhkDraft is an RHK to add, with its indicators.
type rhkDraft struct {
	fields     skp.RHKFields
	indicators []skp.IndicatorFields
}

func (t *task) planSKP(p *person) error {
	r := t.r
	res := &r.results[p.idx]
	var ready time.Time // when the RHK to cascade from became available
	if p.tier == tierDirectory {
		ready = t.office(r.newYear().AddDays(1)) // the Perjanjian Kinerja is signed
	} else if ready = r.results[p.appraiser].established; ready.IsZero() {
		return nil // the appraiser's SKP is not established by Now: blocked
	}
	t.at = ready
	if p.pendingLink {
		// Drafted before the appraiser's SKP was established; links follow.
		t.at = time.Time{}
		t.on(maxDate(r.newYear().AddDays(1), t.date(ready).AddDays(-1-t.rng.IntN(4))))
	} else {
		t.later(0, 2)
	}
	if !t.due() {
		return nil
	}
	emp, appr := t.principal(p), t.principal(t.person(p.appraiser))
	drafter := emp
	if p.onBehalf && t.skps.Policy.HRAdminMayDraft {
		drafter = t.hr()
	}
	approach := skp.Kuantitatif
	if t.rng.IntN(5) == 0 {
		approach = skp.Kualitatif
	}
	id, c, err := t.skps.Draft(t.ctx, t.req(drafter), skp.Draft{NIP: p.nip, Year: r.cfg.Year, Approach: string(approach)})
	if err := t.did("draft the SKP of "+p.nip, c, err); err != nil {
		return err
	}
	res.id, res.last = id, t.at
	// The SKP is read again only in later phases (the phase's end drops
	// it anyway): holding a whole tier's SKPs decoded until then made the
	// seeder's live heap, and the collector's work, grow with the agency.
	defer t.forget(id)
	t.stats.SKPs++
	status := skp.StatusDraft // where the SKP stands when planning stops
	defer func() {
		switch status {
		case skp.StatusDraft:
			t.stats.Draft++
		case skp.StatusSubmitted:
			t.stats.Submitted++
		}
	}()

	drafts := t.composePlan(p)
	plan := make([]rhkRef, 0, len(drafts))
	for _, d := range drafts {
		t.soon()
		if !t.due() {
			return nil
		}
		f := d.fields
		if p.pendingLink {
			f.IntervenedRHKID = ""
		}
		rid, c, err := t.skps.AddRHK(t.ctx, t.req(emp), skp.AddRHK{SKPID: id, RHKFields: f})
		if err := t.did("add an RHK to "+id, c, err); err != nil {
			return err
		}
		ref := rhkRef{id: rid, kind: skp.RHKKind(f.Kind)}
		for _, ind := range d.indicators {
			t.soon()
			if !t.due() {
				return nil
			}
			iid, c, err := t.skps.AddIndicator(t.ctx, t.req(emp), skp.AddIndicator{SKPID: id, RHKID: rid, IndicatorFields: ind})
			if err := t.did("add an indicator to "+id, c, err); err != nil {
				return err
			}
			ref.indicators = append(ref.indicators, indicatorRef{id: iid, aspect: skp.Aspect(ind.Aspect), target: ind.Target})
		}
		plan = append(plan, ref)
	}
	res.last = t.at

	if t.rng.IntN(100) < 35 { // the appraiser's specific expectations
		t.later(0, 1)
		values := berakhlak.Values()
		for _, k := range t.rng.Perm(len(values))[:1+t.rng.IntN(2)] {
			t.soon()
			if !t.due() {
				return nil
			}
			c, err := t.skps.SetBehaviourExpectation(t.ctx, t.req(appr), skp.SetBehaviourExpectation{SKPID: id, Value: string(values[k]), Expectation: expectations[k]})
			if err := t.did("set an expectation on "+id, c, err); err != nil {
				return err
			}
		}
	}
	if p.pendingLink { // the appraiser's SKP is established now: link
		if t.at.Before(ready) {
			t.at = ready
		}
		t.later(0, 1)
		for i, d := range drafts {
			if d.fields.IntervenedRHKID == "" {
				continue
			}
			t.soon()
			if !t.due() {
				return nil
			}
			c, err := t.skps.ChangeRHK(t.ctx, t.req(emp), skp.ChangeRHK{SKPID: id, RHKID: plan[i].id, RHKFields: d.fields})
			if err := t.did("link an RHK of "+id, c, err); err != nil {
				return err
			}
		}
	}
	res.last = t.at
	if p.incomplete == string(skp.StatusDraft) {
		return nil
	}

	deadline := r.pol.EstablishDeadlineFor(r.cfg.Year)
	if p.late {
		t.afterWorkdays(deadline.AddDays(1), 0, 12)
	} else {
		t.later(0, 2)
	}
	if !t.due() {
		return nil
	}
	c, err = t.skps.Submit(t.ctx, t.req(emp), skp.Submit{SKPID: id})
	if err := t.did("submit "+id, c, err); err != nil {
		return err
	}
	res.last, status = t.at, skp.StatusSubmitted
	if p.incomplete == string(skp.StatusSubmitted) {
		return nil
	}
	if p.returned {
		t.later(1, 2)
		if !t.due() {
			return nil
		}
		c, err := t.skps.Return(t.ctx, t.req(appr), skp.Return{SKPID: id, Reason: pick(t.rng, returnReasons)})
		if err := t.did("return "+id, c, err); err != nil {
			return err
		}
		t.stats.Returned++
		status = skp.StatusDraft
		t.later(0, 2)
		if !t.due() {
			return nil
		}
		ind := &plan[0].indicators[0]
		fields := drafts[0].indicators[0]
		fields.Target.Value = math.Max(1, math.Round(fields.Target.Value*0.9))
		c, err = t.skps.ChangeIndicator(t.ctx, t.req(emp), skp.ChangeIndicator{SKPID: id, IndicatorID: ind.id, IndicatorFields: fields})
		if err := t.did("revise an indicator of "+id, c, err); err != nil {
			return err
		}
		ind.target = fields.Target
		t.soon()
		if !t.due() {
			return nil
		}
		c, err = t.skps.Submit(t.ctx, t.req(emp), skp.Submit{SKPID: id})
		if err := t.did("resubmit "+id, c, err); err != nil {
			return err
		}
		res.last, status = t.at, skp.StatusSubmitted
	}
	t.later(0, 2)
	if !t.due() {
		return nil
	}
	c, err = t.skps.Establish(t.ctx, t.req(appr), skp.Establish{SKPID: id})
	if err := t.did("establish "+id, c, err); err != nil {
		return err
	}
	status = skp.StatusEstablished
	t.stats.Established++
	if r.pol.LateEstablishment(r.cfg.Year, t.at) {
		t.stats.Late++
	}
	res.established, res.plan, res.last = t.at, plan, t.at
	return nil
}

func maxDate(a, b calendar.Date) calendar.Date {
	if a.After(b) {
		return a
	}
	return b
}

// composePlan writes p's RHK: a JPT's cite the Perjanjian Kinerja, the
// others' UTAMA RHK cascade from the appraiser's; a quarter of the plans
// carry an additional result.
func (t *task) composePlan(p *person) []rhkDraft {
	r := t.r
	u := r.ag.units[p.unit]
	var templates []string
	utama := 1 + t.rng.IntN(2)
	inds := 1 + t.rng.IntN(2)
	switch {
	case p.tier == tierDirectory:
		templates, utama, inds = rhkJPT, 2+t.rng.IntN(2), 2+t.rng.IntN(2)
	case p.tier == tierDivision:
		templates, utama, inds = rhkAdministrator, 2+t.rng.IntN(2), 2+t.rng.IntN(2)
	case p.tier == tierSection:
		templates, utama = rhkPengawas, 2+t.rng.IntN(2)
	default:
		templates = rhkStaff
	}
	var parents []rhkRef
	if p.appraiser >= 0 && p.tier != tierDirectory {
		for _, x := range r.results[p.appraiser].plan {
			if x.kind == skp.Utama {
				parents = append(parents, x)
			}
		}
	}
	var out []rhkDraft
	for i, k := range t.rng.Perm(len(templates))[:min(utama, len(templates))] {
		doc := pick(t.rng, documents)
		f := skp.RHKFields{Text: fmt.Sprintf(templates[k], u.topic), Kind: string(skp.Utama)}
		if p.tier == tierDirectory {
			f.PKRef = fmt.Sprintf("PK-%s-%d-%02d", u.id, r.cfg.Year, i+1)
		} else {
			f.IntervenedRHKID = pick(t.rng, parents).id
		}
		out = append(out, rhkDraft{fields: f, indicators: t.indicators(doc, inds, p.head)})
	}
	if t.rng.IntN(4) == 0 {
		out = append(out, rhkDraft{fields: skp.RHKFields{Text: pick(t.rng, rhkExtra), Kind: string(skp.Tambahan)},
			indicators: t.indicators("kegiatan", 1, false)})
	}
	return out
}

// indicators returns n indicators on different aspects, quantity first.
func (t *task) indicators(doc string, n int, head bool) []skp.IndicatorFields {
	aspects := []skp.Aspect{skp.Kualitas, skp.Waktu, skp.Biaya}
	t.rng.Shuffle(len(aspects), func(i, j int) { aspects[i], aspects[j] = aspects[j], aspects[i] })
	aspects = append([]skp.Aspect{skp.Kuantitas}, aspects...)
	out := make([]skp.IndicatorFields, 0, n)
	for _, a := range aspects[:n] {
		f := skp.IndicatorFields{Aspect: string(a)}
		switch a {
		case skp.Kuantitas:
			f.Text = "Jumlah " + doc + " yang diselesaikan"
			hi := 24
			if head {
				hi = 12
			}
			f.Target = skp.Target{Value: float64(2 + t.rng.IntN(hi-1)), Unit: doc}
		case skp.Kualitas:
			if t.rng.IntN(2) == 0 {
				f.Text = "Persentase " + doc + " yang diterima tanpa revisi"
				f.Target = skp.Target{Value: float64(80 + t.rng.IntN(16)), Unit: "%"}
			} else {
				f.Text = "Indeks kepuasan pengguna layanan"
				f.Target = skp.Target{Value: float64(35+t.rng.IntN(11)) / 10, Unit: "indeks"}
			}
		case skp.Waktu:
			if t.rng.IntN(2) == 0 {
				f.Text = "Ketepatan waktu penyelesaian " + doc
				f.Target = skp.Target{Value: 12, Unit: "bulan"}
			} else {
				f.Text = "Rata-rata waktu penyelesaian layanan"
				f.Target = skp.Target{Value: float64(3 + t.rng.IntN(8)), Unit: "hari"}
			}
		default:
			f.Text = "Persentase realisasi anggaran kegiatan"
			f.Target = skp.Target{Value: float64(90 + t.rng.IntN(9)), Unit: "%"}
		}
		out = append(out, f)
	}
	return out
}

// realised is the value of indicator ind at share (of the year) of the way,
// for performance perf.
func realised(ind indicatorRef, share, perf float64) float64 {
	tenth := func(v float64) float64 { return math.Round(v*10) / 10 }
	switch ind.target.Unit {
	case "%":
		return tenth(math.Min(100, ind.target.Value*perf))
	case "indeks":
		return tenth(math.Min(5, ind.target.Value*perf))
	case "hari":
		return tenth(ind.target.Value / math.Max(perf, 0.5))
	case "bulan":
		return math.Round(12 * share * math.Min(perf, 1))
	}
	return math.Max(0, math.Round(ind.target.Value*share*perf))
}

// Execution and ratings through the year.

// executeSKP records, for every period after the establishment, feedback,
// realisations and evidence, then the rating (sometimes revised) and its
// issue; then the annual realisations and rating.
func (t *task) executeSKP(p *person) error {
	r := t.r
	res := &r.results[p.idx]
	if res.established.IsZero() {
		return nil
	}
	t.at = res.last
	defer func() { res.last = t.at; t.forget(res.id) }()
	appr := t.principal(t.person(p.appraiser))
	established := t.date(res.established)
	var indicators []indicatorRef
	for _, x := range res.plan {
		indicators = append(indicators, x.indicators...)
	}
	for i, per := range r.periodic {
		if per.End().Before(established) {
			continue
		}
		from := maxDate(per.Start(), established)
		if start, last := maxDate(from, t.date(t.at)), per.End().AddDays(-7); t.rng.IntN(100) < 45 && !last.Before(start) {
			t.on(start.AddDays(t.rng.IntN(start.DaysUntil(last) + 1)))
			x := pick(t.rng, res.plan)
			if err := t.feedback(appr, res.id, skp.FeedbackAbout{RHKID: x.id}, pick(t.rng, feedbackAppraiser)); err != nil || !t.due() {
				return err
			}
		}
		// Realisations of one or two indicators, near the period's end.
		t.on(per.End().AddDays(-10 + t.rng.IntN(14)))
		share := float64(per.End().Month()) / 12
		n := 1 + t.rng.IntN(2)
		for _, k := range t.rng.Perm(len(indicators))[:min(n, len(indicators))] {
			if err := t.realise(p, res.id, per.String(), indicators[k], share); err != nil || !t.due() {
				return err
			}
		}
		if i == len(r.periodic)-1 { // the year's final realisations
			t.later(0, 2)
			for _, ind := range indicators {
				if err := t.realise(p, res.id, r.year.String(), ind, 1); err != nil || !t.due() {
					return err
				}
			}
		}
		if err := t.colleagues(p, res); err != nil || !t.due() {
			return err
		}
		t.afterWorkdays(r.orgDay(i), 2, 6)
		if err := t.rate(p, res, i, per, appr); err != nil || !t.due() {
			return err
		}
		t.later(0, 1)
		if !t.due() {
			return nil
		}
		c, err := t.skps.Issue(t.ctx, t.req(appr), skp.Issue{SKPID: res.id, Period: per.String()})
		if err := t.did("issue "+res.id+" for "+per.String(), c, err); err != nil {
			return err
		}
		t.stats.Issued++
	}
	t.afterWorkdays(r.orgDay(len(r.periodic)), 3, 7)
	return t.rate(p, res, len(r.periodic), r.year, appr)
}

// feedback records feedback by giver on SKP id at t.at.
func (t *task) feedback(giver domain.Principal, id string, about skp.FeedbackAbout, text string) error {
	if !t.due() {
		return nil
	}
	_, c, err := t.skps.GiveFeedback(t.ctx, t.req(giver), skp.GiveFeedback{SKPID: id, About: about, Text: text})
	return t.did("give feedback on "+id, c, err)
}

// colleagues: now and then a colleague of the unit, or the employee
// themself, gives feedback.
func (t *task) colleagues(p *person, res *skpResult) error {
	switch n := t.rng.IntN(100); {
	case n < 8:
		var peers []int
		for _, x := range t.r.ag.units[p.unit].staff {
			if x != p.idx {
				peers = append(peers, x)
			}
		}
		if len(peers) == 0 {
			return nil
		}
		t.soon()
		v := pick(t.rng, berakhlak.Values())
		return t.feedback(t.principal(t.person(pick(t.rng, peers))), res.id, skp.FeedbackAbout{Behaviour: v}, pick(t.rng, feedbackPeer))
	case n < 12:
		t.soon()
		return t.feedback(t.principal(p), res.id, skp.FeedbackAbout{}, pick(t.rng, feedbackSelf))
	}
	return nil
}

// realise records the realisation of ind for period, with evidence a
// quarter of the time.
func (t *task) realise(p *person, id, per string, ind indicatorRef, share float64) error {
	t.soon()
	if !t.due() {
		return nil
	}
	value := realised(ind, share, p.perf+0.03*t.rng.NormFloat64())
	narrative := fmt.Sprintf("Capaian %s s.d. periode %s sesuai bukti dukung.", strings.ToLower(string(ind.aspect)), per)
	_, c, err := t.skps.RecordRealisation(t.ctx, t.req(t.principal(p)), skp.RecordRealisation{SKPID: id, Period: per, IndicatorID: ind.id, Value: value, Narrative: narrative})
	if err := t.did("record a realisation on "+id, c, err); err != nil {
		return err
	}
	if t.rng.IntN(4) != 0 {
		return nil
	}
	t.soon()
	if !t.due() {
		return nil
	}
	uri := fmt.Sprintf("https://arsip.%s.go.id/eviden/%s/%s-%s.pdf", strings.ToLower(t.r.ag.code), id, per, ind.id[len(ind.id)-8:])
	sum := sha256.Sum256([]byte(uri))
	_, c, err = t.skps.AttachEvidence(t.ctx, t.req(t.principal(p)), skp.AttachEvidence{SKPID: id, IndicatorID: ind.id, URI: uri,
		SHA256: hex.EncodeToString(sum[:]), Filename: fmt.Sprintf("laporan-%s.pdf", per), MediaType: "application/pdf",
		Size: int64(40_000 + t.rng.IntN(3_000_000))})
	return t.did("attach evidence to "+id, c, err)
}

// orgAdjust shifts an employee's results with the unit's performance.
var orgAdjust = map[rating.OrgPredikat]float64{
	rating.Istimewa: 0.04, rating.OrgBaik: 0, rating.OrgButuhPerbaikan: -0.04, rating.OrgKurang: -0.07, rating.OrgSangatKurang: -0.1,
}

// scores chooses p's ratings for period index i: for a unit head the work
// result follows the unit's predikat (and is left to the domain to derive).
func (t *task) scores(p *person, i int) (workGiven string, s skp.Scores) {
	u := t.r.ag.units[p.unit]
	org := u.predikat[i]
	bias := 0 // the appraiser's (Config.BiasedAppraisers)
	if p.appraiser >= 0 {
		bias = t.person(p.appraiser).bias
	}
	if p.head {
		s.WorkResult, _ = t.r.pol.UnitHeadWorkResult(org)
	} else {
		noise := 0.04
		if i == len(t.r.periodic) {
			noise = 0.02
		}
		s.WorkResult = workRating(p.perf + orgAdjust[org] + noise*t.rng.NormFloat64() + 0.3*float64(bias))
		workGiven = string(s.WorkResult)
	}
	s.Behaviour = p.behaviour
	if t.rng.IntN(100) < 7 {
		s.Behaviour = otherRating(t.rng, s.Behaviour)
	}
	switch {
	case bias > 0 && s.Behaviour == rating.MeetsExpectation:
		s.Behaviour = rating.AboveExpectation
	case bias < 0 && s.Behaviour == rating.AboveExpectation:
		s.Behaviour = rating.MeetsExpectation
	}
	s.Predikat = rating.Derive(s.WorkResult, s.Behaviour)
	return workGiven, s
}

func workRating(perf float64) rating.Rating {
	switch {
	case perf > 1.08:
		return rating.AboveExpectation
	case perf < 0.87:
		return rating.BelowExpectation
	}
	return rating.MeetsExpectation
}

// otherRating returns a rating next to r.
func otherRating(rng *rand.Rand, r rating.Rating) rating.Rating {
	switch r {
	case rating.AboveExpectation, rating.BelowExpectation:
		return rating.MeetsExpectation
	}
	if rng.IntN(4) == 0 {
		return rating.BelowExpectation
	}
	return rating.AboveExpectation
}

// rate rates period per (index i) and sometimes revises the rating before
// issue; the annual one is revised when p.revise.
func (t *task) rate(p *person, res *skpResult, i int, per period.Period, appr domain.Principal) error {
	if !t.due() {
		return nil
	}
	work, s := t.scores(p, i)
	c, err := t.skps.Rate(t.ctx, t.req(appr), skp.Rate{SKPID: res.id, Period: per.String(), WorkResult: work, Behaviour: string(s.Behaviour),
		Rationale: pick(t.rng, rationales[string(s.WorkResult)])})
	if err := t.did("rate "+res.id+" for "+per.String(), c, err); err != nil {
		return err
	}
	t.stats.Ratings++
	annual := per.IsAnnual()
	if annual {
		res.annual, res.rated = s, true
	}
	if revise := (annual && p.revise) || (!annual && t.rng.Float64() < t.r.cfg.Revisions/3); !revise {
		return nil
	}
	t.later(0, 2)
	if !t.due() {
		return nil
	}
	if p.head || t.rng.IntN(2) == 0 {
		s.Behaviour = otherRating(t.rng, s.Behaviour)
	} else {
		s.WorkResult = otherRating(t.rng, s.WorkResult)
		work = string(s.WorkResult)
	}
	s.Predikat = rating.Derive(s.WorkResult, s.Behaviour)
	c, err = t.skps.Rate(t.ctx, t.req(appr), skp.Rate{SKPID: res.id, Period: per.String(), WorkResult: work, Behaviour: string(s.Behaviour),
		Rationale: pick(t.rng, rationales[string(s.WorkResult)]), Reason: pick(t.rng, revisionReasons)})
	if err := t.did("revise the rating of "+res.id+" for "+per.String(), c, err); err != nil {
		return err
	}
	t.stats.Revisions++
	if annual {
		res.annual = s
	}
	return nil
}

// The annual evaluation: distribution, issue, objections, finality.

// objectionWeight makes objections likelier after a poor predikat.
var objectionWeight = map[rating.Predikat]float64{
	rating.SangatBaik: 0.1, rating.Baik: 1, rating.ButuhPerbaikan: 5, rating.KurangMisconduct: 6, rating.SangatKurang: 6,
}

// chooseObjections picks, once the annual ratings are known, who objects
// (weighted by predikat, the kinds in objectionCycle's order) and whose
// evaluation gets its finality recorded.
func (r *runner) chooseObjections(all []int) {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), 0x0b1ec7))
	// weight holds pool's weights, looked up once: each draw goes over the
	// pool twice (the total, then the pick), and a map lookup for each made
	// this quadratic loop serial seconds at a province (3,000 draws over
	// 100,000 people). The sums are the same, in the same order.
	var pool []int
	var weight []float64
	for _, x := range all {
		if r.results[x].rated {
			pool = append(pool, x)
			weight = append(weight, objectionWeight[r.results[x].annual.Predikat])
		}
	}
	n := count(r.cfg.Objections, len(pool), len(objectionCycle))
	for j := range n {
		total := 0.0
		for _, v := range weight {
			total += v
		}
		w := rng.Float64() * total
		k := 0
		for ; k < len(pool)-1; k++ {
			if w -= weight[k]; w < 0 {
				break
			}
		}
		p := r.ag.people[pool[k]]
		p.objection = objectionCycle[j%len(objectionCycle)]
		if p.objection.byClerk() && p.idx == r.ag.clerk {
			p.objection = objUpheld
		}
		pool = slices.Delete(pool, k, k+1)
		weight = slices.Delete(weight, k, k+1)
	}
	for _, x := range pool {
		r.ag.people[x].finalise = rng.IntN(10) < 7
	}
}

// counts returns the annual predikat counts of u's population under the
// policy's definition (tallied for every unit at once, see tally).
func (r *runner) counts(u *unit) distribution.Counts {
	r.tallyOnce.Do(r.tally)
	return r.unitCounts[u.idx]
}

// tally counts the annual predikat of every unit's population in one pass
// over the people: each rated person counts in their unit and every unit
// above it (or, under AppraiserInUnit, in their appraiser's unit). Each
// unit's count went over every person before: units × people, 15–20 s of
// CPU at a province.
func (r *runner) tally() {
	r.unitCounts = make([]distribution.Counts, len(r.ag.units))
	for i := range r.unitCounts {
		r.unitCounts[i] = distribution.Counts{}
	}
	for _, p := range r.ag.people {
		res := &r.results[p.idx]
		if !res.rated {
			continue
		}
		if r.svc.Distribution.Policy.DistributionPopulation == policy.AppraiserInUnit {
			r.unitCounts[r.ag.people[p.appraiser].unit][res.annual.Predikat]++
			continue
		}
		for x := p.unit; x >= 0; x = r.ag.units[x].parent {
			r.unitCounts[x][res.annual.Predikat]++
		}
	}
}

// justify records, by the leader one level up, the justification of a
// unit's annual distribution when it deviates from the pattern.
func (t *task) justify(u *unit) error {
	r := t.r
	if r.svc.Distribution.Policy.DistributionMode == policy.Block {
		return nil
	}
	counts := r.counts(u)
	pattern := r.svc.Distribution.Pattern
	if pattern == nil {
		pattern = distribution.SE3_2023
	}
	res := distribution.Evaluate(pattern, u.predikat[len(r.periodic)], counts)
	if counts.Total() == 0 || len(res.Violations) == 0 {
		return nil
	}
	leader := u.head
	if u.parent >= 0 {
		leader = r.ag.units[u.parent].head
	}
	t.on(r.justifyDay())
	if !t.due() {
		return nil
	}
	c, err := t.dist.Justify(t.ctx, t.req(t.principal(t.person(leader))), distribution.Justify{UnitID: u.id, Period: r.year.String(),
		Counts: counts, Justification: pick(t.rng, justifications)})
	if err := t.did("justify the distribution of "+u.id, c, err); err != nil {
		return err
	}
	t.stats.Justifications++
	return nil
}

// issueAnnual issues and delivers the annual evaluation, then plays the
// objection chosen for it, or records its finality after the window.
func (t *task) issueAnnual(p *person) error {
	r := t.r
	res := &r.results[p.idx]
	if !res.rated {
		return nil
	}
	t.at = res.last
	defer t.forget(res.id)
	emp, appr := t.principal(p), t.principal(t.person(p.appraiser))
	t.afterWorkdays(r.justifyDay(), 1, 6)
	delivered := t.at.Add(time.Duration(30+t.rng.IntN(150)) * time.Minute)
	if delivered.After(r.cfg.Now) {
		return nil
	}
	year := r.year.String()
	c, err := t.skps.Issue(t.ctx, t.req(appr), skp.Issue{SKPID: res.id, Period: year, DeliveredAt: delivered})
	if err := t.did("issue "+res.id+" for "+year, c, err); err != nil {
		return err
	}
	t.stats.Issued++
	t.at = delivered
	deadline := r.pol.ObjectionDeadline(delivered)
	if p.objection == noObjection {
		if !p.finalise {
			return nil
		}
		t.afterWorkdays(t.date(deadline).AddDays(1), 0, 6)
		if !t.due() {
			return nil
		}
		c, err := t.skps.Finalise(t.ctx, t.req(t.hr()), skp.Finalise{SKPID: res.id, Period: year})
		if err := t.did("finalise "+res.id, c, err); err != nil {
			return err
		}
		t.stats.Finalised++
		return nil
	}
	return t.object(p, res, emp, appr, delivered, deadline)
}

// object plays an objection to the annual evaluation of p.
func (t *task) object(p *person, res *skpResult, emp, appr domain.Principal, delivered, deadline time.Time) error {
	year := t.r.year.String()
	// Filed on a working day inside the window.
	first, last := t.date(delivered).AddDays(1), t.date(deadline).AddDays(-1)
	day := first
	if span := first.DaysUntil(last); span > 0 {
		day = first.AddDays(t.rng.IntN(min(span, 10) + 1))
	}
	if d := t.r.workday(day); !d.After(last) {
		day = d
	}
	t.on(day)
	filed := t.at
	filer, cmd := emp, skp.FileObjection{SKPID: res.id, Period: year, Reasons: pick(t.rng, objectionReasons)}
	if p.objection.byClerk() { // a paper filing, recorded later with its date
		filer, cmd.FiledAt = t.clerk(), filed
		t.later(1, 2)
	}
	if !t.due() {
		return nil
	}
	_, c, err := t.skps.FileObjection(t.ctx, t.req(filer), cmd)
	if err := t.did("file an objection to "+res.id, c, err); err != nil {
		return err
	}
	t.stats.Objections++
	if p.objection.byClerk() {
		t.stats.ByClerk++
	}
	sup := t.principal(t.person(p.superior))
	t.later(1, 3)
	for _, from := range []skp.Party{skp.PartyAppraiser, skp.PartyEmployee} {
		t.soon()
		if !t.due() {
			t.stats.Open++
			return nil
		}
		due := t.at.Add(7 * 24 * time.Hour)
		_, c, err := t.skps.RequestExplanation(t.ctx, t.req(sup), skp.RequestExplanation{SKPID: res.id, Period: year, From: string(from), DueAt: &due})
		if err := t.did("request an explanation on "+res.id, c, err); err != nil {
			return err
		}
	}
	if p.objection == objWithdrawn {
		t.later(1, 3)
		if !t.due() {
			t.stats.Open++
			return nil
		}
		c, err := t.skps.WithdrawObjection(t.ctx, t.req(emp), skp.WithdrawObjection{SKPID: res.id, Period: year, Reason: pick(t.rng, withdrawReasons)})
		if err := t.did("withdraw the objection to "+res.id, c, err); err != nil {
			return err
		}
		t.stats.Withdrawn++
		return nil
	}
	for _, x := range []struct {
		who  domain.Principal
		text []string
	}{{appr, explanationsAppraiser}, {emp, explanationsEmployee}} {
		t.later(1, 3)
		if !t.due() {
			t.stats.Open++
			return nil
		}
		c, err := t.skps.SubmitExplanation(t.ctx, t.req(x.who), skp.SubmitExplanation{SKPID: res.id, Period: year, Text: pick(t.rng, x.text)})
		if err := t.did("explain on "+res.id, c, err); err != nil {
			return err
		}
	}
	t.later(2, 6)
	if p.objection == objOpen || !t.due() {
		t.stats.Open++
		return nil
	}
	d := skp.DecideObjection{SKPID: res.id, Period: year, Outcome: string(skp.Upheld), DecisionText: pick(t.rng, decisionsUpheld)}
	if p.objection == objChanged || p.objection == objChangedByClerk {
		if s, ok := improved(res.annual, p.head); ok {
			d.Outcome, d.WorkResult, d.Behaviour, d.DecisionText = string(skp.Changed), string(s.WorkResult), string(s.Behaviour), pick(t.rng, decisionsChanged)
		}
	}
	c, err = t.skps.DecideObjection(t.ctx, t.req(sup), d)
	if err := t.did("decide the objection to "+res.id, c, err); err != nil {
		return err
	}
	if d.Outcome == string(skp.Changed) {
		t.stats.Changed++
	} else {
		t.stats.Upheld++
	}
	return nil
}

// improved raises one rating of s a level: the work result, unless the
// employee heads a unit (whose work result follows the unit), then the
// behaviour. It reports false when nothing can rise.
func improved(s skp.Scores, head bool) (skp.Scores, bool) {
	up := map[rating.Rating]rating.Rating{rating.BelowExpectation: rating.MeetsExpectation, rating.MeetsExpectation: rating.AboveExpectation}
	switch {
	case !head && up[s.WorkResult] != "":
		s.WorkResult = up[s.WorkResult]
	case up[s.Behaviour] != "":
		s.Behaviour = up[s.Behaviour]
	default:
		return s, false
	}
	s.Predikat = rating.Derive(s.WorkResult, s.Behaviour)
	return s, true
}
