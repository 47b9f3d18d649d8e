package web

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// withInbox gives h's application layer the deadline process manager's
// state as its inbox, caught up with the store.
func withInbox(h *harness) {
	h.t.Helper()
	b, err := deadlinestore.OpenBolt(filepath.Join(h.dir, "deadlines.db"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { b.Close() })
	sink := deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: h.store}, 0, deadlines.DefaultSettings(h.appCfg.Policy)))
	var batch []projections.Event
	for ev, err := range h.store.ReadAll(h.ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			h.t.Fatal(err)
		}
		e, _ := projections.Decode(ev)
		batch = append(batch, e)
	}
	if err := sink.Apply(h.ctx, batch...); err != nil {
		h.t.Fatal(err)
	}
	h.rebuild(func(c *app.Config) { c.Inbox = b })
}

// The inbox page: what waits for the signed-in person, in Indonesian
// (English with the switch), and nobody else's.
func TestInboxPage(t *testing.T) {
	h := seeded(t)
	withInbox(h)
	supS := caller{nipS, nil}
	apprA := caller{nipA, nil}

	// S decides P's objection, overdue on 3 March 2027.
	r := h.must200(supS, "/kotak-masuk")
	if !strings.Contains(r.body, "<h1>Kotak masuk</h1>") || !strings.Contains(r.body, `data-kind="DECIDE_OBJECTION"`) ||
		!strings.Contains(r.body, "Putuskan keberatan") || !strings.Contains(r.body, "Dewi Lestari") || !strings.Contains(r.body, `class="overdue"`) ||
		!strings.Contains(r.body, "terlambat") || !strings.Contains(r.body, `href="/skp/`+h.ag.skpP+`"`) {
		t.Errorf("S's inbox lacks P's overdue objection:\n%s", r.body)
	}
	if !strings.Contains(r.body, `<a href="/kotak-masuk" aria-current="page">Kotak masuk</a>`) {
		t.Error("the navigation does not mark the inbox")
	}
	en := h.must200(supS, "/kotak-masuk?lang=en")
	if !strings.Contains(en.body, "<h1>Inbox</h1>") || !strings.Contains(en.body, "Decide the objection") || !strings.Contains(en.body, "days overdue") {
		t.Errorf("the English inbox:\n%s", en.body)
	}

	// A issues Q's rated evaluation; nobody else's items.
	a := h.must200(apprA, "/kotak-masuk?lang=id")
	if !strings.Contains(a.body, `data-kind="ISSUE_EVALUATION"`) || !strings.Contains(a.body, "Rina Marlina") || strings.Contains(a.body, "DECIDE_OBJECTION") {
		t.Errorf("A's inbox:\n%s", a.body)
	}
	// X waits for nothing.
	x := h.must200(empX, "/kotak-masuk")
	if !strings.Contains(x.body, `id="inbox-empty"`) || strings.Contains(x.body, "<table") {
		t.Errorf("X's inbox:\n%s", x.body)
	}
	// Every page links the inbox; the start page counts it.
	if home := h.must200(empE, "/"); !strings.Contains(home.body, `href="/kotak-masuk"`) {
		t.Error("the start page does not link the inbox")
	}
	// Six, all overdue by the harness's today (3 March 2027): P's objection,
	// and the ratings S owes for A's SKP (Q1 to Q4 and the year).
	if home := h.must200(supS, "/"); !strings.Contains(home.body, `<strong>6</strong> menunggu tindakan Anda, <strong class="warn-text">6</strong> lewat tenggat`) {
		t.Log(h.must200(supS, "/kotak-masuk").body)
		t.Errorf("the start page's inbox line for S:\n%s", home.body)
	}
	// Signed out: to the sign-in form; another's inbox has no address.
	anon := h.get(nil, "/kotak-masuk")
	if anon.status != http.StatusSeeOther || anon.header.Get("Location") != "/masuk?next="+url.QueryEscape("/kotak-masuk") {
		t.Errorf("anonymous inbox = %d to %q", anon.status, anon.header.Get("Location"))
	}
	if other := h.get(&empX, "/kotak-masuk?nip="+nipS); strings.Contains(other.body, "Dewi Lestari") {
		t.Error("?nip= showed another person's inbox")
	}
	if p := h.post(&supS, "/kotak-masuk", nil); p.status != http.StatusMethodNotAllowed && p.status != http.StatusNotFound {
		t.Errorf("POST /kotak-masuk = %d", p.status)
	}
}
