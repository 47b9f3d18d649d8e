package web

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

var (
	homeRow  = regexp.MustCompile(`<tr>\s*<td><a href="/skp/([^"]+)">[^<]*</a></td>\s*<td>([^<]*)<br>`)
	nextLink = func(list string) *regexp.Regexp {
		return regexp.MustCompile(`id="` + list + `-next" href="([^"]+)"`)
	}
	sortLink = func(col string) *regexp.Regexp {
		return regexp.MustCompile(`<a class="sort" href="([^"]*` + col + `[^"]*)">`)
	}
)

// href is a link of a page as a browser asks for it (without the
// fragment).
func href(s string) string {
	s, _, _ = strings.Cut(html.UnescapeString(s), "#")
	return s
}

// homeRows are the SKP ids and employee names of the start page's list.
func homeRows(body string) (ids, names []string) {
	for _, m := range homeRow.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
		names = append(names, html.UnescapeString(m[2]))
	}
	return ids, names
}

// The lists of issue 13 over a generated agency whose data ends the year
// before the clock's: the start page opens on the latest year with data
// (2025, not 2026), with a switch; its SKP list is paginated (50 a page,
// every SKP once) and sortable by column links; its cursors are sealed;
// the unit tree is collapsible with counts; the unit page's lists are
// paginated too.
func TestListsAtScale(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(130)
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}
	if y := h.clock.Now().In(policy.WIB).Year(); y != 2026 {
		t.Fatalf("the clock is in %d; the test wants the year after the agency's", y)
	}

	home := h.must200(hr, "/").body
	if !strings.Contains(home, `<option value="2025" selected>`) || !strings.Contains(home, `<option value="2026">`) {
		t.Errorf("the start page does not default to 2025 with a switch to 2026")
	}
	ids, _ := homeRows(home)
	if len(ids) != 50 {
		t.Fatalf("first page: %d SKPs, want 50", len(ids))
	}
	all := slices.Clone(ids)
	for page := home; ; {
		m := nextLink("skp").FindStringSubmatch(page)
		if m == nil {
			break
		}
		page = h.must200(hr, href(m[1])).body
		more, _ := homeRows(page)
		if len(more) == 0 || len(more) > 50 {
			t.Fatalf("a next page of %d SKPs", len(more))
		}
		all = append(all, more...)
		if len(all) > 1000 {
			t.Fatal("the pages do not end")
		}
	}
	sorted := slices.Clone(all)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(all) || len(all) < st.SKPs-st.SKPs/10 {
		t.Errorf("the pages hold %d SKPs (%d distinct), the agency %d", len(all), len(slices.Compact(sorted)), st.SKPs)
	}
	for _, id := range all {
		if !strings.HasSuffix(id, "-2025") {
			t.Errorf("SKP %s listed for 2025", id)
			break
		}
	}
	// 2026 has no SKP: the switch shows that, and says which year.
	if y := h.must200(hr, "/?year=2026").body; !strings.Contains(y, "Belum ada SKP. (2026)") {
		t.Errorf("the 2026 start page does not say it has no SKP")
	}

	// Sorted by employee name (a header link), then the other way.
	m := sortLink("skp_sort=name").FindStringSubmatch(home)
	if m == nil {
		t.Fatal("no sort link for the name column")
	}
	byName := h.must200(hr, href(m[1])).body
	_, names := homeRows(byName)
	if !slices.IsSorted(names) || len(names) != 50 || !strings.Contains(byName, `aria-sort="ascending"`) {
		t.Errorf("sorted by name: %d rows, sorted %v", len(names), slices.IsSorted(names))
	}
	m = sortLink("skp_sort=name").FindStringSubmatch(byName)
	desc := h.must200(hr, href(m[1])).body
	_, rnames := homeRows(desc)
	if !slices.IsSortedFunc(rnames, func(a, b string) int { return strings.Compare(b, a) }) || !strings.Contains(desc, `aria-sort="descending"`) {
		t.Errorf("sorted by name descending: %v", rnames[:3])
	}

	// Sealed cursors: edited, of another sort, year or caller, refused.
	next := href(nextLink("skp").FindStringSubmatch(home)[1])
	u, _ := url.Parse(next)
	cur := u.Query().Get("skp_at")
	flip := map[bool]string{true: "B", false: "A"}[cur[0] == 'A']
	for _, bad := range []string{
		"/?skp_at=" + url.QueryEscape(flip+cur[1:]),
		"/?skp_sort=name&skp_at=" + url.QueryEscape(cur),
		"/?year=2024&skp_at=" + url.QueryEscape(cur),
		"/?skp_at=NTA", "/?skp_sort=nip%01", "/?skp_dir=up", "/?year=1999", "/?year=" + strings.Repeat("9", 40),
	} {
		if r := h.get(&hr, bad); r.status != http.StatusBadRequest {
			t.Errorf("%s = %d, want 400", bad, r.status)
		}
	}
	if r := h.get(&inspektr, next); r.status != http.StatusBadRequest {
		t.Errorf("another caller's cursor = %d, want 400", r.status)
	}

	// The unit tree: collapsible (details/summary), the root open, with
	// each unit's counts.
	if !strings.Contains(home, `<ul class="unit-tree" id="unit-tree">`) || !strings.Contains(home, "<details open><summary>") ||
		!strings.Contains(home, `<span class="counts" data-unit="`+st.AgencyUnit+`">`) {
		t.Errorf("no collapsible unit tree with counts")
	}
	if n := strings.Count(home, `<span class="counts" data-unit=`); n != st.Units {
		t.Errorf("the tree shows %d units, the agency has %d", n, st.Units)
	}
	if !strings.Contains(home, `href="/unit/`+st.AgencyUnit+`?year=2025"`) {
		t.Errorf("the tree does not link to the unit pages of 2025")
	}

	// The whole-agency unit page: 2025 by default, its SKP list paginated.
	unit := h.must200(hr, "/unit/"+st.AgencyUnit).body
	if !strings.Contains(unit, `<option value="2025" selected>`) {
		t.Errorf("the unit page does not default to 2025")
	}
	if n := count(unit, `<td><a href="/skp/`); n != 50 || nextLink("skps").FindStringSubmatch(unit) == nil {
		t.Errorf("the unit page lists %d SKPs on its first page, want 50 and a next link", n)
	}
	m = nextLink("skps").FindStringSubmatch(unit)
	second := h.must200(hr, href(m[1])).body
	if n := count(second, `<td><a href="/skp/`); n == 0 || !strings.Contains(second, `id="skps-prev"`) {
		t.Errorf("the unit page's second page: %d SKPs, or no previous link", n)
	}
	if r := h.get(&hr, "/unit/"+st.AgencyUnit+"?skps_sort=predikat&units_sort=missing&units_dir=desc&missing_sort=nip"); r.status != http.StatusOK {
		t.Errorf("the unit page sorted = %d", r.status)
	}
	if r := h.get(&hr, "/unit/"+st.AgencyUnit+"?skps_sort=bogus"); r.status != http.StatusBadRequest {
		t.Errorf("the unit page sorted by nonsense = %d, want 400", r.status)
	}
	// The as-of control: before the year's first SKP nothing is counted;
	// at a later instant than any event, as now; mid-year, part of it.
	fig := regexp.MustCompile(`id="fig-skps">([^<]*)<`)
	now := fig.FindStringSubmatch(unit)
	before := h.must200(hr, "/unit/"+st.AgencyUnit+"?year=2025&as_of=2024-12-31").body
	if m := fig.FindStringSubmatch(before); m == nil || m[1] != "0" || !strings.Contains(before, `id="asof-banner"`) {
		t.Errorf("the progress as of 31 December 2024 = %v, want 0 SKPs and the banner", m)
	}
	later := h.must200(hr, "/unit/"+st.AgencyUnit+"?year=2025&as_of=2030-01-01T00:00").body
	if m := fig.FindStringSubmatch(later); m == nil || now == nil || m[1] != now[1] || now[1] == "0" {
		t.Errorf("the progress as of 2030 = %v, now %v", m, now)
	}
	legend := regexp.MustCompile(`<ul class="legend">[\s\S]*?</ul>`)
	if legend.FindString(later) != legend.FindString(unit) || legend.FindString(unit) == "" {
		t.Errorf("the status counts as of 2030 differ from now's")
	}
	mid := h.must200(hr, "/unit/"+st.AgencyUnit+"?year=2025&as_of=2025-01-20").body
	if legend.FindString(mid) == legend.FindString(unit) {
		t.Errorf("the status counts as of 20 January 2025 are now's: %s", legend.FindString(mid))
	}
	for _, bad := range []string{"?as_of=kemarin", "?as_of=2025-13-01", "?as_of=" + url.QueryEscape(strings.Repeat("2", 100))} {
		if r := h.get(&hr, "/unit/"+st.AgencyUnit+bad); r.status != http.StatusBadRequest {
			t.Errorf("unit page %s = %d, want 400", bad, r.status)
		}
	}
	if en := h.must200(hr, "/?lang=en").body; !strings.Contains(en, "Next →") || !strings.Contains(en, " of ") {
		t.Errorf("the English start page's pager")
	}
}

// skps.AsOf (the unit page's as-of progress) gives every SKP of the
// generated agency, at several instants, the summary of the domain's own
// replay of the SKP as recorded then (skp.AsOf), and leaves out an SKP
// that did not exist yet.
func TestSKPsAsOfIsTheDomainsReplay(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(40)
	ctx := h.ctx
	cur := h.model.SKPs()
	list, err := cur.ForYear(ctx, nil, 2025)
	if err == nil && len(list) == 0 {
		units, _ := h.model.Directory().Units(ctx)
		var ids []string
		for _, u := range units {
			ids = append(ids, u.ID)
		}
		list, err = cur.ForYear(ctx, ids, 2025)
	}
	if err != nil || len(list) < 20 {
		t.Fatalf("ForYear = %d SKPs, %v", len(list), err)
	}
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}.principal()
	seen := map[string]int{}
	for _, at := range []time.Time{
		time.Date(2024, 12, 31, 0, 0, 0, 0, policy.WIB), time.Date(2025, 1, 20, 0, 0, 0, 0, policy.WIB),
		time.Date(2025, 2, 15, 0, 0, 0, 0, policy.WIB), time.Date(2025, 7, 1, 0, 0, 0, 0, policy.WIB), h.clock.Now(),
	} {
		past := skps.AsOf{Current: cur, Store: h.store, At: at, Memo: &sync.Map{}}
		for _, s := range list {
			got, err := past.Get(ctx, s.ID)
			if again, err2 := past.Get(ctx, s.ID); again != got || (err == nil) != (err2 == nil) {
				t.Errorf("%s at %s: remembered %+v, %v; first %+v, %v", s.ID, at, again, err2, got, err)
			}
			v, rerr := h.skps.Read(ctx, hr, s.ID, skp.AsOf{RecordedAt: at})
			if rerr != nil {
				if !errors.Is(err, skps.ErrNotFound) {
					t.Errorf("%s at %s: the domain has none (%v), AsOf %+v, %v", s.ID, at, rerr, got, err)
				}
				seen["none"]++
				continue
			}
			want := skps.Of(v)
			if err != nil || got.Status != want.Status || got.Late != want.Late || got.Version != want.Version ||
				got.Revision != v.Revision || got.UnitID != want.UnitID || got.NIP != want.NIP {
				t.Errorf("%s at %s: AsOf %+v, %v; domain %+v", s.ID, at, got, err, want)
			}
			seen[got.Status]++
		}
	}
	if seen["none"] == 0 || seen["ESTABLISHED"] == 0 || len(seen) < 3 {
		t.Errorf("the instants do not cover the lifecycle: %v", seen)
	}
}
