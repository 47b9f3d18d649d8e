package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// The decision of an open objection handed to a Plt/Plh (by the decider in
// effect) or escalated (by a grievance clerk or HR, only when the only
// eligible decider is the original appraiser): offered only to them,
// problems beside the fields, nothing recorded on a refusal, a double
// submit recorded once, someone else's SKP refused with the 404 of one
// that does not exist.
func TestObjectionDeciderForm(t *testing.T) {
	h := seeded(t)
	stream := domain.SKPStream(h.ag.skpP)
	base := "/skp/" + h.ag.skpP + "/penilaian/2026/keberatan"
	form := base + "/pemutus"
	empP := caller{nipP, nil}
	if r := h.must200(supS, base); !strings.Contains(r.body, `id="decider-link"`) {
		t.Error("the objection page does not offer the superior to delegate the decision")
	}
	if r := h.must200(empP, base); strings.Contains(r.body, `id="decider-link"`) {
		t.Error("the objection page offers the employee to delegate the decision")
	}
	for _, c := range []struct {
		who  caller
		want int
	}{{empP, 403}, {apprA, 403}, {empX, 404}, {auditor, 403}} {
		if r := h.get(&c.who, form); r.status != c.want {
			t.Errorf("the decider form as %s = %d, want %d", c.who.sub, r.status, c.want)
		}
	}
	s := h.must200(supS, form)
	if !strings.Contains(s.body, `value="DELEGATION_PLT"`) || strings.Contains(s.body, `value="ESCALATION"`) {
		t.Error("the superior is not offered a delegation, or is offered an escalation")
	}
	c := h.must200(clerk, form)
	if !strings.Contains(c.body, `value="ESCALATION"`) || strings.Contains(c.body, `value="DELEGATION_PLT"`) {
		t.Error("the clerk is not offered an escalation, or is offered a delegation")
	}
	n := h.streamLen(stream)
	for name, k := range map[string]struct {
		kv    []string
		field string
	}{
		"no reference":           {[]string{"basis", "DELEGATION_PLT", "decider_nip", nipU, "ref", " "}, "ref"},
		"control char":           {[]string{"basis", "DELEGATION_PLT", "decider_nip", nipU, "ref", "ST\x1b01"}, "ref"},
		"huge reference":         {[]string{"basis", "DELEGATION_PLT", "decider_nip", nipU, "ref", strings.Repeat("r", skp.MaxLongTextLen+1)}, "ref"},
		"not a NIP":              {[]string{"basis", "DELEGATION_PLT", "decider_nip", "12", "ref", "ST-1"}, "decider_nip"},
		"the original appraiser": {[]string{"basis", "DELEGATION_PLH", "decider_nip", nipA, "ref", "ST-1"}, "decider_nip"},
		"an unknown basis":       {[]string{"basis", "KUDETA", "decider_nip", nipU, "ref", "ST-1"}, "basis"},
	} {
		r := h.post(&supS, form, formOf(t, s.body, k.kv...))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+k.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 beside %s\n%s", name, r.status, k.field, r.body)
		}
	}
	// An escalation while the superior can decide: refused as a state.
	if r := h.post(&clerk, form, formOf(t, c.body, "basis", "ESCALATION", "ref", "Atasan tidak menanggapi")); r.status != http.StatusConflict || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("an escalation with a decider available = %d, want 409 with the problem\n%s", r.status, r.body)
	}
	if h.streamLen(stream) != n {
		t.Fatal("a refused assignment recorded something")
	}
	good := formOf(t, s.body, "basis", "DELEGATION_PLT", "decider_nip", nipU, "ref", "ST-800/12/2026")
	wantNotFoundAlike(t, "delegating on someone else's SKP", h.post(&empX, form, good),
		h.post(&empX, "/skp/"+skp.ID(nipX, 2031, 9)+"/penilaian/2026/keberatan/pemutus", good))
	r := h.post(&supS, form, good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != base+"?selesai=pemutus" {
		t.Fatalf("delegate = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := h.post(&supS, form, good); r.status != http.StatusSeeOther || h.streamLen(stream) != n+1 {
		t.Errorf("a double submit = %d, %d events, want 1", r.status, h.streamLen(stream)-n)
	}
	h.catchUp()
	if r := h.must200(caller{nipU, nil}, base); !strings.Contains(r.body, `id="decide-link"`) {
		t.Error("the Plt is not offered the decision")
	}
}
