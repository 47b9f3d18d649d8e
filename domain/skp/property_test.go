package skp_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"pgregory.net/rapid"
)

// machine drives random command sequences against the services, from a
// random cast of callers with random (often invalid) arguments, and checks
// the invariants after every step.
type machine struct {
	f   *fixture
	ids []string // SKP ids drafted for E, oldest first
	// finals records the evaluations whose finality was recorded; they must
	// stay FINAL.
	finals map[string]bool
}

var (
	callers = []domain.Request{
		{Caller: domain.Principal{ID: nipE}}, {Caller: domain.Principal{ID: nipA}}, {Caller: domain.Principal{ID: nipS}},
		{Caller: domain.Principal{ID: nipP}}, {Caller: domain.Principal{ID: nipX}}, {Caller: domain.Principal{ID: nipB}},
		{Caller: domain.Principal{ID: hrAdmin, Roles: []domain.Role{domain.RoleHRAdmin}}},
		{Caller: domain.Principal{ID: clerk, Roles: []domain.Role{domain.RoleGrievanceClerk}}},
	}
	periods  = []string{"2026", "2026", "2026-Q1", "2026-Q2", "2026-03", "2027", "bogus"}
	ratings  = []string{"DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI", "", "BAIK"}
	reasons  = []string{"", "alasan"}
	outcomes = []string{"UPHELD", "CHANGED", "CHANGED", "REJECTED"}
	parties  = []string{"APPRAISER", "EMPLOYEE", "HR"}
	kinds    = []string{"UTAMA", "TAMBAHAN", "LAIN"}
)

// caller picks a caller, usually the one the action is meant for.
func (m *machine) caller(t *rapid.T, usual string) domain.Request {
	var req domain.Request
	if rapid.IntRange(0, 3).Draw(t, "usual") > 0 {
		req = domain.Request{Caller: domain.Principal{ID: usual}}
		if usual == hrAdmin {
			req.Caller.Roles = []domain.Role{domain.RoleHRAdmin}
		}
	} else {
		req = rapid.SampledFrom(callers).Draw(t, "caller")
	}
	req.CorrelationID = "prop"
	return req
}

func (m *machine) id(t *rapid.T) string {
	if len(m.ids) == 0 || rapid.IntRange(0, 19).Draw(t, "unknown id") == 0 {
		return nipE + "-2026-9"
	}
	return rapid.SampledFrom(m.ids).Draw(t, "skp")
}

// planIDs returns the RHK and indicator ids of the SKP (working plan and
// every version), plus a bogus one.
func (m *machine) planIDs(id string) (rhks, inds []string) {
	rhks, inds = []string{"bogus"}, []string{"bogus"}
	v, err := m.f.skps.Read(m.f.ctx, domain.Principal{ID: auditor, Roles: []domain.Role{domain.RoleAuditor}}, id, skp.AsOf{})
	if err != nil {
		return rhks, inds
	}
	plans := [][]skp.RHK{v.Plan}
	for _, pv := range v.Versions {
		plans = append(plans, pv.RHK)
	}
	for _, p := range plans {
		for _, r := range p {
			rhks = append(rhks, r.ID)
			for _, i := range r.Indicators {
				inds = append(inds, i.ID)
			}
		}
	}
	return rhks, inds
}

// check fails on an error that is none of the domain's kinds.
func check(t *rapid.T, action string, err error) {
	if k := kind(err); len(k) > 6 && k[:6] == "other:" {
		t.Fatalf("%s: unexpected error %v", action, err)
	}
}

func (m *machine) actions() map[string]func(*rapid.T) {
	f := m.f
	return map[string]func(*rapid.T){
		"draft": func(t *rapid.T) {
			id, _, err := f.skps.Draft(f.ctx, m.caller(t, nipE), skp.Draft{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})
			check(t, "draft", err)
			if err == nil {
				m.ids = append(m.ids, id)
			}
		},
		"addRHK": func(t *rapid.T) {
			link := rapid.SampledFrom([]string{f.rhkA, f.rhkA, "", "bogus"}).Draw(t, "link")
			_, _, err := f.skps.AddRHK(f.ctx, m.caller(t, nipE), skp.AddRHK{SKPID: m.id(t), RHKFields: skp.RHKFields{
				Text: "RHK", Kind: rapid.SampledFrom(kinds).Draw(t, "kind"), IntervenedRHKID: link}})
			check(t, "addRHK", err)
		},
		"changeRHK": func(t *rapid.T) {
			id := m.id(t)
			rhks, _ := m.planIDs(id)
			_, err := f.skps.ChangeRHK(f.ctx, m.caller(t, nipE), skp.ChangeRHK{SKPID: id, RHKID: rapid.SampledFrom(rhks).Draw(t, "rhk"),
				RHKFields: skp.RHKFields{Text: "RHK diubah", Kind: rapid.SampledFrom(kinds).Draw(t, "kind"), IntervenedRHKID: f.rhkA}})
			check(t, "changeRHK", err)
		},
		"removeRHK": func(t *rapid.T) {
			id := m.id(t)
			rhks, _ := m.planIDs(id)
			_, err := f.skps.RemoveRHK(f.ctx, m.caller(t, nipE), skp.RemoveRHK{SKPID: id, RHKID: rapid.SampledFrom(rhks).Draw(t, "rhk")})
			check(t, "removeRHK", err)
		},
		"addIndicator": func(t *rapid.T) {
			id := m.id(t)
			rhks, _ := m.planIDs(id)
			_, _, err := f.skps.AddIndicator(f.ctx, m.caller(t, nipE), skp.AddIndicator{SKPID: id, RHKID: rapid.SampledFrom(rhks).Draw(t, "rhk"),
				IndicatorFields: skp.IndicatorFields{Aspect: rapid.SampledFrom([]string{"KUANTITAS", "WAKTU", "MUTU"}).Draw(t, "aspect"),
					Text: "IKI", Target: skp.Target{Value: float64(rapid.IntRange(-1, 100).Draw(t, "target")), Unit: "dokumen"}}})
			check(t, "addIndicator", err)
		},
		"removeIndicator": func(t *rapid.T) {
			id := m.id(t)
			_, inds := m.planIDs(id)
			_, err := f.skps.RemoveIndicator(f.ctx, m.caller(t, nipE), skp.RemoveIndicator{SKPID: id, IndicatorID: rapid.SampledFrom(inds).Draw(t, "ind")})
			check(t, "removeIndicator", err)
		},
		"submit": func(t *rapid.T) {
			_, err := f.skps.Submit(f.ctx, m.caller(t, nipE), skp.Submit{SKPID: m.id(t)})
			check(t, "submit", err)
		},
		"return": func(t *rapid.T) {
			_, err := f.skps.Return(f.ctx, m.caller(t, nipA), skp.Return{SKPID: m.id(t), Reason: rapid.SampledFrom(reasons).Draw(t, "reason")})
			check(t, "return", err)
		},
		"establish": func(t *rapid.T) {
			_, err := f.skps.Establish(f.ctx, m.caller(t, nipA), skp.Establish{SKPID: m.id(t)})
			check(t, "establish", err)
		},
		"amend": func(t *rapid.T) {
			_, err := f.skps.Amend(f.ctx, m.caller(t, nipA), skp.Amend{SKPID: m.id(t), Reason: rapid.SampledFrom(reasons).Draw(t, "reason")})
			check(t, "amend", err)
		},
		"cancel": func(t *rapid.T) {
			if rapid.IntRange(0, 4).Draw(t, "rarely") > 0 {
				return
			}
			_, err := f.skps.Cancel(f.ctx, m.caller(t, hrAdmin), skp.Cancel{SKPID: m.id(t), Reason: rapid.SampledFrom(reasons).Draw(t, "reason")})
			check(t, "cancel", err)
		},
		"realisation": func(t *rapid.T) {
			id := m.id(t)
			_, inds := m.planIDs(id)
			_, _, err := f.skps.RecordRealisation(f.ctx, m.caller(t, nipE), skp.RecordRealisation{SKPID: id,
				Period: rapid.SampledFrom(periods).Draw(t, "period"), IndicatorID: rapid.SampledFrom(inds).Draw(t, "ind"), Value: 3})
			check(t, "realisation", err)
		},
		"feedback": func(t *rapid.T) {
			_, _, err := f.skps.GiveFeedback(f.ctx, m.caller(t, nipP), skp.GiveFeedback{SKPID: m.id(t), Text: "baik"})
			check(t, "feedback", err)
		},
		"rate": func(t *rapid.T) {
			_, err := f.skps.Rate(f.ctx, m.caller(t, nipA), skp.Rate{SKPID: m.id(t), Period: rapid.SampledFrom(periods).Draw(t, "period"),
				WorkResult: rapid.SampledFrom(ratings).Draw(t, "wr"), Behaviour: rapid.SampledFrom(ratings).Draw(t, "bh"),
				Rationale: "r", Reason: rapid.SampledFrom(reasons).Draw(t, "reason")})
			check(t, "rate", err)
		},
		"issue": func(t *rapid.T) {
			back := time.Duration(rapid.IntRange(0, 48).Draw(t, "hours back")) * time.Hour
			_, err := f.skps.Issue(f.ctx, m.caller(t, nipA), skp.Issue{SKPID: m.id(t), Period: rapid.SampledFrom(periods).Draw(t, "period"),
				DeliveredAt: f.env.Clock.Now().Add(-back)})
			check(t, "issue", err)
		},
		"finalise": func(t *rapid.T) {
			_, err := f.skps.Finalise(f.ctx, m.caller(t, nipE), skp.Finalise{SKPID: m.id(t), Period: rapid.SampledFrom(periods).Draw(t, "period")})
			check(t, "finalise", err)
		},
		"file": func(t *rapid.T) {
			req := m.caller(t, nipE)
			var filed time.Time
			if rapid.Bool().Draw(t, "paper") {
				req = domain.Request{Caller: domain.Principal{ID: clerk, Roles: []domain.Role{domain.RoleGrievanceClerk}}}
				filed = f.env.Clock.Now().Add(-time.Duration(rapid.IntRange(0, 20).Draw(t, "days back")) * 24 * time.Hour)
			}
			_, _, err := f.skps.FileObjection(f.ctx, req, skp.FileObjection{SKPID: m.id(t), Period: rapid.SampledFrom(periods).Draw(t, "period"),
				Reasons: "keberatan", FiledAt: filed})
			check(t, "file", err)
		},
		"ask": func(t *rapid.T) {
			_, _, err := f.skps.RequestExplanation(f.ctx, m.caller(t, nipS), skp.RequestExplanation{SKPID: m.id(t), Period: "2026",
				From: rapid.SampledFrom(parties).Draw(t, "from")})
			check(t, "ask", err)
		},
		"explain": func(t *rapid.T) {
			who := rapid.SampledFrom([]string{nipE, nipA}).Draw(t, "who")
			_, err := f.skps.SubmitExplanation(f.ctx, m.caller(t, who), skp.SubmitExplanation{SKPID: m.id(t), Period: "2026", Text: "penjelasan"})
			check(t, "explain", err)
		},
		"decide": func(t *rapid.T) {
			_, err := f.skps.DecideObjection(f.ctx, m.caller(t, nipS), skp.DecideObjection{SKPID: m.id(t), Period: "2026",
				Outcome: rapid.SampledFrom(outcomes).Draw(t, "outcome"), WorkResult: rapid.SampledFrom(ratings[:3]).Draw(t, "wr"),
				Behaviour: rapid.SampledFrom(ratings[:3]).Draw(t, "bh"), DecisionText: "putusan",
				WaiverReason: rapid.SampledFrom([]string{"", "", "waiver"}).Draw(t, "waiver")})
			check(t, "decide", err)
		},
		"withdraw": func(t *rapid.T) {
			_, err := f.skps.WithdrawObjection(f.ctx, m.caller(t, nipE), skp.WithdrawObjection{SKPID: m.id(t), Period: "2026"})
			check(t, "withdraw", err)
		},
		// The two shortcuts below take the usual path with the right callers,
		// so that random sequences reach evaluations and objections often.
		"shortcut: plan and establish": func(t *rapid.T) {
			if len(m.ids) == 0 {
				if id, _, err := f.skps.Draft(f.ctx, f.req(nipE), skp.Draft{NIP: nipE, Year: 2026, Approach: "KUALITATIF"}); err == nil {
					m.ids = append(m.ids, id)
				}
			}
			id := m.ids[len(m.ids)-1]
			rhk, _, err := f.skps.AddRHK(f.ctx, f.req(nipE), skp.AddRHK{SKPID: id, RHKFields: skp.RHKFields{Text: "RHK", Kind: "UTAMA", IntervenedRHKID: f.rhkA}})
			check(t, "shortcut addRHK", err)
			_, _, err = f.skps.AddIndicator(f.ctx, f.req(nipE), skp.AddIndicator{SKPID: id, RHKID: rhk, IndicatorFields: skp.IndicatorFields{
				Aspect: "KUANTITAS", Text: "IKI", Target: skp.Target{Value: 1, Unit: "laporan"}}})
			check(t, "shortcut addIndicator", err)
			_, err = f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id})
			check(t, "shortcut submit", err)
			_, err = f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id})
			check(t, "shortcut establish", err)
		},
		"shortcut: rate and issue": func(t *rapid.T) {
			id := m.id(t)
			p := rapid.SampledFrom([]string{"2026", "2026", "2026-Q1"}).Draw(t, "period")
			_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: p, WorkResult: rapid.SampledFrom(ratings[:3]).Draw(t, "wr"),
				Behaviour: rapid.SampledFrom(ratings[:3]).Draw(t, "bh"), Rationale: "r", Reason: "ganti"})
			check(t, "shortcut rate", err)
			_, err = f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: p})
			check(t, "shortcut issue", err)
		},
		"time passes": func(t *rapid.T) {
			f.env.Clock.Advance(time.Duration(rapid.IntRange(1, 16*24).Draw(t, "hours")) * time.Hour)
		},
		"reporting line changes": func(t *rapid.T) {
			pair := rapid.SampledFrom([][2]string{{nipA, nipS}, {nipB, nipS}, {nipA, nipU}}).Draw(t, "line")
			_, err := f.emps.AssignReportingLine(f.ctx, f.hr(), employee.AssignReportingLine{NIP: nipE, AppraiserNIP: pair[0], SuperiorNIP: pair[1],
				EffectiveFrom: f.pol.Date(f.env.Clock.Now())})
			check(t, "line", err)
		},
		"": m.invariants,
	}
}

// invariants checks every SKP of E after every step.
func (m *machine) invariants(t *rapid.T) {
	for _, id := range m.ids {
		events, _, _, err := m.f.env.Log.Load(m.f.ctx, domain.SKPStream(id))
		if err != nil {
			t.Fatalf("load %s: %v", id, err)
		}
		checkEvents(t, events)
		now := m.f.env.Clock.Now()
		v := skp.Replay(events).View(now)
		checkView(t, v)
		for _, ev := range v.Evaluations {
			// A recorded finality is final. (One derived from the clock alone
			// may still give way to a paper objection filed in time.)
			key := id + "/" + ev.Period
			if m.finals[key] && (ev.Status != skp.EvalFinal || !ev.FinalityRecorded) {
				t.Fatalf("%s was recorded FINAL and is now %s", key, ev.Status)
			}
			if ev.FinalityRecorded {
				m.finals[key] = true
			}
		}
		// Replaying a prefix is a valid state as well (as-of reads).
		k := rapid.IntRange(0, len(events)).Draw(t, "prefix")
		if s := skp.Replay(events[:k]); s != nil {
			checkView(t, s.View(now))
		}
	}
}

// checkEvents checks the stored facts: every stored predikat is the matrix
// value of its ratings; every revision carries the value it replaces; no
// appraiser rating after issue; no objection after a decision; the decider
// is never the appraiser; HR_ADMIN never rates.
func checkEvents(t *rapid.T, events []domain.Stored) {
	current := map[string]skp.Scores{}
	issued := map[string]bool{}
	decided := map[string]bool{}
	matrix := func(what string, s skp.Scores) {
		if s.Predikat != rating.Derive(s.WorkResult, s.Behaviour) || !s.Predikat.Valid() {
			t.Fatalf("%s: stored predikat %s for %s/%s is not the matrix value", what, s.Predikat, s.WorkResult, s.Behaviour)
		}
	}
	for _, e := range events {
		switch ev := e.Event.(type) {
		case skp.RatingAssigned:
			matrix("rating assigned", ev.Scores)
			if _, ok := current[ev.Period]; ok || issued[ev.Period] {
				t.Fatalf("a second first rating of %s", ev.Period)
			}
			if e.Meta.Actor.Role != domain.RoleAppraiser {
				t.Fatalf("rating by %s in role %s", e.Meta.Actor.ID, e.Meta.Actor.Role)
			}
			current[ev.Period] = ev.Scores
		case skp.RatingRevised:
			matrix("rating revised", ev.Scores)
			matrix("rating revised (previous)", ev.Previous)
			if prev, ok := current[ev.Period]; !ok || prev != ev.Previous {
				t.Fatalf("revision of %s carries previous %+v, but the value in effect was %+v", ev.Period, ev.Previous, prev)
			}
			if ev.Reason == "" {
				t.Fatalf("revision of %s without a reason", ev.Period)
			}
			switch ev.Source {
			case skp.SourceAppraiser:
				if issued[ev.Period] || e.Meta.Actor.Role != domain.RoleAppraiser {
					t.Fatalf("appraiser revision of %s after issue or by %s", ev.Period, e.Meta.Actor.Role)
				}
			case skp.SourceObjection:
				if e.Meta.Actor.Role != domain.RoleAppraiserSuperior {
					t.Fatalf("objection revision of %s by %s", ev.Period, e.Meta.Actor.Role)
				}
			}
			current[ev.Period] = ev.Scores
		case skp.EvaluationIssued:
			matrix("issued", ev.Scores)
			if issued[ev.Period] || current[ev.Period] != ev.Scores {
				t.Fatalf("issue of %s twice or with scores %+v not in effect", ev.Period, ev.Scores)
			}
			issued[ev.Period] = true
		case skp.ObjectionFiled:
			matrix("objection", ev.Evaluation)
			if decided[ev.Period] || !issued[ev.Period] {
				t.Fatalf("objection to %s after a decision or before issue", ev.Period)
			}
		case skp.ObjectionDecided:
			matrix("decision", ev.Result)
			if decided[ev.Period] || ev.Previous != current[ev.Period] || e.Meta.Actor.ID == nipA || e.Meta.Actor.Role != domain.RoleAppraiserSuperior {
				t.Fatalf("decision of %s: twice, wrong previous, or by %s (%s)", ev.Period, e.Meta.Actor.ID, e.Meta.Actor.Role)
			}
			decided[ev.Period] = true
		}
	}
}

// checkView checks the invariants of a state.
func checkView(t *rapid.T, v skp.View) {
	if v.Version != len(v.Versions) {
		t.Fatalf("version %d with %d versions", v.Version, len(v.Versions))
	}
	switch v.Status {
	case skp.StatusEstablished, skp.StatusAmendment:
		if v.Version == 0 {
			t.Fatalf("%s without an established version", v.Status)
		}
	}
	for i, pv := range v.Versions {
		if pv.Version != i+1 || (i > 0 && pv.Late) {
			t.Fatalf("version %d at %d (late %v)", pv.Version, i, pv.Late)
		}
		utama := 0
		for _, r := range pv.RHK {
			if r.Kind == skp.Utama {
				utama++
				if r.IntervenedRHKID == "" {
					t.Fatalf("version %d: UTAMA RHK %s without its cascading link", pv.Version, r.ID)
				}
			}
			if len(r.Indicators) == 0 {
				t.Fatalf("version %d: RHK %s without indicators", pv.Version, r.ID)
			}
		}
		if utama == 0 {
			t.Fatalf("version %d without a UTAMA RHK", pv.Version)
		}
	}
	for _, r := range v.Realisations {
		if r.SKPVersion < 1 || r.SKPVersion > len(v.Versions) {
			t.Fatalf("realisation against version %d", r.SKPVersion)
		}
		found := false
		for _, rhk := range v.Versions[r.SKPVersion-1].RHK {
			for _, i := range rhk.Indicators {
				found = found || (i.ID == r.IndicatorID && rhk.ID == r.RHKID)
			}
		}
		if !found {
			t.Fatalf("realisation on indicator %s not in version %d", r.IndicatorID, r.SKPVersion)
		}
	}
	seen := map[string]bool{}
	for _, r := range v.Plan {
		if seen[r.ID] {
			t.Fatalf("RHK %s twice", r.ID)
		}
		seen[r.ID] = true
	}
	for _, ev := range v.Evaluations {
		checkEvaluation(t, ev)
	}
}

func checkEvaluation(t *rapid.T, ev skp.EvaluationView) {
	if ev.Predikat != rating.Derive(ev.WorkResult, ev.Behaviour) {
		t.Fatalf("%s: predikat %s is not the matrix value of %s/%s", ev.Period, ev.Predikat, ev.WorkResult, ev.Behaviour)
	}
	if len(ev.History) == 0 || ev.History[0].Previous != nil {
		t.Fatalf("%s: history must start with a first rating", ev.Period)
	}
	for i, h := range ev.History {
		if h.Predikat != rating.Derive(h.WorkResult, h.Behaviour) {
			t.Fatalf("%s: history predikat %s is not the matrix value", ev.Period, h.Predikat)
		}
		if i > 0 && (h.Previous == nil || *h.Previous != ev.History[i-1].Scores) {
			t.Fatalf("%s: entry %d does not carry the value it replaces", ev.Period, i)
		}
		if h.Superseded != (i < len(ev.History)-1) {
			t.Fatalf("%s: entry %d superseded = %v", ev.Period, i, h.Superseded)
		}
	}
	if last := ev.History[len(ev.History)-1]; last.Scores != ev.Scores {
		t.Fatalf("%s: scores %+v differ from the last history entry %+v", ev.Period, ev.Scores, last.Scores)
	}
	open, decided := 0, 0
	for _, o := range ev.Objections {
		switch o.Status {
		case skp.OpenObjection:
			open++
		case skp.DecidedObjection:
			decided++
		}
	}
	if open > 1 || decided > 1 || (open > 0 && decided > 0) {
		t.Fatalf("%s: %d open and %d decided objections", ev.Period, open, decided)
	}
	switch {
	case ev.Status == skp.EvalDraft && (ev.DeliveredAt != nil || len(ev.Objections) > 0):
		t.Fatalf("%s: DRAFT but delivered or objected to", ev.Period)
	case ev.Status == skp.EvalUnderObjection && open != 1:
		t.Fatalf("%s: UNDER_OBJECTION without an open objection", ev.Period)
	case decided == 1 && ev.Status != skp.EvalFinal:
		t.Fatalf("%s: decided but %s", ev.Period, ev.Status)
	}
	if ev.DeliveredAt != nil && ev.ObjectionDeadline != nil && !ev.ObjectionDeadline.After(*ev.DeliveredAt) {
		t.Fatalf("%s: deadline before delivery", ev.Period)
	}
}

// TestRandomCommandSequences: random command sequences from random callers
// never reach a state that breaks an invariant.
func TestRandomCommandSequences(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pol := rapid.SampledFrom([]func(*policy.Policy){
			func(*policy.Policy) {},
			func(p *policy.Policy) { p.RecordLateObjections = true },
			func(p *policy.Policy) { p.PeriodicObjections = true; p.Cadence = "MONTHLY" },
		}).Draw(t, "policy")
		m := &machine{f: newFixture(t, pol), finals: map[string]bool{}}
		t.Repeat(m.actions())
	})
}

// recorder is an event log that keeps the events as decided (values that
// never went through JSON), beside the log that stores them.
type recorder struct {
	domain.EventLog
	mu      sync.Mutex
	decided map[string][]domain.NewEvent
}

func (r *recorder) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	rev, err := r.EventLog.Append(ctx, stream, expected, events)
	if err == nil {
		r.mu.Lock()
		r.decided[stream] = append(r.decided[stream], events...)
		r.mu.Unlock()
	}
	return rev, err
}

// TestReplayRebuildsTheSameState: the state rebuilt from the stored JSON
// equals the state rebuilt from the events as they were decided, and the
// service's read equals a replay.
func TestReplayRebuildsTheSameState(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &machine{f: newFixture(t), finals: map[string]bool{}}
		rec := &recorder{EventLog: m.f.env.Handler.Log, decided: map[string][]domain.NewEvent{}}
		m.f.env.Handler.Log = rec
		acts := m.actions()
		delete(acts, "")
		names := make([]string, 0, len(acts))
		for n := range acts {
			names = append(names, n)
		}
		slices.Sort(names)
		for range rapid.IntRange(1, 80).Draw(t, "steps") {
			acts[rapid.SampledFrom(names).Draw(t, "action")](t)
		}
		now := m.f.env.Clock.Now()
		for _, id := range m.ids {
			stream := domain.SKPStream(id)
			stored, _, _, err := m.f.env.Log.Load(m.f.ctx, stream)
			if err != nil {
				t.Fatalf("%v", err)
			}
			decided := rec.decided[stream]
			if len(decided) != len(stored) {
				t.Fatalf("%s: %d events decided, %d stored", id, len(decided), len(stored))
			}
			direct := make([]domain.Stored, len(decided))
			for i, e := range decided {
				direct[i] = domain.Stored{ID: e.ID, Revision: uint64(i), RecordedAt: stored[i].RecordedAt, Meta: e.Meta, Event: e.Event}
			}
			fromJSON, fromValues := skp.Replay(stored).View(now), skp.Replay(direct).View(now)
			if diff := cmp.Diff(fromValues, fromJSON); diff != "" {
				t.Fatalf("%s: replay of the stored JSON differs (-decided +stored):\n%s", id, diff)
			}
			read, err := m.f.skps.Read(m.f.ctx, domain.Principal{ID: auditor, Roles: []domain.Role{domain.RoleAuditor}}, id, skp.AsOf{})
			if err != nil {
				t.Fatalf("%v", err)
			}
			if diff := cmp.Diff(fromJSON, read); diff != "" {
				t.Fatalf("%s: read differs from replay (-replay +read):\n%s", id, diff)
			}
		}
	})
}

// TestAsOfDates: the appraiser who may act is the one in effect on the
// request's business date and still at its recording (domain.md §10),
// whatever the line said before. Business time lies at most the tolerance
// back; the clock is drawn around midnights, where the two dates differ.
func TestAsOfDates(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := newFixture(t)
		id, _, _ := f.draftedE()
		f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
		change := rapid.IntRange(2, 60).Draw(t, "line changes on day")
		changeDate := jan1.AddDays(change)
		f.line(nipE, nipB, nipS, changeDate)
		day := rapid.IntRange(5, 80).Draw(t, "recorded on day") // after the submission of 5 January
		minute := rapid.IntRange(0, 20).Draw(t, "minutes after midnight")
		now := time.Date(2026, 1, 1, 0, minute, 0, 0, wib).AddDate(0, 0, day)
		f.env.Clock.Set(now)
		back := time.Duration(rapid.IntRange(0, 600).Draw(t, "seconds back")) * time.Second
		req := f.req(nipA)
		req.OccurredAt = now.Add(-back)
		_, err := f.skps.Establish(f.ctx, req, skp.Establish{SKPID: id})
		onDay, today := calendar.Of(req.OccurredAt, wib), calendar.Of(now, wib)
		if onDay.Before(changeDate) && today.Before(changeDate) {
			if err != nil {
				t.Fatalf("A establishing on %s, recorded %s (line changes %s): %v", onDay, today, changeDate, err)
			}
		} else if kind(err) != "forbidden" {
			t.Fatalf("A establishing on %s, recorded %s (line changes %s): %v, want forbidden", onDay, today, changeDate, err)
		}
	})
}

// TestWindowFromReceipt: whatever dates the appraiser and the employee
// send (delivered_at, received_at, occurred_at), an employee who
// acknowledges receipt keeps at least 14 days from the day of the
// acknowledgement's recording (less the tolerance) to file, and a filing on
// the deadline itself is accepted. Only a clerk's backfill of the delivery
// (not drawn here) makes the window run from the paper's date.
func TestWindowFromReceipt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := newFixture(t)
		id, _, _ := f.establishedE()
		f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
		f.env.Clock.Advance(time.Duration(rapid.IntRange(0, 40*24*60).Draw(t, "minutes to the issue")) * time.Minute)
		back := time.Duration(rapid.IntRange(0, 30*24*60).Draw(t, "delivered_at minutes back")) * time.Minute
		_, err := f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-back)})
		if err != nil {
			// Dated back beyond the tolerance, or before the rating: the
			// appraiser issues now instead.
			f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026"}))
		}
		f.env.Clock.Advance(time.Duration(rapid.IntRange(0, 20*24*60).Draw(t, "minutes to the receipt")) * time.Minute)
		recorded := f.env.Clock.Now()
		req := f.req(nipE)
		req.OccurredAt = recorded.Add(-time.Duration(rapid.IntRange(0, 30*24*60).Draw(t, "occurred_at minutes back")) * time.Minute)
		received := recorded.Add(-time.Duration(rapid.IntRange(0, 30*24*60).Draw(t, "received_at minutes back")) * time.Minute)
		if _, err := f.skps.AcknowledgeReceipt(f.ctx, req, skp.AcknowledgeReceipt{SKPID: id, Period: "2026", ReceivedAt: received}); err != nil {
			if _, err = f.skps.AcknowledgeReceipt(f.ctx, f.req(nipE), skp.AcknowledgeReceipt{SKPID: id, Period: "2026"}); err != nil {
				if kind(err) != "invalid_state" {
					t.Fatalf("acknowledging now: %v", err)
				}
				return // the window had closed before the receipt: nothing to protect
			}
		}
		ev := f.evaluation(id, "2026")
		floor := f.pol.ObjectionDeadline(recorded.Add(-10 * time.Minute))
		if ev.ObjectionDeadline == nil || ev.ObjectionDeadline.Before(floor) {
			t.Fatalf("receipt recorded %s: deadline %v, want at least %s", recorded, ev.ObjectionDeadline, floor)
		}
		f.env.Clock.Set(*ev.ObjectionDeadline)
		if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
			t.Fatalf("filing on the deadline %s: %v", ev.ObjectionDeadline, err)
		}
	})
}
