package skp

import (
	"container/list"
	"sync"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
)

// Carry keeps, for a writer that commands the same SKPs again and again
// (kinerjactl seed: one task runs an SKP's twenty to forty commands in a
// row), the state each command decided on, so that the next command on
// the stream applies only the events appended since instead of replaying
// the whole stream: a command cost O(events of the SKP), an SKP's commands
// O(events²). Replay was 8–10 % of the seeder's CPU (docs/benchmarks.md).
//
// The state is the same as Replay's: Replay is a fold of the same applier
// over the stream, and a carried state is used only when the events it
// was folded from are the first ones of the stream loaded now (their
// count, and the ID and revision of the last, match); then the rest is
// applied to it. Otherwise the stream is replayed. A state is held by one
// command at a time (taken out while it decides, put back after), so two
// commands on the same SKP at once never share it: the second replays.
// Deciders do not change the SKP they decide on (they are pure), which is
// what makes the state good for the next command.
//
// It also keeps the employees the commands look up (the caller's, the
// employee's and the appraiser's reporting lines, for every command:
// 2.5 % of the seeder's CPU), replayed once per revision of their stream:
// a kept employee is used only when the stream loaded now has the same
// events (count and last ID), and is only read (employee.Employee has no
// exported mutator), so it is shared.
//
// It holds at most its bound of SKPs, the least recently commanded going
// first past it (a province has far more SKPs than the bound: refusing
// new ones left most of them replaying), and of employees (all are
// dropped past it); Forget drops one SKP, Clear
// every SKP. Safe for concurrent use. A nil *Carry replays every time.
type Carry struct {
	mu   sync.Mutex
	max  int
	m    map[string]*list.Element // of carried, by SKP ID
	lru  *list.List               // of carried, most recently put first
	emps map[string]carriedEmployee
}

type carriedEmployee struct {
	e    *employee.Employee
	n    int
	last uuid.UUID
}

// maxCarriedEmployees bounds the employees a Carry keeps (a province has
// 150,000; each is a few hundred bytes).
const maxCarriedEmployees = 1 << 18

type carried struct {
	id   string
	sk   *SKP
	n    int       // events folded into sk
	last uuid.UUID // the ID of the last of them
}

// DefaultCarrySKPs bounds a Carry made with no bound.
const DefaultCarrySKPs = 4096

// NewCarry returns a Carry of at most maxSKPs states
// (DefaultCarrySKPs when ≤ 0).
func NewCarry(maxSKPs int) *Carry {
	if maxSKPs <= 0 {
		maxSKPs = DefaultCarrySKPs
	}
	return &Carry{max: maxSKPs, m: map[string]*list.Element{}, lru: list.New(), emps: map[string]carriedEmployee{}}
}

// employee returns the employee of events (the whole stream of NIP n as
// loaded): the one kept for the same events, or a replay, kept.
func (c *Carry) employee(n string, events []domain.Stored) *employee.Employee {
	if c == nil || len(events) == 0 {
		return employee.Replay(events)
	}
	last := events[len(events)-1].ID
	c.mu.Lock()
	x, ok := c.emps[n]
	c.mu.Unlock()
	if ok && x.n == len(events) && x.last == last {
		return x.e
	}
	e := employee.Replay(events)
	c.mu.Lock()
	if len(c.emps) >= maxCarriedEmployees {
		clear(c.emps)
	}
	c.emps[n] = carriedEmployee{e: e, n: len(events), last: last}
	c.mu.Unlock()
	return e
}

// take returns the SKP of events (the whole stream of id as loaded):
// the carried state advanced by the events after it, or a replay.
func (c *Carry) take(id string, events []domain.Stored) *SKP {
	if c == nil {
		return Replay(events)
	}
	c.mu.Lock()
	var x carried
	el, ok := c.m[id]
	if ok {
		x = c.lru.Remove(el).(carried)
		delete(c.m, id)
	}
	c.mu.Unlock()
	if !ok || x.n == 0 || x.n > len(events) || events[x.n-1].ID != x.last || events[x.n-1].Revision != x.sk.revision {
		return Replay(events)
	}
	for _, e := range events[x.n:] {
		x.sk.apply(e)
	}
	return x.sk
}

// put keeps sk, folded from events, for the next command on id, dropping
// the least recently put state past the bound.
func (c *Carry) put(id string, sk *SKP, events []domain.Stored) {
	if c == nil || sk == nil || len(events) == 0 {
		return
	}
	x := carried{id: id, sk: sk, n: len(events), last: events[len(events)-1].ID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[id]; ok {
		el.Value = x
		c.lru.MoveToFront(el)
		return
	}
	c.m[id] = c.lru.PushFront(x)
	for len(c.m) > c.max {
		old := c.lru.Remove(c.lru.Back()).(carried)
		delete(c.m, old.id)
	}
}

// Forget drops the state of SKP id.
func (c *Carry) Forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if el, ok := c.m[id]; ok {
		c.lru.Remove(el)
		delete(c.m, id)
	}
	c.mu.Unlock()
}

// Clear drops every state.
func (c *Carry) Clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.m)
	c.lru.Init()
	c.mu.Unlock()
}

// Len returns how many states are held.
func (c *Carry) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
