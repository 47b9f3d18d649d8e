package skp

import (
	"reflect"

	"github.com/google/uuid"

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

// CarryKeep puts a state for id as a command on it would.
func CarryKeep(c *Carry, id string) {
	c.put(id, &SKP{}, []domain.Stored{{ID: uuid.New()}})
}

// CarryHolds reports whether a state is carried for id.
func CarryHolds(c *Carry, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[id]
	return ok
}
