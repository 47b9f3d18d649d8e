package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// TestConsequencesPublishedEmbedded: kinerjad with --nats-url runs the
// consequence relay; the journey's annual evaluation (of 2025: kinerjad
// runs on the wall clock and a period is rated only after it ends) becomes final when
// its objection is decided, and exactly one consequence of it reaches
// NATS, the same one GET /v1/reports/consequences lists.
func TestConsequencesPublishedEmbedded(t *testing.T) {
	url := testNATS(t)
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	subject := "kinerja-consequences-e2e-" + tag
	conn, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sub, err := conn.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if js, err := conn.JetStream(); err == nil {
		t.Cleanup(func() { js.DeleteStream(subject); js.DeleteStream("kinerja-events-e2e-" + tag) })
	}
	s := startServer(t, t.TempDir(), "--nats-url", url, "--nats-subject", "kinerja-events-e2e-"+tag, "--nats-consequences-subject", subject,
		"--nats-reminder-subject", "kinerja-reminders-e2e-"+tag)
	t.Cleanup(func() {
		if js, err := conn.JetStream(); err == nil {
			js.DeleteStream("kinerja-reminders-e2e-" + tag)
		}
	})
	journey(t, s)
	m, err := sub.NextMsg(20 * time.Second)
	if err != nil {
		t.Fatalf("no consequence on %s: %v", subject, err)
	}
	var p consequences.Publication
	if err := json.Unmarshal(m.Data, &p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != consequences.Original || p.Period != "2025" || p.Predikat != rating.Baik || p.FinalReason != "OBJECTION_DECIDED" ||
		m.Header.Get(nats.MsgIdHdr) != p.ID || len(p.Sources) < 4 {
		t.Fatalf("consequence %+v (message ID %q)", p, m.Header.Get(nats.MsgIdHdr))
	}
	if extra, err := sub.NextMsg(time.Second); err == nil {
		t.Errorf("a second consequence: %s", extra.Data)
	}
	var reg consequences.Register
	s.must(200, "hr-admin", hrAdmin, "GET", "/v1/reports/consequences?year=2025", nil, &reg)
	if len(reg.Publications) != 1 || reg.Publications[0].ID != p.ID {
		t.Errorf("the register lists %+v, NATS had %s", reg.Publications, p.ID)
	}
}
