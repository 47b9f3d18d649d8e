package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
)

// The leader one level up justifies a unit's distribution that deviates
// from the pattern: only the leader is given the form, problems beside the
// fields with the input kept, nothing recorded on a refusal (a count that
// is not one, a distribution that follows the pattern, control
// characters, a justification over the limit), a double submit recorded
// once.
func TestJustificationForm(t *testing.T) {
	h := seeded(t)
	importedHead(t, h, "PEMKOT", nipS)
	const path = "/unit/DINKES/distribusi/2026/justifikasi"
	stream := domain.DistributionStream("DINKES", "2026")
	for _, c := range []struct {
		who  caller
		want int
	}{{empE, 403}, {apprA, 403}, {hrAdmin, 403}, {auditor, 403}} {
		if r := h.get(&c.who, path); r.status != c.want {
			t.Errorf("the form as %s = %d, want %d", c.who.sub, r.status, c.want)
		}
	}
	if r := h.get(&supS, "/unit/NOPE/distribusi/2026/justifikasi"); r.status != http.StatusNotFound {
		t.Errorf("an unknown unit = %d, want 404", r.status)
	}
	if r := h.get(&supS, "/unit/DINKES/distribusi/kemarin/justifikasi"); r.status != http.StatusBadRequest {
		t.Errorf("a bad period = %d, want 400", r.status)
	}
	body := h.must200(supS, path).body
	deviating := []string{"counts.SANGAT_BAIK", "1", "counts.BAIK", "3", "counts.BUTUH_PERBAIKAN", "0", "counts.KURANG_MISCONDUCT", "0", "counts.SANGAT_KURANG", "0"}
	with := func(kv ...string) []string { return append(append([]string{}, deviating...), kv...) }
	for name, k := range map[string]struct {
		kv    []string
		field string
	}{
		"not a count":       {append(with("justification", "Tim kecil"), "counts.BAIK", "tiga"), "counts.BAIK"},
		"no justification":  {with("justification", " "), "justification"},
		"control character": {with("justification", "Tim\x1b kecil"), "justification"},
		"huge":              {with("justification", strings.Repeat("alasan ", 2000)), "justification"},
		"negative":          {append(with("justification", "Tim kecil"), "counts.BAIK", "-3"), "counts"},
		"no deviation":      {[]string{"counts.BAIK", "2", "counts.BUTUH_PERBAIKAN", "1", "justification", "Tim kecil"}, "counts"},
	} {
		r := h.post(&supS, path, formOf(t, body, k.kv...))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+k.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 beside %s\n%s", name, r.status, k.field, r.body)
		}
	}
	if h.streamLen(stream) != 0 {
		t.Fatal("a refused justification recorded something")
	}
	good := formOf(t, body, with("justification", "Unit baru dengan empat pegawai; pola tidak dapat dipenuhi")...)
	if r := h.post(&empE, path, good); r.status != http.StatusForbidden {
		t.Errorf("a justification by an employee = %d, want 403", r.status)
	}
	r := h.post(&supS, path, good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?ok=1" {
		t.Fatalf("justify = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := h.post(&supS, path, good); r.status != http.StatusSeeOther || h.streamLen(stream) != 1 {
		t.Errorf("a double submit = %d, %d events, want 1", r.status, h.streamLen(stream))
	}
	if r := h.must200(supS, path+"?ok=1"); !strings.Contains(r.body, "pola tidak dapat dipenuhi") || !strings.Contains(r.body, `id="done"`) {
		t.Error("the recorded justification is not listed")
	}
}
