package witness_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kinerja-ledger/kinerja/adapters/witness"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// natsURL returns the test NATS server: a skip when KINERJA_TEST_NATS_URL
// is unset, a failure when KINERJA_REQUIRE_INTEGRATION=1.
func natsURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("KINERJA_TEST_NATS_URL")
	if u == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_NATS_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_NATS_URL not set")
	}
	return u
}

// openJetStream opens a witness on a stream of its own, deleted after the
// test (with an admin call: the stream denies deleting its messages, not
// the stream).
func openJetStream(t *testing.T) (*witness.JetStream, witness.JetStreamConfig) {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	cfg := witness.JetStreamConfig{URL: natsURL(t), Stream: "KINERJA_WITNESS_TEST_" + hex.EncodeToString(b[:]), Subject: "kinerja.witness.test." + hex.EncodeToString(b[:])}
	j, err := witness.OpenJetStream(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		j.Close()
		nc, err := nats.Connect(cfg.URL)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		js.DeleteStream(context.Background(), cfg.Stream)
	})
	return j, cfg
}

func record(size uint64) audit.WitnessRecord {
	return audit.WitnessRecord{Checkpoint: audit.Checkpoint{Size: size, Note: "note", Position: 7}, Revision: size / 10, EventID: "e"}
}

// witnesses runs the same checks on every kind of witness.
func TestWitnessesKeepTheNewestRecord(t *testing.T) {
	kinds := map[string]func(t *testing.T) audit.Witness{
		"file": func(t *testing.T) audit.Witness {
			return witness.NewFile(filepath.Join(t.TempDir(), "sub", "witness.json"))
		},
		"jetstream": func(t *testing.T) audit.Witness {
			j, _ := openJetStream(t)
			return j
		},
	}
	for name, open := range kinds {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := open(t)
			if _, ok, err := w.Latest(ctx); ok || err != nil {
				t.Fatalf("Latest of a new witness = %v, %v; want none", ok, err)
			}
			set := audit.NewWitnessSet(w)
			for _, size := range []uint64{10, 30, 20} { // the newest is the last written, not the largest
				if _, err := set.Record(ctx, record(size)); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := w.Latest(ctx)
			if err != nil || !ok || got.Checkpoint.Size != 20 || got.Seq != 3 || got.Format != audit.WitnessFormat || got.WrittenAt.IsZero() {
				t.Fatalf("Latest = %+v, %v, %v; want the third record (size 20, seq 3)", got, ok, err)
			}
		})
	}
}

func TestFileWitnessLeavesNoTemporaryFilesAndRefusesGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "witness.json")
	w := witness.NewFile(path)
	if err := w.Record(context.Background(), record(5)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a record, want just the witness file", len(entries))
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Latest(context.Background()); err == nil {
		t.Error("Latest of a damaged witness file = nil error")
	}
}

// TestWitnessSetOutvotesARolledBackWitness: the data directory, witness
// file included, restored from an old backup; the JetStream witness still
// has the newer record.
func TestWitnessSetOutvotesARolledBackWitness(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "witness.json")
	j, cfg := openJetStream(t)
	set := audit.NewWitnessSet(witness.NewFile(path), j)
	if _, err := set.Record(ctx, record(10)); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	if _, err := set.Record(ctx, record(20)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, old, 0o600); err != nil { // the restore
		t.Fatal(err)
	}
	j2, err := witness.OpenJetStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	got, ok, err := audit.NewWitnessSet(witness.NewFile(path), j2).Latest(ctx)
	if err != nil || !ok || got.Checkpoint.Size != 20 {
		t.Fatalf("Latest = %+v, %v, %v; want the newer record of size 20", got, ok, err)
	}
	// And the stream refuses to delete its records.
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(ctx, 2); err == nil {
		t.Error("deleting a witness record from the stream succeeded")
	}
	if err := st.Purge(ctx); err == nil {
		t.Error("purging the witness stream succeeded")
	}
}
