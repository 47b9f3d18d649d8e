package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/memlog"
)

// counted is a test-only event.
type counted struct {
	N int `json:"n"`
}

func (counted) EventType() string { return "test.counted.v1" }

type seqIDs struct{ n uint64 }

func (s *seqIDs) next() uuid.UUID {
	s.n++
	var u uuid.UUID
	for i := range 8 {
		u[15-i] = byte(s.n >> (8 * i))
	}
	return u
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newHandler(tb testing.TB, log domain.EventLog) *domain.Handler {
	tb.Helper()
	ids := &seqIDs{}
	return &domain.Handler{Log: log, Now: func() time.Time { return t0 }, NewID: ids.next}
}

// increment appends counted{N: number of events so far}.
func increment(_ context.Context, _ domain.Request, s domain.Stream) (domain.Change, error) {
	return domain.Change{Role: domain.RoleSystem, Events: []domain.Event{counted{N: len(s.Events)}}}, nil
}

func TestHandlerAppendsWithEnvelope(t *testing.T) {
	log := memlog.New(func() time.Time { return t0 }, nil)
	h := newHandler(t, log)
	req := domain.Request{Caller: domain.Principal{ID: "199001012015031001"}, CorrelationID: "corr", CausationID: "cause", Reason: "why"}
	c, err := h.Execute(context.Background(), "test-1", req, increment)
	if err != nil {
		t.Fatal(err)
	}
	if c.Revision != 0 || len(c.Events) != 1 {
		t.Fatalf("Execute = %+v, want revision 0 and one event", c)
	}
	want := domain.Meta{
		Actor:         domain.Actor{ID: "199001012015031001", Role: domain.RoleSystem},
		CorrelationID: "corr", CausationID: "cause", Reason: "why", OccurredAt: t0,
	}
	if diff := cmp.Diff(want, c.Events[0].Meta); diff != "" {
		t.Errorf("meta mismatch (-want +got):\n%s", diff)
	}
	c, err = h.Execute(context.Background(), "test-1", req, increment)
	if err != nil || c.Revision != 1 {
		t.Fatalf("second Execute = %+v, %v; want revision 1", c, err)
	}
}

func TestHandlerRequestChecks(t *testing.T) {
	h := newHandler(t, memlog.New(func() time.Time { return t0 }, nil))
	tests := []struct {
		name  string
		req   domain.Request
		field string
	}{
		{name: "no caller", req: domain.Request{}, field: "actor"},
		{name: "occurred in the future", req: domain.Request{Caller: domain.Principal{ID: "x"}, OccurredAt: t0.Add(time.Second)}, field: "occurred_at"},
		{name: "dated back beyond the tolerance", req: domain.Request{Caller: domain.Principal{ID: "x"}, OccurredAt: t0.Add(-10*time.Minute - time.Second)}, field: "occurred_at"},
		{name: "a backfill without its paper", req: domain.Request{Caller: domain.Principal{ID: "x"}, OccurredAt: t0.Add(-time.Hour),
			Backfill: &domain.BackfillRequest{}}, field: "paper_ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Execute(context.Background(), "test-1", tt.req, increment)
			var v *domain.ValidationError
			if !errors.As(err, &v) || v.Fields[0].Field != tt.field {
				t.Errorf("Execute error = %v, want a validation error on %s", err, tt.field)
			}
		})
	}
}

// A backfill is refused (403) unless the decider accepts it for the
// caller; then the envelope keeps the paper's business date.
func TestHandlerBackfill(t *testing.T) {
	log := memlog.New(func() time.Time { return t0 }, nil)
	h := newHandler(t, log)
	req := domain.Request{Caller: domain.Principal{ID: "clerk"}, OccurredAt: t0.Add(-48 * time.Hour),
		Backfill: &domain.BackfillRequest{PaperRef: "BA/2026/1"}}
	_, err := h.Execute(context.Background(), "test-1", req, increment)
	if !errors.Is(err, domain.ErrForbidden) || !errors.Is(err, domain.ErrBackfillRefused) {
		t.Fatalf("a backfill no decider accepts: %v, want forbidden", err)
	}
	if _, _, ok, _ := log.Load(context.Background(), "test-1"); ok {
		t.Fatal("a refused backfill appended")
	}
	accept := func(ctx context.Context, req domain.Request, s domain.Stream) (domain.Change, error) {
		ch, err := increment(ctx, req, s)
		ch.Backfill = true
		return ch, err
	}
	c, err := h.Execute(context.Background(), "test-1", req, accept)
	if err != nil || !c.Events[0].Meta.OccurredAt.Equal(t0.Add(-48*time.Hour)) || c.Events[0].Meta.Reason != "Entri susulan (backfill) · ref BA/2026/1" {
		t.Fatalf("accepted backfill: %+v, %v; want its business date and the paper as the reason", c, err)
	}
	req.OccurredAt = t0.Add(-90*24*time.Hour - time.Second)
	var v *domain.ValidationError
	if _, err := h.Execute(context.Background(), "test-1", req, accept); !errors.As(err, &v) || v.Fields[0].Field != "occurred_at" {
		t.Fatalf("an accepted backfill older than the maximum age: %v, want a validation error on occurred_at", err)
	}
	if _, err := h.Execute(context.Background(), "test-1", req, increment); !errors.Is(err, domain.ErrBackfillRefused) {
		t.Fatalf("a refused backfill older than the maximum age: %v, want forbidden first", err)
	}
	at, err := h.BusinessTime(domain.Request{Caller: req.Caller, OccurredAt: t0}, "delivered_at", t0.Add(-time.Hour))
	if err == nil || !strings.Contains(err.Error(), "delivered_at") {
		t.Fatalf("BusinessTime an hour back without a backfill = %v, %v; want a validation error", at, err)
	}
	if at, err := h.BusinessTime(req, "delivered_at", t0.Add(-time.Hour)); err != nil || !at.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("BusinessTime of a backfill = %v, %v", at, err)
	}
}

func TestHandlerRetriesOnConflict(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int
		wantErr   error
		wantN     int
	}{
		{name: "no conflict", conflicts: 0, wantN: 1},
		{name: "one conflict re-decides on fresh state", conflicts: 1, wantN: 2},
		{name: "three conflicts still succeed", conflicts: 3, wantN: 4},
		{name: "four conflicts give up", conflicts: 4, wantErr: domain.ErrConcurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := memlog.New(func() time.Time { return t0 }, nil)
			h := newHandler(t, log)
			req := domain.Request{Caller: domain.Principal{ID: "x"}}
			if _, err := h.Execute(context.Background(), "test-1", req, increment); err != nil {
				t.Fatal(err)
			}
			left, inHook := tt.conflicts, false
			log.BeforeAppend = func(stream string) {
				if left == 0 || inHook {
					return
				}
				left--
				inHook = true
				defer func() { inHook = false }()
				// A competing writer appends first.
				rev := uint64(log.Len() - 1)
				_, err := log.Append(context.Background(), stream, domain.ExactRevision(rev), []domain.NewEvent{{
					ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "other"}, OccurredAt: t0}, Event: counted{N: -1},
				}})
				if err != nil {
					t.Fatal(err)
				}
			}
			var seen []int
			decide := func(ctx context.Context, r domain.Request, s domain.Stream) (domain.Change, error) {
				seen = append(seen, len(s.Events))
				return increment(ctx, r, s)
			}
			c, err := h.Execute(context.Background(), "test-1", req, decide)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Execute error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c.Events[0].Event.(counted).N
			if got != tt.wantN {
				t.Errorf("decided on %d events, want %d (decisions saw %v)", got, tt.wantN, seen)
			}
		})
	}
}

func TestHandlerNoEventsIsNoOp(t *testing.T) {
	log := memlog.New(func() time.Time { return t0 }, nil)
	h := newHandler(t, log)
	req := domain.Request{Caller: domain.Principal{ID: "x"}}
	if _, err := h.Execute(context.Background(), "test-1", req, increment); err != nil {
		t.Fatal(err)
	}
	c, err := h.Execute(context.Background(), "test-1", req, func(context.Context, domain.Request, domain.Stream) (domain.Change, error) {
		return domain.Change{}, nil
	})
	if err != nil || c.Revision != 0 || len(c.Events) != 0 || log.Len() != 1 {
		t.Errorf("no-op Execute = %+v, %v; log has %d events; want revision 0 and nothing appended", c, err, log.Len())
	}
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind error
	}{
		{name: "validation", err: domain.Invalid("nip", "bad"), kind: domain.ErrValidation},
		{name: "not found", err: &domain.NotFoundError{Kind: "skp", ID: "x"}, kind: domain.ErrNotFound},
		{name: "conflict", err: &domain.ConflictError{Kind: "skp", ID: "x"}, kind: domain.ErrConflict},
		{name: "state", err: domain.InvalidState("rate", "ISSUED", ""), kind: domain.ErrInvalidState},
		{name: "wrapped validation", err: fmt.Errorf("outer: %w", domain.Invalid("a", "b")), kind: domain.ErrValidation},
		{name: "revision mismatch", err: &domain.RevisionMismatchError{Stream: "s", Expected: 1, Actual: 2, Exists: true}, kind: domain.ErrRevisionMismatch},
	}
	kinds := []error{domain.ErrNotFound, domain.ErrConflict, domain.ErrInvalidState, domain.ErrForbidden,
		domain.ErrValidation, domain.ErrObjectionWindowClosed, domain.ErrConcurrency, domain.ErrRevisionMismatch}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range kinds {
				if got, want := errors.Is(tt.err, k), k == tt.kind; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, k, got, want)
				}
			}
		})
	}
}

func TestValidationErrorMerge(t *testing.T) {
	var v domain.ValidationError
	v.Merge("nip", domain.Invalid("", "must have 18 digits"))
	v.Merge("position", domain.Invalid("kind", "unknown"))
	v.Merge("", domain.Invalid("name", "required"))
	v.Merge("x", nil)
	want := []domain.FieldError{
		{Field: "nip", Message: "must have 18 digits"},
		{Field: "position.kind", Message: "unknown"},
		{Field: "name", Message: "required"},
	}
	if diff := cmp.Diff(want, v.Fields); diff != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", diff)
	}
	if (&domain.ValidationError{}).Err() != nil {
		t.Error("empty ValidationError.Err() != nil")
	}
}

func TestStreamNames(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "skp", in: domain.SKPStream("196608011988031001-2026-2"), want: true},
		{name: "employee", in: domain.EmployeeStream("196608011988031001"), want: true},
		{name: "distribution", in: domain.DistributionStream("DINKES.01", "2026-Q1"), want: true},
		{name: "space", in: domain.UnitStream("dinas kesehatan"), want: false},
		{name: "slash", in: domain.UnitStream("a/b"), want: false},
		{name: "too long", in: domain.UnitStream(strings.Repeat("a", 200)), want: false},
		{name: "leading dash", in: "-unit", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.ValidStreamName(tt.in); got != tt.want {
				t.Errorf("ValidStreamName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// --- registry and upcasters ---

// thing is the latest (schema 2) shape of a test-only event: schema 1 called
// the field "title"; schema 2 calls it "name".
type thing struct {
	Name string `json:"name"`
}

func (thing) EventType() string { return "test.thing.v1" }

// oldThing is a test-only event type renamed into test.thing.v1.
type gadget struct {
	Label string `json:"label"`
}

func (gadget) EventType() string { return "test.gadget.v1" }

func renameField(from, to string) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		if v, ok := m[from]; ok {
			m[to] = v
			delete(m, from)
		}
		return json.Marshal(m)
	}
}

func testRegistry(tb testing.TB) *domain.Registry {
	tb.Helper()
	r, err := domain.NewRegistry(
		[]domain.EventSpec{domain.Spec[thing](2), domain.Spec[gadget](1)},
		[]domain.Upcaster{
			{FromType: "test.thing.v1", FromVersion: 1, ToType: "test.thing.v1", ToVersion: 2, Up: renameField("title", "name")},
			// A retired type whose facts are now things.
			{FromType: "test.widget.v1", FromVersion: 1, ToType: "test.thing.v1", ToVersion: 1, Up: renameField("caption", "title")},
		},
	)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestRegistryDecodeUpcasts(t *testing.T) {
	r := testRegistry(t)
	tests := []struct {
		name    string
		typ     string
		version int
		data    string
		want    domain.Event
		wantErr error
	}{
		{name: "latest shape", typ: "test.thing.v1", version: 2, data: `{"name":"a"}`, want: thing{Name: "a"}},
		{name: "schema 1 upcast to 2", typ: "test.thing.v1", version: 1, data: `{"title":"b"}`, want: thing{Name: "b"}},
		{name: "retired type through two upcasters", typ: "test.widget.v1", version: 1, data: `{"caption":"c"}`, want: thing{Name: "c"}},
		{name: "unknown type", typ: "test.nothing.v1", version: 1, data: `{}`, wantErr: domain.ErrUnknownEventType},
		{name: "unknown newer schema", typ: "test.thing.v1", version: 3, data: `{}`, wantErr: domain.ErrUnknownEventType},
		{name: "malformed JSON", typ: "test.gadget.v1", version: 1, data: `{"label":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Decode(tt.typ, tt.version, []byte(tt.data))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Decode = %v, want error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegistryEncode(t *testing.T) {
	r := testRegistry(t)
	typ, ver, data, err := r.Encode(thing{Name: "x"})
	if err != nil || typ != "test.thing.v1" || ver != 2 || string(data) != `{"name":"x"}` {
		t.Errorf("Encode = %s, %d, %s, %v", typ, ver, data, err)
	}
	if _, _, _, err := r.Encode(counted{}); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Errorf("Encode(unregistered) error = %v, want ErrUnknownEventType", err)
	}
	if diff := cmp.Diff([]string{"test.gadget.v1", "test.thing.v1"}, r.Types()); diff != "" {
		t.Errorf("Types mismatch (-want +got):\n%s", diff)
	}
}

type badName struct{}

func (badName) EventType() string { return "SkpDrafted" }

func TestNewRegistryRefuses(t *testing.T) {
	up := func(b []byte) ([]byte, error) { return b, nil }
	tests := []struct {
		name      string
		specs     []domain.EventSpec
		upcasters []domain.Upcaster
	}{
		{name: "name derived from a Go type", specs: []domain.EventSpec{domain.Spec[badName](1)}},
		{name: "schema version 0", specs: []domain.EventSpec{domain.Spec[thing](0)}},
		{name: "duplicate", specs: []domain.EventSpec{domain.Spec[thing](1), domain.Spec[thing](1)}},
		{name: "upcaster to nowhere", specs: []domain.EventSpec{domain.Spec[thing](2)},
			upcasters: []domain.Upcaster{{FromType: "test.thing.v1", FromVersion: 1, ToType: "test.thing.v1", ToVersion: 3, Up: up}}},
		{name: "upcaster from the latest shape", specs: []domain.EventSpec{domain.Spec[thing](2)},
			upcasters: []domain.Upcaster{{FromType: "test.thing.v1", FromVersion: 2, ToType: "test.thing.v1", ToVersion: 2, Up: up}}},
		{name: "upcaster cycle", specs: []domain.EventSpec{domain.Spec[thing](2)},
			upcasters: []domain.Upcaster{
				{FromType: "test.a.v1", FromVersion: 1, ToType: "test.b.v1", ToVersion: 1, Up: up},
				{FromType: "test.b.v1", FromVersion: 1, ToType: "test.a.v1", ToVersion: 1, Up: up},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := domain.NewRegistry(tt.specs, tt.upcasters); err == nil {
				t.Error("NewRegistry succeeded, want an error")
			}
		})
	}
}

func TestHandlerIfMatch(t *testing.T) {
	log := memlog.New(func() time.Time { return t0 }, nil)
	h := newHandler(t, log)
	ctx := context.Background()
	base := domain.Request{Caller: domain.Principal{ID: "x"}}
	if _, err := h.Execute(ctx, "test-1", base, increment); err != nil {
		t.Fatal(err)
	}
	rev := func(r uint64) *uint64 { return &r }
	tests := []struct {
		name    string
		stream  string
		ifMatch *uint64
		wantErr error
	}{
		{name: "current revision", stream: "test-1", ifMatch: rev(0)},
		{name: "stale revision", stream: "test-1", ifMatch: rev(0), wantErr: domain.ErrRevisionMismatch},
		{name: "missing stream", stream: "test-2", ifMatch: rev(0), wantErr: domain.ErrRevisionMismatch},
		{name: "no If-Match", stream: "test-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			req.IfMatch = tt.ifMatch
			before := log.Len()
			_, err := h.Execute(ctx, tt.stream, req, increment)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Execute error = %v, want %v", err, tt.wantErr)
			}
			if appended := log.Len() - before; (tt.wantErr == nil) != (appended == 1) {
				t.Errorf("appended %d events", appended)
			}
		})
	}
	// A competing write between load and append is a mismatch, not a retry.
	log.BeforeAppend = func(stream string) {
		log.BeforeAppend = nil
		if _, err := h.Execute(ctx, stream, base, increment); err != nil {
			t.Fatal(err)
		}
	}
	req := base
	req.IfMatch = rev(2)
	_, err := h.Execute(ctx, "test-1", req, increment)
	if !errors.Is(err, domain.ErrRevisionMismatch) {
		t.Errorf("Execute with a write slipped in = %v, want ErrRevisionMismatch", err)
	}
}
