package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// regRow is a row of the objection register: its objection link (SKP and
// period) and the employee's name.
var regRow = regexp.MustCompile(`<tr class="[^"]*" data-status="[A-Z]+">\s*<td><a href="/skp/([^"]+)">([^<]*)</a>`)

// registerRows are the SKP ids and names of a register page's rows.
func registerRows(body string) (ids, names []string) {
	for _, m := range regRow.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
		names = append(names, html.UnescapeString(m[2]))
	}
	return ids, names
}

// The objection register of issue 13 over a generated agency with many
// objections: 50 a page, every objection on exactly one page; sortable by
// the column headers (ascending, then descending) without JavaScript; its
// cursors are sealed (edited, of another sort, filter or caller: 400); the
// counts stay those of the whole filter.
func TestObjectionRegisterPaginated(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(seed.EndOf(2025, policy.WIB).Add(time.Hour))
	st, err := seed.Run(context.Background(), seed.Config{Employees: 200, Seed: 11, Year: 2025, Objections: 0.6},
		h.app.Services(context.Background()))
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	h.catchUp()
	if st.Objections <= 50 {
		t.Fatalf("the agency has %d objections; the test wants more than a page", st.Objections)
	}
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}

	first := h.must200(hr, "/keberatan").body
	ids, _ := registerRows(first)
	if len(ids) != 50 {
		t.Fatalf("first page: %d objections, want 50", len(ids))
	}
	if !strings.Contains(first, "<strong>"+strconv.Itoa(st.Objections)+"</strong>") {
		t.Errorf("the count is not the whole register's (%d)", st.Objections)
	}
	all := slices.Clone(ids)
	for p := first; ; {
		m := nextLink("register").FindStringSubmatch(p)
		if m == nil {
			break
		}
		p = h.must200(hr, href(m[1])).body
		more, _ := registerRows(p)
		if len(more) == 0 || len(more) > 50 {
			t.Fatalf("a next page of %d objections", len(more))
		}
		all = append(all, more...)
		if len(all) > 10*st.Objections {
			t.Fatal("the pages do not end")
		}
	}
	if len(all) != st.Objections {
		t.Errorf("the pages hold %d objections, the agency %d", len(all), st.Objections)
	}

	// Sorted by name (a header link), then the other way.
	m := sortLink("register_sort=name").FindStringSubmatch(first)
	if m == nil {
		t.Fatal("no sort link for the employee column")
	}
	byName := h.must200(hr, href(m[1])).body
	_, names := registerRows(byName)
	if len(names) != 50 || !slices.IsSorted(names) || !strings.Contains(byName, `aria-sort="ascending"`) {
		t.Errorf("sorted by name: %d rows, sorted %v", len(names), slices.IsSorted(names))
	}
	m = sortLink("register_sort=name").FindStringSubmatch(byName)
	desc := h.must200(hr, href(m[1])).body
	_, rnames := registerRows(desc)
	if !slices.IsSortedFunc(rnames, func(a, b string) int { return strings.Compare(b, a) }) || !strings.Contains(desc, `aria-sort="descending"`) {
		t.Errorf("sorted by name descending: %v", rnames[:3])
	}

	// A filter keeps its rows and pages within it.
	open := h.must200(hr, "/keberatan?status=OPEN").body
	if strings.Contains(open, `data-status="DECIDED"`) || strings.Contains(open, `data-status="WITHDRAWN"`) {
		t.Errorf("the OPEN filter shows other objections")
	}

	// Sealed cursors: edited, of another sort, filter or caller: 400.
	next := href(nextLink("register").FindStringSubmatch(first)[1])
	u, _ := url.Parse(next)
	cur := u.Query().Get("register_at")
	flip := map[bool]string{true: "B", false: "A"}[cur[0] == 'A']
	for _, bad := range []string{
		"/keberatan?register_at=" + url.QueryEscape(flip+cur[1:]),
		"/keberatan?register_sort=name&register_at=" + url.QueryEscape(cur),
		"/keberatan?status=OPEN&register_at=" + url.QueryEscape(cur),
		"/keberatan?register_at=NTA", "/keberatan?register_at=" + strings.Repeat("A", 5000),
		"/keberatan?register_sort=nip%01", "/keberatan?register_dir=up",
	} {
		if r := h.get(&hr, bad); r.status != http.StatusBadRequest {
			t.Errorf("%s = %d, want 400", bad, r.status)
		}
	}
	other := caller{st.Cast.Clerk, []string{"GRIEVANCE_CLERK"}}
	if r := h.get(&other, next); r.status != http.StatusBadRequest {
		t.Errorf("another caller's cursor = %d, want 400", r.status)
	}
}
