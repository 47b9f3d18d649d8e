package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

func TestConfigValidate(t *testing.T) {
	_, err := New(Config{})
	if err == nil {
		t.Fatal("New(Config{}) = nil error, want every missing part named")
	}
	for _, name := range []string{"App", "Sessions"} {
		if !strings.Contains(err.Error(), "web: "+name+" is required") {
			t.Errorf("New(Config{}) error %q does not name %s", err, name)
		}
	}
	h := newHarness(t)
	cfg := h.cfg
	ac := h.appCfg
	ac.Objections = nil
	a, err := app.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	cfg.App = a
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "Objections") {
		t.Errorf("New without the objection register = %v, want an error naming it", err)
	}
}

// cookieNamed returns the Set-Cookie of name in r, or nil.
func cookieNamed(r response, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignIn(t *testing.T) {
	h := seeded(t)

	// Anonymous visitors go to the sign-in form, which comes back.
	r := h.get(nil, "/skp/"+h.ag.skpE+"?as_of=2026-12-02")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/masuk?next="+url.QueryEscape("/skp/"+h.ag.skpE+"?as_of=2026-12-02") {
		t.Fatalf("anonymous GET = %d to %q, want 303 to the sign-in form", r.status, r.header.Get("Location"))
	}
	form := h.get(nil, "/masuk?next=/keberatan")
	if form.status != http.StatusOK || !strings.Contains(form.body, "kinerjactl login-link") || strings.Contains(form.body, `name="token"`) {
		t.Fatalf("sign-in form = %d, want the login-link instructions and no token field\n%s", form.status, form.body)
	}

	// A one-time link: its page posts the code (a prefetch of the GET
	// spends nothing), the session starts, and the browser goes on.
	code, _, err := h.codes.Issue(clerk.principal(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	page := h.get(nil, "/masuk/tautan?kode="+code+"&next=/keberatan")
	if page.status != http.StatusOK || !strings.Contains(page.body, `value="`+code+`"`) || page.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("link page = %d %v\n%s", page.status, page.header, page.body)
	}
	ok := h.post(nil, "/masuk/tautan", url.Values{"kode": {code}, "next": {"/keberatan"}})
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/keberatan" {
		t.Fatalf("redeem = %d to %q\n%s", ok.status, ok.header.Get("Location"), ok.body)
	}
	sess := cookieNamed(ok, session.CookieName)
	if sess == nil || len(sess.Value) < 40 || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || sess.Path != "/" {
		t.Fatalf("session cookie = %+v, want a random ID, HttpOnly, SameSite=Strict, not Secure over plain HTTP, Path=/", sess)
	}
	if r := h.get(nil, "/keberatan", sess); r.status != http.StatusOK {
		t.Errorf("GET /keberatan with the session cookie = %d", r.status)
	}
	// The code is spent: a second redemption (another tab, a replay) is
	// refused and starts no session.
	again := h.post(nil, "/masuk/tautan", url.Values{"kode": {code}})
	if again.status != http.StatusSeeOther || !strings.Contains(again.header.Get("Location"), "gagal=tautan") || cookieNamed(again, session.CookieName) != nil {
		t.Errorf("second redemption = %d to %q, session %v", again.status, again.header.Get("Location"), cookieNamed(again, session.CookieName))
	}
	if r := h.get(nil, again.header.Get("Location")); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "sudah dipakai") {
		t.Errorf("the form after a refused link = %d\n%s", r.status, r.body)
	}
	// Unknown, malformed and expired codes are refused alike.
	old, _, _ := h.codes.Issue(clerk.principal(), time.Minute)
	h.clock.Advance(2 * time.Minute)
	for _, c := range []string{"", "made-up", "../../etc/passwd", strings.Repeat("a", 5000), old, "\x00\x01"} {
		bad := h.post(nil, "/masuk/tautan", url.Values{"kode": {c}})
		if bad.status != http.StatusSeeOther || !strings.Contains(bad.header.Get("Location"), "gagal=tautan") || cookieNamed(bad, session.CookieName) != nil {
			t.Errorf("redeem %.10q = %d to %q", c, bad.status, bad.header.Get("Location"))
		}
	}
	if strings.Contains(h.logs.String(), code) || strings.Contains(h.logs.String(), sess.Value) {
		t.Error("a sign-in code or a session ID was logged")
	}
	// Over TLS the cookie is Secure; with SecureCookies it is also named
	// __Host-kinerja_session.
	code, _, _ = h.codes.Issue(clerk.principal(), 0)
	req := httptest.NewRequest(http.MethodPost, "/masuk/tautan", strings.NewReader(url.Values{"kode": {code}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TLS = &tls.ConnectionState{}
	cfg := h.cfg
	cfg.SecureCookies = true
	secure, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	secure.ServeHTTP(rec, req)
	if c := cookieNamed(response{header: rec.Header()}, session.SecureCookieName); c == nil || !c.Secure || c.Path != "/" || c.Domain != "" {
		t.Errorf("session cookie over https = %+v, want __Host-kinerja_session, Secure, Path=/, no Domain", c)
	}
	// An open redirect through next is refused.
	code, _, _ = h.codes.Issue(clerk.principal(), 0)
	if r := h.post(nil, "/masuk/tautan", url.Values{"kode": {code}, "next": {"//evil.example/"}}); r.header.Get("Location") != "/" {
		t.Errorf("sign-in with next=//evil.example/ went to %q, want /", r.header.Get("Location"))
	}

	// Forms from another site are refused before they are read.
	code, _, _ = h.codes.Issue(clerk.principal(), 0)
	for name, hd := range map[string][2]string{
		"cross site":   {"Sec-Fetch-Site", "cross-site"},
		"same site":    {"Sec-Fetch-Site", "same-site"},
		"cross origin": {"Origin", "https://evil.example"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/masuk/tautan", strings.NewReader(url.Values{"kode": {code}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hd[0], hd[1])
		r := h.serve(req)
		if r.status != http.StatusForbidden || cookieNamed(r, session.CookieName) != nil || !strings.Contains(r.body, "situs lain") {
			t.Errorf("%s: redeem = %d, session %v, want 403 and no session", name, r.status, cookieNamed(r, session.CookieName))
		}
	}
	if r := h.post(nil, "/masuk/tautan", url.Values{"kode": {code}}); r.status != http.StatusSeeOther || cookieNamed(r, session.CookieName) == nil {
		t.Errorf("the code refused cross-site was spent: %d", r.status)
	}

	// Sign-out ends the session on the server: the old cookie opens
	// nothing any more, and a cross-site sign-out is refused.
	if r := h.post(nil, "/keluar", nil, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("cross-site sign-out = %d, want 403", r.status)
	}
	out := httptest.NewRequest(http.MethodPost, "/keluar", nil)
	out.AddCookie(sess)
	or := h.serve(out)
	if c := cookieNamed(or, session.CookieName); or.status != http.StatusSeeOther || c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out = %d, cookie %+v, want 303 and the cookie deleted", or.status, c)
	}
	if r := h.get(nil, "/keberatan", sess); r.status != http.StatusSeeOther {
		t.Errorf("GET with a signed-out session = %d, want 303 to sign in", r.status)
	}

	// A proxy's Authorization header works as a session does.
	req = httptest.NewRequest(http.MethodGet, "/keberatan", nil)
	req.Header.Set("Authorization", "Bearer "+h.token(clerk))
	if r := h.serve(req); r.status != http.StatusOK {
		t.Errorf("GET with Authorization: Bearer = %d, want 200", r.status)
	}
}

// Sessions end after the idle timeout and after the absolute one, and the
// form says so.
func TestSessionTimeouts(t *testing.T) {
	h := seeded(t)
	for _, c := range []struct {
		name  string
		steps []time.Duration // uses, each after the pause
		ends  bool
	}{
		{"used within the idle timeout", []time.Duration{29 * time.Minute, 29 * time.Minute, 29 * time.Minute}, false},
		{"idle past the timeout", []time.Duration{30 * time.Minute}, true},
		{"kept busy past the absolute timeout", append(slices.Repeat([]time.Duration{25 * time.Minute}, 28), 25*time.Minute), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, err := h.codes.Issue(clerk.principal(), 0)
			if err != nil {
				t.Fatal(err)
			}
			ck := cookieNamed(h.post(nil, "/masuk/tautan", url.Values{"kode": {code}}), session.CookieName)
			if ck == nil {
				t.Fatal("no session")
			}
			var r response
			for _, d := range c.steps {
				h.clock.Advance(d)
				if r = h.get(nil, "/keberatan", ck); r.status != http.StatusOK {
					break
				}
			}
			if got := r.status != http.StatusOK; got != c.ends {
				t.Fatalf("session ended = %v (status %d), want %v", got, r.status, c.ends)
			}
			if c.ends {
				if !strings.Contains(r.header.Get("Location"), "berakhir=1") {
					t.Errorf("an ended session goes to %q, want the form saying so", r.header.Get("Location"))
				}
				if f := h.get(nil, r.header.Get("Location")); !strings.Contains(f.body, "Sesi Anda telah berakhir") {
					t.Errorf("the form does not say the session ended")
				}
			}
		})
	}
}

var (
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	scriptSrc    = regexp.MustCompile(`<script[^>]*\ssrc=`)
	styleAttr    = regexp.MustCompile(`\sstyle=`)
	handlerAttr  = regexp.MustCompile(`\son[a-z]+=`)
)

func TestSecurityHeadersAndMarkup(t *testing.T) {
	h := seeded(t)
	pages := []string{"/", "/unit/DINKES?year=2026", "/skp/" + h.ag.skpE, "/keberatan", "/audit?seq=3", "/tidak-ada"}
	for _, p := range append(pages, "/masuk") {
		c := &inspektr
		if p == "/masuk" {
			c = nil
		}
		r := h.get(c, p)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
			strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP = %q", p, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
			"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"} {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", p, k, got, v)
			}
		}
		// Nothing the CSP would block: no inline script, style attribute or
		// event handler attribute; the one script is the embedded file.
		for name, re := range map[string]*regexp.Regexp{"inline script": inlineScript, "style attribute": styleAttr, "event handler": handlerAttr} {
			if m := re.FindString(r.body); m != "" {
				t.Errorf("%s: %s in the markup: %q", p, name, m)
			}
		}
		if n := len(scriptSrc.FindAllString(r.body, -1)); n != 1 {
			t.Errorf("%s: %d external scripts, want 1", p, n)
		}
		// Landmarks, a skip link, a language.
		for _, want := range []string{`<html lang="id">`, `<header class="site">`, `<nav aria-label=`, `<main id="konten"`, `<footer class="site">`, `href="#konten"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s: no %s", p, want)
			}
		}
	}
	// The assets: embedded, with their types and long caching when
	// versioned.
	for name, ct := range map[string]string{"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"} {
		a := h.get(nil, assetURL(t, h, name))
		if a.status != http.StatusOK || a.header.Get("Content-Type") != ct || !strings.Contains(a.header.Get("Cache-Control"), "immutable") || len(a.body) < 500 {
			t.Errorf("%s = %d %q %q (%d bytes)", name, a.status, a.header.Get("Content-Type"), a.header.Get("Cache-Control"), len(a.body))
		}
	}
	if r := h.get(nil, "/static/nope.js"); r.status != http.StatusNotFound {
		t.Errorf("unknown asset = %d, want 404", r.status)
	}
	if r := h.get(&inspektr, "/tidak-ada"); r.status != http.StatusNotFound || !strings.Contains(r.body, "Tidak ditemukan") {
		t.Errorf("unknown page = %d", r.status)
	}
}

// count returns how many times sub occurs in s.
func count(s, sub string) int { return strings.Count(s, sub) }

func TestUnitDashboard(t *testing.T) {
	h := seeded(t)
	r := h.must200(analyst, "/unit/DINKES?year=2026&period=2026")
	body := r.body
	for _, want := range []string{
		`<dd id="fig-employees">4</dd>`, `<dd id="fig-skps">4</dd>`, `<dd id="fig-late">1</dd>`, `<dd id="fig-missing">0</dd>`,
		// Drill-down into the puskesmas, and the breadcrumb up to the city.
		`class="drill" href="/unit/PKM-SUKAMAJU?year=2026&amp;period=2026"`, `href="/unit/PEMKOT?year=2026&amp;period=2026">Pemerintah Kota Sukamaju</a>`,
		// The organisation predikat and the chart: E and Q are BAIK, P
		// SANGAT_BAIK; the pattern for BAIK wants at least one BUTUH
		// PERBAIKAN or KURANG: violated, and those bars are marked.
		`<strong id="org-predikat">Baik</strong>`, `<strong id="population">3</strong>`,
		`<g class="row" data-predikat="BAIK" data-count="2">`, `<g class="row" data-predikat="SANGAT_BAIK" data-count="1">`,
		`<g class="row viol" data-predikat="BUTUH_PERBAIKAN" data-count="0">`, `<g class="row viol" data-predikat="KURANG_MISCONDUCT" data-count="0">`,
		`≤70%`, `<code>BAIK.BUTUH_PERBAIKAN&#43;KURANG_MISCONDUCT.min_count_1</code>`,
		// The list, with predikat and lateness.
		`<a href="/skp/` + h.ag.skpQ + `">Rina Marlina</a>`, `href="/ekspor/progress?format=csv&amp;unit=DINKES&amp;year=2026"`,
		`href="/ekspor/distribusi?format=xlsx&amp;period=2026&amp;unit=DINKES"`,
		// How far the projections behind the page had read.
		`<p class="hint" id="position">Data dari proyeksi yang telah membaca buku besar sampai posisi `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("DINKES dashboard lacks %s", want)
		}
	}
	// The city: X in BAPPEDA and the PEMKOT officials have no SKP.
	city := h.must200(analyst, "/unit/PEMKOT?year=2026").body
	if !strings.Contains(city, `<dd id="fig-missing">4</dd>`) || !strings.Contains(city, nipX) || !strings.Contains(city, "Rudi Hartono") {
		t.Errorf("PEMKOT dashboard: want 4 employees without an SKP, X among them")
	}
	// A quarter: Q1 ratings of E (BAIK), P (SANGAT_BAIK), Q (BAIK).
	q1 := h.must200(analyst, "/unit/DINKES?period=2026-Q1").body
	if !strings.Contains(q1, `data-predikat="SANGAT_BAIK" data-count="1"`) || !strings.Contains(q1, `<option value="2026-Q1" selected>`) {
		t.Errorf("DINKES 2026-Q1 dashboard does not show the quarter's ratings")
	}
	// Q2 has no organisation predikat: the distribution is undetermined,
	// said as such, never as "no violations" (issue 11); 2026 has one.
	q2 := h.must200(analyst, "/unit/DINKES?period=2026-Q2").body
	if !strings.Contains(q2, `id="dist-undetermined"`) || !strings.Contains(q2, "Distribusi belum dapat dinilai.") {
		t.Errorf("DINKES 2026-Q2 dashboard does not say the distribution is undetermined")
	}
	if strings.Contains(body, `id="dist-undetermined"`) {
		t.Errorf("DINKES 2026 dashboard calls a determined distribution undetermined")
	}
	// Who may not: a plain employee (403, as the API's reports), an
	// unknown unit (404), a bad period (400).
	if r := h.get(&empE, "/unit/DINKES"); r.status != http.StatusForbidden {
		t.Errorf("employee's unit dashboard = %d, want 403", r.status)
	}
	if r := h.get(&analyst, "/unit/NOPE?year=2026"); r.status != http.StatusNotFound {
		t.Errorf("unknown unit = %d, want 404", r.status)
	}
	if r := h.get(&analyst, "/unit/DINKES?period=2026-Q9"); r.status != http.StatusBadRequest {
		t.Errorf("bad period = %d, want 400", r.status)
	}
	// The start page lists the units to the report roles, an employee's
	// own SKPs to the employee. Its year is the latest with an SKP the
	// caller may see (2026 here, while today is in 2027), not the
	// calendar's.
	if home := h.must200(analyst, "/").body; !strings.Contains(home, `href="/unit/PKM-SUKAMAJU?year=2026"`) || !strings.Contains(home, `<details`) {
		t.Errorf("analyst's start page lacks the unit tree")
	}
	home := h.must200(empE, "/").body
	if strings.Contains(home, "/unit/") || !strings.Contains(home, `href="/skp/`+h.ag.skpE+`"`) || strings.Contains(home, h.ag.skpP) {
		t.Errorf("employee's start page: want E's SKP only and no unit dashboards")
	}
}

// predikat returns the annual predikat shown on an SKP page.
var predRE = regexp.MustCompile(`id="pred-2026" data-value="([A-Z_]+)"`)

func predikatShown(t testing.TB, body string) string {
	t.Helper()
	m := predRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestSKPPageAsOf(t *testing.T) {
	h := seeded(t)
	path := "/skp/" + h.ag.skpE
	now := h.must200(auditor, path).body
	if got := predikatShown(t, now); got != "BAIK" {
		t.Errorf("predikat now = %q, want BAIK (the objection decision)", got)
	}
	for _, want := range []string{
		// The plan with the cascading link to A's RHK (readable by the
		// auditor), indicators, realisation, feedback.
		`class="cascade" href="/skp/` + h.ag.skpA + `#rhk-` + h.ag.rhkA + `">Meningkatnya cakupan imunisasi dasar lengkap</a>`,
		"Puskesmas yang melaksanakan imunisasi", "5 puskesmas", "2 puskesmas telah melaksanakan", "Kerja sama tim sangat baik.",
		// Evaluations with the objection and its decision.
		"Diubah</strong> (Butuh Perbaikan ⇒ Baik)", "Bukti Q4 diterima",
		// The score history with previous values and the superseded ones.
		`<tr class="superseded">`, "Data realisasi Q4 dikoreksi", "Keputusan keberatan",
		// The timeline, with actor, role and reason.
		`data-type="skp.rating_revised.v1"`, "Penilaian direvisi — 2026: Di Bawah Ekspektasi / Sesuai Ekspektasi → Butuh Perbaikan",
		"(Atasan pejabat penilai)", `<q>Data realisasi Q4 dikoreksi</q>`,
	} {
		if !strings.Contains(now, want) {
			t.Errorf("SKP page lacks %s", want)
		}
	}
	if n := count(now, `<li class="" data-revision=`) + count(now, `<li class=" shown" data-revision=`); n != h.streamLen("skp-"+h.ag.skpE) {
		t.Errorf("timeline shows %d events, the stream has %d", n, h.streamLen("skp-"+h.ag.skpE))
	}

	// As of: the values change as the history says.
	for _, c := range []struct {
		name, asOf, want, status string
	}{
		{"after the first rating, RFC 3339", h.ag.afterRating.Format(time.RFC3339), "BAIK", "Draf"},
		{"after the revision, local minute", h.ag.afterRevision.In(h.appCfg.Policy.Location).Format("2006-01-02T15:04"), "BUTUH_PERBAIKAN", "Draf"},
		{"a day after issue, local date", "2027-02-05", "BUTUH_PERBAIKAN", "Disampaikan"},
		{"after the decision", "2027-02-09T10:00:00+07:00", "BAIK", "Final"},
	} {
		body := h.must200(empE, path+"?as_of="+url.QueryEscape(c.asOf)).body
		if got := predikatShown(t, body); got != c.want {
			t.Errorf("%s: predikat %q, want %q", c.name, got, c.want)
		}
		if !strings.Contains(body, `<dd id="evalstatus-2026">`+c.status) {
			t.Errorf("%s: evaluation status is not %s", c.name, c.status)
		}
		// Every event is shown; those recorded after the instant are
		// marked, and there are none after the decision.
		if hasLater, wantLater := strings.Contains(body, `class="later`), c.name != "after the decision"; !strings.Contains(body, `id="asof-banner"`) || hasLater != wantLater {
			t.Errorf("%s: banner %v, events marked later %v, want %v", c.name, strings.Contains(body, `id="asof-banner"`), hasLater, wantLater)
		}
	}
	// Before the SKP existed: a notice, no plan.
	before := h.must200(empE, path+"?as_of="+url.QueryEscape(h.ag.beforeDraft.Format(time.RFC3339))).body
	if !strings.Contains(before, `id="asof-missing"`) || strings.Contains(before, `id="plan-h"`) {
		t.Errorf("as of before the draft: want the missing notice and no plan")
	}
	if r := h.get(&empE, path+"?as_of=kemarin"); r.status != http.StatusBadRequest {
		t.Errorf("as_of=kemarin = %d, want 400", r.status)
	}

	// Authorisation as the API's: X may not know the SKP (404); an HR
	// analyst sees it but not its history; E may not read A's SKP, so the
	// cascade shows the link without the text.
	if r := h.get(&empX, path); r.status != http.StatusNotFound || strings.Contains(r.body, "Budi Santoso") {
		t.Errorf("outsider's SKP page = %d, want 404 without a name", r.status)
	}
	an := h.must200(analyst, path).body
	if !strings.Contains(an, "Linimasa hanya untuk para pihak SKP dan auditor.") || strings.Contains(an, `data-type="skp.drafted.v1"`) {
		t.Errorf("analyst's SKP page shows the timeline")
	}
	if strings.Contains(h.must200(empE, path).body, "Meningkatnya cakupan imunisasi dasar lengkap</a>") {
		t.Errorf("E sees the text of A's RHK, which E may not read")
	}
	if r := h.get(&empE, "/skp/"+h.ag.skpA); r.status != http.StatusNotFound {
		t.Errorf("E's view of A's SKP = %d, want 404", r.status)
	}
	if r := h.get(&empE, "/skp/bukan-skp"); r.status != http.StatusNotFound {
		t.Errorf("malformed SKP id = %d, want 404", r.status)
	}
}

// streamLen returns the number of events in stream.
func (h *harness) streamLen(stream string) int {
	h.t.Helper()
	n := 0
	for _, err := range h.store.ReadStream(h.ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			return n
		}
		n++
	}
	return n
}

func TestObjectionRegister(t *testing.T) {
	h := seeded(t)
	body := h.must200(clerk, "/keberatan").body
	if n := count(body, `<tr class="overdue" data-status="OPEN">`); n != 1 {
		t.Errorf("overdue rows = %d, want 1 (P's open objection, filed 8 January)", n)
	}
	for _, want := range []string{"Dewi Lestari", "⚠ Lewat batas", "Budi Santoso", "Diubah", "Butuh Perbaikan ⇒ <strong>Baik</strong>",
		`<tr class="" data-status="DECIDED">`, "18 Januari 2027 23.59 WIB", "22 Januari 2027 09.00 WIB"} {
		if !strings.Contains(body, want) {
			t.Errorf("register lacks %s", want)
		}
	}
	only := h.must200(clerk, "/keberatan?overdue=true").body
	if strings.Contains(only, "Budi Santoso") || !strings.Contains(only, "Dewi Lestari") {
		t.Errorf("overdue=true: want P's objection only")
	}
	if bp := h.must200(clerk, "/keberatan?unit=BAPPEDA").body; strings.Contains(bp, "<tbody>") {
		t.Errorf("BAPPEDA has no objections, the register shows some")
	}
	for _, bad := range []string{"/keberatan?status=MAYBE", "/keberatan?overdue=kadang"} {
		if r := h.get(&clerk, bad); r.status != http.StatusBadRequest {
			t.Errorf("%s = %d, want 400", bad, r.status)
		}
	}
	if r := h.get(&empE, "/keberatan"); r.status != http.StatusForbidden {
		t.Errorf("employee's register = %d, want 403", r.status)
	}
}

func TestAuditPage(t *testing.T) {
	h := seeded(t)
	body := h.must200(auditor, "/audit").body
	cp, ok, err := h.model.Audit().LatestCheckpoint(h.ctx)
	if err != nil || !ok {
		t.Fatalf("no checkpoint: %v", err)
	}
	size, err := h.model.Audit().Size(h.ctx)
	if err != nil || size < 60 {
		t.Fatalf("trail size %d, %v", size, err)
	}
	// Newest first (issue 13): the first page is the last 50 entries, the
	// newest on top, with a link to the older ones and none to newer.
	top, bottom := `<tr data-seq="`+itoa(size-1)+`" data-type=`, `<tr data-seq="`+itoa(size-50)+`" data-type=`
	for _, want := range []string{`<dd class="hash" id="cp-root">` + cp.RootHash.String() + `</dd>`, `id="verify-result" data-ok=""`,
		top, bottom, `id="trail-next"`} {
		if !strings.Contains(body, want) {
			t.Errorf("audit page lacks %s", want)
		}
	}
	if strings.Index(body, top) > strings.Index(body, bottom) {
		t.Error("the trail is not newest first")
	}
	if n := count(body, `<tr data-seq=`); n != 50 || strings.Contains(body, `id="trail-newer"`) {
		t.Errorf("the first page shows %d entries (want 50) or offers newer ones", n)
	}
	// Older, then newer again: the pages meet without a gap or overlap.
	older := h.must200(auditor, "/audit?before="+itoa(size-50)).body
	if !strings.Contains(older, `<tr data-seq="`+itoa(size-51)+`"`) || strings.Contains(older, `<tr data-seq="`+itoa(size-50)+`"`) ||
		!strings.Contains(older, `id="trail-newer"`) || !strings.Contains(older, `id="trail-newest"`) {
		t.Errorf("the older page does not start just before the first")
	}
	newer := h.must200(auditor, "/audit?after="+itoa(size-51)).body
	if count(newer, `<tr data-seq=`) != 50 || !strings.Contains(newer, top) || !strings.Contains(newer, bottom) ||
		strings.Index(newer, top) > strings.Index(newer, bottom) {
		t.Errorf("the newer page is not the first again, newest first")
	}
	// Jump to an entry: it is on top, then the older ones; the oldest
	// page has no older link.
	jump := h.must200(auditor, "/audit?at=49").body
	if n := count(jump, `<tr data-seq=`); n != 50 || !strings.Contains(jump, `<tr data-seq="49" data-type=`) ||
		!strings.Contains(jump, `<tr data-seq="0" data-type="unit.registered.v1">`) || strings.Contains(jump, `id="trail-next"`) {
		t.Errorf("jump to entry 49: %d rows, or not down to 0, or an older link", n)
	}
	for _, bad := range []string{"/audit?at=x", "/audit?before=-1", "/audit?at=18446744073709551615", "/audit?after=%01"} {
		if r := h.get(&auditor, bad); r.status != http.StatusBadRequest {
			t.Errorf("%s = %d, want 400", bad, r.status)
		}
	}
	// Filters: actor, stream, type, time.
	byS := h.must200(auditor, "/audit?actor="+nipS).body
	rows := regexp.MustCompile(`<tr data-seq="\d+" data-type="[^"]*">[\s\S]*?</tr>`).FindAllString(byS, -1)
	if len(rows) == 0 {
		t.Fatal("no entries by S")
	}
	for _, r := range rows {
		if !strings.Contains(r, nipS) {
			t.Errorf("filtered by actor %s, row %s", nipS, r)
		}
	}
	stream := h.must200(auditor, "/audit?stream=skp-"+h.ag.skpE+"&type=skp.rating_revised.v1").body
	if n := count(stream, `<tr data-seq=`); n != 2 {
		t.Errorf("E's rating revisions in the trail = %d, want 2 (appraiser, objection)", n)
	}
	dec := h.must200(auditor, "/audit?from=2027-02-09T00:00&to=2027-02-09").body
	if n := count(dec, `<tr data-seq=`); n != 2 {
		t.Errorf("entries recorded on 9 February = %d, want 2 (the decision and its revision)", n)
	}

	// The inclusion proof of an entry, in the signed checkpoint's tree.
	proof := h.must200(auditor, "/audit?seq=5").body
	for _, want := range []string{`id="proof-server" class="callout ok" data-ok="true"`, `data-index="5"`, `data-size="` + itoa(cp.Size) + `"`,
		`data-root="` + cp.RootHash.String() + `"`, "sama dengan checkpoint bertanda tangan"} {
		if !strings.Contains(proof, want) {
			t.Errorf("proof lacks %s", want)
		}
	}
	if r := h.must200(auditor, "/audit?seq=99999").body; !strings.Contains(r, "Tidak ada entri dengan nomor itu") {
		t.Errorf("proof of a missing entry: no notice")
	}

	// Verify now: a CSRF-safe POST, then the result on the page.
	v := h.post(&auditor, "/audit/verifikasi", nil)
	if v.status != http.StatusSeeOther {
		t.Fatalf("verify = %d\n%s", v.status, v.body)
	}
	after := h.must200(auditor, "/audit").body
	if !strings.Contains(after, `class="callout ok" role="status" id="verify-result" data-ok="true"`) || !strings.Contains(after, "oleh auditor-1") {
		t.Errorf("after verification the page does not show an OK result")
	}
	if r := h.post(&auditor, "/audit/verifikasi", nil, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("verify from another site = %d, want 403", r.status)
	}
	if r := h.post(&analyst, "/audit/verifikasi", nil); r.status != http.StatusForbidden {
		t.Errorf("verify as analyst = %d, want 403", r.status)
	}
	if r := h.get(&analyst, "/audit"); r.status != http.StatusForbidden {
		t.Errorf("audit page as analyst = %d, want 403", r.status)
	}

	// A verifier that finds a problem shows it.
	h.rebuild(func(c *app.Config) { c.Verifier = failingVerifier{} })
	h.post(&auditor, "/audit/verifikasi", nil)
	if bad := h.must200(auditor, "/audit").body; !strings.Contains(bad, `data-ok="false"`) || !strings.Contains(bad, "chain broken at revision 3") {
		t.Errorf("a failed verification is not shown")
	}
}

func TestExports(t *testing.T) {
	h := seeded(t)
	// By default for people (Indonesian labels, ';' behind a byte-order
	// mark, NIPs as ="…"), with ?sep=,&codes=1 for programs.
	for _, c := range []struct {
		path, sheet, header, want, codeHeader, codeWant string
		who                                             caller
	}{
		{"/ekspor/progress?unit=DINKES&year=2026", "progress-DINKES-2026", "Kode unit", "PKM-SUKAMAJU", "unit_id", "PKM-SUKAMAJU", analyst},
		{"/ekspor/distribusi?unit=DINKES&period=2026", "distribution-DINKES-2026", "Unit", "Butuh Perbaikan", "unit", "BUTUH_PERBAIKAN", analyst},
		{"/ekspor/keberatan?overdue=true", "objections", "ID keberatan", `="` + nipP + `"`, "objection_id", nipP, clerk},
		{"/ekspor/audit?actor=" + nipS, "audit", "Nomor entri", "skp.objection_decided.v1", "seq", "skp.objection_decided.v1", auditor},
	} {
		for _, mode := range []struct {
			query, header, want string
			sep                 rune
		}{{"", c.header, c.want, ';'}, {"&sep=,&codes=1", c.codeHeader, c.codeWant, ','}} {
			r := h.must200(c.who, c.path+"&format=csv"+mode.query)
			if r.header.Get("Content-Type") != mediaCSV || !strings.HasPrefix(r.header.Get("Content-Disposition"), `attachment; filename="`+c.sheet+`.csv"`) {
				t.Errorf("%s CSV: %q %q", c.path, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
			}
			if bom := strings.HasPrefix(r.body, "\uFEFF"); bom != (mode.sep == ';') {
				t.Errorf("%s%s CSV: byte-order mark %v", c.path, mode.query, bom)
			}
			cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\uFEFF")))
			cr.Comma = mode.sep
			rows, err := cr.ReadAll()
			if err != nil || len(rows) < 2 || rows[0][0] != mode.header || !slices.ContainsFunc(rows[1:], func(row []string) bool { return slices.Contains(row, mode.want) }) {
				t.Errorf("%s%s CSV = %q (%v), want header %s and a cell %s", c.path, mode.query, r.body, err, mode.header, mode.want)
			}
			x := h.must200(c.who, c.path+"&format=xlsx"+mode.query)
			if x.header.Get("Content-Type") != mediaXLSX {
				t.Errorf("%s XLSX: Content-Type %q", c.path, x.header.Get("Content-Type"))
			}
			f, err := excelize.OpenReader(bytes.NewReader([]byte(x.body)))
			if err != nil {
				t.Fatalf("%s: not a workbook: %v", c.path, err)
			}
			xr, err := f.GetRows(c.sheet)
			f.Close()
			if err != nil || len(xr) != len(rows) || xr[0][0] != mode.header {
				t.Errorf("%s%s XLSX rows = %v (%v), want the CSV's %d rows", c.path, mode.query, xr, err, len(rows))
			}
		}
	}
	// English labels with the language switch; bad export parameters are
	// refused.
	if r := h.must200(analyst, "/ekspor/distribusi?unit=DINKES&period=2026&format=csv&lang=en"); !strings.Contains(r.body, "Organisation predikat") || !strings.Contains(r.body, "Needs improvement") {
		t.Errorf("English CSV = %q", r.body)
	}
	for _, q := range []string{"&sep=%09", "&sep=x", "&codes=yes"} {
		if r := h.get(&analyst, "/ekspor/progress?unit=DINKES&year=2026&format=csv"+q); r.status != http.StatusBadRequest {
			t.Errorf("export with %s = %d, want 400", q, r.status)
		}
	}
	// Only what the page allows; a bad format is 400, an unknown report
	// 404.
	for _, c := range []struct {
		path   string
		who    caller
		status int
	}{
		{"/ekspor/progress?unit=DINKES&format=csv", empE, http.StatusForbidden},
		{"/ekspor/keberatan?format=csv", analyst, http.StatusOK},
		{"/ekspor/keberatan?format=csv", empE, http.StatusForbidden},
		{"/ekspor/audit?format=csv", analyst, http.StatusForbidden},
		{"/ekspor/progress?unit=DINKES&format=pdf", analyst, http.StatusBadRequest},
		{"/ekspor/rahasia?format=csv", analyst, http.StatusNotFound},
		{"/ekspor/progress?unit=NOPE&format=csv", analyst, http.StatusNotFound},
	} {
		if r := h.get(&c.who, c.path); r.status != c.status {
			t.Errorf("%s as %s = %d, want %d", c.path, c.who.sub, r.status, c.status)
		}
	}
}

func TestLanguage(t *testing.T) {
	h := seeded(t)
	path := "/skp/" + h.ag.skpE
	id := h.must200(empE, path).body
	if !strings.Contains(id, `<html lang="id">`) || !strings.Contains(id, "Riwayat nilai") || !strings.Contains(id, `hreflang="en"`) {
		t.Errorf("default page is not Indonesian with an English switch")
	}
	r := h.get(&empE, path+"?lang=en")
	c := cookieNamed(r, page.LangCookie)
	if r.status != http.StatusOK || !strings.Contains(r.body, `<html lang="en">`) || !strings.Contains(r.body, "Score history") ||
		!strings.Contains(r.body, `data-value="BAIK">Good</strong>`) || c == nil || c.Value != "en" {
		t.Fatalf("?lang=en: status %d, cookie %+v", r.status, c)
	}
	// The cookie keeps it; ?lang=id switches back.
	if en := h.get(&empE, path, c); !strings.Contains(en.body, `<html lang="en">`) || !strings.Contains(en.body, `href="/skp/`+h.ag.skpE+`?lang=id"`) {
		t.Errorf("the language cookie is not honoured")
	}
	if back := h.get(&empE, path+"?lang=id", c); !strings.Contains(back.body, `<html lang="id">`) {
		t.Errorf("?lang=id does not switch back")
	}
	if weird := h.get(&empE, path+"?lang=fr"); !strings.Contains(weird.body, `<html lang="id">`) {
		t.Errorf("?lang=fr is not ignored")
	}
}

// failingVerifier reports a broken chain.
type failingVerifier struct{}

func (failingVerifier) Verify(context.Context) (audit.Report, error) {
	seq := uint64(3)
	return audit.Report{Checked: 10, Size: 10, Problems: []audit.Problem{{Seq: &seq, Stream: "skp-x", Problem: "chain broken at revision 3"}}}, nil
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// assetURL finds the versioned URL of an embedded asset in the start page.
func assetURL(t *testing.T, h *harness, name string) string {
	t.Helper()
	m := regexp.MustCompile(`"(/static/` + regexp.QuoteMeta(name) + `\?v=[0-9a-f]+)"`).FindStringSubmatch(h.must200(inspektr, "/").body)
	if m == nil {
		t.Fatalf("the start page links no %s", name)
	}
	return m[1]
}

// Media types of the exports.
const (
	mediaCSV  = "text/csv; charset=utf-8"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)
