package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// skpSection is the unit page's SKP list: its heading (with the count)
// and its table.
var skpSection = regexp.MustCompile(`(?s)<h2 id="list-h">.*?</section>`)

func unitList(t *testing.T, body string) string {
	t.Helper()
	s := skpSection.FindString(body)
	if s == "" {
		t.Fatal("no SKP list on the unit page")
	}
	// The read models' positions are not the list.
	s, _, _ = strings.Cut(s, `<p class="hint" id="position">`)
	return s
}

// The unit page keeps today's SKP list while the read models stand still
// (a province's root lists 100,000 SKPs), and it must show exactly what a
// page computed afresh shows: sorted and paged alike, the evaluation
// status at the page's clock (not the list's), an SKP drafted since, a
// unit registered since.
func TestUnitPageKeptList(t *testing.T) {
	h := newHarness(t)
	// The agency as of 2 February 2026: annual evaluations issued, some
	// still in their objection window.
	now := time.Date(2026, time.February, 2, 16, 0, 0, 0, policy.WIB)
	h.clock.Set(now.Add(time.Hour))
	st, err := seed.Run(h.ctx, seed.Config{Employees: 130, Seed: 11, Year: 2025, Now: now}, h.app.Services(h.ctx))
	if err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}
	root := "/unit/" + st.AgencyUnit
	paths := []string{
		root + "?year=2025",
		root + "?year=2025&skps_sort=predikat&skps_dir=desc",
		root + "?year=2025&skps_sort=name",
		root + "?year=2026",
	}
	fresh := func() map[string]string {
		h.rebuild(func(*app.Config) {}) // a new handler: nothing kept
		out := map[string]string{}
		for _, p := range paths {
			out[p] = unitList(t, h.must200(hr, p).body)
		}
		return out
	}
	check := func(when string) {
		t.Helper()
		got := map[string]string{}
		for _, p := range paths {
			got[p] = unitList(t, h.must200(hr, p).body) // kept from the previous round
		}
		want := fresh()
		for _, p := range paths {
			if got[p] != want[p] {
				t.Errorf("%s: %s: the kept list differs from a fresh one:\nkept:  %.600s\nfresh: %.600s", when, p, got[p], want[p])
			}
		}
	}
	first := fresh()
	if !strings.Contains(first[paths[1]], "evalstatus") && !strings.Contains(first[paths[1]], "(") {
		t.Fatal("no evaluation on the unit page")
	}
	check("unchanged")

	// The clock moves past every objection window: statuses become final
	// with no event written.
	h.clock.Set(h.clock.Now().Add(60 * 24 * time.Hour))
	h.sessMu.Lock()
	h.sessions = map[string]*http.Cookie{} // expired: sign in again
	h.sessMu.Unlock()
	check("a month later")
	if first[paths[1]] == unitList(t, h.must200(hr, paths[1]).body) {
		t.Error("no evaluation status changed with the clock: the test shows nothing")
	}

	// An SKP of 2026 drafted, a unit registered: both seen.
	if _, _, err := h.skps.Draft(h.ctx, req(caller{st.Cast.Employee, nil}), skp.Draft{NIP: st.Cast.Employee, Year: 2026, Approach: "KUANTITATIF"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.units.Register(h.ctx, req(hr), orgunit.Register{ID: "UJIBARU", Name: "Unit Uji Baru", ParentID: st.AgencyUnit}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	check("after writes")
	if l := unitList(t, h.must200(hr, paths[3]).body); !strings.Contains(l, st.Cast.Employee) {
		t.Errorf("the SKP drafted for 2026 is not listed: %.400s", l)
	}
}

// homeList is the start page's SKP section.
var homeSection = regexp.MustCompile(`(?s)<section aria-labelledby="skps-h">.*?</section>`)

// The start page keeps a caller's SKP list of a year while the read models
// stand still (an HR caller's is 20,000 SKPs at a province): its pages
// equal fresh ones, before and after an SKP is drafted, for HR and for
// the employee who drafted it.
func TestHomeKeptList(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(130)
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}
	emp := caller{st.Cast.Employee, nil}
	paths := []string{"/?year=2025", "/?year=2025&skp_sort=name&skp_dir=desc", "/?year=2026"}
	list := func(c caller, p string) string {
		s := homeSection.FindString(h.must200(c, p).body)
		if s == "" {
			t.Fatalf("no SKP list on %s", p)
		}
		return s
	}
	check := func(when string) {
		t.Helper()
		got := map[string]string{}
		for _, c := range []caller{hr, emp} {
			for _, p := range paths {
				list(c, p)
				got[c.sub+p] = list(c, p) // the kept list, if any
			}
		}
		h.rebuild(func(*app.Config) {})
		for _, c := range []caller{hr, emp} {
			for _, p := range paths {
				if want := list(c, p); got[c.sub+p] != want {
					t.Errorf("%s: %s as %s: the kept list differs from a fresh one:\nkept:  %.500s\nfresh: %.500s", when, p, c.sub, got[c.sub+p], want)
				}
			}
		}
	}
	check("unchanged")
	if _, _, err := h.skps.Draft(h.ctx, req(emp), skp.Draft{NIP: st.Cast.Employee, Year: 2026, Approach: "KUANTITATIF"}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	check("after a draft")
	if l := list(hr, "/?year=2026"); !strings.Contains(l, st.Cast.Employee) {
		t.Errorf("the SKP drafted for 2026 is not listed for HR: %.400s", l)
	}
}

// Past 500 units the employee search's unit filter is a text field for the
// unit's ID, not a select of every unit (a province's 10,449 made a 730 KB
// page); the filter works the same.
func TestPeopleUnitFilterAtScale(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(60)
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}
	small := h.must200(hr, "/pegawai?cari=1&q=a").body
	if !strings.Contains(small, `<select id="p-unit" name="unit">`) {
		t.Fatal("a small agency's unit filter is not a select")
	}
	for i := range 500 {
		id := fmt.Sprintf("UJI%03d", i)
		if _, err := h.units.Register(h.ctx, req(hr), orgunit.Register{ID: id, Name: "Unit Uji " + id, ParentID: st.AgencyUnit}); err != nil {
			t.Fatal(err)
		}
	}
	h.catchUp()
	big := h.must200(hr, "/pegawai?cari=1&q=a").body
	if strings.Contains(big, `<select id="p-unit"`) || !strings.Contains(big, `<input id="p-unit" name="unit"`) {
		t.Fatal("past 500 units the unit filter is still a select")
	}
	if strings.Count(big, "<option") > 100 {
		t.Errorf("%d options on the page", strings.Count(big, "<option"))
	}
	byUnit := h.must200(hr, "/pegawai?cari=1&unit="+st.AgencyUnit).body
	if !strings.Contains(byUnit, `value="`+st.AgencyUnit+`"`) || !strings.Contains(byUnit, "<tr") {
		t.Errorf("the unit filter typed as text does not search: %.300s", byUnit)
	}
}
