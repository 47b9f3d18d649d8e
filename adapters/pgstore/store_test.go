package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

func TestMain(m *testing.M) {
	storetest.CrashChildMain(open)
	os.Exit(m.Run())
}

// testURL returns the test database's URL, skipping the test when none is
// configured (or failing it when integration tests are required).
func testURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal("KINERJA_TEST_POSTGRES_URL is not set, and KINERJA_REQUIRE_INTEGRATION=1 requires PostgreSQL tests to run")
		}
		tb.Skip("KINERJA_TEST_POSTGRES_URL is not set: skipping PostgreSQL tests")
	}
	return url
}

// newLocation creates and migrates a fresh schema in the test database and
// returns "URL#schema". The schema is dropped when the test ends.
func newLocation(tb testing.TB) string {
	tb.Helper()
	url := testURL(tb)
	var b [6]byte
	rand.Read(b[:])
	schema := "kinerja_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pgstore.MigrateURL(ctx, url, schema); err != nil {
		tb.Fatalf("MigrateURL(%s) = %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return url + "#" + schema
}

// splitLocation splits "URL#schema".
func splitLocation(loc string) (url, schema string) {
	i := strings.LastIndexByte(loc, '#')
	if i < 0 {
		return loc, pgstore.DefaultSchema
	}
	return loc[:i], loc[i+1:]
}

func open(loc string, cfg storetest.Config) (eventstore.Store, error) {
	url, schema := splitLocation(loc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pgstore.Connect(ctx, url, pgstore.Options{Schema: schema, Limits: cfg.Limits, Signer: cfg.Signer, Keyring: cfg.Keyring})
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, storetest.Backend{
		Name:        "postgres",
		NewLocation: newLocation,
		Open:        open,
		Tamper:      tamper,
		Forge:       forge,
		LateCommit:  lateCommit,
		Crash:       true,
	})
}

// TestConformanceProcessClock runs the suite with recorded_at stamped by
// the process (Options.Now, here time.Now) instead of the database: the
// option must keep every guarantee of the port.
func TestConformanceProcessClock(t *testing.T) {
	testURL(t)
	if testing.Short() {
		t.Skip("-short: the suite runs once, on the database's clock (TestConformance)")
	}
	storetest.Run(t, storetest.Backend{
		Name:        "postgres-process-clock",
		NewLocation: newLocation,
		Open: func(loc string, cfg storetest.Config) (eventstore.Store, error) {
			url, schema := splitLocation(loc)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return pgstore.Connect(ctx, url, pgstore.Options{Schema: schema, Limits: cfg.Limits, Signer: cfg.Signer, Keyring: cfg.Keyring, Now: time.Now})
		},
		Tamper:     tamper,
		Forge:      forge,
		LateCommit: lateCommit,
	})
}

// tamper flips one bit of the stored data of stream@revision (or of its
// reason, for an empty payload), going around the append-only trigger as a
// superuser can: session_replication_role = replica disables ordinary
// triggers for the session.
func tamper(tb testing.TB, loc, stream string, revision uint64) {
	tb.Helper()
	ctx, conn, schema := connect(tb, loc)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		tb.Fatalf("tamper: %v (needs a superuser)", err)
	}
	tag, err := conn.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "events"}.Sanitize()+`
		SET data = CASE WHEN length(data) > 0 THEN set_byte(data, 0, get_byte(data, 0) # 1) ELSE data END,
		    reason = CASE WHEN length(data) > 0 THEN reason ELSE reason || '!' END
		WHERE stream = $1 AND revision = $2`, stream, int64(revision))
	if err != nil {
		tb.Fatalf("tamper: %v", err)
	}
	if tag.RowsAffected() != 1 {
		tb.Fatalf("tamper: no event %s@%d", stream, revision)
	}
}

// forge inserts ev as a superuser would, with a plain INSERT (the
// append-only triggers stop UPDATE and DELETE, not INSERT) at a position
// after every stored one.
func forge(tb testing.TB, loc string, ev eventstore.Event) {
	tb.Helper()
	ctx, conn, schema := connect(tb, loc)
	sig := ev.Signature.Sig
	if sig == nil {
		sig = []byte{}
	}
	_, err := conn.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "events"}.Sanitize()+`
		(position, revision, event_id, schema_version, occurred_at, recorded_at, stream, type, actor_id, actor_role,
		 correlation_id, causation_id, reason, data, hash, writer_key_id, writer_sig)
		SELECT (pg_current_xact_id()::text::bigint << 20) | 1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16`,
		int64(ev.Revision), ev.ID, int32(ev.SchemaVersion), ev.OccurredAt, ev.RecordedAt, ev.Stream, ev.Type, ev.Actor.ID, ev.Actor.Role,
		ev.CorrelationID, ev.CausationID, ev.Reason, ev.Data, ev.Hash[:], ev.Signature.KeyID, sig)
	if err != nil {
		tb.Fatalf("forge: %v", err)
	}
}

// connect opens a connection of its own to loc's database, as a superuser
// around the store, closed (and its 30 s context ended) with the test.
func connect(tb testing.TB, loc string) (context.Context, *pgx.Conn, string) {
	tb.Helper()
	url, schema := splitLocation(loc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return ctx, conn, schema
}

// lateCommit appends ev to stream in a transaction that stays open until
// the returned function commits it.
func lateCommit(tb testing.TB, s eventstore.Store, stream string, ev eventstore.EventData) func() error {
	tb.Helper()
	ps := s.(*pgstore.Store)
	ctx := context.Background()
	tx, err := ps.Pool().Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ps.AppendTx(ctx, tx, stream, eventstore.NoStream, ev); err != nil {
		tx.Rollback(ctx)
		tb.Fatalf("AppendTx(%s) = %v", stream, err)
	}
	done := false
	tb.Cleanup(func() {
		if !done {
			tx.Rollback(ctx)
		}
	})
	return func() error {
		done = true
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit late %s: %w", stream, err)
		}
		return nil
	}
}
