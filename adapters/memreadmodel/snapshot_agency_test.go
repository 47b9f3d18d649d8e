package memreadmodel

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// agencyLedger is a bbolt ledger of two agencies (and the national log)
// whose appends a writer key signs, with audit checkpoints signed between
// its parts.
type agencyLedger struct {
	path    string
	store   *boltstore.Store
	writers *eventstore.Keyring
	key     *merkle.Signer
	clock   func() time.Time
	// checkpoints signed, oldest first.
	checkpoints []audit.Checkpoint
}

var snapWriterKey = eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))

func snapAuditKey(t *testing.T) *merkle.Signer {
	t.Helper()
	skey, _, err := merkle.GenerateKey("kinerja-snapshot-test", bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := merkle.ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (l *agencyLedger) open(t *testing.T) {
	t.Helper()
	s, err := boltstore.Open(l.path, boltstore.Options{Now: l.clock, Signer: snapWriterKey, Keyring: l.writers})
	if err != nil {
		t.Fatal(err)
	}
	l.store = s
}

func (l *agencyLedger) put(t *testing.T, stream, typ string, data any) {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.store.Append(context.Background(), stream, eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: 1,
		OccurredAt: l.clock(), Actor: eventstore.Actor{ID: "hr", Role: "HR_ADMIN"}, Data: b}); err != nil {
		t.Fatal(err)
	}
}

// sign projects the whole ledger into a fresh audit trail and signs a
// checkpoint over it.
func (l *agencyLedger) sign(t *testing.T) audit.Checkpoint {
	t.Helper()
	m := New(Options{})
	readmodeltest.ProjectInto(t, m.Sink(audit.Name), rawEvents(t, l.store), 4)
	c, ok, err := audit.NewSigner(audit.SignerConfig{Store: l.store, Trail: m.Audit(), Key: l.key, Every: 1, Now: l.clock}).SignNow(context.Background())
	if err != nil || !ok {
		t.Fatalf("SignNow = %v, %v", ok, err)
	}
	l.checkpoints = append(l.checkpoints, c)
	return c
}

func rawEvents(t *testing.T, store eventstore.Store) []projections.Event {
	t.Helper()
	var out []projections.Event
	for ev, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, projections.Event{Event: ev})
	}
	return out
}

const agNIPA, agNIPB, agNIPT = "198001012005011001", "198102022006022002", "198203032007031003"

// newAgencyLedger writes units of agencies A and B, employees of both,
// an SKP drafted in A, a checkpoint; then a transfer of T from A to B
// (the SKP stays A's), a national stream, a checkpoint; then a unit and an
// employee more in B (past the last checkpoint).
func newAgencyLedger(t *testing.T) *agencyLedger {
	t.Helper()
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	l := &agencyLedger{path: filepath.Join(t.TempDir(), "kinerja.db"), writers: eventstore.NewKeyring(snapWriterKey.Public()), key: snapAuditKey(t),
		clock: func() time.Time { at = at.Add(time.Second); return at }}
	l.open(t)
	t.Cleanup(func() { l.store.Close() })
	l.put(t, "unit-A", "unit.registered.v1", map[string]string{"unit_id": "A", "name": "Dinas A"})
	l.put(t, "unit-B", "unit.registered.v1", map[string]string{"unit_id": "B", "name": "Dinas B"})
	l.put(t, "unit-A1", "unit.registered.v1", map[string]string{"unit_id": "A1", "name": "Bidang A1", "parent_id": "A"})
	l.put(t, "employee-"+agNIPA, "employee.registered.v1", map[string]string{"nip": agNIPA, "unit_id": "A1"})
	l.put(t, "employee-"+agNIPB, "employee.registered.v1", map[string]string{"nip": agNIPB, "unit_id": "B"})
	l.put(t, "employee-"+agNIPT, "employee.registered.v1", map[string]string{"nip": agNIPT, "unit_id": "A"})
	l.put(t, "skp-"+agNIPT+"-2026", "skp.drafted.v1", map[string]any{"employee": map[string]string{"unit_id": "A"}})
	l.sign(t)
	l.put(t, "employee-"+agNIPT, "employee.position_changed.v1", map[string]string{"nip": agNIPT, "unit_id": "B", "previous_unit_id": "A"})
	l.put(t, "skp-"+agNIPT+"-2026", "skp.rhk_added.v1", map[string]string{"rhk_id": "r1"})
	l.put(t, "employee-"+agNIPT, "employee.reporting_line_assigned.v1", map[string]string{"nip": agNIPT})
	l.put(t, "official-x", "official.registered.v1", map[string]string{})
	l.sign(t)
	l.put(t, "unit-B1", "unit.registered.v1", map[string]string{"unit_id": "B1", "name": "Bidang B1", "parent_id": "B"})
	l.put(t, "employee-"+agNIPA, "employee.position_changed.v1", map[string]string{"nip": agNIPA, "unit_id": "B1", "previous_unit_id": "A1"})
	l.put(t, "skp-"+agNIPA+"-2026", "skp.drafted.v1", map[string]any{"employee": map[string]string{"unit_id": "B1"}})
	return l
}

// agencyState is everything the agency logs answer.
type agencyState struct {
	Size        uint64
	Heads       []audit.AgencyHead
	Entries     map[string][]audit.AgencyEntry
	Roots       map[string]merkle.Hash
	Checkpoints map[string][]audit.AgencyCheckpoint
	OfSeq       []audit.AgencyEntry
	Filtered    map[string][]uint64
	Derivation  map[audit.AgencyKey]string `json:"-"` // compared apart (fmt prints maps sorted)
}

func agencyStateOf(t *testing.T, m *Model) agencyState {
	t.Helper()
	ctx := context.Background()
	r := m.Audit()
	st := agencyState{Entries: map[string][]audit.AgencyEntry{}, Roots: map[string]merkle.Hash{}, Checkpoints: map[string][]audit.AgencyCheckpoint{},
		Filtered: map[string][]uint64{}}
	var err error
	if st.Size, st.Heads, err = r.Heads(ctx); err != nil {
		t.Fatal(err)
	}
	for _, h := range st.Heads {
		if st.Entries[h.Agency], err = r.AgencyEntries(ctx, h.Agency, 0, h.Size, audit.MaxLimit); err != nil {
			t.Fatal(err)
		}
		if st.Roots[h.Agency], err = merkle.RootAt(ctx, r.AgencyNodes(h.Agency), h.Size); err != nil {
			t.Fatal(err)
		}
		if st.Checkpoints[h.Agency], err = r.AgencyCheckpoints(ctx, h.Agency); err != nil {
			t.Fatal(err)
		}
		es, err := r.Entries(ctx, audit.Query{Agency: h.Agency, AgencySet: true, Limit: audit.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			st.Filtered[h.Agency] = append(st.Filtered[h.Agency], e.Seq)
		}
		// The frontier the next append extends must be the tree's.
		tx := m.audit.tables.(*auditTables).begin()
		f, _ := tx.AgencyFrontier(ctx, h.Agency)
		tree, err := merkle.NewTreeFromFrontier(h.Size, f)
		if err != nil || tree.Root() != st.Roots[h.Agency] {
			t.Fatalf("agency %q: frontier gives root %v (%v), the nodes %s", h.Agency, tree, err, st.Roots[h.Agency])
		}
	}
	for seq := range st.Size {
		e, ok, err := r.AgencyOfSeq(ctx, seq)
		if err != nil || !ok {
			t.Fatalf("AgencyOfSeq(%d) = %v, %v", seq, ok, err)
		}
		st.OfSeq = append(st.OfSeq, e)
	}
	st.Derivation = m.audit.tables.(*auditTables).agencyKeys
	return st
}

func sameAgencyState(t *testing.T, what string, want, got agencyState) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, g) || fmt.Sprint(want.Derivation) != fmt.Sprint(got.Derivation) {
		t.Fatalf("%s: agency logs differ\nwant %s\n got %s\nderivation want %v\n got %v", what, w, g, want.Derivation, got.Derivation)
	}
}

// TestSnapshotThenProjectEqualsRebuildAgencies: the multi-agency part of
// TestSnapshotThenProjectEqualsRebuild. Over a ledger of two agencies
// (a transfer between them, an SKP that stays in its agency, a national
// stream, checkpoints between the parts), fold the first N events, write a
// snapshot, load it into a fresh trail, fold the rest: the agency logs
// (entries, trees, frontiers, checkpoints, derivation state, each entry's
// agency) equal a full rebuild's, and each agency verifies on its own,
// for every N. A new agency entry after the load extends the right log.
func TestSnapshotThenProjectEqualsRebuildAgencies(t *testing.T) {
	ctx := context.Background()
	l := newAgencyLedger(t)
	l.sign(t)
	evs := rawEvents(t, l.store)
	full := New(Options{})
	readmodeltest.ProjectInto(t, full.Sink(audit.Name), evs, 3)
	want := agencyStateOf(t, full)
	if len(want.Heads) != 3 {
		t.Fatalf("the ledger has agency logs %v, want A, B and the national one", want.Heads)
	}
	for n := range len(evs) + 1 {
		m1 := New(Options{})
		readmodeltest.ProjectInto(t, m1.Sink(audit.Name), evs[:n], 2)
		path := filepath.Join(t.TempDir(), SnapshotFile)
		if _, err := m1.WriteSnapshot(ctx, path, l.key, l.store); err != nil {
			t.Fatalf("N=%d: write: %v", n, err)
		}
		m2 := New(Options{})
		if _, err := m2.LoadSnapshot(ctx, path, LoadOptions{Keys: []*merkle.Verifier{l.key.Verifier()}, Store: l.store}); err != nil {
			t.Fatalf("N=%d: load: %v", n, err)
		}
		sameAgencyState(t, fmt.Sprintf("N=%d: loaded", n), agencyStateOf(t, m1), agencyStateOf(t, m2))
		if _, err := m2.CheckHistory(ctx, l.store, l.writers, nil); err != nil {
			t.Fatalf("N=%d: history: %v", n, err)
		}
		readmodeltest.ProjectInto(t, m2.Sink(audit.Name), evs, 3)
		sameAgencyState(t, fmt.Sprintf("N=%d: snapshot then the rest", n), want, agencyStateOf(t, m2))
		for _, h := range want.Heads {
			r, err := audit.VerifyAgency(ctx, l.store, audit.AgencyVerifyOptions{Agency: h.Agency, Keys: []*merkle.Verifier{l.key.Verifier()}, Stored: m2.Audit()})
			if err != nil || !r.OK {
				t.Fatalf("N=%d: VerifyAgency(%q) = %+v, %v", n, h.Agency, r, err)
			}
		}
	}
}

// TestSnapshotAgencyStateIsChecked: a snapshot sealed with the audit key
// whose agency state is not the ledger's (an entry moved to another
// agency's log, the derivation state changed) is refused: by the ledger's
// agency checkpoints when one lists the log, by the history check
// otherwise.
func TestSnapshotAgencyStateIsChecked(t *testing.T) {
	ctx := context.Background()
	l := newAgencyLedger(t) // its last three events are in no checkpoint
	evs := rawEvents(t, l.store)
	load := func(m *Model) error {
		path := filepath.Join(t.TempDir(), SnapshotFile)
		if _, err := m.WriteSnapshot(ctx, path, l.key, l.store); err != nil {
			t.Fatal(err)
		}
		m2 := New(Options{})
		if _, err := m2.LoadSnapshot(ctx, path, LoadOptions{Keys: []*merkle.Verifier{l.key.Verifier()}, Store: l.store}); err != nil {
			return err
		}
		_, err := m2.CheckHistory(ctx, l.store, l.writers, nil)
		return err
	}
	fresh := func() *Model {
		m := New(Options{})
		readmodeltest.ProjectInto(t, m.Sink(audit.Name), evs, 5)
		return m
	}
	if err := load(fresh()); err != nil {
		t.Fatalf("an honest snapshot: %v", err)
	}
	// Entry 0 (unit A, in A's signed checkpoint) moved to B's log.
	m := fresh()
	at := m.audit.tables.(*auditTables)
	at.entries.at(0).agency = at.strs.id("B")
	if err := load(m); !errors.Is(err, ErrSnapshotLedger) {
		t.Fatalf("an entry moved to another agency: %v, want %v", err, ErrSnapshotLedger)
	}
	// The last entry (past every checkpoint) moved to the national log.
	m = fresh()
	at = m.audit.tables.(*auditTables)
	at.entries.at(at.entries.len() - 1).agency = 0
	if err := load(m); !errors.Is(err, ErrSnapshotHistory) {
		t.Fatalf("the last entry moved to the national log: %v, want %v", err, ErrSnapshotHistory)
	}
	// The derivation state says the SKP drafted in B1 is A's.
	m = fresh()
	m.audit.tables.(*auditTables).agencyKeys[audit.AgencyKey{Kind: audit.KeySKP, ID: agNIPA + "-2026"}] = "A"
	if err := load(m); !errors.Is(err, ErrSnapshotHistory) {
		t.Fatalf("a derivation key changed: %v, want %v", err, ErrSnapshotHistory)
	}
}

// editHead rewrites the data of stream's head event in the closed bbolt
// file and recomputes its chain hash (an insider with the data directory
// but not the writer key: the writer signature no longer verifies).
func (l *agencyLedger) editHead(t *testing.T, stream string) {
	t.Helper()
	ctx := context.Background()
	var evs []eventstore.Event
	for ev, err := range l.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	l.store.Close()
	head, prev := evs[len(evs)-1], eventstore.Hash{}
	if len(evs) > 1 {
		prev = evs[len(evs)-2].Hash
	}
	newData := []byte(strings.Replace(string(head.Data), "B", "C", 1))
	if len(newData) != len(head.Data) || bytes.Equal(newData, head.Data) {
		t.Fatal("edit must change the data and keep its length")
	}
	head.Data = newData
	h := eventstore.ChainHash(prev, stream, head.Revision, &head.EventData)
	db, err := bolt.Open(l.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		key := binary.BigEndian.AppendUint64(nil, uint64(head.Position))
		rec := append([]byte(nil), tx.Bucket([]byte("events")).Get(key)...)
		copy(rec[len(rec)-len(newData):], newData)
		copy(rec[41:73], h[:])
		idx := binary.BigEndian.AppendUint64(append([]byte(stream), 0), head.Revision)
		return errors.Join(tx.Bucket([]byte("events")).Put(key, rec), tx.Bucket([]byte("streams")).Put(idx, append(key, h[:]...)))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := boltstore.Open(l.path, boltstore.Options{Now: l.clock})
	if err != nil {
		t.Fatal(err)
	}
	l.store = s
}

// TestSnapshotTailPastWitnessIsAuthenticated: an insider rewrites an event
// past the last witnessed checkpoint (its chain hash recomputed), signs a
// ledger checkpoint over it with the audit key from the data directory and
// seals a fresh snapshot with it: the snapshot matches the ledger, but the
// history check, which skips writer signatures only up to the witnessed
// checkpoint, refuses it. Before the fix every entry of the snapshot
// skipped its writer signature and it loaded.
func TestSnapshotTailPastWitnessIsAuthenticated(t *testing.T) {
	ctx := context.Background()
	l := newAgencyLedger(t)
	witnessed := l.checkpoints[len(l.checkpoints)-1] // the events after it are unwitnessed
	l.editHead(t, "unit-B1")
	l.sign(t) // the insider's checkpoint, audit key from the data directory
	m := New(Options{})
	readmodeltest.ProjectInto(t, m.Sink(audit.Name), rawEvents(t, l.store), 4)
	path := filepath.Join(t.TempDir(), SnapshotFile)
	if _, err := m.WriteSnapshot(ctx, path, l.key, l.store); err != nil {
		t.Fatal(err)
	}
	m2 := New(Options{})
	if _, err := m2.LoadSnapshot(ctx, path, LoadOptions{Keys: []*merkle.Verifier{l.key.Verifier()}, Store: l.store}); err != nil {
		t.Fatalf("the sealed snapshot matches the ledger and loads: %v", err)
	}
	if _, err := m2.CheckHistory(ctx, l.store, l.writers, &witnessed); !errors.Is(err, ErrSnapshotHistory) {
		t.Fatalf("history check over a rewritten unwitnessed event = %v, want %v", err, ErrSnapshotHistory)
	}
	// A witness that covers the edited event is not trusted blindly either:
	// its root is compared first.
	forged := witnessed
	forged.Size = l.checkpoints[len(l.checkpoints)-1].Size
	if _, err := m2.CheckHistory(ctx, l.store, l.writers, &forged); !errors.Is(err, ErrSnapshotHistory) {
		t.Fatalf("history check with a witnessed root that is not the trail's = %v, want %v", err, ErrSnapshotHistory)
	}
}

// TestSnapshotNeedsAnAnchor: a non-empty trail with no checkpoint signed
// by a trusted audit key in the ledger is refused (the snapshot is not the
// only thing that may vouch for it).
func TestSnapshotNeedsAnAnchor(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	l := &agencyLedger{path: filepath.Join(t.TempDir(), "kinerja.db"), writers: eventstore.NewKeyring(snapWriterKey.Public()), key: snapAuditKey(t),
		clock: func() time.Time { at = at.Add(time.Second); return at }}
	l.open(t)
	t.Cleanup(func() { l.store.Close() })
	l.put(t, "unit-A", "unit.registered.v1", map[string]string{"unit_id": "A", "name": "Dinas A"})
	m := New(Options{})
	readmodeltest.ProjectInto(t, m.Sink(audit.Name), rawEvents(t, l.store), 4)
	path := filepath.Join(t.TempDir(), SnapshotFile)
	if _, err := m.WriteSnapshot(ctx, path, l.key, l.store); err != nil {
		t.Fatal(err)
	}
	keys := LoadOptions{Keys: []*merkle.Verifier{l.key.Verifier()}, Store: l.store}
	if _, err := New(Options{}).LoadSnapshot(ctx, path, keys); !errors.Is(err, ErrSnapshotLedger) {
		t.Fatalf("no checkpoint in the ledger: %v, want %v", err, ErrSnapshotLedger)
	}
	// Signed by another audit key only: still no anchor.
	other, _, err := merkle.GenerateKey("kinerja-other", bytes.NewReader(bytes.Repeat([]byte{5}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := merkle.ParseSigner(other)
	if _, ok, err := audit.NewSigner(audit.SignerConfig{Store: l.store, Trail: m.Audit(), Key: otherKey, Every: 1, Now: l.clock}).SignNow(ctx); err != nil || !ok {
		t.Fatalf("SignNow = %v, %v", ok, err)
	}
	if _, err := New(Options{}).LoadSnapshot(ctx, path, keys); !errors.Is(err, ErrSnapshotLedger) {
		t.Fatalf("a checkpoint of another key only: %v, want %v", err, ErrSnapshotLedger)
	}
	// Trusting that key too anchors it.
	keys.Keys = append(keys.Keys, otherKey.Verifier())
	if _, err := New(Options{}).LoadSnapshot(ctx, path, keys); err != nil {
		t.Fatalf("anchored: %v", err)
	}
}
