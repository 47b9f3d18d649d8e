package web

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/employee"
)

var (
	peopleRow  = regexp.MustCompile(`<tr data-nip="(\d+)">`)
	peopleMore = regexp.MustCompile(`id="people-more" rel="next" href="([^"]+)"`)
)

// rows returns the NIPs of the result rows of a search page.
func peopleRows(body string) []string {
	var out []string
	for _, m := range peopleRow.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// "Cari pegawai": the HR and audit roles find employees by name (case and
// accents ignored), NIP prefix, unit with sub-units and kind, page by page
// through a "more" link; the page works without JavaScript (a GET form);
// others are refused and are not offered the link.
func TestPeoplePage(t *testing.T) {
	h := newHarness(t)
	h.seed()
	for i := range 50 {
		n := fmt.Sprintf("198001012005011%03d", 100+i)
		if _, err := h.emps.Register(h.ctx, req(hrAdmin), employee.Register{NIP: n, Name: fmt.Sprintf("Pegawai Uji %02d", i), UnitID: "BAPPEDA",
			Position: employee.Position{Kind: employee.JF, Title: "Analis"}}); err != nil {
			t.Fatal(err)
		}
	}
	h.catchUp()

	r := h.must200(hrAdmin, "/pegawai")
	if !strings.Contains(r.body, "<h1>Cari pegawai</h1>") || !strings.Contains(r.body, `<form method="get" action="/pegawai"`) ||
		!strings.Contains(r.body, `<a href="/pegawai" aria-current="page">Cari pegawai</a>`) || strings.Contains(r.body, `id="people"`) {
		t.Errorf("the empty search page:\n%s", r.body)
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"q=SITI", []string{nipA}},
		{"q=" + url.QueryEscape("rína  MAR"), []string{nipQ}},
		{"q=dr.&match=prefix", []string{nipA}},
		{"q=rahmawati&match=prefix", nil},
		{"nip=" + url.QueryEscape("19900101 2015"), []string{nipE}},
		{"unit=DINKES&kind=PELAKSANA", []string{nipE, nipP, nipQ}}, // Budi, Dewi, Rina (in the puskesmas below)
		{"q=zzz", nil},
	} {
		r := h.must200(auditor, "/pegawai?"+c.query)
		if got := peopleRows(r.body); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("/pegawai?%s rows = %v, want %v", c.query, got, c.want)
		}
		if c.want == nil && !strings.Contains(r.body, `id="people-none"`) {
			t.Errorf("/pegawai?%s does not say that nobody matches", c.query)
		}
	}

	// By SKP status (issue 13): the seeded SKPs of 2026 are E's, P's, Q's
	// and A's; X (BAPPEDA) has none, nor has anybody in 2025.
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"unit=DINKES&kind=PELAKSANA&skp_status=NONE&year=2026", nil},
		{"unit=DINKES&kind=PELAKSANA&skp_status=NONE&year=2025", []string{nipE, nipP, nipQ}},
		{"q=rudi&skp_status=NONE&year=2026", []string{nipX}},
		{"q=rudi&skp_status=ESTABLISHED&year=2026", nil},
	} {
		r := h.must200(auditor, "/pegawai?"+c.query)
		if got := peopleRows(r.body); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("/pegawai?%s rows = %v, want %v", c.query, got, c.want)
		}
	}
	if r := h.must200(auditor, "/pegawai?cari=1&skp_status=NONE&year=2025").body; !strings.Contains(r, `<option value="NONE" selected>Belum ada SKP</option>`) ||
		!strings.Contains(r, `<option value="2025" selected>`) {
		t.Errorf("the form forgets the SKP status or year chosen")
	}
	withSKP := peopleRows(h.must200(auditor, "/pegawai?unit=DINKES&skp_status=ESTABLISHED&year=2026").body)
	if !slices.Contains(withSKP, nipE) || slices.Contains(withSKP, nipX) {
		t.Errorf("DINKES with an established SKP of 2026 = %v", withSKP)
	}

	// Everyone, in two pages.
	first := h.must200(analyst, "/pegawai?cari=1")
	rows := peopleRows(first.body)
	m := peopleMore.FindStringSubmatch(first.body)
	if len(rows) != 50 || m == nil {
		t.Fatalf("first page: %d rows, more link %v", len(rows), m)
	}
	second := h.must200(analyst, html.UnescapeString(m[1]))
	rest := peopleRows(second.body)
	if len(rest) != 8 || peopleMore.MatchString(second.body) || !strings.Contains(second.body, "lanjutan") {
		t.Errorf("second page: %v; want the 8 left and no more link", rest)
	}
	// The web's cursor is sealed (issue 13): edited, of another search or
	// of another caller, it is refused.
	more, _ := url.Parse(html.UnescapeString(m[1]))
	cur := more.Query().Get("cursor")
	for _, bad := range []string{
		"/pegawai?cari=1&cursor=" + url.QueryEscape(cur[:len(cur)-2]+"AA"),
		"/pegawai?cari=1&kind=PELAKSANA&cursor=" + url.QueryEscape(cur),
		"/pegawai?cari=1&cursor=" + base64.RawURLEncoding.EncodeToString([]byte(nipE)),
	} {
		if r := h.get(&analyst, bad); r.status != http.StatusBadRequest {
			t.Errorf("%s = %d, want 400", bad, r.status)
		}
	}
	if r := h.get(&auditor, html.UnescapeString(m[1])); r.status != http.StatusBadRequest {
		t.Errorf("another caller's cursor = %d, want 400", r.status)
	}
	seen := map[string]bool{}
	for _, n := range append(rows, rest...) {
		if seen[n] {
			t.Errorf("%s on both pages", n)
		}
		seen[n] = true
	}
	if en := h.must200(analyst, "/pegawai?q=budi&lang=en"); !strings.Contains(en.body, "<h1>Find employees</h1>") || !strings.Contains(en.body, "Staff") {
		t.Errorf("the English page:\n%s", en.body)
	}

	// Refusals: bad input is 400, those without a list role 403 and no link.
	for _, q := range []string{"kind=KETUA", "skp_status=DONE", "skp_status=NONE&year=99", "q=" + url.QueryEscape("budi\x01"), "nip=19x", "cursor=nonsense", "q=" + strings.Repeat("a", 10*1024)} {
		if r := h.get(&hrAdmin, "/pegawai?"+q); r.status != http.StatusBadRequest {
			t.Errorf("/pegawai?%.40s = %d, want 400", q, r.status)
		}
	}
	if r := h.get(&empE, "/pegawai?q=budi"); r.status != http.StatusForbidden || strings.Contains(r.body, "Santoso") {
		t.Errorf("an employee searches: %d", r.status)
	}
	if home := h.must200(empE, "/"); strings.Contains(home.body, `href="/pegawai"`) {
		t.Error("an employee is offered the search")
	}
}
