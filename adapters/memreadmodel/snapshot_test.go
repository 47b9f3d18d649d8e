package memreadmodel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

func snapStore(tb testing.TB, now func() time.Time) (eventstore.Store, domain.EventLog) {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "kinerja.db"), boltstore.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, eventlog.New(readmodeltest.LegacyStore(s))
}

func backendOf(m *Model) *readmodeltest.Backend {
	return &readmodeltest.Backend{Sinks: m.Sinks(), Directory: m.Directory(), SKPs: m.SKPs(), Evaluations: m.Evaluations(),
		Scores: m.Scores(), Objections: m.Objections(), Timeline: m.Timeline(), Audit: m.Audit()}
}

var snapCfg = readmodeltest.Config{Store: snapStore, Open: func(tb testing.TB, h projections.History) *readmodeltest.Backend {
	return backendOf(New(Options{History: h}))
}}

// TestSnapshotThenProjectEqualsRebuild: fold the first N events, write a
// snapshot, load it into fresh read models, fold the rest: every answer
// equals a full rebuild's (and the shared golden file), for N from none to
// all of the journey's events.
func TestSnapshotThenProjectEqualsRebuild(t *testing.T) {
	j, full, evs := readmodeltest.Setup(t, snapCfg, 7)
	want := readmodeltest.Take(t, full)
	readmodeltest.CheckGolden(t, want, false)
	ctx := context.Background()
	rebuilt := New(Options{History: projections.StoreHistory{Store: j.Store}})
	readmodeltest.Project(t, backendOf(rebuilt), evs, 5)
	wantAgencies := agencyStateOf(t, rebuilt)
	for _, n := range []int{0, 1, len(evs) / 5, len(evs) / 2, len(evs) * 4 / 5, len(evs) - 1, len(evs)} {
		m1 := New(Options{History: projections.StoreHistory{Store: j.Store}})
		readmodeltest.Project(t, backendOf(m1), evs[:n], 5)
		path := filepath.Join(t.TempDir(), SnapshotFile)
		wrote, err := m1.WriteSnapshot(ctx, path, j.Key, j.Store)
		if err != nil {
			t.Fatalf("N=%d: write: %v", n, err)
		}
		m2 := New(Options{History: projections.StoreHistory{Store: j.Store}})
		got, err := m2.LoadSnapshot(ctx, path, LoadOptions{Keys: []*merkle.Verifier{j.Key.Verifier()}, Store: j.Store})
		if err != nil {
			t.Fatalf("N=%d: load: %v", n, err)
		}
		if got.AuditSize != wrote.AuditSize || got.AuditRoot != wrote.AuditRoot || got.Bytes != wrote.Bytes {
			t.Fatalf("N=%d: loaded %+v, wrote %+v", n, got, wrote)
		}
		for name, cp := range wrote.Checkpoints {
			if got.Checkpoints[name] != cp {
				t.Fatalf("N=%d: %s loaded at %d, written at %d", n, name, got.Checkpoints[name], cp)
			}
		}
		// The loaded models answer as the models that were snapshot.
		readmodeltest.SameSnapshot(t, "loaded snapshot", readmodeltest.Take(t, backendOf(m1)), aligned(t, j.Store, m2, readmodeltest.Take(t, backendOf(m1)), readmodeltest.Take(t, backendOf(m2))))
		readmodeltest.Project(t, backendOf(m2), evs, 3)
		readmodeltest.SameSnapshot(t, "snapshot then the rest", want, aligned(t, j.Store, m2, want, readmodeltest.Take(t, backendOf(m2))))
		// The agency logs too (the multi-agency ledger:
		// TestSnapshotThenProjectEqualsRebuildAgencies).
		sameAgencyState(t, fmt.Sprintf("N=%d: snapshot then the rest", n), wantAgencies, agencyStateOf(t, m2))
	}
}

// snapshotOf writes the full journey's snapshot.
func snapshotOf(t *testing.T) (*readmodeltest.Journey, *Model, string) {
	t.Helper()
	j, _, evs := readmodeltest.Setup(t, snapCfg, 50)
	m := New(Options{History: projections.StoreHistory{Store: j.Store}})
	readmodeltest.Project(t, backendOf(m), evs, 50)
	path := filepath.Join(t.TempDir(), SnapshotFile)
	if _, err := m.WriteSnapshot(context.Background(), path, j.Key, nil); err != nil {
		t.Fatal(err)
	}
	return j, m, path
}

// mustRefuse loads path and wants a refusal for reason, leaving the read
// models empty.
func mustRefuse(t *testing.T, what string, j *readmodeltest.Journey, store eventstore.Store, path string, reason error) {
	t.Helper()
	m := New(Options{History: projections.StoreHistory{Store: j.Store}})
	_, err := m.LoadSnapshot(context.Background(), path, LoadOptions{Keys: []*merkle.Verifier{j.Key.Verifier()}, Store: store})
	var se *SnapshotError
	if !errors.As(err, &se) || !errors.Is(err, reason) {
		t.Fatalf("%s: load = %v, want a refusal for %v", what, err, reason)
	}
	for _, s := range m.Sinks() {
		if cp, _ := s.Checkpoint(context.Background()); cp != 0 {
			t.Fatalf("%s: %s left at %d after a refused snapshot", what, s.Name(), cp)
		}
	}
	if n, _ := m.Audit().Size(context.Background()); n != 0 {
		t.Fatalf("%s: the trail kept %d entries", what, n)
	}
	if l, _, _ := m.SKPs().List(context.Background(), readmodeltestQuery()); len(l) != 0 {
		t.Fatalf("%s: %d SKPs kept", what, len(l))
	}
}

// TestSnapshotTamperedIsRefused: any byte flipped, a truncated file,
// another format version, another key, a forged rating, a forged audit
// entry, a snapshot of another ledger: each is refused and leaves the read
// models empty (the start-up then rebuilds from the log).
func TestSnapshotTamperedIsRefused(t *testing.T) {
	j, m, path := snapshotOf(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(b []byte) string {
		p := filepath.Join(t.TempDir(), SnapshotFile)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// One byte flipped anywhere: header, every 997th byte of the body,
	// trailer.
	for off := 0; off < len(good); off += 997 {
		b := bytes.Clone(good)
		b[off] ^= 0x01
		m := New(Options{})
		_, err := m.LoadSnapshot(context.Background(), write(b), LoadOptions{Keys: []*merkle.Verifier{j.Key.Verifier()}, Store: j.Store})
		var se *SnapshotError
		if !errors.As(err, &se) {
			t.Fatalf("byte %d flipped: load = %v, want a refusal", off, err)
		}
	}
	b := bytes.Clone(good)
	b[len(b)-1] ^= 0x80
	mustRefuse(t, "signature flipped", j, j.Store, write(b), ErrSnapshotSignature)
	mustRefuse(t, "truncated", j, j.Store, write(good[:len(good)-200]), ErrSnapshotCorrupt)
	mustRefuse(t, "empty", j, j.Store, write(nil), ErrSnapshotCorrupt)
	b = bytes.Clone(good)
	binary.BigEndian.PutUint32(b[8:], SnapshotVersion+1)
	mustRefuse(t, "newer version", j, j.Store, write(b), ErrSnapshotFormat)
	// A projection of another version (its fold or tables changed since),
	// or another policy: the schema in the signed header differs.
	projectionVersions[audit.Name]++
	mustRefuse(t, "another audit projection version", j, j.Store, path, ErrSnapshotFormat)
	projectionVersions[audit.Name]--
	{
		other := New(Options{History: projections.StoreHistory{Store: j.Store}, Policy: policy.Policy{Version: "other-policy"}})
		_, err := other.LoadSnapshot(context.Background(), path, LoadOptions{Keys: []*merkle.Verifier{j.Key.Verifier()}, Store: j.Store})
		if !errors.Is(err, ErrSnapshotFormat) {
			t.Fatalf("another policy: load = %v, want %v", err, ErrSnapshotFormat)
		}
	}
	// A body crafted to make the decoder allocate (a gob message that
	// claims almost a gigabyte, at the start of the first section's gob
	// stream, after the section table): refused for its digest before any
	// of it is decoded.
	b = bytes.Clone(good)
	bodyAt := fixedHeaderLen + int(binary.BigEndian.Uint32(b[20:])) + sectionTableLen(len(m.snapSinks()))
	copy(b[bodyAt:], []byte{0xFC, 0x3F, 0xFF, 0xFF, 0xF0})
	mustRefuse(t, "a body that asks for a gigabyte", j, j.Store, write(b), ErrSnapshotSignature)
	// A schema length past the bound: refused before anything is read.
	b = bytes.Clone(good)
	binary.BigEndian.PutUint32(b[20:], maxSchemaLen+1)
	mustRefuse(t, "huge schema", j, j.Store, write(b), ErrSnapshotCorrupt)

	other, _, err := merkle.GenerateKey("kinerja-other", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := merkle.ParseSigner(other)
	p := filepath.Join(t.TempDir(), SnapshotFile)
	if _, err := m.WriteSnapshot(context.Background(), p, otherKey, nil); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, "another key", j, j.Store, p, ErrSnapshotSignature)

	// A forged rating, sealed with a key the service does not trust.
	forged := false
	for k, e := range m.evaluations.tables.(*evaluationsTables).rows {
		if e.Predikat != "" && e.Predikat != "SANGAT_BAIK" {
			e.Predikat = "SANGAT_BAIK"
			m.evaluations.tables.(*evaluationsTables).rows[k] = e
			forged = true
			break
		}
	}
	if !forged {
		t.Fatal("the journey has no rating to forge")
	}
	if _, err := m.WriteSnapshot(context.Background(), p, otherKey, nil); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, "forged rating", j, j.Store, p, ErrSnapshotSignature)

	// A forged audit entry (another actor) sealed with the trusted key:
	// its leaf, recomputed, no longer gives the sealed root.
	at := m.audit.tables.(*auditTables)
	e := at.entries.at(3)
	e.actorID = at.strs.id("199001012020121999")
	if _, err := m.WriteSnapshot(context.Background(), p, j.Key, j.Store); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, "forged audit entry", j, j.Store, p, ErrSnapshotLedger)

	// A good snapshot against another ledger (a store without its events).
	empty, _ := snapStore(t, time.Now)
	mustRefuse(t, "another ledger", j, empty, path, ErrSnapshotLedger)

	// And the good file still loads.
	m2 := New(Options{History: projections.StoreHistory{Store: j.Store}})
	if _, err := m2.LoadSnapshot(context.Background(), path, LoadOptions{Keys: []*merkle.Verifier{j.Key.Verifier()}, Store: j.Store}); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.LoadSnapshot(context.Background(), path, LoadOptions{Keys: []*merkle.Verifier{j.Key.Verifier()}, Store: j.Store}); err == nil {
		t.Fatal("a snapshot loaded into read models that hold events")
	}
	if _, err := New(Options{}).LoadSnapshot(context.Background(), filepath.Join(t.TempDir(), "none"), LoadOptions{}); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("no file: %v", err)
	}
}

func readmodeltestQuery() skps.Query { return skps.Query{Limit: 10} }

// aligned returns got with each projection checkpoint that a snapshot
// raised past want's (saveSection: to the audit projection's position, when
// the projection's filter selects no event in between) set back to want's,
// after checking that the store holds no event the projection selects
// between the two: the only way a snapshot may differ from a rebuild.
func aligned(t *testing.T, store eventstore.Store, m *Model, want, got readmodeltest.Snapshot) readmodeltest.Snapshot {
	t.Helper()
	cps := map[string]eventstore.Position{}
	for name, g := range got.Checkpoints {
		w := want.Checkpoints[name]
		cps[name] = g
		if g <= w || name == audit.Name {
			continue
		}
		if g > want.Checkpoints[audit.Name] && g > got.Checkpoints[audit.Name] {
			t.Fatalf("%s raised to %d, past the audit projection's %d", name, g, got.Checkpoints[audit.Name])
		}
		for ev, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{After: w, Filter: m.Sink(name).Filter()}) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Position <= g {
				t.Fatalf("%s raised from %d to %d over the event it selects at %d", name, w, g, ev.Position)
			}
			break
		}
		cps[name] = w
	}
	got.Checkpoints = cps
	return got
}
