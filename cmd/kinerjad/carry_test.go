package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
)

// TestCommandsCarrySKPState: kinerjad's commands on an SKP keep the state
// they decided on for the next command (skp.Carry), so that a mutation does
// not replay the whole stream; the gauge counts the states kept. The
// journey tests run every SKP command through the carried states.
func TestCommandsCarrySKPState(t *testing.T) {
	s := startServer(t, t.TempDir())
	id, _, _ := established(t, s)
	for range 3 {
		s.must(201, nipA, nil, "POST", "/v1/skps/"+id+"/feedback", httpapi.FeedbackBody{Text: "Laporan tepat waktu"}, nil)
	}
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// A's SKP and E's: each had commands after its draft.
	if !bytes.Contains(metrics, []byte("\nkinerja_commands_carried_skps 2\n")) {
		i := bytes.Index(metrics, []byte("kinerja_commands_carried_skps"))
		t.Fatalf("/metrics: want kinerja_commands_carried_skps 2, have %q", metrics[max(i, 0):min(max(i, 0)+120, len(metrics))])
	}
}
