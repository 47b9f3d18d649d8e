package main

import (
	"fmt"
	"sync"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
)

// TestKeyedDoubleSubmitRace: requests racing with one key on the embedded
// store (the records in the store's file, claimed with the events): of 8
// identical ones, one runs and 7 get its answer replayed; of 8 with
// different bodies, one runs and 7 are refused. One unit each time.
func TestKeyedDoubleSubmitRace(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", httpapi.CreateUnitBody{ID: "ROOT", Name: "Induk"}, nil)
	race := func(key string, body func(i int) httpapi.CreateUnitBody) []answer {
		out := make([]answer, 8)
		var wg sync.WaitGroup
		for i := range out {
			wg.Go(func() { out[i] = s.call("hr-admin", hrAdmin, "POST", "/v1/units", body(i), "Idempotency-Key", key) })
		}
		wg.Wait()
		return out
	}
	same := race("same", func(int) httpapi.CreateUnitBody {
		return httpapi.CreateUnitBody{ID: "SAME", Name: "Same", ParentID: "ROOT"}
	})
	ran := 0
	for _, a := range same {
		switch {
		case a.status == 201 && a.header.Get("Idempotency-Replayed") == "":
			ran++
		case a.status == 201 && a.header.Get("Idempotency-Replayed") == "true" && string(a.body) == string(same[0].body):
		default:
			t.Errorf("identical racing request: %d %s (replayed %q)", a.status, a.body, a.header.Get("Idempotency-Replayed"))
		}
	}
	if ran != 1 {
		t.Errorf("%d of 8 identical racing requests ran, want 1", ran)
	}
	diff := race("diff", func(i int) httpapi.CreateUnitBody {
		return httpapi.CreateUnitBody{ID: fmt.Sprintf("D%d", i), Name: "Different", ParentID: "ROOT"}
	})
	created := 0
	for i, a := range diff {
		switch a.status {
		case 201:
			created++
		case 422:
		default:
			t.Errorf("racing request %d with another body: %d %s", i, a.status, a.body)
		}
		if g := s.call("hr-admin", hrAdmin, "GET", fmt.Sprintf("/v1/units/D%d", i), nil); (g.status == 200) != (a.status == 201) {
			t.Errorf("unit D%d: GET %d after the request's %d", i, g.status, a.status)
		}
	}
	if created != 1 {
		t.Errorf("%d of 8 racing requests with one key and different bodies ran, want 1", created)
	}
}
