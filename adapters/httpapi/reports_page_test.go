package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// progressPages pages GET /v1/reports/progress?query as who, limit units a
// page, and returns the units' IDs in order and every page.
func (h *harness) progressPages(who caller, query string, limit string) ([]string, []ProgressReportPage) {
	h.t.Helper()
	var ids []string
	var pages []ProgressReportPage
	cursor := ""
	for range 100 {
		q := "/v1/reports/progress?" + query + "&limit=" + limit
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var p ProgressReportPage
		h.must(http.StatusOK, who, "GET", q, nil).decode(h.t, &p)
		pages = append(pages, p)
		for _, u := range p.Units {
			ids = append(ids, u.UnitID)
		}
		if p.NextCursor == "" {
			return ids, pages
		}
		cursor = p.NextCursor
	}
	h.t.Fatalf("progress %s: more than 100 pages", query)
	return nil, nil
}

// The progress report's JSON is paged (issue 15): paging returns every unit
// of the board exactly once, in the board's order, with the whole subtree's
// total on every page; depth keeps the upper levels; a cursor is the
// caller's and the query's; a bad limit, depth or cursor is a 400 naming
// it; another agency's units never appear; CSV stays the whole board.
func TestProgressPages(t *testing.T) {
	h, _ := tenancyFixture(t)
	for _, u := range []CreateUnitBody{{ID: "PKM1", Name: "Puskesmas 1", ParentID: "DINKES"}, {ID: "PKM2", Name: "Puskesmas 2", ParentID: "DINKES"},
		{ID: "PKM1A", Name: "Pustu 1A", ParentID: "PKM1"}, {ID: "BIDANG1", Name: "Bidang 1", ParentID: "BAPPEDA"}} {
		h.must(http.StatusCreated, hrAgA, "POST", "/v1/units", u)
	}
	var whole ProgressReportPage
	h.must(http.StatusOK, anAgA, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&limit=1000", nil).decode(t, &whole)
	var all []string
	for _, u := range whole.Units {
		all = append(all, u.UnitID)
	}
	if len(all) < 5 || whole.NextCursor != "" || whole.UnitCount != len(all) {
		t.Fatalf("the whole board: %d units %v, unit_count %d, next_cursor %q", len(all), all, whole.UnitCount, whole.NextCursor)
	}
	for _, limit := range []string{"1", "2", "3", "1000"} {
		ids, pages := h.progressPages(anAgA, "unit=PEMKOT&year=2026", limit)
		if !slices.Equal(ids, all) {
			t.Errorf("limit %s: paged units %v, the board's %v", limit, ids, all)
		}
		for i, p := range pages {
			if p.UnitCount != len(all) || p.Total.Employees != whole.Total.Employees || p.Total.Missing != whole.Total.Missing || p.Unit != "PEMKOT" {
				t.Errorf("limit %s page %d: unit_count %d, total %+v; want %d and %+v", limit, i, p.UnitCount, p.Total, len(all), whole.Total)
			}
		}
	}
	// The default page holds the whole of a small board.
	var def ProgressReportPage
	h.must(http.StatusOK, anAgA, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026", nil).decode(t, &def)
	if len(def.Units) != len(all) || def.NextCursor != "" {
		t.Errorf("default page: %d units, next_cursor %q", len(def.Units), def.NextCursor)
	}
	// depth=1: the unit and its direct sub-units, each with its subtree.
	ids, _ := h.progressPages(anAgA, "unit=PEMKOT&year=2026&depth=1", "2")
	var want []string
	for _, u := range whole.Units {
		if u.Depth <= 1 {
			want = append(want, u.UnitID)
		}
	}
	if !slices.Equal(ids, want) || len(want) == len(all) {
		t.Errorf("depth 1: %v, want %v", ids, want)
	}

	// Bad parameters: a clear 400 naming the parameter.
	var first ProgressReportPage
	h.must(http.StatusOK, anAgA, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&limit=2", nil).decode(t, &first)
	c := url.QueryEscape(first.NextCursor)
	for _, tc := range []struct {
		who   caller
		query string
		field string
	}{
		{anAgA, "limit=0", "limit"},
		{anAgA, "limit=1001", "limit"},
		{anAgA, "limit=ten", "limit"},
		{anAgA, "depth=-1", "depth"},
		{anAgA, "cursor=bm90LWEtY3Vyc29y", "cursor"},
		{anAgA, "cursor=%25%25", "cursor"},
		{anAgA, "cursor=" + c[:len(c)-2], "cursor"},
		{anAgA, "year=2025&cursor=" + c, "cursor"}, // another query's
		{anAgA, "depth=1&cursor=" + c, "cursor"},   // another depth's
		{hrAgA, "cursor=" + c, "cursor"},           // another caller's
	} {
		q := "/v1/reports/progress?unit=PEMKOT&" + tc.query
		if !strings.Contains(tc.query, "year=") {
			q += "&year=2026"
		}
		if p := h.refused(http.StatusBadRequest, "invalid_request", &tc.who, "GET", q, nil); len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
			t.Errorf("GET %s: errors %+v, want one naming %s", q, p.Errors, tc.field)
		}
	}
	// The cursor with another page size continues where it stopped.
	var rest ProgressReportPage
	h.must(http.StatusOK, anAgA, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&limit=1000&cursor="+c, nil).decode(t, &rest)
	if got := append([]string{first.Units[0].UnitID, first.Units[1].UnitID}, unitIDs(rest)...); !slices.Equal(got, all) {
		t.Errorf("two units then the rest: %v, want %v", got, all)
	}

	// Agency B's board holds B's units only, on every page, and B cannot
	// page A's board with A's cursor.
	ids, _ = h.progressPages(analystB, "unit=PEMPROV&year=2026", "1")
	if !slices.Equal(ids, []string{"PEMPROV", "DISDIK"}) {
		t.Errorf("B's board pages %v, want PEMPROV, DISDIK", ids)
	}
	for _, u := range all {
		if slices.Contains(ids, u) && u != "DISDIK" {
			t.Errorf("B's board holds A's %s", u)
		}
	}
	// A's cursor is not B's (the same 400 as for a unit that does not exist).
	for _, u := range []string{"PEMKOT", "NOSUCHROOT"} {
		if p := h.refused(http.StatusBadRequest, "invalid_request", &analystB, "GET", "/v1/reports/progress?unit="+u+"&year=2026&limit=2&cursor="+c, nil); p.Errors[0].Field != "cursor" {
			t.Errorf("B with A's cursor at %s: %+v", u, p.Errors)
		}
	}

	// CSV is the whole board whatever the limit.
	r := h.must(http.StatusOK, anAgA, "GET", "/v1/reports/progress?unit=PEMKOT&year=2026&format=csv&limit=1", nil)
	if lines := strings.Count(strings.TrimSpace(string(r.body)), "\n"); lines != len(all) {
		t.Errorf("the CSV has %d rows, want %d", lines, len(all))
	}
}

func unitIDs(p ProgressReportPage) []string {
	var out []string
	for _, u := range p.Units {
		out = append(out, u.UnitID)
	}
	return out
}
