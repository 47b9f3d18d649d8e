package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestRenderedBodyIsTheUncachedBody: on PostgreSQL, with two agencies, a
// GET /v1/skps/{id} served from the render cache is byte for byte what the
// same caller gets from a server that keeps no rendering (RenderCacheBytes
// 1: every body rendered afresh), for each caller of either agency, a
// national role, the SKP's own people and outsiders, and for the current
// view, a revision and an as_of of two SKPs. The cache is warmed by a
// caller who may read everything before each of the others asks, so a
// rendering is offered to everyone: a caller the uncached path refuses is
// refused alike (the same status and problem), never given the warmed
// bytes, and that refusal reads as for an SKP that does not exist.
func TestRenderedBodyIsTheUncachedBody(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL harness")
	}
	h := newHarnessOn(t, "postgres")
	f := h.at(stageObjection)
	h.must(http.StatusCreated, hrB, "POST", "/v1/units", CreateUnitBody{ID: "PEMPROV", Name: "Pemerintah Provinsi"})
	h.must(http.StatusCreated, hrB, "POST", "/v1/units", CreateUnitBody{ID: "DISDIK", Name: "Dinas Pendidikan", ParentID: "PEMPROV"})
	h.must(http.StatusCreated, hrB, "POST", "/v1/employees", CreateEmployeeBody{NIP: nipB, Name: "Pegawai Provinsi", UnitID: "DISDIK",
		Position: PositionBody{Kind: "PELAKSANA", Title: "Pengadministrasi"}})
	idA := nipA + "-2026" // A's own SKP (established by the cast)
	rev := skpView(t, h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+f.id, nil)).Revision
	asOf := url.QueryEscape(h.clock.Now().Add(-time.Hour).Format(time.RFC3339Nano))
	var paths []string
	for _, id := range []string{f.id, idA} {
		paths = append(paths, "/v1/skps/"+id, "/v1/skps/"+id+"?as_of="+asOf)
	}
	paths = append(paths, fmt.Sprintf("/v1/skps/%s?revision=%d", f.id, rev-1), fmt.Sprintf("/v1/skps/%s?revision=%d", f.id, rev))
	callers := []caller{empE, apprA, supS, peerP, outX, hr, hrAgA, audAgA, anAgA, hrB, analystB, audB, clerkB, natAn, natAud, natHR}

	// warm has every path rendered by a caller who reads all of them (the
	// national auditor reads every agency).
	warm := func() {
		for _, p := range paths {
			h.request(&natAud, "GET", p, nil)
		}
	}
	type answer struct {
		status int
		body   string
	}
	ask := func(cached bool) map[string]answer {
		out := map[string]answer{}
		for _, who := range callers {
			for _, p := range paths {
				if cached {
					warm()
				}
				r := h.request(&who, "GET", p, nil)
				out[who.sub+" "+p] = answer{r.status, normal(r)}
			}
		}
		return out
	}
	cachedAnswers := ask(true)
	h.idem.Close()
	h.openServer(func(s *settings) { s.Config.RenderCacheBytes = 1 })
	uncached := ask(false)
	served, refused := 0, 0
	for k, want := range uncached {
		got := cachedAnswers[k]
		if got != want {
			t.Errorf("GET %s: from the render cache %d %s; uncached %d %s", k, got.status, got.body, want.status, want.body)
		}
		if want.status == http.StatusOK {
			served++
		} else {
			refused++
		}
	}
	if served < 10 || refused < 10 {
		t.Fatalf("%d answers served and %d refused: the callers do not cover both sides", served, refused)
	}
	// A refusal reads as an unknown SKP's answer, with the cache warm.
	h.idem.Close()
	h.openServer()
	missing := nipB + "-2026"
	for _, who := range []caller{hrB, analystB, audB, outX} {
		warm()
		ra := h.request(&who, "GET", "/v1/skps/"+f.id, nil)
		rx := h.request(&who, "GET", "/v1/skps/"+missing, nil)
		if ra.status != http.StatusNotFound || normal(ra) != normal(rx) {
			t.Errorf("GET E's SKP as %s: %d %s; an unknown SKP: %d %s", who.sub, ra.status, ra.body, rx.status, rx.body)
		}
	}
}
