package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// wantNotFoundAlike checks that r is the 404 that an SKP that does not
// exist gives: the same status and the same page, so that a form posted
// to someone else's SKP does not tell that it exists.
func wantNotFoundAlike(t *testing.T, what string, r, none response) {
	t.Helper()
	if r.status != http.StatusNotFound || none.status != http.StatusNotFound || r.body != none.body {
		t.Errorf("%s = %d, an SKP that does not exist = %d; want the same 404 page\n%s\n---\n%s", what, r.status, none.status, r.body, none.body)
	}
}

// The forms of an SKP's life beyond its plan (issue 12): the appraiser or
// HR assigns a feedback giver from beyond the unit and revokes one; the
// employee signs an amended plan; the appraiser or HR cancels an SKP; HR
// closes one for a position change. Each: offered only to who may use it,
// problems beside the field with the input kept, nothing recorded on a
// refusal, a double submit recorded once, someone else's SKP refused with
// the 404 of an SKP that does not exist, a stale form refused (412).
func TestSKPLifecycleForms(t *testing.T) {
	h := planned(t)
	ag := h.ag
	appr := caller{nipA, nil}
	empP := caller{nipP, nil}
	streamE := "skp-" + ag.skpE

	// --- Feedback givers ---
	givers := "/skp/" + ag.skpE + "/rencana/pemberi-umpan-balik"
	if r := h.must200(appr, "/skp/"+ag.skpE+"/rencana"); !strings.Contains(r.body, `id="plan-givers"`) {
		t.Error("the plan page does not offer the appraiser the feedback givers")
	}
	if r := h.must200(empE, "/skp/"+ag.skpE+"/rencana"); strings.Contains(r.body, `id="plan-givers"`) || strings.Contains(r.body, `id="plan-cancel"`) {
		t.Error("the plan page offers the employee to assign givers or cancel")
	}
	for _, c := range []caller{empE, empP} {
		if r := h.get(&c, givers); r.status != http.StatusNotFound {
			t.Errorf("the givers form as %s = %d, want 404", c.sub, r.status)
		}
	}
	n := h.streamLen(streamE)
	v := h.fill(appr, givers, "giver_nip", nipX, "kind", "TEAM_LEAD", "assignment_ref", "ST-01/2026\x07")
	wantProblem(t, "a control character", h.post(&appr, givers, v), http.StatusUnprocessableEntity, "assignment_ref")
	v.Set("assignment_ref", strings.Repeat("surat ", 2000))
	r := h.post(&appr, givers, v)
	wantProblem(t, "a huge reference", r, http.StatusUnprocessableEntity, "assignment_ref")
	if !strings.Contains(r.body, "surat surat") {
		t.Error("the reference typed is not kept")
	}
	v.Set("assignment_ref", "ST-01/2026")
	v.Set("giver_nip", "12345")
	wantProblem(t, "a NIP that is not one", h.post(&appr, givers, v), http.StatusUnprocessableEntity, "giver_nip")
	v.Set("giver_nip", nipX)
	v.Set("kind", "KETUA_RT")
	r = h.post(&appr, givers, v)
	wantProblem(t, "an unknown kind", r, http.StatusUnprocessableEntity, "kind")
	if !strings.Contains(r.body, "Pilih ketua tim atau pemberi pertimbangan.") {
		t.Error("the unknown kind's problem is not in Indonesian")
	}
	// With the English switch, in English.
	r = h.post(&appr, givers+"?lang=en", v)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be TEAM_LEAD or PEMBERI_PERTIMBANGAN") || !strings.Contains(r.body, "Assign a feedback giver") {
		t.Errorf("the form in English = %d\n%s", r.status, r.body)
	}
	if h.streamLen(streamE) != n {
		t.Fatal("a refused assignment recorded something")
	}
	v.Set("kind", "TEAM_LEAD")
	if r := h.post(&appr, givers, v); r.status != http.StatusSeeOther {
		t.Fatalf("assign = %d\n%s", r.status, r.body)
	}
	if r := h.post(&appr, givers, v); r.status != http.StatusSeeOther || h.streamLen(streamE) != n+1 {
		t.Errorf("a double submit = %d, %d events recorded, want 1", r.status, h.streamLen(streamE)-n)
	}
	page := h.must200(appr, givers)
	if !strings.Contains(page.body, `data-nip="`+nipX+`"`) || !strings.Contains(page.body, "Ketua tim") {
		t.Error("the assigned giver is not listed")
	}
	// A form rendered before the assignment is stale.
	old := v.Get("_revision")
	stale := h.fill(appr, givers, "giver_nip", nipU, "kind", "PEMBERI_PERTIMBANGAN")
	stale.Set("_revision", old)
	if r := h.post(&appr, givers, stale); r.status != http.StatusPreconditionFailed || !strings.Contains(r.body, `id="stale"`) {
		t.Errorf("a stale assignment = %d, want 412 with what changed", r.status)
	}
	// Revoke (the row's button).
	rv := h.fill(appr, givers, "giver_nip", nipX, "revoke", "true")
	if r := h.post(&appr, givers, rv); r.status != http.StatusSeeOther || strings.Contains(h.must200(appr, givers).body, `data-nip="`+nipX+`"`) {
		t.Errorf("revoke = %d, or the giver is still listed", r.status)
	}
	// Someone else's SKP: the 404 of an SKP that does not exist.
	v = h.fill(appr, givers, "giver_nip", nipX, "kind", "TEAM_LEAD")
	wantNotFoundAlike(t, "assigning a giver on someone else's SKP",
		h.post(&empP, givers, v), h.post(&empP, "/skp/"+skp.ID(nipX, 2031, 9)+"/rencana/pemberi-umpan-balik", v))

	// --- The employee signs an amended plan ---
	if _, err := h.skps.Amend(h.ctx, reason(appr, "Tambah target"), skp.Amend{SKPID: ag.skpE, Reason: "Tambah target"}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	plan := "/skp/" + ag.skpE + "/rencana"
	if r := h.must200(appr, plan); strings.Contains(r.body, `id="plan-acknowledge"`) {
		t.Error("the appraiser is offered the employee's signature")
	}
	body := h.must200(empE, plan).body
	if !strings.Contains(body, `id="plan-acknowledge"`) {
		t.Fatal("the employee is not offered to sign the amended plan")
	}
	n = h.streamLen(streamE)
	ack := h.fill(empE, plan, "_key", "")
	ack.Set("_key", formKeyOf(t, body, "/rencana/tanda-tangan"))
	r = h.post(&empE, plan+"/tanda-tangan", ack)
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "ok=acknowledged") {
		t.Fatalf("sign = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := h.post(&empE, plan+"/tanda-tangan", ack); r.status != http.StatusSeeOther || h.streamLen(streamE) != n+1 {
		t.Errorf("a double signature = %d, %d events, want 1", r.status, h.streamLen(streamE)-n)
	}
	wantNotFoundAlike(t, "signing someone else's plan",
		h.post(&empP, plan+"/tanda-tangan", ack), h.post(&empP, "/skp/"+skp.ID(nipX, 2031, 9)+"/rencana/tanda-tangan", ack))

	// --- Cancel X's draft SKP (the appraiser) ---
	skpX, _, err := h.skps.Draft(h.ctx, req(empX), skp.Draft{NIP: nipX, Year: 2026, Approach: "KUANTITATIF"})
	if err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	streamP := "skp-" + skpX
	cancel := "/skp/" + skpX + "/rencana/batalkan"
	if r := h.get(&empE, cancel); r.status != http.StatusNotFound {
		t.Errorf("the cancel form as a colleague = %d, want 404", r.status)
	}
	if r := h.get(&empX, cancel); r.status != http.StatusNotFound {
		t.Errorf("the cancel form as the employee = %d, want 404", r.status)
	}
	n = h.streamLen(streamP)
	cv := h.fill(appr, cancel, "reason", "")
	wantProblem(t, "no reason", h.post(&appr, cancel, cv), http.StatusUnprocessableEntity, "reason")
	cv.Set("reason", "Salah\x00 jabatan")
	wantProblem(t, "a NUL in the reason", h.post(&appr, cancel, cv), http.StatusUnprocessableEntity, "reason")
	cv.Set("reason", "Salah tahun")
	wantNotFoundAlike(t, "cancelling someone else's SKP", h.post(&empE, cancel, cv), h.post(&empE, "/skp/"+skp.ID(nipX, 2031, 9)+"/rencana/batalkan", cv))
	if h.streamLen(streamP) != n {
		t.Fatal("a refused cancellation recorded something")
	}
	// A form rendered before someone else's change is stale: shown again
	// with what changed, and not applied.
	staleCancel := h.fill(appr, cancel, "reason", "Salah tahun")
	if _, _, err := h.skps.AddRHK(h.ctx, req(empX), skp.AddRHK{SKPID: skpX, RHKFields: skp.RHKFields{Text: "Tersusunnya rencana", Kind: "UTAMA"}}); err != nil {
		t.Fatal(err)
	}
	n++
	if r := h.post(&appr, cancel, staleCancel); r.status != http.StatusPreconditionFailed || !strings.Contains(r.body, `id="stale"`) || h.streamLen(streamP) != n {
		t.Errorf("a stale cancellation = %d, want 412 with what changed and nothing recorded", r.status)
	}
	cv = h.fill(appr, cancel, "reason", "Salah tahun")
	if r := h.post(&appr, cancel, cv); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "ok=cancelled") {
		t.Fatalf("cancel = %d\n%s", r.status, r.body)
	}
	if r := h.post(&appr, cancel, cv); r.status != http.StatusSeeOther || h.streamLen(streamP) != n+1 {
		t.Errorf("a double cancel = %d, %d events, want 1", r.status, h.streamLen(streamP)-n)
	}
	if r := h.get(&appr, cancel); r.status != http.StatusNotFound {
		t.Errorf("the cancel form of a cancelled SKP = %d, want 404", r.status)
	}
	if r := h.must200(appr, "/skp/"+skpX+"/rencana"); !strings.Contains(r.body, `data-status="CANCELLED"`) || strings.Contains(r.body, `id="plan-cancel"`) {
		t.Error("the plan page of a cancelled SKP does not say so, or still offers to cancel")
	}

	// --- Close Q's SKP for a position change (HR) ---
	streamQ := "skp-" + ag.skpQ
	closeP := "/skp/" + ag.skpQ + "/rencana/tutup"
	if r := h.get(&appr, closeP); r.status != http.StatusNotFound {
		t.Errorf("the close form as the appraiser = %d, want 404 (HR closes)", r.status)
	}
	if r := h.must200(hrAdmin, "/skp/"+ag.skpQ+"/rencana"); !strings.Contains(r.body, `id="plan-close"`) {
		t.Error("the plan page does not offer HR to close the SKP")
	}
	n = h.streamLen(streamQ)
	qv := h.fill(hrAdmin, closeP, "effective_from", "besok", "reason", "Mutasi ke Dinkes")
	r = h.post(&hrAdmin, closeP, qv)
	wantProblem(t, "a date that is not one", r, http.StatusUnprocessableEntity, "effective_from")
	if !strings.Contains(r.body, "Mutasi ke Dinkes") {
		t.Error("the reason typed is not kept")
	}
	qv.Set("effective_from", "1999-07-01")
	r = h.post(&hrAdmin, closeP, qv)
	wantProblem(t, "a date in another year", r, http.StatusUnprocessableEntity, "effective_from")
	if !strings.Contains(r.body, "Harus dalam tahun SKP 2026.") {
		t.Error("the date's problem is not in Indonesian")
	}
	if h.streamLen(streamQ) != n {
		t.Fatal("a refused close recorded something")
	}
	qv.Set("effective_from", "2026-07-01")
	if r := h.post(&hrAdmin, closeP, qv); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "ok=closed") {
		t.Fatalf("close = %d\n%s", r.status, r.body)
	}
	if r := h.post(&hrAdmin, closeP, qv); r.status != http.StatusSeeOther || h.streamLen(streamQ) != n+1 {
		t.Errorf("a double close = %d, %d events, want 1", r.status, h.streamLen(streamQ)-n)
	}
	if r := h.must200(hrAdmin, "/skp/"+ag.skpQ+"/rencana"); !strings.Contains(r.body, `data-status="CLOSED_FOR_POSITION_CHANGE"`) {
		t.Error("the plan page of a closed SKP does not say so")
	}
}
