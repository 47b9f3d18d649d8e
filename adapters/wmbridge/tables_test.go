package wmbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// TestTablesChangeRefusedForPublishedYears, on a real NATS JetStream: the
// tables adopted in the ledger compute the 2025 publication; adopting
// other tables for every year is then refused (2025 is published), and
// adopting them from 2026 is accepted. A relay started afresh from the
// ledger's adoptions (a restart after a crash before its checkpoint)
// computes the 2025 publication again with the 2025 tables — the same
// figures under the same ID, which JetStream drops — and publishes the
// 2026 one with the new tables. Adopting the same tables again records
// nothing.
func TestTablesChangeRefusedForPublishedYears(t *testing.T) {
	url := natsURL(t)
	subject := "kinerja-tab-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	js := jetStream(t, url)
	t.Cleanup(func() { js.DeleteStream(subject) })
	pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
		URL: url, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: wmbridge.NATSOptions(),
		JetStream: wmnats.JetStreamConfig{AutoProvision: true, TrackMsgId: true},
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	cps, err := wmbridge.NewFileCheckpoints(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := openStore(t)
	old := consequences.DefaultTables()
	old.Version = "pergub-2020"
	newer := consequences.DefaultTables()
	newer.Version, newer.TPPFactorPercent[rating.Baik] = "pergub-2026", 90

	if ok, err := consequences.Adopt(ctx, s, old, "test", time.Now()); err != nil || !ok {
		t.Fatalf("first adoption: %v %v", ok, err)
	}
	if ok, err := consequences.Adopt(ctx, s, old, "test", time.Now()); err != nil || ok {
		t.Fatalf("the same tables again: %v %v", ok, err)
	}
	put := func(id string, es ...domain.Event) eventstore.AppendResult {
		t.Helper()
		var data []eventstore.EventData
		for _, e := range es {
			typ, v, b, err := eventcodec.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: v, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Data: b})
		}
		res, err := s.Append(ctx, domain.SKPStream(id), eventstore.Any, data...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	base := skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Baik}
	final := func(year int) eventstore.AppendResult {
		id := "199001012015011001-" + string(rune('0'+year/1000)) + string(rune('0'+year/100%10)) + string(rune('0'+year/10%10)) + string(rune('0'+year%10))
		y := string([]rune(id)[19:])
		return put(id, skp.Drafted{SKPID: id, NIP: id[:18], Year: year, Sequence: 1, Approach: skp.Kuantitatif,
			PeriodStart: calendar.MustNew(year, time.January, 1), PeriodEnd: calendar.MustNew(year, time.December, 31),
			Employee: skp.Snapshot{Name: "Siti", UnitID: "SEKSI-1", Position: employee.Position{Kind: employee.JF, Title: "Pranata Komputer Ahli Muda"}}},
			skp.RatingAssigned{Period: y, Scores: base, AppraiserNIP: "A"},
			skp.EvaluationIssued{Period: y, Scores: base, AppraiserNIP: "A"})
	}
	last := final(2025)

	relay := func() *wmbridge.ConsequenceRelay {
		set, err := consequences.LoadTableSet(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		r, err := wmbridge.NewConsequenceRelay(wmbridge.ConsequenceRelayConfig{Name: "csq", Publisher: pub, Topic: subject,
			TableSet: set, History: projections.StoreHistory{Store: s}, Checkpoints: cps})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	run := func(to eventstore.Position) {
		p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Relays: []projections.Sink{relay()}})
		waitFor(t, p, to)
		stop()
	}
	run(last.Position)

	_, err = consequences.Adopt(ctx, s, newer, "test", time.Now())
	var ce *consequences.TablesChangeError
	if !errors.As(err, &ce) || len(ce.Years) != 1 || ce.Years[0] != 2025 || !strings.Contains(err.Error(), `"from_year": 2026`) {
		t.Fatalf("a change for a published year: %v", err)
	}
	newer.FromYear = 2026
	if ok, err := consequences.Adopt(ctx, s, newer, "test", time.Now()); err != nil || !ok {
		t.Fatalf("the change from 2026: %v %v", ok, err)
	}
	last = final(2026)
	if err := cps.Save(ctx, "csq", 0); err != nil { // a crash before the checkpoint
		t.Fatal(err)
	}
	run(last.Position)

	info, err := js.StreamInfo(subject)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("JetStream holds %d messages, want 2 (2025 once, 2026)", info.State.Msgs)
	}
	sub, err := js.SubscribeSync(subject, nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	var got []consequences.Publication
	for range 2 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var p consequences.Publication
		if err := json.Unmarshal(m.Data, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if got[0].Period != "2025" || got[0].TablesVersion != "pergub-2020" || got[0].TPPFactorPercent != 100 ||
		got[1].Period != "2026" || got[1].TablesVersion != "pergub-2026" || got[1].TPPFactorPercent != 90 {
		t.Fatalf("publications %+v", got)
	}
	// The 2025 publication computed again from the ledger's adoptions is
	// the one published, field for field.
	set, _ := consequences.LoadTableSet(ctx, s)
	proj := consequences.NewWithSet(set, projections.StoreHistory{Store: s}, 0)
	var again []consequences.Publication
	for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{Filter: consequences.Filter()}) {
		if err != nil {
			t.Fatal(err)
		}
		pe, _ := projections.Decode(ev)
		out, err := proj.Apply(ctx, nil, pe)
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, out...)
	}
	a, _ := json.Marshal(again)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("recomputed\n%s\npublished\n%s", a, b)
	}
}
