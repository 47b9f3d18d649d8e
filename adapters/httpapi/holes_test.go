package httpapi

// The smaller holes of issue 9 §4, each with the request that found it.

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// comparable404 is a 404 without what differs by request: its ID.
func comparable404(t testing.TB, r response) (Problem, http.Header) {
	t.Helper()
	if r.status != http.StatusNotFound {
		t.Fatalf("status %d %s, want 404", r.status, r.body)
	}
	p := r.problem(t)
	p.RequestID = ""
	hdr := r.header.Clone()
	hdr.Del("X-Request-ID")
	return p, hdr
}

// A 404 says the same whether the resource is missing or the caller may
// not see it, on every endpoint that answers 404 for either: body and
// headers. Before, an invisible SKP said "skp.read: not found" and a
// missing one "skp … not found".
func TestNotFoundSaysNothingMore(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, ind := h.establishedE(rhkA)
	missing := nipE + "-2030"
	now := url.QueryEscape(h.clock.Now().Format(time.RFC3339))
	type call struct{ method, path string }
	skpCalls := func(id string) []call {
		return []call{
			{"GET", "/v1/skps/" + id},
			{"GET", "/v1/skps/" + id + "?as_of=" + now},
			{"GET", "/v1/skps/" + id + "?revision=3"},
			{"GET", "/v1/skps/" + id + "/events"},
			{"GET", "/v1/skps/" + id + "/score-history"},
			{"GET", "/v1/skps/" + id + "/evaluations/2026-Q1"},
			{"POST", "/v1/skps/" + id + "/realisations"},
			{"POST", "/v1/skps/" + id + "/feedback"},
			{"PUT", "/v1/skps/" + id + "/evaluations/2026-Q1"},
			{"POST", "/v1/skps/" + id + "/submit"},
			{"POST", "/v1/skps/" + id + "/evaluations/2026/objection"},
		}
	}
	bodies := map[string]any{
		"realisations": RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 1},
		"feedback":     FeedbackBody{Text: "Halo"},
		"2026-Q1":      RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "x"},
		"objection":    ObjectionBody{Reasons: "x"},
	}
	bodyOf := func(c call) any {
		if c.method == "GET" {
			return nil
		}
		return bodies[c.path[strings.LastIndex(c.path, "/")+1:]]
	}
	var want Problem
	var wantHdr http.Header
	check := func(who caller, c call, headers ...string) {
		t.Helper()
		p, hdr := comparable404(t, h.request(&who, c.method, c.path, bodyOf(c), headers...))
		if want.Code == "" {
			want, wantHdr = p, hdr
			return
		}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("%s %s as %s: the 404 differs (-first +this):\n%s", c.method, c.path, who.sub, diff)
		}
		if diff := cmp.Diff(wantHdr, hdr); diff != "" {
			t.Errorf("%s %s as %s: the 404's headers differ (-first +this):\n%s", c.method, c.path, who.sub, diff)
		}
	}
	for i, c := range skpCalls(id) {
		check(outX, c)
		check(outX, skpCalls(missing)[i])
		check(hr, skpCalls(missing)[i])
	}
	check(outX, call{"POST", "/v1/skps/" + id + "/submit"}, "If-Match", `"0"`)
	for _, p := range []string{"/v1/employees/%s", "/v1/employees/%s/timeline", "/v1/employees/%s/score-history"} {
		check(outX, call{"GET", strings.Replace(p, "%s", nipE, 1)})
		check(hr, call{"GET", strings.Replace(p, "%s", "199901012020121099", 1)})
	}
	check(hr, call{"GET", "/v1/units/NOPE"})
	check(hr, call{"GET", "/v1/no-such-route"})
}

// as_of before the SKP existed is 404, the zero instant included (it used
// to mean "now" and answer the current state).
func TestAsOfBeforeTheStream(t *testing.T) {
	h := newHarness(t)
	h.cast()
	id, _ := h.establishedA()
	for _, at := range []string{"0001-01-01T00:00:00Z", "0001-01-01T07:00:00+07:00", "1970-01-01T00:00:00Z", "2026-01-05T08:59:59+07:00"} {
		h.refused(http.StatusNotFound, "not_found", &apprA, "GET", "/v1/skps/"+id+"?as_of="+url.QueryEscape(at), nil)
	}
	h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+id+"?as_of="+url.QueryEscape(h.clock.Now().Format("2006-01-02T15:04:05.999999999Z07:00")), nil)
}

// null is not a value: a field that cannot be null refuses it with 422
// instead of decoding it as zero (a realisation of 0). Fields that may be
// left out as null (occurred_at) still may.
func TestNullIsNotAValue(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, rhk, ind := h.establishedE(rhkA)
	head := h.headLen()
	for _, tc := range []struct {
		path, body, field string
	}{
		{"/realisations", `{"period":"2026-Q1","indicator_id":"` + ind + `","value":null}`, "value"},
		{"/realisations", `{"period":"2026-Q1","indicator_id":"` + ind + `","value":1,"narrative":null}`, "narrative"},
		{"/realisations", `{"period":null,"indicator_id":"` + ind + `","value":1}`, "period"},
		{"/feedback", `{"about":null,"text":"Halo"}`, "about"},
		{"/feedback", `{"about":{"rhk_id":null},"text":"Halo"}`, "about.rhk_id"},
	} {
		p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", "/v1/skps/"+id+tc.path, tc.body)
		if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Errorf("%s: errors %+v, want one naming %s", tc.body, p.Errors, tc.field)
		}
	}
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/feedback", `{"about":{"rhk_id":"`+rhk+`"},"text":"Halo","occurred_at":null,"reason":"r"}`)
	if got := h.headLen(); got != head+1 {
		t.Errorf("appended %d events, want 1 (the last request)", got-head)
	}
}

// Unknown values of an enumerated filter are 400 on every list endpoint
// (they answered 200 with an empty page).
func TestUnknownFilterValues(t *testing.T) {
	h := newHarness(t)
	h.cast()
	for _, tc := range []struct {
		who  caller
		path string
	}{
		{hr, "/v1/skps?status=FINISHED"},
		{hr, "/v1/skps?status=draft"},
		{clerk, "/v1/objections?status=CLOSED"},
		{analyst, "/v1/reports/objections?status=open"},
	} {
		if p := h.refused(http.StatusBadRequest, "invalid_request", &tc.who, "GET", tc.path, nil); p.Errors[0].Field != "status" {
			t.Errorf("%s: %+v, want the status named", tc.path, p)
		}
	}
	for _, tc := range []struct {
		who  caller
		path string
	}{
		{hr, "/v1/skps?status=CLOSED_FOR_POSITION_CHANGE"},
		{clerk, "/v1/objections?status=WITHDRAWN"},
		{analyst, "/v1/reports/objections?status=OPEN"},
	} {
		h.must(http.StatusOK, tc.who, "GET", tc.path, nil)
	}
}

// A cursor the API did not issue for this query and caller is 400: made
// up, edited, or taken from another query or caller (a made-up one
// answered 200 with an empty page).
func TestForgedCursors(t *testing.T) {
	h := newHarness(t)
	h.cast()
	h.establishedA()
	for _, n := range []string{nipE, nipP, nipX} {
		h.must(http.StatusCreated, hr, "POST", "/v1/skps", DraftBody{NIP: n, Year: 2026, Approach: "KUANTITATIF"})
	}
	var page SKPPage
	h.must(http.StatusOK, hr, "GET", "/v1/skps?year=2026&limit=2", nil).decode(t, &page)
	if page.NextCursor == nil {
		t.Fatal("no next page")
	}
	good := *page.NextCursor
	h.must(http.StatusOK, hr, "GET", "/v1/skps?year=2026&limit=2&cursor="+good, nil)
	h.must(http.StatusOK, hr, "GET", "/v1/skps?year=2026&limit=3&cursor="+good, nil) // the page size may change
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	edited := append([]byte(nil), raw...)
	edited[len(edited)-1] ^= 1
	for name, tc := range map[string]struct {
		who    caller
		query  string
		cursor string
	}{
		"the read model's own cursor": {hr, "year=2026", base64.RawURLEncoding.EncodeToString([]byte(nipE + "-2026"))},
		"an edited cursor":            {hr, "year=2026", base64.RawURLEncoding.EncodeToString(edited)},
		"a truncated cursor":          {hr, "year=2026", good[:10]},
		"other filters":               {hr, "year=2026&status=DRAFT", good},
		"another caller":              {aud, "year=2026", good},
		"not base64":                  {hr, "year=2026", "!!"},
	} {
		if p := h.refused(http.StatusBadRequest, "invalid_request", &tc.who, "GET", "/v1/skps?"+tc.query+"&cursor="+url.QueryEscape(tc.cursor), nil); p.Errors[0].Field != "cursor" {
			t.Errorf("%s: %+v, want the cursor named", name, p)
		}
	}
}

// GET …/events is paginated: the pages, followed by next_cursor, are the
// stream; the ETag is the SKP's revision on every page; a cursor of
// another SKP or caller is 400.
func TestEventsPages(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	var all EventList
	r := h.must(http.StatusOK, aud, "GET", "/v1/skps/"+id+"/events", nil)
	r.decode(t, &all)
	if all.NextCursor != nil || len(all.Items) != h.streamLen("skp-"+id) {
		t.Fatalf("one page = %d items (next %v), stream has %d", len(all.Items), all.NextCursor, h.streamLen("skp-"+id))
	}
	etagAll := r.header.Get("ETag")
	var got []EventItem
	path := "/v1/skps/" + id + "/events?limit=2"
	for pages := 0; ; pages++ {
		if pages > len(all.Items) {
			t.Fatal("the pages do not end")
		}
		var p EventList
		r := h.must(http.StatusOK, empE, "GET", path, nil)
		r.decode(t, &p)
		if r.header.Get("ETag") != etagAll {
			t.Errorf("page ETag = %s, want the SKP's %s", r.header.Get("ETag"), etagAll)
		}
		got = append(got, p.Items...)
		if p.NextCursor == nil {
			break
		}
		if len(p.Items) != 2 {
			t.Errorf("a page before the last has %d items", len(p.Items))
		}
		path = "/v1/skps/" + id + "/events?limit=2&cursor=" + *p.NextCursor
		if pages == 0 {
			h.refused(http.StatusBadRequest, "invalid_request", &apprA, "GET", path, nil)
			h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", "/v1/skps/"+nipA+"-2026/events?cursor="+*p.NextCursor, nil)
		}
	}
	if diff := cmp.Diff(all.Items, got); diff != "" {
		t.Errorf("the pages differ from the stream (-all +pages):\n%s", diff)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x"} {
		h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", "/v1/skps/"+id+"/events?"+q, nil)
	}
}

// Query parameters holding text no read model can hold (NUL and other
// control characters, invalid UTF-8) are malformed, on every list: 400
// naming the parameter. (PostgreSQL refuses a NUL in a query parameter,
// which was a 500 with the PostgreSQL read models.)
func TestUnfitQueryParameters(t *testing.T) {
	h := newHarness(t)
	h.cast()
	for _, tc := range []struct {
		who         caller
		path, param string
	}{
		{hr, "/v1/skps?nip=1990%00", "nip"},
		{hr, "/v1/skps?unit=DIN%FFKES", "unit"},
		{aud, "/v1/audit?actor=hr%00admin", "actor"},
		{aud, "/v1/audit?stream=skp-%1b", "stream"},
		{aud, "/v1/audit?type=skp.%00", "type"},
		{clerk, "/v1/objections?skp_id=%00", "skp_id"},
		{clerk, "/v1/objections?unit=%C3", "unit"},
		{analyst, "/v1/reports/progress?unit=%00", "unit"},
		{analyst, "/v1/evaluations?unit=%00&period=2026", "unit"},
	} {
		if p := h.refused(http.StatusBadRequest, "invalid_request", &tc.who, "GET", tc.path, nil); p.Errors[0].Field != tc.param {
			t.Errorf("%s: %+v, want %s named", tc.path, p, tc.param)
		}
	}
	h.must(http.StatusOK, aud, "GET", "/v1/audit?actor=hr-admin%09", nil) // a tab is text
}
