package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
)

// TestStartBesideAnIdleTransactionPostgres: another application's session
// on the same database wrote a table of its own and sits idle in its
// transaction, for as long as it likes (issue 15: several applications on
// one PostgreSQL server). kinerjad starts, its read models catch up with
// every write, it stops, and it starts again over events written after
// that transaction began. Before the writers' horizon (pgstore), the
// projections stopped at the idle transaction and never listed the new
// units.
func TestStartBesideAnIdleTransactionPostgres(t *testing.T) {
	url := postgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE another_application (x int)`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO another_application VALUES (1)`); err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	args := []string{"--store", "postgres", "--postgres-url", url, "--migrate"}
	s := startServer(t, data, args...)
	registerLoadRoot(s)
	// The directory search is a projection: it lists an employee once the
	// subscription has delivered the registration.
	listed := func(s *server, n int) func() bool {
		return func() bool {
			var page struct {
				Items []struct {
					NIP string `json:"nip"`
				} `json:"items"`
			}
			r := s.call("hr-admin", hrAdmin, "GET", "/v1/employees?unit="+loadRoot+"&limit=100", nil)
			if r.status != 200 {
				return false // 404 until the directory knows the unit
			}
			return json.Unmarshal(r.body, &page) == nil && len(page.Items) == n
		}
	}
	register := func(s *server, i int) {
		nip := fmt.Sprintf("19920707201707%d%03d", 1+i%2, i+10)
		s.must(201, "hr-admin", hrAdmin, "POST", "/v1/employees", httpapi.CreateEmployeeBody{NIP: nip, Name: "Pegawai " + nip, UnitID: loadRoot,
			Position: httpapi.PositionBody{Kind: "PELAKSANA", Title: "Pelaksana"}}, nil)
	}
	for i := range 5 {
		register(s, i)
	}
	waitFor(t, "the directory to list every employee registered after the idle transaction began", listed(s, 5))
	before := verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	s = startServer(t, data, args...)
	var last answer
	waitFor(t, "/readyz to be ready after a restart beside the idle transaction", func() bool {
		last = s.call("", nil, "GET", "/readyz", nil)
		return last.status == 200
	}, func() string { return string(last.body) })
	register(s, 5)
	waitFor(t, "the directory to list every employee after the restart", listed(s, 6))
	if after := verifyAudit(t, s); after.Size <= before.Size {
		t.Errorf("after the restart the trail has %d leaves, had %d before a write", after.Size, before.Size)
	}
	// The idle transaction is still open: it never held anything back.
	var open bool
	if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id_if_assigned() IS NOT NULL`).Scan(&open); err != nil || !open {
		t.Fatalf("the idle transaction: %v, %v", open, err)
	}
}
