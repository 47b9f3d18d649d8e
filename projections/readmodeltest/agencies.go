package readmodeltest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// testAuditAgencies writes two agencies (a transfer between them, and a
// stream of no agency), projects the audit trail in two batches with a
// signed checkpoint between them, and holds every backend to the same
// agency logs: their entries, trees, checkpoints and the national
// checkpoint over them, each agency verifying on its own.
func testAuditAgencies(t *testing.T, cfg Config) {
	ctx := context.Background()
	clock := newAgencyClock()
	store, _ := cfg.Store(t, clock)
	key := testKey(t)
	put := func(stream, typ string, data any) {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, stream, eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: 1,
			OccurredAt: clock(), Actor: eventstore.Actor{ID: "hr", Role: "HR_ADMIN"}, Data: b}); err != nil {
			t.Fatal(err)
		}
	}
	const nA, nB, nT = "198001012005011001", "198102022006022002", "198203032007031003"
	put("unit-A", "unit.registered.v1", map[string]string{"unit_id": "A", "name": "Dinas A"})
	put("unit-B", "unit.registered.v1", map[string]string{"unit_id": "B", "name": "Dinas B"})
	put("unit-A1", "unit.registered.v1", map[string]string{"unit_id": "A1", "name": "Bidang A1", "parent_id": "A"})
	put("employee-"+nA, "employee.registered.v1", map[string]string{"nip": nA, "unit_id": "A1"})
	put("employee-"+nB, "employee.registered.v1", map[string]string{"nip": nB, "unit_id": "B"})
	put("employee-"+nT, "employee.registered.v1", map[string]string{"nip": nT, "unit_id": "A"})
	put("skp-"+nT+"-2026", "skp.drafted.v1", map[string]any{"employee": map[string]string{"unit_id": "A"}})
	b := cfg.Open(t, projections.StoreHistory{Store: store})
	sink := b.Sink(t, audit.Name)
	project := func() {
		var evs []projections.Event
		for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, projections.Event{Event: ev})
		}
		cp, err := sink.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var fresh []projections.Event
		for _, ev := range evs {
			if ev.Position > cp {
				fresh = append(fresh, ev)
			}
		}
		ProjectInto(t, sink, fresh, 3)
	}
	project()
	signer := audit.NewSigner(audit.SignerConfig{Store: store, Trail: b.Audit, Key: key, Every: 1, Now: clock})
	if _, ok, err := signer.SignNow(ctx); err != nil || !ok {
		t.Fatalf("SignNow = %v, %v", ok, err)
	}
	put("employee-"+nT, "employee.position_changed.v1", map[string]string{"nip": nT, "unit_id": "B", "previous_unit_id": "A"})
	put("skp-"+nT+"-2026", "skp.rhk_added.v1", map[string]string{"rhk_id": "r1"})
	put("employee-"+nT, "employee.reporting_line_assigned.v1", map[string]string{"nip": nT})
	put("official-x", "official.registered.v1", map[string]string{})
	project()
	national, ok, err := signer.SignNow(ctx)
	if err != nil || !ok {
		t.Fatalf("second SignNow = %v, %v", ok, err)
	}
	project()

	want := map[string][]string{
		"A": {"unit-A", "unit-A1", "employee-" + nA, "employee-" + nT, "skp-" + nT + "-2026", "skp-" + nT + "-2026"},
		"B": {"unit-B", "employee-" + nB, "employee-" + nT, "employee-" + nT},
		"":  {"official-x"},
	}
	size, heads, err := b.Audit.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantHeads := []audit.AgencyHead{{Agency: "", Size: 1}, {Agency: "A", Size: 6}, {Agency: "B", Size: 4}}
	diff(t, "Heads", wantHeads, heads)
	if size != 11 {
		t.Errorf("Heads size = %d, want 11", size)
	}
	if got, err := b.Audit.Agencies(ctx); err != nil || !slices.Equal(got, wantHeads) {
		t.Errorf("Agencies = %v, %v; want %v", got, err, wantHeads)
	}
	all, err := b.Audit.Entries(ctx, audit.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for agency, streams := range want {
		entries, err := b.Audit.AgencyEntries(ctx, agency, 0, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, e := range entries {
			g := all[e.Seq]
			got = append(got, g.Stream)
			if e.Agency != agency || e.Index != uint64(i) || e.LeafHash != g.LeafHash || e.Position != g.Position {
				t.Errorf("agency %q entry %d = %+v, global entry %+v", agency, i, e, g)
			}
			if a, ok, err := b.Audit.AgencyOfSeq(ctx, e.Seq); err != nil || !ok || a != e {
				t.Errorf("AgencyOfSeq(%d) = %+v, %v, %v; want %+v", e.Seq, a, ok, err, e)
			}
		}
		if strings.Join(got, ",") != strings.Join(streams, ",") {
			t.Errorf("agency %q log = %v, want %v", agency, got, streams)
		}
		filtered, err := b.Audit.Entries(ctx, audit.Query{Agency: agency, AgencySet: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(filtered) != len(entries) {
			t.Errorf("Entries(agency %q) = %d entries, want %d", agency, len(filtered), len(entries))
		}
		for i := range min(len(filtered), len(entries)) {
			if filtered[i].Seq != entries[i].Seq {
				t.Errorf("Entries(agency %q)[%d].Seq = %d, want %d", agency, i, filtered[i].Seq, entries[i].Seq)
			}
		}
		newest, err := b.Audit.Entries(ctx, audit.Query{Agency: agency, AgencySet: true, Desc: true, Limit: 1, Stream: streams[len(streams)-1]})
		if err != nil || len(newest) != 1 || newest[0].Seq != entries[len(entries)-1].Seq {
			t.Errorf("Entries(agency %q, newest of its last stream) = %v, %v", agency, newest, err)
		}
		// Its latest agency checkpoint is listed in the latest national
		// checkpoint, and its root is the stored tree's.
		ac, ok, err := b.Audit.LatestAgencyCheckpoint(ctx, agency)
		if err != nil || !ok {
			t.Fatalf("LatestAgencyCheckpoint(%q) = %v, %v", agency, ok, err)
		}
		if err := audit.OpenAgencyCheckpoint(ac, key.Verifier()); err != nil {
			t.Error(err)
		}
		if err := audit.InNational(national, ac); err != nil {
			t.Error(err)
		}
		if root, err := merkle.RootAt(ctx, b.Audit.AgencyNodes(agency), ac.Size); err != nil || root != ac.RootHash {
			t.Errorf("agency %q root at %d = %s, %v; want %s", agency, ac.Size, root, err, ac.RootHash)
		}
		r, err := audit.VerifyAgency(ctx, store, audit.AgencyVerifyOptions{Agency: agency, Keys: []*merkle.Verifier{key.Verifier()}, Stored: b.Audit})
		if err != nil || !r.OK || r.Size != uint64(len(streams)) {
			t.Errorf("VerifyAgency(%q) = %+v, %v", agency, r, err)
		}
	}
	// A and B grew between the rounds: two checkpoints each; the
	// national log began in the second.
	for a, n := range map[string]int{"A": 2, "B": 2, "": 1} {
		if cps, err := b.Audit.AgencyCheckpoints(ctx, a); err != nil || len(cps) != n {
			t.Errorf("AgencyCheckpoints(%q) = %d, %v; want %d", a, len(cps), err, n)
		}
	}
	if got, err := b.Audit.AgencyEntries(ctx, "nowhere", 0, 10, 0); err != nil || len(got) != 0 {
		t.Errorf("AgencyEntries(nowhere) = %v, %v", got, err)
	}
	if n, err := b.Audit.AgencySize(ctx, "nowhere"); err != nil || n != 0 {
		t.Errorf("AgencySize(nowhere) = %d, %v", n, err)
	}
	if r, err := audit.Verify(ctx, store, audit.VerifyOptions{Keys: []*merkle.Verifier{key.Verifier()}, Stored: b.Audit}); err != nil || !r.OK {
		t.Errorf("Verify = %+v, %v", r, err)
	}
}

// newAgencyClock is a clock that ticks a second per reading.
func newAgencyClock() func() time.Time {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	return func() time.Time {
		at = at.Add(time.Second)
		return at
	}
}
