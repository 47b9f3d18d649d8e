package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// TestNoStoredEventStopsTheService (issue 9 §1): events already in a store
// — written straight to it, bypassing the API — can neither stop kinerjad
// from starting nor keep it from serving. A unit name, an employee's name
// and a rating rationale holding NUL, other control characters and bytes
// that are not UTF-8 are stored and served by both read-model backends;
// an event no projection can apply stops only the Stop projection that
// reads it, and /readyz names it.
func TestNoStoredEventStopsTheService(t *testing.T) {
	for _, store := range []string{backend.Bolt, backend.Postgres} {
		t.Run(store, func(t *testing.T) {
			cfg := backend.StoreConfig{Name: store, DataDir: t.TempDir(), Migrate: true}
			args := []string{"--store", store}
			if store == backend.Postgres {
				cfg.PostgresURL = postgresURL(t)
				args = append(args, "--postgres-url", cfg.PostgresURL, "--migrate")
			}
			// Written by a legitimate writer: signed with the key kinerjad
			// will trust (the poison here is in the payload, not the history).
			keys, err := wiring.LoadWriterKeys(filepath.Join(cfg.DataDir, wiring.WriterKeyFile), filepath.Join(cfg.DataDir, wiring.WriterKeyringFile), true)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Signer, cfg.Keyring = keys.StoreSigner(), keys.Keyring
			ctx := context.Background()
			// The readmodeltest journey writes hostile values through the
			// domain services, straight into the store.
			var opened eventstore.Store
			j := readmodeltest.RunJourney(t, func(tb testing.TB, _ func() time.Time) (eventstore.Store, domain.EventLog) {
				s, err := backend.OpenStore(ctx, cfg)
				if err != nil {
					tb.Fatal(err)
				}
				opened = s
				return s, eventlog.New(readmodeltest.LegacyStore(s))
			})
			p2 := j.SKP["199106062016032016"]
			// And an event that no projection can apply: a rating whose
			// payload does not decode.
			poisonID := uuid.New()
			poison, err := opened.Append(ctx, "skp-"+p2, eventstore.Any, eventstore.EventData{
				ID: poisonID, Type: "skp.rating_assigned.v1", SchemaVersion: 1, OccurredAt: time.Now(),
				Actor: eventstore.Actor{ID: "insider", Role: "SYSTEM"}, Data: []byte(`{"period": 2026, "rationale": "\u0000"}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			opened.Close()

			s := startServer(t, cfg.DataDir, args...)
			// Everything else serves, the hostile bytes intact.
			var unit struct {
				Name string `json:"name"`
			}
			s.must(200, "hr-admin", hrAdmin, "GET", "/v1/units/PUSKESMAS2", nil, &unit)
			// JSON carries each byte that is not UTF-8 as U+FFFD.
			if want := strings.Map(func(r rune) rune { return r }, readmodeltest.HostileText); unit.Name != want {
				t.Errorf("unit name = %q, want %q", unit.Name, want)
			}
			var emp struct {
				Name string `json:"name"`
			}
			s.must(200, "hr-admin", hrAdmin, "GET", "/v1/employees/199106062016032016", nil, &emp)
			if emp.Name != "Pegawai\uffff0016\x7f" {
				t.Errorf("employee name = %q, want it as written", emp.Name)
			}
			// /readyz: serving (200), degraded, naming the stopped projection,
			// the event and the reason.
			var rd httpapi.Readiness
			deadline := time.Now().Add(20 * time.Second)
			for {
				a := s.call("", nil, "GET", "/readyz", nil)
				rd = httpapi.Readiness{}
				if err := json.Unmarshal(a.body, &rd); err != nil {
					t.Fatalf("/readyz %d %s: %v", a.status, a.body, err)
				}
				if a.status == 200 && rd.Status == httpapi.ReadyDegraded {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/readyz = %d %s, want 200 degraded", a.status, a.body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if b, _ := json.Marshal(rd); strings.Contains(string(b), p2) {
				t.Errorf("/readyz names the NIP: %s", b)
			}
			stopped := 0
			for _, p := range rd.Projections {
				switch {
				case p.Name == "scores" || p.Name == "deadlines":
					// The Stop projections that need the payload: the
					// score history and the deadline process manager.
					st := p.StalledAt
					if p.Condition != "stalled" || st == nil || st.Position != uint64(poison.Position) || st.EventID != poisonID.String() ||
						st.Type != "skp.rating_assigned.v1" || !strings.Contains(st.Reason, "decode") {
						t.Errorf("%s in /readyz = %+v (stalled at %+v), want stalled at the poison event %d", p.Name, p, st, poison.Position)
					}
					stopped++
				case p.Condition != "ok":
					t.Errorf("projection %s is %s (%s), want ok", p.Name, p.Condition, p.LastError)
				}
			}
			if stopped != 2 || len(rd.Reasons) != 2 || !strings.Contains(rd.Reasons[0], "scores") || !strings.Contains(rd.Reasons[1], "deadlines") {
				t.Errorf("/readyz = %+v, want scores and deadlines named", rd)
			}
			// The audit trail, a Stop projection that records envelopes,
			// took the undecodable event and goes on.
			verifyAudit(t, s)
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			// A restart over the same store starts just the same.
			s = startServer(t, cfg.DataDir, args...)
			s.must(200, "hr-admin", hrAdmin, "GET", "/v1/units/PUSKESMAS2", nil, &unit)
		})
	}
}
