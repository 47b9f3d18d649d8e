package pgreadmodel_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// TestGroupOfIsStable pins the agency → group assignment: it must never
// change, or every grouped read model would need a rebuild (and processes
// of two versions would split one projection two ways).
func TestGroupOfIsStable(t *testing.T) {
	for _, c := range []struct {
		agency string
		g2     int
		g3     int
		g4     int
	}{{"", 1, 1, 1}, {"INST001", 0, 1, 0}, {"INST002", 1, 1, 1}, {"INST003", 0, 2, 2}, {"INST004", 1, 2, 3}} {
		if got := [3]int{pgreadmodel.GroupOf(c.agency, 2), pgreadmodel.GroupOf(c.agency, 3), pgreadmodel.GroupOf(c.agency, 4)}; got != [3]int{c.g2, c.g3, c.g4} {
			t.Errorf("GroupOf(%q, 2/3/4) = %v, want %v", c.agency, got, [3]int{c.g2, c.g3, c.g4})
		}
		if g := pgreadmodel.GroupOf(c.agency, 1); g != 0 {
			t.Errorf("GroupOf(%q, 1) = %d", c.agency, g)
		}
	}
	if k := pgreadmodel.GroupKey(timeline.Name, 1, 3); k != "timeline#1/3" {
		t.Errorf("GroupKey = %q", k)
	}
	var split []string
	for _, n := range pgreadmodel.Names() {
		if pgreadmodel.Splittable(n) {
			split = append(split, n)
		}
	}
	if fmt.Sprint(split) != "[skps evaluations scores objections timeline]" {
		t.Errorf("Splittable: %v", split)
	}
}

// twoAgencies seeds INST001 and INST002 (in groups 0 and 1 of 2) into a
// bolt store, then moves INST001's employee to INST002 (release, move,
// a reporting line after it). more appends one more event: the moved
// employee's change of post within INST002.
func twoAgencies(t *testing.T) (store eventstore.Store, evs []projections.Event, more func()) {
	t.Helper()
	ctx := context.Background()
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	store = bolt
	h := &domain.Handler{Log: eventlog.New(store), Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	pol := policy.Default()
	svc := seed.NewServices(h, pol)
	taken := map[string]bool{}
	var cast []seed.Cast
	for k, code := range []string{"INST001", "INST002"} {
		st, err := seed.Run(ctx, seed.Config{Employees: 12, Seed: 7 + int64(k), Year: 2025, Workers: 4, AgencyCode: code, TakenNIPs: taken}, svc)
		if err != nil {
			t.Fatal(err)
		}
		cast = append(cast, st.Cast)
	}
	today := pol.Date(time.Now())
	hr := func(c seed.Cast, agency string) domain.Request {
		return domain.Request{Caller: domain.Principal{ID: c.HRAdmin, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: agency}}
	}
	moved := cast[0].Employee
	if _, err := svc.Employees.ReleaseTransfer(ctx, hr(cast[0], "INST001"), employee.ReleaseTransfer{NIP: moved, ToAgency: "INST002",
		ExpiresOn: today.AddDays(30), DecreeRef: "800/1/2026"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Employees.ChangePosition(ctx, hr(cast[1], "INST002"), employee.ChangePosition{NIP: moved, UnitID: "INST002",
		Position: employee.Position{Kind: employee.Pelaksana, Title: "Pengadministrasi"}, EffectiveFrom: today}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Employees.AssignReportingLine(ctx, hr(cast[1], "INST002"), employee.AssignReportingLine{NIP: moved,
		AppraiserNIP: cast[1].Appraiser, SuperiorNIP: cast[1].Superior, EffectiveFrom: today}); err != nil {
		t.Fatal(err)
	}
	more = func() {
		if _, err := svc.Employees.ChangePosition(ctx, hr(cast[1], "INST002"), employee.ChangePosition{NIP: moved, UnitID: "INST002",
			Position: employee.Position{Kind: employee.Pelaksana, Title: "Analis Data"}, EffectiveFrom: today}); err != nil {
			t.Fatal(err)
		}
	}
	return store, readmodeltest.Events(t, store), more
}

// TestAgencyGroups projects two agencies and a transfer with each split
// projection in two agency groups, and holds the read models to an
// ungrouped projection of the same events, checkpoints included (the
// ungrouped Sink of a grouped projection answers the least group
// checkpoint). A group waits for the audit trail; the layout pinned in the
// database refuses writers with another number of groups (an ungrouped
// Sink, three groups, a grouped Sink over an ungrouped projection); one
// group cannot be reset alone; a rebuild swapped in sets every group's
// checkpoint.
func TestAgencyGroups(t *testing.T) {
	ctx := context.Background()
	store, evs, more := twoAgencies(t)
	h := projections.StoreHistory{Store: store}
	ref, grouped := openDB(t, h), openDB(t, h)
	readmodeltest.Project(t, backend(ref), evs, 101)

	// Before the audit trail has the events, a group waits for it.
	early, err := grouped.GroupSink(skps.Name, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	var skpEvents []projections.Event
	for _, ev := range evs {
		if early.Filter().Match(ev.Stream, ev.Type) && len(skpEvents) < 20 {
			skpEvents = append(skpEvents, ev)
		}
	}
	err = early.Apply(wctx, skpEvents...)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a group ahead of the audit trail: Apply = %v, want it to wait until the deadline", err)
	}

	readmodeltest.ProjectInto(t, grouped.Sink(audit.Name), evs, 101)
	readmodeltest.ProjectInto(t, grouped.Sink(directory.Name), evs, 101)
	applied := map[string]int{}
	for _, name := range pgreadmodel.Names() {
		if !pgreadmodel.Splittable(name) {
			continue
		}
		for g := range 2 {
			s, err := grouped.GroupSink(name, g, 2)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != pgreadmodel.GroupKey(name, g, 2) {
				t.Errorf("Name = %q", s.Name())
			}
			readmodeltest.ProjectInto(t, s, evs, 37)
		}
	}
	want := readmodeltest.Take(t, backend(ref))
	readmodeltest.SameSnapshot(t, "two agency groups", want, readmodeltest.Take(t, backend(grouped)))

	// Both groups hold rows: the SKPs of each agency are in its group.
	p := testPool(t)
	rows, err := p.Query(ctx, `SELECT split_part(unit_id, '.', 1), count(*) FROM `+grouped.Schema()+`.skps GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var agency string
		var n int
		if err := rows.Scan(&agency, &n); err != nil {
			t.Fatal(err)
		}
		applied[agency] = n
	}
	if applied["INST001"] == 0 || applied["INST002"] == 0 {
		t.Errorf("SKPs per agency: %v", applied)
	}

	// The layout is pinned at 2.
	last := evs[len(evs)-1]
	if err := grouped.Sink(timeline.Name).Apply(ctx, last); !errors.Is(err, pgreadmodel.ErrLayout) {
		t.Errorf("an ungrouped writer of a grouped projection: %v, want ErrLayout", err)
	}
	three, _ := grouped.GroupSink(timeline.Name, 0, 3)
	if err := three.Apply(ctx, last); !errors.Is(err, pgreadmodel.ErrLayout) {
		t.Errorf("a writer with 3 groups over 2: %v, want ErrLayout", err)
	}
	legacy, _ := ref.GroupSink(timeline.Name, 0, 2)
	if err := legacy.Apply(ctx, last); !errors.Is(err, pgreadmodel.ErrLayout) {
		t.Errorf("a grouped writer over an ungrouped projection: %v, want ErrLayout", err)
	}
	if err := legacy.Reset(ctx); err == nil {
		t.Error("one group reset alone")
	}
	st, err := grouped.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refSt, err := ref.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range st {
		wantGroups := 0
		if pgreadmodel.Splittable(s.Projection) {
			wantGroups = 2
		}
		if s.Position != refSt[i].Position || s.Groups != wantGroups {
			t.Errorf("status %+v, want at %d in %d groups", s, refSt[i].Position, wantGroups)
		}
	}

	// A rebuild (one pass, ungrouped) swapped in moves every group's
	// checkpoint to its own; the groups then go on from there. It has
	// read an event the groups have not (so a group left behind would
	// apply it again onto the rebuilt table).
	more()
	evs = readmodeltest.Events(t, store)
	readmodeltest.Project(t, backend(ref), evs, 101)
	readmodeltest.ProjectInto(t, grouped.Sink(audit.Name), evs, 101)
	readmodeltest.ProjectInto(t, grouped.Sink(directory.Name), evs, 101)
	for _, name := range []string{skps.Name, evaluations.Name, scores.Name, objections.Name} {
		for g := range 2 {
			s, _ := grouped.GroupSink(name, g, 2)
			readmodeltest.ProjectInto(t, s, evs, 37)
		}
	}
	if refSt, err = ref.Status(ctx); err != nil {
		t.Fatal(err)
	}
	want = readmodeltest.Take(t, backend(ref))
	rb, err := grouped.StartRebuild(ctx, timeline.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.Run(ctx, store, 53); err != nil {
		t.Fatal(err)
	}
	for g := range 2 {
		s, _ := grouped.GroupSink(timeline.Name, g, 2)
		cp, err := s.Checkpoint(ctx)
		if err != nil || cp != refSt[len(refSt)-1].Position {
			t.Errorf("group %d after the swap: checkpoint %d, %v; want %d", g, cp, err, refSt[len(refSt)-1].Position)
		}
		readmodeltest.ProjectInto(t, s, evs, 37)
	}
	readmodeltest.SameSnapshot(t, "two agency groups after a rebuild", want, readmodeltest.Take(t, backend(grouped)))
}

// TestAgencyGroupsRebuildWhileApplying: both groups of the timeline apply
// in small batches while a rebuild of it runs and swaps (the swap takes
// the layout row, then the checkpoint rows, in the writers' order: no
// deadlock), and the result equals an ungrouped projection.
func TestAgencyGroupsRebuildWhileApplying(t *testing.T) {
	ctx := context.Background()
	store, evs, _ := twoAgencies(t)
	h := projections.StoreHistory{Store: store}
	ref, grouped := openDB(t, h), openDB(t, h)
	readmodeltest.Project(t, backend(ref), evs, 101)
	for _, name := range pgreadmodel.Names() {
		if !pgreadmodel.Splittable(name) {
			readmodeltest.ProjectInto(t, grouped.Sink(name), evs, 101)
			continue
		}
		if name == timeline.Name {
			continue
		}
		for g := range 2 {
			s, _ := grouped.GroupSink(name, g, 2)
			readmodeltest.ProjectInto(t, s, evs, 101)
		}
	}
	errc := make(chan error, 3)
	var applied atomic.Int64
	for g := range 2 {
		s, _ := grouped.GroupSink(timeline.Name, g, 2)
		go func() {
			var sel []projections.Event
			for _, ev := range evs {
				if s.Filter().Match(ev.Stream, ev.Type) {
					sel = append(sel, ev)
				}
			}
			for i := 0; i < len(sel); i += 3 {
				if err := s.Apply(ctx, sel[i:min(i+3, len(sel))]...); err != nil {
					errc <- fmt.Errorf("group %d: %w", g, err)
					return
				}
				applied.Add(1)
			}
			errc <- nil
		}()
	}
	go func() {
		rb, err := grouped.StartRebuild(ctx, timeline.Name)
		if err == nil {
			err = rb.Run(ctx, store, 500)
		}
		t.Logf("the rebuild swapped in after %d of the groups' batches", applied.Load())
		errc <- err
	}()
	for range 3 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	readmodeltest.SameSnapshot(t, "a rebuild swapped in while both groups applied", readmodeltest.Take(t, backend(ref)), readmodeltest.Take(t, backend(grouped)))
}

// TestAgencyGroupsVersion: under two agency groups (the timeline, which
// takes the employee events) the ungrouped Sink's
// Checkpoint is the least of the groups' and stands still while one group
// is behind, but its Version moves with a write in the group ahead (the
// kept web lists key on it), and again when the stalled group catches up.
// Ungrouped, the Version is the checkpoint.
func TestAgencyGroupsVersion(t *testing.T) {
	ctx := context.Background()
	store, evs, more := twoAgencies(t)
	grouped := openDB(t, projections.StoreHistory{Store: store})
	readmodeltest.ProjectInto(t, grouped.Sink(audit.Name), evs, 101)
	readmodeltest.ProjectInto(t, grouped.Sink(directory.Name), evs, 101)
	var gs [2]*pgreadmodel.Sink
	for g := range gs {
		s, err := grouped.GroupSink(timeline.Name, g, 2)
		if err != nil {
			t.Fatal(err)
		}
		gs[g] = s
		readmodeltest.ProjectInto(t, s, evs, 37)
	}
	read := grouped.Sink(timeline.Name)
	at := func() (eventstore.Position, int64) {
		t.Helper()
		cp, err := read.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, err := read.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cp, v
	}
	cp0, v0 := at()
	if cp0 == 0 || v0 < int64(cp0) {
		t.Fatalf("checkpoint %d, version %d after both groups", cp0, v0)
	}

	// INST002's change of post: group 1 goes ahead, group 0 stalls.
	more()
	evs = readmodeltest.Events(t, store)
	readmodeltest.ProjectInto(t, grouped.Sink(audit.Name), evs, 101)
	readmodeltest.ProjectInto(t, grouped.Sink(directory.Name), evs, 101)
	readmodeltest.ProjectInto(t, gs[1], evs, 37)
	cp1, v1 := at()
	if cp1 != cp0 {
		t.Errorf("the checkpoint moved with one group of two: %d → %d", cp0, cp1)
	}
	if v1 <= v0 {
		t.Errorf("the version did not move with the group ahead: %d → %d", v0, v1)
	}
	readmodeltest.ProjectInto(t, gs[0], evs, 37)
	cp2, v2 := at()
	if cp2 <= cp1 || v2 <= v1 {
		t.Errorf("after the stalled group caught up: checkpoint %d → %d, version %d → %d", cp1, cp2, v1, v2)
	}

	dir := grouped.Sink(directory.Name)
	cp, err := dir.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := dir.Version(ctx); err != nil || v != int64(cp) {
		t.Errorf("an ungrouped projection's version %d, %v; want its checkpoint %d", v, err, cp)
	}
}
