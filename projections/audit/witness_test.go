package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// memWitness is a working in-memory audit.Witness.
type memWitness struct {
	mu   sync.Mutex
	recs []audit.WitnessRecord
}

func (m *memWitness) Name() string { return "memory" }
func (m *memWitness) Latest(context.Context) (audit.WitnessRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return audit.WitnessRecord{}, false, nil
	}
	return m.recs[len(m.recs)-1], true, nil
}
func (m *memWitness) Record(_ context.Context, rec audit.WitnessRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, rec)
	return nil
}

// copyFile copies the closed or quiescent bbolt file, as a backup would.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSignerWitnessesEveryCheckpoint(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	w := &memWitness{}
	f.signer = audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key, Witness: audit.NewWitnessSet(w)})
	for i := range 2 {
		f.write(t, "skp-1", 3)
		f.project(t)
		c, signed, err := f.signer.SignNow(ctx)
		if err != nil || !signed {
			t.Fatal(signed, err)
		}
		rec, ok, _ := w.Latest(ctx)
		if !ok || rec.Checkpoint.Note != c.Note || rec.Revision != uint64(i) || rec.Seq != uint64(i+1) {
			t.Fatalf("witness after checkpoint %d = %+v, want the checkpoint at revision %d", i, rec, i)
		}
		if err := audit.CheckWitness(ctx, f.store, &rec, []*merkle.Verifier{f.key.Verifier()}); err != nil {
			t.Errorf("CheckWitness of the current store = %v", err)
		}
	}
	// A signer that stopped between the append and the witness: the next
	// one witnesses the checkpoint once it has proven it.
	f.write(t, "skp-1", 1)
	f.project(t)
	unwitnessed := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key})
	c, _, err := unwitnessed.SignNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.project(t)
	next := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key, Witness: audit.NewWitnessSet(w)})
	if _, _, err := next.SignIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := w.Latest(ctx); rec.Checkpoint.Note != c.Note {
		t.Errorf("the restarted signer did not witness the proven checkpoint: witness has size %d, want %d", rec.Checkpoint.Size, c.Size)
	}
}

func TestCheckWitness(t *testing.T) {
	ctx := context.Background()
	keys := func(f *fixture) []*merkle.Verifier { return []*merkle.Verifier{f.key.Verifier()} }
	// signed returns a fixture with two witnessed checkpoints, the bbolt file
	// as it was after the first, and the newest record.
	signed := func(t *testing.T) (*fixture, string, audit.WitnessRecord) {
		f := newFixture(t)
		w := &memWitness{}
		f.signer = audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key, Witness: audit.NewWitnessSet(w)})
		old := filepath.Join(t.TempDir(), "old.db")
		for i := range 2 {
			f.write(t, "skp-1", 4)
			f.project(t)
			if _, _, err := f.signer.SignNow(ctx); err != nil {
				t.Fatal(err)
			}
			f.project(t)
			if i == 0 {
				f.store.Close()
				copyFile(t, f.path, old)
				s, err := boltstore.Open(f.path, boltstore.Options{Signer: writerKey, Keyring: f.writers})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				f.store = s
				f.signer = audit.NewSigner(audit.SignerConfig{Store: s, Trail: f.trail, Key: f.key, Witness: audit.NewWitnessSet(w)})
			}
		}
		rec, _, _ := w.Latest(ctx)
		return f, old, rec
	}
	t.Run("store matches", func(t *testing.T) {
		f, _, rec := signed(t)
		if err := audit.CheckWitness(ctx, f.store, &rec, keys(f)); err != nil {
			t.Errorf("CheckWitness = %v", err)
		}
		if err := audit.CheckWitnessRoot(ctx, f.trail, &rec); err != nil {
			t.Errorf("CheckWitnessRoot = %v", err)
		}
	})
	t.Run("older copy restored", func(t *testing.T) {
		f, old, rec := signed(t)
		s, err := boltstore.Open(old, boltstore.Options{Signer: writerKey, Keyring: f.writers})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = audit.CheckWitness(ctx, s, &rec, keys(f))
		var re *audit.RollbackError
		if !errors.As(err, &re) || !errors.Is(err, audit.ErrRollback) || !strings.Contains(err.Error(), "behind the witness") {
			t.Fatalf("CheckWitness of an older copy = %v, want a RollbackError saying the store is behind", err)
		}
	})
	t.Run("no witness record but signed checkpoints", func(t *testing.T) {
		f, _, _ := signed(t)
		if err := audit.CheckWitness(ctx, f.store, nil, keys(f)); !errors.Is(err, audit.ErrRollback) {
			t.Errorf("CheckWitness without a record = %v, want ErrRollback", err)
		}
	})
	t.Run("no witness record, no checkpoint", func(t *testing.T) {
		f := newFixture(t)
		f.write(t, "skp-1", 2)
		if err := audit.CheckWitness(ctx, f.store, nil, keys(f)); err != nil {
			t.Errorf("CheckWitness of a store never signed = %v", err)
		}
	})
	t.Run("record signed by another key", func(t *testing.T) {
		f, _, rec := signed(t)
		skey, _, _ := merkle.GenerateKey("kinerja-ledger-test", bytes.NewReader(bytes.Repeat([]byte{8}, 64)))
		other, _ := merkle.ParseSigner(skey)
		note, _ := merkle.Sign(merkle.Checkpoint{Origin: other.Name(), Size: rec.Checkpoint.Size + 5, Root: rec.Checkpoint.RootHash, SignedAt: rec.Checkpoint.SignedAt}, other)
		rec.Checkpoint.Note = string(note)
		if err := audit.CheckWitness(ctx, f.store, &rec, keys(f)); err == nil || errors.Is(err, audit.ErrRollback) {
			t.Errorf("CheckWitness of a record the audit key did not sign = %v, want a verification error", err)
		}
	})
	t.Run("history below the witnessed checkpoint changed", func(t *testing.T) {
		f, _, rec := signed(t)
		f.trail.mu.Lock()
		forged := newFakeTrail()
		for _, e := range f.trail.entries {
			e.Reason = "forged"
			forged.entries = append(forged.entries, e)
		}
		f.trail.mu.Unlock()
		// Rebuild the forged trail's tree from its leaves.
		tree := merkle.NewTree()
		for i := range forged.entries {
			forged.entries[i].LeafHash[0] ^= 1
			forged.nodes.Put(tree.Append(forged.entries[i].LeafHash)...)
		}
		if err := audit.CheckWitnessRoot(ctx, forged, &rec); !errors.Is(err, audit.ErrRollback) || !strings.Contains(err.Error(), "history changed") {
			t.Errorf("CheckWitnessRoot of a changed history = %v, want ErrRollback (history changed)", err)
		}
	})
}

func TestVerifyComparesAtTheTrailsWatermark(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.write(t, "skp-1", 5)
	f.project(t)
	if _, _, err := f.signer.SignNow(ctx); err != nil {
		t.Fatal(err)
	}
	f.project(t)
	// Writes go on; the projection lags behind them.
	f.write(t, "skp-2", 4)
	trail := &watermarked{fakeTrail: f.trail, pos: f.after}
	r, err := audit.Verify(ctx, f.store, audit.VerifyOptions{Keys: []*merkle.Verifier{f.key.Verifier()}, Stored: trail, WriterKeys: f.writers})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.Pending != 4 || r.Size != 5 || r.Position != f.after || r.Covered != 5 {
		t.Fatalf("Verify of a lagging trail = %+v, want ok, 4 pending, 5 entries compared, 5 covered", r)
	}
	// Without the watermark the same store and trail look tampered with.
	r, err = audit.Verify(ctx, f.store, audit.VerifyOptions{Keys: []*merkle.Verifier{f.key.Verifier()}, Stored: f.trail, WriterKeys: f.writers})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK {
		t.Fatalf("Verify without a watermark = ok; the test no longer shows what the watermark is for")
	}
	// A witnessed checkpoint the ledger lacks is a problem.
	gone := audit.Checkpoint{Size: 3, Position: 2, Note: "x"}
	r, err = audit.Verify(ctx, f.store, audit.VerifyOptions{Keys: []*merkle.Verifier{f.key.Verifier()}, Stored: trail, WriterKeys: f.writers, Witnessed: &gone})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || !strings.Contains(r.Problems[len(r.Problems)-1].Problem, "witnessed checkpoint") {
		t.Errorf("Verify with a witnessed checkpoint missing from the ledger = %+v, want a problem", r)
	}
}

// watermarked is a stored trail with a fixed watermark: projected up to pos.
type watermarked struct {
	*fakeTrail
	pos eventstore.Position
}

func (w *watermarked) Watermark(context.Context) (eventstore.Position, uint64, error) {
	return w.pos, uint64(len(w.entries)), nil
}

// TestRollbackAcceptedIsAStableContract pins the JSON of the audited
// override event: it is a stored event.
func TestRollbackAcceptedIsAStableContract(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.write(t, "skp-1", 2)
	f.project(t)
	c, _, err := f.signer.SignNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := audit.WitnessRecordOf(c, 0, [16]byte{1})
	res, d, err := audit.RecordRollbackAccepted(ctx, f.store, "restored backup of 3 March, ticket OPS-17", &audit.RollbackError{Witnessed: &rec, Problem: "behind"}, &rec, time.Date(2026, 3, 4, 1, 2, 3, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var stored eventstore.Event
	for ev, err := range f.store.ReadStream(ctx, audit.OperationsStream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		stored = ev
	}
	if stored.Type != audit.RollbackAcceptedType || stored.Position != res.Position || stored.Reason != d.Reason || stored.Signature.IsZero() || !audit.InTrail(stored.Stream) {
		t.Fatalf("stored override event = %+v", stored)
	}
	// The golden file fixes the shape, with the variable values replaced.
	fixed := d
	fixed.Witnessed, fixed.Store = &audit.Checkpoint{Size: 2, Note: "note", SignedAt: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), KeyID: "k", Signature: "s", Origin: "o", Position: 3}, &audit.Checkpoint{Size: 1, Note: "n"}
	got, err := json.MarshalIndent(fixed, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "rollback_accepted.v1.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("rollback_accepted.v1 JSON changed (-golden +got); a stored event's shape never changes, add a v2:\n%s", diff)
	}
	var back audit.RollbackAccepted
	if err := json.Unmarshal(stored.Data, &back); err != nil || back.Reason != d.Reason || back.Witnessed == nil || back.Witnessed.Note != c.Note {
		t.Errorf("stored data = %s, %v", stored.Data, err)
	}
}
