package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestProjectionsCheckFindsCountDrift: after a rebuild the SKP counts are
// the SKP rows' aggregate and `projections check` exits 0; an SKP row
// written around the counts (as a build before read-model migration 0005
// left running after it writes them) makes it exit 3 and name the count,
// and a rebuild of skps repairs it.
func TestProjectionsCheckFindsCountDrift(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "30", "--year", "2025"}, pgFlags...)...)
	mustCtl(t, append([]string{"projections", "rebuild", "skps", "--cover=false"}, pgFlags...)...)
	var r checkReport
	if err := json.Unmarshal([]byte(mustCtl(t, "projections", "check", "--postgres-url", pg)), &r); err != nil || !r.OK || len(r.SKPCounts) != 0 {
		t.Fatalf("check after a rebuild: %+v %v", r, err)
	}
	ctx := context.Background()
	p, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var n int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM kinerja_rm.skps`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("%d SKP rows projected (%v)", n, err)
	}
	if _, err := p.Exec(ctx, `INSERT INTO kinerja_rm.skps SELECT year, sequence, version, late, drafted_on_behalf, revision, position,
		drafted_at, updated_at, recorded_at, id || '-old-build', nip, name, 'UNIT-OF-AN-OLD-BUILD', status, appraiser_nip, appraiser_superior_nip
		FROM kinerja_rm.skps ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := ctlExit(t, nil, "projections", "check", "--postgres-url", pg)
	if code != 3 || !strings.Contains(stderr, "projections rebuild skps") {
		t.Fatalf("check with a row around the counts: exit %d, stderr %q", code, stderr)
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.OK || len(r.SKPCounts) != 1 ||
		r.SKPCounts[0].UnitID != "UNIT-OF-AN-OLD-BUILD" || r.SKPCounts[0].WantN != 1 || r.SKPCounts[0].GotN != 0 {
		t.Fatalf("check with a row around the counts: %+v %v", r, err)
	}
	if _, err := p.Exec(ctx, `DELETE FROM kinerja_rm.skps WHERE id LIKE '%-old-build'`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `UPDATE kinerja_rm.skp_counts SET n = n + 1 WHERE (unit_id, year, status) IN (SELECT unit_id, year, status FROM kinerja_rm.skp_counts LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := ctlExit(t, nil, "projections", "check", "--postgres-url", pg); code != 3 {
		t.Fatalf("check with a count one too high: exit %d", code)
	}
	mustCtl(t, append([]string{"projections", "rebuild", "skps", "--cover=false"}, pgFlags...)...)
	// A coverage row one too high (an employee counted as covered twice)
	// is found as well (read-model migration 0006).
	if _, err := p.Exec(ctx, `UPDATE kinerja_rm.skp_coverage SET n = n + 1 WHERE (year, nip) IN (SELECT year, nip FROM kinerja_rm.skp_coverage ORDER BY 1, 2 LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = ctlExit(t, nil, "projections", "check", "--postgres-url", pg)
	if err := json.Unmarshal([]byte(out), &r); code != 3 || err != nil || r.OK || len(r.SKPCounts) != 0 || len(r.SKPCoverage) != 1 ||
		r.SKPCoverage[0].Got != r.SKPCoverage[0].Want+1 {
		t.Fatalf("check with a coverage one too high: exit %d, %+v %v", code, r, err)
	}
	mustCtl(t, append([]string{"projections", "rebuild", "skps", "--cover=false"}, pgFlags...)...)
	if code, out, _ := ctlExit(t, nil, "projections", "check", "--postgres-url", pg); code != 0 {
		t.Fatalf("check after rebuilding skps: exit %d %s", code, out)
	}
}
