package storetest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

func concurrencyCases() []testCase {
	return []testCase{
		{"concurrency/racing_losers_learn_the_winner", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "hot-1", eventstore.NoStream, evs(1)...)
			const racers = 16
			var wins atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := s.Append(ctx(t), "hot-1", eventstore.Exact(0), evs(2)...)
					var w *eventstore.WrongExpectedRevisionError
					switch {
					case err == nil:
						wins.Add(1)
					case errors.As(err, &w):
						if exp, _ := w.Expected.Revision(); exp != 0 || !w.ActualExists || w.Actual != 2 {
							t.Errorf("loser's error = %+v, want expected 0, actual 2", w)
						}
					default:
						t.Errorf("Append = %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d winners, want exactly 1", wins.Load())
			}
			assertStreamLen(t, s, "hot-1", 3)
			verifyStream(t, s, "hot-1")
		}},
		{"concurrency/racing_exact_revision_many_rounds", func(t *testing.T, h *harness) {
			s := h.store()
			const racers, rounds = 16, 20
			mustAppend(t, s, "hot-1", eventstore.NoStream, evs(1)...)
			for round := range rounds {
				var wins atomic.Int32
				var wg sync.WaitGroup
				for range racers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := s.Append(ctx(t), "hot-1", eventstore.Exact(uint64(round)), evs(1)...)
						if err == nil {
							wins.Add(1)
						} else if !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
							t.Errorf("Append = %v", err)
						}
					}()
				}
				wg.Wait()
				if wins.Load() != 1 {
					t.Fatalf("round %d: %d winners, want 1", round, wins.Load())
				}
			}
			assertStreamLen(t, s, "hot-1", rounds+1)
			verifyStream(t, s, "hot-1")
		}},
		{"concurrency/racing_no_stream_one_winner", func(t *testing.T, h *harness) {
			s := h.store()
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Append(ctx(t), "new-1", eventstore.NoStream, evs(3)...)
					if err == nil {
						wins.Add(1)
					} else if !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
						t.Errorf("Append = %v", err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d winners, want 1", wins.Load())
			}
			assertStreamLen(t, s, "new-1", 3)
		}},
		{"concurrency/racing_any_all_succeed", func(t *testing.T, h *harness) {
			// Any never fails for a writer in one process: the store retries
			// (or serialises) internally. Every append lands exactly once.
			s := h.store()
			const writers, each = 16, 10
			var wg sync.WaitGroup
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						if _, err := s.Append(ctx(t), "hot-any", eventstore.Any, evs(1)...); err != nil {
							t.Errorf("Append(Any) = %v", err)
						}
					}
				}()
			}
			wg.Wait()
			assertStreamLen(t, s, "hot-any", writers*each)
			verifyStream(t, s, "hot-any")
		}},
		{"concurrency/distinct_streams_all_land_once", func(t *testing.T, h *harness) {
			s := h.store()
			const writers, each = 16, 25
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stream := fmt.Sprintf("w-%02d", w)
					for i := range each {
						exp := eventstore.Exact(uint64(i - 1))
						if i == 0 {
							exp = eventstore.NoStream
						}
						if _, err := s.Append(ctx(t), stream, exp, evs(1)...); err != nil {
							t.Errorf("Append(%s, %s) = %v", stream, exp, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			all := mustReadAll(t, s, eventstore.ReadAllOptions{})
			if len(all) != writers*each {
				t.Fatalf("ReadAll = %d events, want %d", len(all), writers*each)
			}
			next := map[string]uint64{}
			seen := map[eventstoreID]bool{}
			for _, e := range all {
				if e.Revision != next[e.Stream] {
					t.Fatalf("ReadAll gives %s revision %d before revision %d", e.Stream, e.Revision, next[e.Stream])
				}
				next[e.Stream]++
				if seen[eventstoreID(e.ID)] {
					t.Fatalf("event %s twice in ReadAll", e.ID)
				}
				seen[eventstoreID(e.ID)] = true
			}
			verifyAll(t, s)
		}},
	}
}

type eventstoreID [16]byte

func readStreamCases() []testCase {
	fill := func(t *testing.T, h *harness) eventstore.Store {
		s := h.store()
		mustAppend(t, s, "acct-1", eventstore.NoStream, evs(4)...)
		mustAppend(t, s, "acct-2", eventstore.NoStream, evs(1)...)
		mustAppend(t, s, "acct-1", eventstore.Exact(3), evs(6)...)
		return s
	}
	tests := []struct {
		name string
		opts eventstore.ReadStreamOptions
		want []uint64
	}{
		{"forwards_all", eventstore.ReadStreamOptions{}, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"forwards_from", eventstore.ReadStreamOptions{From: 7}, []uint64{7, 8, 9}},
		{"forwards_limit", eventstore.ReadStreamOptions{Limit: 3}, []uint64{0, 1, 2}},
		{"forwards_from_limit", eventstore.ReadStreamOptions{From: 4, Limit: 2}, []uint64{4, 5}},
		{"forwards_past_end", eventstore.ReadStreamOptions{From: 10}, nil},
		{"backwards_from_end", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End}, []uint64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"backwards_last_one", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1}, []uint64{9}},
		{"backwards_from_limit", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 5, Limit: 3}, []uint64{5, 4, 3}},
		{"backwards_from_past_end", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 50, Limit: 2}, []uint64{9, 8}},
		{"backwards_from_zero", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 0}, []uint64{0}},
	}
	var cases []testCase
	for _, tt := range tests {
		cases = append(cases, testCase{"read_stream/" + tt.name, func(t *testing.T, h *harness) {
			s := fill(t, h)
			got := mustReadStream(t, s, "acct-1", tt.opts)
			if diff := cmp.Diff(tt.want, revisions(got)); diff != "" && !(len(tt.want) == 0 && len(got) == 0) {
				t.Errorf("ReadStream(%+v) revisions (-want +got):\n%s", tt.opts, diff)
			}
			for _, e := range got {
				if e.Stream != "acct-1" {
					t.Errorf("event of stream %s in a read of acct-1", e.Stream)
				}
			}
		}})
	}
	cases = append(cases,
		testCase{"read_stream/missing_stream", func(t *testing.T, h *harness) {
			s := fill(t, h)
			assertNotFound(t, s, "acct-404")
		}},
		testCase{"read_stream/invalid_name", func(t *testing.T, h *harness) {
			s := h.store()
			if _, err := readStream(t, s, "$bad name", eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrInvalidStreamName) {
				t.Errorf("ReadStream(bad name) = %v, want ErrInvalidStreamName", err)
			}
		}},
		testCase{"read_stream/early_break_releases_the_store", func(t *testing.T, h *harness) {
			s := fill(t, h)
			for range 3 {
				for _, err := range s.ReadStream(ctx(t), "acct-1", eventstore.ReadStreamOptions{}) {
					if err != nil {
						t.Fatal(err)
					}
					break
				}
				for _, err := range s.ReadAll(ctx(t), eventstore.ReadAllOptions{}) {
					if err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			mustAppend(t, s, "acct-1", eventstore.Exact(9), evs(1)...)
			assertStreamLen(t, s, "acct-1", 11)
		}},
		testCase{"read_stream/positions_match_read_all", func(t *testing.T, h *harness) {
			s := fill(t, h)
			byID := map[eventstoreID]eventstore.Event{}
			for _, e := range mustReadAll(t, s, eventstore.ReadAllOptions{}) {
				byID[eventstoreID(e.ID)] = e
			}
			for _, e := range mustReadStream(t, s, "acct-1", eventstore.ReadStreamOptions{}) {
				a, ok := byID[eventstoreID(e.ID)]
				if !ok || a.Position != e.Position || a.Hash != e.Hash || !a.RecordedAt.Equal(e.RecordedAt) {
					t.Errorf("event %s: stream read %d/%s, ReadAll %+v", e.ID, e.Position, e.Hash, a)
				}
			}
		}},
	)
	return cases
}

func asOfCases() []testCase {
	// record appends three batches with pauses, returning each batch's
	// RecordedAt (of its last event).
	record := func(t *testing.T, h *harness) (eventstore.Store, []time.Time) {
		s := h.store()
		var marks []time.Time
		for i := range 3 {
			if i > 0 {
				time.Sleep(5 * time.Millisecond)
			}
			mustAppend(t, s, "skp-1", eventstore.Any, evs(2)...)
			got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1})
			marks = append(marks, got[0].RecordedAt)
		}
		if !marks[0].Before(marks[1]) || !marks[1].Before(marks[2]) {
			t.Fatalf("RecordedAt of the batches not increasing: %v", marks)
		}
		return s, marks
	}
	return []testCase{
		{"as_of/sees_only_events_recorded_by_then", func(t *testing.T, h *harness) {
			s, marks := record(t, h)
			for i, m := range marks {
				got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{AsOf: m})
				if len(got) != 2*(i+1) {
					t.Errorf("as of batch %d: %d events, want %d", i, len(got), 2*(i+1))
				}
				for _, e := range got {
					if e.RecordedAt.After(m) {
						t.Errorf("as of %v: event recorded at %v", m, e.RecordedAt)
					}
				}
			}
		}},
		{"as_of/before_first_event_is_not_found", func(t *testing.T, h *harness) {
			s, marks := record(t, h)
			first := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{Limit: 1})[0]
			_, err := readStream(t, s, "skp-1", eventstore.ReadStreamOptions{AsOf: first.RecordedAt.Add(-time.Microsecond)})
			if !errors.Is(err, eventstore.ErrStreamNotFound) {
				t.Errorf("ReadStream as of before the first event = %v, want ErrStreamNotFound", err)
			}
			_ = marks
		}},
		{"as_of/exact_recorded_at_is_included", func(t *testing.T, h *harness) {
			s, _ := record(t, h)
			all := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})
			for i, e := range all {
				got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{AsOf: e.RecordedAt})
				if len(got) < i+1 {
					t.Errorf("as of event %d's own RecordedAt: %d events, want at least %d", i, len(got), i+1)
				}
			}
		}},
		{"as_of/backwards_and_limit", func(t *testing.T, h *harness) {
			s, marks := record(t, h)
			got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{AsOf: marks[1], Direction: eventstore.Backwards, From: eventstore.End, Limit: 1})
			if len(got) != 1 || got[0].Revision != 3 {
				t.Errorf("last event as of batch 1 = %v, want revision 3", revisions(got))
			}
		}},
		{"as_of/future_sees_everything", func(t *testing.T, h *harness) {
			s, _ := record(t, h)
			got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{AsOf: time.Now().Add(time.Hour)})
			if len(got) != 6 {
				t.Errorf("as of the future: %d events, want 6", len(got))
			}
		}},
	}
}

func readAllCases() []testCase {
	fill := func(t *testing.T, h *harness) (eventstore.Store, []eventstore.AppendResult) {
		s := h.store()
		var res []eventstore.AppendResult
		res = append(res, mustAppend(t, s, "skp-1", eventstore.NoStream, ev("skp.drafted.v1", `{}`), ev("skp.rhk_added.v1", `{}`)))
		res = append(res, mustAppend(t, s, "unit-1", eventstore.NoStream, ev("unit.registered.v1", `{}`)))
		res = append(res, mustAppend(t, s, "skp-2", eventstore.NoStream, ev("skp.drafted.v1", `{}`)))
		res = append(res, mustAppend(t, s, "skp-1", eventstore.Exact(1), ev("skp.submitted.v1", `{}`)))
		res = append(res, mustAppend(t, s, "employee-1", eventstore.NoStream, ev("employee.registered.v1", `{}`)))
		return s, res
	}
	streamsOf := func(events []eventstore.Event) []string {
		var out []string
		for _, e := range events {
			out = append(out, fmt.Sprintf("%s@%d", e.Stream, e.Revision))
		}
		return out
	}
	return []testCase{
		{"read_all/everything_in_commit_order", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			got := mustReadAll(t, s, eventstore.ReadAllOptions{})
			want := []string{"skp-1@0", "skp-1@1", "unit-1@0", "skp-2@0", "skp-1@2", "employee-1@0"}
			if diff := cmp.Diff(want, streamsOf(got)); diff != "" {
				t.Errorf("ReadAll (-want +got):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Position <= got[i-1].Position {
					t.Errorf("position %d after %d", got[i].Position, got[i-1].Position)
				}
			}
		}},
		{"read_all/after_is_exclusive", func(t *testing.T, h *harness) {
			s, res := fill(t, h)
			got := mustReadAll(t, s, eventstore.ReadAllOptions{After: res[1].Position})
			if diff := cmp.Diff([]string{"skp-2@0", "skp-1@2", "employee-1@0"}, streamsOf(got)); diff != "" {
				t.Errorf("ReadAll after unit-1 (-want +got):\n%s", diff)
			}
		}},
		{"read_all/after_the_last_possible_position", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			if got := mustReadAll(t, s, eventstore.ReadAllOptions{After: math.MaxUint64}); len(got) != 0 {
				t.Errorf("ReadAll after the largest position = %v, want nothing (the position must not wrap)", streamsOf(got))
			}
			if p, ok := s.(eventstore.Pager); ok {
				if page, _, err := p.ReadPage(ctx(t), math.MaxUint64, 10); err != nil || len(page) != 0 {
					t.Errorf("ReadPage after the largest position = %v, %v; want nothing", streamsOf(page), err)
				}
			}
			col := subscribe(t, s, eventstore.SubscribeOptions{After: math.MaxUint64})
			time.Sleep(100 * time.Millisecond)
			if got := col.snapshot(); len(got) != 0 {
				t.Errorf("SubscribeAll after the largest position delivered %v", streamsOf(got))
			}
		}},
		{"read_all/limit", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			got := mustReadAll(t, s, eventstore.ReadAllOptions{Limit: 2})
			if diff := cmp.Diff([]string{"skp-1@0", "skp-1@1"}, streamsOf(got)); diff != "" {
				t.Errorf("ReadAll limit 2 (-want +got):\n%s", diff)
			}
		}},
		{"read_all/paging_by_position_covers_everything", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			var got []eventstore.Event
			after := eventstore.Position(0)
			for {
				page := mustReadAll(t, s, eventstore.ReadAllOptions{After: after, Limit: 2})
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Position
			}
			if diff := cmp.Diff(streamsOf(mustReadAll(t, s, eventstore.ReadAllOptions{})), streamsOf(got)); diff != "" {
				t.Errorf("paged ReadAll differs from one read (-want +got):\n%s", diff)
			}
		}},
		{"read_all/stream_prefix_filter", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			got := mustReadAll(t, s, eventstore.ReadAllOptions{Filter: eventstore.Filter{StreamPrefixes: []string{"skp-"}}})
			if diff := cmp.Diff([]string{"skp-1@0", "skp-1@1", "skp-2@0", "skp-1@2"}, streamsOf(got)); diff != "" {
				t.Errorf("ReadAll skp- (-want +got):\n%s", diff)
			}
		}},
		{"read_all/type_prefix_filter", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			got := mustReadAll(t, s, eventstore.ReadAllOptions{Filter: eventstore.Filter{TypePrefixes: []string{"skp.drafted.", "unit."}}})
			if diff := cmp.Diff([]string{"skp-1@0", "unit-1@0", "skp-2@0"}, streamsOf(got)); diff != "" {
				t.Errorf("ReadAll by type (-want +got):\n%s", diff)
			}
		}},
		{"read_all/filter_with_limit_counts_matches", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			got := mustReadAll(t, s, eventstore.ReadAllOptions{Limit: 1, Filter: eventstore.Filter{StreamPrefixes: []string{"employee-"}}})
			if diff := cmp.Diff([]string{"employee-1@0"}, streamsOf(got)); diff != "" {
				t.Errorf("ReadAll employee- limit 1 (-want +got):\n%s", diff)
			}
		}},
		{"read_all/stable_across_reads_and_reopen", func(t *testing.T, h *harness) {
			s, _ := fill(t, h)
			first := mustReadAll(t, s, eventstore.ReadAllOptions{})
			s = h.reopen()
			second := mustReadAll(t, s, eventstore.ReadAllOptions{})
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("ReadAll changed after reopen (-before +after):\n%s", diff)
			}
		}},
		{"read_all/head", func(t *testing.T, h *harness) {
			s := h.store()
			if head, err := s.Head(ctx(t)); err != nil || head != 0 {
				t.Errorf("Head() of empty store = %d, %v; want 0", head, err)
			}
			_, res := fill(t, h)
			head, err := s.Head(ctx(t))
			if err != nil || head != res[len(res)-1].Position {
				t.Errorf("Head() = %d, %v; want %d", head, err, res[len(res)-1].Position)
			}
		}},
	}
}
