package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// unitOptions are the <option>s of a page's unit pickers (<datalist>s, or
// the <select>s they replaced): what the page lists of the unit tree.
var unitOptions = regexp.MustCompile(`<option value="(PEMKOT|DINKES|BAPPEDA|PKM-[A-Z]+|BIDANG-\d+|SUB-[0-9-]+|PEMPROV)"`)

// webClerkA is agency A's (PEMKOT's) grievance clerk with the agency claim.
var webClerkA = caller{"clerk-a", []string{"GRIEVANCE_CLERK"}}

func init() { webTokenAgency["clerk-a"] = "PEMKOT" }

// The pages that pick a unit never list the whole tree (issue 15: a
// <select> of every unit was ≈ 185 KB at 2,097 units, ≈ 0.9 MB at a
// province's 10,000): with 3,000 units each stays small and offers at most
// 200 units, the nearest ones; what is typed is searched by the page
// itself (no JavaScript), and a unit ID typed is taken.
func TestUnitPickerBounded(t *testing.T) {
	h := seeded(t)
	for b := range 30 {
		if _, err := h.units.Register(h.ctx, req(hrAdmin), orgunit.Register{ID: fmt.Sprintf("BIDANG-%02d", b), Name: fmt.Sprintf("Bidang %02d", b), ParentID: "BAPPEDA"}); err != nil {
			t.Fatal(err)
		}
		for s := range 99 {
			if _, err := h.units.Register(h.ctx, req(hrAdmin), orgunit.Register{ID: fmt.Sprintf("SUB-%02d-%03d", b, s),
				Name: fmt.Sprintf("Subbidang %02d.%03d", b, s), ParentID: fmt.Sprintf("BIDANG-%02d", b)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.catchUp()
	const budget = 64 << 10 // these pages are ≈ 21 KB with a handful of units
	for _, p := range []struct {
		c    caller
		path string
	}{
		{clerk, "/keberatan"}, {hrAdmin, "/data-induk/pegawai?unit=DINKES"}, {hrAdmin, "/data-induk/pegawai/baru"},
		{hrAdmin, "/data-induk/unit/baru"}, {hrAdmin, "/data-induk/pejabat/baru"}, {hrAdmin, "/data-induk/pegawai/" + nipE + "/jabatan"},
	} {
		body := h.must200(p.c, p.path).body
		n := len(unitOptions.FindAllString(body, -1))
		t.Logf("%s: %d bytes, %d units offered", p.path, len(body), n)
		if len(body) > budget || n > 200 {
			t.Errorf("%s: %d bytes, %d units offered; want ≤ %d bytes, ≤ 200 units", p.path, len(body), n, budget)
		}
		if strings.Contains(body, "<select id=\"f-unit\"") || strings.Contains(body, `<select id="unit_id"`) || strings.Contains(body, `<select id="parent_id"`) {
			t.Errorf("%s still holds a <select> of units", p.path)
		}
	}
	// A unit typed: its parent, siblings and children are offered.
	body := h.must200(hrAdmin, "/data-induk/pegawai?unit=BIDANG-07").body
	for _, want := range []string{`value="BIDANG-07"`, `<option value="BAPPEDA"`, `<option value="BIDANG-08"`, `<option value="SUB-07-098"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the picker near BIDANG-07 lacks %s", want)
		}
	}
	// Part of a name typed and submitted: the matches, and the problem.
	r := h.get(&hrAdmin, "/data-induk/pegawai?unit="+url.QueryEscape("subbidang 12.05"))
	if r.status != http.StatusNotFound || !strings.Contains(r.body, `id="f-unit-error"`) || !strings.Contains(r.body, "Unit tidak dikenal") {
		t.Errorf("a search = %d, want 404 with the problem beside the field\n%s", r.status, r.body)
	}
	if got := unitOptions.FindAllString(r.body, -1); len(got) != 10 || !strings.Contains(r.body, `<option value="SUB-12-059"`) {
		t.Errorf("the search offers %d units (want SUB-12-050…059)", len(got))
	}
	if r := h.get(&clerk, "/keberatan?unit=BIDANG"); r.status != http.StatusNotFound || len(unitOptions.FindAllString(r.body, -1)) != 200 {
		t.Errorf("a broad search on the register = %d, %d units offered; want 404, 200 (the cap)", r.status, len(unitOptions.FindAllString(r.body, -1)))
	}
}

// A unit field refuses, beside the field and in Indonesian, what names no
// unit of the caller's agency (unknown, another agency's, control
// characters, huge), and records nothing; an empty one is the form's own
// (a top unit, no unit led, a required unit's problem).
func TestUnitPickerRefuses(t *testing.T) {
	h := seeded(t)
	if _, err := h.units.Register(h.ctx, req(webHRB), orgunit.Register{ID: "PEMPROV", Name: "Pemerintah Provinsi"}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	head := func() string {
		p, err := h.store.Head(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(p)
	}
	forms := []struct {
		path, field string
		kv          []string
	}{
		{"/data-induk/unit/baru", "parent_id", []string{"id", "LABKES", "name", "Laboratorium Kesehatan"}},
		{"/data-induk/pegawai/baru", "unit_id", []string{"nip", "198001012005011099", "name", "Pegawai Baru", "position.kind", "PELAKSANA", "position.title", "Pengadministrasi"}},
		{"/data-induk/pejabat/baru", "unit_id", []string{"id", "WALIKOTA-SUKAMAJU", "kind", "MAYOR", "title", "Wali Kota Sukamaju"}},
		{"/data-induk/pegawai/" + nipE + "/jabatan", "unit_id", []string{"position.kind", "PELAKSANA", "position.title", "Analis", "effective_from", "2026-06-01", "decree_ref", "SK-1"}},
	}
	for _, f := range forms {
		body := h.must200(webHRA, f.path).body
		for name, v := range map[string]string{
			"another agency's unit": "PEMPROV", "unknown": "NOSUCHUNIT", "control char": "DIN\x07KES", "NUL": "DINKES\x00",
			"huge": strings.Repeat("DINKES", 20000),
		} {
			before := head()
			r := h.post(&webHRA, f.path, formOf(t, body, append(append([]string{}, f.kv...), f.field, v)...))
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+f.field+`-error"`) || !strings.Contains(r.body, `aria-invalid="true"`) {
				t.Errorf("%s, %s: = %d, want 422 with the problem beside %s", f.path, name, r.status, f.field)
			}
			if name == "another agency's unit" && !strings.Contains(r.body, "Unit tidak dikenal di instansi Anda") {
				t.Errorf("%s, %s: the problem is not the unknown unit's", f.path, name)
			}
			if head() != before {
				t.Errorf("%s, %s: something was recorded", f.path, name)
			}
		}
	}
	// Empty: a required unit is a problem; an optional one is none.
	for _, f := range forms[1:2] {
		before := head()
		r := h.post(&webHRA, f.path, formOf(t, h.must200(webHRA, f.path).body, append(append([]string{}, f.kv...), f.field, "")...))
		if r.status == http.StatusSeeOther || head() != before {
			t.Errorf("%s without a unit = %d, want refused and nothing recorded", f.path, r.status)
		}
	}
	r := h.post(&webHRA, forms[0].path, formOf(t, h.must200(webHRA, forms[0].path).body, "id", "LABKES", "name", "Laboratorium Kesehatan", "parent_id", "DINKES"))
	if r.status != http.StatusSeeOther || h.streamLen("unit-LABKES") == 0 {
		t.Errorf("a unit ID typed = %d, want 303 and the unit recorded", r.status)
	}
	// The filters: another agency's unit is not found, and not shown.
	for _, p := range []string{"/keberatan?unit=PEMPROV", "/data-induk/pegawai?unit=PEMPROV", "/data-induk/pegawai?unit=" + url.QueryEscape("DIN\x00KES")} {
		c := webHRA
		if strings.HasPrefix(p, "/keberatan") {
			c = webClerkA
		}
		if r := h.get(&c, p); r.status != http.StatusNotFound || strings.Contains(r.body, "Pemerintah Provinsi") {
			t.Errorf("%s = %d, want 404 without the other agency's unit", p, r.status)
		}
	}
}
