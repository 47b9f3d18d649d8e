package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// searchAll pages through GET /v1/employees as who and returns the NIPs.
func (h *harness) searchAll(who caller, query string) []string {
	h.t.Helper()
	var nips []string
	cursor := ""
	for range 100 {
		q := "/v1/employees?limit=2" + query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var page EmployeePage
		h.must(http.StatusOK, who, "GET", q, nil).decode(h.t, &page)
		for _, e := range page.Items {
			nips = append(nips, e.NIP)
		}
		if page.NextCursor == nil {
			return nips
		}
		cursor = *page.NextCursor
	}
	h.t.Fatalf("GET /v1/employees%s: the cursor never ends", query)
	return nil
}

// The employee search finds by folded name, NIP prefix, unit subtree and
// kind, page by page; the HR and audit roles may use it, nobody else.
func TestEmployeeSearch(t *testing.T) {
	h := newHarness(t)
	h.cast()
	const nipJ = "199303032018032011"
	h.must(http.StatusCreated, hr, "POST", "/v1/employees", CreateEmployeeBody{NIP: nipJ, Name: "José  Ñurhaliza", UnitID: "BAPPEDA",
		Position: PositionBody{Kind: "JF", Title: "Analis"}})
	h.catchUp()

	all := h.searchAll(hr, "")
	if len(all) != 8 {
		t.Fatalf("HR_ADMIN finds %d employees, want 8: %v", len(all), all)
	}
	// "José ..." folds to "jose ..." and sorts before every "pegawai ...",
	// which sort by NIP.
	if all[0] != nipJ || !slices.IsSorted(all[1:]) {
		t.Errorf("order = %v; want the folded name order, José first", all)
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"&q=JOSE+nurh", []string{nipJ}},
		{"&q=" + url.QueryEscape("josé ñ") + "&match=prefix", []string{nipJ}},
		{"&q=nurhaliza&match=prefix", nil},
		{"&nip=19900101", []string{nipE}},
		{"&nip=" + url.QueryEscape("19900101 201503"), []string{nipE}},
		{"&unit=DINKES&kind=PELAKSANA", []string{nipE, nipP}},
		{"&unit=PEMKOT&kind=JF", []string{nipJ}},
		{"&kind=JPT_UTAMA", []string{nipT}},
	} {
		got := h.searchAll(aud, c.query)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("GET /v1/employees?%s = %v, want %v", c.query, got, c.want)
		}
	}
	if got := h.searchAll(analyst, ""); !slices.Equal(got, all) {
		t.Errorf("HR_ANALYST finds %v, HR_ADMIN %v", got, all)
	}
	h.refused(http.StatusNotFound, "not_found", &hr, "GET", "/v1/employees?unit=NOPE", nil)

	// By SKP status (issue 13): A's SKP of 2026 is established, E's a
	// draft; the rest of DINKES has none.
	h.establishedA()
	h.must(http.StatusCreated, empE, "POST", "/v1/skps", DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})
	h.catchUp()
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"&skp_status=ESTABLISHED&year=2026", []string{nipA}},
		{"&skp_status=DRAFT&year=2026", []string{nipE}},
		{"&skp_status=ESTABLISHED&year=2025", nil},
		{"&skp_status=SUBMITTED&year=2026", nil},
		{"&skp_status=NONE&year=2026&unit=DINKES&kind=PELAKSANA", []string{nipP}},
		{"&skp_status=NONE&year=2025&unit=DINKES&kind=PELAKSANA", []string{nipE, nipP}},
	} {
		got := h.searchAll(aud, c.query)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("GET /v1/employees?%s = %v, want %v", c.query, got, c.want)
		}
	}
}

// Adversarial: bad parameters are 400 and name the parameter; a forged,
// edited or foreign cursor is 400; callers without a list role are 403,
// and no token is 401.
func TestEmployeeSearchRefusals(t *testing.T) {
	h := newHarness(t)
	h.cast()
	h.catchUp()
	for _, c := range []struct{ query, field string }{
		{"q=" + url.QueryEscape("andi\x01"), "q"},
		{"q=%00", "q"},
		{"q=%FF", "q"},
		{"q=" + strings.Repeat("a", 10*1024), "q"},
		{"kind=KETUA", "kind"},
		{"kind=pelaksana", "kind"},
		{"match=regex", "match"},
		{"nip=1990x", "nip"},
		{"nip=" + strings.Repeat("1", 19), "nip"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=-1", "limit"},
		{"limit=ten", "limit"},
		{"cursor=" + url.QueryEscape("199001012015031001|pegawai"), "cursor"},
		{"cursor=!!!", "cursor"},
		{"unit=" + strings.Repeat("U", 101), "unit"},
		{"skp_status=DONE&year=2026", "skp_status"},
		{"skp_status=draft&year=2026", "skp_status"},
		{"skp_status=DRAFT", "year"},
		{"skp_status=DRAFT&year=1999", "year"},
		{"skp_status=DRAFT&year=20260", "year"},
	} {
		r := h.request(&hr, "GET", "/v1/employees?"+c.query, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"`+c.field+`"`) {
			t.Errorf("GET /v1/employees?%.60s = %d %.200s; want 400 naming %q", c.query, r.status, r.body, c.field)
		}
	}
	// A cursor is for its caller and its filters.
	var page EmployeePage
	h.must(http.StatusOK, hr, "GET", "/v1/employees?limit=1&unit=DINKES", nil).decode(t, &page)
	if page.NextCursor == nil {
		t.Fatal("no next cursor")
	}
	c := url.QueryEscape(*page.NextCursor)
	h.must(http.StatusOK, hr, "GET", "/v1/employees?limit=1&unit=DINKES&cursor="+c, nil)
	h.must(http.StatusOK, hr, "GET", "/v1/employees?limit=7&unit=DINKES&cursor="+c, nil)
	for _, q := range []string{"unit=PEMKOT&cursor=" + c, "unit=DINKES&kind=JF&cursor=" + c} {
		h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", "/v1/employees?"+q, nil)
	}
	h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", "/v1/employees?unit=DINKES&cursor="+c, nil)
	for _, who := range []caller{empE, apprA, supS, outX} {
		h.refused(http.StatusForbidden, "forbidden", &who, "GET", "/v1/employees", nil)
		h.refused(http.StatusForbidden, "forbidden", &who, "GET", "/v1/employees?q=pegawai&unit=DINKES", nil)
	}
	h.refused(http.StatusUnauthorized, "unauthenticated", nil, "GET", "/v1/employees", nil)
	h.must(http.StatusOK, hr, "GET", "/v1/employees?limit="+strconv.Itoa(directory.MaxSearchLimit), nil)
}
