package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// SubscribeAll delivers this store's events after opts.After that match
// opts.Filter, in the global order: history, then live. It runs on the
// client's SubscribeToAll with a server-side stream-name filter (so system
// streams, metadata streams and claim streams are never sent) and applies
// the whole filter here too. When the subscription drops (the node
// restarts, the connection breaks, the node drops a slow subscriber) it
// subscribes again from the last event it saw, exclusive, waiting up to
// Options.ResubscribeBackoff between attempts for as long as ctx lasts.
// opts.After must be 0 or a position this store returned. See
// eventstore.Store.
func (s *Store) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		ctx, cancel := s.opContext(ctx)
		defer cancel()
		if opts.After == math.MaxUint64 {
			// Nothing can follow the largest position: wait for the end.
			<-ctx.Done()
			yield(eventstore.Event{}, s.ctxErr(ctx))
			return
		}
		f := &follower{
			s: s, filter: opts.Filter, after: opts.After, yield: yield,
			server: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: s.names.streamRegex(opts.Filter)},
		}
		backoff := time.Duration(0)
		for {
			if ctx.Err() != nil {
				yield(eventstore.Event{}, s.ctxErr(ctx))
				return
			}
			began := time.Now()
			delivered := f.seen
			stopped, err := f.run(ctx)
			switch {
			case stopped:
				return
			case ctx.Err() != nil:
				yield(eventstore.Event{}, s.ctxErr(ctx))
				return
			case !retriable(err):
				yield(eventstore.Event{}, fmt.Errorf("esdbstore: subscribe to $all: %w", err))
				return
			}
			if f.seen > delivered || time.Since(began) > s.opts.ResubscribeBackoff {
				backoff = 0
			}
			s.opts.Logger.Warn("esdbstore_subscription_dropped", "error", err.Error(), "after_position", uint64(f.after), "retry_in", backoff.String())
			if backoff > 0 {
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), s.opts.ResubscribeBackoff)
		}
	}
}

// follower is the state of one SubscribeAll across resubscriptions.
type follower struct {
	s      *Store
	filter eventstore.Filter
	server *esdb.SubscriptionFilter
	yield  func(eventstore.Event, error) bool

	after eventstore.Position // the last of our events seen (or the start)
	seen  int
}

// permanentError is a subscription error that resubscribing cannot cure.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// run subscribes once from f.after and delivers until the subscription
// drops (err) or the consumer stops (stopped).
func (f *follower) run(ctx context.Context) (stopped bool, err error) {
	sub, l, err := f.subscribe(ctx)
	if err != nil {
		return false, err
	}
	defer l.end()
	defer sub.Close()
	start := f.after
	for {
		se := sub.Recv()
		switch {
		case se.SubscriptionDropped != nil:
			l.report(se.SubscriptionDropped.Error)
			return false, se.SubscriptionDropped.Error
		case se.EventAppeared == nil:
			continue // a checkpoint, caught up, fell behind
		}
		r := se.EventAppeared.OriginalEvent()
		stream, ours := f.s.names.isOurs(r)
		if !ours {
			continue
		}
		e, err := decode(stream, r)
		if err != nil {
			return false, permanentError{err}
		}
		if e.Position <= f.after {
			if f.after == start {
				continue // at or before the (exclusive) start: seen already
			}
			return false, permanentError{orderError(e, f.after)}
		}
		f.after = e.Position
		f.seen++
		if !f.filter.Match(e.Stream, e.Type) {
			continue
		}
		if !f.yield(e, nil) {
			return true, nil
		}
	}
}

// subscribe starts a subscription to $all after f.after. The client call
// runs on its own goroutine, so that it cannot outlive ctx.
func (f *follower) subscribe(ctx context.Context) (*esdb.Subscription, *lease, error) {
	var from esdb.AllPosition = esdb.Start{}
	if f.after > 0 {
		from = fromPosition(f.after) // exclusive for subscriptions
	}
	type result struct {
		sub *esdb.Subscription
		l   *lease
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var sub *esdb.Subscription
		l, err := f.s.open(ctx, func(c *esdb.Client) error {
			var err error
			sub, err = c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: f.server})
			return err
		})
		ch <- result{sub, l, err}
	}()
	select {
	case r := <-ch:
		return r.sub, r.l, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil {
				r.sub.Close()
				r.l.end()
			}
		}()
		return nil, nil, ctx.Err()
	}
}

// retriable reports whether a subscription that failed with err may work
// when started again.
func retriable(err error) bool {
	var p permanentError
	if errors.As(err, &p) || errors.Is(err, eventstore.ErrClosed) {
		return false
	}
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeUnsupportedFeature, esdb.ErrorCodeParsing:
			return false
		}
		return true
	}
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument, codes.Unimplemented, codes.NotFound:
		return false
	}
	return true
}

// streamRegex returns the server-side filter of a subscription: stream
// names in the namespace that start like a valid stream name (a letter or
// digit: never "$" system or metadata streams, never "_" claim streams),
// narrowed to f's stream prefixes. KurrentDB takes one filter, on stream
// names or on event types, so type prefixes are applied here only.
func (n names) streamRegex(f eventstore.Filter) string {
	const start = "[A-Za-z0-9]"
	ns := regexp.QuoteMeta(n.ns)
	if len(f.StreamPrefixes) == 0 {
		return "^" + ns + start
	}
	alts := make([]string, len(f.StreamPrefixes))
	for i, p := range f.StreamPrefixes {
		if p == "" {
			alts[i] = start
		} else {
			alts[i] = regexp.QuoteMeta(p)
		}
	}
	return "^" + ns + "(?:" + strings.Join(alts, "|") + ")"
}
