package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Append writes events to the end of stream if its revision matches
// expected. See eventstore.Store and the package doc for how KurrentDB is
// used.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	prepared, err := eventstore.Prepare(stream, events, s.opts.Limits)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if ctx.Err() != nil {
		return eventstore.AppendResult{}, fmt.Errorf("esdbstore: append %s: %w", stream, s.ctxErr(ctx))
	}
	res, err := s.append(ctx, stream, expected, prepared)
	if err == nil {
		return res, nil
	}
	var (
		wrong *eventstore.WrongExpectedRevisionError
		idem  *eventstore.IdempotencyError
	)
	switch {
	case errors.As(err, &wrong), errors.As(err, &idem):
		return eventstore.AppendResult{}, err
	case ctx.Err() != nil:
		err = s.ctxErr(ctx)
	}
	return eventstore.AppendResult{}, fmt.Errorf("esdbstore: append %s: %w", stream, err)
}

// append appends prepared events (see Append).
func (s *Store) append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	repeat, err := s.claim(ctx, stream, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if expected.IsAny() || expected.IsStreamExists() {
		// Writers in this process take turns, so that they do not make
		// each other retry.
		defer s.streamLocks.lock(stream)()
	}
	last := len(events) - 1
	var wrong error
	for range s.opts.MaxAppendAttempts {
		var head eventstore.Head
		if repeat {
			// Some IDs were claimed for this stream before: settle whether
			// this is a repeat from what the stream holds.
			stored, h, err := s.lookup(ctx, stream, events)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			res, ok, err := eventstore.CheckRepeat(stream, expected, events, stored)
			if err != nil || ok {
				return res, err
			}
			if err := expected.Check(stream, h); err != nil {
				return eventstore.AppendResult{}, err
			}
			head = h
		} else if head, err = s.headFor(ctx, stream, expected); err != nil {
			return eventstore.AppendResult{}, err
		}

		hashes := eventstore.Seal(stream, head, events)
		sig, err := eventstore.SignHash(s.opts.Signer, hashes[last])
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		wr, err := s.write(ctx, stream, head, events, hashes, sig)
		if err == nil {
			res := eventstore.AppendResult{Revision: head.Next() + uint64(last), Hash: hashes[last]}
			if wr.NextExpectedVersion != res.Revision {
				s.heads.forget(stream)
				return eventstore.AppendResult{}, fmt.Errorf("esdbstore: append %s: the server reports revision %d after writing revisions %d..%d", stream, wr.NextExpectedVersion, head.Next(), res.Revision)
			}
			pos, known := writePosition(wr)
			if repeat || !known {
				// KurrentDB compares event IDs only: an exact-revision
				// append of IDs it already holds there succeeds without
				// writing. Check that the stored events are these.
				got, err := s.eventAt(ctx, stream, res.Revision)
				if err != nil {
					return eventstore.AppendResult{}, err
				}
				if got.ID != events[last].ID || got.Hash != res.Hash {
					s.heads.forget(stream)
					repeat = true
					continue
				}
				pos = got.Position
			}
			res.Position = pos
			s.heads.put(stream, eventstore.Head{Exists: true, Revision: res.Revision, Hash: res.Hash})
			return res, nil
		}
		if !wrongExpected(err) {
			return eventstore.AppendResult{}, err
		}
		// Another writer won, or (for a repeat) KurrentDB found only some
		// of the IDs where they should be ("corrupted idempotency", which
		// it answers with WrongExpectedVersion too).
		s.heads.forget(stream)
		h, err := s.streamHead(ctx, stream)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		wrong = &eventstore.WrongExpectedRevisionError{Stream: stream, Expected: expected, Actual: h.Revision, ActualExists: h.Exists}
		if repeat || expected.IsAny() || expected.IsStreamExists() {
			continue
		}
		if err := expected.Check(stream, h); err != nil {
			return eventstore.AppendResult{}, err
		}
		// The head matches now (the stream grew up to the expected
		// revision meanwhile): try again.
	}
	if wrong == nil {
		wrong = fmt.Errorf("esdbstore: append %s: the stored events kept differing from the append", stream)
	}
	return eventstore.AppendResult{}, wrong
}

// headFor returns the head to build an append on: the cached head when it
// can be used, else the head read from the server. For an exact expected
// revision it fails with a *eventstore.WrongExpectedRevisionError when the
// head read does not match; the server checks every other case.
func (s *Store) headFor(ctx context.Context, stream string, expected eventstore.ExpectedRevision) (eventstore.Head, error) {
	if expected.IsNoStream() {
		return eventstore.Head{}, nil
	}
	if h, ok := s.heads.get(stream); ok {
		if rev, exact := expected.Revision(); !exact || h.Revision == rev {
			return h, nil
		}
	}
	h, err := s.streamHead(ctx, stream)
	if err != nil {
		return eventstore.Head{}, err
	}
	if expected.IsAny() {
		return h, nil
	}
	return h, expected.Check(stream, h)
}

// write sends one append with the exact expected revision of head.
func (s *Store) write(ctx context.Context, stream string, head eventstore.Head, events []eventstore.EventData, hashes []eventstore.Hash, sig eventstore.WriterSignature) (*esdb.WriteResult, error) {
	data := make([]esdb.EventData, len(events))
	for i := range events {
		var si eventstore.WriterSignature
		if i == len(events)-1 {
			si = sig
		}
		d, err := toEventData(&events[i], hashes[i], si)
		if err != nil {
			return nil, fmt.Errorf("esdbstore: encode event %d: %w", i, err)
		}
		data[i] = d
	}
	var exp esdb.ExpectedRevision = esdb.NoStream{}
	if head.Exists {
		exp = esdb.Revision(head.Revision)
	}
	var wr *esdb.WriteResult
	err := s.call(ctx, func(c *esdb.Client) error {
		var err error
		wr, err = c.AppendToStream(ctx, s.names.physical(stream), esdb.AppendToStreamOptions{ExpectedRevision: exp}, data...)
		return err
	})
	return wr, err
}

// writePosition returns the position of the last event of a successful
// append, from the server's answer: KurrentDB reports the log position of
// the last record written (or, for an idempotent repeat, of the last event
// found), as commit = prepare. An answer without a position (0 or -1) is
// not known.
func writePosition(wr *esdb.WriteResult) (eventstore.Position, bool) {
	if wr.CommitPosition == 0 && wr.PreparePosition == 0 {
		return 0, false
	}
	p, err := toPosition(esdb.Position{Commit: wr.CommitPosition, Prepare: wr.PreparePosition})
	return p, err == nil
}

// eventAt reads the event at (stream, revision).
func (s *Store) eventAt(ctx context.Context, stream string, revision uint64) (eventstore.Event, error) {
	for r, err := range s.readStream(ctx, s.names.physical(stream), esdb.Forwards, esdb.Revision(revision), 1) {
		if err != nil {
			return eventstore.Event{}, s.readErr(stream, err)
		}
		return decode(stream, r)
	}
	return eventstore.Event{}, fmt.Errorf("esdbstore: append %s: revision %d is missing after the server acknowledged it", stream, revision)
}

// lookup reads the whole stream and returns, for each event, the stored
// event with its ID (or nil), and the stream's head. It runs only for
// appends whose IDs were claimed for this stream before.
func (s *Store) lookup(ctx context.Context, stream string, events []eventstore.EventData) ([]*eventstore.Event, eventstore.Head, error) {
	want := make(map[[16]byte]int, len(events))
	for i, e := range events {
		want[e.ID] = i
	}
	stored := make([]*eventstore.Event, len(events))
	var head eventstore.Head
	var last eventstore.Event
	for r, err := range s.readStream(ctx, s.names.physical(stream), esdb.Forwards, esdb.Start{}, unlimited) {
		if err != nil {
			if notFound(err) {
				return stored, eventstore.Head{}, nil
			}
			return nil, eventstore.Head{}, s.readErr(stream, err)
		}
		e, err := decode(stream, r)
		if err != nil {
			return nil, eventstore.Head{}, err
		}
		head, last = eventstore.Head{Exists: true, Revision: e.Revision, Hash: e.Hash}, e
		if i, ok := want[e.ID]; ok {
			stored[i] = &e
		}
	}
	if err := s.checkHead(last); head.Exists && err != nil {
		found := false
		for _, e := range stored {
			found = found || e != nil
		}
		if !found {
			return nil, eventstore.Head{}, err
		}
		// A repetition is answered from what is stored; it builds on nothing.
		return stored, eventstore.Head{}, nil
	}
	s.heads.put(stream, head)
	return stored, head, nil
}

// keyedLocks is a mutex per stream name, kept only while in use.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu    sync.Mutex
	users int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedLock)
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
