package readmodeltest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

var bg = context.Background()

func checkDirectory(t *testing.T, b *Backend) {
	d := b.Directory
	units, err := d.Units(bg)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Units", []string{"BAPPEDA", "DINKES", "DISDIK", "PEMKOT", "PUSKESMAS1", "PUSKESMAS2", "SD1"}, ids(units, func(u directory.Unit) string { return u.ID }))
	kids, err := d.Children(bg, "PEMKOT")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Children(PEMKOT)", []string{"BAPPEDA", "DINKES", "DISDIK"}, ids(kids, func(u directory.Unit) string { return u.ID }))
	if kids, err := d.Children(bg, "SD1"); err != nil || kids == nil || len(kids) != 0 {
		t.Errorf("Children(SD1) = %#v, %v; want an empty list", kids, err)
	}
	// The agencies (tenancy): both read models answer the root units.
	if r, ok := d.(interface {
		Roots(context.Context) ([]string, error)
	}); !ok {
		t.Error("the directory reader does not answer Roots (the agencies)")
	} else if roots, err := r.Roots(bg); err != nil {
		t.Fatal(err)
	} else {
		diff(t, "Roots", []string{"PEMKOT"}, roots)
	}
	for unit, want := range map[string][]string{
		"DINKES": {"DINKES", "PUSKESMAS1", "PUSKESMAS2"},
		"PEMKOT": {"PEMKOT", "BAPPEDA", "DINKES", "PUSKESMAS1", "PUSKESMAS2", "DISDIK", "SD1"},
		"SD1":    {"SD1"},
	} {
		got, err := d.Subtree(bg, unit)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "Subtree("+unit+")", want, got)
	}
	if _, err := d.Subtree(bg, "NOPE"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Subtree(NOPE) error = %v, want ErrNotFound", err)
	}
	for id, want := range map[string]string{"DINKES": "WIT", "PUSKESMAS1": "", "PEMKOT": ""} {
		if u, err := d.Unit(bg, id); err != nil || u.Zone != want {
			t.Errorf("Unit(%s).Zone = %q, %v; want %q", id, u.Zone, err, want)
		}
	}
	for _, u := range units {
		if u.ID == "DINKES" && u.Zone != "WIT" {
			t.Errorf("Units: DINKES's zone = %q, want WIT", u.Zone)
		}
	}
	if _, err := d.Unit(bg, "NOPE"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Unit(NOPE) error = %v, want ErrNotFound", err)
	}
	if _, err := d.Employee(bg, "199901012020011099"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Employee(unknown) error = %v, want ErrNotFound", err)
	}
	dinkes, err := d.Unit(bg, "DINKES")
	if err != nil {
		t.Fatal(err)
	}
	want := directory.Unit{ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT", Performance: map[string]string{"2026": "BUTUH_PERBAIKAN"},
		RegisteredAt: registry.UTC(), Zone: "WIT"}
	diff(t, "Unit(DINKES)", want, dinkes)
	if u, err := d.Unit(bg, "PEMKOT"); err != nil || u.HeadNIP != nipS || u.HeadFrom != "2026-01-01" || u.ParentID != "" {
		t.Errorf("Unit(PEMKOT) = %+v, %v; want head S from 2026-01-01", u, err)
	}
	e3, err := d.Employee(bg, nipE[2])
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Employee(E3): a line recorded later but effective earlier does not replace the line in effect",
		directory.Employee{NIP: nipE[2], Name: "Pegawai 19900303013", ASNType: "PNS", UnitID: "DINKES", PositionKind: "PELAKSANA",
			PositionTitle: "PELAKSANA DINKES", AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS, EffectiveFrom: "2026-01-01"}, e3)
	if e1, err := d.Employee(bg, nipE[0]); err != nil || e1.AppraiserNIP != nipB || e1.AppraiserSuperiorNIP != nipA || e1.EffectiveFrom != "2026-07-01" {
		t.Errorf("Employee(E1) = %+v, %v; want the line B/A from 2026-07-01", e1, err)
	}
	emps, err := d.EmployeesIn(bg, []string{"PUSKESMAS1"})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "EmployeesIn(PUSKESMAS1)", sorted(nipB, nipP[0], nipP[1]), ids(emps, func(e directory.Employee) string { return e.NIP }))
	if emps, err := d.EmployeesIn(bg, nil); err != nil || len(emps) != 0 {
		t.Errorf("EmployeesIn(none) = %v, %v; want none", emps, err)
	}
	j, ok, err := d.Justification(bg, "DISDIK", "2026")
	if err != nil || !ok {
		t.Fatalf("Justification(DISDIK, 2026) = %v, %v", ok, err)
	}
	diff(t, "justified rules", []string{"BAIK.BAIK.max_70", "BAIK.BUTUH_PERBAIKAN+KURANG_MISCONDUCT.min_count_1"},
		ids(j.Violations, func(v distribution.Violation) string { return v.Rule }))
	if j.ActorID != nipS || j.OrgPredikat != "BAIK" || j.Counts["BAIK"] != 8 || j.Counts["SANGAT_BAIK"] != 2 || j.Text != "capaian unit di atas target" {
		t.Errorf("Justification = %+v", j)
	}
	if _, ok, err := d.Justification(bg, "DINKES", "2026"); ok || err != nil {
		t.Errorf("Justification(DINKES) = %v, %v; want none", ok, err)
	}
}

func checkSKPs(t *testing.T, j *Journey, b *Backend) {
	r := b.SKPs
	get := func(id string) skps.Summary {
		t.Helper()
		s, err := r.Get(bg, id)
		if err != nil {
			t.Fatalf("Get(%s): %v", id, err)
		}
		return s
	}
	if s := get(j.SKP[nipE[0]]); s.Status != "ESTABLISHED" || s.Version != 2 || !s.Late || s.AppraiserNIP != nipA || s.UnitID != "DINKES" {
		t.Errorf("E1 = %+v, want ESTABLISHED version 2, late, appraised by A", s)
	}
	if s := get(j.E2Cancelled); s.Status != "CANCELLED" || !s.DraftedOnBehalf || s.Sequence != 1 {
		t.Errorf("E2's first SKP = %+v, want CANCELLED, drafted on behalf", s)
	}
	if s := get(j.SKP[nipE[1]]); s.Status != "DRAFT" || s.Sequence != 2 || s.DraftedOnBehalf || !strings.HasSuffix(s.ID, "-2") {
		t.Errorf("E2's second SKP = %+v, want the DRAFT {nip}-2026-2", s)
	}
	if s := get(j.SKP[nipE[3]]); s.Status != "SUBMITTED" || s.Version != 0 {
		t.Errorf("E4 = %+v, want SUBMITTED", s)
	}
	if s := get(j.SKP[nipP[0]]); s.Status != "ESTABLISHED" || s.Late || s.AppraiserNIP != nipB || s.AppraiserSuperiorNIP != nipA ||
		s.Name != "Pegawai 19910505015" || s.UnitID != "PUSKESMAS1" || s.Year != 2026 || s.Position == 0 {
		t.Errorf("P1 = %+v", s)
	}
	if _, err := r.Get(bg, "nope"); !errors.Is(err, skps.ErrNotFound) {
		t.Errorf("Get(nope) error = %v, want ErrNotFound", err)
	}
	of := func(holders ...string) []string {
		var out []string
		for _, h := range holders {
			out = append(out, j.SKP[h])
		}
		return sorted(out...)
	}
	all := append(append([]string{}, nipE[:]...), nipA, nipB, nipS, nipH, nipP[0], nipP[1], nipQ[0])
	all = append(all, nipD[:]...)
	tests := []struct {
		name string
		q    skps.Query
		want []string
	}{
		{"everything", skps.Query{}, append(of(all...), j.E2Cancelled)},
		{"unit", skps.Query{Units: []string{"DINKES"}}, sorted(append(of(nipA, nipE[0], nipE[1], nipE[2], nipE[3]), j.E2Cancelled)...)},
		{"units, status and year", skps.Query{Units: []string{"PUSKESMAS1", "PUSKESMAS2"}, Status: "ESTABLISHED", Year: 2026}, of(nipB, nipP[0], nipP[1], nipQ[0])},
		{"status", skps.Query{Status: "DRAFT"}, of(nipE[1], nipE[2])},
		{"nip", skps.Query{NIP: nipE[1]}, sorted(j.SKP[nipE[1]], j.E2Cancelled)},
		{"another year", skps.Query{Year: 2025}, nil},
		{"no unit", skps.Query{Units: []string{}}, nil},
		{"party: appraiser", skps.Query{Party: nipB}, of(nipB, nipP[0], nipP[1])},
		{"party: appraiser and superior", skps.Query{Party: nipA},
			sorted(append(of(nipA, nipB, nipE[0], nipE[1], nipE[2], nipE[3], nipP[0], nipP[1], nipQ[0]), j.E2Cancelled)...)},
		{"party and status", skps.Query{Party: nipA, Status: "SUBMITTED"}, of(nipE[3])},
		// Units widened by employees (the SKPs that follow a person into
		// an agency), and nothing without units.
		{"units or employees", skps.Query{Units: []string{"PUSKESMAS2"}, Employees: []string{nipB, nipE[1]}},
			sorted(append(of(nipQ[0], nipB, nipE[1]), j.E2Cancelled)...)},
		{"no unit, an employee", skps.Query{Units: []string{}, Employees: []string{nipB}}, of(nipB)},
		{"employees without units", skps.Query{Employees: []string{nipB}, Status: "DRAFT"}, of(nipE[1], nipE[2])},
	}
	slices.Sort(tests[0].want)
	for _, tt := range tests {
		for _, limit := range []int{0, 1, 3, 500} {
			q := tt.q
			q.Limit = limit
			got := ids(listAll(t, r, q), func(s skps.Summary) string { return s.ID })
			if len(got) == 0 {
				got = nil
			}
			diff(t, "List "+tt.name, tt.want, got)
		}
	}
	if _, _, err := r.List(bg, skps.Query{Cursor: "!!"}); !errors.Is(err, skps.ErrBadCursor) {
		t.Errorf("List(bad cursor) error = %v, want ErrBadCursor", err)
	}
	page, next, err := r.List(bg, skps.Query{Limit: 2, Units: []string{"DINKES"}})
	if err != nil || len(page) != 2 || next == "" {
		t.Errorf("List(limit 2) = %d items, next %q, %v; want 2 and a cursor", len(page), next, err)
	}
	year, err := r.ForYear(bg, []string{"DISDIK", "SD1"}, 2026)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ForYear(DISDIK, SD1)", of(append([]string{nipH}, nipD[:]...)...), ids(year, func(s skps.Summary) string { return s.ID }))
	if year, err := r.ForYear(bg, []string{"DISDIK"}, 2025); err != nil || len(year) != 0 {
		t.Errorf("ForYear(2025) = %v, %v; want none", year, err)
	}
}

// checkDomainReplay holds every row to the domain's own replay of the
// SKP's whole stream.
func checkDomainReplay(t *testing.T, j *Journey, b *Backend, evs []projections.Event) {
	byStream := map[string][]projections.Event{}
	for _, ev := range evs {
		if strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
			byStream[ev.Stream] = append(byStream[ev.Stream], ev)
		}
	}
	if len(byStream) < 20 {
		t.Fatalf("the journey has %d SKPs", len(byStream))
	}
	for _, events := range byStream {
		checkReplay(t, b, events)
	}
}

// checkReplay holds the rows of one SKP to the domain's replay of events
// (a prefix of its stream, or all of it).
func checkReplay(t *testing.T, b *Backend, events []projections.Event) {
	t.Helper()
	stored := make([]domain.Stored, len(events))
	positions := map[string]eventstore.Position{}
	evalRev := map[string]uint64{}
	for i, ev := range events {
		stored[i] = ev.Stored()
		positions[ev.ID.String()] = ev.Position
		if p := evaluations.PeriodOf(ev.Payload); p != "" {
			evalRev[p] = ev.Revision
		}
	}
	sk := skp.Replay(stored)
	v := sk.View(time.Time{})
	at := fmt.Sprintf("%s@%d", sk.ID(), events[len(events)-1].Revision)
	want := skps.Of(v)
	want.Position = events[len(events)-1].Position
	got, err := b.SKPs.Get(bg, sk.ID())
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "summary of "+at, want, got)

	var wantEvals []evaluations.Evaluation
	var wantObjections []objections.Objection
	for _, e := range v.Evaluations {
		wantEvals = append(wantEvals, evaluations.Of(v, e, evalRev[e.Period]))
		for _, o := range e.Objections {
			wantObjections = append(wantObjections, objections.Of(v, e.Period, o, defaultPolicy.ObjectionDecisionSLADays))
		}
	}
	gotEvals, err := b.Evaluations.ForSKP(bg, sk.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(gotEvals) == 0 {
		gotEvals = nil
	}
	diff(t, "evaluations of "+at, wantEvals, gotEvals)

	var wantScores []scores.Entry
	for _, h := range sk.ScoreHistory() {
		wantScores = append(wantScores, scores.Entry{SKPID: sk.ID(), NIP: sk.NIP(), UnitID: v.Employee.UnitID, ScoreEntry: h, Position: positions[h.EventID]})
	}
	gotScores, err := b.Scores.ForSKP(bg, sk.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(gotScores) == 0 {
		gotScores = nil
	}
	diff(t, "score history of "+at, wantScores, gotScores)

	gotObjections, err := b.Objections.List(bg, objections.Query{SKPID: sk.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if len(gotObjections) == 0 {
		gotObjections = nil
	}
	diff(t, "objections of "+at, wantObjections, gotObjections)
}

func checkEvaluations(t *testing.T, j *Journey, b *Backend) {
	r := b.Evaluations
	p1, err := r.ForSKP(bg, j.SKP[nipP[0]])
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "periods of P1", []string{"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026"}, ids(p1, func(e evaluations.Evaluation) string { return e.Period }))
	if len(p1) == 5 {
		if q1 := p1[0]; q1.Status != "FINAL" || !q1.FinalityRecorded || q1.Predikat != "BAIK" || q1.ObjectionDeadline != nil || q1.DeliveredAt == nil {
			t.Errorf("P1 2026-Q1 = %+v, want FINAL on issue (no objection to a quarter)", q1)
		}
		if a := p1[4]; a.Status != "FINAL" || !a.FinalityRecorded || a.Predikat != "SANGAT_BAIK" || a.WorkResult != above || a.AppraiserNIP != nipB {
			t.Errorf("P1 2026 = %+v, want FINAL SANGAT_BAIK by the decision", a)
		}
	}
	p2, err := r.ForSKP(bg, j.SKP[nipP[1]])
	if err != nil || len(p2) != 1 {
		t.Fatalf("ForSKP(P2) = %v, %v", p2, err)
	}
	deadline := time.Date(2027, 1, 20, 23, 59, 59, 0, wib)
	if e := p2[0]; e.Status != "ISSUED" || e.Predikat != "BAIK" || e.ObjectionDeadline == nil || !e.ObjectionDeadline.Equal(deadline) ||
		e.StatusAt(deadline) != "ISSUED" || e.StatusAt(deadline.Add(time.Second)) != "FINAL" {
		t.Errorf("P2 2026 = %+v, want ISSUED BAIK, FINAL after %v", e, deadline)
	}
	q1, err := r.ForSKP(bg, j.SKP[nipQ[0]])
	if err != nil || len(q1) != 1 || q1[0].Status != "UNDER_OBJECTION" || q1[0].Predikat != "KURANG_MISCONDUCT" {
		t.Errorf("ForSKP(Q1) = %+v, %v; want UNDER_OBJECTION KURANG_MISCONDUCT", q1, err)
	}
	all := []string{"PEMKOT", "BAPPEDA", "DINKES", "PUSKESMAS1", "PUSKESMAS2", "DISDIK", "SD1"}
	for _, tt := range []struct {
		units  []string
		period string
		want   int
	}{{all, "2026", 13}, {[]string{"DISDIK"}, "2026", 6}, {[]string{"DISDIK", "SD1"}, "2026", 10}, {all, "2026-Q2", 1}, {all, "2026-01", 0}, {nil, "2026", 0}} {
		got, err := r.ForPeriod(bg, tt.units, tt.period)
		if err != nil || len(got) != tt.want {
			t.Errorf("ForPeriod(%v, %s) = %d rows, %v; want %d", tt.units, tt.period, len(got), err, tt.want)
		}
		if !slices.IsSortedFunc(got, func(a, b evaluations.Evaluation) int { return strings.Compare(a.SKPID, b.SKPID) }) {
			t.Errorf("ForPeriod(%v, %s) is not ordered by SKP", tt.units, tt.period)
		}
	}
	if got, err := r.ForSKP(bg, "nope"); err != nil || len(got) != 0 {
		t.Errorf("ForSKP(nope) = %v, %v; want none", got, err)
	}
}

func checkScores(t *testing.T, j *Journey, b *Backend) {
	r := b.Scores
	p2, err := r.ForSKP(bg, j.SKP[nipP[1]])
	if err != nil {
		t.Fatal(err)
	}
	if len(p2) != 2 {
		t.Fatalf("ForSKP(P2) = %+v, want two entries", p2)
	}
	first, second := p2[0], p2[1]
	if first.Source != skp.SourceAppraiser || first.Predikat != rating.ButuhPerbaikan || !first.Superseded || first.Previous != nil || first.Actor.ID != nipB {
		t.Errorf("P2's first rating = %+v, want a superseded BUTUH_PERBAIKAN by B", first)
	}
	wantPrev := skp.Scores{WorkResult: below, Behaviour: meets, Predikat: rating.ButuhPerbaikan}
	if second.Source != skp.SourceAppraiser || second.Predikat != rating.Baik || second.Superseded || second.Previous == nil || *second.Previous != wantPrev ||
		second.Reason != "bukti dukung tambahan diterima" || second.SupersedesEventID != first.EventID || second.Position <= first.Position ||
		second.NIP != nipP[1] || second.UnitID != "PUSKESMAS1" {
		t.Errorf("P2's revision = %+v, want BAIK replacing %+v with its reason", second, wantPrev)
	}
	p1, err := r.ForSKP(bg, j.SKP[nipP[0]])
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "P1's history by period", []string{"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026", "2026"}, ids(p1, func(e scores.Entry) string { return e.Period }))
	if n := len(p1); n == 6 {
		o := p1[5]
		if o.Source != skp.SourceObjection || o.Predikat != rating.SangatBaik || o.ObjectionID != j.ObjP1 || o.Actor.ID != nipA ||
			o.Previous == nil || o.Previous.Predikat != rating.Baik || !p1[4].Superseded {
			t.Errorf("P1's decided rating = %+v, want SANGAT_BAIK from the objection, replacing BAIK", o)
		}
	}
	byNIP, err := r.ForEmployee(bg, nipP[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(byNIP) != 6 || !slices.IsSortedFunc(byNIP, func(a, b scores.Entry) int { return int(a.Position) - int(b.Position) }) {
		t.Errorf("ForEmployee(P1) = %d entries, want 6 in the global order", len(byNIP))
	}
	if got, err := r.ForEmployee(bg, nipX); err != nil || len(got) != 0 {
		t.Errorf("ForEmployee(X) = %v, %v; want none", got, err)
	}
}

func checkObjections(t *testing.T, j *Journey, b *Backend) {
	r := b.Objections
	all, err := r.List(bg, objections.Query{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "objections by filing time", []string{j.ObjQ1, j.ObjP1, j.ObjP2, j.ObjD1}, ids(all, func(o objections.Objection) string { return o.ID }))
	byID := map[string]objections.Objection{}
	for _, o := range all {
		byID[o.ID] = o
	}
	p1 := byID[j.ObjP1]
	decided := time.Date(2027, 1, 18, 9, 0, 0, 0, wib)
	filed := time.Date(2027, 1, 10, 9, 0, 0, 0, wib)
	want := objections.Objection{ID: j.ObjP1, SKPID: j.SKP[nipP[0]], NIP: nipP[0], Name: "Pegawai 19910505015", UnitID: "PUSKESMAS1", Period: "2026",
		Status: "DECIDED", FiledAt: filed.UTC(), WindowDeadline: time.Date(2027, 1, 20, 23, 59, 59, 0, wib).UTC(), DecisionDue: filed.AddDate(0, 0, 14).UTC(),
		AppraiserNIP: nipB, AddressedTo: nipA, ExplanationsRequested: []string{"APPRAISER", "EMPLOYEE"}, ExplanationsGiven: []string{"APPRAISER", "EMPLOYEE"},
		Outcome: "CHANGED", DecidedAt: &decided, DecidedBy: nipA, PredikatBefore: "BAIK", PredikatAfter: "SANGAT_BAIK"}
	diff(t, "P1's objection", want, p1)
	if o := byID[j.ObjP2]; o.Status != "WITHDRAWN" || o.Outcome != "" || o.DecidedAt != nil {
		t.Errorf("P2's objection = %+v, want WITHDRAWN", o)
	}
	if o := byID[j.ObjQ1]; o.Status != "OPEN" || o.AddressedTo != nipS || o.PredikatBefore != "KURANG_MISCONDUCT" || len(o.ExplanationsRequested) != 0 {
		t.Errorf("Q1's objection = %+v, want OPEN, addressed to S", o)
	}
	yes, no := true, false
	for _, tt := range []struct {
		name string
		q    objections.Query
		want []string
	}{
		{"open", objections.Query{Status: "OPEN"}, []string{j.ObjQ1, j.ObjD1}},
		{"decided", objections.Query{Status: "DECIDED"}, []string{j.ObjP1}},
		{"units", objections.Query{Units: []string{"PUSKESMAS1"}}, []string{j.ObjP1, j.ObjP2}},
		{"no units", objections.Query{Units: []string{}}, nil},
		{"overdue", objections.Query{Overdue: &yes, Now: registerNow}, []string{j.ObjQ1}},
		{"not overdue", objections.Query{Overdue: &no, Now: registerNow}, []string{j.ObjP1, j.ObjP2, j.ObjD1}},
		{"overdue before anything is due", objections.Query{Overdue: &yes, Now: j.FiledQ1}, nil},
		{"open and overdue in DISDIK", objections.Query{Status: "OPEN", Overdue: &yes, Now: registerNow, Units: []string{"DISDIK"}}, nil},
		{"skp", objections.Query{SKPID: j.SKP[nipD[0]]}, []string{j.ObjD1}},
	} {
		got, err := r.List(bg, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		g := ids(got, func(o objections.Objection) string { return o.ID })
		if len(g) == 0 {
			g = nil
		}
		diff(t, "List "+tt.name, tt.want, g)
	}
}

func checkTimeline(t *testing.T, j *Journey, b *Backend) {
	r := b.Timeline
	full, err := r.ForEmployee(bg, nipP[0], 0, timeline.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) < 15 {
		t.Fatalf("P1's timeline has %d items", len(full))
	}
	for i := 1; i < len(full); i++ {
		if full[i].Position >= full[i-1].Position {
			t.Fatalf("P1's timeline is not newest first at %d: %d after %d", i, full[i].Position, full[i-1].Position)
		}
	}
	if last := full[len(full)-1]; last.Type != "employee.registered.v1" || last.Role != "EMPLOYEE" || last.ActorID != hrAdmin {
		t.Errorf("P1's oldest item = %+v, want the registration", last)
	}
	if first := full[0]; first.Type != "skp.rating_revised.v1" || first.Role != "EMPLOYEE" || first.ActorID != nipA {
		t.Errorf("P1's newest item = %+v, want the rating the decision changed", first)
	}
	var paged []timeline.Item
	var before eventstore.Position
	for {
		page, err := r.ForEmployee(bg, nipP[0], before, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 4 {
			t.Fatalf("a page of 4 has %d items", len(page))
		}
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		before = page[len(page)-1].Position
	}
	diff(t, "P1's timeline in pages of 4", full, paged)
	roles := func(nip string) map[string]string { // type → role, for P1's SKP
		out := map[string]string{}
		items, err := r.ForEmployee(bg, nip, 0, timeline.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Stream == domain.SKPStreamPrefix+j.SKP[nipP[0]] {
				out[it.Type] = it.Role
			}
		}
		return out
	}
	rb := roles(nipB)
	for typ, role := range map[string]string{"skp.rating_assigned.v1": "APPRAISER", "skp.evaluation_issued.v1": "APPRAISER",
		"skp.explanation_requested.v1": "APPRAISER", "skp.objection_decided.v1": "APPRAISER", "skp.established.v1": "APPRAISER"} {
		if rb[typ] != role {
			t.Errorf("B's timeline: %s of P1's SKP has role %q, want %q", typ, rb[typ], role)
		}
	}
	ra := roles(nipA)
	for typ, role := range map[string]string{"skp.objection_decided.v1": "APPRAISER_SUPERIOR", "skp.objection_filed.v1": "APPRAISER_SUPERIOR"} {
		if ra[typ] != role {
			t.Errorf("A's timeline: %s of P1's SKP has role %q, want %q", typ, ra[typ], role)
		}
	}
	if _, ok := ra["skp.realisation_recorded.v1"]; ok {
		t.Error("A's timeline holds P1's realisations: A is neither party nor actor")
	}
	rp2 := roles(nipP[1])
	if rp2["skp.feedback_given.v1"] != "PEER" {
		t.Errorf("P2's timeline: feedback on P1's SKP has role %q, want PEER", rp2["skp.feedback_given.v1"])
	}
	for _, who := range []string{hrAdmin, "199901012020011099"} {
		if got, err := r.ForEmployee(bg, who, 0, 0); err != nil || len(got) != 0 {
			t.Errorf("ForEmployee(%s) = %d items, %v; want none", who, len(got), err)
		}
	}
	if got, err := r.ForEmployee(bg, nipP[0], 0, 0); err != nil || len(got) != min(len(full), timeline.DefaultLimit) {
		t.Errorf("ForEmployee(limit 0) = %d items, %v; want %d", len(got), err, min(len(full), timeline.DefaultLimit))
	}
	if got, err := r.ForEmployee(bg, nipP[0], 0, 3); err != nil || len(got) != 3 {
		t.Errorf("ForEmployee(limit 3) = %d items, %v; want 3", len(got), err)
	}
}

func checkReports(t *testing.T, j *Journey, b *Backend) {
	p, err := reports.Progress(bg, b.Directory, b.SKPs, "PEMKOT", 2026)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "progress units", []string{"PEMKOT", "BAPPEDA", "DINKES", "PUSKESMAS1", "PUSKESMAS2", "DISDIK", "SD1"}, ids(p.Units, func(u reports.UnitProgress) string { return u.UnitID }))
	row := map[string]reports.UnitProgress{}
	for _, u := range p.Units {
		row[u.UnitID] = u
	}
	counts := func(emps, skpsN, late, missing int, by map[string]int) reports.ProgressCounts {
		c := reports.ProgressCounts{Employees: emps, SKPs: skpsN, Late: late, Missing: missing, ByStatus: map[string]int{}}
		for _, s := range reports.Statuses() {
			c.ByStatus[s] = by[s]
		}
		return c
	}
	diff(t, "DINKES's own progress", counts(5, 6, 1, 0, map[string]int{"ESTABLISHED": 2, "DRAFT": 2, "SUBMITTED": 1, "CANCELLED": 1}), row["DINKES"].ProgressCounts)
	diff(t, "DINKES with its sub-units", counts(10, 10, 1, 1, map[string]int{"ESTABLISHED": 6, "DRAFT": 2, "SUBMITTED": 1, "CANCELLED": 1}), row["DINKES"].Subtree)
	diff(t, "PUSKESMAS2 missing", []string{nipQ[1]}, row["PUSKESMAS2"].MissingNIPs)
	diff(t, "PEMKOT missing", sorted(nipU, nipW), row["PEMKOT"].MissingNIPs)
	diff(t, "BAPPEDA", counts(1, 0, 0, 1, nil), row["BAPPEDA"].ProgressCounts)
	diff(t, "total", counts(25, 22, 1, 4, map[string]int{"ESTABLISHED": 18, "DRAFT": 2, "SUBMITTED": 1, "CANCELLED": 1}), p.Total)
	if row["PUSKESMAS1"].Depth != 2 || row["DINKES"].Depth != 1 || row["PEMKOT"].Depth != 0 {
		t.Errorf("depths = %d, %d, %d", row["PEMKOT"].Depth, row["DINKES"].Depth, row["PUSKESMAS1"].Depth)
	}
	if _, err := reports.Progress(bg, b.Directory, b.SKPs, "NOPE", 2026); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Progress(NOPE) error = %v, want ErrNotFound", err)
	}
	checkProgressSums(t, b, "PEMKOT", 2026)

	in := reports.DistributionInput{Directory: b.Directory, SKPs: b.SKPs, Evaluations: b.Evaluations, Justifications: b.Directory, Policy: defaultPolicy}
	d, err := reports.Distribution(bg, in, "DISDIK", "2026")
	if err != nil {
		t.Fatal(err)
	}
	if d.Population != 10 || d.Counts[rating.Baik] != 8 || d.Counts[rating.SangatBaik] != 2 || d.Counts[rating.SangatKurang] != 0 ||
		d.Shares[rating.Baik] != 0.8 || d.OrgPredikat != rating.OrgBaik || len(d.Violations) != 2 || d.Justification == nil ||
		len(d.Unjustified) != 0 || d.Pattern != "SE_MENPANRB_3_2023" {
		t.Errorf("Distribution(DISDIK) = %+v; want 8 BAIK and 2 SANGAT_BAIK of 10, two violations, both justified", d)
	}
	diff(t, "DISDIK counted units", []string{"DISDIK", "SD1"}, d.Units)
	d, err = reports.Distribution(bg, in, "DINKES", "2026")
	if err != nil {
		t.Fatal(err)
	}
	if d.Population != 3 || d.Counts[rating.SangatBaik] != 1 || d.Counts[rating.Baik] != 1 || d.Counts[rating.KurangMisconduct] != 1 ||
		d.OrgPredikat != rating.OrgButuhPerbaikan || d.Justification != nil {
		t.Errorf("Distribution(DINKES) = %+v", d)
	}
	diff(t, "DINKES unjustified", []string{"BUTUH_PERBAIKAN.BUTUH_PERBAIKAN.min_60", "BUTUH_PERBAIKAN.SANGAT_BAIK.max_10"},
		ids(d.Unjustified, func(v distribution.Violation) string { return v.Rule }))
	d, err = reports.Distribution(bg, in, "PEMKOT", "2026")
	if err != nil || d.Population != 13 || d.OrgPredikat != "" || len(d.Violations) != 0 {
		t.Errorf("Distribution(PEMKOT) = %+v, %v; want 13 counted, no organisation predikat, no violation", d, err)
	}
	if _, err := reports.Distribution(bg, in, "NOPE", "2026"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Distribution(NOPE) error = %v, want ErrNotFound", err)
	}
	if _, err := reports.Distribution(bg, in, "DINKES", "2026-X"); err == nil {
		t.Error("Distribution(bad period) succeeded")
	}

	yes := true
	reg, err := reports.Objections(bg, b.Directory, b.Objections, "DINKES", "", &yes, registerNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Items) != 1 || reg.Items[0].ID != j.ObjQ1 || !reg.Items[0].Overdue {
		t.Errorf("overdue objections of DINKES = %+v, want Q1's", reg.Items)
	}
	reg, err = reports.Objections(bg, b.Directory, b.Objections, "", "OPEN", nil, registerNow)
	if err != nil || len(reg.Items) != 2 || reg.Items[0].Overdue == reg.Items[1].Overdue {
		t.Errorf("open objections = %+v, %v; want Q1's (overdue) and D1's (not)", reg.Items, err)
	}
}

func checkAudit(t *testing.T, j *Journey, b *Backend, evs []projections.Event) {
	a := b.Audit
	var trail []projections.Event
	var checkpointEvent projections.Event
	for _, ev := range evs {
		if audit.InTrail(ev.Stream) {
			trail = append(trail, ev)
		} else {
			checkpointEvent = ev
		}
	}
	size, err := a.Size(bg)
	if err != nil || size != uint64(len(trail)) {
		t.Fatalf("Size = %d, %v; want %d", size, err, len(trail))
	}
	entry := func(seq uint64) audit.Entry { return audit.EntryOf(seq, trail[seq].Event) }
	want := func(pred func(audit.Entry) bool, from uint64, limit int) []audit.Entry {
		var out []audit.Entry
		for seq := from; seq < size && len(out) < limit; seq++ {
			if e := entry(seq); pred(e) {
				out = append(out, e)
			}
		}
		return out
	}
	// wantDesc is want newest first: the last limit matching entries of
	// [from, before), in descending seq order.
	wantDesc := func(pred func(audit.Entry) bool, from, before uint64, limit int) []audit.Entry {
		var out []audit.Entry
		for seq := min(before, size); seq > from && len(out) < limit; seq-- {
			if e := entry(seq - 1); pred(e) {
				out = append(out, e)
			}
		}
		return out
	}
	anyEntry := func(audit.Entry) bool { return true }
	p1Stream := domain.SKPStreamPrefix + j.SKP[nipP[0]]
	from, to := time.Date(2026, 12, 22, 0, 0, 0, 0, wib), time.Date(2027, 1, 7, 0, 0, 0, 0, wib)
	for _, tt := range []struct {
		name string
		q    audit.Query
		want []audit.Entry
	}{
		{"default page", audit.Query{}, want(anyEntry, 0, 100)},
		{"after and limit", audit.Query{After: 10, AfterSet: true, Limit: 5}, want(anyEntry, 11, 5)},
		{"from the start", audit.Query{After: 10, Limit: 3}, want(anyEntry, 0, 3)},
		{"stream", audit.Query{Stream: p1Stream, Limit: 1000}, want(func(e audit.Entry) bool { return e.Stream == p1Stream }, 0, 1000)},
		{"stream after", audit.Query{Stream: p1Stream, After: 200, AfterSet: true, Limit: 3},
			want(func(e audit.Entry) bool { return e.Stream == p1Stream }, 201, 3)},
		{"actor and type", audit.Query{Actor: nipA, Type: "skp.objection_decided.v1"},
			want(func(e audit.Entry) bool { return e.ActorID == nipA && e.Type == "skp.objection_decided.v1" }, 0, 100)},
		{"time window", audit.Query{From: from, To: to, Limit: 1000},
			want(func(e audit.Entry) bool { return !e.RecordedAt.Before(from) && e.RecordedAt.Before(to) }, 0, 1000)},
		{"nobody", audit.Query{Actor: "nobody"}, nil},
		// Newest first (issue 13), and the pages around a position.
		{"newest first", audit.Query{Desc: true, Limit: 7}, wantDesc(anyEntry, 0, size, 7)},
		{"older than", audit.Query{Desc: true, Before: 40, BeforeSet: true, Limit: 5}, wantDesc(anyEntry, 0, 40, 5)},
		{"between", audit.Query{After: 30, AfterSet: true, Before: 36, BeforeSet: true, Limit: 100}, want(anyEntry, 31, 5)},
		{"between newest first", audit.Query{Desc: true, After: 30, AfterSet: true, Before: 36, BeforeSet: true, Limit: 100},
			wantDesc(anyEntry, 31, 36, 100)},
		{"stream newest first", audit.Query{Stream: p1Stream, Desc: true, Limit: 3},
			wantDesc(func(e audit.Entry) bool { return e.Stream == p1Stream }, 0, size, 3)},
		{"stream older than", audit.Query{Stream: p1Stream, Desc: true, Before: 200, BeforeSet: true, Limit: 3},
			wantDesc(func(e audit.Entry) bool { return e.Stream == p1Stream }, 0, 200, 3)},
		{"time window newest first", audit.Query{From: from, To: to, Desc: true, Limit: 4},
			wantDesc(func(e audit.Entry) bool { return !e.RecordedAt.Before(from) && e.RecordedAt.Before(to) }, 0, size, 4)},
		{"before the first", audit.Query{Desc: true, Before: 0, BeforeSet: true}, nil},
		{"empty range", audit.Query{After: 10, AfterSet: true, Before: 11, BeforeSet: true}, nil},
	} {
		got, err := a.Entries(bg, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			got = nil
		}
		if len(tt.want) == 0 && tt.name != "nobody" && tt.name != "before the first" && tt.name != "empty range" {
			t.Errorf("Entries %s: the journey has no such entries", tt.name)
		}
		diff(t, "Entries "+tt.name, tt.want, got)
	}
	if got, err := a.Entries(bg, audit.Query{Limit: 100000}); err != nil || len(got) > 1000 || len(got) == 0 {
		t.Errorf("Entries(limit 100000) = %d entries, %v; want a capped page", len(got), err)
	}

	c, ok, err := a.LatestCheckpoint(bg)
	if err != nil || !ok {
		t.Fatalf("LatestCheckpoint = %v, %v", ok, err)
	}
	if c.Size != size || c.Position != checkpointEvent.Position || c.KeyID == "" {
		t.Errorf("checkpoint = %+v, want size %d at position %d", c, size, checkpointEvent.Position)
	}
	if err := audit.OpenCheckpoint(c, j.Key.Verifier()); err != nil {
		t.Errorf("OpenCheckpoint: %v", err)
	}
	root, err := merkle.RootAt(bg, a, c.Size)
	if err != nil || root != c.RootHash {
		t.Errorf("RootAt(%d) = %s, %v; want the signed root %s", c.Size, root, err, c.RootHash)
	}
	for _, seq := range []uint64{0, 7, size / 2, size - 1} {
		proof, err := merkle.InclusionProof(bg, a, seq, c.Size)
		if err != nil {
			t.Fatalf("InclusionProof(%d): %v", seq, err)
		}
		if err := merkle.VerifyInclusion(entry(seq).LeafHash, seq, c.Size, proof, c.RootHash); err != nil {
			t.Errorf("VerifyInclusion(%d): %v", seq, err)
		}
	}
	root10, err := merkle.RootAt(bg, a, 10)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := merkle.ConsistencyProof(bg, a, 10, c.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := merkle.VerifyConsistency(10, c.Size, root10, c.RootHash, proof); err != nil {
		t.Errorf("VerifyConsistency(10, %d): %v", c.Size, err)
	}
	r, err := audit.Verify(bg, j.Store, audit.VerifyOptions{Keys: []*merkle.Verifier{j.Key.Verifier()}, Stored: a})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.Checked != uint64(len(evs)) || r.Size != size || r.Checkpoints != 1 || r.RootHash != c.RootHash {
		t.Errorf("Verify = %+v, want OK over %d events", r, len(evs))
	}
}

// rowsOnly hides a reader's own counts (skps.Counter): the progress board
// is then computed from its rows.
type rowsOnly struct{ skps.Reader }

// checkProgressSums checks the progress board of root for year against
// itself and the board of each of its units (issue 15): a unit's
// including_subunits is its own counts plus its children's
// including_subunits, and equals the total of the board asked of that
// unit; the board from the reader's own counts equals the one from its
// rows.
func checkProgressSums(t *testing.T, b *Backend, root string, year int) reports.ProgressReport {
	t.Helper()
	p, err := reports.Progress(bg, b.Directory, b.SKPs, root, year)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.SKPs.(skps.Counter); !ok {
		t.Errorf("the backend's SKP reader %T does not count (skps.Counter)", b.SKPs)
	}
	slow, err := reports.Progress(bg, b.Directory, rowsOnly{b.SKPs}, root, year)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "the board from the reader's counts against the board from its rows", slow, p)
	sum := map[string]reports.ProgressCounts{}
	for _, u := range p.Units {
		c := reports.ProgressCounts{ByStatus: map[string]int{}}
		c.Employees, c.SKPs, c.Late, c.Missing = u.Employees, u.SKPs, u.Late, u.Missing
		for k, v := range u.ByStatus {
			c.ByStatus[k] = v
		}
		sum[u.UnitID] = c
	}
	// Depth first: a unit's children follow it, so adding each unit's sum
	// to its parent's, deepest first, sums the subtrees from the own counts.
	for i := len(p.Units) - 1; i > 0; i-- {
		u := p.Units[i]
		par, c := sum[u.ParentID], sum[u.UnitID]
		par.Employees, par.SKPs, par.Late, par.Missing = par.Employees+c.Employees, par.SKPs+c.SKPs, par.Late+c.Late, par.Missing+c.Missing
		for k, v := range c.ByStatus {
			par.ByStatus[k] += v
		}
		sum[u.ParentID] = par
	}
	for _, u := range p.Units {
		diff(t, "including_subunits of "+u.UnitID+" against its own counts and its sub-units'", sum[u.UnitID], u.Subtree)
		sub, err := reports.Progress(bg, b.Directory, b.SKPs, u.UnitID, year)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "the board of "+u.UnitID+" against its row in "+root+"'s", u.Subtree, sub.Total)
		if len(sub.Units) == 0 || sub.Units[0].UnitID != u.UnitID || sub.Units[0].ProgressCounts.Employees != u.Employees {
			t.Errorf("the board of %s starts with %+v, want its own row", u.UnitID, sub.Units)
		}
	}
	if p.Total.Employees == 0 {
		t.Errorf("the board of %s counts no employee", root)
	}
	return p
}
