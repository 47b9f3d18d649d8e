package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/employee"
)

// Registering an official without a NIP (POST /v1/officials in the
// browser): HR only, problems beside the fields with the input kept,
// nothing recorded on a refusal, a double submit recorded once, a taken
// code refused.
func TestOfficialForm(t *testing.T) {
	h := seeded(t)
	const path = "/data-induk/pejabat/baru"
	for _, c := range []caller{empE, clerk, auditor} {
		if r := h.get(&c, path); r.status != http.StatusForbidden {
			t.Errorf("the form as %s = %d, want 403", c.sub, r.status)
		}
	}
	body := h.must200(hrAdmin, path).body
	if !strings.Contains(body, `value="MAYOR"`) || !strings.Contains(body, `value="DINKES"`) {
		t.Error("the form does not list the offices and the units")
	}
	stream := employee.OfficialStream("WALIKOTA-SUKAMAJU")
	for name, k := range map[string]struct {
		kv    []string
		field string
	}{
		"lower case code": {[]string{"id", "walikota", "kind", "MAYOR", "title", "Wali Kota Sukamaju"}, "id"},
		"control char":    {[]string{"id", "WALIKOTA-SUKAMAJU", "kind", "MAYOR", "title", "Wali\x07Kota"}, "title"},
		"huge title":      {[]string{"id", "WALIKOTA-SUKAMAJU", "kind", "MAYOR", "title", strings.Repeat("Wali Kota ", 5000)}, "title"},
		"unknown office":  {[]string{"id", "WALIKOTA-SUKAMAJU", "kind", "RAJA", "title", "Raja"}, "kind"},
		"code with a NUL": {[]string{"id", "WALIKOTA\x00", "kind", "MAYOR", "title", "Wali Kota"}, "id"},
		"code too long":   {[]string{"id", strings.Repeat("W", 65), "kind", "MAYOR", "title", "Wali Kota"}, "id"},
	} {
		r := h.post(&hrAdmin, path, formOf(t, body, k.kv...))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+k.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 beside %s\n%s", name, r.status, k.field, r.body)
		}
	}
	if h.streamLen(stream) != 0 {
		t.Fatal("a refused registration recorded something")
	}
	r := h.post(&hrAdmin, path, formOf(t, body, "id", "walikota", "kind", "MAYOR", "title", "Wali Kota"))
	if !strings.Contains(r.body, "Harus 1–64 karakter") || !strings.Contains(r.body, `value="Wali Kota"`) {
		t.Error("the code's problem is not in Indonesian, or the title typed is not kept")
	}
	if r := h.post(&hrAdmin, path+"?lang=en", formOf(t, body, "id", "walikota", "kind", "MAYOR", "title", "Wali Kota")); !strings.Contains(r.body, "must be 1-64 of A-Z") {
		t.Error("the code's problem is not in English with the switch")
	}
	good := formOf(t, body, "id", "WALIKOTA-SUKAMAJU", "kind", "MAYOR", "title", "Wali Kota Sukamaju", "unit_id", "PEMKOT")
	r = h.post(&hrAdmin, path, good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?dibuat=WALIKOTA-SUKAMAJU" {
		t.Fatalf("register = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := h.post(&hrAdmin, path, good); r.status != http.StatusSeeOther || h.streamLen(stream) != 1 {
		t.Errorf("a double submit = %d, stream holds %d events, want 1", r.status, h.streamLen(stream))
	}
	if r := h.must200(hrAdmin, path+"?dibuat=WALIKOTA-SUKAMAJU"); !strings.Contains(r.body, "official:WALIKOTA-SUKAMAJU") {
		t.Error("the registered official's identity is not shown")
	}
	// The same code from a new form: a conflict, said above the form.
	again := formOf(t, h.must200(hrAdmin, path).body, "id", "WALIKOTA-SUKAMAJU", "kind", "MAYOR", "title", "Wali Kota")
	if r := h.post(&hrAdmin, path, again); r.status != http.StatusConflict || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("a taken code = %d, want 409 with the problem", r.status)
	}
	// Not HR: refused by the server too.
	if r := h.post(&empE, path, formOf(t, body, "id", "MENKES", "kind", "MINISTER", "title", "Menteri Kesehatan")); r.status != http.StatusForbidden || h.streamLen(employee.OfficialStream("MENKES")) != 0 {
		t.Errorf("a registration by an employee = %d, want 403 and nothing recorded", r.status)
	}
}
