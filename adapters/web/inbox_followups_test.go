package web

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// liveInbox is the deadline process manager over a bbolt backend, kept
// as the application layer's inbox, caught up on demand (withInbox
// catches up once).
type liveInbox struct {
	h    *harness
	sink *deadlines.Sink
}

func newLiveInbox(h *harness) *liveInbox {
	h.t.Helper()
	b, err := deadlinestore.OpenBolt(filepath.Join(h.dir, "deadlines-live.db"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { b.Close() })
	l := &liveInbox{h: h, sink: deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: h.store}, 0, deadlines.DefaultSettings(h.appCfg.Policy)))}
	l.catchUp()
	h.rebuild(func(c *app.Config) { c.Inbox = b })
	return l
}

// catchUp applies the events after the process manager's checkpoint, and
// catches the read models up.
func (l *liveInbox) catchUp() {
	h := l.h
	h.t.Helper()
	h.catchUp()
	cp, err := l.sink.Checkpoint(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var batch []projections.Event
	for ev, err := range h.store.ReadAll(h.ctx, eventstore.ReadAllOptions{After: cp}) {
		if err != nil {
			h.t.Fatal(err)
		}
		e, _ := projections.Decode(ev)
		batch = append(batch, e)
	}
	if len(batch) > 0 {
		if err := l.sink.Apply(h.ctx, batch...); err != nil {
			h.t.Fatal(err)
		}
	}
}

// The employee's inbox lists the amended plan to sign, linked to the SKP,
// from the amendment until the signature (given on the dashboard's form);
// the appraiser's does not.
func TestInboxAmendedPlanToSign(t *testing.T) {
	h := seeded(t)
	l := newLiveInbox(h)
	appr := caller{nipA, nil}
	const kind = `data-kind="SIGN_AMENDED_PLAN"`
	if r := h.must200(empE, "/kotak-masuk"); strings.Contains(r.body, kind) {
		t.Fatal("E signs before any amendment")
	}
	if _, err := h.skps.Amend(h.ctx, reason(appr, "Tambah target"), skp.Amend{SKPID: h.ag.skpE, Reason: "Tambah target"}); err != nil {
		t.Fatal(err)
	}
	l.catchUp()
	r := h.must200(empE, "/kotak-masuk")
	if !strings.Contains(r.body, kind) || !strings.Contains(r.body, "Tandatangani rencana SKP yang diubah") || !strings.Contains(r.body, `href="/skp/`+h.ag.skpE+`"`) {
		t.Fatalf("E's inbox lacks the amended plan to sign:\n%s", r.body)
	}
	if en := h.must200(empE, "/kotak-masuk?lang=en"); !strings.Contains(en.body, "Sign the amended plan") {
		t.Error("the English inbox lacks the signature")
	}
	if r := h.must200(appr, "/kotak-masuk"); strings.Contains(r.body, kind) {
		t.Error("the appraiser is asked for the employee's signature")
	}
	plan := "/skp/" + h.ag.skpE + "/rencana"
	body := h.must200(empE, plan).body
	ack := h.fill(empE, plan, "_key", "")
	ack.Set("_key", formKeyOf(t, body, "/rencana/tanda-tangan"))
	if r := h.post(&empE, plan+"/tanda-tangan", ack); r.status != http.StatusSeeOther {
		t.Fatalf("sign = %d\n%s", r.status, r.body)
	}
	l.catchUp()
	if r := h.must200(empE, "/kotak-masuk"); strings.Contains(r.body, kind) {
		t.Errorf("the signed plan still waits for E:\n%s", r.body)
	}
}

// An objection handed to a Plt waits in the Plt's inbox, and leaves the
// superior's.
func TestInboxDelegatedObjection(t *testing.T) {
	h := seeded(t)
	l := newLiveInbox(h)
	supS, plt := caller{nipS, nil}, caller{nipU, nil}
	const kind = `data-kind="DECIDE_OBJECTION"`
	if r := h.must200(plt, "/kotak-masuk"); strings.Contains(r.body, kind) {
		t.Fatal("U decides before any delegation")
	}
	if _, err := h.skps.AssignObjectionDecider(h.ctx, req(supS), skp.AssignObjectionDecider{SKPID: h.ag.skpP, Period: "2026",
		DeciderNIP: nipU, Basis: string(skp.DeciderPlt), Ref: "ND-PLT-01/2026"}); err != nil {
		t.Fatal(err)
	}
	l.catchUp()
	r := h.must200(plt, "/kotak-masuk")
	if !strings.Contains(r.body, kind) || !strings.Contains(r.body, "Dewi Lestari") || !strings.Contains(r.body, `href="/skp/`+h.ag.skpP+`"`) {
		t.Errorf("the Plt's inbox lacks P's objection:\n%s", r.body)
	}
	if r := h.must200(supS, "/kotak-masuk"); strings.Contains(r.body, kind) {
		t.Errorf("the objection still waits for S after the delegation:\n%s", r.body)
	}
}

// In BLOCK mode the leader one level up finds in the inbox the
// distribution that keeps an evaluation from being issued, linked to the
// justification form, until a justification covers it; in WARN mode, and
// for anyone else, it is not there. The unit report offers the same form
// to the leader alone.
func TestInboxDistributionToJustify(t *testing.T) {
	h := seeded(t)
	importedHead(t, h, "PEMKOT", nipS) // from 1 January: a historical import, not a live backfill
	l := newLiveInbox(h)
	supS := caller{nipS, nil}
	const kind = `data-kind="JUSTIFY_DISTRIBUTION"`
	const form = "/unit/DINKES/distribusi/2026/justifikasi"
	if r := h.must200(supS, "/kotak-masuk"); strings.Contains(r.body, kind) {
		t.Fatal("WARN mode: a distribution waits for a justification")
	}
	h.rebuild(func(c *app.Config) { c.Policy.DistributionMode = policy.Block })
	r := h.must200(supS, "/kotak-masuk")
	if !strings.Contains(r.body, kind) || !strings.Contains(r.body, `href="`+form+`"`) || !strings.Contains(r.body, "Dinas Kesehatan") ||
		!strings.Contains(r.body, "mode BLOCK") {
		t.Fatalf("S's inbox lacks DINKES's distribution:\n%s", r.body)
	}
	for _, who := range []caller{empE, {nipA, nil}, hrAdmin, {nipT, nil}} {
		if r := h.must200(who, "/kotak-masuk"); strings.Contains(r.body, kind) {
			t.Errorf("%s is asked for the justification", who.sub)
		}
	}
	// The unit report: the link for the leader (here also an analyst),
	// not for HR.
	leader := caller{nipS, []string{"HR_ANALYST"}}
	if r := h.must200(leader, "/unit/DINKES?year=2026&period=2026"); !strings.Contains(r.body, `id="dist-justify" href="`+form+`"`) {
		t.Errorf("the unit report does not offer the leader the form:\n%s", r.body)
	}
	if r := h.must200(hrAdmin, "/unit/DINKES?year=2026&period=2026"); strings.Contains(r.body, `id="dist-justify"`) {
		t.Error("the unit report offers HR the leader's form")
	}
	// Justified on the form: it no longer waits.
	body := h.must200(supS, form).body
	v := formOf(t, body, "counts.SANGAT_BAIK", "1", "counts.BAIK", "2", "counts.BUTUH_PERBAIKAN", "0", "counts.KURANG_MISCONDUCT", "0", "counts.SANGAT_KURANG", "0",
		"justification", "Tiga pegawai; pola tidak dapat dipenuhi")
	if r := h.post(&supS, form, v); r.status != http.StatusSeeOther {
		t.Fatalf("justify = %d\n%s", r.status, r.body)
	}
	l.catchUp()
	if r := h.must200(supS, "/kotak-masuk"); strings.Contains(r.body, kind) {
		t.Errorf("a justified distribution still waits:\n%s", r.body)
	}
}

// HR finds the officials form from the start page and the master data;
// nobody else is offered it.
func TestOfficialsFormIsLinked(t *testing.T) {
	h := seeded(t)
	const form = `href="/data-induk/pejabat/baru"`
	if r := h.must200(hrAdmin, "/"); !strings.Contains(r.body, `id="home-official-new" `+form) || !strings.Contains(r.body, `id="home-masterdata"`) {
		t.Errorf("HR's start page does not link the officials form:\n%s", r.body)
	}
	if r := h.must200(hrAdmin, "/data-induk/unit"); !strings.Contains(r.body, `id="official-new" `) || !strings.Contains(r.body, form) {
		t.Errorf("the master data does not link the officials form:\n%s", r.body)
	}
	for _, who := range []caller{empE, {nipS, nil}, auditor} {
		if r := h.must200(who, "/"); strings.Contains(r.body, form) {
			t.Errorf("%s is offered the officials form", who.sub)
		}
	}
}

// The pages this change touched, scanned with axe-core in Chromium as the
// people who see the new parts: the inbox with an amended plan to sign
// (E), a delegated objection (the Plt U) and a distribution to justify in
// BLOCK mode (S); the unit report with the leader's justification link;
// HR's start page and the master data with the officials links.
func TestAccessibilityInboxFollowUps(t *testing.T) {
	src := axeSource(t)
	chromium(t)
	h := seeded(t)
	importedHead(t, h, "PEMKOT", nipS) // from 1 January: a historical import, not a live backfill
	appr, supS := caller{nipA, nil}, caller{nipS, nil}
	if _, err := h.skps.Amend(h.ctx, reason(appr, "Tambah target"), skp.Amend{SKPID: h.ag.skpE, Reason: "Tambah target"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.skps.AssignObjectionDecider(h.ctx, req(supS), skp.AssignObjectionDecider{SKPID: h.ag.skpP, Period: "2026",
		DeciderNIP: nipU, Basis: string(skp.DeciderPlt), Ref: "ND-PLT-01/2026"}); err != nil {
		t.Fatal(err)
	}
	newLiveInbox(h)
	h.rebuild(func(c *app.Config) { c.Policy.DistributionMode = policy.Block })
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	leader := caller{nipS, []string{"HR_ANALYST"}}
	for _, p := range []struct {
		who       caller
		url, want string
	}{
		{empE, "/kotak-masuk", `data-kind="SIGN_AMENDED_PLAN"`},
		{caller{nipU, nil}, "/kotak-masuk", `data-kind="DECIDE_OBJECTION"`},
		{supS, "/kotak-masuk", `data-kind="JUSTIFY_DISTRIBUTION"`},
		{supS, "/kotak-masuk?lang=en", `data-kind="JUSTIFY_DISTRIBUTION"`},
		{leader, "/unit/DINKES?year=2026&period=2026", `id="dist-justify"`},
		{hrAdmin, "/", `id="home-official-new"`},
		{hrAdmin, "/data-induk/unit", `id="official-new"`},
	} {
		b := newTab(t, srv.URL, screenshotDir(t))
		b.signInAs(h, p.who)
		b.open(p.url)
		if html := eval[string](b, `document.documentElement.outerHTML`); !strings.Contains(html, p.want) {
			t.Errorf("%s as %s lacks %s", p.url, p.who.sub, p.want)
		}
		for _, v := range b.axe(src) {
			t.Errorf("%s as %s: %s", p.url, p.who.sub, v)
		}
	}
}
