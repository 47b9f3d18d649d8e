package wmbridge_test

import (
	"context"
	"encoding/json"
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

// TestConsequencesToJetStream runs the consequence relay against a real
// NATS JetStream: an SKP's annual evaluation is rated and issued (nothing
// published), finalised (an original), then changed by a late objection
// decision (a correction naming the original), then cancelled, which the
// domain refuses but an imported stream may hold (a retraction naming the
// correction, metadata consequence.retracted.v1). A crash before the
// checkpoint is saved republishes; JetStream drops the duplicates, and a
// relay started afresh (an empty cache: the publications are computed
// again from the history) publishes the same IDs.
func TestConsequencesToJetStream(t *testing.T) {
	url := natsURL(t)
	subject := "kinerja-csq-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
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
	s := openStore(t)
	newRelay := func() *wmbridge.ConsequenceRelay {
		r, err := wmbridge.NewConsequenceRelay(wmbridge.ConsequenceRelayConfig{Name: "csq", Publisher: pub, Topic: subject,
			Tables: consequences.DefaultTables(), History: projections.StoreHistory{Store: s}, Checkpoints: cps})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	const id = "199001012015011001-2025"
	put := func(es ...domain.Event) eventstore.AppendResult {
		t.Helper()
		var data []eventstore.EventData
		for _, e := range es {
			typ, v, b, err := eventcodec.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: v, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Data: b})
		}
		res, err := s.Append(context.Background(), domain.SKPStream(id), eventstore.Any, data...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	base := skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Baik}
	better := skp.Scores{WorkResult: rating.AboveExpectation, Behaviour: rating.AboveExpectation, Predikat: rating.SangatBaik}
	deadline := time.Now().Add(-time.Hour).UTC()
	put(skp.Drafted{SKPID: id, NIP: id[:18], Year: 2025, Sequence: 1, Approach: skp.Kuantitatif,
		PeriodStart: calendar.MustNew(2025, time.January, 1), PeriodEnd: calendar.MustNew(2025, time.December, 31),
		Employee: skp.Snapshot{Name: "Siti", UnitID: "SEKSI-1", Position: employee.Position{Kind: employee.JF, Title: "Pranata Komputer Ahli Muda"}}})
	put(skp.RatingAssigned{Period: "2025", Scores: base, AppraiserNIP: "A"})
	put(skp.EvaluationIssued{Period: "2025", Scores: base, ObjectionDeadline: &deadline, AppraiserNIP: "A", DeliveredAt: deadline})
	put(skp.EvaluationFinalised{Period: "2025", Reason: skp.WindowElapsed})
	put(skp.ObjectionDecided{ObjectionID: "O", Period: "2025", Outcome: skp.Changed, Previous: base, Result: better, Final: true},
		skp.RatingRevised{Period: "2025", Scores: better, Previous: base, Source: skp.SourceObjection, ObjectionID: "O", AppraiserNIP: "S"})
	last := put(skp.Cancelled{Reason: "SKP ganda"})

	for round := range 3 {
		p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Relays: []projections.Sink{newRelay()}})
		waitFor(t, p, last.Position)
		stop()
		if round < 2 { // a crash before the checkpoint was saved
			if err := cps.Save(context.Background(), "csq", 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	info, err := js.StreamInfo(subject)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("JetStream holds %d messages, want 3 (an original, its correction and the retraction, republished twice, deduplicated)", info.State.Msgs)
	}
	sub, err := js.SubscribeSync(subject, nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	var got []consequences.Publication
	var types []string
	for range 3 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var p consequences.Publication
		if err := json.Unmarshal(m.Data, &p); err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(nats.MsgIdHdr) != p.ID {
			t.Errorf("message ID %q, publication %q", m.Header.Get(nats.MsgIdHdr), p.ID)
		}
		got, types = append(got, p), append(types, m.Header.Get(wmbridge.MetaType))
	}
	o, c, r := got[0], got[1], got[2]
	if r.Kind != consequences.Retraction || r.Corrects != c.ID || r.Reason != "SKP ganda" || r.AngkaKredit != nil || r.Recognition {
		t.Errorf("retraction %+v", r)
	}
	if strings.Join(types, " ") != wmbridge.ConsequenceOriginal+" "+wmbridge.ConsequenceCorrection+" "+wmbridge.ConsequenceRetraction {
		t.Errorf("message types %v", types)
	}
	if o.Kind != consequences.Original || o.Predikat != rating.Baik || o.AngkaKredit == nil || o.AngkaKredit.String() != "25.000" || len(o.Sources) != 4 {
		t.Errorf("original %+v", o)
	}
	if c.Kind != consequences.Correction || c.Corrects != o.ID || c.Predikat != rating.SangatBaik || c.AngkaKredit.String() != "37.500" || !c.Recognition {
		t.Errorf("correction %+v", c)
	}
	for _, src := range append(append(o.Sources, c.Sources...), r.Sources...) {
		if src.Position == 0 || src.EventID == "" || src.Stream != domain.SKPStream(id) {
			t.Errorf("source without its trace: %+v", src)
		}
	}
}
