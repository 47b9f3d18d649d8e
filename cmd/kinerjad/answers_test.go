package main

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
)

// TestKeyedAnswersStoredAtShutdown (end to end; App.Close's wait itself is
// TestKeyedAnswerInBackground's, in adapters/app): on bbolt a keyed answer is stored
// after it is returned (adapters/app/answers.go). A repeat at once gets
// the same answer from memory, and one after a stop and a start gets it
// from the idempotency records (in the store's file), replayed exactly: the shutdown stores what was
// pending before the file is closed. The unit is recorded once.
func TestKeyedAnswersStoredAtShutdown(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	units := []httpapi.CreateUnitBody{{ID: "PEMKOT", Name: "Pemerintah Kota"}, {ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"}}
	var first [2]answer
	for i, u := range units {
		first[i] = s.call("hr-admin", hrAdmin, "POST", "/v1/units", u, "Idempotency-Key", "unit-"+u.ID)
		if first[i].status != 201 {
			t.Fatalf("create %s: %d %s", u.ID, first[i].status, first[i].body)
		}
		again := s.call("hr-admin", hrAdmin, "POST", "/v1/units", u, "Idempotency-Key", "unit-"+u.ID)
		if again.status != 201 || string(again.body) != string(first[i].body) || again.header.Get("Idempotency-Replayed") != "true" {
			t.Fatalf("repeat of %s at once: %d %s (replayed %q)", u.ID, again.status, again.body, again.header.Get("Idempotency-Replayed"))
		}
	}
	// The last answer may still be pending: stop at once.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, data)
	for i, u := range units {
		again := s.call("hr-admin", hrAdmin, "POST", "/v1/units", u, "Idempotency-Key", "unit-"+u.ID)
		if again.status != 201 || string(again.body) != string(first[i].body) || again.header.Get("Idempotency-Replayed") != "true" {
			t.Errorf("repeat of %s after a restart: %d %s (replayed %q), want the first answer replayed", u.ID, again.status, again.body, again.header.Get("Idempotency-Replayed"))
		}
	}
	other := units[1]
	other.Name = "Dinas Kesehatan Kota"
	if a := s.call("hr-admin", hrAdmin, "POST", "/v1/units", other, "Idempotency-Key", "unit-DINKES"); a.status != 422 {
		t.Errorf("the key with another request after a restart: %d %s, want 422", a.status, a.body)
	}
}
