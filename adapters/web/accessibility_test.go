package web

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// notPages are the GET routes that are not pages to scan: downloads, and
// the steps of a sign-in that redirect to the identity provider and back.
var notPages = map[string]string{
	"GET /ekspor/audit":                               "a download",
	"GET /ekspor/keberatan":                           "a download",
	"GET /ekspor/progress":                            "a download",
	"GET /ekspor/distribusi":                          "a download",
	"GET /konsekuensi/ekspor":                         "a download",
	"GET /kalibrasi/ekspor":                           "a download",
	"GET /pengembangan-unit/ekspor":                   "a download",
	"GET /pengembangan-unit/rencana-perbaikan/ekspor": "a download",
	"GET /masuk/oidc":                                 "a redirect to the identity provider",
	"GET /masuk/oidc/kembali":                         "the identity provider's redirect back",
	"GET /skp/{id}/bukti/{sha256}":                    "a download (an evidence file)",
	"GET /skp/{id}/dokumen.pdf":                       "a download (the SKP printed)",
	"GET /skp/{id}/evaluasi/{period}/dokumen.pdf":     "a download (an evaluation printed)",
}

var routeParam = regexp.MustCompile(`\{([a-z_]+)(\.\.\.)?\}`)

// a11yPage is a page of the dashboard to scan: the URL that opens it and
// who opens it (nil: anybody).
type a11yPage struct {
	pattern, url string
	who          *caller
}

// a11yPages turns every GET route of the dashboard into a URL that opens
// it for somebody of the seeded agency: path parameters are filled from
// samples (tried in turn), and the first person to whom the page answers
// 200 with HTML is the one it is scanned as. A new page is scanned without
// a change here; one that no sample opens fails the test, which names it.
func a11yPages(t *testing.T, h *harness) []a11yPage {
	t.Helper()
	ag := h.ag
	// The public verification page opens for the code of a printed document.
	pdf := h.get(&empE, "/skp/"+ag.skpE+"/dokumen.pdf")
	code, err := document.CodeOf([]byte(pdf.body))
	if err != nil {
		t.Fatalf("no verification code in the SKP's document (%d): %v", pdf.status, err)
	}
	// A 360° round of E's SKP to which P (among the people below) is
	// invited: the answer form opens for P.
	round, _, err := h.skps.OpenFeedbackRound(h.ctx, req(caller{nipA, nil}), skp.OpenFeedbackRound{SKPID: ag.skpE, Period: "2026-Q3",
		Invitees: []skp.RoundInvitee{{NIP: nipP, Group: skp.GroupPeer}}})
	if err != nil {
		t.Fatalf("open a 360° round: %v", err)
	}
	// A development action of E's SKP: its outcome form opens for A.
	action, _, err := h.skps.PlanDevelopment(h.ctx, req(caller{nipA, nil}), skp.PlanDevelopment{SKPID: ag.skpE, Kind: "TRAINING",
		Title: "Pelatihan analisis data", DueDate: "2026-10-31"})
	if err != nil {
		t.Fatalf("plan a development action: %v", err)
	}
	// An import's page opens for its job.
	importJob := h.startImport(importCSV)
	h.awaitImportPage(importJob)
	samples := samplesOf([]map[string]string{
		{"code": code},
		{"id": ag.skpE, "round": round, "action": action},
		{"id": strings.TrimPrefix(importJob, "/data-induk/impor/")},
		{"id": ag.skpE, "skp": ag.skpE, "nip": nipE, "period": "2026", "rhk_id": ag.rhkE, "rhk": ag.rhkE, "indicator_id": ag.indE, "ind": ag.indE, "unit": "DINKES"},
		{"id": ag.skpP, "skp": ag.skpP, "nip": nipP, "period": "2026", "unit": "DINKES"},
		{"id": ag.skpQ, "skp": ag.skpQ, "nip": nipQ, "period": "2026", "unit": "PKM-SUKAMAJU"},
		{"id": ag.skpA, "skp": ag.skpA, "nip": nipA, "period": "2026", "rhk_id": ag.rhkA, "rhk": ag.rhkA, "unit": "DINKES"},
		{"id": "DINKES", "unit": "DINKES", "nip": nipX},
		{"id": "DINKES", "unit": "DINKES", "period": "2026"},
		{"id": ag.skpE, "period": "2026-Q1"},
	})
	people := []*caller{nil, &hrAdmin, &inspektr, &auditor, &analyst, &clerk, &empE, {nipA, nil}, {nipS, nil}, {nipP, nil}}
	var pages []a11yPage
	unopened := h.openEveryPage(samples, people, func(p openedPage) {
		pages = append(pages, a11yPage{pattern: p.pattern, url: p.url, who: p.who})
	})
	for _, pattern := range unopened {
		t.Errorf("no sample opens %q for anybody: add a sample to a11yPages (or, if it is not a page, to notPages)", pattern)
	}
	return pages
}

// Every page of the dashboard, loaded in Chromium with axe-core injected:
// no serious or critical violation (WCAG 2 A/AA and axe's best practices).
// Forms are also scanned as they come back with problems.
func TestAccessibility(t *testing.T) {
	src := axeSource(t)
	chromium(t)
	h := seeded(t)
	// S heads PEMKOT: the leader one level up of DINKES, who is given the
	// distribution justification form.
	importedHead(t, h, "PEMKOT", nipS)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	pages := a11yPages(t, h)
	if len(pages) < 10 {
		t.Fatalf("only %d pages to scan: %v", len(pages), pages)
	}
	tabs := map[string]*tab{}
	tabOf := func(c *caller) *tab {
		key := "anonymous"
		if c != nil {
			key = c.sub + strings.Join(c.roles, ",")
		}
		if b, ok := tabs[key]; ok {
			return b
		}
		b := newTab(t, srv.URL, screenshotDir(t))
		if c != nil {
			b.signInAs(h, *c)
		}
		tabs[key] = b
		return b
	}
	scanned := map[string]bool{}
	check := func(b *tab, what string) {
		t.Helper()
		for _, v := range b.axe(src) {
			t.Errorf("%s: %s", what, v)
		}
	}
	for _, p := range pages {
		b := tabOf(p.who)
		b.open(p.url)
		check(b, p.pattern+" ("+p.url+")")
		scanned[p.pattern] = true
	}
	// The scan can fail: an image without a text alternative and a
	// field without a label are found.
	b := tabOf(&hrAdmin)
	b.open("/")
	eval[bool](b, `(() => { const m = document.querySelector("main");
		m.insertAdjacentHTML("beforeend", '<img src="data:," id="a11y-probe-img"><input id="a11y-probe-input">'); return true; })()`)
	var probe []string
	for _, v := range b.axe(src) {
		probe = append(probe, v.ID)
	}
	if !slices.Contains(probe, "image-alt") || !slices.Contains(probe, "label") {
		t.Errorf("axe-core on a page with an unlabelled image and field found %v, want image-alt and label", probe)
	}
	// Forms with their problems shown (an empty form sent).
	for _, path := range []string{"/data-induk/unit/baru", "/data-induk/pegawai/baru", "/data-induk/pejabat/baru"} {
		b.open(path)
		b.click(`main form[method="post"] button[type="submit"]`)
		if n := eval[int](b, `document.querySelectorAll('[aria-invalid="true"]').length`); n == 0 {
			t.Errorf("%s sent empty shows no problem", path)
		}
		check(b, path+" with problems")
	}
	// The lists' other states (issue 13): sorted, as of a past instant, a
	// jump in the audit trail, the search by SKP status. (An as-of page
	// waits for the read models to reach its cut: caught up first.)
	h.catchUp()
	for _, v := range []struct {
		who  *caller
		path string
	}{
		{&hrAdmin, "/?skp_sort=name&skp_dir=desc"}, {&hrAdmin, "/unit/DINKES?year=2026&as_of=2026-06-01&skps_sort=status"},
		{&auditor, "/audit?at=30"}, {&auditor, "/pegawai?cari=1&skp_status=NONE&year=2026"},
	} {
		b := tabOf(v.who)
		b.open(v.path)
		check(b, v.path)
	}
	// The improvement plan's form (issue 14), as it opens for the
	// appraiser and as it comes back with problems.
	ip := poorQuarterA(h)
	bs := tabOf(&caller{nipS, nil})
	bs.open(ip)
	check(bs, ip)
	scanned["GET "+ip] = true
	bs.click(`#open-submit`)
	if n := eval[int](bs, `document.querySelectorAll('[aria-invalid="true"]').length`); n == 0 {
		t.Errorf("%s sent empty shows no problem", ip)
	}
	check(bs, ip+" with problems")
	var names []string
	for p := range scanned {
		names = append(names, p)
	}
	slices.Sort(names)
	t.Logf("scanned %d pages: %s", len(names), strings.Join(names, "; "))
}
