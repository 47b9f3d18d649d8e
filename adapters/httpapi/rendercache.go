package httpapi

import (
	"container/list"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// renderCache keeps rendered SKP views. A view is a pure function of the
// SKP's revision and the instant it is judged at, so a rendering can be
// served again to any caller authorised to read the SKP: a historical one
// (as_of, revision) forever, a current one until the earliest objection
// deadline after the instant it was judged at (when a derived status
// changes), and never longer than renderTTL. Rendering the JSON of a view
// was the largest cost of GET /v1/skps/{id}.
type renderCache struct {
	mu    sync.Mutex
	bytes int
	max   int
	lru   *list.List
	byKey map[string]*list.Element
}

type rendered struct {
	key   string
	body  []byte
	until time.Time // zero: no expiry (historical)
}

// renderTTL bounds how long a current rendering is served.
const renderTTL = time.Minute

func newRenderCache(maxBytes int) *renderCache {
	return &renderCache{max: maxBytes, lru: list.New(), byKey: map[string]*list.Element{}}
}

// renderKey is "c<id>@<revision>" for a current view and
// "h<id>@<revision>@<at, Unix µs>" for a historical one: the kind tag and
// the digits-only fields read from the right make every key name one view
// even if an ID held '@'.
func renderKey(p skp.Prepared) string {
	b := make([]byte, 0, 1+len(p.ID)+2+20+20)
	if p.Historical {
		b = append(b, 'h')
	} else {
		b = append(b, 'c')
	}
	b = append(b, p.ID...)
	b = append(b, '@')
	b = strconv.AppendUint(b, p.Revision, 10)
	if p.Historical {
		b = append(b, '@')
		b = strconv.AppendInt(b, p.At.UnixMicro(), 10)
	}
	return string(b)
}

// body returns the JSON of p's view judged at now, rendering it if needed.
func (c *renderCache) body(p skp.Prepared, now time.Time) ([]byte, error) {
	key := renderKey(p)
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		r := el.Value.(*rendered)
		if r.until.IsZero() || now.Before(r.until) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return r.body, nil
		}
		c.remove(el)
	}
	c.mu.Unlock()
	v := p.View()
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	var until time.Time
	if !p.Historical {
		until = validUntil(v, p.At)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	c.byKey[key] = c.lru.PushFront(&rendered{key: key, body: b, until: until})
	c.bytes += len(b)
	for c.bytes > c.max && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
	return b, nil
}

// validUntil is when a current view judged at at may first change without
// a new event: the earliest objection deadline after at, at most renderTTL.
func validUntil(v skp.View, at time.Time) time.Time {
	until := at.Add(renderTTL)
	for _, e := range v.Evaluations {
		if d := e.ObjectionDeadline; d != nil && d.After(at) && d.Before(until) {
			until = *d
		}
		for _, o := range e.Objections {
			if o.Deadline.After(at) && o.Deadline.Before(until) {
				until = o.Deadline
			}
		}
	}
	return until
}

// remove drops el; called with c.mu held.
func (c *renderCache) remove(el *list.Element) {
	r := el.Value.(*rendered)
	c.lru.Remove(el)
	delete(c.byKey, r.key)
	c.bytes -= len(r.body)
}
