package boltstore

import "github.com/kinerja-ledger/kinerja/eventstore"

// EncodeEventForTest exposes the record encoding to the forging test
// helper, which writes records around the store.
func EncodeEventForTest(e *eventstore.Event) []byte { return encodeEvent(e) }

// WriteTxsForTest counts every committed write transaction, those that
// wrote only idempotency records included.
func (s *Store) WriteTxsForTest() uint64 { return s.writeTxs.Load() }
