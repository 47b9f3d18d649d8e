package eventlog

import (
	"context"
	"iter"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Prefetch reads the streams a request is about to load in one round trip,
// when the store is an eventstore.TailsReader (pgstore: one statement), and
// returns a context under which Load answers those streams from what was
// read, without asking the store again.
//
// Each stream is asked for from the revision after its cached prefix, so
// the answer carries only what is new and, in the same snapshot, proves
// the cached prefix is still the head's prefix: the read stays strongly
// consistent (it sees every append acknowledged before it began, whichever
// process made it), at the cost of one statement instead of one per
// stream. New events are authenticated (chain links from the cached head,
// writer signatures) and decoded as Load does, and join the cache.
//
// Prefetch is only a shortcut: for a stream it cannot settle (a store
// that is not a TailsReader, a read error, an event that does not
// authenticate, a tail longer than one answer, a cached prefix the store
// does not have) it leaves nothing in the context, and Load reads that
// stream as it would have, reporting the error there. The context is for
// reads: a decision that appends must load its stream afresh.
//
// A stream that an earlier Prefetch of ctx already read is not read again:
// that read was made for the same work, after it began.
func (c *Cached) Prefetch(ctx context.Context, streams ...string) context.Context {
	return c.prefetch(ctx, false, streams)
}

// PrefetchHead is Prefetch that also reads, in the same statement, the
// store's newest committed position when the store can
// (eventstore.TailsHeadReader), and puts it in the returned context
// (eventstore.WithNewestCommitted): a request that must know whether
// anything was committed since it last looked (App.ManyAgencies) then
// asks the store nothing more when nothing was. Without it (a store that
// is not a TailsHeadReader, a read error) the context carries none, and
// the reader asks Head as before.
func (c *Cached) PrefetchHead(ctx context.Context, streams ...string) context.Context {
	return c.prefetch(ctx, true, streams)
}

func (c *Cached) prefetch(ctx context.Context, withHead bool, streams []string) context.Context {
	tr, ok := c.store.(eventstore.TailsReader)
	if !ok || len(streams) == 0 {
		return ctx
	}
	hr, _ := c.store.(eventstore.TailsHeadReader)
	if _, ok := eventstore.NewestCommitted(ctx); ok || hr == nil {
		withHead = false
	}
	prev, _ := ctx.Value(prefetchKey{c}).(prefetched)
	type pending struct {
		stream string
		cached []domain.Stored
		bytes  int
		head   eventstore.Hash
	}
	var before uint64
	if c.commits != nil {
		before = c.commits()
	}
	snap := prefetched{}
	var reqs []eventstore.TailRequest
	var asked []pending
	seen := make(map[string]bool, len(streams))
	for _, s := range streams {
		if seen[s] {
			continue
		}
		seen[s] = true
		if _, ok := prev[s]; ok {
			continue // read for this work already
		}
		cached, bytes, head, complete := c.get(s, before)
		if complete && len(cached) > 0 {
			snap[s] = cached[:len(cached):len(cached)]
			continue
		}
		reqs = append(reqs, eventstore.TailRequest{Stream: s, From: uint64(len(cached))})
		asked = append(asked, pending{stream: s, cached: cached, bytes: bytes, head: head})
	}
	var (
		newest eventstore.Position
		read   bool
	)
	if len(reqs) > 0 {
		var tails []eventstore.Tail
		var err error
		if withHead {
			tails, newest, err = hr.ReadTailsHead(ctx, reqs)
		} else {
			tails, err = tr.ReadTails(ctx, reqs)
		}
		if err != nil {
			tails = nil // Load reads each stream and reports the error
		}
		read = err == nil && withHead
		for i, t := range tails {
			p := asked[i]
			switch {
			case t.More:
				continue // longer than one answer: Load pages through it
			case !t.Exists && len(p.cached) > 0:
				c.drop(p.stream) // the store does not have the cached prefix
				continue
			case !t.Exists:
				snap[p.stream] = nil // no such stream
				continue
			}
			fresh, bytes, head, ok := c.extend(ctx, p.stream, p.cached, p.bytes, p.head, t.Events)
			if !ok {
				continue
			}
			events := p.cached[:len(p.cached):len(p.cached)]
			if len(fresh) > 0 {
				events = c.put(p.stream, p.cached, fresh, bytes, head, before)
			}
			snap[p.stream] = events
		}
	}
	if read {
		ctx = eventstore.WithNewestCommitted(ctx, newest)
	}
	if len(snap) == 0 {
		return ctx
	}
	for s, evs := range prev {
		if _, ok := snap[s]; !ok {
			snap[s] = evs
		}
	}
	return context.WithValue(ctx, prefetchKey{c}, snap)
}

// prefetched holds, per stream, the events a Prefetch read (nil: the stream
// does not exist).
type prefetched map[string][]domain.Stored

// prefetchKey keys a Cached's prefetched streams in a context.
type prefetchKey struct{ c *Cached }

// fromPrefetch answers a Load from what a Prefetch put in ctx: the events,
// the last revision, whether the stream exists, and whether ctx had it.
func (c *Cached) fromPrefetch(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, bool) {
	snap, ok := ctx.Value(prefetchKey{c}).(prefetched)
	if !ok {
		return nil, 0, false, false
	}
	events, ok := snap[stream]
	if !ok {
		return nil, 0, false, false
	}
	if len(events) == 0 {
		return nil, 0, false, true
	}
	return events, uint64(len(events) - 1), true, true
}

// extend authenticates (when the Log requires signatures) and decodes the
// events that follow the cached prefix of stream, whose last chain hash is
// head, and returns them (fresh), the EventBytes of the whole stream and
// its last chain hash. ok is false when they do not follow it or do not
// authenticate: the cached stream is dropped, and Load reads it whole and
// reports the problem.
func (c *Cached) extend(ctx context.Context, stream string, cached []domain.Stored, cachedBytes int, head eventstore.Hash,
	tail []eventstore.Event) (fresh []domain.Stored, bytes int, last eventstore.Hash, ok bool) {
	from := uint64(len(cached))
	if len(tail) == 0 {
		return nil, cachedBytes, head, true
	}
	src := iter.Seq2[eventstore.Event, error](func(yield func(eventstore.Event, error) bool) {
		for _, ev := range tail {
			if !yield(ev, nil) {
				return
			}
		}
	})
	if c.keys != nil {
		var prev *eventstore.Head
		if from > 0 {
			prev = &eventstore.Head{Exists: true, Revision: from - 1, Hash: head}
		}
		src = eventstore.ReadStreamAnchored(ctx, tailReader{tail: tail, from: from, store: c.store}, c.keys, stream,
			eventstore.ReadStreamOptions{From: from}, prev, c.anchor(ctx, stream, from))
	}
	fresh = make([]domain.Stored, 0, len(tail))
	bytes = cachedBytes
	for ev, err := range src {
		if err != nil || ev.Revision != from+uint64(len(fresh)) {
			c.drop(stream)
			return nil, 0, eventstore.Hash{}, false
		}
		s, err := Decode(ev)
		if err != nil {
			return nil, 0, eventstore.Hash{}, false
		}
		fresh = append(fresh, s)
		bytes += EventBytes(ev)
		head = ev.Hash
	}
	if len(fresh) != len(tail) {
		return nil, 0, eventstore.Hash{}, false
	}
	return fresh, bytes, head, true
}

// tailReader serves a tail read as the stream read an authenticated read
// feeds on, and sends any other read (the end of an append cut short) to
// the store.
type tailReader struct {
	tail  []eventstore.Event
	from  uint64
	store eventstore.Store
}

func (r tailReader) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	if opts.From != r.from || opts.Limit != 0 || !opts.AsOf.IsZero() || opts.Direction != eventstore.Forwards {
		return r.store.ReadStream(ctx, stream, opts)
	}
	return func(yield func(eventstore.Event, error) bool) {
		for _, ev := range r.tail {
			if !yield(ev, nil) {
				return
			}
		}
	}
}
