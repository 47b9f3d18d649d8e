package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// TestVerifyChecksReadModelCounts: verify with a PostgreSQL URL also runs
// the read models' count check (`projections check`): a drift of
// skp_counts (a count one too high) fails verify with exit 3 and a message
// naming the repair, while the audit report itself stays ok; --read-models
// =false leaves the check out; after the repair verify passes again.
func TestVerifyChecksReadModelCounts(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "30", "--year", "2025"}, pgFlags...)...)
	mustCtl(t, append([]string{"projections", "rebuild", "skps", "--cover=false"}, pgFlags...)...)
	verify := append([]string{"verify"}, pgFlags...)
	if code, out, stderr := ctlExit(t, nil, verify...); code != 0 {
		t.Fatalf("verify of consistent read models: exit %d, %s, %s", code, out, stderr)
	}

	ctx := context.Background()
	p, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Exec(ctx, `UPDATE kinerja_rm.skp_counts SET n = n + 1 WHERE (unit_id, year, status) IN (SELECT unit_id, year, status FROM kinerja_rm.skp_counts LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := ctlExit(t, nil, verify...)
	if code != 3 || !strings.Contains(stderr, "skp_counts differs") || !strings.Contains(stderr, "projections rebuild skps") {
		t.Fatalf("verify with a count one too high: exit %d, stderr %q", code, stderr)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK {
		t.Fatalf("the audit report beside the drift: %+v %v", rep, err)
	}
	if code, _, stderr := ctlExit(t, nil, append(verify, "--read-models=false")...); code != 0 {
		t.Fatalf("verify --read-models=false: exit %d, %s", code, stderr)
	}
	mustCtl(t, append([]string{"projections", "rebuild", "skps", "--cover=false"}, pgFlags...)...)
	if code, _, stderr := ctlExit(t, nil, verify...); code != 0 {
		t.Fatalf("verify after rebuilding skps: exit %d, %s", code, stderr)
	}

	// skp_coverage (the board's missing employees) is checked too.
	if _, err := p.Exec(ctx, `UPDATE kinerja_rm.skp_coverage SET n = n + 1 WHERE (year, nip) IN (SELECT year, nip FROM kinerja_rm.skp_coverage LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = ctlExit(t, nil, verify...)
	if code != 3 || !strings.Contains(stderr, "skp_coverage differs") {
		t.Fatalf("verify with a coverage one too high: exit %d, stderr %q", code, stderr)
	}
}
