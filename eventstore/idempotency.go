package eventstore

// IdempotencyExpected: the event IDs were appended before, under an expected
// revision that the repeated call's expected revision contradicts.
const IdempotencyExpected = "the event IDs were appended before with another expected revision"

// CheckRepeat decides whether an append is a pure repetition of an earlier
// one. events are the (prepared) events of the call; stored[i] is the stored
// event with events[i].ID, or nil when that ID is not stored anywhere.
//
// It returns (result, true, nil) for a pure repetition: every ID is stored,
// in stream, at consecutive revisions in call order, with the same content,
// at revisions that the expected revision allows; the result is the first
// append's. It returns (_, false, nil) when none of the IDs is stored, and an
// [*IdempotencyError] for anything in between. Backends call it when an
// append fails on a revision or event-ID conflict, so that a retry of an
// acknowledged append returns the first result however long ago it was.
func CheckRepeat(stream string, expected ExpectedRevision, events []EventData, stored []*Event) (AppendResult, bool, error) {
	found := 0
	for _, s := range stored {
		if s != nil {
			found++
		}
	}
	switch {
	case found == 0:
		return AppendResult{}, false, nil
	case found < len(events):
		for i, s := range stored {
			if s == nil {
				return AppendResult{}, false, &IdempotencyError{Stream: stream, EventID: events[i].ID, Reason: IdempotencyPartial}
			}
		}
	}
	first := stored[0].Revision
	for i, s := range stored {
		e := &events[i]
		switch {
		case s.Stream != stream:
			return AppendResult{}, false, &IdempotencyError{Stream: stream, EventID: e.ID, Reason: IdempotencyOtherStream}
		case s.Revision != first+uint64(i):
			return AppendResult{}, false, &IdempotencyError{Stream: stream, EventID: e.ID, Reason: IdempotencyOrder}
		case !SameContent(&s.EventData, e):
			return AppendResult{}, false, &IdempotencyError{Stream: stream, EventID: e.ID, Reason: IdempotencyContent}
		}
	}
	ok := true
	switch {
	case expected.IsNoStream():
		ok = first == 0
	case expected.IsStreamExists():
		ok = first > 0
	default:
		if rev, exact := expected.Revision(); exact {
			ok = first == rev+1
		}
	}
	if !ok {
		return AppendResult{}, false, &IdempotencyError{Stream: stream, EventID: events[0].ID, Reason: IdempotencyExpected}
	}
	last := stored[len(stored)-1]
	return AppendResult{Revision: last.Revision, Position: last.Position, Hash: last.Hash}, true, nil
}

// SameContent reports whether two events carry the same envelope and data
// (ignoring nothing the hash chain covers, except stream and revision).
func SameContent(a, b *EventData) bool {
	return a.ID == b.ID && a.Type == b.Type && a.SchemaVersion == b.SchemaVersion &&
		a.OccurredAt.Equal(b.OccurredAt) && a.Actor == b.Actor &&
		a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID &&
		a.Reason == b.Reason && string(a.Data) == string(b.Data)
}
