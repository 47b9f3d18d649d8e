package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// needTool returns the path of a program the test needs: skipped when it
// is missing, a failure when KINERJA_REQUIRE_INTEGRATION=1.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("%s is needed (postgresql-client): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

// The PostgreSQL backup docs/operations.md describes: pg_dump of the
// ledger's database (one consistent snapshot), pg_restore into a fresh
// database, and the restored ledger verifies: every chain, writer
// signature and the signed checkpoint, against the stored audit trail.
func TestPostgresDumpRestoreVerifies(t *testing.T) {
	pgDump, pgRestore := needTool(t, "pg_dump"), needTool(t, "pg_restore")
	src := postgresURL(t)
	data := t.TempDir()
	mustCtl(t, "seed", "--store", "postgres", "--postgres-url", src, "--data", data, "--employees", "20", "--year", "2025")
	signCheckpointPG(t, src, data)
	var before audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--store", "postgres", "--postgres-url", src, "--data", data)), &before); err != nil || !before.OK {
		t.Fatalf("verify of the source = %+v, %v", before, err)
	}
	dump := filepath.Join(t.TempDir(), "kinerja.dump")
	if out, err := exec.Command(pgDump, "--format=custom", "--file", dump, "--dbname", src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	dst := postgresURL(t)
	if out, err := exec.Command(pgRestore, "--no-owner", "--exit-on-error", "--dbname", dst, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	var after audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--store", "postgres", "--postgres-url", dst, "--data", data)), &after); err != nil || !after.OK {
		t.Fatalf("verify of the restored database = %+v, %v", after, err)
	}
	if after.Checked != before.Checked || after.RootHash != before.RootHash || after.Checkpoints != before.Checkpoints || after.Checkpoints == 0 {
		t.Errorf("restored: %d events, root %s, %d checkpoints; source: %d, %s, %d", after.Checked, after.RootHash, after.Checkpoints, before.Checked, before.RootHash, before.Checkpoints)
	}
	// The restored database is a ledger the commands and kinerjad use.
	var rows []statusRow
	if err := json.Unmarshal([]byte(mustCtl(t, "projections", "status", "--store", "postgres", "--postgres-url", dst, "--data", data)), &rows); err != nil || len(rows) == 0 {
		t.Errorf("projections status on the restored database = %+v, %v", rows, err)
	}
}
