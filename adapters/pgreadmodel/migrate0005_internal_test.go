package pgreadmodel

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgmigrate"
)

// migrationsFS is the embedded migrations whose file name keep accepts,
// plus extra (name: SQL).
func migrationsFS(t *testing.T, keep func(path string) bool, extra map[string]string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(migrationFiles, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !keep(path) {
			return err
		}
		b, err := fs.ReadFile(migrationFiles, path)
		out[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, sql := range extra {
		out["migrations/"+name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return out
}

// migrationBlockedOn waits until the migration started with done waits for
// a lock on table (pg_locks not granted, pg_stat_activity's
// wait_event_type = 'Lock': the write in flight holds it) and reports
// true; it reports false, with an error, if the migration finishes first
// or is not seen waiting within 30 s.
func migrationBlockedOn(t *testing.T, p *pgxpool.Pool, table string, done chan error, version string) bool {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		var n int
		if err := p.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE NOT l.granted AND l.relation = $1::regclass AND a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return true
		}
		select {
		case err := <-done:
			t.Errorf("migration %s finished (%v) while an skps write was in flight", version, err)
			return false
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Errorf("migration %s not seen waiting for a lock on %s", version, table)
			return false
		}
	}
}

// TestMigration0005CountsTheWritesInFlight: an old build's skps write
// in flight when migration 0005 starts (committed after it) is counted:
// the migration waits for it under its lock of skps. Without the lock the
// backfill's snapshot missed it and the count stayed short for good.
func TestMigration0005CountsTheWritesInFlight(t *testing.T) {
	ctx := context.Background()
	_, p := internalDB(t)
	schema := fmt.Sprintf("rm_counts_0004_%d", os.Getpid())
	if _, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	// The schema as a build before 0005 left it.
	before := migrationsFS(t, func(path string) bool { return path < "migrations/0005" }, nil)
	if v, err := (pgmigrate.Set{Files: before, Owner: "pgreadmodel"}).Apply(ctx, p, schema, nil); err != nil || len(v) != 4 {
		t.Fatalf("migrating to 0004: %v %v", v, err)
	}
	n := names{schema: schema}
	// One SKP committed before, one written by the old build in flight.
	old, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback(ctx)
	for i, tx := range []pgx.Tx{nil, old} {
		r := skpRow(fmt.Sprintf("s%d", i), "U1", "DRAFT", i == 1)
		q := insertSQL(n.t("skps"), skpsColumns, "id")
		args := []any{[]string{r.ID}, []string{r.NIP}, []string{r.Name}, []string{r.UnitID}, []int32{2026}, []int32{1}, []string{r.Status},
			[]int32{1}, []bool{r.Late}, []string{""}, []string{""}, []bool{false}, []int64{0}, []int64{0},
			[]time.Time{r.DraftedAt}, []time.Time{r.UpdatedAt}, []time.Time{r.RecordedAt}}
		if tx == nil {
			_, err = p.Exec(ctx, q, args...)
		} else {
			_, err = tx.Exec(ctx, q, args...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := Migrate(ctx, p, schema); done <- err }()
	early := !migrationBlockedOn(t, p, n.t("skps"), done, "0005")
	if err := old.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !early {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("migration 0005 still waiting after the write committed")
		}
	}
	checkCountsTable(t, p, n, "after 0005 with a write in flight")
}

// TestMigration0006CoversTheWritesInFlight: an old build's skps write in
// flight when migration 0006 starts (committed after it) is in
// skp_coverage: the migration waits for it under its lock of skps, as
// 0005 does.
func TestMigration0006CoversTheWritesInFlight(t *testing.T) {
	ctx := context.Background()
	_, p := internalDB(t)
	schema := fmt.Sprintf("rm_cover_0006_%d", os.Getpid())
	if _, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	before := migrationsFS(t, func(path string) bool { return !strings.Contains(path, "/0006") }, nil)
	if v, err := (pgmigrate.Set{Files: before, Owner: "pgreadmodel"}).Apply(ctx, p, schema, nil); err != nil || len(v) != 5 {
		t.Fatalf("migrating to 0005: %v %v", v, err)
	}
	n := names{schema: schema}
	old, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback(ctx)
	// One SKP committed before, one cancelled one, one in flight; the
	// old build writes skp_counts (0005), not skp_coverage.
	for i, tx := range []pgx.Tx{nil, nil, old} {
		status := "DRAFT"
		if i == 1 {
			status = "CANCELLED"
		}
		r := skpRow(fmt.Sprintf("s%d", i), "U1", status, false)
		q := insertSQL(n.t("skps"), skpsColumns, "id")
		args := []any{[]string{r.ID}, []string{r.NIP}, []string{r.Name}, []string{r.UnitID}, []int32{2026}, []int32{1}, []string{r.Status},
			[]int32{1}, []bool{r.Late}, []string{""}, []string{""}, []bool{false}, []int64{0}, []int64{0},
			[]time.Time{r.DraftedAt}, []time.Time{r.UpdatedAt}, []time.Time{r.RecordedAt}}
		if tx == nil {
			_, err = p.Exec(ctx, countsSQL(n), []string{r.ID}, []string{r.UnitID}, []int32{2026}, []string{r.Status}, []bool{r.Late})
			if err == nil {
				_, err = p.Exec(ctx, q, args...)
			}
		} else {
			_, err = tx.Exec(ctx, countsSQL(n), []string{r.ID}, []string{r.UnitID}, []int32{2026}, []string{r.Status}, []bool{r.Late})
			if err == nil {
				_, err = tx.Exec(ctx, q, args...)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := Migrate(ctx, p, schema); done <- err }()
	early := !migrationBlockedOn(t, p, n.t("skps"), done, "0006")
	if err := old.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !early {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("migration 0006 still waiting after the write committed")
		}
	}
	checkCountsTable(t, p, n, "after 0006 with a write in flight")
	var rows int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM `+n.t("skp_coverage")+` WHERE n > 0`).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("skp_coverage after 0006: %d rows covered (%v), want 2", rows, err)
	}
}
