package storetest

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

func appendCases() []testCase {
	return []testCase{
		{"append/new_stream_no_stream", func(t *testing.T, h *harness) {
			s := h.store()
			e := ev("test.created.v1", `{"a":1}`)
			res := mustAppend(t, s, "acct-1", eventstore.NoStream, e)
			if res.Revision != 0 || res.Position == 0 {
				t.Errorf("Append = %+v, want revision 0 and a position > 0", res)
			}
			p, _ := eventstore.Prepare("acct-1", []eventstore.EventData{e}, eventstore.Limits{})
			if want := eventstore.ChainHash(eventstore.Hash{}, "acct-1", 0, &p[0]); res.Hash != want {
				t.Errorf("Append hash = %s, want ChainHash(zero, ...) = %s", res.Hash, want)
			}
		}},
		{"append/several_events_dense_revisions", func(t *testing.T, h *harness) {
			s := h.store()
			res := mustAppend(t, s, "acct-1", eventstore.NoStream, evs(3)...)
			if res.Revision != 2 {
				t.Errorf("Append(3 events).Revision = %d, want 2", res.Revision)
			}
			mustAppend(t, s, "acct-1", eventstore.Exact(2), evs(2)...)
			got := revisions(mustReadStream(t, s, "acct-1", eventstore.ReadStreamOptions{}))
			if diff := cmp.Diff([]uint64{0, 1, 2, 3, 4}, got); diff != "" {
				t.Errorf("revisions (-want +got):\n%s", diff)
			}
		}},
		{"append/exact_revision_matches", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(1)...)
			res := mustAppend(t, s, "acct-1", eventstore.Exact(0), evs(1)...)
			if res.Revision != 1 {
				t.Errorf("Revision = %d, want 1", res.Revision)
			}
		}},
		{"append/exact_revision_stale", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(3)...)
			_, err := s.Append(ctx(t), "acct-1", eventstore.Exact(1), evs(1)...)
			var w *eventstore.WrongExpectedRevisionError
			if !errors.As(err, &w) || !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
				t.Fatalf("Append(Exact(1)) on revision 2 = %v, want WrongExpectedRevisionError", err)
			}
			if rev, _ := w.Expected.Revision(); rev != 1 || !w.ActualExists || w.Actual != 2 || w.Stream != "acct-1" {
				t.Errorf("error = %+v, want expected 1, actual 2, stream acct-1", w)
			}
			assertStreamLen(t, s, "acct-1", 3)
		}},
		{"append/exact_revision_ahead", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(1)...)
			_, err := s.Append(ctx(t), "acct-1", eventstore.Exact(5), evs(1)...)
			if !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
				t.Fatalf("Append(Exact(5)) on revision 0 = %v, want ErrWrongExpectedRevision", err)
			}
			assertStreamLen(t, s, "acct-1", 1)
		}},
		{"append/exact_revision_on_missing_stream", func(t *testing.T, h *harness) {
			s := h.store()
			_, err := s.Append(ctx(t), "acct-1", eventstore.Exact(0), evs(1)...)
			var w *eventstore.WrongExpectedRevisionError
			if !errors.As(err, &w) || w.ActualExists {
				t.Fatalf("Append(Exact(0)) on missing stream = %v, want WrongExpectedRevisionError with ActualExists=false", err)
			}
			assertNotFound(t, s, "acct-1")
		}},
		{"append/no_stream_on_existing", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(2)...)
			_, err := s.Append(ctx(t), "acct-1", eventstore.NoStream, evs(1)...)
			var w *eventstore.WrongExpectedRevisionError
			if !errors.As(err, &w) || !w.ActualExists || w.Actual != 1 || !w.Expected.IsNoStream() {
				t.Fatalf("Append(NoStream) on revision 1 = %v, want WrongExpectedRevisionError{actual 1}", err)
			}
			assertStreamLen(t, s, "acct-1", 2)
		}},
		{"append/stream_exists_on_missing", func(t *testing.T, h *harness) {
			s := h.store()
			_, err := s.Append(ctx(t), "acct-1", eventstore.StreamExists, evs(1)...)
			var w *eventstore.WrongExpectedRevisionError
			if !errors.As(err, &w) || w.ActualExists || !w.Expected.IsStreamExists() {
				t.Fatalf("Append(StreamExists) on missing stream = %v, want WrongExpectedRevisionError", err)
			}
			assertNotFound(t, s, "acct-1")
		}},
		{"append/stream_exists_on_existing", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(2)...)
			res := mustAppend(t, s, "acct-1", eventstore.StreamExists, evs(1)...)
			if res.Revision != 2 {
				t.Errorf("Revision = %d, want 2", res.Revision)
			}
			verifyStream(t, s, "acct-1")
		}},
		{"append/any_on_missing_and_existing", func(t *testing.T, h *harness) {
			s := h.store()
			if res := mustAppend(t, s, "acct-1", eventstore.Any, evs(2)...); res.Revision != 1 {
				t.Errorf("first Any append Revision = %d, want 1", res.Revision)
			}
			if res := mustAppend(t, s, "acct-1", eventstore.Any, evs(1)...); res.Revision != 2 {
				t.Errorf("second Any append Revision = %d, want 2", res.Revision)
			}
			verifyStream(t, s, "acct-1")
		}},
		{"append/result_names_last_event", func(t *testing.T, h *harness) {
			s := h.store()
			res := mustAppend(t, s, "acct-1", eventstore.NoStream, evs(4)...)
			got := mustReadStream(t, s, "acct-1", eventstore.ReadStreamOptions{})
			last := got[len(got)-1]
			if res.Revision != last.Revision || res.Position != last.Position || res.Hash != last.Hash {
				t.Errorf("Append = %+v, last stored event has revision %d position %d hash %s", res, last.Revision, last.Position, last.Hash)
			}
		}},
		{"append/positions_increase_across_streams", func(t *testing.T, h *harness) {
			s := h.store()
			var last eventstore.Position
			for i := range 20 {
				stream := "acct-" + string(rune('a'+i%5))
				res := mustAppend(t, s, stream, eventstore.Any, evs(1+i%3)...)
				if res.Position <= last {
					t.Fatalf("append %d: position %d not after %d", i, res.Position, last)
				}
				last = res.Position
			}
		}},
		{"append/atomic_when_one_event_is_invalid", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(3)
			batch[1].Type = "Not A Type"
			_, err := s.Append(ctx(t), "acct-1", eventstore.NoStream, batch...)
			var ie *eventstore.InvalidEventError
			if !errors.As(err, &ie) || ie.Index != 1 || ie.Field != "type" {
				t.Fatalf("Append with a bad second event = %v, want InvalidEventError{Index 1, type}", err)
			}
			assertNotFound(t, s, "acct-1")
			assertEmpty(t, s)
		}},
		{"append/recorded_at_set_and_monotonic_in_stream", func(t *testing.T, h *harness) {
			s := h.store()
			before := time.Now().Add(-time.Minute)
			for range 5 {
				mustAppend(t, s, "acct-1", eventstore.Any, evs(2)...)
			}
			after := time.Now().Add(time.Minute)
			got := mustReadStream(t, s, "acct-1", eventstore.ReadStreamOptions{})
			for i, e := range got {
				if e.RecordedAt.Before(before) || e.RecordedAt.After(after) {
					t.Errorf("event %d RecordedAt = %v, want within the test's run", i, e.RecordedAt)
				}
				if e.RecordedAt.Location() != time.UTC || !e.RecordedAt.Equal(e.RecordedAt.Truncate(time.Microsecond)) {
					t.Errorf("event %d RecordedAt = %v, want UTC at microsecond precision", i, e.RecordedAt)
				}
				if i > 0 && e.RecordedAt.Before(got[i-1].RecordedAt) {
					t.Errorf("event %d RecordedAt %v before event %d's %v", i, e.RecordedAt, i-1, got[i-1].RecordedAt)
				}
			}
		}},
		{"append/envelope_round_trips", func(t *testing.T, h *harness) {
			s := h.store()
			e := ev("skp.rating_assigned.v1", `{"work_result":"DI_ATAS_EKSPEKTASI","note":"ñ ✓"}`)
			e.SchemaVersion = 3
			e.Reason = "Revisi nilai: kesalahan input — dikoreksi ✓"
			e.CorrelationID = "3f0e2c1a-correlation"
			e.CausationID = "cmd-42"
			e.Actor = eventstore.Actor{ID: "200012312024211001", Role: "APPRAISER_SUPERIOR"}
			mustAppend(t, s, "skp-1", eventstore.NoStream, e)
			got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})
			if len(got) != 1 {
				t.Fatalf("read %d events, want 1", len(got))
			}
			want := e
			want.OccurredAt = baseTime.UTC().Truncate(time.Microsecond)
			if diff := cmp.Diff(want, got[0].EventData); diff != "" {
				t.Errorf("stored envelope (-want +got):\n%s", diff)
			}
			if got[0].Stream != "skp-1" || got[0].Revision != 0 {
				t.Errorf("stream/revision = %s/%d, want skp-1/0", got[0].Stream, got[0].Revision)
			}
		}},
		{"append/data_bytes_are_opaque", func(t *testing.T, h *harness) {
			s := h.store()
			payloads := [][]byte{
				[]byte(`{"b":2,"a":1}`),               // key order kept (no JSON normalisation)
				[]byte("{\n  \"spaced\" :  true }\n"), // whitespace kept
				{0x00, 0xff, 0xfe, 'x', 0x00},         // not JSON, not UTF-8
				{},                                    // empty
			}
			for i, p := range payloads {
				e := ev("test.bytes.v1", "")
				e.Data = p
				mustAppend(t, s, "bytes-"+string(rune('a'+i)), eventstore.NoStream, e)
				got := mustReadStream(t, s, "bytes-"+string(rune('a'+i)), eventstore.ReadStreamOptions{})
				if !bytes.Equal(got[0].Data, p) {
					t.Errorf("payload %d: read %q, want %q", i, got[0].Data, p)
				}
			}
			verifyAll(t, s)
		}},
		{"append/occurred_at_normalised_to_utc_microseconds", func(t *testing.T, h *harness) {
			s := h.store()
			e := ev("test.happened.v1", `{}`)
			e.OccurredAt = time.Date(2026, 1, 31, 23, 59, 59, 999999999, time.FixedZone("WIT", 9*3600))
			mustAppend(t, s, "acct-1", eventstore.NoStream, e)
			got := mustReadStream(t, s, "acct-1", eventstore.ReadStreamOptions{})
			want := time.Date(2026, 1, 31, 14, 59, 59, 999999000, time.UTC)
			if !got[0].OccurredAt.Equal(want) || got[0].OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt = %v, want %v", got[0].OccurredAt, want)
			}
		}},
	}
}

func validationCases() []testCase {
	return []testCase{
		{"validate/stream_names", func(t *testing.T, h *harness) {
			s := h.store()
			for _, name := range []string{"", "$system", "$all", "a b", "a/b", "-lead", "é-stream", strings.Repeat("x", 201), "tab\tname", "nul\x00"} {
				_, err := s.Append(ctx(t), name, eventstore.Any, evs(1)...)
				if !errors.Is(err, eventstore.ErrInvalidStreamName) {
					t.Errorf("Append(%q) = %v, want ErrInvalidStreamName", name, err)
				}
			}
			for _, name := range []string{"skp-196608011988031001-2026", "unit-BKD.01", "a", "x:y@z=1+2_3", strings.Repeat("x", 200)} {
				if _, err := s.Append(ctx(t), name, eventstore.NoStream, evs(1)...); err != nil {
					t.Errorf("Append(%q) = %v, want success", name, err)
				}
			}
			if n := len(mustReadAll(t, s, eventstore.ReadAllOptions{})); n != 5 {
				t.Errorf("ReadAll has %d events, want the 5 valid ones", n)
			}
		}},
		{"validate/events", func(t *testing.T, h *harness) {
			s := h.store()
			tests := []struct {
				name  string
				edit  func(e *eventstore.EventData)
				field string
			}{
				{"nil id", func(e *eventstore.EventData) { e.ID = uuid.Nil }, "id"},
				{"empty type", func(e *eventstore.EventData) { e.Type = "" }, "type"},
				{"unversioned type", func(e *eventstore.EventData) { e.Type = "skp.rated" }, "type"},
				{"upper-case type", func(e *eventstore.EventData) { e.Type = "SkpRated.v1" }, "type"},
				{"schema version 0", func(e *eventstore.EventData) { e.SchemaVersion = 0 }, "schema_version"},
				{"schema version over 32 bits", func(e *eventstore.EventData) { e.SchemaVersion = math.MaxInt32 + 1 }, "schema_version"},
				{"zero occurred_at", func(e *eventstore.EventData) { e.OccurredAt = time.Time{} }, "occurred_at"},
				{"occurred_at year 10000", func(e *eventstore.EventData) { e.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "occurred_at"},
				{"no actor", func(e *eventstore.EventData) { e.Actor.ID = "" }, "actor.id"},
				{"NUL in reason", func(e *eventstore.EventData) { e.Reason = "a\x00b" }, "reason"},
				{"invalid UTF-8 role", func(e *eventstore.EventData) { e.Actor.Role = "\xff" }, "actor.role"},
				{"overlong correlation", func(e *eventstore.EventData) { e.CorrelationID = strings.Repeat("c", 201) }, "correlation_id"},
			}
			for _, tt := range tests {
				e := ev("test.happened.v1", `{}`)
				tt.edit(&e)
				_, err := s.Append(ctx(t), "acct-1", eventstore.Any, e)
				var ie *eventstore.InvalidEventError
				if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrInvalidEvent) || ie.Field != tt.field {
					t.Errorf("%s: Append = %v, want InvalidEventError on %s", tt.name, err, tt.field)
				}
			}
			assertEmpty(t, s)
		}},
		{"validate/no_events", func(t *testing.T, h *harness) {
			s := h.store()
			_, err := s.Append(ctx(t), "acct-1", eventstore.Any)
			if !errors.Is(err, eventstore.ErrInvalidEvent) {
				t.Errorf("Append() with no events = %v, want ErrInvalidEvent", err)
			}
			assertEmpty(t, s)
		}},
		{"validate/event_too_large", func(t *testing.T, h *harness) {
			s := h.open(eventstore.Limits{MaxDataBytes: 1024})
			ok := ev("test.big.v1", "")
			ok.Data = bytes.Repeat([]byte("a"), 1024)
			mustAppend(t, s, "big-1", eventstore.NoStream, ok)
			big := ev("test.big.v1", "")
			big.Data = bytes.Repeat([]byte("a"), 1025)
			_, err := s.Append(ctx(t), "big-1", eventstore.Exact(0), evs(1)[0], big)
			var tl *eventstore.EventTooLargeError
			if !errors.As(err, &tl) || !errors.Is(err, eventstore.ErrEventTooLarge) || tl.Size != 1025 || tl.Limit != 1024 || tl.EventID != big.ID {
				t.Fatalf("Append(1025 bytes) = %v, want EventTooLargeError{1025, 1024}", err)
			}
			assertStreamLen(t, s, "big-1", 1)
		}},
		{"validate/append_too_large", func(t *testing.T, h *harness) {
			s := h.open(eventstore.Limits{MaxDataBytes: 1024, MaxAppendBytes: 2048})
			three := evs(3)
			for i := range three {
				three[i].Data = bytes.Repeat([]byte("a"), 1000)
			}
			mustAppend(t, s, "big-1", eventstore.NoStream, three[:2]...)
			more := evs(3)
			for i := range more {
				more[i].Data = bytes.Repeat([]byte("a"), 1000) // each within MaxDataBytes, 3,000 in all
			}
			_, err := s.Append(ctx(t), "big-1", eventstore.Exact(1), more...)
			var tl *eventstore.EventTooLargeError
			if !errors.As(err, &tl) || !tl.Append || tl.Size != 3000 || tl.Limit != 2048 {
				t.Fatalf("Append(3 × 1,000 bytes, limit 2,048) = %v, want an append-level EventTooLargeError", err)
			}
			assertStreamLen(t, s, "big-1", 2)
		}},
		{"validate/default_limit_is_one_mebibyte", func(t *testing.T, h *harness) {
			s := h.store()
			e := ev("test.big.v1", "")
			e.Data = bytes.Repeat([]byte{'x'}, eventstore.DefaultMaxDataBytes)
			mustAppend(t, s, "big-1", eventstore.NoStream, e)
			got := mustReadStream(t, s, "big-1", eventstore.ReadStreamOptions{})
			if !bytes.Equal(got[0].Data, e.Data) {
				t.Errorf("1 MiB event did not round-trip (%d bytes read)", len(got[0].Data))
			}
			e2 := ev("test.big.v1", "")
			e2.Data = make([]byte, eventstore.DefaultMaxDataBytes+1)
			if _, err := s.Append(ctx(t), "big-1", eventstore.Exact(0), e2); !errors.Is(err, eventstore.ErrEventTooLarge) {
				t.Errorf("Append(1 MiB + 1) = %v, want ErrEventTooLarge", err)
			}
			verifyStream(t, s, "big-1")
		}},
		{"validate/too_many_events_per_append", func(t *testing.T, h *harness) {
			s := h.open(eventstore.Limits{MaxEventsPerAppend: 5})
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(5)...)
			if _, err := s.Append(ctx(t), "acct-1", eventstore.Exact(4), evs(6)...); !errors.Is(err, eventstore.ErrInvalidEvent) {
				t.Errorf("Append(6 events, limit 5) = %v, want ErrInvalidEvent", err)
			}
			assertStreamLen(t, s, "acct-1", 5)
		}},
		{"validate/many_events_in_one_append", func(t *testing.T, h *harness) {
			s := h.store()
			res := mustAppend(t, s, "acct-1", eventstore.NoStream, evs(1000)...)
			if res.Revision != 999 {
				t.Errorf("Revision = %d, want 999", res.Revision)
			}
			verifyStream(t, s, "acct-1")
		}},
		{"validate/duplicate_id_in_one_call", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(2)
			batch[1].ID = batch[0].ID
			_, err := s.Append(ctx(t), "acct-1", eventstore.NoStream, batch...)
			var ie *eventstore.IdempotencyError
			if !errors.As(err, &ie) || ie.Reason != eventstore.IdempotencyDuplicateInCall {
				t.Errorf("Append(duplicate IDs) = %v, want IdempotencyError(duplicate in call)", err)
			}
			assertEmpty(t, s)
		}},
	}
}

// sameResult compares the results of an append and its repeat, but for
// Commit: a repeat writes nothing, so it need not know the commit that
// wrote the events (AppendResult.Commit is zero when unknown).
func sameResult(a, b eventstore.AppendResult) bool {
	a.Commit, b.Commit = 0, 0
	return a == b
}

func idempotencyCases() []testCase {
	return []testCase{
		{"idempotency/repeat_returns_first_result", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(1)...)
			batch := evs(3)
			first := mustAppend(t, s, "acct-1", eventstore.Exact(0), batch...)
			again := mustAppend(t, s, "acct-1", eventstore.Exact(0), batch...)
			if !sameResult(again, first) {
				t.Errorf("repeat = %+v, want the first result %+v", again, first)
			}
			assertStreamLen(t, s, "acct-1", 4)
		}},
		{"idempotency/repeat_no_stream", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(2)
			first := mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			if again := mustAppend(t, s, "acct-1", eventstore.NoStream, batch...); !sameResult(again, first) {
				t.Errorf("repeat = %+v, want %+v", again, first)
			}
			assertStreamLen(t, s, "acct-1", 2)
		}},
		{"idempotency/repeat_any_and_stream_exists", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "acct-1", eventstore.NoStream, evs(1)...)
			a := evs(1)
			first := mustAppend(t, s, "acct-1", eventstore.Any, a...)
			if again := mustAppend(t, s, "acct-1", eventstore.Any, a...); !sameResult(again, first) {
				t.Errorf("Any repeat = %+v, want %+v", again, first)
			}
			b := evs(1)
			first = mustAppend(t, s, "acct-1", eventstore.StreamExists, b...)
			if again := mustAppend(t, s, "acct-1", eventstore.StreamExists, b...); !sameResult(again, first) {
				t.Errorf("StreamExists repeat = %+v, want %+v", again, first)
			}
			assertStreamLen(t, s, "acct-1", 3)
		}},
		{"idempotency/repeat_long_after", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(2)
			first := mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			for i := range 50 {
				mustAppend(t, s, "acct-1", eventstore.Any, evs(1)...)
				mustAppend(t, s, "other-"+tag(i), eventstore.NoStream, evs(2)...)
			}
			if again := mustAppend(t, s, "acct-1", eventstore.NoStream, batch...); !sameResult(again, first) {
				t.Errorf("repeat after 100 appends = %+v, want %+v", again, first)
			}
			assertStreamLen(t, s, "acct-1", 52)
		}},
		{"idempotency/repeat_after_reopen", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(2)
			first := mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			mustAppend(t, s, "acct-1", eventstore.Exact(1), evs(1)...)
			s = h.reopen()
			if again := mustAppend(t, s, "acct-1", eventstore.NoStream, batch...); !sameResult(again, first) {
				t.Errorf("repeat after reopen = %+v, want %+v", again, first)
			}
			assertStreamLen(t, s, "acct-1", 3)
		}},
		{"idempotency/partial_repeat_is_an_error", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(2)
			mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			mixed := append([]eventstore.EventData{batch[1]}, evs(1)...)
			_, err := s.Append(ctx(t), "acct-1", eventstore.Exact(1), mixed...)
			var ie *eventstore.IdempotencyError
			if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrIdempotency) || ie.Reason != eventstore.IdempotencyPartial {
				t.Fatalf("Append(one old, one new ID) = %v, want IdempotencyError(partial)", err)
			}
			if ie.EventID != mixed[1].ID {
				t.Errorf("error names event %s, want the new one %s", ie.EventID, mixed[1].ID)
			}
			assertStreamLen(t, s, "acct-1", 2)
		}},
		{"idempotency/id_in_another_stream", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(1)
			mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			_, err := s.Append(ctx(t), "acct-2", eventstore.NoStream, batch...)
			var ie *eventstore.IdempotencyError
			if !errors.As(err, &ie) || ie.Reason != eventstore.IdempotencyOtherStream {
				t.Fatalf("Append(same ID, other stream) = %v, want IdempotencyError(other stream)", err)
			}
			assertNotFound(t, s, "acct-2")
		}},
		{"idempotency/same_id_different_content", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(1)
			mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			changed := batch[0]
			changed.Data = []byte(`{"n":"changed"}`)
			_, err := s.Append(ctx(t), "acct-1", eventstore.NoStream, changed)
			var ie *eventstore.IdempotencyError
			if !errors.As(err, &ie) || ie.Reason != eventstore.IdempotencyContent {
				t.Fatalf("Append(same ID, other data) = %v, want IdempotencyError(content)", err)
			}
			got := mustReadStream(t, s, "acct-1", eventstore.ReadStreamOptions{})
			if len(got) != 1 || string(got[0].Data) != string(batch[0].Data) {
				t.Errorf("stream = %d events, first data %q; want the original only", len(got), got[0].Data)
			}
		}},
		{"idempotency/repeat_in_another_order", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(2)
			mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			_, err := s.Append(ctx(t), "acct-1", eventstore.NoStream, batch[1], batch[0])
			var ie *eventstore.IdempotencyError
			if !errors.As(err, &ie) || ie.Reason != eventstore.IdempotencyOrder {
				t.Fatalf("Append(swapped repeat) = %v, want IdempotencyError(order)", err)
			}
			assertStreamLen(t, s, "acct-1", 2)
		}},
		{"idempotency/repeat_with_contradicting_expected_revision", func(t *testing.T, h *harness) {
			s := h.store()
			batch := evs(1)
			mustAppend(t, s, "acct-1", eventstore.NoStream, batch...)
			mustAppend(t, s, "acct-1", eventstore.Exact(0), evs(2)...)
			_, err := s.Append(ctx(t), "acct-1", eventstore.Exact(2), batch...)
			if err == nil {
				t.Fatal("Append(old IDs, Exact(2)) succeeded, want an error")
			}
			if !errors.Is(err, eventstore.ErrIdempotency) && !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
				t.Errorf("Append(old IDs, Exact(2)) = %v, want ErrIdempotency or ErrWrongExpectedRevision", err)
			}
			assertStreamLen(t, s, "acct-1", 3)
		}},
	}
}

// tag returns a short distinct name part for i.
func tag(i int) string { return string(rune('a'+i/26%26)) + string(rune('a'+i%26)) }

func assertStreamLen(t *testing.T, s eventstore.Store, stream string, want int) {
	t.Helper()
	got := mustReadStream(t, s, stream, eventstore.ReadStreamOptions{})
	if len(got) != want {
		t.Errorf("stream %s has %d events, want %d", stream, len(got), want)
	}
	for i, e := range got {
		if e.Revision != uint64(i) {
			t.Errorf("stream %s event %d has revision %d", stream, i, e.Revision)
		}
	}
}

func assertNotFound(t *testing.T, s eventstore.Store, stream string) {
	t.Helper()
	if got, err := readStream(t, s, stream, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("ReadStream(%s) = %d events, %v; want ErrStreamNotFound", stream, len(got), err)
	}
}

func assertEmpty(t *testing.T, s eventstore.Store) {
	t.Helper()
	if got := mustReadAll(t, s, eventstore.ReadAllOptions{}); len(got) != 0 {
		t.Errorf("ReadAll = %d events, want none", len(got))
	}
	if head, err := s.Head(ctx(t)); err != nil || head != 0 {
		t.Errorf("Head() = %d, %v; want 0", head, err)
	}
}

// verifyStream authenticates one whole stream with the suite's key: its
// hash chain and every append's signature.
func verifyStream(t *testing.T, s eventstore.Store, stream string) {
	t.Helper()
	if n, err := eventstore.VerifyStream(stream, s.ReadStream(ctx(t), stream, eventstore.ReadStreamOptions{})); err != nil {
		t.Errorf("VerifyStream(%s) = %d, %v", stream, n, err)
	}
	for _, err := range eventstore.ReadStreamAuthenticated(ctx(t), s, suiteKeys(), stream, eventstore.ReadStreamOptions{}, nil) {
		if err != nil {
			t.Errorf("ReadStreamAuthenticated(%s) = %v", stream, err)
			return
		}
	}
}

// verifyAll authenticates the whole global order with the suite's key:
// every chain, every signature, and every append contiguous.
func verifyAll(t *testing.T, s eventstore.Store) {
	t.Helper()
	v := eventstore.NewVerifier()
	for e, err := range s.ReadAll(ctx(t), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatalf("ReadAll = %v", err)
		}
		if err := v.Check(e); err != nil {
			t.Errorf("verify: %v", err)
			return
		}
	}
	if err := feedError(t, s, suiteKeys()); err != nil {
		t.Errorf("authenticate: %v", err)
	}
}

// suiteKeys trusts the suite's two writer keys.
func suiteKeys() *eventstore.Keyring {
	return eventstore.NewKeyring(WriterKey().Public(), OtherWriterKey().Public())
}
