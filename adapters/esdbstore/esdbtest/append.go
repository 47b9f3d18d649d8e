package esdbtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// streamsService implements the Streams gRPC service.
type streamsService struct {
	streams.UnimplementedStreamsServer
	s *Server
}

// expectation is an append's expected stream state, as KurrentDB's
// ExpectedVersion: a revision (>= 0) or one of the negative constants.
type expectation int64

const (
	expectNoStream     expectation = -1
	expectAny          expectation = -2
	expectStreamExists expectation = -4
)

type proposed struct {
	id   uuid.UUID
	typ  string
	json bool
	meta []byte
	data []byte
}

// Append implements Streams.Append: an options message, then one message
// per event, then the answer.
func (h *streamsService) Append(srv streams.Streams_AppendServer) error {
	req, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry the options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	if stream == "" || stream == "$all" {
		return status.Errorf(codes.InvalidArgument, "invalid stream name %q", stream)
	}
	var exp expectation
	switch o := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		if o.Revision > math.MaxInt64 {
			return status.Errorf(codes.InvalidArgument, "revision %d out of range", o.Revision)
		}
		exp = expectation(o.Revision)
	case *streams.AppendReq_Options_NoStream:
		exp = expectNoStream
	case *streams.AppendReq_Options_Any:
		exp = expectAny
	case *streams.AppendReq_Options_StreamExists:
		exp = expectStreamExists
	default:
		return status.Error(codes.InvalidArgument, "expected_stream_revision is required")
	}
	var events []proposed
	size := 0
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		m := req.GetProposedMessage()
		if m == nil {
			return status.Error(codes.InvalidArgument, "expected a proposed message")
		}
		typ, ok := m.GetMetadata()["type"]
		if !ok {
			return status.Error(codes.InvalidArgument, "required metadata property missing: type")
		}
		ct, ok := m.GetMetadata()["content-type"]
		if !ok {
			return status.Error(codes.InvalidArgument, "required metadata property missing: content-type")
		}
		id, err := fromUUID(m.GetId())
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "event id: %v", err)
		}
		size += len(m.GetData()) + len(m.GetCustomMetadata()) + len(typ)
		if h.s.cfg.MaxAppendSize > 0 && size > h.s.cfg.MaxAppendSize {
			return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", h.s.cfg.MaxAppendSize)
		}
		events = append(events, proposed{
			id: id, typ: typ, json: ct == "application/json",
			meta: append([]byte(nil), m.GetCustomMetadata()...), data: append([]byte(nil), m.GetData()...),
		})
	}
	return srv.SendAndClose(h.s.append(stream, exp, events))
}

// append checks and writes one append, as KurrentDB's IndexWriter
// (CheckCommit) and StorageWriter do, and returns the answer.
func (s *Server) append(stream string, exp expectation, events []proposed) *streams.AppendResp {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.streams[stream]
	cur := int64(len(recs)) - 1

	wrong := func() *streams.AppendResp { return wrongExpectedVersion(exp, cur) }
	idempotent := func(last int64) *streams.AppendResp { return success(last, recs[last].pos) }

	switch {
	case exp == expectStreamExists && cur < 0:
		return wrong()
	case exp == expectAny || exp == expectStreamExists:
		// Weak idempotency: only recently written IDs are remembered.
		if len(events) > 0 {
			first, found := true, int64(-1)
			for _, e := range events {
				info, ok := s.recent.get(e.id)
				if !ok || info.stream != stream {
					if first {
						found = -1
						break
					}
					return wrong() // corrupted idempotency
				}
				first, found = false, int64(info.revision)
			}
			if found >= 0 {
				return idempotent(found)
			}
		}
	case int64(exp) < cur:
		// An exact revision (or no_stream) behind the stream: a repeat if
		// the IDs are the events that follow it.
		n := int64(exp)
		for _, e := range events {
			n++
			if n <= cur && recs[n].id == e.id {
				continue
			}
			return wrong() // the first differs: a conflict; a later one: corrupted idempotency
		}
		if n == int64(exp) {
			return wrong()
		}
		return idempotent(n)
	case int64(exp) > cur:
		return wrong()
	}
	if len(events) == 0 {
		if cur < 0 {
			return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: &streams.AppendResp_Success{
				CurrentRevisionOption: &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}},
				PositionOption:        &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}},
			}}}
		}
		return success(cur, recs[cur].pos)
	}

	tick := time.Now().UnixNano() / 100
	if tick < s.lastTick {
		tick = s.lastTick
	}
	s.lastTick = tick
	for _, e := range events {
		r := &record{
			id: e.id, stream: stream, revision: uint64(len(recs)), pos: s.next, created: tick,
			typ: e.typ, json: e.json, meta: e.meta, data: e.data,
		}
		r.size = uint64(96 + len(stream) + len(e.typ) + len(e.meta) + len(e.data))
		s.next += r.size
		recs = append(recs, r)
		s.log = append(s.log, r)
		s.recent.put(e.id, idInfo{stream: stream, revision: r.revision})
	}
	s.streams[stream] = recs
	close(s.changed)
	s.changed = make(chan struct{})
	last := recs[len(recs)-1]
	return success(int64(last.revision), last.pos)
}

func success(revision int64, pos uint64) *streams.AppendResp {
	return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: &streams.AppendResp_Success{
		CurrentRevisionOption: &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(revision)},
		PositionOption: &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: pos, PreparePosition: pos,
		}},
	}}}
}

// wrongExpectedVersion fills both generations of fields, as KurrentDB's
// Streams.Append does.
func wrongExpectedVersion(exp expectation, cur int64) *streams.AppendResp {
	w := &streams.AppendResp_WrongExpectedVersion{}
	switch exp {
	case expectAny:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	case expectNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: math.MaxUint64}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: uint64(exp)}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: uint64(exp)}
	}
	if cur < 0 {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(cur)}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(cur)}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// fromUUID decodes a UUID sent structured (two big-endian halves) or as a
// string.
func fromUUID(u *shared.UUID) (uuid.UUID, error) {
	if u == nil {
		return uuid.Nil, errors.New("missing")
	}
	if st := u.GetStructured(); st != nil {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(st.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(b[8:], uint64(st.GetLeastSignificantBits()))
		return uuid.UUID(b), nil
	}
	return uuid.Parse(u.GetString_())
}

// toUUID encodes a UUID as the request's uuid_option asks.
func toUUID(id uuid.UUID, asString bool) *shared.UUID {
	if asString {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}

// GetSupportedMethods reports a fixed server version and the Streams
// methods served.
func (f *featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: f.s.cfg.Version,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
		},
	}, nil
}

// Read reports this node alone, alive and leader, at its own address.
func (g *gossipService) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	host, port, err := net.SplitHostPort(g.s.Addr())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, status.Error(codes.Internal, fmt.Sprint(err))
	}
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId:   toUUID(uuid.NewSHA1(uuid.NameSpaceURL, []byte(g.s.Addr())), false),
		TimeStamp:    time.Now().UnixNano() / 100,
		State:        gossip.MemberInfo_Leader,
		IsAlive:      true,
		HttpEndPoint: &gossip.EndPoint{Address: host, Port: uint32(p)},
	}}}, nil
}
