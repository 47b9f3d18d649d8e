package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

// Two kinerjad on one PostgreSQL, both with --nats-url: the relay's
// checkpoint is the database's, claimed by the last process started, so
// the integration events reach NATS once each. Before, each process kept
// its checkpoint in its own data directory: the second one, started with
// an empty one, republished the log from position 0 (outside JetStream's
// duplicate window on a real deployment), and both relayed every new
// event. A core NATS subscription sees every publish, duplicates
// included (JetStream's window only keeps them out of the stream).
func TestTwoProcessesRelayOnce(t *testing.T) {
	pg := postgresURL(t)
	url := testNATS(t)
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	subject, reminders := "kinerja-events-relay2-"+tag, "kinerja-reminders-relay2-"+tag
	conn, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sub, err := conn.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if js, err := conn.JetStream(); err == nil {
			js.DeleteStream(subject)
			js.DeleteStream(reminders)
		}
	})
	seen := map[string]int{}
	types := map[string]string{}
	// drain reads what arrives until the subject has been quiet for 3 s.
	drain := func() {
		t.Helper()
		for {
			m, err := sub.NextMsg(3 * time.Second)
			if err != nil {
				return
			}
			var ie wmbridge.IntegrationEvent
			if err := json.Unmarshal(m.Data, &ie); err != nil {
				t.Fatalf("relayed %q: %v", m.Data, err)
			}
			seen[ie.EventID]++
			types[ie.EventID] = ie.Type
		}
	}
	args := []string{"--store", "postgres", "--postgres-url", pg, "--migrate", "--nats-url", url, "--nats-subject", subject,
		"--nats-reminder-subject", reminders, "--nats-consequences-subject", ""}
	dataA, dataB := t.TempDir(), t.TempDir()
	a := startServer(t, dataA, args...)
	id, _, _ := established(t, a)
	drain()
	if len(seen) < 2 {
		t.Fatalf("process A relayed %d events, want the 2 SKPs established", len(seen))
	}
	first := len(seen)

	// Process B starts (an empty data directory, as a new machine has).
	shareKeys(t, dataA, dataB)
	b := startServer(t, dataB, append(append(args, sharedKeyFlags(dataA)...), "--witness-file", filepath.Join(dataA, wiring.WitnessFile))...)
	// New integration events, written through each process.
	a.must(200, nipA, nil, "PUT", "/v1/skps/"+id+"/evaluations/2025-Q1", httpapi.RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "Sesuai rencana"}, nil)
	a.must(200, nipA, nil, "POST", "/v1/skps/"+id+"/evaluations/2025-Q1/issue", nil, nil)
	b.must(200, nipA, nil, "PUT", "/v1/skps/"+id+"/evaluations/2025-Q2", httpapi.RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Sesuai rencana"}, nil)
	b.must(200, nipA, nil, "POST", "/v1/skps/"+id+"/evaluations/2025-Q2/issue", nil, nil)
	drain()
	for ev, n := range seen {
		if n != 1 {
			t.Errorf("event %s (%s) published %d times by two processes, want once", ev, types[ev], n)
		}
	}
	if len(seen) != first+2 {
		t.Errorf("%d events relayed after the two evaluations were issued, want %d (+2)", len(seen), first+2)
	}
}
