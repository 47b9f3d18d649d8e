package seed_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// now is the business now of the tests: the 2025 objections are decided.
var now = time.Date(2026, time.April, 1, 16, 0, 0, 0, policy.WIB)

// env is a fresh bbolt store with the services over it; the handler's
// clock stands at clock.
type env struct {
	store *boltstore.Store
	svc   seed.Services
	pol   policy.Policy
}

func newEnv(tb testing.TB, pol policy.Policy, clock time.Time) *env {
	tb.Helper()
	store, err := boltstore.Open(filepath.Join(tb.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	h := &domain.Handler{Log: eventlog.New(store), Now: func() time.Time { return clock }}
	return &env{store: store, svc: seed.NewServices(h, pol), pol: pol}
}

func config(n int) seed.Config {
	return seed.Config{Employees: n, Seed: 42, Year: 2025, Now: now}
}

// run seeds cfg into a fresh environment with the default policy.
func run(tb testing.TB, cfg seed.Config) (*env, seed.Stats) {
	tb.Helper()
	e := newEnv(tb, policy.Default(), now)
	st, err := seed.Run(context.Background(), cfg, e.svc)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return e, st
}

// readAll returns every stored event by stream.
func readAll(tb testing.TB, s eventstore.Store) map[string][]eventstore.Event {
	tb.Helper()
	out := map[string][]eventstore.Event{}
	for ev, err := range s.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			tb.Fatal(err)
		}
		out[ev.Stream] = append(out[ev.Stream], ev)
	}
	return out
}

// recorded is what must be equal between two runs: everything but the
// recording time and the global position.
type recorded struct {
	eventstore.EventData
	Revision uint64
	Hash     eventstore.Hash
}

func contents(tb testing.TB, s eventstore.Store) map[string][]recorded {
	tb.Helper()
	out := map[string][]recorded{}
	for name, evs := range readAll(tb, s) {
		for _, ev := range evs {
			out[name] = append(out[name], recorded{EventData: ev.EventData, Revision: ev.Revision, Hash: ev.Hash})
		}
	}
	return out
}

// TestDeterministic seeds the same agency three times into fresh stores,
// with different parallelism and with and without the cache, and compares
// every stream's events: types, payloads, envelopes, IDs and hash chains.
func TestDeterministic(t *testing.T) {
	cfg := config(60)
	a, sa := run(t, cfg)
	want := contents(t, a.store)
	for _, change := range []struct {
		name string
		cfg  func(*seed.Config)
	}{
		{"three workers", func(c *seed.Config) { c.Workers = 3 }},
		{"uncached", func(c *seed.Config) { c.Uncached, c.Workers = true, 16 }},
	} {
		t.Run(change.name, func(t *testing.T) {
			c := cfg
			change.cfg(&c)
			b, sb := run(t, c)
			if diff := cmp.Diff(want, contents(t, b.store)); diff != "" {
				t.Errorf("streams differ (-first +second):\n%s", diff)
			}
			sa.Elapsed, sb.Elapsed = 0, 0
			if diff := cmp.Diff(sa, sb); diff != "" {
				t.Errorf("stats differ (-first +second):\n%s", diff)
			}
		})
	}
	t.Run("another seed", func(t *testing.T) {
		c := cfg
		c.Seed++
		b, _ := run(t, c)
		if cmp.Equal(want, contents(t, b.store)) {
			t.Error("seeds 42 and 43 gave the same agency")
		}
	})
}

// TestAgency checks the agency of a normal run against the rules: every
// event decodes and happened by now; units form a tree with heads and
// predikat; every employee has a valid NIP and a reporting line in
// effect (but the heads appraised outside the ledger); every SKP replays;
// cascading links point at RHK of the appraiser's established SKP;
// predikat follow the matrix; objections are decided by the superior.
func TestAgency(t *testing.T) {
	const n = 60
	e, st := run(t, config(n))
	t.Logf("%+v", st)
	streams := readAll(t, e.store)
	day := calendar.MustNew(2025, time.June, 2)
	decoded := map[string][]domain.Stored{}
	events := 0
	for name, evs := range streams {
		for _, ev := range evs {
			s, err := eventlog.Decode(ev)
			if err != nil {
				t.Fatalf("decode %s@%d: %v", name, ev.Revision, err)
			}
			if s.Meta.OccurredAt.After(now) || s.Meta.OccurredAt.Before(time.Date(2024, time.December, 1, 0, 0, 0, 0, policy.WIB)) {
				t.Errorf("%s@%d %s occurred at %s, outside December 2024 .. now", name, ev.Revision, ev.Type, s.Meta.OccurredAt)
			}
			decoded[name] = append(decoded[name], s)
			events++
		}
	}
	if st.Events != events {
		t.Errorf("Stats.Events = %d, the store holds %d", st.Events, events)
	}

	// Units: a tree, every unit headed and rated for every period.
	units := map[string]*orgunit.Unit{}
	var regs []orgunit.Registered
	for name, evs := range decoded {
		if id, ok := strings.CutPrefix(name, domain.UnitStreamPrefix); ok {
			units[id] = orgunit.Replay(evs)
			regs = append(regs, evs[0].Event.(orgunit.Registered))
		}
	}
	tree, err := orgunit.BuildTree(regs)
	if err != nil {
		t.Fatalf("units: %v", err)
	}
	if len(units) != st.Units || !tree.Has(st.AgencyUnit) || tree.Parent(st.AgencyUnit) != "" {
		t.Errorf("%d units, stats say %d; root %s", len(units), st.Units, st.AgencyUnit)
	}
	heads := map[string]string{} // head NIP → unit
	for id, u := range units {
		h, ok := u.HeadOn(day)
		if !ok {
			t.Errorf("unit %s has no head", id)
		}
		heads[h] = id
		for _, p := range []string{"2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2025"} {
			if _, ok := u.Predikat(p); !ok {
				t.Errorf("unit %s has no predikat for %s", id, p)
			}
		}
	}

	// Employees: valid NIPs, posts, reporting lines.
	emps := map[string]*employee.Employee{}
	for name, evs := range decoded {
		if n, ok := strings.CutPrefix(name, domain.EmployeeStreamPrefix); ok {
			emps[n] = employee.Replay(evs)
			info, err := nip.Parse(n)
			reg := evs[0].Event.(employee.Registered)
			if err != nil || string(info.NIP) != n || info.Type != reg.ASNType || info.BirthDate != reg.BirthDate || info.Sex != reg.Sex {
				t.Errorf("employee %s: NIP %+v, %v; registered %+v", n, info, err, reg)
			}
			if len(info.Warnings) > 0 {
				t.Errorf("employee %s: NIP warnings %v", n, info.Warnings)
			}
		}
	}
	if len(emps) != n || st.Employees != n {
		t.Errorf("%d employees registered, stats say %d, want %d", len(emps), st.Employees, n)
	}
	for n, e := range emps {
		unit := e.UnitOn(day)
		kind := e.PositionOn(day).Kind
		line, ok := e.LineOn(day)
		if !ok {
			// Only the head of the agency and the heads of its deputies are
			// appraised outside the ledger.
			if heads[n] != unit || (kind != employee.JPTUtama && kind != employee.JPTMadya) {
				t.Errorf("employee %s (%s in %s) has no reporting line", n, kind, unit)
			}
			continue
		}
		appraiser := emps[line.Appraiser]
		if appraiser == nil || !appraiser.PositionOn(day).Kind.MayAppraise() {
			t.Errorf("employee %s: appraiser %s may not appraise", n, line.Appraiser)
			continue
		}
		wantUnit := unit
		if heads[n] == unit {
			wantUnit = tree.Parent(unit)
		}
		if heads[line.Appraiser] != wantUnit || heads[line.Superior] != tree.Parent(wantUnit) {
			t.Errorf("employee %s of %s: appraiser heads %s, superior heads %s; want the heads of %s and %s",
				n, unit, heads[line.Appraiser], heads[line.Superior], wantUnit, tree.Parent(wantUnit))
		}
		seen := map[string]bool{n: true}
		for cur := line.Appraiser; cur != ""; {
			if seen[cur] {
				t.Fatalf("cycle in the appraisal chain of %s", n)
			}
			seen[cur] = true
			l, ok := emps[cur].LineOn(day)
			if !ok {
				break
			}
			cur = l.Appraiser
		}
	}

	// SKPs: replay, cascade, matrix, unit heads, objections, actors.
	pol := e.pol
	aud := domain.Principal{ID: "auditor", Roles: []domain.Role{domain.RoleAuditor}}
	ctx := context.Background()
	views := map[string]skp.View{}
	for name := range decoded {
		if id, ok := strings.CutPrefix(name, domain.SKPStreamPrefix); ok {
			v, err := e.svc.SKPs.Read(ctx, aud, id, skp.AsOf{})
			if err != nil {
				t.Fatalf("read SKP %s: %v", id, err)
			}
			views[id] = v
		}
	}
	if len(views) != st.SKPs {
		t.Errorf("%d SKPs stored, stats say %d", len(views), st.SKPs)
	}
	var kinds struct{ late, draft, submitted, revised, upheld, changed, withdrawn, open, clerk, links int }
	for id, v := range views {
		switch v.Status {
		case skp.StatusDraft:
			kinds.draft++
		case skp.StatusSubmitted:
			kinds.submitted++
		}
		if v.Late {
			kinds.late++
		}
		for _, ver := range v.Versions {
			jpt := v.Employee.Position.Kind.IsJPT()
			for _, r := range ver.RHK {
				switch {
				case r.IntervenedRHKID != "":
					kinds.links++
					target, ok := views[r.IntervenedSKPID]
					if !ok || target.NIP != ver.AppraiserNIP || len(target.Versions) == 0 {
						t.Errorf("SKP %s: RHK %s links to SKP %s, not an established SKP of the appraiser %s", id, r.ID, r.IntervenedSKPID, ver.AppraiserNIP)
						continue
					}
					est := target.Versions[0]
					if est.EstablishedAt.After(ver.EstablishedAt) || !slices.ContainsFunc(est.RHK, func(x skp.RHK) bool { return x.ID == r.IntervenedRHKID }) {
						t.Errorf("SKP %s: RHK %s links to %s/%s, not in the version established at %s", id, r.ID, r.IntervenedSKPID, r.IntervenedRHKID, est.EstablishedAt)
					}
				case r.Kind == skp.Utama && !(jpt && r.PKRef != ""):
					t.Errorf("SKP %s: UTAMA RHK %s has neither a cascading link nor (JPT) a pk_ref", id, r.ID)
				}
			}
		}
		for _, ev := range v.Evaluations {
			for _, s := range append([]skp.Scores{ev.Scores}, scoresOf(ev.History)...) {
				if s.Predikat != rating.Derive(s.WorkResult, s.Behaviour) {
					t.Errorf("SKP %s %s: predikat %s for %s/%s", id, ev.Period, s.Predikat, s.WorkResult, s.Behaviour)
				}
			}
			if ev.UnitHead != nil {
				if want, _ := pol.UnitHeadWorkResult(ev.UnitHead.OrgPredikat); ev.WorkResult != want {
					t.Errorf("SKP %s %s: unit head's work result %s, unit predikat %s", id, ev.Period, ev.WorkResult, ev.UnitHead.OrgPredikat)
				}
			}
			for _, h := range ev.History {
				if h.Source == skp.SourceAppraiser && h.Previous != nil {
					kinds.revised++
				}
			}
			for _, o := range ev.Objections {
				line, _ := emps[v.NIP].LineOn(policy.Default().Date(o.FiledAt))
				if o.AddressedTo != line.Superior || o.AppraiserNIP != line.Appraiser {
					t.Errorf("SKP %s: objection addressed to %s (appraiser %s), line %+v", id, o.AddressedTo, o.AppraiserNIP, line)
				}
				switch {
				case o.RecordedByClerk != "":
					kinds.clerk++
					if o.RecordedByClerk != st.Cast.Clerk || o.FiledBy.Role != domain.RoleGrievanceClerk {
						t.Errorf("SKP %s: objection recorded by %s as %s", id, o.RecordedByClerk, o.FiledBy.Role)
					}
				case o.FiledBy.ID != v.NIP || o.FiledBy.Role != domain.RoleEmployee:
					t.Errorf("SKP %s: objection filed by %+v", id, o.FiledBy)
				}
				switch o.Status {
				case skp.DecidedObjection:
					if o.Decision.DecidedBy != line.Superior || o.Decision.DecidedBy == o.AppraiserNIP {
						t.Errorf("SKP %s: objection decided by %s; superior %s, appraiser %s", id, o.Decision.DecidedBy, line.Superior, o.AppraiserNIP)
					}
					var asked, explained []skp.Party
					for _, r := range o.Requests {
						asked = append(asked, r.From)
					}
					for _, x := range o.Explanations {
						explained = append(explained, x.By)
					}
					if !slices.Contains(asked, skp.PartyAppraiser) || !slices.Contains(asked, skp.PartyEmployee) || len(explained) != 2 {
						t.Errorf("SKP %s: decided after asking %v and hearing %v", id, asked, explained)
					}
					if o.Decision.Outcome == skp.Changed {
						kinds.changed++
						if ev.Scores != o.Decision.Result || ev.Status != skp.EvalFinal {
							t.Errorf("SKP %s: evaluation %+v after a CHANGED decision to %+v", id, ev.Scores, o.Decision.Result)
						}
					} else {
						kinds.upheld++
					}
				case skp.WithdrawnObjection:
					kinds.withdrawn++
				case skp.OpenObjection:
					kinds.open++
				}
			}
		}
	}
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"late SKPs", kinds.late, st.Late}, {"SKPs left in DRAFT", kinds.draft, st.Draft}, {"SKPs left SUBMITTED", kinds.submitted, st.Submitted},
		{"revised ratings", kinds.revised, st.Revisions}, {"upheld objections", kinds.upheld, st.Upheld}, {"changed objections", kinds.changed, st.Changed},
		{"withdrawn objections", kinds.withdrawn, st.Withdrawn}, {"open objections", kinds.open, st.Open}, {"objections recorded by the clerk", kinds.clerk, st.ByClerk},
	} {
		if c.got != c.want || c.got == 0 {
			t.Errorf("%s: %d in the store, stats say %d (want at least one)", c.what, c.got, c.want)
		}
	}
	if kinds.links == 0 || st.Returned == 0 || st.Finalised == 0 || st.Justifications == 0 {
		t.Errorf("links %d, returned %d, finalised %d, justifications %d: want some of each", kinds.links, st.Returned, st.Finalised, st.Justifications)
	}

	// Who acted: master data by HR_ADMIN, ratings by the appraiser in
	// effect, decisions by the superior, justifications by the leader.
	for name, evs := range decoded {
		for _, s := range evs {
			role := s.Meta.Actor.Role
			switch ev := s.Event.(type) {
			case orgunit.Registered, orgunit.HeadAssigned, orgunit.PerformanceRated, employee.Registered, employee.ReportingLineAssigned:
				if role != domain.RoleHRAdmin || s.Meta.Actor.ID != st.Cast.HRAdmin {
					t.Errorf("%s: %s by %+v", name, ev.EventType(), s.Meta.Actor)
				}
			case skp.RatingAssigned:
				if role != domain.RoleAppraiser || ev.AppraiserNIP != s.Meta.Actor.ID {
					t.Errorf("%s: rating by %+v", name, s.Meta.Actor)
				}
			case skp.ObjectionDecided:
				if role != domain.RoleAppraiserSuperior {
					t.Errorf("%s: decision by %+v", name, s.Meta.Actor)
				}
			case distribution.DeviationJustified:
				u := tree.Parent(ev.UnitID)
				if u == "" {
					u = ev.UnitID
				}
				if h, _ := units[u].HeadOn(day); role != domain.RoleUnitLeader || s.Meta.Actor.ID != h {
					t.Errorf("%s: justified by %+v, the leader is %s", name, s.Meta.Actor, h)
				}
			}
		}
	}
}

func scoresOf(h []skp.ScoreEntry) []skp.Scores {
	out := make([]skp.Scores, len(h))
	for i, e := range h {
		out[i] = e.Scores
	}
	return out
}

// TestNowInsideTheYear seeds the year so far: nothing happens after now.
func TestNowInsideTheYear(t *testing.T) {
	cfg := config(40)
	cfg.Now = time.Date(2025, time.August, 15, 12, 0, 0, 0, policy.WIB)
	e := newEnv(t, policy.Default(), cfg.Now)
	st, err := seed.Run(context.Background(), cfg, e.svc)
	if err != nil {
		t.Fatal(err)
	}
	periods := map[string]int{}
	for _, evs := range readAll(t, e.store) {
		for _, ev := range evs {
			if ev.OccurredAt.After(cfg.Now) {
				t.Errorf("%s@%d occurred at %s, after now", ev.Stream, ev.Revision, ev.OccurredAt)
			}
			if ev.Type == "skp.rating_assigned.v1" {
				s, _ := eventlog.Decode(ev)
				periods[s.Event.(skp.RatingAssigned).Period]++
			}
		}
	}
	if periods["2025-Q1"] == 0 || periods["2025-Q2"] == 0 || periods["2025-Q3"] != 0 || periods["2025"] != 0 || st.Objections != 0 {
		t.Errorf("ratings per period %v, %d objections; want Q1 and Q2 only", periods, st.Objections)
	}
}

// TestMonthlyCadence seeds an agency that evaluates monthly.
func TestMonthlyCadence(t *testing.T) {
	pol := policy.Default()
	pol.Cadence = period.Monthly
	e := newEnv(t, pol, now)
	st, err := seed.Run(context.Background(), config(20), e.svc)
	if err != nil {
		t.Fatal(err)
	}
	months := map[string]bool{}
	for _, evs := range readAll(t, e.store) {
		for _, ev := range evs {
			if ev.Type == "skp.rating_assigned.v1" {
				s, _ := eventlog.Decode(ev)
				months[s.Event.(skp.RatingAssigned).Period] = true
			}
		}
	}
	if len(months) != 13 || !months["2025-07"] || !months["2025"] {
		t.Errorf("rated periods %v, want the twelve months and the year", months)
	}
	if st.Issued == 0 {
		t.Error("nothing issued")
	}
}

func TestRunRefuses(t *testing.T) {
	early := newEnv(t, policy.Default(), time.Date(2025, time.March, 1, 0, 0, 0, 0, policy.WIB))
	for _, c := range []struct {
		name string
		cfg  func(*seed.Config)
		env  *env
		want string
	}{
		{"too few employees", func(c *seed.Config) { c.Employees = seed.MinEmployees - 1 }, nil, "employees"},
		{"year out of range", func(c *seed.Config) { c.Year = 1999 }, nil, "year"},
		{"now before the year", func(c *seed.Config) { c.Now = time.Date(2024, time.June, 1, 0, 0, 0, 0, policy.WIB) }, nil, "before the year"},
		{"share above one", func(c *seed.Config) { c.Objections = 1.5 }, nil, "objections share"},
		{"clock before now", func(*seed.Config) {}, early, "clock"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := c.env
			if e == nil {
				e = newEnv(t, policy.Default(), now)
			}
			cfg := config(20)
			c.cfg(&cfg)
			_, err := seed.Run(context.Background(), cfg, e.svc)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run = %v, want an error about %s", err, c.want)
			}
			if n := len(readAll(t, e.store)); n != 0 {
				t.Errorf("%d streams written after a refusal", n)
			}
		})
	}
	t.Run("second run into the same store", func(t *testing.T) {
		e, _ := run(t, config(20))
		_, err := seed.Run(context.Background(), config(20), e.svc)
		if !errors.Is(err, domain.ErrConflict) {
			t.Errorf("second Run = %v, want a conflict", err)
		}
	})
}

func TestProgress(t *testing.T) {
	cfg := config(20)
	var calls, last, total int
	cfg.Progress = func(done, n int) {
		calls++
		if done != last+1 || (total != 0 && n != total) {
			t.Errorf("Progress(%d, %d) after (%d, %d)", done, n, last, total)
		}
		last, total = done, n
	}
	run(t, cfg)
	if calls == 0 || last != total {
		t.Errorf("%d calls, last %d of %d", calls, last, total)
	}
}
