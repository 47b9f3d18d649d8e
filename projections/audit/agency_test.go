package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

const (
	nipA = "198001012005011001"
	nipB = "198102022006022002"
	nipT = "198203032007031003" // transferred from A to B
)

func (f *fixture) put(t *testing.T, stream, typ string, data any) {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.store.Append(context.Background(), stream, eventstore.Any, eventstore.EventData{
		ID: uuid.New(), Type: typ, SchemaVersion: 1, OccurredAt: time.Now(),
		Actor: eventstore.Actor{ID: "hr", Role: "HR_ADMIN"}, Data: b,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// twoAgencies writes agencies A (units A, A1) and B (unit B), an employee
// in each, their SKPs, a transfer from A to B, and a national event.
func twoAgencies(t *testing.T, f *fixture) {
	f.put(t, "unit-A", "unit.registered.v1", map[string]string{"unit_id": "A", "name": "Dinas A"})
	f.put(t, "unit-B", "unit.registered.v1", map[string]string{"unit_id": "B", "name": "Dinas B"})
	f.put(t, "unit-A1", "unit.registered.v1", map[string]string{"unit_id": "A1", "name": "Bidang A1", "parent_id": "A"})
	f.put(t, "employee-"+nipA, "employee.registered.v1", map[string]string{"nip": nipA, "unit_id": "A1"})
	f.put(t, "employee-"+nipB, "employee.registered.v1", map[string]string{"nip": nipB, "unit_id": "B"})
	f.put(t, "employee-"+nipT, "employee.registered.v1", map[string]string{"nip": nipT, "unit_id": "A"})
	f.put(t, "skp-"+nipA+"-2026", "skp.drafted.v1", map[string]any{"skp_id": nipA + "-2026", "employee": map[string]string{"unit_id": "A1"}})
	f.put(t, "skp-"+nipT+"-2026", "skp.drafted.v1", map[string]any{"skp_id": nipT + "-2026", "employee": map[string]string{"unit_id": "A"}})
	f.put(t, "skp-"+nipB+"-2026", "skp.drafted.v1", map[string]any{"skp_id": nipB + "-2026", "employee": map[string]string{"unit_id": "B"}})
	f.put(t, "employee-"+nipT, "employee.position_changed.v1", map[string]string{"nip": nipT, "unit_id": "B", "previous_unit_id": "A"})
	f.put(t, "employee-"+nipT, "employee.reporting_line_assigned.v1", map[string]string{"nip": nipT})
	f.put(t, "skp-"+nipT+"-2026", "skp.rhk_added.v1", map[string]string{"rhk_id": "r1"})
	f.put(t, "unit-A1", "unit.renamed.v1", map[string]string{"unit_id": "A1", "name": "Bidang A-1"})
	f.put(t, "official-x", "official.registered.v1", map[string]string{})
}

func (f *fixture) verifyAgency(t *testing.T, store eventstore.Store, agency string, stored bool) audit.Report {
	t.Helper()
	opts := audit.AgencyVerifyOptions{Agency: agency, Keys: []*merkle.Verifier{f.key.Verifier()}}
	if stored {
		opts.Stored = f.trail
	}
	r, err := audit.VerifyAgency(context.Background(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func streamsOf(f *fixture, agency string) []string {
	var out []string
	for _, e := range f.trail.logs[agency].entries {
		out = append(out, f.trail.entries[e.Seq].Stream)
	}
	return out
}

func TestAgencyLogsFollowTheUnitTree(t *testing.T) {
	f := newFixture(t)
	twoAgencies(t, f)
	f.project(t)
	ea, et, eb := "employee-"+nipA, "employee-"+nipT, "employee-"+nipB
	sa, st, sb := "skp-"+nipA+"-2026", "skp-"+nipT+"-2026", "skp-"+nipB+"-2026"
	want := map[string][]string{
		// The transferred employee's events before the transfer are A's;
		// the transfer and after are B's; their SKP stays with A.
		"A": {"unit-A", "unit-A1", ea, et, sa, st, st, "unit-A1"},
		"B": {"unit-B", eb, sb, et, et},
		"":  {"official-x"},
	}
	for a, w := range want {
		if got := streamsOf(f, a); strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("agency %q log = %v, want %v", a, got, w)
		}
	}
	// Each agency entry's leaf is its global entry's.
	for a, l := range f.trail.logs {
		for i, e := range l.entries {
			if e.Index != uint64(i) || e.LeafHash != f.trail.entries[e.Seq].LeafHash || e.Agency != a {
				t.Errorf("agency %q entry %d = %+v, global leaf %s", a, i, e, f.trail.entries[e.Seq].LeafHash)
			}
		}
	}
}

func TestNationalCheckpointSignsAgencyRoots(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	twoAgencies(t, f)
	f.project(t)
	c, ok, err := f.signer.SignNow(ctx)
	if err != nil || !ok {
		t.Fatalf("SignNow = %v, %v", ok, err)
	}
	f.project(t)
	if len(c.Agencies) != 3 || len(c.AgencyCheckpoints) != 3 {
		t.Fatalf("checkpoint lists %d agency roots and %d agency checkpoints, want 3 and 3", len(c.Agencies), len(c.AgencyCheckpoints))
	}
	// Offline, with the public key only: the national note, then each
	// agency note and its root in the national one.
	v := f.key.Verifier()
	stored := f.trail.cps[len(f.trail.cps)-1]
	if err := audit.OpenCheckpoint(stored, v); err != nil {
		t.Fatal(err)
	}
	sum := uint64(0)
	for _, ac := range stored.AgencyCheckpoints {
		if err := audit.OpenAgencyCheckpoint(ac, v); err != nil {
			t.Fatal(err)
		}
		if err := audit.InNational(stored, ac); err != nil {
			t.Fatal(err)
		}
		if root, _ := merkle.RootAt(ctx, f.trail.logs[ac.Agency].nodes, ac.Size); root != ac.RootHash {
			t.Errorf("agency %q checkpoint root %s, tree %s", ac.Agency, ac.RootHash, root)
		}
		sum += ac.Size
	}
	if sum != stored.Size {
		t.Errorf("agency sizes add up to %d, national size %d", sum, stored.Size)
	}
	// An agency note does not pass for the national one, nor for another
	// agency's.
	a := stored.AgencyCheckpoints[1]
	if err := audit.OpenCheckpoint(audit.Checkpoint{Size: a.Size, RootHash: a.RootHash, SignedAt: a.SignedAt, KeyID: a.KeyID, Signature: a.Signature, Note: a.Note}, v); err == nil {
		t.Error("an agency checkpoint opened as a national one")
	}
	b := a
	b.Agency = stored.AgencyCheckpoints[2].Agency
	if err := audit.OpenAgencyCheckpoint(b, v); err == nil {
		t.Errorf("agency %q's checkpoint opened as %q's", a.Agency, b.Agency)
	}
	// The national note's agency list is signed: editing the readable
	// copy is caught.
	forged := stored
	forged.Agencies = append([]audit.AgencyRoot(nil), stored.Agencies...)
	forged.Agencies[0].Size++
	if err := audit.OpenCheckpoint(forged, v); err == nil {
		t.Error("an edited agency root passed OpenCheckpoint")
	}
	// Unchanged agencies get no new agency checkpoint; the national one
	// still lists them.
	f.put(t, "unit-B", "unit.renamed.v1", map[string]string{"unit_id": "B", "name": "Dinas B baru"})
	f.project(t)
	c2, ok, err := f.signer.SignNow(ctx)
	if err != nil || !ok {
		t.Fatalf("second SignNow = %v, %v", ok, err)
	}
	if len(c2.AgencyCheckpoints) != 1 || c2.AgencyCheckpoints[0].Agency != "B" || len(c2.Agencies) != 3 {
		t.Errorf("second checkpoint: agency checkpoints %+v, roots %d; want only B's, 3 roots", c2.AgencyCheckpoints, len(c2.Agencies))
	}
	f.project(t)
	for _, a := range []string{"A", "B", ""} {
		if r := f.verifyAgency(t, f.store, a, true); !r.OK || r.Size != uint64(len(f.trail.logs[a].entries)) {
			t.Errorf("VerifyAgency(%q) = %+v", a, r)
		}
	}
	if r := f.verify(t); !r.OK {
		t.Errorf("Verify = %+v", r.Problems)
	}
	// A restarted signer proves the agency roots before it signs again.
	s2 := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key, Every: 1})
	f.put(t, "unit-A", "unit.renamed.v1", map[string]string{"unit_id": "A", "name": "Dinas A baru"})
	f.project(t)
	if _, ok, err := s2.SignNow(ctx); err != nil || !ok {
		t.Fatalf("restarted SignNow = %v, %v", ok, err)
	}
	// … and refuses when an agency's stored tree changed under it.
	s3 := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key, Every: 1})
	f.project(t)
	l := f.trail.logs["B"]
	l.nodes = merkle.NewMemNodes()
	for i, e := range l.entries {
		h := e.LeafHash
		if i == 0 {
			h[0] ^= 1
		}
		if err := l.nodes.Put(merkle.Node{Level: 0, Index: uint64(i), Hash: h}); err != nil {
			t.Fatal(err)
		}
	}
	rebuildLevels(t, l.nodes, uint64(len(l.entries)))
	if _, _, err := s3.SignNow(ctx); err == nil || !strings.Contains(err.Error(), `agency "B"`) {
		t.Errorf("SignNow over a changed agency tree = %v, want a refusal naming agency B", err)
	}
	if err := s3.Problem(); err == nil || !strings.Contains(err.Error(), `agency "B"`) {
		t.Errorf("Problem after the refusal = %v, want it kept", err)
	}
}

// A first proof cut short by the shutdown's cancelled context is not an
// integrity problem: the signer signs at the next try, and Problem (which
// the shutdown's snapshot and /readyz read) stays nil.
func TestSignerCancelledProofIsNoProblem(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	twoAgencies(t, f)
	f.project(t)
	if _, ok, err := f.signer.SignNow(ctx); err != nil || !ok {
		t.Fatalf("SignNow = %v, %v", ok, err)
	}
	f.put(t, "unit-A", "unit.renamed.v1", map[string]string{"unit_id": "A", "name": "Dinas A baru"})
	f.project(t)
	s := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key, Every: 1})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.SignNow(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("SignNow with a cancelled context = %v, want context.Canceled", err)
	}
	if err := s.Problem(); err != nil {
		t.Fatalf("Problem after a cancelled proof = %v, want nil", err)
	}
	if _, ok, err := s.SignNow(ctx); err != nil || !ok {
		t.Fatalf("SignNow after the cancelled proof = %v, %v", ok, err)
	}
}

// rebuildLevels fills the levels above the leaves of nodes.
func rebuildLevels(t *testing.T, nodes *merkle.MemNodes, size uint64) {
	t.Helper()
	for level := uint8(1); size>>level > 0; level++ {
		for i := uint64(0); i < size>>level; i++ {
			l, _ := nodes.Node(context.Background(), level-1, 2*i)
			r, _ := nodes.Node(context.Background(), level-1, 2*i+1)
			if err := nodes.Put(merkle.Node{Level: level, Index: i, Hash: merkle.NodeHash(l, r)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// tamperedStore serves one event with edited data.
type tamperedStore struct {
	eventstore.Store
	edit func(*eventstore.Event)
}

func (s tamperedStore) ReadAll(ctx context.Context, o eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range s.Store.ReadAll(ctx, o) {
			if err == nil {
				s.edit(&ev)
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

func TestVerifyAgencyIsolatesTampering(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	twoAgencies(t, f)
	f.project(t)
	if _, _, err := f.signer.SignNow(ctx); err != nil {
		t.Fatal(err)
	}
	f.project(t)
	for _, a := range []string{"A", "B", ""} {
		if r := f.verifyAgency(t, f.store, a, true); !r.OK {
			t.Fatalf("VerifyAgency(%q) before tampering = %+v", a, r.Problems)
		}
	}

	t.Run("an event of A edited", func(t *testing.T) {
		s := tamperedStore{f.store, func(ev *eventstore.Event) {
			if ev.Stream == "skp-"+nipA+"-2026" {
				ev.Data = []byte(`{"skp_id":"x","employee":{"unit_id":"A1"},"edited":true}`)
			}
		}}
		if r := f.verifyAgency(t, s, "A", false); r.OK || !strings.Contains(r.Problems[0].Problem, "hash chain") {
			t.Errorf("VerifyAgency(A) = %+v, want a hash-chain problem", r)
		}
		for _, a := range []string{"B", ""} {
			if r := f.verifyAgency(t, s, a, false); !r.OK {
				t.Errorf("VerifyAgency(%q) = %+v, want ok: A's tampering is not B's", a, r.Problems)
			}
		}
	})

	t.Run("an event moved from A to B in the ledger", func(t *testing.T) {
		// The SKP drafted in A now claims a unit of B: its events move to
		// B's log, and both national checkpoints' agency sizes disagree.
		s := tamperedStore{f.store, func(ev *eventstore.Event) {
			if ev.Stream == "skp-"+nipA+"-2026" && ev.Type == "skp.drafted.v1" {
				ev.Data = []byte(`{"employee":{"unit_id":"B"}}`)
			}
		}}
		for _, a := range []string{"A", "B"} {
			r := f.verifyAgency(t, s, a, false)
			if r.OK || !anyProblem(r.Problems, "entries were moved, added or removed") {
				t.Errorf("VerifyAgency(%q) = %+v, want the national checkpoint's size to disagree", a, r.Problems)
			}
		}
	})

	t.Run("a stored entry moved from A to B", func(t *testing.T) {
		la, lb := f.trail.logs["A"], f.trail.logs["B"]
		saveA, saveB := la.entries, lb.entries
		defer func() { la.entries, lb.entries = saveA, saveB }()
		moved := la.entries[len(la.entries)-1]
		la.entries = la.entries[: len(la.entries)-1 : len(la.entries)-1]
		moved.Agency, moved.Index = "B", uint64(len(lb.entries))
		lb.entries = append(lb.entries[:len(lb.entries):len(lb.entries)], moved)
		if r := f.verifyAgency(t, f.store, "A", true); r.OK || !anyProblem(r.Problems, "has no stored agency entry") {
			t.Errorf("VerifyAgency(A) = %+v, want the missing entry", r.Problems)
		}
		if r := f.verifyAgency(t, f.store, "B", true); r.OK || !anyProblem(r.Problems, "no event of this agency") {
			t.Errorf("VerifyAgency(B) = %+v, want the foreign entry", r.Problems)
		}
	})
}

func anyProblem(ps []audit.Problem, s string) bool {
	for _, p := range ps {
		if strings.Contains(p.Problem, s) {
			return true
		}
	}
	return false
}

// oldTrail hides the agency logs: a signer over it signs checkpoints as
// before issue 15 (no agency lines, no agency checkpoints).
type oldTrail struct{ t *fakeTrail }

func (o oldTrail) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	return o.t.Node(ctx, level, index)
}
func (o oldTrail) Size(ctx context.Context) (uint64, error) { return o.t.Size(ctx) }

func TestCheckpointsFromBeforeAgencyLogsKeepVerifying(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	twoAgencies(t, f)
	f.project(t)
	old := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: oldTrail{f.trail}, Key: f.key, Every: 1})
	c, ok, err := old.SignNow(ctx)
	if err != nil || !ok || len(c.Agencies) != 0 || len(c.AgencyCheckpoints) != 0 || strings.Contains(c.Note, "agency") {
		t.Fatalf("old-style checkpoint = %+v, %v, %v", c, ok, err)
	}
	f.project(t)
	if r := f.verify(t); !r.OK || r.Checkpoints != 1 {
		t.Fatalf("Verify over an old-style checkpoint = %+v", r)
	}
	// The new signer proves the old checkpoint, then signs every agency.
	f.put(t, "unit-A", "unit.renamed.v1", map[string]string{"unit_id": "A", "name": "Dinas A baru"})
	f.project(t)
	s := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key, Every: 1})
	c2, ok, err := s.SignNow(ctx)
	if err != nil || !ok || len(c2.Agencies) != 3 || len(c2.AgencyCheckpoints) != 3 {
		t.Fatalf("first national checkpoint after old ones = %+v, %v, %v", c2, ok, err)
	}
	f.project(t)
	if r := f.verify(t); !r.OK || r.Checkpoints != 2 {
		t.Errorf("Verify = %+v", r)
	}
	for _, a := range []string{"A", "B", ""} {
		if r := f.verifyAgency(t, f.store, a, true); !r.OK || r.Checkpoints != 1 {
			t.Errorf("VerifyAgency(%q) = %+v", a, r)
		}
	}
}

// A distribution justification and an official placed in a unit are
// facts of that unit's agency, derived from the payload's unit_id; an
// official placed nowhere stays national.
func TestAgencyFactsFollowTheirUnit(t *testing.T) {
	f := newFixture(t)
	twoAgencies(t, f)
	f.put(t, "distribution-A1-2026", "distribution.deviation_justified.v1", map[string]any{"unit_id": "A1", "period": "2026"})
	f.put(t, "official-kadis", "official.registered.v1", map[string]string{"official_id": "KADIS", "unit_id": "B"})
	f.put(t, "official-nowhere", "official.registered.v1", map[string]string{"official_id": "NOWHERE", "unit_id": "NOSUCH"})
	f.project(t)
	has := func(agency, stream string) bool {
		for _, s := range streamsOf(f, agency) {
			if s == stream {
				return true
			}
		}
		return false
	}
	for _, c := range [][2]string{{"A", "distribution-A1-2026"}, {"B", "official-kadis"}, {"", "official-x"}, {"", "official-nowhere"}} {
		if !has(c[0], c[1]) {
			t.Errorf("%s is not in agency %q's log: %v", c[1], c[0], streamsOf(f, c[0]))
		}
	}
	if has("", "distribution-A1-2026") || has("", "official-kadis") {
		t.Errorf("agency facts in the national log: %v", streamsOf(f, ""))
	}
	for _, a := range []string{"A", "B", ""} {
		if r := f.verifyAgency(t, f.store, a, true); !r.OK {
			t.Errorf("agency %q does not verify: %+v", a, r)
		}
	}
}

// The agency verification says how many of the agency's entries no
// signed agency checkpoint covers yet.
func TestVerifyAgencyCountsUnsigned(t *testing.T) {
	f := newFixture(t)
	twoAgencies(t, f)
	f.project(t)
	if r := f.verifyAgency(t, f.store, "A", true); r.Unsigned != r.Size || r.Size == 0 {
		t.Fatalf("before any checkpoint: %d unsigned of %d", r.Unsigned, r.Size)
	}
	if _, _, err := f.signer.SignNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.put(t, "unit-A1", "unit.renamed.v1", map[string]string{"unit_id": "A1", "name": "Bidang A-2"})
	f.project(t)
	if r := f.verifyAgency(t, f.store, "A", true); !r.OK || r.Unsigned != 1 {
		t.Fatalf("after a checkpoint and one more event of A: %d unsigned of %d (%+v)", r.Unsigned, r.Size, r.Problems)
	}
}

// forgedStore serves the event of stream at revision with edited data, a
// recomputed chain hash and a signature by a key the ledger does not
// trust: what a database superuser without the writer key can do to the
// last event of a stream.
func forgedStore(t *testing.T, f *fixture, stream string, revision uint64) tamperedStore {
	t.Helper()
	var prev eventstore.Hash
	if revision > 0 {
		for ev, err := range f.store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{From: revision - 1, Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			prev = ev.Hash
		}
	}
	rogue := eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)))
	return tamperedStore{f.store, func(ev *eventstore.Event) {
		if ev.Stream != stream || ev.Revision != revision {
			return
		}
		var d map[string]any
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		d["forged"] = true
		ev.Data, _ = json.Marshal(d)
		ev.Hash = eventstore.ChainHash(prev, ev.Stream, ev.Revision, &ev.EventData)
		sig, err := eventstore.SignHash(rogue, ev.Hash)
		if err != nil {
			t.Fatal(err)
		}
		ev.Signature = sig
	}}
}

func TestVerifyAgencyAuthenticatesWriters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	twoAgencies(t, f)
	f.project(t)
	if _, _, err := f.signer.SignNow(ctx); err != nil {
		t.Fatal(err)
	}
	f.project(t)
	// After the checkpoint: events no checkpoint covers yet.
	f.put(t, "skp-"+nipA+"-2026", "skp.rhk_added.v1", map[string]string{"rhk_id": "a1"})
	f.put(t, "skp-"+nipB+"-2026", "skp.rhk_added.v1", map[string]string{"rhk_id": "b1"})
	f.project(t)
	verify := func(store eventstore.Store, agency string, mod func(*audit.AgencyVerifyOptions)) audit.Report {
		t.Helper()
		opts := audit.AgencyVerifyOptions{Agency: agency, Keys: []*merkle.Verifier{f.key.Verifier()}, WriterKeys: f.writers}
		if mod != nil {
			mod(&opts)
		}
		r, err := audit.VerifyAgency(ctx, store, opts)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, a := range []string{"A", "B", ""} {
		r := verify(f.store, a, nil)
		if !r.OK {
			t.Fatalf("VerifyAgency(%q) of the untouched store = %+v", a, r.Problems)
		}
		// The checkpoint's agency root covers the agency's entries below it.
		if want := r.Size - r.Unsigned; r.Covered != want {
			t.Errorf("VerifyAgency(%q).Covered = %d, want %d (the entries the checkpoint signs)", a, r.Covered, want)
		}
		if r := verify(f.store, a, func(o *audit.AgencyVerifyOptions) { o.AllSignatures = true }); !r.OK || r.Covered != 0 {
			t.Errorf("VerifyAgency(%q, all signatures) = %+v, want ok, nothing covered", a, r)
		}
	}

	t.Run("forged signature after the checkpoint", func(t *testing.T) {
		s := forgedStore(t, f, "skp-"+nipA+"-2026", 1)
		r := verify(s, "A", nil)
		if r.OK || !anyProblem(r.Problems, "writer signature") || r.Problems[0].Stream != "skp-"+nipA+"-2026" || *r.Problems[0].Index != r.Size-1 {
			t.Errorf("VerifyAgency(A) = %+v, want the forged signature of A's last event", r.Problems)
		}
		for _, a := range []string{"B", ""} {
			if r := verify(s, a, nil); !r.OK {
				t.Errorf("VerifyAgency(%q) = %+v, want ok: A's forgery is not B's", a, r.Problems)
			}
		}
		// Without the writer keys only chains are checked: the forgery
		// (chain recomputed) passes. This is what the keys add.
		if r := verify(s, "A", func(o *audit.AgencyVerifyOptions) { o.WriterKeys = nil }); !r.OK {
			t.Errorf("VerifyAgency(A) without writer keys = %+v; the forgery should go unseen there, or this test no longer shows what the keys add", r.Problems)
		}
	})

	t.Run("forged signature below the checkpoint", func(t *testing.T) {
		// unit-A's only event, covered by the checkpoint: its leaf changes,
		// so A's signed root disagrees, and the second pass names the
		// signature.
		s := forgedStore(t, f, "unit-A", 0)
		for _, all := range []bool{false, true} {
			r := verify(s, "A", func(o *audit.AgencyVerifyOptions) { o.AllSignatures = all })
			if r.OK || !anyProblem(r.Problems, "history changed") || !anyProblemOn(r.Problems, "writer signature", "unit-A") || r.Covered != 0 {
				t.Errorf("VerifyAgency(A, all signatures %v) = %+v, want the changed root and the forged signature named", all, r)
			}
		}
		for _, a := range []string{"B", ""} {
			if r := verify(s, a, nil); !r.OK {
				t.Errorf("VerifyAgency(%q) = %+v, want ok: A's forgery is not B's", a, r.Problems)
			}
		}
	})

	t.Run("forged signature on B's event", func(t *testing.T) {
		s := forgedStore(t, f, "skp-"+nipB+"-2026", 1)
		if r := verify(s, "B", nil); r.OK || !anyProblemOn(r.Problems, "writer signature", "skp-"+nipB+"-2026") {
			t.Errorf("VerifyAgency(B) = %+v, want the forged signature", r.Problems)
		}
		if r := verify(s, "A", nil); !r.OK {
			t.Errorf("VerifyAgency(A) = %+v, want ok: B's forgery is not A's", r.Problems)
		}
	})

	t.Run("witnessed checkpoint", func(t *testing.T) {
		latest, _ := f.signer.Latest()
		if r := verify(f.store, "A", func(o *audit.AgencyVerifyOptions) { o.Witnessed = &latest }); !r.OK || r.Covered == 0 {
			t.Errorf("VerifyAgency(A) with the witnessed checkpoint = %+v, want ok and covered", r)
		}
		gone := latest
		gone.Position = 999999
		gone.Note = "x"
		if r := verify(f.store, "A", func(o *audit.AgencyVerifyOptions) { o.Witnessed = &gone }); r.OK || !anyProblem(r.Problems, "witnessed checkpoint") {
			t.Errorf("VerifyAgency(A) with a witnessed checkpoint the ledger lacks = %+v, want a problem", r)
		}
	})
}

func anyProblemOn(ps []audit.Problem, s, stream string) bool {
	for _, p := range ps {
		if strings.Contains(p.Problem, s) && p.Stream == stream {
			return true
		}
	}
	return false
}

// TestVerifyAgencyAppendAcrossAgencies: one append whose first event is
// A's and whose last (the one signed) is B's: the signature on B's event
// is what proves A's, so A's verification checks B's event with it.
func TestVerifyAgencyAppendAcrossAgencies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	twoAgencies(t, f)
	ev := func(typ string, data map[string]string) eventstore.EventData {
		b, _ := json.Marshal(data)
		return eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "hr", Role: "HR_ADMIN"}, Data: b}
	}
	stream := "employee-" + nipA
	if _, err := f.store.Append(ctx, stream, eventstore.Any,
		ev("employee.reporting_line_assigned.v1", map[string]string{"nip": nipA}),
		ev("employee.position_changed.v1", map[string]string{"nip": nipA, "unit_id": "B", "previous_unit_id": "A1"})); err != nil {
		t.Fatal(err)
	}
	// A's next event, on another stream: the append before it is whole.
	f.put(t, "skp-"+nipA+"-2026", "skp.rhk_added.v1", map[string]string{"rhk_id": "a1"})
	f.project(t)
	verify := func(store eventstore.Store, agency string) audit.Report {
		t.Helper()
		r, err := audit.VerifyAgency(ctx, store, audit.AgencyVerifyOptions{Agency: agency, Keys: []*merkle.Verifier{f.key.Verifier()}, WriterKeys: f.writers, Stored: f.trail})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, a := range []string{"A", "B", ""} {
		if r := verify(f.store, a); !r.OK {
			t.Fatalf("VerifyAgency(%q) = %+v", a, r.Problems)
		}
	}
	// A's unsigned event edited, its hash recomputed: B's signed event no
	// longer links to it, so A's event is not proven.
	var prev eventstore.Hash
	for e, err := range f.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == "employee.reporting_line_assigned.v1" {
			break
		}
		prev = e.Hash
	}
	s := tamperedStore{f.store, func(e *eventstore.Event) {
		if e.Stream == stream && e.Type == "employee.reporting_line_assigned.v1" {
			e.Data = []byte(`{"nip":"` + nipA + `","forged":true}`)
			e.Hash = eventstore.ChainHash(prev, e.Stream, e.Revision, &e.EventData)
		}
	}}
	if r := verify(s, "A"); r.OK || !anyProblemOn(r.Problems, "hash chain", stream) {
		t.Errorf("VerifyAgency(A) = %+v, want A's edited event refused", r.Problems)
	}
}
