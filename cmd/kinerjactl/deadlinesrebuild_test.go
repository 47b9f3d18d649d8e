package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// `kinerjactl projections rebuild deadlines` rebuilds the process
// manager's state from the log and fires nothing twice: after a rebuild
// the same items wait (same keys and firing IDs), the checkpoint is the
// head, and a scheduler round at the same instant fires nothing more —
// no reminder queued again, no finality recorded again.
func TestDeadlinesRebuildFiresNothingTwice(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	// Unsigned: the seed's checkpoint would be the last event, past the
	// process manager's filter, and its checkpoint is compared with the head.
	mustCtl(t, append([]string{"seed", "--employees", "12", "--year", "2025", "--sign-checkpoint=false"}, pgFlags...)...)

	ctx := context.Background()
	l, err := openLedger(ctx, storeFlags{data: data, store: "postgres", postgresURL: pg}, os.Stderr, readLedger)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b, err := deadlinestore.OpenPostgres(ctx, pool, "")
	if err != nil {
		t.Fatal(err)
	}
	// kinerjad's process manager with the default flags, caught up.
	sink := deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: l.authed}, 0, deadlines.DefaultSettings(policy.Default())))
	if _, err := projections.CatchUp(ctx, l.authed, sink, projections.CatchUpOptions{}); err != nil {
		t.Fatal(err)
	}
	// Far enough on that every item of 2025 is due.
	now := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	finalised := 0
	tick := func() int {
		t.Helper()
		s, err := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Now: func() time.Time { return now }, Batch: 100_000,
			Finalise: func(context.Context, deadlines.Item) error { mu.Lock(); finalised++; mu.Unlock(); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waiting := func() []string {
		t.Helper()
		due, err := b.Due(ctx, now.AddDate(10, 0, 0), 100_000)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range due {
			ids = append(ids, it.FireID())
		}
		slices.Sort(ids)
		return ids
	}
	before := waiting()
	if len(before) == 0 {
		t.Fatal("the seeded ledger gives the process manager nothing to do")
	}
	fired := tick()
	outbox, err := b.Outbox(ctx, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if fired == 0 || len(outbox) == 0 {
		t.Fatalf("the first round fired %d, queued %d", fired, len(outbox))
	}
	finalisedBefore := finalised
	after := waiting() // not yet fired (not yet due at now), by ID

	out := mustCtl(t, append([]string{"projections", "rebuild", "deadlines"}, pgFlags...)...)
	var rep deadlinesRebuildReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Projection != deadlines.Name || rep.Events == 0 {
		t.Fatalf("rebuild printed %q (%v)", out, err)
	}
	head, err := l.store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp, _ := b.Checkpoint(ctx); cp != head || rep.Checkpoint != head {
		t.Errorf("checkpoint %d (reported %d) after the rebuild, head %d", cp, rep.Checkpoint, head)
	}
	if got := waiting(); !slices.Equal(got, after) {
		t.Errorf("after the rebuild %d items wait, before it %d: the rebuild changed what waits", len(got), len(after))
	}
	if n := tick(); n != 0 || finalised != finalisedBefore {
		t.Errorf("after the rebuild a round fired %d again (finalise %d → %d)", n, finalisedBefore, finalised)
	}
	if again, _ := b.Outbox(ctx, 1_000_000); len(again) != len(outbox) {
		t.Errorf("outbox %d after the rebuild, %d before", len(again), len(outbox))
	}
	// Bad flags are usage errors and change nothing.
	if _, err := ctl(t, append([]string{"projections", "rebuild", "deadlines", "--zone", "CET"}, pgFlags...)...); err == nil {
		t.Error("--zone CET accepted")
	}
	if _, err := ctl(t, append([]string{"projections", "rebuild", "deadlines", "--overdue-every-days", "0"}, pgFlags...)...); err == nil {
		t.Error("--overdue-every-days 0 accepted")
	}
}
