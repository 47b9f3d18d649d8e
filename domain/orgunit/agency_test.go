package orgunit_test

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// countingLog counts the stream loads that reach the log.
type countingLog struct {
	domain.EventLog
	loads atomic.Int64
}

func (c *countingLog) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	c.loads.Add(1)
	return c.EventLog.Load(ctx, stream)
}

// TestAgencyMemo: under a context carrying an AgencyMemo, AgencyOf walks
// the tree through the log the first time it meets a unit and never
// again for it or any unit on its walk; an unknown unit is not
// remembered (it is asked again, and found once registered); without the
// memo every call walks, as before.
func TestAgencyMemo(t *testing.T) {
	env, s := setup(t)
	mustRegister(t, env, s, "PEMKOT", "")
	mustRegister(t, env, s, "SETDA", "PEMKOT")
	mustRegister(t, env, s, "DINKES", "SETDA")
	mustRegister(t, env, s, "PROV", "")
	log := &countingLog{EventLog: env.Handler.Log}
	h := *env.Handler
	h.Log = log
	var memo orgunit.AgencyMemo
	ctx := orgunit.WithAgencyMemo(context.Background(), &memo)

	agencyOf := func(ctx context.Context, id, want string, wantLoads int64) {
		t.Helper()
		log.loads.Store(0)
		got, err := orgunit.AgencyOf(ctx, &h, id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || log.loads.Load() != wantLoads {
			t.Errorf("AgencyOf(%s) = %q after %d loads, want %q after %d", id, got, log.loads.Load(), want, wantLoads)
		}
	}
	agencyOf(context.Background(), "DINKES", "PEMKOT", 3) // no memo: the walk
	agencyOf(context.Background(), "DINKES", "PEMKOT", 3)
	agencyOf(ctx, "DINKES", "PEMKOT", 3) // first time: the walk, remembered
	agencyOf(ctx, "DINKES", "PEMKOT", 0)
	agencyOf(ctx, "SETDA", "PEMKOT", 0)  // on DINKES's walk
	agencyOf(ctx, "PEMKOT", "PEMKOT", 0) // the root too
	agencyOf(ctx, "PROV", "PROV", 1)
	agencyOf(ctx, "PROV", "PROV", 0)
	if memo.Len() != 4 {
		t.Errorf("memo holds %d units, want 4", memo.Len())
	}

	// A walk that reaches a remembered unit stops there.
	mustRegister(t, env, s, "PUSKESMAS", "DINKES")
	agencyOf(ctx, "PUSKESMAS", "PEMKOT", 1)
	agencyOf(ctx, "PUSKESMAS", "PEMKOT", 0)

	// Unknown: not remembered, found once registered.
	agencyOf(ctx, "RSUD", "", 1)
	agencyOf(ctx, "RSUD", "", 1)
	mustRegister(t, env, s, "RSUD", "PROV")
	agencyOf(ctx, "RSUD", "PROV", 1)
	agencyOf(ctx, "RSUD", "PROV", 0)

	got, err := orgunit.Agencies(ctx, &h, "DINKES", "", "RSUD", "SETDA", "NOPE")
	if err != nil || strings.Join(got, ",") != "PEMKOT,PROV" {
		t.Errorf("Agencies = %v, %v; want [PEMKOT PROV]", got, err)
	}
	if orgunit.WithAgencyMemo(ctx, &memo) != ctx {
		t.Error("WithAgencyMemo wrapped a context that carries the memo already")
	}
}

// TestNoEventReparentsAUnit guards AgencyMemo's premise: a unit's parent
// is set by its registration and by no later event, so its agency never
// changes. An event of this package that carries a parent (a move of a
// unit) fails it: such an event must update or drop the memo's answers
// (domain/orgunit/agency.go) before this test is changed.
func TestNoEventReparentsAUnit(t *testing.T) {
	events := []domain.Event{orgunit.Registered{}, orgunit.PerformanceRated{}, orgunit.HeadAssigned{}, orgunit.Renamed{}, orgunit.ZoneSet{}}
	var listed, specs []string
	for _, e := range events {
		listed = append(listed, e.EventType())
	}
	for _, spec := range orgunit.Events() {
		specs = append(specs, spec.Type)
	}
	if strings.Join(listed, " ") != strings.Join(specs, " ") {
		t.Fatalf("orgunit.Events() = %v, this test checks %v: add the new event here and check it moves no unit", specs, listed)
	}
	for _, e := range events[1:] {
		typ := reflect.TypeOf(e)
		for f := range typ.Fields() {
			name := strings.ToLower(f.Name + " " + f.Tag.Get("json"))
			if strings.Contains(name, "parent") || strings.Contains(name, "agency") || strings.Contains(name, "root") {
				t.Errorf("event %s has field %s (%s): does it move a unit? AgencyMemo assumes no event does", typ.Name(), f.Name, f.Tag)
			}
		}
	}
}

// TestReplayTakesTheFirstParent: AgencyMemo's premise also rests on
// Replay taking a unit's parent from its first registration only: a second
// unit.registered in a stream (which registration, appending only to a
// missing stream, does not write) does not move the unit.
func TestReplayTakesTheFirstParent(t *testing.T) {
	u := orgunit.Replay([]domain.Stored{
		{Revision: 0, Event: orgunit.Registered{UnitID: "U", Name: "U", ParentID: "P1"}},
		{Revision: 1, Event: orgunit.Registered{UnitID: "U", Name: "U", ParentID: "P2"}},
	})
	if u == nil || u.Parent() != "P1" {
		t.Fatalf("Replay(Registered{P1}, Registered{P2}) = %+v, want parent P1", u)
	}
}

// expectingLog records the condition of each append.
type expectingLog struct {
	domain.EventLog
	expected []domain.Expected
}

func (e *expectingLog) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	e.expected = append(e.expected, expected)
	return e.EventLog.Append(ctx, stream, expected, events)
}

// TestRegisterAppendsToNoStream: a registration appends only to a unit
// stream that does not exist yet (NoStream), so no second unit.registered
// can follow a first (AgencyMemo's premise, with Replay's first parent).
func TestRegisterAppendsToNoStream(t *testing.T) {
	env, _ := setup(t)
	log := &expectingLog{EventLog: env.Handler.Log}
	h := *env.Handler
	h.Log = log
	s := &orgunit.Service{Handler: &h, Policy: policy.Default()}
	mustRegister(t, env, s, "PEMKOT", "")
	mustRegister(t, env, s, "SETDA", "PEMKOT")
	if len(log.expected) != 2 {
		t.Fatalf("%d appends, want 2", len(log.expected))
	}
	for i, e := range log.expected {
		if _, exists := e.Revision(); exists {
			t.Errorf("registration %d appended expecting %s, want no_stream", i, e)
		}
	}
}
