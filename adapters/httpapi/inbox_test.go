package httpapi

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// inboxHarness is the harness with the deadline process manager's state
// as the inbox, caught up before every inbox read.
type inboxHarness struct {
	*harness
	sink *deadlines.Sink
}

func newInboxHarness(t *testing.T) *inboxHarness {
	b, err := deadlinestore.OpenBolt(filepath.Join(t.TempDir(), "deadlines.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	h := newHarness(t, func(s *settings) { s.appConfig.Inbox = b })
	return &inboxHarness{harness: h, sink: deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: h.store}, 0, deadlines.DefaultSettings(policy.Default())))}
}

func (h *inboxHarness) inbox(who caller, query string) InboxPage {
	h.t.Helper()
	cp, err := h.sink.Checkpoint(h.ctx)
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
		if err := h.sink.Apply(h.ctx, batch...); err != nil {
			h.t.Fatal(err)
		}
	}
	var page InboxPage
	h.must(http.StatusOK, who, "GET", "/v1/inbox"+query, nil).decode(h.t, &page)
	return page
}

func kindsOf(p InboxPage) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, string(it.Kind)+" "+it.Period)
	}
	return out
}

// GET /v1/inbox: what waits for the caller, and for no one else.
func TestInbox(t *testing.T) {
	h := newInboxHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	if p := h.inbox(apprA, ""); len(p.Items) != 0 || p.NIP != nipA {
		t.Fatalf("A's inbox before anything waits: %+v", p)
	}
	id := skpView(h.t, h.must(http.StatusCreated, empE, "POST", "/v1/skps", DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})).ID
	p := h.inbox(empE, "")
	if len(p.Items) != 1 || p.Items[0].Kind != deadlines.SubmitSKP || p.Items[0].SKPID != id || p.Items[0].DaysLeft != 26 || p.Items[0].Overdue {
		t.Fatalf("E's inbox after drafting: %+v", p)
	}
	if p := h.inbox(apprA, ""); len(p.Items) != 0 {
		t.Fatalf("A waits for a draft: %v", kindsOf(p))
	}
	var c Created
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Terlaksananya imunisasi", Kind: "UTAMA", IntervenedRHKID: rhkA}).decode(h.t, &c)
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk/"+c.RHKID+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Puskesmas", Target: TargetBody{Value: 5, Unit: "puskesmas"}})
	h.must(http.StatusOK, empE, "POST", "/v1/skps/"+id+"/submit", nil)
	if p := h.inbox(apprA, "?nip="+nipA); len(p.Items) != 1 || p.Items[0].Kind != deadlines.EstablishSKP || p.Items[0].RecipientRole != "APPRAISER" {
		t.Fatalf("A's inbox after the submission: %v", kindsOf(p))
	}
	if p := h.inbox(empE, ""); len(p.Items) != 0 {
		t.Fatalf("E still waits after submitting: %v", kindsOf(p))
	}

	// Someone else's inbox: forbidden to everyone, HR and auditors too;
	// one's own (empty) is fine.
	for _, who := range []caller{empE, supS, hr, aud, clerk} {
		h.refused(http.StatusForbidden, "forbidden", &who, "GET", "/v1/inbox?nip="+nipA, nil)
	}
	if p := h.inbox(outX, ""); len(p.Items) != 0 || p.NIP != nipX {
		t.Errorf("an outsider's inbox: %+v", p)
	}
	h.refused(http.StatusUnauthorized, "unauthenticated", nil, "GET", "/v1/inbox", nil)
	h.refused(http.StatusMethodNotAllowed, "method_not_allowed", &empE, "POST", "/v1/inbox", nil)
	h.refused(http.StatusMethodNotAllowed, "method_not_allowed", &empE, "DELETE", "/v1/inbox", nil)
	// One's own NIP in its printed form is one's own inbox.
	if p := h.inbox(apprA, "?nip="+url.QueryEscape("19850202 201001 2 002")); len(p.Items) != 1 || p.NIP != nipA {
		t.Errorf("A's inbox by A's printed NIP: %+v", p)
	}
	h.refused(http.StatusForbidden, "forbidden", &empE, "GET", "/v1/inbox?nip=%27%20OR%201%3D1", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &apprA, "GET", "/v1/inbox?nip="+strings.Repeat("9", 100), nil)

	// Established: the quarters wait for their ratings from the day after
	// each ends, not before.
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/establish", nil)
	if p := h.inbox(apprA, ""); len(p.Items) != 0 {
		t.Fatalf("A's inbox in January: %v", kindsOf(p))
	}
	h.clock.Set(time.Date(2026, 4, 1, 0, 0, 1, 0, policy.WIB))
	p = h.inbox(apprA, "")
	if len(p.Items) != 1 || p.Items[0].Period != "2026-Q1" || p.Items[0].Kind != deadlines.RatePeriod || p.Items[0].DaysLeft != 13 || p.Items[0].SKPID != id {
		t.Fatalf("A's inbox on 1 April: %v %+v", kindsOf(p), p.Items)
	}
	if p := h.inbox(supS, ""); len(p.Items) != 1 || p.Items[0].NIP != nipA {
		t.Fatalf("S rates A's quarter: %+v", p.Items)
	}
	h.clock.Set(time.Date(2026, 4, 15, 0, 0, 1, 0, policy.WIB))
	if p := h.inbox(apprA, ""); !p.Items[0].Overdue || p.Items[0].DaysLeft != -1 {
		t.Errorf("an overdue rating: %+v", p.Items[0])
	}
}
