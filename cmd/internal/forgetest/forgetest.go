// Package forgetest forges events as an insider with write access to the
// store would, for the commands' integrity tests: with the store's own
// code, but without the writer key.
package forgetest

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// CopyLast appends through s (a store opened without a writer key and
// without a keyring) a copy of the last event of stream with a new ID and
// reason: a valid link of the stream's hash chain, unsigned. It returns
// the forged event as stored.
func CopyLast(tb testing.TB, s eventstore.Store, stream, reason string) eventstore.Event {
	tb.Helper()
	ctx := context.Background()
	var last eventstore.Event
	for ev, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			tb.Fatalf("forge: read %s: %v", stream, err)
		}
		last = ev
	}
	d := last.EventData
	d.ID, d.Reason = uuid.New(), reason
	res, err := s.Append(ctx, stream, eventstore.Exact(last.Revision), d)
	if err != nil {
		tb.Fatalf("forge: %v", err)
	}
	for ev, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: res.Revision, Limit: 1}) {
		if err != nil {
			tb.Fatal(err)
		}
		if !ev.Signature.IsZero() {
			tb.Fatal("forge: the forged event is signed: open the store without a writer key")
		}
		return ev
	}
	tb.Fatal("forge: the forged event is not in the store")
	return eventstore.Event{}
}
