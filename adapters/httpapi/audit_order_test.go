package httpapi

import (
	"net/http"
	"slices"
	"testing"
)

// GET /v1/audit?order=desc lists the trail newest first, its next page is
// before=next, before=N+1 jumps to entry N, and an unknown order is 400
// (issue 13).
func TestAuditNewestFirst(t *testing.T) {
	h := newHarness(t)
	h.cast()
	h.establishedA()
	h.catchUp()
	type page struct {
		Items []struct{ Seq uint64 }
		Next  *uint64
	}
	seqs := func(p page) []uint64 {
		var out []uint64
		for _, it := range p.Items {
			out = append(out, it.Seq)
		}
		return out
	}
	var all page
	h.must(http.StatusOK, aud, "GET", "/v1/audit?limit=1000", nil).decode(t, &all)
	n := len(all.Items)
	if n < 8 {
		t.Fatalf("only %d entries", n)
	}
	var first page
	h.must(http.StatusOK, aud, "GET", "/v1/audit?order=desc&limit=3", nil).decode(t, &first)
	want := []uint64{uint64(n - 1), uint64(n - 2), uint64(n - 3)}
	if !slices.Equal(seqs(first), want) || first.Next == nil || *first.Next != uint64(n-3) {
		t.Fatalf("newest first = %v next %v, want %v next %d", seqs(first), first.Next, want, n-3)
	}
	var second page
	h.must(http.StatusOK, aud, "GET", "/v1/audit?order=desc&limit=3&before="+itoa(*first.Next), nil).decode(t, &second)
	if want := []uint64{uint64(n - 4), uint64(n - 5), uint64(n - 6)}; !slices.Equal(seqs(second), want) {
		t.Errorf("the older page = %v, want %v", seqs(second), want)
	}
	var jump page
	h.must(http.StatusOK, aud, "GET", "/v1/audit?order=desc&limit=2&before=5", nil).decode(t, &jump)
	if want := []uint64{4, 3}; !slices.Equal(seqs(jump), want) {
		t.Errorf("jump to 4 = %v, want %v", seqs(jump), want)
	}
	var window page
	h.must(http.StatusOK, aud, "GET", "/v1/audit?after=2&before=6", nil).decode(t, &window)
	if want := []uint64{3, 4, 5}; !slices.Equal(seqs(window), want) || window.Next != nil {
		t.Errorf("after 2 before 6 = %v next %v, want %v", seqs(window), window.Next, want)
	}
	h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", "/v1/audit?order=newest", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", "/v1/audit?before=-1", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", "/v1/audit?before=%01", nil)
}
