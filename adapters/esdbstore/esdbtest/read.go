package esdbtest

import (
	"cmp"
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// page is how many records a reader copies out of the log under the lock
// at a time; sending happens without the lock, so readers never hold up
// writers.
const page = 256

// Read implements Streams.Read: counted reads of a stream or of $all, and
// subscriptions to either.
func (h *streamsService) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "options are required")
	}
	if o.GetUuidOption() == nil {
		return status.Error(codes.InvalidArgument, "uuid_option is required")
	}
	w := &writer{srv: srv, asString: o.GetUuidOption().GetString_() != nil}
	f, err := newFilter(o.GetFilter())
	if err != nil {
		return err
	}
	_, subscription := o.GetCountOption().(*streams.ReadReq_Options_Subscription)
	backwards := o.GetReadDirection() == streams.ReadReq_Options_Backwards
	switch {
	case o.GetStream() != nil && f != nil:
		return status.Error(codes.InvalidArgument, "filters apply to $all only")
	case o.GetStream() != nil && !subscription:
		return h.s.readStream(w, o.GetStream(), backwards, o.GetCount())
	case o.GetAll() != nil && !subscription:
		return h.s.readAll(w, o.GetAll(), backwards, o.GetCount(), f)
	case subscription && backwards:
		return status.Error(codes.InvalidArgument, "subscriptions read forwards")
	case o.GetStream() != nil:
		return h.s.subscribe(srv.Context(), w, o.GetStream(), nil, nil)
	case o.GetAll() != nil:
		return h.s.subscribe(srv.Context(), w, nil, o.GetAll(), f)
	}
	return status.Error(codes.InvalidArgument, "stream_option is required")
}

// writer sends read responses.
type writer struct {
	srv      streams.Streams_ReadServer
	asString bool
}

func (w *writer) event(r *record) error {
	return w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               toUUID(r.id, w.asString),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.pos,
			CommitPosition:   r.pos,
			Metadata:         r.systemMetadata(),
			CustomMetadata:   r.meta,
			Data:             r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.pos},
	}}})
}

func (w *writer) confirm() error {
	return w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()},
	}})
}

func (w *writer) checkpoint(pos uint64) error {
	return w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{
		Checkpoint: &streams.ReadResp_Checkpoint{CommitPosition: pos, PreparePosition: pos},
	}})
}

func (w *writer) caughtUp() error {
	return w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}})
}

// readStream serves a counted read of one stream.
func (s *Server) readStream(w *writer, o *streams.ReadReq_Options_StreamOptions, backwards bool, count uint64) error {
	stream := string(o.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	recs := s.streams[stream]
	n := int64(len(recs))
	s.mu.Unlock()
	if n == 0 {
		return w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
		}}})
	}
	var from int64
	switch r := o.GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		from = int64(min(r.Revision, math.MaxInt64))
	case *streams.ReadReq_Options_StreamOptions_End:
		if !backwards {
			return nil // forwards from the end: nothing yet
		}
		from = n - 1
	default: // start
		if backwards {
			return nil
		}
	}
	if backwards && from > n-1 {
		from = n - 1 // KurrentDB starts a backwards read past the end at the last event
	}
	for sent := uint64(0); sent < count; sent++ {
		if from < 0 || from >= n {
			return nil
		}
		s.mu.Lock()
		r := s.streams[stream][from]
		s.mu.Unlock()
		if err := w.event(r); err != nil {
			return err
		}
		if backwards {
			from--
		} else {
			from++
		}
	}
	return nil
}

// tfpos is a (commit, prepare) pair, ordered as KurrentDB orders them.
type tfpos struct{ commit, prepare uint64 }

func (a tfpos) less(b tfpos) bool {
	return a.commit < b.commit || (a.commit == b.commit && a.prepare < b.prepare)
}

// boundary reports whether a log position starts a record, or is the
// start or the end of the log: the positions a node can read from. The
// caller holds s.mu.
func (s *Server) boundary(pos uint64) bool {
	if pos == 0 || pos == s.next {
		return true
	}
	_, found := slices.BinarySearchFunc(s.log, pos, func(r *record, p uint64) int { return cmp.Compare(r.pos, p) })
	return found
}

func errInvalidPosition(p tfpos) error {
	return status.Errorf(codes.InvalidArgument, "invalid position %d/%d: not the start of a record", p.commit, p.prepare)
}

// readAll serves a counted read of $all. Forwards, the start position is
// inclusive; backwards, an event is read when its record ends at or before
// the start position (so a read backwards from an event's own position
// starts with the event before it).
func (s *Server) readAll(w *writer, o *streams.ReadReq_Options_AllOptions, backwards bool, count uint64, f *filter) error {
	s.mu.Lock()
	n := len(s.log)
	var idx int // forwards: next index to read; backwards: one past it
	switch a := o.GetAllOption().(type) {
	case *streams.ReadReq_Options_AllOptions_Position:
		p := tfpos{a.Position.GetCommitPosition(), a.Position.GetPreparePosition()}
		if !s.boundary(p.commit) {
			s.mu.Unlock()
			return errInvalidPosition(p)
		}
		if backwards {
			for idx = n; idx > 0; idx-- {
				r := s.log[idx-1]
				post := tfpos{r.pos + r.size, r.pos + r.size}
				if !p.less(post) {
					break
				}
			}
		} else {
			for idx = 0; idx < n; idx++ {
				r := s.log[idx]
				if !(tfpos{r.pos, r.pos}).less(p) {
					break
				}
			}
		}
	case *streams.ReadReq_Options_AllOptions_End:
		if !backwards {
			s.mu.Unlock()
			return nil
		}
		idx = n
	default: // start
		if backwards {
			s.mu.Unlock()
			return nil
		}
		idx = 0
	}
	s.mu.Unlock()

	sent := uint64(0)
	for sent < count {
		s.mu.Lock()
		var batch []*record
		if backwards {
			lo := max(idx-page, 0)
			for i := idx - 1; i >= lo; i-- {
				batch = append(batch, s.log[i])
			}
			idx = lo
		} else {
			hi := min(idx+page, n)
			batch = append(batch, s.log[idx:hi]...)
			idx = hi
		}
		s.mu.Unlock()
		if len(batch) == 0 {
			return nil
		}
		for _, r := range batch {
			if f != nil && !f.match(r) {
				continue
			}
			if err := w.event(r); err != nil {
				return err
			}
			if sent++; sent == count {
				return nil
			}
		}
	}
	return nil
}

// subscribe serves a subscription to one stream (so != nil) or to $all
// (ao != nil): a confirmation, the events after the start (exclusive),
// caught_up, then live events until the client goes away, the server
// stops, or DropSubscriptions.
func (s *Server) subscribe(parent context.Context, w *writer, so *streams.ReadReq_Options_StreamOptions, ao *streams.ReadReq_Options_AllOptions, f *filter) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	defer s.addSub(cancel)()

	if err := w.confirm(); err != nil {
		return err
	}
	// The records to follow: the stream's, or the whole log.
	list := func() []*record {
		if so != nil {
			return s.streams[string(so.GetStreamIdentifier().GetStreamName())]
		}
		return s.log
	}
	s.mu.Lock()
	var idx int
	switch {
	case so != nil:
		switch r := so.GetRevisionOption().(type) {
		case *streams.ReadReq_Options_StreamOptions_Revision:
			idx = int(min(r.Revision, math.MaxInt32)) + 1
		case *streams.ReadReq_Options_StreamOptions_End:
			idx = len(list())
		}
	default:
		switch a := ao.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			p := tfpos{a.Position.GetCommitPosition(), a.Position.GetPreparePosition()}
			if !s.boundary(p.commit) {
				s.mu.Unlock()
				return errInvalidPosition(p)
			}
			for idx = 0; idx < len(s.log); idx++ {
				r := s.log[idx]
				if p.less(tfpos{r.pos, r.pos}) {
					break
				}
			}
		case *streams.ReadReq_Options_AllOptions_End:
			idx = len(s.log)
		}
	}
	s.mu.Unlock()

	interval := 0
	if f != nil {
		interval = int(f.window) * int(max(f.multiplier, 1))
	}
	considered, caughtUp := 0, false
	for {
		s.mu.Lock()
		l := list()
		var batch []*record
		if idx < len(l) {
			batch = append(batch, l[idx:min(idx+page, len(l))]...)
		}
		changed := s.changed
		s.mu.Unlock()
		idx += len(batch)
		for _, r := range batch {
			if f == nil || f.match(r) {
				if err := w.event(r); err != nil {
					return err
				}
			}
			if f != nil {
				if considered++; considered >= interval {
					if err := w.checkpoint(r.pos); err != nil {
						return err
					}
					considered = 0
				}
			}
		}
		if len(batch) > 0 {
			continue
		}
		if !caughtUp {
			if err := w.caughtUp(); err != nil {
				return err
			}
			caughtUp = true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errDropped) {
				return status.Error(codes.Unavailable, "subscription dropped by the test server")
			}
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// filter is a server-side filter on stream names or event types.
type filter struct {
	onType     bool
	prefixes   []string
	re         *regexp.Regexp
	window     uint32
	multiplier uint32
}

func newFilter(o *streams.ReadReq_Options_FilterOptions) (*filter, error) {
	if o == nil {
		return nil, nil
	}
	f := &filter{window: 32, multiplier: o.GetCheckpointIntervalMultiplier()}
	if m, ok := o.GetWindow().(*streams.ReadReq_Options_FilterOptions_Max); ok && m.Max > 0 {
		f.window = m.Max
	}
	var e *streams.ReadReq_Options_FilterOptions_Expression
	switch x := o.GetFilter().(type) {
	case *streams.ReadReq_Options_FilterOptions_StreamIdentifier:
		e = x.StreamIdentifier
	case *streams.ReadReq_Options_FilterOptions_EventType:
		e, f.onType = x.EventType, true
	default:
		return nil, status.Error(codes.InvalidArgument, "a filter needs a stream_identifier or event_type expression")
	}
	if e.GetRegex() != "" {
		re, err := regexp.Compile(e.GetRegex())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "filter regex: %v", err)
		}
		f.re = re
	} else {
		f.prefixes = e.GetPrefix()
	}
	return f, nil
}

func (f *filter) match(r *record) bool {
	s := r.stream
	if f.onType {
		s = r.typ
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
