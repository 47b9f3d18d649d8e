package seed

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
)

// cachedLog is a write-through cache of decoded streams in front of the
// caller's event log, for the run's commands only. Without it every
// command re-reads and re-decodes its SKP's whole stream (and the
// employee and unit streams it looks up) from the store, which is most of
// a seed's CPU.
//
// It serves what a load from the store would: the events appended through
// it are kept as the deciders made them (the values the log encoded), with
// the revision the log returned. They were encoded once more and decoded
// again before, so that the cache held what the codec gives back: 8 % of
// the seeder's CPU (docs/benchmarks.md, seedcpu). A decided event and its
// decoding are the same value for every decision (the domain's events are
// plain values, and its codec round-trips them: the event codec's golden
// tests), and TestDeterministic compares a cached run's events with an
// uncached one's, byte for byte. Only RecordedAt is left zero, because the
// store stamps it on commit and the log does not return it; no decision
// reads it (only views and as-of reads do, which the seed does not serve
// from here). It assumes the run is the only writer of the streams it
// caches: a revision conflict, or any failed append, drops the stream,
// and the handler's retry then loads it from the store.
type cachedLog struct {
	log    domain.EventLog
	shards [64]cacheShard // by a hash of the stream name: hundreds of workers share it
}

type cacheShard struct {
	mu      sync.RWMutex
	streams map[string]cachedStream
}

// cachedStream is a stream as cached. Loads hand out events clipped to
// their length, so appends may fill the spare capacity in place: no reader
// sees beyond the length it was given, and a reader's own append
// reallocates.
type cachedStream struct {
	events []domain.Stored
	rev    uint64
	// absent: the store had no such stream when it was loaded, and the
	// run has not created it since. The lookups of the domain ask for
	// streams that do not exist, again and again (the next SKP sequence
	// of an appraiser, on every cascaded RHK of their staff; the SKP a
	// draft is about to create), and each such load was a query.
	absent bool
}

var _ domain.EventLog = (*cachedLog)(nil)

func newCachedLog(log domain.EventLog) *cachedLog {
	c := &cachedLog{log: log}
	for i := range c.shards {
		c.shards[i].streams = map[string]cachedStream{}
	}
	return c
}

func (c *cachedLog) shard(stream string) *cacheShard {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(stream); i++ {
		h = (h ^ uint32(stream[i])) * 16777619
	}
	return &c.shards[h%uint32(len(c.shards))]
}

// Load implements domain.EventLog.
func (c *cachedLog) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	sh := c.shard(stream)
	sh.mu.RLock()
	s, ok := sh.streams[stream]
	sh.mu.RUnlock()
	if ok {
		if s.absent {
			return nil, 0, false, nil
		}
		return slices.Clip(s.events), s.rev, true, nil
	}
	events, rev, exists, err := c.log.Load(ctx, stream)
	if err != nil {
		return events, rev, exists, err
	}
	if !exists {
		sh.mu.Lock()
		if _, ok := sh.streams[stream]; !ok {
			sh.streams[stream] = cachedStream{absent: true}
		}
		sh.mu.Unlock()
		return events, rev, false, nil
	}
	sh.mu.Lock()
	if cur, ok := sh.streams[stream]; !ok || cur.absent || cur.rev < rev {
		sh.streams[stream] = cachedStream{events: slices.Clip(events), rev: rev}
	}
	sh.mu.Unlock()
	return events, rev, true, nil
}

// Append implements domain.EventLog.
func (c *cachedLog) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	rev, err := c.log.Append(ctx, stream, expected, events)
	if err != nil {
		c.forget(stream)
		return rev, err
	}
	stored := make([]domain.Stored, len(events))
	first := rev + 1 - uint64(len(events))
	for i, e := range events {
		m := e.Meta
		m.OccurredAt = domain.NormalTime(m.OccurredAt)
		stored[i] = domain.Stored{ID: e.ID, Revision: first + uint64(i), Meta: m, Event: e.Event}
	}
	sh := c.shard(stream)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	prev, ok := sh.streams[stream]
	after, exists := expected.Revision()
	switch {
	case !exists && (!ok || prev.absent):
		sh.streams[stream] = cachedStream{events: stored, rev: rev}
	case exists && ok && !prev.absent && prev.rev == after:
		sh.streams[stream] = cachedStream{events: append(prev.events, stored...), rev: rev}
	default:
		delete(sh.streams, stream) // not cached, or cached at another revision
	}
	return rev, nil
}

func (c *cachedLog) forget(stream string) {
	sh := c.shard(stream)
	sh.mu.Lock()
	delete(sh.streams, stream)
	sh.mu.Unlock()
}

// dropPrefix forgets every stream whose name starts with prefix (the SKP
// streams after a phase, to bound the memory a large run holds).
func (c *cachedLog) dropPrefix(prefix string) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k := range sh.streams {
			if strings.HasPrefix(k, prefix) {
				delete(sh.streams, k)
			}
		}
		sh.mu.Unlock()
	}
}
