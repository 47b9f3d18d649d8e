package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// TestSeedSignsACheckpoint: a seed into an empty bbolt store ends with a
// signed, witnessed checkpoint over every seeded entry (kinerjad's first
// start then trusts it instead of checking every writer signature), which
// verify accepts; --sign-checkpoint=false leaves the store unsigned.
func TestSeedSignsACheckpoint(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "20", "--year", "2025")
	s, err := boltstore.Open(backend.BoltPath(data), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok, err := audit.LedgerCheckpoint(context.Background(), s)
	head, _ := s.Head(context.Background())
	s.Close()
	if err != nil || !ok || rec.Checkpoint.Size == 0 || uint64(rec.Checkpoint.Position) != uint64(head) {
		t.Fatalf("latest checkpoint = %+v %v %v, want one at the head %d", rec, ok, err, head)
	}
	b, err := os.ReadFile(filepath.Join(data, wiring.WitnessFile))
	if err != nil || !json.Valid(b) || len(b) < 100 {
		t.Fatalf("witness file: %v %q", err, b)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data)), &rep); err != nil || !rep.OK || rep.Covered != rec.Checkpoint.Size {
		t.Fatalf("verify = %+v, %v (want ok, the seeded checkpoint covering its %d entries)", rep, err, rec.Checkpoint.Size)
	}

	plain := t.TempDir()
	mustCtl(t, "seed", "--data", plain, "--employees", "20", "--year", "2025", "--sign-checkpoint=false")
	s, err = boltstore.Open(backend.BoltPath(plain), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok, _ := audit.LedgerCheckpoint(context.Background(), s); ok {
		t.Fatal("--sign-checkpoint=false signed a checkpoint")
	}
}

// TestSeedSignsWithKinerjadsKeyAndWitness: seed takes kinerjad's
// --audit-key and --witness-file: it signs with that key (none is made in
// DATA) and witnesses where kinerjad will look (DATA's default witness
// stays absent), so that kinerjad started with the same flags trusts the
// checkpoint. Before, seed always used (and made) DATA's key and witness.
func TestSeedSignsWithKinerjadsKeyAndWitness(t *testing.T) {
	data, keys := t.TempDir(), t.TempDir()
	keyPath, witness := filepath.Join(keys, "audit.key"), filepath.Join(keys, "witness.json")
	mustCtl(t, "seed", "--data", data, "--employees", "20", "--year", "2025", "--audit-key", keyPath, "--witness-file", witness)
	for _, p := range []string{filepath.Join(data, wiring.AuditKeyFile), filepath.Join(data, wiring.WitnessFile)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want none (the flags name other files)", p, err)
		}
	}
	if b, err := os.ReadFile(witness); err != nil || !json.Valid(b) || len(b) < 100 {
		t.Fatalf("witness file %s: %v %q", witness, err, b)
	}
	v, err := wiring.ReadVerifierKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := boltstore.Open(backend.BoltPath(data), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec, ok, err := audit.LedgerCheckpoint(context.Background(), s)
	if err != nil || !ok {
		t.Fatalf("no checkpoint: %v %v", ok, err)
	}
	if err := audit.OpenCheckpoint(rec.Checkpoint, v); err != nil {
		t.Fatalf("the checkpoint is not signed by --audit-key: %v", err)
	}
}

// TestSeedSaysSeededLast: "seeded N employees" is the last line the seed
// prints, after the checkpoint is signed and witnessed. It was printed when
// the events were written, minutes before the checkpoint at a province: a
// copy of the data directory taken on seeing it had no checkpoint.
func TestSeedSaysSeededLast(t *testing.T) {
	var out, errb bytes.Buffer
	data := t.TempDir()
	if err := run(context.Background(), []string{"seed", "--data", data, "--employees", "20", "--year", "2025"},
		func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("seed: %v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	signed, seeded, written := -1, -1, -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "seed: signed and witnessed checkpoint"):
			signed = i
		case strings.HasPrefix(l, "seeded 20 employees in "):
			seeded = i
		case strings.HasPrefix(l, "seed: ") && strings.Contains(l, " events written in "):
			written = i
		}
	}
	if written < 0 || signed <= written || seeded != len(lines)-1 {
		t.Fatalf("stderr lines (events written at %d, signed at %d, seeded at %d of %d), want written, then signed, then seeded last:\n%s",
			written, signed, seeded, len(lines), errb.String())
	}
	if !json.Valid(out.Bytes()) {
		t.Fatalf("stdout is not the stats' JSON: %q", out.String())
	}
}

// TestSeedCountsCommits: on bbolt the seed says how many group commits its
// commands shared (each one fsync), after the events-written line: the
// figure that says whether enough commands were in flight. The commits
// are fewer than the commands and at least one.
func TestSeedCountsCommits(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--data", t.TempDir(), "--employees", "20", "--year", "2025", "--sign-checkpoint=false"},
		func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("seed: %v\n%s", err, errb.String())
	}
	var commands, commits int
	var per float64
	found := false
	for _, l := range strings.Split(errb.String(), "\n") {
		if _, err := fmt.Sscanf(l, "seed: %d commands in %d commits (%g a commit)", &commands, &commits, &per); err == nil {
			found = true
		}
	}
	if !found {
		t.Fatalf("no commits line in:\n%s", errb.String())
	}
	if commits < 1 || commits >= commands || per <= 1 {
		t.Errorf("%d commands in %d commits (%.1f a commit): want fewer commits than commands", commands, commits, per)
	}
}
