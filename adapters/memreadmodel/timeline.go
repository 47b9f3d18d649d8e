package memreadmodel

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// timelineTables hold the timeline compactly: one record per event
// (strings interned, times in microseconds: no pointers), and per employee
// the events, with their part in each, in the global order. An event
// concerns one to four employees; the record is shared.
type timelineTables struct {
	events chunked[tlEvent]
	strs   *strtab
	byNIP  map[string][]tlRef
}

type tlEvent struct {
	position   eventstore.Position
	revision   uint64
	occurredAt int64
	recordedAt int64
	stream     uint32
	typ        uint32
	summary    uint32
	actorID    uint32
	actorRole  uint32
	reason     uint32
}

type tlRef struct {
	event uint32 // index in events
	role  uint32 // interned
}

func newTimelineTables() *timelineTables {
	t := &timelineTables{}
	t.reset()
	return t
}

func (t *timelineTables) reset() {
	t.events, t.strs, t.byNIP = chunked[tlEvent]{}, newStrtab(), map[string][]tlRef{}
}

type timelineTx struct {
	items []timeline.Item
}

var _ timeline.Store = (*timelineTx)(nil)

func (t *timelineTables) begin() *timelineTx { return &timelineTx{} }

func (t *timelineTables) commit(tx *timelineTx) {
	for _, it := range tx.items {
		n := t.events.len()
		if n == 0 || t.events.at(n-1).position != it.Position {
			t.events.add(tlEvent{position: it.Position, revision: it.Revision, stream: t.strs.id(it.Stream), typ: t.strs.id(it.Type),
				summary: t.strs.id(it.Summary), actorID: t.strs.id(it.ActorID), actorRole: t.strs.id(it.ActorRole), reason: t.strs.id(it.Reason),
				occurredAt: it.OccurredAt.UnixMicro(), recordedAt: it.RecordedAt.UnixMicro()})
			n++
		}
		t.byNIP[it.NIP] = append(t.byNIP[it.NIP], tlRef{event: uint32(n - 1), role: t.strs.id(it.Role)})
	}
}

func (tx *timelineTx) AddItem(_ context.Context, it timeline.Item) error {
	tx.items = append(tx.items, it)
	return nil
}

// TimelineReader is the query side of the in-memory timeline: a
// timeline.Reader. Safe for concurrent use.
type TimelineReader struct {
	lock *sync.RWMutex
	t    *timelineTables
}

var _ timeline.Reader = (*TimelineReader)(nil)

// ForEmployee implements timeline.Reader; limit ≤ 0 means
// timeline.DefaultLimit, and at most timeline.MaxLimit items come back.
func (r *TimelineReader) ForEmployee(_ context.Context, nip string, before eventstore.Position, limit int) ([]timeline.Item, error) {
	limit = timeline.PageLimit(limit)
	r.lock.RLock()
	defer r.lock.RUnlock()
	refs := r.t.byNIP[nip]
	end := len(refs)
	if before > 0 {
		end = sort.Search(len(refs), func(i int) bool { return r.t.events.at(int(refs[i].event)).position >= before })
	}
	out := []timeline.Item{}
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		e, str := r.t.events.at(int(refs[i].event)), r.t.strs.str
		out = append(out, timeline.Item{NIP: nip, Position: e.position, Stream: str(e.stream), Revision: e.revision, Type: str(e.typ),
			Role: str(refs[i].role), Summary: str(e.summary), ActorID: str(e.actorID), ActorRole: str(e.actorRole), Reason: str(e.reason),
			OccurredAt: time.UnixMicro(e.occurredAt).UTC(), RecordedAt: time.UnixMicro(e.recordedAt).UTC()})
	}
	return out, nil
}
