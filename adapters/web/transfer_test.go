package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// webHRA is agency A's (PEMKOT's) HR_ADMIN with the agency claim: once a
// second agency exists, a claimless agency role acts nowhere.
var webHRA = caller{"hr-a", []string{"HR_ADMIN"}}

func init() { webTokenAgency["hr-a"] = "PEMKOT" }

// The transfer-release form (surat lolos butuh): A's HR releases A's
// employee to B; the domain's problems stand beside the fields in
// Indonesian with the input kept and nothing recorded; a double submit
// records once; B's HR (and anyone) asking for the form of A's employee,
// or A's HR for B's, gets the answer of an unknown NIP; after B records
// the move, B's home list shows the person's earlier SKP (history follows
// the person).
func TestTransferReleaseForm(t *testing.T) {
	h := seeded(t)
	const nipB1 = "198801012015011011"
	if _, err := h.units.Register(h.ctx, req(webHRB), orgunit.Register{ID: "PEMPROV", Name: "Pemerintah Provinsi"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.units.Register(h.ctx, req(webHRB), orgunit.Register{ID: "DISDIK", Name: "Dinas Pendidikan", ParentID: "PEMPROV"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.emps.Register(h.ctx, req(webHRB), employee.Register{NIP: nipB1, Name: "Pegawai Provinsi", UnitID: "DISDIK",
		Position: employee.Position{Kind: "PELAKSANA", Title: "Pengadministrasi"}}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	path := "/data-induk/pegawai/" + nipE + "/lolos-butuh"
	stream := domain.EmployeeStream(nipE)

	// Offered on the employee page, to HR only.
	if r := h.must200(webHRA, "/data-induk/pegawai/"+nipE); !strings.Contains(r.body, `href="`+path+`"`) {
		t.Error("the employee page does not link the release form")
	}
	for _, c := range []caller{analyst, auditor, empE} {
		if r := h.get(&c, path); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
			t.Errorf("GET %s as %s = %d, want a refusal", path, c.sub, r.status)
		}
	}
	form := h.must200(webHRA, path)
	for _, s := range []string{"Lepas ke instansi lain", "Instansi tujuan", `name="expires_on" type="date" value="` + h.app.Today().AddDays(30).String() + `"`} {
		if !strings.Contains(form.body, s) {
			t.Errorf("the release form lacks %q", s)
		}
	}
	key := formKey(t, form.body)
	today := h.app.Today()
	good := url.Values{"_key": {key}, "_revision": {revisionOf(t, form.body)}, "to_agency": {"PEMPROV"},
		"expires_on": {today.AddDays(30).String()}, "decree_ref": {"800/12/BKPSDM"}}
	with := func(field, value string) url.Values {
		v := url.Values{}
		for k, vs := range good {
			v[k] = vs
		}
		v.Set(field, value)
		return v
	}
	before := h.streamLen(stream)
	for name, c := range map[string]struct {
		values url.Values
		field  string
		kept   string
	}{
		"unknown agency":    {with("to_agency", "NOSUCHROOT"), "to_agency", "NOSUCHROOT"},
		"a unit, no root":   {with("to_agency", "DISDIK"), "to_agency", "DISDIK"},
		"own agency":        {with("to_agency", "PEMKOT"), "to_agency", "PEMKOT"},
		"control character": {with("to_agency", "PEM\x01PROV"), "to_agency", "800/12/BKPSDM"},
		"no agency":         {with("to_agency", " "), "to_agency", "800/12/BKPSDM"},
		"expired":           {with("expires_on", today.AddDays(-1).String()), "expires_on", "PEMPROV"},
		"too far":           {with("expires_on", today.AddDays(400).String()), "expires_on", "PEMPROV"},
		"not a date":        {with("expires_on", "31-12-2027"), "expires_on", "PEMPROV"},
		"huge decree":       {with("decree_ref", strings.Repeat("x", 5000)), "decree_ref", "PEMPROV"},
		"decree control":    {with("decree_ref", "800\x00/12"), "decree_ref", "PEMPROV"},
	} {
		r := h.post(&webHRA, path, c.values)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: = %d, want 422\n%.600s", name, r.status, r.body)
			continue
		}
		if !strings.Contains(r.body, `id="`+c.field+`-error"`) || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("%s: no problem beside %s\n%s", name, c.field, r.body)
		}
		if !strings.Contains(r.body, `value="`+c.kept+`"`) {
			t.Errorf("%s: the input %q was not kept", name, c.kept)
		}
		if !strings.Contains(r.body, `lang="id"`) {
			t.Errorf("%s: the page is not in Indonesian", name)
		}
	}
	if n := h.streamLen(stream); n != before {
		t.Fatalf("refused forms recorded %d events", n-before)
	}

	// Another agency's employee answers as an unknown NIP, to B's HR on
	// A's employee and to A's HR on B's, for the page and the post.
	const nobody = "198001012005011091"
	for _, c := range []struct {
		who       caller
		nip, none string
	}{{webHRB, nipE, nobody}, {webHRA, nipB1, nobody}} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var ra, rx response
			if method == http.MethodGet {
				ra, rx = h.get(&c.who, "/data-induk/pegawai/"+c.nip+"/lolos-butuh"), h.get(&c.who, "/data-induk/pegawai/"+c.none+"/lolos-butuh")
			} else {
				v := with("_key", key)
				v.Set("to_agency", "PEMKOT")
				ra, rx = h.post(&c.who, "/data-induk/pegawai/"+c.nip+"/lolos-butuh", v), h.post(&c.who, "/data-induk/pegawai/"+c.none+"/lolos-butuh", v)
			}
			if ra.status != http.StatusNotFound || rx.status != ra.status || strings.ReplaceAll(ra.body, c.nip, c.none) != rx.body {
				t.Errorf("%s of %s's release form as %s = %d; an unknown NIP's %d", method, c.nip, c.who.sub, ra.status, rx.status)
			}
		}
	}
	if h.streamLen(stream) != before || h.streamLen(domain.EmployeeStream(nipB1)) != 1 {
		t.Fatal("a release form of another agency's employee recorded something")
	}

	// Recorded once, even when sent twice.
	first := h.post(&webHRA, path, good)
	want := "/data-induk/pegawai/" + nipE + "?dilepas=1"
	if first.status != http.StatusSeeOther || first.header.Get("Location") != want {
		t.Fatalf("submit = %d to %q, want 303 to %s\n%s", first.status, first.header.Get("Location"), want, first.body)
	}
	if again := h.post(&webHRA, path, good); again.status != http.StatusSeeOther || again.header.Get("Location") != want {
		t.Errorf("double submit = %d to %q", again.status, again.header.Get("Location"))
	}
	if n := h.streamLen(stream); n != before+1 {
		t.Fatalf("a double submit recorded %d events, want 1", n-before)
	}
	h.catchUp()
	if r := h.must200(webHRA, want); !strings.Contains(r.body, `id="notice"`) || !strings.Contains(r.body, "Pelepasan ke instansi lain dicatat") {
		t.Errorf("the employee page after the release lacks the notice\n%s", r.body)
	}

	// B records the move; the person's SKP drafted in A follows them into
	// B's home list, and stays in A's.
	if r := h.must200(webHRB, "/?year=2026"); strings.Contains(r.body, h.ag.skpE) {
		t.Error("B's home lists A's SKP of a person only released")
	}
	if _, err := h.emps.ChangePosition(h.ctx, req(webHRB), employee.ChangePosition{NIP: nipE, UnitID: "DISDIK",
		Position: employee.Position{Kind: "PELAKSANA", Title: "Pengadministrasi"}, EffectiveFrom: today}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	if r := h.must200(webHRB, "/?year=2026"); !strings.Contains(r.body, h.ag.skpE) {
		t.Error("B's home does not list the SKP of the person who moved in")
	}
	if r := h.must200(webHRA, "/?year=2026"); !strings.Contains(r.body, h.ag.skpE) {
		t.Error("A's home no longer lists the SKP A drafted")
	}
}
