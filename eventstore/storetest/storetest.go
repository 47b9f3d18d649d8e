// Package storetest is the conformance suite every eventstore.Store backend
// must pass. A backend's test calls Run with a Backend describing how to make
// fresh storage, open it, and (where the backend can) tamper with it, hold a
// commit open, and crash a writer.
//
// The suite checks the semantics documented on eventstore.Store: ordering,
// expected revisions (also under racing goroutines), permanent idempotency,
// stream and global reads, as-of reads, subscriptions that never skip or
// repeat (also under concurrent writers with late commits), the hash chain
// and tamper detection, writer signatures (every append signed, its events
// contiguous in the global order, forged inserts refused by readers and
// writers, unknown and rotated keys), limits, context cancellation, and
// crash durability.
//
// Every store the suite opens signs with WriterKey unless a case says
// otherwise, and every verification authenticates against it.
package storetest

import (
	"crypto/ed25519"
	"slices"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Config is what the suite asks a backend to open a store with.
type Config struct {
	// Limits bounds appends; zero fields mean the defaults.
	Limits eventstore.Limits
	// Signer signs every append; nil means unsigned appends.
	Signer eventstore.Signer
	// Keyring verifies the stream heads appends build on; nil means no check.
	Keyring *eventstore.Keyring
}

// WriterKey is the suite's writer key (fixed, so that a crash child signs
// with it too); OtherWriterKey is a second one, for rotation and for a key
// no keyring trusts.
func WriterKey() *eventstore.Ed25519Signer { return keyFromSeed(1) }

// OtherWriterKey is a second fixed writer key.
func OtherWriterKey() *eventstore.Ed25519Signer { return keyFromSeed(2) }

func keyFromSeed(b byte) *eventstore.Ed25519Signer {
	return eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(slices.Repeat([]byte{b}, ed25519.SeedSize)))
}

// DefaultConfig is the configuration the suite opens stores with: the
// default limits, WriterKey signing, a keyring of WriterKey.
func DefaultConfig() Config {
	return Config{Signer: WriterKey(), Keyring: eventstore.NewKeyring(WriterKey().Public())}
}

// Backend describes a backend to the suite.
type Backend struct {
	// Name is used in test names and messages.
	Name string

	// NewLocation creates empty storage for one store and returns a string
	// that Open understands (a file path, a database URL with a fresh schema,
	// a server address). Cleanup is registered on tb.
	NewLocation func(tb testing.TB) string

	// Open opens a store on loc with cfg. Opening a location again after
	// Close must see everything written.
	Open func(loc string, cfg Config) (eventstore.Store, error)

	// Tamper, if set, changes one byte of the stored data of the event at
	// (stream, revision) directly in storage, bypassing the store. The store
	// at loc is closed while Tamper runs.
	Tamper func(tb testing.TB, loc, stream string, revision uint64)

	// Forge, if set, writes ev into storage as an insider would, around the
	// store (which is closed while Forge runs): at the next global position,
	// with ev's stream, revision, hash and signature as given (the suite
	// computes a valid chain hash). The store's own indexes must be kept
	// consistent, so that the store serves ev as its stream's head.
	Forge func(tb testing.TB, loc string, ev eventstore.Event)

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
