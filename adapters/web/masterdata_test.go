package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// revisionOf reads the revision a rendered form carries.
func revisionOf(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`name="_revision" value="([0-9]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no _revision in the form:\n%s", body)
	}
	return m[1]
}

// The employee pages are HR's: others are refused (and not offered the
// links); an employee sees their own record and nobody else's.
func TestEmployeePagesAccess(t *testing.T) {
	h := seeded(t)
	for _, c := range []caller{analyst, clerk, auditor, empE} {
		for _, p := range []string{"/data-induk/pegawai?unit=DINKES", "/data-induk/pegawai/baru",
			"/data-induk/pegawai/" + nipE + "/atasan", "/data-induk/pegawai/" + nipE + "/jabatan"} {
			if r := h.get(&c, p); r.status != http.StatusForbidden {
				t.Errorf("GET %s as %s = %d, want 403", p, c.sub, r.status)
			}
		}
	}
	// The forms posted by someone other than HR: refused, nothing recorded.
	form := h.must200(hrAdmin, "/data-induk/pegawai/"+nipE+"/atasan")
	before := h.streamLen(domain.EmployeeStream(nipE))
	for _, c := range []caller{empE, caller{nipA, nil}, analyst} {
		v := url.Values{"_key": {formKey(t, form.body)}, "_revision": {revisionOf(t, form.body)}, "appraiser_nip": {nipP},
			"appraiser_superior_nip": {nipS}, "effective_from": {"2026-06-01"}}
		if r := h.post(&c, "/data-induk/pegawai/"+nipE+"/atasan", v); r.status != http.StatusForbidden {
			t.Errorf("the line form posted by %s = %d, want 403", c.sub, r.status)
		}
		v.Set("_key", formKey(t, h.must200(hrAdmin, "/data-induk/pegawai/baru").body))
		v.Set("nip", "198001012005011099")
		v.Set("name", "Siluman")
		v.Set("unit_id", "DINKES")
		if r := h.post(&c, "/data-induk/pegawai/baru", v); r.status != http.StatusForbidden || h.streamLen(domain.EmployeeStream("198001012005011099")) != 0 {
			t.Errorf("the new-employee form posted by %s = %d, want 403 and nothing recorded", c.sub, r.status)
		}
	}
	if h.streamLen(domain.EmployeeStream(nipE)) != before {
		t.Error("a refused form recorded something")
	}
	// E reads their own record, without the HR links; not X's.
	if r := h.must200(empE, "/data-induk/pegawai/"+nipE); strings.Contains(r.body, `id="line-edit"`) || !strings.Contains(r.body, "dr. Siti Rahmawati") {
		t.Errorf("E's own record: links or appraiser wrong\n%s", r.body)
	}
	if r := h.get(&empE, "/data-induk/pegawai/"+nipX); r.status != http.StatusNotFound {
		t.Errorf("E reading X's record = %d, want 404", r.status)
	}
	// HR: the navigation, the unit list's links, the employee list.
	if r := h.must200(hrAdmin, "/data-induk/unit"); !strings.Contains(r.body, `href="/data-induk/pegawai?unit=DINKES"`) {
		t.Error("the unit list does not link DINKES's employees")
	}
	if r := h.must200(analyst, "/"); strings.Contains(r.body, `href="/data-induk/unit"`) {
		t.Error("HR_ANALYST is offered master data in the navigation")
	}
	r := h.must200(hrAdmin, "/data-induk/pegawai?unit=DINKES")
	for _, want := range []string{`data-nip="` + nipE + `"`, `data-nip="` + nipP + `"`, "Budi Santoso"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("DINKES's employees lack %s", want)
		}
	}
	if strings.Contains(r.body, nipX) {
		t.Error("DINKES's list shows X of BAPPEDA")
	}
	for _, p := range []string{"/data-induk/pegawai?unit=NOPE", "/data-induk/pegawai/199001012015031999", "/data-induk/pegawai/abc/atasan",
		"/data-induk/pegawai/199001012015031999/jabatan"} {
		if r := h.get(&hrAdmin, p); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, r.status)
		}
	}
	if r := h.post(&hrAdmin, "/data-induk/pegawai/199001012015031999/atasan", url.Values{"_key": {formKey(t, form.body)}}); r.status != http.StatusNotFound {
		t.Errorf("the line form for nobody = %d, want 404", r.status)
	}
}

// The new-employee form: problems beside the fields (a bad NIP, a NIP of
// the future, control characters, an unknown unit or kind) with the input
// kept and nothing recorded; success once, even when sent twice.
func TestNewEmployeeForm(t *testing.T) {
	h := seeded(t)
	const path = "/data-induk/pegawai/baru"
	form := h.must200(hrAdmin, path+"?unit=DINKES")
	if !strings.Contains(form.body, `name="unit_id" value="DINKES"`) {
		t.Error("?unit= does not preselect the unit")
	}
	key := formKey(t, form.body)
	const newNIP = "198807082014022001" // a woman born 8 July 1988, CPNS February 2014
	good := url.Values{"_key": {key}, "nip": {"19880708 201402 2 001"}, "name": {"Ratna Sari"}, "unit_id": {"DINKES"},
		"position.kind": {"JF"}, "position.title": {"Epidemiolog Kesehatan Ahli Muda"}}
	with := func(field, value string) url.Values {
		v := url.Values{}
		for k, vs := range good {
			v[k] = vs
		}
		v.Set(field, value)
		return v
	}
	for name, c := range map[string]struct {
		values url.Values
		field  string
		kept   string
	}{
		"17 digits":          {with("nip", "19880708201402200"), "nip", "19880708201402200"},
		"letters in NIP":     {with("nip", "1988070820140220OI"), "nip", "1988070820140220OI"},
		"month 13":           {with("nip", "198813082014022001"), "nip", "198813082014022001"},
		"born in the future": {with("nip", "202807082046022001"), "nip", "202807082046022001"},
		"appointed in 2030":  {with("nip", "198807082030022001"), "nip", "198807082030022001"},
		"control char":       {with("name", "Ratna\x07Sari"), "name", "19880708 201402 2 001"},
		"no name":            {with("name", "  "), "name", "Epidemiolog Kesehatan Ahli Muda"},
		"unknown unit":       {with("unit_id", "NOPE"), "unit_id", "Ratna Sari"},
		"unknown kind":       {with("position.kind", "ESELON_IV"), "position.kind", "Ratna Sari"},
		"no title":           {with("position.title", ""), "position.title", "Ratna Sari"},
	} {
		r := h.post(&hrAdmin, path, c.values)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: = %d, want 422\n%s", name, r.status, r.body)
			continue
		}
		if !strings.Contains(r.body, `id="`+c.field+`-error"`) || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("%s: no problem beside %s\n%s", name, c.field, r.body)
		}
		if !strings.Contains(r.body, `value="`+c.kept+`"`) {
			t.Errorf("%s: the input %q was not kept", name, c.kept)
		}
	}
	if n := h.streamLen(domain.EmployeeStream(newNIP)); n != 0 {
		t.Fatalf("refused forms recorded %d events", n)
	}
	// English problems with the switch.
	if r := h.post(&hrAdmin, path+"?lang=en", with("position.title", "")); !strings.Contains(r.body, "Title of the post") {
		t.Error("the form in English is not in English")
	}
	first := h.post(&hrAdmin, path, good)
	want := "/data-induk/pegawai/" + newNIP + "?dibuat=1"
	if first.status != http.StatusSeeOther || first.header.Get("Location") != want {
		t.Fatalf("submit = %d to %q, want 303 to %s\n%s", first.status, first.header.Get("Location"), want, first.body)
	}
	if again := h.post(&hrAdmin, path, good); again.status != http.StatusSeeOther || again.header.Get("Location") != want {
		t.Errorf("double submit = %d to %q", again.status, again.header.Get("Location"))
	}
	if n := h.streamLen(domain.EmployeeStream(newNIP)); n != 1 {
		t.Errorf("a double submit recorded %d events, want 1", n)
	}
	h.catchUp()
	r := h.must200(hrAdmin, want)
	for _, s := range []string{"Ratna Sari", `id="notice"`, "PNS", "1988-07-08", "Epidemiolog Kesehatan Ahli Muda"} {
		if !strings.Contains(r.body, s) {
			t.Errorf("the new employee's page lacks %q", s)
		}
	}
	// The same NIP again, on a new form: refused as registered.
	dup := with("_key", formKey(t, h.must200(hrAdmin, path).body))
	dup.Set("nip", newNIP)
	if r := h.post(&hrAdmin, path, dup); r.status != http.StatusConflict {
		t.Errorf("registering %s twice = %d, want 409", newNIP, r.status)
	}
}

// The reporting-line form: the domain's rules beside the fields, a stale
// form caught and re-applied, a double submit recorded once; the position
// form moves an employee to another unit.
func TestEmployeeLineAndPositionForms(t *testing.T) {
	h := seeded(t)
	linePath := "/data-induk/pegawai/" + nipP + "/atasan"
	form := h.must200(hrAdmin, linePath)
	if !strings.Contains(form.body, `value="`+nipA+`"`) || !strings.Contains(form.body, `<datalist id="people">`) {
		t.Error("the line form is not filled with the line in effect, or offers nobody")
	}
	key, rev := formKey(t, form.body), revisionOf(t, form.body)
	stream := domain.EmployeeStream(nipP)
	before := h.streamLen(stream)
	base := url.Values{"_key": {key}, "_revision": {rev}, "appraiser_nip": {nipS}, "appraiser_superior_nip": {nipT},
		"effective_from": {"2027-02-02"}, "capacity": {"DEFINITIF"}, "paper_ref": {"SK 800/120/2026"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for name, c := range map[string]struct {
		values url.Values
		field  string
	}{
		"self-appraisal":        {with("appraiser_nip", nipP), "appraiser_nip"},
		"appraiser = superior":  {with("appraiser_superior_nip", nipS), "appraiser_superior_nip"},
		"unknown appraiser":     {with("appraiser_nip", "198001012005011099"), "appraiser_nip"},
		"malformed superior":    {with("appraiser_superior_nip", "12345"), "appraiser_superior_nip"},
		"not a date":            {with("effective_from", "2026-02-30"), "effective_from"},
		"no date":               {with("effective_from", ""), "effective_from"},
		"unknown capacity":      {with("capacity", "RAJA"), "capacity"},
		"Plt without reference": {with("capacity", "PLT"), "delegation_ref"},
	} {
		r := h.post(&hrAdmin, linePath, c.values)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 with a problem beside %s\n%s", name, r.status, c.field, r.body)
		}
	}
	if h.streamLen(stream) != before {
		t.Fatal("a refused line form recorded something")
	}
	// A cycle: A's line naming P (whom A appraises) as appraiser.
	aForm := h.must200(hrAdmin, "/data-induk/pegawai/"+nipA+"/atasan")
	cyc := url.Values{"_key": {formKey(t, aForm.body)}, "_revision": {revisionOf(t, aForm.body)}, "appraiser_nip": {nipP},
		"appraiser_superior_nip": {nipT}, "effective_from": {"2027-02-02"}, "capacity": {"PLT"}, "delegation_ref": {"SP-1"}, "paper_ref": {"SK 800/121/2026"}}
	aBefore := h.streamLen(domain.EmployeeStream(nipA))
	if r := h.post(&hrAdmin, "/data-induk/pegawai/"+nipA+"/atasan", cyc); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `aria-invalid="true"`) || h.streamLen(domain.EmployeeStream(nipA)) != aBefore {
		t.Errorf("a cycle = %d\n%s", r.status, r.body)
	}

	// Stale: a second HR form changes P's line first; the first form is
	// refused with the line as it is now, the input kept; sent again, it
	// applies.
	other := h.must200(hrAdmin, linePath)
	ov := url.Values{"_key": {formKey(t, other.body)}, "_revision": {revisionOf(t, other.body)}, "appraiser_nip": {nipS},
		"appraiser_superior_nip": {nipT}, "effective_from": {"2027-01-03"}, "capacity": {"DEFINITIF"}, "paper_ref": {"SK 800/110/2026"}}
	if r := h.post(&hrAdmin, linePath, ov); r.status != http.StatusSeeOther {
		t.Fatalf("the other form = %d\n%s", r.status, r.body)
	}
	h.catchUp()
	stale := h.post(&hrAdmin, linePath, base)
	if stale.status != http.StatusPreconditionFailed || !strings.Contains(stale.body, `id="stale"`) ||
		!strings.Contains(stale.body, `id="cur-appraiser">Ir. Agus Wibowo`) || !strings.Contains(stale.body, `value="2027-02-02"`) {
		t.Fatalf("the stale form = %d, want 412 with the line now and the input kept\n%s", stale.status, stale.body)
	}
	if revisionOf(t, stale.body) == rev {
		t.Error("the stale form came back with the old revision: sending it again would be refused again")
	}
	again := url.Values{}
	for k, vs := range base {
		again[k] = vs
	}
	again.Set("_key", formKey(t, stale.body))
	again.Set("_revision", revisionOf(t, stale.body))
	again.Set("reason", "SK Kepala Dinas 800/112/2026")
	first := h.post(&hrAdmin, linePath, again)
	if first.status != http.StatusSeeOther || first.header.Get("Location") != "/data-induk/pegawai/"+nipP+"?diubah=1" {
		t.Fatalf("re-applied = %d to %q\n%s", first.status, first.header.Get("Location"), first.body)
	}
	if second := h.post(&hrAdmin, linePath, again); second.status != http.StatusSeeOther {
		t.Errorf("double submit = %d, want the same redirect", second.status)
	}
	if n := h.streamLen(stream); n != before+2 {
		t.Errorf("P's stream grew by %d, want 2 (the other form's line and this one)", n-before)
	}
	var last eventstore.Event
	for ev, err := range h.store.ReadStream(h.ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		last = ev
	}
	if last.Reason != "SK Kepala Dinas 800/112/2026" {
		t.Errorf("the line's reason = %q, want the one typed", last.Reason)
	}
	h.catchUp()
	r := h.must200(hrAdmin, "/data-induk/pegawai/"+nipP+"?diubah=1")
	if !strings.Contains(r.body, "2027-02-02") || !strings.Contains(r.body, "2027-01-03") || !strings.Contains(r.body, `id="notice"`) {
		t.Errorf("P's lines do not show both new lines\n%s", r.body)
	}

	// Position: X moves from BAPPEDA to DINKES as a JF.
	posPath := "/data-induk/pegawai/" + nipX + "/jabatan"
	pf := h.must200(hrAdmin, posPath)
	if !strings.Contains(pf.body, `name="unit_id" value="BAPPEDA"`) {
		t.Error("the position form is not filled with the unit in effect")
	}
	pv := url.Values{"_key": {formKey(t, pf.body)}, "_revision": {revisionOf(t, pf.body)}, "unit_id": {"DINKES"},
		"position.kind": {"JF"}, "position.title": {"Statistisi Ahli Pertama"}, "effective_from": {"2027-02-02"}, "decree_ref": {"SK-BKPSDM/821/2026"}, "paper_ref": {"SK-BKPSDM/821/2026"}}
	bad := url.Values{}
	for k, vs := range pv {
		bad[k] = vs
	}
	bad.Set("unit_id", "NOPE")
	if r := h.post(&hrAdmin, posPath, bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="unit_id-error"`) {
		t.Errorf("a move to an unknown unit = %d", r.status)
	}
	if r := h.post(&hrAdmin, posPath, pv); r.status != http.StatusSeeOther {
		t.Fatalf("the move = %d\n%s", r.status, r.body)
	}
	h.catchUp()
	if r := h.must200(hrAdmin, "/data-induk/pegawai/"+nipX); !strings.Contains(r.body, "Statistisi Ahli Pertama") || !strings.Contains(r.body, "(DINKES)") {
		t.Errorf("X's record after the move\n%s", r.body)
	}
	if r := h.must200(hrAdmin, "/data-induk/pegawai?unit=DINKES"); !strings.Contains(r.body, `data-nip="`+nipX+`"`) {
		t.Error("X is not listed in DINKES after the move")
	}
}

// The organisation predikat of a unit: set by who may, a change only with
// its reason, every value kept in the history; others see it, unoffered.
func TestUnitPredikatForm(t *testing.T) {
	h := seeded(t)
	const path = "/data-induk/unit/BAPPEDA"
	if r := h.must200(analyst, path); strings.Contains(r.body, `id="perf-submit"`) {
		t.Error("HR_ANALYST is offered the predikat form")
	}
	form := h.must200(hrAdmin, path)
	if !strings.Contains(form.body, `id="perf-submit"`) {
		t.Fatal("HR_ADMIN is not offered the predikat form")
	}
	v := url.Values{"_key": {formKey(t, form.body)}, "_revision": {revisionOf(t, form.body)}, "period": {"2026"}, "predikat": {"BAIK"}, "paper_ref": {"BA-PREDIKAT-2026"}}
	// HR_ADMIN enters it only from paper: without paper_ref it is refused
	// (403), and nothing is recorded.
	noPaper := url.Values{"_key": v["_key"], "_revision": v["_revision"], "period": {"2026"}, "predikat": {"BAIK"}, "basis_ref": {"800/1"}}
	if r := h.post(&hrAdmin, path+"/predikat", noPaper); r.status != http.StatusForbidden {
		t.Errorf("HR_ADMIN's form without paper_ref = %d, want 403", r.status)
	}
	if r := h.post(&analyst, path+"/predikat", v); r.status != http.StatusForbidden {
		t.Errorf("the form posted by HR_ANALYST = %d, want 403", r.status)
	}
	for name, c := range map[string]struct{ period, predikat, field string }{
		"unknown predikat": {"2026", "LUAR_BIASA", "predikat"},
		"bad period":       {"2026-Q7", "BAIK", "period"},
	} {
		bad := url.Values{"_key": v["_key"], "_revision": v["_revision"], "period": {c.period}, "predikat": {c.predikat}}
		if r := h.post(&hrAdmin, path+"/predikat", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("%s = %d, want 422 beside %s\n%s", name, r.status, c.field, r.body)
		}
	}
	if n := h.streamLen(domain.UnitStream("BAPPEDA")); n != 1 {
		t.Fatalf("refused forms recorded: %d events", n)
	}
	if r := h.post(&hrAdmin, path+"/predikat", v); r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?diubah=1" {
		t.Fatalf("set = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	h.post(&hrAdmin, path+"/predikat", v) // a double submit
	h.catchUp()
	next := h.must200(hrAdmin, path)
	if !strings.Contains(next.body, `id="perf-2026">Baik`) {
		t.Errorf("the unit page does not show BAIK for 2026\n%s", next.body)
	}
	change := url.Values{"_key": {formKey(t, next.body)}, "_revision": {revisionOf(t, next.body)}, "period": {"2026"}, "predikat": {"KURANG"}, "paper_ref": {"BA-2"}}
	if r := h.post(&hrAdmin, path+"/predikat", change); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="reason-error"`) {
		t.Errorf("a change without a reason = %d\n%s", r.status, r.body)
	}
	// A stale form: one rendered before the first predikat (a fresh key,
	// the revision of then).
	if r := h.post(&hrAdmin, path+"/predikat", url.Values{"_key": {formKey(t, h.must200(hrAdmin, "/data-induk/unit/baru").body)}, "_revision": v["_revision"],
		"period": {"2026-Q1"}, "predikat": {"BAIK"}, "paper_ref": {"BA-3"}}); r.status != http.StatusPreconditionFailed || !strings.Contains(r.body, `id="stale"`) {
		t.Errorf("a stale form = %d", r.status)
	}
	change.Set("reason", "Hasil evaluasi SAKIP direvisi")
	if r := h.post(&hrAdmin, path+"/predikat", change); r.status != http.StatusSeeOther {
		t.Fatalf("a change with its reason = %d\n%s", r.status, r.body)
	}
	h.catchUp()
	if r := h.must200(analyst, path); !strings.Contains(r.body, `id="perf-2026">Kurang`) || !strings.Contains(r.body, "Hasil evaluasi SAKIP direvisi") {
		t.Errorf("the history does not show the change and its reason\n%s", r.body)
	}
	if n := h.streamLen(domain.UnitStream("BAPPEDA")); n != 3 {
		t.Errorf("BAPPEDA's stream holds %d events, want 3 (registered, set once, changed)", n)
	}
	if r := h.get(&hrAdmin, "/data-induk/unit/NOPE"); r.status != http.StatusNotFound {
		t.Errorf("an unknown unit = %d", r.status)
	}
}

// The head of a unit: one of its employees from a date, assigned by HR.
func TestUnitHeadForm(t *testing.T) {
	h := seeded(t)
	const path = "/data-induk/unit/DINKES"
	if r := h.must200(auditor, path); strings.Contains(r.body, `id="head-submit"`) {
		t.Error("an auditor is offered the head form")
	}
	form := h.must200(hrAdmin, path)
	if !strings.Contains(form.body, `<option value="`+nipA+`">dr. Siti Rahmawati`) {
		t.Fatalf("the head form does not offer DINKES's employees\n%s", form.body)
	}
	m := regexp.MustCompile(`action="/data-induk/unit/DINKES/kepala"[^>]*>\s*<input type="hidden" name="_key" value="([^"]+)"`).FindStringSubmatch(form.body)
	if m == nil {
		t.Fatal("no head form")
	}
	v := url.Values{"_key": {m[1]}, "_revision": {revisionOf(t, form.body)}, "head_nip": {nipA}, "effective_from": {"2027-02-02"},
		"head_paper_ref": {"SK 821.2/1/2026"}}
	if r := h.post(&auditor, path+"/kepala", v); r.status != http.StatusForbidden {
		t.Errorf("the head form posted by an auditor = %d, want 403", r.status)
	}
	bad := url.Values{"_key": v["_key"], "_revision": v["_revision"], "head_nip": {"198001012005011099"}, "effective_from": {"2027-02-02"},
		"head_paper_ref": v["head_paper_ref"]}
	if r := h.post(&hrAdmin, path+"/kepala", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="head_nip-error"`) ||
		!strings.Contains(r.body, "Pegawai 198001012005011099 belum terdaftar") {
		t.Errorf("an unknown head = %d\n%s", r.status, r.body)
	}
	before := h.streamLen(domain.UnitStream("DINKES"))
	if r := h.post(&hrAdmin, path+"/kepala", v); r.status != http.StatusSeeOther {
		t.Fatalf("assign = %d\n%s", r.status, r.body)
	}
	h.post(&hrAdmin, path+"/kepala", v)
	if n := h.streamLen(domain.UnitStream("DINKES")); n != before+1 {
		t.Errorf("a double submit recorded %d events", n-before)
	}
	h.catchUp()
	if r := h.must200(hrAdmin, path); !strings.Contains(r.body, `<dd>dr. Siti Rahmawati <span class="nip">`+nipA) {
		t.Errorf("the unit page does not show its head\n%s", r.body)
	}
}

// Correcting a unit's name: HR only; an empty name beside the field; the
// new name everywhere the unit is shown; once, sent twice.
func TestUnitRenameForm(t *testing.T) {
	h := seeded(t)
	const path = "/data-induk/unit/PKM-SUKAMAJU"
	form := h.must200(hrAdmin, path)
	m := regexp.MustCompile(`action="/data-induk/unit/PKM-SUKAMAJU/nama"[^>]*>\s*<input type="hidden" name="_key" value="([^"]+)"`).FindStringSubmatch(form.body)
	if m == nil {
		t.Fatal("no rename form")
	}
	v := url.Values{"_key": {m[1]}, "_revision": {revisionOf(t, form.body)}, "name": {"UPT Puskesmas Sukamaju"}}
	if r := h.post(&analyst, path+"/nama", v); r.status != http.StatusForbidden {
		t.Errorf("renamed by HR_ANALYST = %d, want 403", r.status)
	}
	for name, bad := range map[string]string{"empty": " ", "control char": "UPT\x1bPuskesmas"} {
		b := url.Values{"_key": v["_key"], "_revision": v["_revision"], "name": {bad}}
		if r := h.post(&hrAdmin, path+"/nama", b); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="name-error"`) {
			t.Errorf("%s name = %d\n%s", name, r.status, r.body)
		}
	}
	before := h.streamLen(domain.UnitStream("PKM-SUKAMAJU"))
	if r := h.post(&hrAdmin, path+"/nama", v); r.status != http.StatusSeeOther {
		t.Fatalf("rename = %d\n%s", r.status, r.body)
	}
	h.post(&hrAdmin, path+"/nama", v)
	if n := h.streamLen(domain.UnitStream("PKM-SUKAMAJU")); n != before+1 {
		t.Errorf("a double submit recorded %d events", n-before)
	}
	h.catchUp()
	if r := h.must200(hrAdmin, "/data-induk/unit"); !strings.Contains(r.body, "UPT Puskesmas Sukamaju") || strings.Contains(r.body, ">Puskesmas Sukamaju<") {
		t.Error("the unit list does not show the corrected name")
	}
	if r := h.must200(analyst, "/unit/PKM-SUKAMAJU?year=2026"); !strings.Contains(r.body, "UPT Puskesmas Sukamaju") {
		t.Error("the unit dashboard does not show the corrected name")
	}
}

// Issue 9 §3 in the forms (the seeded agency's today is 2027-03-03): master
// data effective before today is HR's
// backfill from the decree. Without the decree's number the form comes back
// with the Indonesian problem beside the paper_ref field and records
// nothing; with it, the line is recorded and shown with the backfill badge;
// a number on a date that is not before today, or one with a control
// character, is refused beside the field too. The head form has its own
// field (head_paper_ref) beside the predikat form's.
func TestMasterDataBackfillForms(t *testing.T) {
	h := seeded(t)
	linePath := "/data-induk/pegawai/" + nipP + "/atasan"
	stream := domain.EmployeeStream(nipP)
	before := h.streamLen(stream)
	post := func(path string, kv ...string) response {
		t.Helper()
		f := h.must200(hrAdmin, path)
		if !strings.Contains(f.body, `name="paper_ref"`) {
			t.Fatalf("the form at %s has no paper_ref field", path)
		}
		v := url.Values{"_key": {formKey(t, f.body)}, "_revision": {revisionOf(t, f.body)}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return h.post(&hrAdmin, path, v)
	}
	line := []string{"appraiser_nip", nipS, "appraiser_superior_nip", nipT, "capacity", "DEFINITIF"}
	for name, c := range map[string]struct {
		kv   []string
		want string // the Indonesian text beside paper_ref
	}{
		"backdated without the decree": {append(line, "effective_from", "2027-02-21"), "Wajib diisi: tanggal berlaku 2027-02-21 sebelum hari ini"},
		"a decree on a future date":    {append(line, "effective_from", "2027-03-08", "paper_ref", "SK 1"), "Hanya untuk entri susulan"},
		"a decree with a control char": {append(line, "effective_from", "2027-02-21", "paper_ref", "SK\x01 1"), "karakter kendali"},
	} {
		r := post(linePath, c.kv...)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="paper_ref-error"`) || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: = %d, want 422 with %q beside paper_ref\n%s", name, r.status, c.want, r.body)
		}
	}
	if r := post(linePath, append(line, "effective_from", "2026-08-03", "paper_ref", "SK 1")...); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `id="effective_from-error"`) || !strings.Contains(r.body, "Entri susulan paling jauh 90 hari") {
		t.Errorf("a backfill beyond the max age = %d\n%s", r.status, r.body)
	}
	if h.streamLen(stream) != before {
		t.Fatal("a refused form recorded something")
	}
	if r := post(linePath, append(line, "effective_from", "2027-02-21", "paper_ref", "SK 800/77/2026")...); r.status != http.StatusSeeOther {
		t.Fatalf("the backfill = %d\n%s", r.status, r.body)
	}
	h.catchUp()
	if r := h.must200(hrAdmin, "/data-induk/pegawai/"+nipP); !strings.Contains(r.body, `<span class="badge warn backfill">Entri susulan (backfill) · ref SK 800/77/2026</span>`) {
		t.Errorf("the employee page does not badge the backfilled line\n%s", r.body)
	}
	// The position form.
	if r := post("/data-induk/pegawai/"+nipX+"/jabatan", "unit_id", "DINKES", "position.kind", "JF", "position.title", "Statistisi",
		"effective_from", "2027-02-16"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="paper_ref-error"`) {
		t.Errorf("a backdated move without the decree = %d\n%s", r.status, r.body)
	}
	// The head form: its own field, beside which the problem shows.
	unitPath := "/data-induk/unit/DINKES"
	f := h.must200(hrAdmin, unitPath)
	m := regexp.MustCompile(`action="/data-induk/unit/DINKES/kepala"[^>]*>\s*<input type="hidden" name="_key" value="([^"]+)"`).FindStringSubmatch(f.body)
	if m == nil || !strings.Contains(f.body, `name="head_paper_ref"`) {
		t.Fatal("no head form with a head_paper_ref field")
	}
	hv := url.Values{"_key": {m[1]}, "_revision": {revisionOf(t, f.body)}, "head_nip": {nipA}, "effective_from": {"2027-02-21"}}
	if r := h.post(&hrAdmin, unitPath+"/kepala", hv); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="head_paper_ref-error"`) ||
		strings.Contains(r.body, `id="paper_ref-error"`) {
		t.Errorf("a backdated head without the decree = %d\n%s", r.status, r.body)
	}
	hv.Set("head_paper_ref", "SK 821.2/9/2026")
	if r := h.post(&hrAdmin, unitPath+"/kepala", hv); r.status != http.StatusSeeOther {
		t.Fatalf("the head's backfill = %d\n%s", r.status, r.body)
	}
	h.catchUp()
	if r := h.must200(hrAdmin, unitPath); !strings.Contains(r.body, `<span class="badge warn backfill">Entri susulan (backfill) · ref SK 821.2/9/2026</span>`) {
		t.Errorf("the unit page does not badge the backfilled head\n%s", r.body)
	}
}

// A unit's time zone: HR only; a zone that is not WIB, WITA or WIT (or a
// control character) comes back beside the field and records nothing; the
// zone chosen is the one the form shows next; once, sent twice.
func TestUnitZoneForm(t *testing.T) {
	h := seeded(t)
	const path = "/data-induk/unit/PKM-SUKAMAJU"
	form := h.must200(hrAdmin, path)
	m := regexp.MustCompile(`action="/data-induk/unit/PKM-SUKAMAJU/zona"[^>]*>\s*<input type="hidden" name="_key" value="([^"]+)"`).FindStringSubmatch(form.body)
	if m == nil {
		t.Fatal("no zone form")
	}
	if r := h.must200(analyst, path); strings.Contains(r.body, `/zona"`) {
		t.Error("the zone form is offered to HR_ANALYST")
	}
	v := url.Values{"_key": {m[1]}, "_revision": {revisionOf(t, form.body)}, "zone": {"WIT"}}
	if r := h.post(&analyst, path+"/zona", v); r.status != http.StatusForbidden {
		t.Errorf("zone set by HR_ANALYST = %d, want 403", r.status)
	}
	before := h.streamLen(domain.UnitStream("PKM-SUKAMAJU"))
	for name, bad := range map[string]string{"empty": "", "not Indonesian": "CET", "an IANA name": "Asia/Jayapura", "control char": "WI\x1bT"} {
		b := url.Values{"_key": v["_key"], "_revision": v["_revision"], "zone": {bad}}
		if r := h.post(&hrAdmin, path+"/zona", b); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="zone-error"`) {
			t.Errorf("%s zone = %d\n%s", name, r.status, r.body)
		}
	}
	if n := h.streamLen(domain.UnitStream("PKM-SUKAMAJU")); n != before {
		t.Fatalf("refused forms recorded %d events", n-before)
	}
	if r := h.post(&hrAdmin, path+"/zona", v); r.status != http.StatusSeeOther {
		t.Fatalf("set zone = %d\n%s", r.status, r.body)
	}
	h.post(&hrAdmin, path+"/zona", v)
	if n := h.streamLen(domain.UnitStream("PKM-SUKAMAJU")); n != before+1 {
		t.Errorf("a double submit recorded %d events", n-before)
	}
	h.catchUp()
	if r := h.must200(hrAdmin, path); !strings.Contains(r.body, `<option value="WIT" selected>`) {
		t.Errorf("the form does not show the zone set\n%s", r.body)
	}
}

// The master data's unit list is paged (a province's thousands of units
// made a page of 647 KB at 2,097 units): 250 rows a page in the tree's
// order, every unit on exactly one page, the next and previous links
// between them.
func TestUnitsListPaged(t *testing.T) {
	h := seeded(t)
	for i := range 260 {
		if _, err := h.units.Register(h.ctx, req(hrAdmin), orgunit.Register{ID: fmt.Sprintf("SEKSI-%03d", i), Name: fmt.Sprintf("Seksi %03d", i), ParentID: "BAPPEDA"}); err != nil {
			t.Fatal(err)
		}
	}
	h.catchUp()
	row := regexp.MustCompile(`<li class="depth-\d+"><a href="/data-induk/unit/([^"]+)">`)
	first := h.must200(hrAdmin, "/data-induk/unit")
	rows := row.FindAllStringSubmatch(first.body, -1)
	if len(rows) != 250 {
		t.Fatalf("the first page lists %d units, want 250", len(rows))
	}
	next := nextLink("units").FindStringSubmatch(first.body)
	if next == nil {
		t.Fatal("the first page has no next link")
	}
	second := h.must200(hrAdmin, href(next[1]))
	more := row.FindAllStringSubmatch(second.body, -1)
	if len(more) != 264-250 || !strings.Contains(second.body, `id="units-prev"`) || nextLink("units").MatchString(second.body) {
		t.Fatalf("the second page lists %d units (want 14), with a previous link %v and no next", len(more), strings.Contains(second.body, `id="units-prev"`))
	}
	seen := map[string]bool{}
	for _, m := range append(rows, more...) {
		if seen[m[1]] {
			t.Errorf("%s is listed twice", m[1])
		}
		seen[m[1]] = true
	}
	for _, id := range []string{"PEMKOT", "DINKES", "PKM-SUKAMAJU", "BAPPEDA", "SEKSI-000", "SEKSI-259"} {
		if !seen[id] {
			t.Errorf("%s is on no page", id)
		}
	}
	if r := h.get(&hrAdmin, "/data-induk/unit?units_at=forged"); r.status != http.StatusBadRequest {
		t.Errorf("a forged cursor = %d, want 400", r.status)
	}
}
