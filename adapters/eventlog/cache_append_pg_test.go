package eventlog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestCachedKeepsItsOwnAppendsOnPostgres: on PostgreSQL (pgstore reports
// RecordedAt in its AppendResult) the load after this process's own
// append reads nothing of it from the store; an append by another process
// (another Store on the same schema) is still read, and authenticated: the
// same event altered in the database is refused.
func TestCachedKeepsItsOwnAppendsOnPostgres(t *testing.T) {
	open, url, schema := pgSchema(t)
	keys := eventstore.NewKeyring(prefetchSigner.Public())
	c := &counting{Store: open()}
	log := eventlog.NewCached(c, 0)
	log.RequireSignatures(keys)
	other := eventlog.New(open())
	plain := eventlog.New(c.Store)
	plain.RequireSignatures(keys)
	ctx := context.Background()
	same := func(what string) {
		t.Helper()
		want, wrev, _, err := plain.Load(ctx, "unit-a")
		if err != nil {
			t.Fatal(err)
		}
		got, grev, _, err := log.Load(ctx, "unit-a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" || wrev != grev {
			t.Fatalf("%s: cached load differs from the store's (rev %d, store %d) (-store +cached):\n%s", what, grev, wrev, diff)
		}
	}

	if err := appendNext(t, log, "unit-a", "first"); err != nil {
		t.Fatal(err)
	}
	// The first load after the first append authenticates it (and learns
	// that the store signs with a trusted key).
	if _, _, _, err := log.Load(ctx, "unit-a"); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := appendNext(t, log, "unit-a", "mine"); err != nil {
			t.Fatal(err)
		}
		c.read.Store(0)
		evs, rev, ok, err := log.Load(ctx, "unit-a")
		if err != nil || !ok || rev != uint64(i+1) || len(evs) != i+2 {
			t.Fatalf("Load after append %d = %d events, rev %d, %v, %v", i, len(evs), rev, ok, err)
		}
		if n := c.read.Load(); n != 0 {
			t.Fatalf("the load after this process's own append read %d events from PostgreSQL, want 0", n)
		}
	}
	same("own appends")

	// Another process appends: read (one event) and authenticated.
	if err := appendNext(t, other, "unit-a", "theirs"); err != nil {
		t.Fatal(err)
	}
	c.read.Store(0)
	if _, rev, _, err := log.Load(ctx, "unit-a"); err != nil || rev != 5 {
		t.Fatalf("Load after another process's append = rev %d, %v; want 5", rev, err)
	}
	if n := c.read.Load(); n != 1 {
		t.Fatalf("the load after another process's append read %d events, want 1", n)
	}
	same("another process's append")
	// And again this process, onto the other's event.
	if err := appendNext(t, log, "unit-a", "mine again"); err != nil {
		t.Fatal(err)
	}
	c.read.Store(0)
	if _, rev, _, err := log.Load(ctx, "unit-a"); err != nil || rev != 6 || c.read.Load() != 0 {
		t.Fatalf("Load after an own append onto another's = rev %d, %v, %d read; want 6, none read", rev, err, c.read.Load())
	}
	same("own append onto another's")

	// Another process's append, altered in the database before this
	// process reads it, is refused.
	if err := appendNext(t, other, "unit-a", "theirs"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	tag, err := conn.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "events"}.Sanitize()+`
		SET data = replace(convert_from(data, 'UTF8'), 'theirs', 'forged')::bytea WHERE stream = 'unit-a' AND revision = 7`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("tamper: %v, %d rows", err, tag.RowsAffected())
	}
	if _, _, _, err := log.Load(ctx, "unit-a"); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Fatalf("Load of another process's altered append = %v, want ErrIntegrity", err)
	}
}
