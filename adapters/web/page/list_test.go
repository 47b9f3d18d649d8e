package page

import (
	"cmp"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
)

func listRequest(user, target string) *Request {
	target, _, _ = strings.Cut(target, "#") // a browser does not send the fragment
	return &Request{Request: httptest.NewRequest("GET", target, nil), User: domain.Principal{ID: user}}
}

var testSpec = ListSpec{Name: "n", Size: 10, Sorts: []string{"asc", "mod"}}

var testOrder = map[string]func(a, b int) int{
	"asc": cmp.Compare[int],
	"mod": func(a, b int) int { return cmp.Compare(a%7, b%7) },
}

// Paginate walks a list page by page, both ways, with every item once;
// sorts by a column, stably, and the other way; seals its cursors to the
// list, sort, caller and scope; refuses a bad sort or cursor.
func TestPaginate(t *testing.T) {
	items := make([]int, 95)
	for i := range items {
		items[i] = 94 - i
	}
	var seen []int
	target := "/x?year=2025"
	var pages []string
	for n := 0; target != ""; n++ {
		if n > 20 {
			t.Fatal("the pages do not end")
		}
		pages = append(pages, target)
		got, nav, err := Paginate(listRequest("u", target), testSpec, items, testOrder, "2025")
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if nav.Total != 95 || nav.From != len(seen)+1 || nav.To != len(seen)+len(got) || (n > 0) != (nav.PrevURL != "") {
			t.Errorf("%s: nav %+v", target, nav)
		}
		seen = append(seen, got...)
		target = nav.NextURL
	}
	if len(seen) != 95 || !slices.IsSorted(seen) || len(pages) != 10 {
		t.Errorf("walked %d items in %d pages, sorted %v", len(seen), len(pages), slices.IsSorted(seen))
	}
	// Back from the last page to the first by "previous".
	_, last, _ := Paginate(listRequest("u", pages[9]), testSpec, items, testOrder, "2025")
	_, back, err := Paginate(listRequest("u", last.PrevURL), testSpec, items, testOrder, "2025")
	if err != nil || back.From != 81 {
		t.Errorf("previous of the last page starts at %d, %v", back.From, err)
	}
	// Sorted by the other column, stably (ties keep the sort of items),
	// then the other way.
	u := last.SortURL("mod")
	got, nav, err := Paginate(listRequest("u", u), testSpec, items, testOrder, "2025")
	if err != nil || nav.Sort != "mod" || nav.Desc || nav.AriaSort("mod") != "ascending" || got[0] != 91 || got[1] != 84 {
		t.Errorf("by mod: %v %+v %v", got, nav, err)
	}
	got, nav, err = Paginate(listRequest("u", nav.SortURL("mod")), testSpec, items, testOrder, "2025")
	if err != nil || !nav.Desc || nav.AriaSort("mod") != "descending" || got[0]%7 != 6 {
		t.Errorf("by mod descending: %v %+v %v", got, nav, err)
	}
	if strings.Contains(nav.SortURL("asc"), "n_at=") || !strings.Contains(nav.SortURL("asc"), "year=2025") {
		t.Errorf("a sort link keeps the filters and starts again: %s", nav.SortURL("asc"))
	}
	// Refused: edited, of another sort, scope or caller, nonsense.
	next, _ := url.Parse(strings.TrimSuffix(pages[1], "#n"))
	cur := next.Query().Get("n_at")
	for _, c := range []struct {
		user, target, scope string
	}{
		{"u", "/x?n_at=" + url.QueryEscape(map[bool]string{true: "B", false: "A"}[cur[0] == 'A']+cur[1:]), "2025"},
		{"u", "/x?n_sort=mod&n_at=" + url.QueryEscape(cur), "2025"},
		{"u", "/x?n_dir=desc&n_at=" + url.QueryEscape(cur), "2025"},
		{"u", "/x?n_at=" + url.QueryEscape(cur), "2024"},
		{"v", "/x?n_at=" + url.QueryEscape(cur), "2025"},
		{"u", "/x?n_at=" + strconv.Itoa(10), "2025"},
		{"u", "/x?n_at=" + strings.Repeat("A", 5000), "2025"},
		{"u", "/x?n_sort=bogus", "2025"},
		{"u", "/x?n_dir=up", "2025"},
	} {
		_, _, err := Paginate(listRequest(c.user, c.target), testSpec, items, testOrder, c.scope)
		var pe *ParamError
		if !errors.As(err, &pe) || len(pe.Value) > 30 {
			t.Errorf("%s as %s in %s: %v, want a short *ParamError", c.target, c.user, c.scope, err)
		}
	}
	// A list that shrank since the link was made: its last page.
	got, nav, err = Paginate(listRequest("u", pages[9]), testSpec, items[:15], testOrder, "2025")
	if err != nil || nav.From != 11 || len(got) != 5 {
		t.Errorf("shrunk list: %v %+v %v", got, nav, err)
	}
	// Empty.
	got, nav, err = Paginate(listRequest("u", "/x"), testSpec, []int{}, testOrder)
	if err != nil || len(got) != 0 || nav.Paged() || nav.From != 0 {
		t.Errorf("empty list: %v %+v %v", got, nav, err)
	}
}

// SealCursor and OpenCursor: a read model's cursor comes back only for
// the scope it was sealed for.
func TestSealCursor(t *testing.T) {
	c := SealCursor("inner|1", "u", "q")
	if got, err := OpenCursor(c, "u", "q"); err != nil || got != "inner|1" {
		t.Errorf("OpenCursor = %q, %v", got, err)
	}
	for _, bad := range []string{c[:len(c)-1], "x" + c, "inner|1", strings.Repeat("A", 2000)} {
		if _, err := OpenCursor(bad, "u", "q"); err == nil {
			t.Errorf("OpenCursor(%.20q) opened", bad)
		}
	}
	if _, err := OpenCursor(c, "v", "q"); err == nil {
		t.Error("another caller's cursor opened")
	}
	if got, err := OpenCursor("", "u"); got != "" || err != nil {
		t.Errorf("OpenCursor(\"\") = %q, %v", got, err)
	}
}
