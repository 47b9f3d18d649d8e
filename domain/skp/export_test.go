package skp

import (
	"reflect"

	"github.com/kinerja-ledger/kinerja/domain"
)

// CarriedAsReplayed takes id's carried state as the next command would
// (advanced by the events after it) and reports whether one was carried
// and whether it equals a replay of events, field by field. The state is
// put back.
func CarriedAsReplayed(c *Carry, id string, events []domain.Stored) (carried, equal bool) {
	c.mu.Lock()
	_, carried = c.m[id]
	c.mu.Unlock()
	sk := c.take(id, events)
	equal = reflect.DeepEqual(sk, Replay(events))
	c.put(id, sk, events)
	return carried, equal
}
