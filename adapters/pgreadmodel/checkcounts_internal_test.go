package pgreadmodel

import (
	"context"
	"fmt"
	"testing"
)

// TestCheckCountsFindsDrift: an skps row changed around the counts (as a
// build before 0005 writes them) is reported by CheckCounts, with the
// counts it should have; consistent counts report nothing.
func TestCheckCountsFindsDrift(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writeSKPs(t, tx, db.names, skpRow("s1", "U1", "DRAFT", false), skpRow("s2", "U1", "DRAFT", true))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if d, err := db.CheckCounts(ctx); err != nil || len(d) != 0 {
		t.Fatalf("consistent counts: %v %v", d, err)
	}
	// Around the counts: a row moved to another unit and made late.
	if _, err := p.Exec(ctx, `UPDATE `+db.names.t("skps")+` SET unit_id = 'U2', late = true WHERE id = 's1'`); err != nil {
		t.Fatal(err)
	}
	got, err := db.CheckCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []CountDrift{
		{UnitID: "U1", Year: 2026, Status: "DRAFT", WantN: 1, WantLate: 1, GotN: 2, GotLate: 1},
		{UnitID: "U2", Year: 2026, Status: "DRAFT", WantN: 1, WantLate: 1, GotN: 0, GotLate: 0},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("CheckCounts = %+v, want %+v", got, want)
	}
}

// TestCheckCoverageFindsDrift: an skps row cancelled, or moved to another
// NIP, around skp_coverage is reported by CheckCoverage with the count it
// should have; consistent coverage reports nothing.
func TestCheckCoverageFindsDrift(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writeSKPs(t, tx, db.names, skpRow("s1", "U1", "DRAFT", false), skpRow("s2", "U1", "CANCELLED", true))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if d, err := db.CheckCoverage(ctx); err != nil || len(d) != 0 {
		t.Fatalf("consistent coverage: %v %v", d, err)
	}
	var nip string
	if err := p.QueryRow(ctx, `SELECT nip FROM `+db.names.t("skps")+` WHERE id = 's1'`).Scan(&nip); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `UPDATE `+db.names.t("skps")+` SET status = 'CANCELLED' WHERE id = 's1'`); err != nil {
		t.Fatal(err)
	}
	got, err := db.CheckCoverage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []CoverageDrift{{Year: 2026, NIP: nip, Want: 0, Got: 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("CheckCoverage = %+v, want %+v", got, want)
	}
}
