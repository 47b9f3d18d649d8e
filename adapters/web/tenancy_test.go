package web

// Tenancy isolation on the dashboard (issue 15): every GET page and every
// form post of the router (h.handler.Routes(), so that a new page cannot
// be missed), opened by agency B's HR_ADMIN, HR_ANALYST, AUDITOR and
// GRIEVANCE_CLERK on agency A's resources, answers as for a resource that
// does not exist, shows nothing of A, and records nothing.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// webTokenAgency is the agency claim of the test callers, by subject.
var webTokenAgency = map[string]string{
	"hr-b": "PEMPROV", "analyst-b": "PEMPROV", "auditor-b": "PEMPROV", "clerk-b": "PEMPROV",
}

var (
	webHRB      = caller{"hr-b", []string{"HR_ADMIN"}}
	webAnalystB = caller{"analyst-b", []string{"HR_ANALYST"}}
	webAudB     = caller{"auditor-b", []string{"AUDITOR"}}
	webClerkB   = caller{"clerk-b", []string{"GRIEVANCE_CLERK"}}
	webNatAn    = caller{"bkn-analyst", []string{"NATIONAL_ANALYST"}}
	webNatAud   = caller{"bkn-auditor", []string{"NATIONAL_AUDITOR"}}
)

// webUnscoped are the patterns the sweep leaves out, each with why.
var webUnscoped = map[string]string{}

// webA are A's identifiers as the pages show them, and a stand-in for
// each naming nothing.
func webA(h *harness) [][2]string {
	return [][2]string{
		{h.ag.skpE, "199001012099011001-2026"}, {h.ag.skpA, "199001012099011002-2026"}, {h.ag.skpP, "199001012099011003-2026"},
		{"PKM-SUKAMAJU", "NOSUCH-PKM"}, {"PEMKOT", "NOSUCHROOT"}, {"DINKES", "NOSUCHUNIT"}, {"BAPPEDA", "NOSUCHBAPP"},
		{nipE, "198001012005011091"}, {nipA, "198001012005011092"}, {nipS, "198001012005011093"}, {nipT, "198001012005011094"},
		{nipP, "198001012005011095"}, {nipX, "198001012005011096"}, {nipU, "198001012005011097"}, {nipQ, "198001012005011098"},
	}
}

func TestTenancyPages(t *testing.T) {
	h := seeded(t)
	if _, err := h.units.Register(h.ctx, req(webHRB), orgunit.Register{ID: "PEMPROV", Name: "Pemerintah Provinsi"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.units.Register(h.ctx, req(webHRB), orgunit.Register{ID: "DISDIK", Name: "Dinas Pendidikan", ParentID: "PEMPROV"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.emps.Register(h.ctx, req(webHRB), employee.Register{NIP: "198801012015011011", Name: "Pegawai Provinsi", UnitID: "DISDIK",
		Position: employee.Position{Kind: "PELAKSANA", Title: "Pengadministrasi"}}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	ids := webA(h)
	swap := func(s string) string {
		for _, p := range ids {
			s = strings.ReplaceAll(s, p[0], p[1])
		}
		return s
	}
	sample := map[string]string{"id": h.ag.skpE, "skp": h.ag.skpE, "nip": nipE, "period": "2026", "rhk_id": h.ag.rhkE, "rhk": h.ag.rhkE,
		"indicator_id": h.ag.indE, "ind": h.ag.indE, "unit": "DINKES", "round": "r1", "action": "a1", "code": "x"}
	// What would show A: its people's names and its units' IDs.
	leaks := []string{"Budi Santoso", "Siti Rahmawati", "Agus Wibowo", "Hendra Gunawan", "Dewi Lestari", "Rudi Hartono", "Rina Marlina",
		"Pemerintah Kota Sukamaju", "Dinas Kesehatan", nipE, nipA, nipS, nipX}
	head := func() uint64 {
		p, err := h.store.Head(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return uint64(p)
	}
	swept := 0
	for _, pattern := range h.handler.Routes() {
		if why, ok := webUnscoped[pattern]; ok {
			t.Logf("not swept: %s (%s)", pattern, why)
			continue
		}
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/masuk") || strings.HasPrefix(path, "/keluar") ||
			strings.HasPrefix(path, "/verifikasi") {
			// Sign-in and sign-out, public document verification (a code
			// proves itself), the assets.
			continue
		}
		u := routeParam.ReplaceAllStringFunc(path, func(m string) string { return sample[routeParam.FindStringSubmatch(m)[1]] })
		u = strings.TrimSuffix(u, "{$}")
		if strings.Contains(path, "{id}") && (strings.HasPrefix(path, "/unit") || strings.HasPrefix(path, "/data-induk/unit")) {
			u = strings.Replace(u, h.ag.skpE, "DINKES", 1)
		}
		if strings.Contains(path, "{id}") && strings.HasPrefix(path, "/data-induk/impor") {
			continue // an import job of B's own; A's jobs are not addressed by A's IDs
		}
		swept++
		for _, who := range []caller{webHRB, webAnalystB, webAudB, webClerkB} {
			before := head()
			var ra, rx response
			if method == http.MethodGet {
				ra, rx = h.get(&who, u), h.get(&who, swap(u))
			} else {
				form := url.Values{"nip": {nipE}, "unit_id": {"DINKES"}, "unit": {"DINKES"}, "skp": {h.ag.skpE}}
				formX := url.Values{"nip": {swap(nipE)}, "unit_id": {"NOSUCHUNIT"}, "unit": {"NOSUCHUNIT"}, "skp": {swap(h.ag.skpE)}}
				ra, rx = h.post(&who, u, form), h.post(&who, swap(u), formX)
				if after := head(); after != before {
					t.Errorf("%s %s as %s recorded events (%d → %d): %d", method, u, who.sub, before, after, ra.status)
				}
			}
			if ra.status != rx.status {
				t.Errorf("%s %s as %s: A's answers %d; an unknown one %d\n%.400s", method, u, who.sub, ra.status, rx.status, ra.body)
			}
			for _, l := range leaks {
				if strings.Contains(ra.body, l) && !strings.Contains(u, l) && (method == http.MethodGet || l != nipE) {
					// (A form echoes what was typed into it: the NIP sent.)
					t.Errorf("%s %s as %s (%d) shows A's %q", method, u, who.sub, ra.status, l)
					break
				}
			}
		}
	}
	if swept < 20 {
		t.Fatalf("swept only %d patterns", swept)
	}
	// The unit page and the exports that take as_of, at past cuts (a
	// position, an instant) too: a past state of the ledger is scoped as
	// the present is; without a unit the export is the caller's agency.
	instant := url.QueryEscape(h.clock.Now().UTC().Format(time.RFC3339))
	unitIDs := []string{"PEMKOT", "DINKES", "BAPPEDA", "PKM-SUKAMAJU"}
	for _, cut := range []string{"1", "20", instant} {
		for _, u := range []string{
			"/unit/DINKES?year=2026&as_of=" + cut,
			"/ekspor/progress?format=csv&unit=DINKES&year=2026&as_of=" + cut,
			"/ekspor/distribusi?format=csv&unit=DINKES&period=2026&as_of=" + cut,
			"/ekspor/progress?format=csv&unit=PEMKOT&year=2026&as_of=" + cut,
			"/ekspor/distribusi?format=csv&unit=PEMKOT&period=2026&as_of=" + cut,
			"/ekspor/progress?format=csv&year=2026&as_of=" + cut,
			"/ekspor/distribusi?format=csv&period=2026&as_of=" + cut,
			"/ekspor/distribusi?format=csv&unit=&period=2026&as_of=" + cut,
		} {
			for _, who := range []caller{webHRB, webAnalystB, webAudB} {
				ra, rx := h.get(&who, u), h.get(&who, swap(u))
				if ra.status != rx.status {
					t.Errorf("GET %s as %s: A's answers %d; an unknown one %d\n%.400s", u, who.sub, ra.status, rx.status, ra.body)
				}
				for _, l := range append(slices.Clone(leaks), unitIDs...) {
					if strings.Contains(ra.body, l) && !strings.Contains(u, l) {
						t.Errorf("GET %s as %s (%d) shows A's %q", u, who.sub, ra.status, l)
						break
					}
				}
			}
		}
	}
	// The national roles open every page as agency A's readers do (A's
	// readers carry no claim: they lost their agency roles when B came,
	// so A's are given theirs), and their form posts are refused.
	webTokenAgency["analyst-1"], webTokenAgency["auditor-1"] = "PEMKOT", "PEMKOT"
	defer delete(webTokenAgency, "analyst-1")
	defer delete(webTokenAgency, "auditor-1")
	for _, pattern := range h.handler.Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		if _, ok := webUnscoped[pattern]; ok || strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/masuk") ||
			strings.HasPrefix(path, "/keluar") || strings.HasPrefix(path, "/verifikasi") || strings.Contains(path, "impor") {
			continue
		}
		u := routeParam.ReplaceAllStringFunc(path, func(m string) string { return sample[routeParam.FindStringSubmatch(m)[1]] })
		u = strings.TrimSuffix(u, "{$}")
		if strings.Contains(path, "{id}") && (strings.HasPrefix(path, "/unit") || strings.HasPrefix(path, "/data-induk/unit")) {
			u = strings.Replace(u, h.ag.skpE, "DINKES", 1)
		}
		if method == http.MethodGet {
			for _, pair := range [][2]caller{{webNatAn, {"analyst-1", []string{"HR_ANALYST"}}}, {webNatAud, {"auditor-1", []string{"AUDITOR"}}}} {
				own, nat := h.get(&pair[1], u), h.get(&pair[0], u)
				if own.status != nat.status {
					t.Errorf("GET %s: %s answers %d, %s %d", u, pair[1].sub, own.status, pair[0].sub, nat.status)
				}
			}
			continue
		}
		for _, who := range []caller{webNatAn, webNatAud} {
			before := head()
			r := h.post(&who, u, url.Values{"nip": {nipE}, "unit_id": {"DINKES"}})
			if head() != before {
				t.Errorf("POST %s as %s recorded events (%d)", u, who.sub, r.status)
			}
		}
	}
}
