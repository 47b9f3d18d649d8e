package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// faultySink stands for an older binary with a bug: it cannot apply one
// particular event, which the runner then dead-letters.
type faultySink struct {
	projections.Sink
	id [16]byte
}

func (f faultySink) Apply(ctx context.Context, evs ...projections.Event) error {
	for _, e := range evs {
		if e.ID == f.id {
			return projections.Poison(e.Event, errors.New("a fault of an older binary"))
		}
	}
	return f.Sink.Apply(ctx, evs...)
}

func TestPostgresReplayDeadLetters(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	pgFlags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "12", "--year", "2025"}, pgFlags...)...)

	ctx := context.Background()
	l, db, err := openPostgresReadModels(ctx, storeFlags{data: data, store: "postgres", postgresURL: pg}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	// The event the older binary could not apply: the timeline's last.
	var fixed eventstore.Event
	for ev, err := range l.store.ReadAll(ctx, eventstore.ReadAllOptions{Filter: timeline.Filter()}) {
		if err != nil {
			t.Fatal(err)
		}
		fixed = ev
	}
	// And one no binary can apply: a payload that does not decode (written
	// and signed as kinerjad would write it).
	writer, err := backend.OpenStore(ctx, withWriterKey(t, backend.StoreConfig{Name: backend.Postgres, PostgresURL: pg, DataDir: data}))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	bad, err := writer.Append(ctx, "skp-replay-poison", eventstore.NoStream, eventstore.EventData{
		ID: uuid.New(), Type: "skp.rhk_added.v1", SchemaVersion: 1, OccurredAt: time.Now(),
		Actor: eventstore.Actor{ID: "test", Role: "SYSTEM"}, Data: []byte(`{"rhk_id": 12}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	live := db.Sink(timeline.Name)
	if _, err := projections.CatchUp(ctx, l.store, faultySink{Sink: live, id: fixed.ID}, projections.CatchUpOptions{}); err != nil {
		t.Fatal(err)
	}
	itemsAt := func(pos eventstore.Position) int {
		t.Helper()
		var n int
		q := `SELECT count(*) FROM ` + pgx.Identifier{db.Schema(), "timeline_items"}.Sanitize() + ` WHERE position = $1`
		if err := l.pool.QueryRow(ctx, q, int64(pos)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if dl, err := live.DeadLetters(ctx); err != nil || len(dl) != 2 {
		t.Fatalf("dead letters before the replay = %+v, %v; want 2", dl, err)
	}
	if n := itemsAt(fixed.Position); n != 0 {
		t.Fatalf("the dead-lettered event has %d timeline items before the replay", n)
	}

	// Nothing to replay elsewhere: the command changes nothing and succeeds.
	var rep replayReport
	out := mustCtl(t, append([]string{"projections", "replay", "skps"}, pgFlags...)...)
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Before != 0 || rep.Generation != 0 {
		t.Fatalf("replay skps = %s (%v)", out, err)
	}

	// The fixed event now applies; the undecodable one fails again, so the
	// command reports it and exits non-zero.
	out, err = ctl(t, append([]string{"projections", "replay", timeline.Name}, pgFlags...)...)
	if err == nil || !strings.Contains(err.Error(), "1 dead letter(s) remain") {
		t.Fatalf("replay timeline: err = %v, want one remaining", err)
	}
	rep = replayReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("replay report %q: %v", out, err)
	}
	if rep.Before != 2 || rep.Generation < 2 || len(rep.Replayed) != 1 || len(rep.StillFailing) != 1 || len(rep.NewlyFailing) != 0 {
		t.Fatalf("replay report = %+v", rep)
	}
	if rep.Replayed[0].EventID != uuid.UUID(fixed.ID).String() || rep.Replayed[0].Position != fixed.Position {
		t.Errorf("replayed %+v, want the event at %d", rep.Replayed[0], fixed.Position)
	}
	if rep.StillFailing[0].Position != bad.Position || !strings.Contains(rep.StillFailing[0].Error, "decode") {
		t.Errorf("still failing %+v, want the undecodable event at %d", rep.StillFailing[0], bad.Position)
	}
	if n := itemsAt(fixed.Position); n == 0 {
		t.Error("the replayed event is not in the timeline")
	}
	var rows []statusRow
	json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, pgFlags...)...)), &rows)
	for _, r := range rows {
		if r.Name == timeline.Name && (r.DeadLetters != 1 || r.LagEvents != 0) {
			t.Errorf("status after the replay: %+v, want 1 dead letter and no lag", r)
		}
	}
}
