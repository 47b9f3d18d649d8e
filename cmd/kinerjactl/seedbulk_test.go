package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// TestSeedBulkMatchesAppendOnPostgres seeds the same agency into two
// PostgreSQL stores, through Store.Append and through pgstore.Bulk (the
// seed's default path on an empty store), and compares every stream's
// events byte for byte: envelopes, payloads, IDs, revisions, chain hashes
// and writer signatures. The streams are compared, not the global order:
// the seed's workers interleave streams differently from run to run.
func TestSeedBulkMatchesAppendOnPostgres(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, ed25519.SeedSize)
	key[0] = 42
	signer := eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(key))
	ring := eventstore.NewKeyring(signer.Public())
	clock := time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
	cfg := seed.Config{Employees: 60, Seed: 42, Year: 2025}
	open := func() *pgstore.Store {
		url := postgresURL(t)
		if _, err := pgstore.MigrateURL(ctx, url, "kinerja"); err != nil {
			t.Fatal(err)
		}
		s, err := pgstore.Connect(ctx, url, pgstore.Options{Signer: signer, Keyring: ring})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	runOn := func(w eventstore.Store) seed.Stats {
		h := &domain.Handler{Log: eventlog.New(w), Now: func() time.Time { return clock }}
		st, err := seed.Run(ctx, cfg, seed.NewServices(h, policy.Default()))
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
		return st
	}
	normal := open()
	sa := runOn(normal)
	bulkStore := open()
	b, err := pgstore.NewBulk(ctx, bulkStore, pgstore.BulkOptions{ChunkEvents: 500})
	if err != nil {
		t.Fatal(err)
	}
	sb := runOn(b)
	if err := b.Close(); err != nil {
		t.Fatalf("bulk Close = %v", err)
	}
	sa.Elapsed, sb.Elapsed = 0, 0
	if fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Errorf("stats differ:\nappend %+v\nbulk   %+v", sa, sb)
	}
	want, got := seededStreams(t, normal, ring), seededStreams(t, bulkStore, ring)
	if len(got) != len(want) || len(want) < 100 {
		t.Fatalf("bulk wrote %d streams, append %d", len(got), len(want))
	}
	events := 0
	for name, w := range want {
		if !slices.Equal(w, got[name]) {
			t.Fatalf("stream %s differs:\nappend %q\nbulk   %q", name, w, got[name])
		}
		events += len(w)
	}
	if events != sb.Events {
		t.Fatalf("%d events compared, the seed wrote %d", events, sb.Events)
	}
}

// seededStreams reads the whole log authenticated (every writer
// signature checked) and returns each stream's events in a canonical
// rendering.
func seededStreams(t *testing.T, s *pgstore.Store, ring *eventstore.Keyring) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for e, err := range eventstore.NewAuthenticatedStore(s, ring).ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatalf("authenticated read: %v", err)
		}
		out[e.Stream] = append(out[e.Stream], fmt.Sprintf("%d %s %s v%d %s %s/%s %q %q %q %x %x %s %x",
			e.Revision, e.ID, e.Type, e.SchemaVersion, e.OccurredAt.UTC().Format(time.RFC3339Nano), e.Actor.ID, e.Actor.Role,
			e.CorrelationID, e.CausationID, e.Reason, e.Data, e.Hash, e.Signature.KeyID, e.Signature.Sig))
	}
	return out
}

// TestSeedBulkVerifiesOnPostgres runs the command as an operator does:
// kinerjactl seed on an empty PostgreSQL store (the bulk path), which
// signs and witnesses a checkpoint, then kinerjactl verify: every chain,
// writer signature and the checkpoint.
func TestSeedBulkVerifiesOnPostgres(t *testing.T) {
	url, data := postgresURL(t), t.TempDir()
	var out strings.Builder
	if err := run(context.Background(), []string{"seed", "--store", "postgres", "--postgres-url", url, "--data", data, "--employees", "20", "--year", "2025"},
		func(string) string { return "" }, &strings.Builder{}, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "seed: signed and witnessed checkpoint") {
		t.Fatalf("seed signed no checkpoint:\n%s", out.String())
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--store", "postgres", "--postgres-url", url, "--data", data)), &rep); err != nil || !rep.OK || rep.Covered == 0 {
		t.Fatalf("verify after the bulk seed = %+v, %v", rep, err)
	}
}

// TestSeedBehindAnOpenTransactionOnPostgres: a store whose only event is
// past the horizon (a writer's transaction, holding the events lock, is
// still open) has Head 0 but is not empty: the seed appends as on any
// store with events instead of failing with pgstore.ErrBulkNotEmpty.
func TestSeedBehindAnOpenTransactionOnPostgres(t *testing.T) {
	ctx := context.Background()
	url, data := postgresURL(t), t.TempDir()
	if _, err := pgstore.MigrateURL(ctx, url, "kinerja"); err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.Connect(ctx, url, pgstore.Options{FinalityWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LockTx(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "other", eventstore.NoStream, eventstore.EventData{ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"}, Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Head(ctx); err != nil || h != 0 {
		t.Fatalf("Head behind the open transaction = %v, %v; want 0", h, err)
	}
	ended := make(chan struct{})
	go func() { // the writer ends after the seed read its Head (FinalityWait 5 s)
		defer close(ended)
		time.Sleep(7 * time.Second)
		_ = tx.Rollback(ctx)
	}()
	defer func() { <-ended }() // before conn.Close
	// The seed's checkpoint then refuses the log (the test's event is not
	// signed by a key it knows); what matters here is that the seed wrote.
	var out, stderr strings.Builder
	err = run(ctx, []string{"seed", "--store", "postgres", "--postgres-url", url, "--data", data, "--employees", "10", "--year", "2025"},
		func(string) string { return "" }, &stderr, &out)
	if errors.Is(err, pgstore.ErrBulkNotEmpty) || !strings.Contains(stderr.String()+out.String(), "events written") {
		t.Fatalf("seed: %v\n%s%s", err, out.String(), stderr.String())
	}
}
