// Package storetest is the conformance suite every eventstore.Store backend
// must pass. A backend's test calls Run with a Backend describing how to make
// fresh storage, open it, and (where the backend can) tamper with it, hold a
// commit open, and crash a writer.
//
// The suite checks the semantics documented on eventstore.Store: ordering,
// expected revisions (also under racing goroutines), permanent idempotency,
// stream and global reads, as-of reads, subscriptions that never skip or
// repeat (also under concurrent writers with late commits), the hash chain
// and tamper detection, limits, context cancellation, and crash durability.
package storetest

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Backend describes a backend to the suite.
type Backend struct {
	// Name is used in test names and messages.
	Name string

	// NewLocation creates empty storage for one store and returns a string
	// that Open understands (a file path, a database URL with a fresh schema,
	// a server address). Cleanup is registered on tb.
	NewLocation func(tb testing.TB) string

	// Open opens a store on loc with the given limits (zero means defaults).
	// Opening a location again after Close must see everything written.
	Open func(loc string, limits eventstore.Limits) (eventstore.Store, error)

	// Tamper, if set, changes one byte of the stored data of the event at
	// (stream, revision) directly in storage, bypassing the store. The store
	// at loc is closed while Tamper runs.
	Tamper func(tb testing.TB, loc, stream string, revision uint64)

	// LateCommit, if set, starts an append of ev to stream (a new stream) in
	// a transaction that stays open until the returned commit function is
	// called, so that later appends commit first. It returns only after the
	// event has been written (uncommitted).
	LateCommit func(tb testing.TB, s eventstore.Store, stream string, ev eventstore.EventData) (commit func() error)

	// Crash enables the crash-durability test. The backend's TestMain must
	// call CrashChildMain so that the test binary can act as the child.
	Crash bool

	// Exclusive reports that a location can be opened by one store at a time
	// (a second Open fails while the first is open).
	Exclusive bool
}
