package eventlog_test

import (
	"context"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// TestObserveWholeReads: a load that reads a stream whole and authenticated
// hands its events and payloads to the observer (kinerjad offers them to
// the projections' shared history, which then replays the stream without a
// read of its own); a load of the tail after a cached prefix does not, nor
// does a log that does not authenticate. Without ObserveWholeReads the
// projections' history reads the stream again (the last check).
func TestObserveWholeReads(t *testing.T) {
	s := openSigned(t)
	writer := newCached(s)
	for _, n := range []string{"a", "b", "c"} {
		if err := appendNext(t, writer, "unit-x", n); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	type seen struct {
		stream   string
		events   []eventstore.Event
		payloads []domain.Event
	}
	var got []seen
	reader := newCached(s)
	reader.ObserveWholeReads(func(stream string, evs []eventstore.Event, ps []domain.Event) {
		got = append(got, seen{stream, evs, ps})
	})
	if _, _, _, err := reader.Load(ctx, "unit-x"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].stream != "unit-x" || len(got[0].events) != 3 || len(got[0].payloads) != 3 {
		t.Fatalf("observed %+v, want one whole read of unit-x's 3 events", got)
	}
	for i, ev := range got[0].events {
		if ev.Revision != uint64(i) || ev.Position == 0 || ev.Type == "" {
			t.Errorf("event %d: revision %d, position %d, type %q: want the stored envelope", i, ev.Revision, ev.Position, ev.Type)
		}
		if p, ok := got[0].payloads[i].(orgunit.Registered); !ok || p.Name != []string{"a", "b", "c"}[i] {
			t.Errorf("payload %d = %#v", i, got[0].payloads[i])
		}
	}
	// The tail after the cached prefix is not a whole read.
	if err := appendNext(t, writer, "unit-x", "d"); err != nil {
		t.Fatal(err)
	}
	if _, rev, _, err := reader.Load(ctx, "unit-x"); err != nil || rev != 3 {
		t.Fatalf("Load = rev %d, %v", rev, err)
	}
	if len(got) != 1 {
		t.Errorf("a tail read was observed: %d observations", len(got))
	}
	// A log that does not authenticate tells nothing.
	plain := eventlog.NewCached(s, 0) // no RequireSignatures
	plain.ObserveWholeReads(func(string, []eventstore.Event, []domain.Event) { t.Error("an unauthenticated read was observed") })
	if _, _, _, err := plain.Load(ctx, "unit-x"); err != nil {
		t.Fatal(err)
	}

	// Offered to a shared history, the read serves the projections' replay.
	c := &counting{Store: s}
	hist := projections.NewSharedHistory(projections.StoreHistory{Store: c}, 0)
	fresh := newCached(s)
	fresh.ObserveWholeReads(hist.OfferRead)
	if _, _, _, err := fresh.Load(ctx, "unit-x"); err != nil {
		t.Fatal(err)
	}
	past, err := hist.Stream(ctx, "unit-x", 3)
	if err != nil || len(past) != 4 {
		t.Fatalf("history = %d events, %v; want 4", len(past), err)
	}
	if n := c.read.Load(); n != 0 {
		t.Errorf("the projections' history read %d events; want 0: the command's read was offered", n)
	}
	want, err := projections.StoreHistory{Store: s}.Stream(ctx, "unit-x", 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if want[i].ID != past[i].ID || want[i].Position != past[i].Position || want[i].Hash != past[i].Hash ||
			want[i].Payload.(orgunit.Registered) != past[i].Payload.(orgunit.Registered) {
			t.Errorf("event %d offered differs from the store's history", i)
		}
	}
}
