package esdbstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Event-ID claims.
//
// KurrentDB checks event IDs only within one stream, and reliably only for
// appends with an exact expected revision; with any or stream_exists it
// looks only in a bounded cache of recent IDs. The port needs permanent,
// global uniqueness and repeats that return the first result, so before an
// append writes its events it claims each event ID: it appends one event,
// {"stream": "<stream>"}, to the claim stream "_eid-<id>" (after the
// namespace) with expected revision no_stream.
//
//   - The claim is new: no append of this store has used the ID; the call
//     cannot be a repeat.
//   - The claim exists for the same stream: the ID was used by an earlier
//     append to this stream (which may or may not have been written); the
//     call may be a repeat and is settled by reading the stream.
//   - The claim exists for another stream: the call fails with
//     IdempotencyOtherStream.
//
// Claims are written before the events and are never removed, so a claim
// may outlive an append that failed afterwards: the ID then stays reserved
// for its stream (using it there again works; using it in another stream
// fails as if it were stored there). Claim streams are not valid stream
// names, so no read of this store ever returns them.

// claimType is the event type of a claim.
const claimType = "kinerja.event_id_claimed.v1"

// claimConcurrency bounds the claims of one append in flight at once.
const claimConcurrency = 16

type claimData struct {
	Stream string `json:"stream"`
}

type claimResult int

const (
	claimNew claimResult = iota
	claimSameStream
	claimOtherStream
)

// claim claims the IDs of events for stream. It reports whether some ID
// was claimed for this stream before (the call may repeat an earlier
// append) and fails with an *eventstore.IdempotencyError when an ID is
// claimed by another stream.
func (s *Store) claim(ctx context.Context, stream string, events []eventstore.EventData) (repeat bool, err error) {
	results := make([]claimResult, len(events))
	errs := make([]error, len(events))
	if len(events) == 1 {
		results[0], errs[0] = s.claimOne(ctx, stream, events[0].ID)
	} else {
		sem := make(chan struct{}, claimConcurrency)
		var wg sync.WaitGroup
		for i := range events {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return false, s.ctxErr(ctx)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[i], errs[i] = s.claimOne(ctx, stream, events[i].ID)
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return false, err
		}
	}
	for i, r := range results {
		switch r {
		case claimOtherStream:
			return false, &eventstore.IdempotencyError{Stream: stream, EventID: events[i].ID, Reason: eventstore.IdempotencyOtherStream}
		case claimSameStream:
			repeat = true
		}
	}
	return repeat, nil
}

// claimOne claims one event ID for stream.
func (s *Store) claimOne(ctx context.Context, stream string, id uuid.UUID) (claimResult, error) {
	data, err := json.Marshal(claimData{Stream: stream})
	if err != nil {
		return 0, err
	}
	name := s.names.claim(id.String())
	ev := esdb.EventData{EventID: uuid.New(), EventType: claimType, ContentType: esdb.ContentTypeJson, Data: data}
	err = s.call(ctx, func(c *esdb.Client) error {
		_, err := c.AppendToStream(ctx, name, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev)
		return err
	})
	switch {
	case err == nil:
		return claimNew, nil
	case !wrongExpected(err):
		return 0, fmt.Errorf("esdbstore: claim event ID %s: %w", id, err)
	}
	// Claimed before: by whom?
	for r, err := range s.readStream(ctx, name, esdb.Forwards, esdb.Start{}, 1) {
		if err != nil {
			return 0, fmt.Errorf("esdbstore: read claim of event ID %s: %w", id, err)
		}
		var cd claimData
		if err := json.Unmarshal(r.Data, &cd); err != nil {
			return 0, fmt.Errorf("esdbstore: claim of event ID %s: %v", id, err)
		}
		if cd.Stream == stream {
			return claimSameStream, nil
		}
		return claimOtherStream, nil
	}
	return 0, fmt.Errorf("esdbstore: claim of event ID %s: refused, but the claim stream is empty", id)
}

// wrongExpected reports whether err is KurrentDB's WrongExpectedVersion.
func wrongExpected(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeWrongExpectedVersion
}
