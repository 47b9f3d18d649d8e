package pgstore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgtxhook"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestAppendReportsRecordedAt: every way an append reaches the database
// (the single-event statement, the many-events statement, a group commit
// of racing appends, an append carrying a pgtxhook statement) reports in
// its result the recorded_at its events were stored with, read back from
// the RETURNING of the append statement itself; a repetition of an
// append reports the first one's; AppendTx reports none (its transaction
// may roll back). eventlog.Cached keeps a process's own appends only
// with it.
func TestAppendReportsRecordedAt(t *testing.T) {
	for _, clock := range []string{"database", "process"} {
		t.Run(clock, func(t *testing.T) {
			var opts Options
			if clock == "process" {
				var mu sync.Mutex
				at := time.Date(2026, 3, 27, 14, 0, 0, 123456789, time.UTC)
				opts.Now = func() time.Time {
					mu.Lock()
					defer mu.Unlock()
					at = at.Add(1500 * time.Nanosecond)
					return at
				}
			}
			s := openTest(t, opts)
			ctx := tctx(t)
			// check reads the events of res's append back and compares.
			check := func(what, stream string, res eventstore.AppendResult, n int) {
				t.Helper()
				if res.RecordedAt.IsZero() {
					t.Fatalf("%s: AppendResult.RecordedAt is zero", what)
				}
				if res.RecordedAt.Location() != time.UTC {
					t.Errorf("%s: RecordedAt %v not in UTC", what, res.RecordedAt)
				}
				var got []eventstore.Event
				for e, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: res.Revision + 1 - uint64(n)}) {
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, e)
				}
				if len(got) != n {
					t.Fatalf("%s: read %d events back, want %d", what, len(got), n)
				}
				for _, e := range got {
					if !e.RecordedAt.Equal(res.RecordedAt) {
						t.Errorf("%s: event %d stored with recorded_at %v, AppendResult says %v", what, e.Revision, e.RecordedAt, res.RecordedAt)
					}
				}
				if got[n-1].Position != res.Position || got[n-1].Hash != res.Hash {
					t.Errorf("%s: result %+v does not describe the last event stored", what, res)
				}
			}

			one := evs(1)
			res := mustAppend(t, s, "skp-1", eventstore.NoStream, one...)
			check("single event", "skp-1", res, 1)
			again := mustAppend(t, s, "skp-1", eventstore.NoStream, one...)
			if !sameResult(again, res) {
				t.Errorf("repeat of the single event = %+v, want the first result %+v", again, res)
			}

			three := evs(3)
			res = mustAppend(t, s, "skp-1", eventstore.Exact(0), three...)
			check("three events", "skp-1", res, 3)
			again = mustAppend(t, s, "skp-1", eventstore.Exact(0), three...)
			if !sameResult(again, res) {
				t.Errorf("repeat of three events = %+v, want the first result %+v", again, res)
			}

			// Racing appends share group-commit statements.
			var wg sync.WaitGroup
			results := make([]eventstore.AppendResult, 32)
			for i := range results {
				wg.Go(func() {
					results[i] = mustAppend(t, s, fmt.Sprintf("emp-%d", i), eventstore.NoStream, evs(1+i%3)...)
				})
			}
			wg.Wait()
			for i, r := range results {
				check(fmt.Sprintf("racing append %d", i), fmt.Sprintf("emp-%d", i), r, 1+i%3)
			}
			if st := s.Stats(); st.Statements >= st.Appends {
				t.Logf("no batch formed (%d statements for %d appends): the batch path went untested this run", st.Statements, st.Appends)
			}

			// An append carrying a statement for its transaction.
			hctx := pgtxhook.With(ctx, &pgtxhook.Statement{SQL: `SELECT 1`})
			res, err := s.Append(hctx, "skp-2", eventstore.NoStream, evs(2)...)
			if err != nil {
				t.Fatal(err)
			}
			check("hooked", "skp-2", res, 2)

			// AppendTx: none.
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			txRes, err := s.AppendTx(ctx, tx, "skp-3", eventstore.NoStream, evs(1)...)
			if err != nil {
				t.Fatal(err)
			}
			if !txRes.RecordedAt.IsZero() {
				t.Errorf("AppendTx reported RecordedAt %v, want zero (the transaction may roll back)", txRes.RecordedAt)
			}
		})
	}
}

func sameResult(a, b eventstore.AppendResult) bool {
	return a.Revision == b.Revision && a.Position == b.Position && a.Hash == b.Hash && a.RecordedAt.Equal(b.RecordedAt)
}
