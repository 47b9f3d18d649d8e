package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// goldenEvent is a fixed event whose chain hash is the same on every
// backend: the hash is computed above the backends from the canonical
// envelope.
func goldenEvent() eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.MustParse("0b0e5f8e-4c1a-4d65-9a0f-3c2d1e0f9a11"),
		Type:          "skp.rating_assigned.v1",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2026, 3, 3, 9, 30, 0, 0, time.FixedZone("WIB", 7*3600)),
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		CorrelationID: "req-1",
		CausationID:   "cmd-1",
		Reason:        "",
		Data:          []byte(`{"period":"2026-Q1","work_result":"SESUAI_EKSPEKTASI","behaviour":"DI_ATAS_EKSPEKTASI","predikat":"BAIK"}`),
	}
}

// GoldenHash is the chain hash of goldenEvent at revision 0 of stream
// "skp-196608011988031001-2026". It pins the canonical encoding: if it
// changes, every stored hash chain stops verifying.
const GoldenHash = "f9f67974e01d7035fd5a77acddcc5b0faf5691e11836e6f85472237393fe9b17"

func integrityCases() []testCase {
	return []testCase{
		{"integrity/hashes_identical_on_every_backend", func(t *testing.T, h *harness) {
			s := h.store()
			res := mustAppend(t, s, "skp-196608011988031001-2026", eventstore.NoStream, goldenEvent())
			if res.Hash.String() != goldenHash() {
				t.Errorf("hash of the golden event = %s, want %s", res.Hash, goldenHash())
			}
		}},
		{"integrity/stream_verifies", func(t *testing.T, h *harness) {
			s := h.store()
			for range 5 {
				mustAppend(t, s, "skp-1", eventstore.Any, evs(3)...)
			}
			verifyStream(t, s, "skp-1")
			got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})
			prev := eventstore.Hash{}
			for _, e := range got {
				if want := eventstore.ChainHash(prev, e.Stream, e.Revision, &e.EventData); e.Hash != want {
					t.Fatalf("revision %d hash %s, want %s", e.Revision, e.Hash, want)
				}
				prev = e.Hash
			}
		}},
		{"integrity/read_all_verifies_across_streams", func(t *testing.T, h *harness) {
			s := h.store()
			for i := range 20 {
				mustAppend(t, s, "s-"+tag(i%4), eventstore.Any, evs(1+i%3)...)
			}
			verifyAll(t, s)
		}},
		{"integrity/tampered_byte_is_detected_and_named", func(t *testing.T, h *harness) {
			if h.b.Tamper == nil {
				t.Skipf("%s: no Tamper hook", h.b.Name)
			}
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(3)...)
			mustAppend(t, s, "skp-2", eventstore.NoStream, evs(2)...)
			mustAppend(t, s, "skp-1", eventstore.Exact(2), evs(3)...)
			victim := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{From: 4, Limit: 1})[0]
			h.close()
			h.b.Tamper(t, h.loc, "skp-1", 4)
			s = h.reopen()
			_, err := eventstore.VerifyStream("skp-1", s.ReadStream(ctx(t), "skp-1", eventstore.ReadStreamOptions{}))
			var ie *eventstore.IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrIntegrity) {
				t.Fatalf("VerifyStream after tampering = %v, want IntegrityError", err)
			}
			if ie.Stream != "skp-1" || ie.Revision != 4 || ie.EventID != victim.ID {
				t.Errorf("IntegrityError names %s@%d (%s), want skp-1@4 (%s)", ie.Stream, ie.Revision, ie.EventID, victim.ID)
			}
			verifyStream(t, s, "skp-2")
			v := eventstore.NewVerifier()
			var verr error
			for e, err := range s.ReadAll(ctx(t), eventstore.ReadAllOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				if verr = v.Check(e); verr != nil {
					break
				}
			}
			if !errors.As(verr, &ie) || ie.EventID != victim.ID {
				t.Errorf("Verifier over ReadAll = %v, want it to name event %s", verr, victim.ID)
			}
		}},
		{"integrity/verifier_detects_missing_and_reordered_events", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(4)...)
			got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})
			seq := func(es ...eventstore.Event) func(func(eventstore.Event, error) bool) {
				return func(yield func(eventstore.Event, error) bool) {
					for _, e := range es {
						if !yield(e, nil) {
							return
						}
					}
				}
			}
			var ie *eventstore.IntegrityError
			if _, err := eventstore.VerifyStream("skp-1", seq(got[0], got[2], got[3])); !errors.As(err, &ie) || ie.Revision != 2 {
				t.Errorf("VerifyStream with revision 1 missing = %v, want IntegrityError at revision 2", err)
			}
			if _, err := eventstore.VerifyStream("skp-1", seq(got[0], got[2], got[1], got[3])); !errors.As(err, &ie) {
				t.Errorf("VerifyStream with swapped events = %v, want IntegrityError", err)
			}
			forged := got[1]
			forged.Reason = "forged"
			if _, err := eventstore.VerifyStream("skp-1", seq(got[0], forged, got[2], got[3])); !errors.As(err, &ie) || ie.Revision != 1 {
				t.Errorf("VerifyStream with a changed reason = %v, want IntegrityError at revision 1", err)
			}
		}},
	}
}

func contextCases() []testCase {
	cancelled := func() context.Context {
		c, cancel := context.WithCancel(context.Background())
		cancel()
		return c
	}
	return []testCase{
		{"context/append_cancelled_writes_nothing", func(t *testing.T, h *harness) {
			s := h.store()
			_, err := s.Append(cancelled(), "skp-1", eventstore.NoStream, evs(2)...)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Append(cancelled ctx) = %v, want context.Canceled", err)
			}
			assertEmpty(t, s)
		}},
		{"context/read_stream_cancelled", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(2)...)
			var got error
			for _, err := range s.ReadStream(cancelled(), "skp-1", eventstore.ReadStreamOptions{}) {
				if err != nil {
					got = err
					break
				}
			}
			if !errors.Is(got, context.Canceled) {
				t.Errorf("ReadStream(cancelled ctx) error = %v, want context.Canceled", got)
			}
		}},
		{"context/read_all_cancelled", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(2)...)
			var got error
			for _, err := range s.ReadAll(cancelled(), eventstore.ReadAllOptions{}) {
				if err != nil {
					got = err
					break
				}
			}
			if !errors.Is(got, context.Canceled) {
				t.Errorf("ReadAll(cancelled ctx) error = %v, want context.Canceled", got)
			}
		}},
		{"context/deadline_exceeded_on_subscription", func(t *testing.T, h *harness) {
			s := h.store()
			c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			var got error
			for _, err := range s.SubscribeAll(c, eventstore.SubscribeOptions{}) {
				if err != nil {
					got = err
					break
				}
			}
			if !errors.Is(got, context.DeadlineExceeded) {
				t.Errorf("subscription past its deadline ended with %v, want context.DeadlineExceeded", got)
			}
		}},
	}
}

func lifecycleCases() []testCase {
	return []testCase{
		{"lifecycle/closed_store_refuses", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(1)...)
			h.close()
			if _, err := s.Append(context.Background(), "skp-1", eventstore.Any, evs(1)...); !errors.Is(err, eventstore.ErrClosed) {
				t.Errorf("Append after Close = %v, want ErrClosed", err)
			}
			var got error
			for _, err := range s.ReadStream(context.Background(), "skp-1", eventstore.ReadStreamOptions{}) {
				got = err
				break
			}
			if !errors.Is(got, eventstore.ErrClosed) {
				t.Errorf("ReadStream after Close = %v, want ErrClosed", got)
			}
		}},
		{"lifecycle/reopen_keeps_everything", func(t *testing.T, h *harness) {
			s := h.store()
			for i := range 10 {
				mustAppend(t, s, "s-"+tag(i%3), eventstore.Any, evs(2)...)
			}
			before := mustReadAll(t, s, eventstore.ReadAllOptions{})
			s = h.reopen()
			after := mustReadAll(t, s, eventstore.ReadAllOptions{})
			sameSequence(t, before, after)
			verifyAll(t, s)
			res := mustAppend(t, s, "s-"+tag(0), eventstore.Any, evs(1)...)
			if res.Position <= before[len(before)-1].Position {
				t.Errorf("position after reopen %d not after %d", res.Position, before[len(before)-1].Position)
			}
		}},
		{"lifecycle/exclusive_open", func(t *testing.T, h *harness) {
			if !h.b.Exclusive {
				t.Skipf("%s allows several stores on one location", h.b.Name)
			}
			h.store()
			done := make(chan error, 1)
			go func() {
				s2, err := h.b.Open(h.loc, eventstore.Limits{})
				if err == nil {
					s2.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Error("second Open of an open location succeeded, want an error")
				}
			case <-time.After(30 * time.Second):
				t.Error("second Open blocked instead of failing")
			}
		}},
		{"lifecycle/crash_durability", func(t *testing.T, h *harness) {
			if !h.b.Crash {
				t.Skipf("%s: crash test not enabled", h.b.Name)
			}
			runCrash(t, h)
		}},
	}
}

// goldenHash returns the pinned golden hash.
func goldenHash() string { return GoldenHash }
