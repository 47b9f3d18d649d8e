package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// unlimited is the count of a read that stops on its own; KurrentDB takes
// counts as signed 64-bit numbers.
const unlimited = math.MaxInt64

// recv runs a read that start opens and yields its events. The client's
// Recv runs on a pump goroutine, so the sequence ends with the context's
// error as soon as ctx is done, whatever the client does. Breaking out of
// the sequence stops the read.
func (s *Store) recv(ctx context.Context, start func(ctx context.Context, c *esdb.Client) (*esdb.ReadStream, error)) iter.Seq2[*esdb.RecordedEvent, error] {
	return func(yield func(*esdb.RecordedEvent, error) bool) {
		ctx, cancel := s.opContext(ctx)
		defer cancel()
		if ctx.Err() != nil {
			yield(nil, s.ctxErr(ctx))
			return
		}
		type item struct {
			ev  *esdb.RecordedEvent
			err error
		}
		ch := make(chan item, 64)
		send := func(it item) bool {
			select {
			case ch <- it:
				return true
			case <-ctx.Done():
				return false
			}
		}
		go func() {
			defer close(ch)
			var rs *esdb.ReadStream
			l, err := s.open(ctx, func(c *esdb.Client) error {
				var err error
				rs, err = start(ctx, c)
				return err
			})
			if err != nil {
				send(item{err: err})
				return
			}
			defer l.end()
			defer rs.Close()
			for {
				ev, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					l.report(err)
					send(item{err: err})
					return
				}
				if !send(item{ev: ev.OriginalEvent()}) {
					return
				}
			}
		}()
		for {
			select {
			case it, ok := <-ch:
				switch {
				case !ok:
					return
				case it.err != nil && ctx.Err() != nil:
					yield(nil, s.ctxErr(ctx))
					return
				case it.err != nil:
					yield(nil, it.err)
					return
				}
				if !yield(it.ev, nil) {
					return
				}
			case <-ctx.Done():
				yield(nil, s.ctxErr(ctx))
				return
			}
		}
	}
}

// readStream reads the server stream physical.
func (s *Store) readStream(ctx context.Context, physical string, dir esdb.Direction, from esdb.StreamPosition, count uint64) iter.Seq2[*esdb.RecordedEvent, error] {
	return s.recv(ctx, func(ctx context.Context, c *esdb.Client) (*esdb.ReadStream, error) {
		return c.ReadStream(ctx, physical, esdb.ReadStreamOptions{Direction: dir, From: from}, count)
	})
}

// readAll reads $all.
func (s *Store) readAll(ctx context.Context, dir esdb.Direction, from esdb.AllPosition, count uint64) iter.Seq2[*esdb.RecordedEvent, error] {
	return s.recv(ctx, func(ctx context.Context, c *esdb.Client) (*esdb.ReadStream, error) {
		return c.ReadAll(ctx, esdb.ReadAllOptions{Direction: dir, From: from}, count)
	})
}

// notFound reports whether err is the client's "stream not found" (the v4
// client has no sentinel for it: it is an *esdb.Error with
// ErrorCodeResourceNotFound).
func notFound(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeResourceNotFound
}

// ReadStream reads one stream's events in revision order. See
// eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		if err := eventstore.ValidateStreamName(stream); err != nil {
			yield(eventstore.Event{}, err)
			return
		}
		dir := esdb.Forwards
		var from esdb.StreamPosition = esdb.Revision(min(opts.From, unlimited))
		if opts.Direction == eventstore.Backwards {
			dir = esdb.Backwards
			if opts.From == eventstore.End {
				from = esdb.End{}
			}
		}
		count := uint64(unlimited)
		if opts.Limit > 0 && opts.AsOf.IsZero() {
			count = uint64(opts.Limit)
		}
		n := 0
		for r, err := range s.readStream(ctx, s.names.physical(stream), dir, from, count) {
			if err != nil {
				yield(eventstore.Event{}, s.readErr(stream, err))
				return
			}
			e, err := decode(stream, r)
			if err != nil {
				yield(eventstore.Event{}, err)
				return
			}
			if !opts.AsOf.IsZero() && e.RecordedAt.After(opts.AsOf) {
				continue
			}
			n++
			if !yield(e, nil) || (opts.Limit > 0 && n >= opts.Limit) {
				return
			}
		}
		if n == 0 && !opts.AsOf.IsZero() {
			// Nothing in range as of then: is anything of the stream
			// visible as of then at all? Its first event is the earliest.
			visible, err := s.visibleAsOf(ctx, stream, opts.AsOf)
			if err != nil {
				yield(eventstore.Event{}, err)
			} else if !visible {
				yield(eventstore.Event{}, fmt.Errorf("esdbstore: read %s as of %s: %w", stream, opts.AsOf.UTC().Format(time.RFC3339Nano), eventstore.ErrStreamNotFound))
			}
		}
	}
}

// readErr maps an error of a stream read.
func (s *Store) readErr(stream string, err error) error {
	switch {
	case notFound(err):
		return fmt.Errorf("esdbstore: read %s: %w", stream, eventstore.ErrStreamNotFound)
	case errors.Is(err, eventstore.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("esdbstore: read %s: %w", stream, err)
}

// visibleAsOf reports whether the first event of stream was recorded at or
// before asOf.
func (s *Store) visibleAsOf(ctx context.Context, stream string, asOf time.Time) (bool, error) {
	for r, err := range s.readStream(ctx, s.names.physical(stream), esdb.Forwards, esdb.Start{}, 1) {
		if err != nil {
			if notFound(err) {
				return false, nil
			}
			return false, s.readErr(stream, err)
		}
		return !eventstore.NormalizeTime(r.CreatedDate).After(asOf), nil
	}
	return false, nil
}

// streamHead reads the head of a stream: the revision and hash of its last
// event, or Exists false.
func (s *Store) streamHead(ctx context.Context, stream string) (eventstore.Head, error) {
	for r, err := range s.readStream(ctx, s.names.physical(stream), esdb.Backwards, esdb.End{}, 1) {
		if err != nil {
			if notFound(err) {
				return eventstore.Head{}, nil
			}
			return eventstore.Head{}, s.readErr(stream, err)
		}
		e, err := decode(stream, r)
		if err != nil {
			return eventstore.Head{}, err
		}
		if err := s.checkHead(e); err != nil {
			return eventstore.Head{}, err
		}
		h := eventstore.Head{Exists: true, Revision: e.Revision, Hash: e.Hash}
		s.heads.put(stream, h)
		return h, nil
	}
	return eventstore.Head{}, nil
}

// checkHead checks, with a keyring, that a stream's stored head is the
// signed end of an append of a trusted key before an append builds on it:
// an event written into the stream around this package, with a recomputed
// chain hash, would otherwise be covered by the append's signature.
func (s *Store) checkHead(head eventstore.Event) error {
	if s.opts.Keyring == nil {
		return nil
	}
	return s.opts.Keyring.CheckHead(head)
}

// logEnd returns the position of the last record in $all, of any kind, and
// false for an empty log.
func (s *Store) logEnd(ctx context.Context) (esdb.Position, bool, error) {
	for r, err := range s.readAll(ctx, esdb.Backwards, esdb.End{}, 1) {
		if err != nil {
			return esdb.Position{}, false, allErr(err)
		}
		return r.Position, true, nil
	}
	return esdb.Position{}, false, nil
}

func allErr(err error) error {
	if errors.Is(err, eventstore.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("esdbstore: read $all: %w", err)
}

// ReadAll reads this store's events in the global order, after
// opts.After, up to the end of the log when the read began. opts.After must
// be 0 or a position this store returned. See eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		if opts.After == math.MaxUint64 {
			return // nothing can follow the largest position
		}
		end, ok, err := s.logEnd(ctx)
		if err != nil {
			yield(eventstore.Event{}, err)
			return
		}
		if !ok {
			return
		}
		var from esdb.AllPosition = esdb.Start{}
		if opts.After > 0 {
			from = fromPosition(opts.After) // inclusive: the event at After comes first
		}
		last, n := opts.After, 0
		for r, err := range s.readAll(ctx, esdb.Forwards, from, unlimited) {
			if err != nil {
				yield(eventstore.Event{}, allErr(err))
				return
			}
			if r.Position.Commit > end.Commit {
				return // committed after the read began
			}
			stream, ours := s.names.isOurs(r)
			if !ours {
				continue
			}
			e, err := decode(stream, r)
			if err != nil {
				yield(eventstore.Event{}, err)
				return
			}
			if e.Position <= last {
				if last == opts.After {
					continue // the read starts at After itself (inclusive)
				}
				yield(eventstore.Event{}, orderError(e, last))
				return
			}
			last = e.Position
			if !opts.Filter.Match(e.Stream, e.Type) {
				continue
			}
			n++
			if !yield(e, nil) || (opts.Limit > 0 && n >= opts.Limit) {
				return
			}
		}
	}
}

// orderError reports an event that does not come after the one before it:
// never for events this package wrote (see toPosition).
func orderError(e eventstore.Event, last eventstore.Position) error {
	return fmt.Errorf("esdbstore: event %s (%s@%d) has position %d, not after %d: it shares a commit position with another event (a legacy explicit transaction?)",
		e.ID, e.Stream, e.Revision, e.Position, last)
}

// Head returns the position of this store's last event in $all, or 0. It
// reads $all backwards from the end until it meets one.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	for r, err := range s.readAll(ctx, esdb.Backwards, esdb.End{}, unlimited) {
		if err != nil {
			return 0, allErr(err)
		}
		if _, ours := s.names.isOurs(r); ours {
			return toPosition(r.Position)
		}
	}
	return 0, nil
}
