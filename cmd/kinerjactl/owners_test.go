package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/pglease"
)

type idle struct{}

func (idle) Start(context.Context) error { return nil }
func (idle) Stop()                       {}

// TestProjectionsStatusShowsOwners: with a shared projector's member
// holding some partitions (here a pglease member on the same group, which
// is what `projector --share` runs), `projections status` names the owner
// of each; the process manager's row is the control partition's.
func TestProjectionsStatusShowsOwners(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	var rows []statusRow
	json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, pgFlags...)...)), &rows)
	for _, r := range rows {
		if r.Owner != "" {
			t.Errorf("owner before any projector shares: %+v", r)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m, err := pglease.Join(ctx, pglease.Config{URL: pg, Group: "kinerja_rm", Instance: "node-7", Partitions: []string{"audit", "control"},
		New: func(string) (pglease.Partition, error) { return idle{}, nil }, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); len(m.Owned()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("member owns %v", m.Owned())
		}
	}
	json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, pgFlags...)...)), &rows)
	got := map[string]string{}
	for _, r := range rows {
		got[r.Name] = r.Owner
	}
	if got["audit"] != "node-7" || got["deadlines"] != "node-7" || got["skps"] != "" {
		t.Errorf("owners = %v, want audit and deadlines (control) by node-7, skps by none", got)
	}
}
