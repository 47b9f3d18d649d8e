// Package esdbtest is an in-process stand-in for a single KurrentDB
// (EventStoreDB) node, for tests of code that talks to KurrentDB through
// github.com/EventStore/EventStore-Client-Go/v4. It serves the client's own
// generated gRPC services (streams.RegisterStreamsServer and friends) on a
// loopback port, keeps everything in memory, and can be stopped and
// restarted on the same address to test reconnection.
//
// # What it models
//
//   - Streams.Append with every expected revision (exact, no_stream, any,
//     stream_exists) and KurrentDB's answers: WrongExpectedVersion as a
//     result message (not a gRPC error) carrying the expected and current
//     revision in both the current and the 20.6.0 fields; idempotent
//     repeats decided the way KurrentDB's IndexWriter.CheckCommit decides
//     them: with an exact expected revision (or no_stream on an existing
//     stream) by comparing event IDs at the revisions after the expected
//     one, so a full repeat returns the original success (revision and
//     position of the original last event), a repeat that matches only a
//     prefix is "corrupted idempotency", answered as WrongExpectedVersion;
//     with any/stream_exists only through a bounded cache of recently
//     written event IDs ("weak" idempotency). Only event IDs are compared,
//     never content, as in KurrentDB. Required "type" and "content-type"
//     metadata; an optional cap on the bytes of one append.
//   - The transaction log: every event is its own self-committed record
//     with commit position = prepare position = its log position, positions
//     strictly increasing with gaps (each record takes room), the first one
//     after an offset as in a real log.
//   - System metadata on every recorded event as KurrentDB sets it: "type",
//     "content-type" ("application/json" for events appended as JSON,
//     "application/octet-stream" otherwise) and "created" (.NET ticks since
//     the Unix epoch, non-decreasing across the log). Data and custom
//     metadata are kept byte for byte.
//   - Streams.Read of a stream (forwards or backwards, from start, end or a
//     revision, with a count; a backwards read from past the end starts at
//     the last event; a missing stream answers with a stream_not_found
//     message) and of $all (forwards from a position inclusive, backwards
//     from a position exclusive of the record at it, start, end, count,
//     stream-name or event-type filters by prefix or regex; a position that
//     does not start a record is refused, as a node refuses it). Event IDs
//     are sent structured or as strings, as the request asks.
//   - Subscriptions (Read with the subscription count option) to a stream
//     and to $all: a confirmation message first, then catch-up, a caught_up
//     message, then live events; start positions are exclusive. Filtered
//     $all subscriptions send a checkpoint after every window × multiplier
//     events considered (window defaults to 32 when the request asks for
//     no maximum). A slow subscriber never blocks writers.
//   - ServerFeatures.GetSupportedMethods (a fixed version, Read and Append)
//     and Gossip.Read (this node alone, as an alive leader), which the
//     client calls while connecting.
//
// # What it does not model
//
// Clustering, elections, followers, read-only replicas and NotLeader
// redirects; authentication, users and ACLs (every call is allowed, so
// reading $all needs no admin); TLS; stream deletion, tombstones, soft
// deletes, truncation and stream metadata ($maxAge, $maxCount, $tb, $acl
// in $$ streams) — Delete, Tombstone and BatchAppend answer Unimplemented;
// system streams and the system events a real node writes ($stats,
// $scavenges, epoch records, ...), and any special meaning of names that
// start with "$"; link events and resolve_links; explicit (multi-record)
// transactions and events sharing a commit position; persistent
// subscriptions, projections, operations, users and monitoring services
// (Unimplemented); scavenging, chunks, disk, caching and durability across
// a restart of the process (Stop and Restart keep the data in memory);
// per-event size limits, max_append_size defaults (0 means no cap, where
// KurrentDB caps one append at 1 MiB by default), server-side timeouts,
// deadlines and "consumer too slow" drops (a subscriber can be dropped on
// purpose with DropSubscriptions); the compatibility control option and
// the first/last stream position messages; fell_behind; the exact status
// codes and trailers of refusals (an invalid position or an oversized
// append is InvalidArgument here); server-side paging of reads.
package esdbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// Config tunes a Server. The zero value is ready to use.
type Config struct {
	// MaxAppendSize caps the bytes (data + custom metadata + type) of one
	// append; 0 means no cap. KurrentDB's own default is 1,048,576.
	MaxAppendSize int
	// IdempotencyCacheSize is how many recently written event IDs the weak
	// idempotency check of any/stream_exists appends remembers (default
	// 1024). KurrentDB keeps about 8 MiB of them.
	IdempotencyCacheSize int
	// Version is what ServerFeatures reports (default "24.10.0").
	Version string
}

func (c *Config) setDefaults() {
	if c.IdempotencyCacheSize <= 0 {
		c.IdempotencyCacheSize = 1024
	}
	if c.Version == "" {
		c.Version = "24.10.0"
	}
}

// firstLogPosition is where the first event is written, as if the log
// began with a few records of its own.
const firstLogPosition = 1024

// Server is an in-memory KurrentDB node. Its methods are safe for
// concurrent use.
type Server struct {
	cfg Config

	mu       sync.Mutex // guards the log below
	log      []*record
	streams  map[string][]*record
	next     uint64
	lastTick int64
	recent   *idCache
	changed  chan struct{} // closed (and replaced) after every write

	nmu    sync.Mutex // guards the network state below
	addr   string
	gs     *grpc.Server
	subs   map[uint64]context.CancelCauseFunc
	nextID uint64
}

// New returns a Server that is not listening yet; call Listen.
func New(cfg Config) *Server {
	cfg.setDefaults()
	return &Server{
		cfg:     cfg,
		streams: make(map[string][]*record),
		next:    firstLogPosition,
		recent:  newIDCache(cfg.IdempotencyCacheSize),
		changed: make(chan struct{}),
		subs:    make(map[uint64]context.CancelCauseFunc),
	}
}

// Start starts a Server with the default Config on a free loopback port,
// stops it when tb ends, and returns its connection string.
func Start(tb testing.TB) string {
	tb.Helper()
	return StartServer(tb, Config{}).ConnectionString()
}

// StartServer is Start for callers that need the Server itself (to stop,
// restart, tamper with or inspect it).
func StartServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s := New(cfg)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		tb.Fatalf("esdbtest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a server that starts later (Listen(FreeAddr(tb))).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("esdbtest: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ConnectionStringFor returns the connection string of a server at addr
// (insecure, single node).
func ConnectionStringFor(addr string) string { return "esdb://" + addr + "?tls=false" }

// Listen starts serving on addr ("127.0.0.1:0" picks a free port). It fails
// if the server is already serving.
func (s *Server) Listen(addr string) error {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	if s.gs != nil {
		return errors.New("esdbtest: already serving")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("esdbtest: listen: %w", err)
	}
	gs := grpc.NewServer(
		grpc.MaxRecvMsgSize(64<<20),
		grpc.MaxSendMsgSize(64<<20),
		// The client pings every 10 s by default; gRPC's default policy
		// would answer that with GOAWAY.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
	)
	streams.RegisterStreamsServer(gs, &streamsService{s: s})
	serverfeatures.RegisterServerFeaturesServer(gs, &featuresService{s: s})
	gossip.RegisterGossipServer(gs, &gossipService{s: s})
	s.gs = gs
	s.addr = l.Addr().String()
	go gs.Serve(l) //nolint:errcheck // Serve returns when Stop closes the listener.
	return nil
}

// Addr returns the address the server listens (or last listened) on.
func (s *Server) Addr() string {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	return s.addr
}

// ConnectionString returns the connection string of the server.
func (s *Server) ConnectionString() string { return ConnectionStringFor(s.Addr()) }

// Stop closes the listener and every connection, ending every call in
// flight. The data stays; Restart serves it again. Stop is idempotent.
func (s *Server) Stop() {
	s.nmu.Lock()
	gs := s.gs
	s.gs = nil
	s.nmu.Unlock()
	if gs != nil {
		gs.Stop()
	}
}

// Restart serves again on the address of the last Listen.
func (s *Server) Restart() error { return s.Listen(s.Addr()) }

// DropSubscriptions ends every open subscription with an Unavailable
// error, as a node does when it drops a subscriber.
func (s *Server) DropSubscriptions() {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	for id, cancel := range s.subs {
		cancel(errDropped)
		delete(s.subs, id)
	}
}

var errDropped = errors.New("esdbtest: subscription dropped")

func (s *Server) addSub(cancel context.CancelCauseFunc) func() {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	id := s.nextID
	s.nextID++
	s.subs[id] = cancel
	return func() {
		s.nmu.Lock()
		defer s.nmu.Unlock()
		delete(s.subs, id)
	}
}

// Record is a stored event as the server keeps it.
type Record struct {
	ID       uuid.UUID
	Stream   string
	Revision uint64
	// Position is the event's log position (commit = prepare).
	Position    uint64
	Created     time.Time
	Type        string
	ContentType string
	Metadata    []byte
	Data        []byte
}

// Event returns a copy of the event at (stream, revision).
func (s *Server) Event(stream string, revision uint64) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.streams[stream]
	if revision >= uint64(len(recs)) {
		return Record{}, false
	}
	return recs[revision].export(), true
}

// Len returns the number of events in the log.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Tamper replaces the data of the event at (stream, revision) with
// edit(data), bypassing every check: a stand-in for someone editing the
// database files.
func (s *Server) Tamper(stream string, revision uint64, edit func(data []byte) []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.streams[stream]
	if revision >= uint64(len(recs)) {
		return fmt.Errorf("esdbtest: no event %s@%d", stream, revision)
	}
	old := recs[revision]
	n := *old
	n.data = edit(append([]byte(nil), old.data...))
	recs[revision] = &n
	for i, r := range s.log {
		if r == old {
			s.log[i] = &n
		}
	}
	return nil
}

// record is one event in the log. Records are never modified once
// published (Tamper replaces them).
type record struct {
	id       uuid.UUID
	stream   string
	revision uint64
	pos      uint64
	size     uint64
	created  int64 // .NET ticks (100 ns) since the Unix epoch
	typ      string
	json     bool
	meta     []byte
	data     []byte
}

func (r *record) contentType() string {
	if r.json {
		return "application/json"
	}
	return "application/octet-stream"
}

func (r *record) export() Record {
	return Record{
		ID: r.id, Stream: r.stream, Revision: r.revision, Position: r.pos,
		Created: time.Unix(0, r.created*100).UTC(), Type: r.typ, ContentType: r.contentType(),
		Metadata: append([]byte(nil), r.meta...), Data: append([]byte(nil), r.data...),
	}
}

func (r *record) systemMetadata() map[string]string {
	return map[string]string{
		"type":         r.typ,
		"content-type": r.contentType(),
		"created":      strconv.FormatInt(r.created, 10),
	}
}

// idCache is the bounded memory of recently written event IDs behind the
// weak idempotency check.
type idCache struct {
	max   int
	ring  []uuid.UUID
	next  int
	where map[uuid.UUID]idInfo
}

type idInfo struct {
	stream   string
	revision uint64
}

func newIDCache(max int) *idCache {
	return &idCache{max: max, ring: make([]uuid.UUID, 0, max), where: make(map[uuid.UUID]idInfo, max)}
}

func (c *idCache) put(id uuid.UUID, info idInfo) {
	if len(c.ring) < c.max {
		c.ring = append(c.ring, id)
	} else {
		delete(c.where, c.ring[c.next])
		c.ring[c.next] = id
		c.next = (c.next + 1) % c.max
	}
	c.where[id] = info
}

func (c *idCache) get(id uuid.UUID) (idInfo, bool) {
	i, ok := c.where[id]
	return i, ok
}

type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
	s *Server
}

type gossipService struct {
	gossip.UnimplementedGossipServer
	s *Server
}
