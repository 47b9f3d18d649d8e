package web

import (
	"errors"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/reports"
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
	later := h.must200(hr, "/unit/"+st.AgencyUnit+"?year=2025&as_of="+url.QueryEscape(h.clock.Now().Format(time.RFC3339))).body
	if m := fig.FindStringSubmatch(later); m == nil || now == nil || m[1] != now[1] || now[1] == "0" {
		t.Errorf("the progress as of now = %v, without as_of %v", m, now)
	}
	legend := regexp.MustCompile(`<ul class="legend">[\s\S]*?</ul>`)
	if legend.FindString(later) != legend.FindString(unit) || legend.FindString(unit) == "" {
		t.Errorf("the status counts as of now differ from those without as_of")
	}
	mid := h.must200(hr, "/unit/"+st.AgencyUnit+"?year=2025&as_of=2025-01-20").body
	if legend.FindString(mid) == legend.FindString(unit) {
		t.Errorf("the status counts as of 20 January 2025 are now's: %s", legend.FindString(mid))
	}
	// The distribution and the SKP list follow the cut too (issue 13):
	// before any rating nobody is counted; now, as without as_of.
	pop := regexp.MustCompile(`id="population">([^<]*)<`)
	if m, b := pop.FindStringSubmatch(unit), pop.FindStringSubmatch(before); m == nil || b == nil || m[1] == "0" || b[1] != "0" {
		t.Errorf("the distribution's population now %v, as of 31 December 2024 %v; want some, then 0", m, b)
	}
	if m, l := pop.FindStringSubmatch(unit), pop.FindStringSubmatch(later); m == nil || l == nil || m[1] != l[1] {
		t.Errorf("the distribution's population as of now %v, without as_of %v", l, m)
	}
	if n := count(before, `<td><a href="/skp/`); n != 0 || !strings.Contains(before, "Keadaan per") {
		t.Errorf("the SKP list as of 31 December 2024 has %d SKPs, want none and the banner Keadaan per", n)
	}
	// A ledger position as the cut: the head is now, position 1 is before
	// everything.
	head, err := h.store.Head(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	atHead := h.must200(hr, "/unit/"+st.AgencyUnit+"?year=2025&as_of="+strconv.FormatUint(uint64(head), 10)).body
	if legend.FindString(atHead) != legend.FindString(unit) || !strings.Contains(atHead, "posisi buku besar") {
		t.Errorf("the status counts at the head position differ from now's, or the banner does not name the position")
	}
	if m := fig.FindStringSubmatch(h.must200(hr, "/unit/"+st.AgencyUnit+"?year=2025&as_of=1").body); m == nil || m[1] != "0" {
		t.Errorf("the progress at position 1 = %v, want 0 SKPs", m)
	}
	future := h.clock.Now().Add(time.Hour).Format(time.RFC3339)
	for _, bad := range []string{"?as_of=kemarin", "?as_of=2025-13-01", "?as_of=" + url.QueryEscape(strings.Repeat("2", 100)),
		"?as_of=" + url.QueryEscape(future), "?as_of=2030-01-01T00:00", "?as_of=0", "?as_of=" + strconv.FormatUint(uint64(head)+1000, 10),
		"?as_of=2025-06-30%0A", "?as_of=2025-06-30%00", "?as_of=%E2%80%AE2025"} {
		if r := h.get(&hr, "/unit/"+st.AgencyUnit+bad); r.status != http.StatusBadRequest {
			t.Errorf("unit page %s = %d, want 400", bad, r.status)
		}
		if r := h.get(&hr, "/ekspor/progress?format=csv&unit="+st.AgencyUnit+"&year=2025&"+bad[1:]); r.status != http.StatusBadRequest {
			t.Errorf("progress export %s = %d, want 400", bad, r.status)
		}
	}
	// The exports carry the cut: the CSV as of 31 December 2024 counts
	// no SKP.
	if !strings.Contains(before, "as_of=") {
		t.Errorf("the export links of the as-of page do not carry as_of")
	}
	// The calibration page's appraisers: paginated and sortable like
	// the other lists (issue 13).
	calNIP := regexp.MustCompile(`<th scope="row">[^<]*<span class="nip">(\d+)</span>`)
	calTotal := regexp.MustCompile(`id="fig-appraisers">([^<]*)<`)
	cal := h.must200(analyst, "/kalibrasi?year=2025&appr_sort=nip").body
	nips := calNIP.FindAllStringSubmatch(cal, -1)
	tot := calTotal.FindStringSubmatch(cal)
	if len(nips) == 0 || tot == nil {
		t.Fatalf("/kalibrasi lists no appraiser")
	}
	total, _ := strconv.Atoi(strings.ReplaceAll(tot[1], ".", ""))
	if want := min(total, 50); len(nips) != want {
		t.Errorf("/kalibrasi shows %d appraisers of %d, want %d", len(nips), total, want)
	}
	for i := 1; i < len(nips); i++ {
		if nips[i-1][1] > nips[i][1] {
			t.Errorf("/kalibrasi sorted by NIP: %s before %s", nips[i-1][1], nips[i][1])
		}
	}
	calDesc := calNIP.FindAllStringSubmatch(h.must200(analyst, "/kalibrasi?year=2025&appr_sort=nip&appr_dir=desc").body, -1)
	if len(calDesc) == 0 || (total <= 50 && calDesc[0][1] != nips[len(nips)-1][1]) || calDesc[0][1] < nips[0][1] {
		t.Errorf("/kalibrasi sorted by NIP descending starts with %v", calDesc[:min(1, len(calDesc))])
	}
	if total > 50 {
		m := nextLink("appr").FindStringSubmatch(cal)
		if m == nil {
			t.Fatalf("/kalibrasi with %d appraisers has no next link", total)
		}
		second := h.must200(analyst, href(m[1])).body
		if n := calNIP.FindAllStringSubmatch(second, -1); len(n) == 0 || n[0][1] < nips[len(nips)-1][1] || !strings.Contains(second, `id="appr-prev"`) {
			t.Errorf("/kalibrasi's second page: %d appraisers, or out of order, or no previous link", len(n))
		}
	}
	for _, bad := range []string{"appr_sort=bogus", "appr_dir=sideways", "appr_at=AAAAAAAAAAAAAAAAAAAA", "appr_sort=nip%00"} {
		if r := h.get(&analyst, "/kalibrasi?year=2025&"+bad); r.status != http.StatusBadRequest {
			t.Errorf("/kalibrasi?%s = %d, want 400", bad, r.status)
		}
	}
	t.Logf("calibration: %d appraisers", total)
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
		evals := reports.EvaluationsAsOf{Current: h.model.Evaluations(), SKPs: past, Memo: &sync.Map{}}
		for _, s := range list {
			// The evaluations as of at are those of the domain's replay.
			rows, eerr := evals.ForSKP(ctx, s.ID)
			if eerr != nil {
				t.Fatalf("evaluations of %s at %s: %v", s.ID, at, eerr)
			}
			gotEv := map[string]string{}
			for _, e := range rows {
				gotEv[e.Period] = e.WorkResult + "/" + e.Behaviour + "/" + e.Predikat
			}
			wantEv := map[string]string{}
			if v, err := h.skps.Read(ctx, hr, s.ID, skp.AsOf{RecordedAt: at}); err == nil {
				for _, e := range v.Evaluations {
					if e.Period != "" && (e.Predikat != "" || e.WorkResult != "") {
						wantEv[e.Period] = string(e.WorkResult) + "/" + string(e.Behaviour) + "/" + string(e.Predikat)
					}
				}
			}
			if !maps.Equal(gotEv, wantEv) {
				t.Errorf("evaluations of %s at %s = %v, the domain's replay %v", s.ID, at, gotEv, wantEv)
			}
			seen["evaluated"] += len(rows)
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
	if seen["none"] == 0 || seen["ESTABLISHED"] == 0 || seen["evaluated"] == 0 || len(seen) < 4 {
		t.Errorf("the instants do not cover the lifecycle: %v", seen)
	}
}
