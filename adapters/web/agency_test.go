package web

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// seedAgency records a generated agency of n people (package seed) for the
// year before the harness's clock, which it moves to the agency's now, and
// catches the read models up.
func (h *harness) seedAgency(n int) seed.Stats {
	h.t.Helper()
	h.clock.Set(seed.EndOf(2025, policy.WIB).Add(time.Hour))
	st, err := seed.Run(context.Background(), seed.Config{Employees: n, Seed: 11, Year: 2025}, h.app.Services(context.Background()))
	if err != nil {
		h.t.Fatalf("seed: %v", err)
	}
	h.catchUp()
	return st
}

var skpLink = regexp.MustCompile(`href="/skp/([^"?#/]+)"`)

// skpIDs are the SKPs body links to (not the form for a new one, /skp/baru).
func skpIDs(body string) []string {
	var ids []string
	for _, m := range skpLink.FindAllStringSubmatch(body, -1) {
		if m[1] != "baru" {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// Every page, for every kind of person of a whole generated agency: the
// start page lists what each may see and each SKP listed opens; the
// registers, the audit trail and the reports open for their roles and are
// refused to others; nothing answers 5xx.
func TestPagesOverASeededAgency(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(60)
	h.sign()
	cast := st.Cast
	people := []caller{
		{cast.HRAdmin, []string{"HR_ADMIN"}}, {cast.Clerk, []string{"GRIEVANCE_CLERK"}},
		{cast.Head, nil}, {cast.Superior, nil}, {cast.Appraiser, nil}, {cast.Employee, nil}, {cast.Objectors[0], nil},
		auditor, analyst,
	}
	for _, c := range people {
		t.Run(c.sub, func(t *testing.T) {
			home := h.must200(c, "/")
			ids := map[string]bool{}
			for _, id := range skpIDs(home.body) {
				ids[id] = true
			}
			if len(ids) == 0 {
				t.Fatalf("%s sees no SKP on the start page", c.sub)
			}
			n := 0
			for id := range ids {
				if n++; n > 12 {
					break
				}
				if r := h.get(&c, "/skp/"+id); r.status != http.StatusOK {
					t.Errorf("/skp/%s listed on the start page = %d", id, r.status)
				}
			}
			expect := func(path string, allowed bool) {
				t.Helper()
				want := http.StatusForbidden
				if allowed {
					want = http.StatusOK
				}
				if r := h.get(&c, path); r.status != want {
					t.Errorf("%s = %d, want %d", path, r.status, want)
				}
			}
			hr := slices.Contains(c.roles, "HR_ADMIN")
			reports := hr || slices.Contains(c.roles, "HR_ANALYST") || slices.Contains(c.roles, "AUDITOR")
			register := reports || slices.Contains(c.roles, "GRIEVANCE_CLERK")
			expect("/unit/"+st.AgencyUnit+"?year=2025", reports)
			expect("/ekspor/progress?unit="+st.AgencyUnit+"&year=2025&format=csv", reports)
			expect("/keberatan", register)
			expect("/ekspor/keberatan?format=xlsx", register)
			expect("/audit", slices.Contains(c.roles, "AUDITOR"))
			expect("/data-induk/unit/baru", hr)
			expect("/konsekuensi?year=2025", reports)
			expect("/konsekuensi/ekspor?year=2025&format=csv", reports)
			expect("/kalibrasi?year=2025", reports && !hr)
			expect("/kalibrasi/ekspor?year=2025&format=xlsx", reports && !hr)
		})
	}
	// The employee's page names the people of their appraisal, fetched
	// before rendering.
	home := h.must200(caller{cast.Employee, nil}, "/")
	own := skpIDs(home.body)
	if len(own) == 0 {
		t.Fatal("no SKP")
	}
	page := h.must200(caller{cast.Employee, nil}, "/skp/"+own[0])
	if !strings.Contains(page.body, cast.Appraiser) {
		t.Errorf("the employee's SKP page does not name the appraiser %s", cast.Appraiser)
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors were logged:\n%s", h.logs.String())
	}
}
