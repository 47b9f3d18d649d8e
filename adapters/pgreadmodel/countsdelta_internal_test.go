package pgreadmodel

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// writeSKPs writes rows through the projection's flush in tx.
func writeSKPs(t *testing.T, tx pgx.Tx, n names, rows ...skps.Summary) {
	t.Helper()
	st := &skpsStage{n: n, rows: map[string]skps.Summary{}}
	for _, r := range rows {
		st.rows[r.ID] = r
	}
	b := &pgx.Batch{}
	if err := st.flush(b); err != nil {
		t.Fatal(err)
	}
	if err := tx.SendBatch(context.Background(), b).Close(); err != nil {
		t.Fatal(err)
	}
}

func skpRow(id, unit, status string, late bool) skps.Summary {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return skps.Summary{ID: id, NIP: "n" + id, Name: id, UnitID: unit, Year: 2026, Sequence: 1, Status: status, Version: 1, Late: late,
		DraftedAt: at, UpdatedAt: at, RecordedAt: at}
}

// TestCountsWriteOnlyWhatChanges: a batch that rewrites SKPs without moving
// them between counts (a revision) writes no row of skp_counts, and one
// that moves some writes each changed count once. The counts were written
// by two statements, "−" then "+", which updated every touched count row
// twice even when nothing changed (this test saw 4 updates for 0).
func TestCountsWriteOnlyWhatChanges(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	writes := func() (ins, upd int64) {
		t.Helper()
		// The transaction's own statistics, counted as it goes.
		if err := tx.QueryRow(ctx, `SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE schemaname = $1 AND relname = 'skp_counts'`,
			db.opts.Schema).Scan(&ins, &upd); err != nil {
			t.Fatal(err)
		}
		return ins, upd
	}
	writeSKPs(t, tx, db.names, skpRow("s1", "U1", "DRAFT", false), skpRow("s2", "U1", "DRAFT", true), skpRow("s3", "U2", "APPROVED", false))
	ins0, upd0 := writes()
	if ins0 != 2 || upd0 != 0 {
		t.Fatalf("first batch: %d inserts, %d updates of skp_counts, want 2 and 0", ins0, upd0)
	}
	// The same SKPs again (a revision): nothing moves.
	writeSKPs(t, tx, db.names, skpRow("s1", "U1", "DRAFT", false), skpRow("s2", "U1", "DRAFT", true), skpRow("s3", "U2", "APPROVED", false))
	if ins, upd := writes(); ins != ins0 || upd != upd0 {
		t.Fatalf("unchanged batch: %d inserts, %d updates of skp_counts, want none", ins-ins0, upd-upd0)
	}
	// s1 approved, s2 no longer late, s3 unchanged: (U1, DRAFT) and
	// (U1, APPROVED) change, once each.
	writeSKPs(t, tx, db.names, skpRow("s1", "U1", "APPROVED", false), skpRow("s2", "U1", "DRAFT", false), skpRow("s3", "U2", "APPROVED", false))
	if ins, upd := writes(); ins != ins0+1 || upd != upd0+1 {
		t.Fatalf("changing batch: %d inserts, %d updates of skp_counts, want 1 and 1", ins-ins0, upd-upd0)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	checkCountsTable(t, p, db.names, "after the batches")
}
