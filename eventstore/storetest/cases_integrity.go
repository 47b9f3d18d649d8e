package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
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
	return append(signatureCases(), []testCase{
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
	}...)
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
				s2, err := h.b.Open(h.loc, DefaultConfig())
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

// signatureCases check the writer signatures: every append signed where it
// is sealed, its events contiguous in the global order, and storage edits
// that a chain hash cannot reveal (an insider's forged insert, a key the
// keyring does not trust) refused by readers and writers.
func signatureCases() []testCase {
	return []testCase{
		{"integrity/last_event_of_every_append_is_signed", func(t *testing.T, h *harness) {
			s := h.store()
			sizes := map[string][]int{"skp-1": {1, 3, 2}, "skp-2": {5}, "skp-3": {1, 1}}
			last := map[uuid.UUID]bool{}
			for _, stream := range []string{"skp-1", "skp-2", "skp-3"} {
				for _, n := range sizes[stream] {
					batch := evs(n)
					res := mustAppend(t, s, stream, eventstore.Any, batch...)
					last[batch[n-1].ID] = true
					got := mustReadStream(t, s, stream, eventstore.ReadStreamOptions{From: res.Revision, Limit: 1})[0]
					if got.Hash != res.Hash {
						t.Fatalf("append result hash %s, stored %s", res.Hash, got.Hash)
					}
				}
			}
			keys := eventstore.NewKeyring(WriterKey().Public())
			for _, e := range mustReadAll(t, s, eventstore.ReadAllOptions{}) {
				switch {
				case last[e.ID]:
					if e.Signature.KeyID != WriterKey().KeyID() {
						t.Errorf("%s@%d, the last of its append, is signed by %q, want %q", e.Stream, e.Revision, e.Signature.KeyID, WriterKey().KeyID())
					}
					if err := keys.Verify(e.Hash, e.Signature); err != nil {
						t.Errorf("%s@%d: signature: %v", e.Stream, e.Revision, err)
					}
				case !e.Signature.IsZero():
					t.Errorf("%s@%d is not the last of its append but carries a signature", e.Stream, e.Revision)
				}
			}
			verifyAll(t, s)
		}},
		{"integrity/append_events_are_contiguous_in_the_global_order", func(t *testing.T, h *harness) {
			s := h.store()
			var mu sync.Mutex
			var appends [][]uuid.UUID
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), 7))
					for i := range 25 {
						stream := fmt.Sprintf("own-%d", w)
						if i%2 == 1 {
							stream = fmt.Sprintf("shared-%d", i%3) // several writers race here
						}
						batch := evs(1 + r.IntN(4))
						if _, err := s.Append(ctx(t), stream, eventstore.Any, batch...); err != nil {
							t.Errorf("Append(%s) = %v", stream, err)
							return
						}
						ids := make([]uuid.UUID, len(batch))
						for j := range batch {
							ids[j] = batch[j].ID
						}
						mu.Lock()
						appends = append(appends, ids)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			index := map[uuid.UUID]int{}
			for i, e := range mustReadAll(t, s, eventstore.ReadAllOptions{}) {
				index[e.ID] = i
			}
			for _, ids := range appends {
				for j := 1; j < len(ids); j++ {
					if index[ids[j]] != index[ids[0]]+j {
						t.Fatalf("an append of %d events sits at places %d.. of the global order, but its event %d at %d: another event came between", len(ids), index[ids[0]], j, index[ids[j]])
					}
				}
			}
			verifyAll(t, s)
		}},
		{"integrity/forged_insert_is_refused_by_readers_and_writers", func(t *testing.T, h *harness) {
			if h.b.Forge == nil {
				t.Skipf("%s: no Forge hook", h.b.Name)
			}
			for _, c := range []struct {
				name string
				sign func(legit eventstore.WriterSignature, h eventstore.Hash) eventstore.WriterSignature
				kind error
			}{
				{"unsigned", func(eventstore.WriterSignature, eventstore.Hash) eventstore.WriterSignature {
					return eventstore.WriterSignature{}
				}, eventstore.ErrUnsigned},
				{"signed by an untrusted key", func(_ eventstore.WriterSignature, h eventstore.Hash) eventstore.WriterSignature {
					sig, _ := eventstore.SignHash(keyFromSeed(3), h)
					return sig
				}, eventstore.ErrUnknownKey},
				{"carrying another event's signature", func(legit eventstore.WriterSignature, _ eventstore.Hash) eventstore.WriterSignature {
					return legit
				}, eventstore.ErrBadSignature},
			} {
				t.Run(c.name, func(t *testing.T) {
					h := newHarness(t, h.b)
					s := h.store()
					mustAppend(t, s, "skp-1", eventstore.NoStream, evs(2)...)
					mustAppend(t, s, "skp-2", eventstore.NoStream, evs(1)...)
					res := mustAppend(t, s, "skp-1", eventstore.Exact(1), evs(1)...)
					legit := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{From: 2})[0].Signature
					d := ev("skp.rating_revised.v1", `{"work_result":"SANGAT_BAIK","forged":true}`)
					d.OccurredAt = eventstore.NormalizeTime(d.OccurredAt)
					forged := eventstore.Event{EventData: d, Stream: "skp-1", Revision: 3, RecordedAt: eventstore.NormalizeTime(time.Now()),
						Hash: eventstore.ChainHash(res.Hash, "skp-1", 3, &d)}
					forged.Signature = c.sign(legit, forged.Hash)
					h.close()
					h.b.Forge(t, h.loc, forged)
					s = h.reopen()
					// The forgery is a valid link of the chain: only the
					// signature tells it from a real event.
					if _, err := eventstore.VerifyStream("skp-1", s.ReadStream(ctx(t), "skp-1", eventstore.ReadStreamOptions{})); err != nil {
						t.Fatalf("the forged insert breaks the chain (%v): the test forges the wrong way", err)
					}
					check := func(what string, err error) {
						t.Helper()
						var ie *eventstore.IntegrityError
						if !errors.As(err, &ie) || !errors.Is(err, c.kind) || ie.EventID != d.ID {
							t.Errorf("%s = %v, want an IntegrityError matching %v naming the forged event %s", what, err, c.kind, d.ID)
						}
					}
					check("authenticated ReadAll", feedError(t, s, suiteKeys()))
					var readErr error
					for _, err := range eventstore.ReadStreamAuthenticated(ctx(t), s, suiteKeys(), "skp-1", eventstore.ReadStreamOptions{}, nil) {
						if err != nil {
							readErr = err
						}
					}
					check("authenticated ReadStream", readErr)
					// A writer must not sign over the forgery.
					for _, exp := range []eventstore.ExpectedRevision{eventstore.Exact(3), eventstore.Any, eventstore.StreamExists} {
						_, err := s.Append(ctx(t), "skp-1", exp, evs(1)...)
						check(fmt.Sprintf("Append onto the forged head (expected %s)", exp), err)
					}
					if n := len(mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})); n != 4 {
						t.Errorf("skp-1 has %d events after the refused appends, want 4", n)
					}
					mustAppend(t, s, "skp-2", eventstore.Exact(0), evs(1)...)
					verifyStream(t, s, "skp-2")
				})
			}
		}},
		{"integrity/events_of_an_untrusted_key_are_refused", func(t *testing.T, h *harness) {
			other := OtherWriterKey()
			s := h.openWith(Config{Signer: other, Keyring: eventstore.NewKeyring(WriterKey().Public(), other.Public())})
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(2)...)
			first := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})[0]
			err := feedError(t, s, eventstore.NewKeyring(WriterKey().Public()))
			var ie *eventstore.IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrUnknownKey) || ie.EventID != first.ID {
				t.Errorf("authenticating another key's events = %v, want ErrUnknownKey naming %s", err, first.ID)
			}
		}},
		{"integrity/rotated_key_keeps_old_events_verifying", func(t *testing.T, h *harness) {
			old, next := WriterKey(), OtherWriterKey()
			s := h.openWith(Config{Signer: old, Keyring: eventstore.NewKeyring(old.Public())})
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(2)...)
			first := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})[0]
			s = h.openWith(Config{Signer: next, Keyring: eventstore.NewKeyring(old.Public(), next.Public())})
			mustAppend(t, s, "skp-1", eventstore.Exact(1), evs(2)...) // onto the old key's head
			mustAppend(t, s, "skp-2", eventstore.NoStream, evs(1)...)
			verifyAll(t, s)
			verifyStream(t, s, "skp-1")
			got := mustReadStream(t, s, "skp-1", eventstore.ReadStreamOptions{})
			if got[1].Signature.KeyID != old.KeyID() || got[3].Signature.KeyID != next.KeyID() {
				t.Errorf("signed by %q and %q, want %q then %q", got[1].Signature.KeyID, got[3].Signature.KeyID, old.KeyID(), next.KeyID())
			}
			// Without the old key in the keyring, its events fail.
			err := feedError(t, s, eventstore.NewKeyring(next.Public()))
			var ie *eventstore.IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrUnknownKey) || ie.EventID != first.ID {
				t.Errorf("authenticating without the retired key = %v, want ErrUnknownKey naming %s", err, first.ID)
			}
		}},
		{"integrity/stale_revision_inside_an_append_is_a_conflict_not_a_forgery", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(3)...) // revisions 0 and 1 are unsigned
			for _, rev := range []uint64{0, 1} {
				_, err := s.Append(ctx(t), "skp-1", eventstore.Exact(rev), evs(1)...)
				if !errors.Is(err, eventstore.ErrWrongExpectedRevision) || errors.Is(err, eventstore.ErrIntegrity) {
					t.Errorf("Append(Exact(%d)) onto a stream at 2 = %v, want a wrong expected revision", rev, err)
				}
			}
		}},
		{"integrity/append_onto_an_unsigned_head_is_refused", func(t *testing.T, h *harness) {
			s := h.openWith(Config{}) // a store without a writer key writes unsigned events
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(2)...)
			s = h.open(eventstore.Limits{})
			for _, exp := range []eventstore.ExpectedRevision{eventstore.Exact(1), eventstore.Any} {
				if _, err := s.Append(ctx(t), "skp-1", exp, evs(1)...); !errors.Is(err, eventstore.ErrUnsigned) || !errors.Is(err, eventstore.ErrIntegrity) {
					t.Errorf("Append(%s) onto an unsigned head = %v, want ErrIntegrity and ErrUnsigned", exp, err)
				}
			}
			mustAppend(t, s, "skp-2", eventstore.NoStream, evs(1)...)
			verifyStream(t, s, "skp-2")
		}},
	}
}

// feedError authenticates the whole global order of s against keys and
// returns the error the feed ended with (nil when everything verified).
// The feed yields nothing after a refusal: what it refuses is never
// delivered.
func feedError(t *testing.T, s eventstore.Store, keys *eventstore.Keyring) error {
	t.Helper()
	a := eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: s})
	for _, err := range a.Feed(ctx(t), s.ReadAll(ctx(t), eventstore.ReadAllOptions{})) {
		if err != nil {
			return err
		}
	}
	return nil
}
