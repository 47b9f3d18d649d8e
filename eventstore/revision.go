package eventstore

import (
	"fmt"
	"strings"
)

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

// ExpectedRevision is the condition an append places on the stream's current
// revision. The zero value is [Any].
type ExpectedRevision struct {
	kind expectKind
	rev  uint64
}

var (
	// Any appends whatever the stream's state. The store reads the stream's
	// head (needed for the hash chain) and appends with that exact revision,
	// retrying a bounded number of times when another writer wins.
	Any = ExpectedRevision{kind: expectAny}
	// NoStream requires that the stream has no events yet.
	NoStream = ExpectedRevision{kind: expectNoStream}
	// StreamExists requires that the stream has at least one event.
	StreamExists = ExpectedRevision{kind: expectStreamExists}
)

// Exact requires that the stream's last event has revision rev.
func Exact(rev uint64) ExpectedRevision { return ExpectedRevision{kind: expectExact, rev: rev} }

// IsAny reports whether e is [Any].
func (e ExpectedRevision) IsAny() bool { return e.kind == expectAny }

// IsNoStream reports whether e is [NoStream].
func (e ExpectedRevision) IsNoStream() bool { return e.kind == expectNoStream }

// IsStreamExists reports whether e is [StreamExists].
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

// Revision returns the exact revision and true when e was made by [Exact].
func (e ExpectedRevision) Revision() (uint64, bool) { return e.rev, e.kind == expectExact }

// String returns "any", "no_stream", "stream_exists" or the revision number.
func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no_stream"
	case expectStreamExists:
		return "stream_exists"
	case expectExact:
		return fmt.Sprint(e.rev)
	default:
		return "any"
	}
}

// ParseExpectedRevision parses the output of ExpectedRevision.String.
func ParseExpectedRevision(s string) (ExpectedRevision, error) {
	switch strings.ToLower(s) {
	case "any", "":
		return Any, nil
	case "no_stream":
		return NoStream, nil
	case "stream_exists":
		return StreamExists, nil
	}
	var rev uint64
	if _, err := fmt.Sscan(s, &rev); err != nil {
		return Any, fmt.Errorf("eventstore: bad expected revision %q", s)
	}
	return Exact(rev), nil
}

// Head is the state of a stream's end, as a backend knows it.
type Head struct {
	// Exists is false for a stream without events.
	Exists bool
	// Revision of the last event (valid when Exists).
	Revision uint64
	// Hash of the last event (the zero hash when the stream does not exist).
	Hash Hash
}

// Check reports whether an append with expected may go ahead on a stream
// whose head is h. On a mismatch it returns a [*WrongExpectedRevisionError].
// [Any] always matches.
func (e ExpectedRevision) Check(stream string, h Head) error {
	ok := true
	switch e.kind {
	case expectNoStream:
		ok = !h.Exists
	case expectStreamExists:
		ok = h.Exists
	case expectExact:
		ok = h.Exists && h.Revision == e.rev
	}
	if ok {
		return nil
	}
	return &WrongExpectedRevisionError{Stream: stream, Expected: e, Actual: h.Revision, ActualExists: h.Exists}
}

// Next returns the revision the first appended event will get on a stream
// whose head is h.
func (h Head) Next() uint64 {
	if !h.Exists {
		return 0
	}
	return h.Revision + 1
}
