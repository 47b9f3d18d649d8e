package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

func answers(r string) FeedbackAnswerBody {
	var b FeedbackAnswerBody
	for _, v := range berakhlak.Values() {
		b.Answers = append(b.Answers, skp.ValueAnswer{Value: v, Rating: "SESUAI_EKSPEKTASI", Comment: r})
	}
	for i := range b.Answers {
		if i%2 == 0 {
			b.Answers[i].Rating = "DI_ATAS_EKSPEKTASI"
		}
	}
	return b
}

// A 360° round through the API: invited givers only (identical 404s for
// outsiders), aggregates only from K answers of a closed round, and no
// raw-event path (events, audit trail, actor filter, timelines) tells who
// answered; the AUDITOR's disclosure is recorded before it answers.
// It runs on bbolt and on PostgreSQL (KINERJA_TEST_POSTGRES_URL).
func TestFeedbackRoundAnonymity(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) { feedbackRoundAnonymity(t, newHarnessOn(t, backend)) })
	}
}

func feedbackRoundAnonymity(t *testing.T, h *harness) {
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	base := "/v1/skps/" + id + "/feedback-rounds"
	body := FeedbackRoundBody{Period: "2026-Q1", Invitees: []skp.RoundInvitee{
		{NIP: nipE, Group: skp.GroupSelf}, {NIP: nipP, Group: skp.GroupPeer}, {NIP: nipX, Group: skp.GroupPeer},
		{NIP: nipU, Group: skp.GroupPeer}, {NIP: nipT, Group: skp.GroupSubordinate}}}

	// Adversarial opening: the employee, an outsider, a control character,
	// the appraiser invited, an old period; then the real one.
	h.refused(http.StatusForbidden, "forbidden", &empE, "POST", base, body)
	h.refused(http.StatusNotFound, "not_found", &outX, "POST", base, body)
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", base,
		map[string]any{"period": "2026-Q1\x01", "invitees": []any{map[string]any{"nip": nipP, "group": "PEER"}}})
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", base,
		FeedbackRoundBody{Period: "2026-Q1", Invitees: []skp.RoundInvitee{{NIP: nipA, Group: skp.GroupPeer}}})
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", base,
		FeedbackRoundBody{Period: "1999", Invitees: []skp.RoundInvitee{{NIP: nipP, Group: skp.GroupPeer}}})
	var created FeedbackRoundCreated
	h.must(http.StatusCreated, apprA, "POST", base, body, "Idempotency-Key", "open-1").decode(t, &created)
	again := h.must(http.StatusCreated, apprA, "POST", base, body, "Idempotency-Key", "open-1") // double submit
	var c2 FeedbackRoundCreated
	again.decode(t, &c2)
	if created.RoundID != "r1" || c2 != created {
		t.Fatalf("created %+v, repeated %+v", created, c2)
	}
	round := base + "/r1"

	// Outsiders: the same 404 body for a round that exists and one that does not.
	stranger := caller{"199909092020091009", nil}
	p1 := h.refused(http.StatusNotFound, "not_found", &stranger, "PUT", round+"/answer", answers(""))
	p2 := h.refused(http.StatusNotFound, "not_found", &stranger, "PUT", base+"/r9/answer", answers(""))
	p3 := h.refused(http.StatusNotFound, "not_found", &stranger, "PUT", "/v1/skps/"+nipX+"-2026/feedback-rounds/r1/answer", answers(""))
	if p1.Detail != p2.Detail || p1.Title != p2.Title || p1.Detail != p3.Detail {
		t.Errorf("404s differ: %q / %q / %q", p1.Detail, p2.Detail, p3.Detail)
	}
	h.refused(http.StatusNotFound, "not_found", &stranger, "GET", round+"/answer", nil)
	h.refused(http.StatusForbidden, "forbidden", &apprA, "PUT", round+"/answer", answers(""))

	for _, c := range []caller{empE, peerP, outX} {
		h.must(http.StatusOK, c, "PUT", round+"/answer", answers("komentar "+c.sub))
	}
	h.must(http.StatusOK, caller{nipT, nil}, "PUT", round+"/answer", answers("bawahan"))

	var list FeedbackRoundList
	h.must(http.StatusOK, empE, "GET", base, nil).decode(t, &list)
	if g := list.Items[0].Groups[1]; g.Group != skp.GroupPeer || g.Shown || g.Answered != 0 {
		t.Errorf("open round, peers shown: %+v", g)
	}
	h.must(http.StatusOK, apprA, "POST", round+"/close", nil)
	h.refused(http.StatusConflict, "invalid_state", &caller{nipU, nil}, "PUT", round+"/answer", answers(""))
	h.must(http.StatusOK, empE, "GET", base, nil).decode(t, &list)
	for _, g := range list.Items[0].Groups {
		if g.Group == skp.GroupSubordinate && (g.Shown || g.Values != nil) {
			t.Errorf("one subordinate shown: %+v", g)
		}
		if g.Group == skp.GroupPeer && g.Shown {
			t.Errorf("two peers of three shown: %+v", g)
		}
	}
	if len(list.Items[0].Overall) != 0 {
		t.Errorf("the overall figure counts suppressed groups: %+v", list.Items[0].Overall)
	}

	// No raw-event path tells who answered: not to the employee, not to an auditor.
	for _, c := range []caller{empE, apprA, aud} {
		var ev EventList
		h.must(http.StatusOK, c, "GET", "/v1/skps/"+id+"/events", nil).decode(t, &ev)
		n := 0
		for _, e := range ev.Items {
			if e.Type != skp.FeedbackAnswerEventType {
				continue
			}
			n++
			if e.Actor.NIP != skp.RedactedActor || e.Hash != "" || string(e.Data) != `{"redacted":true}` {
				t.Errorf("%s reads an answer event %+v", c.sub, e)
			}
		}
		if n != 4 {
			t.Errorf("%s: %d answer events, want 4", c.sub, n)
		}
	}
	h.catchUp()
	var trail AuditPage
	h.must(http.StatusOK, aud, "GET", "/v1/audit?limit=1000", nil).decode(t, &trail)
	redacted := 0
	for _, e := range trail.Items {
		if e.Type == skp.FeedbackAnswerEventType {
			redacted++
			if e.Actor.NIP != skp.RedactedActor {
				t.Errorf("audit trail shows %+v", e)
			}
		}
	}
	if redacted != 4 {
		t.Errorf("audit trail: %d answer entries, want 4", redacted)
	}
	h.must(http.StatusOK, aud, "GET", "/v1/audit?actor="+nipP+"&limit=1000", nil).decode(t, &trail)
	for _, e := range trail.Items {
		if e.Type == skp.FeedbackAnswerEventType {
			t.Errorf("an actor filter finds the answer: %+v", e)
		}
	}
	tl := h.must(http.StatusOK, aud, "GET", "/v1/employees/"+nipP+"/timeline", nil)
	if bytes.Contains(tl.body, []byte("feedback_round_answered")) {
		t.Errorf("the giver's timeline shows the answer: %s", tl.body)
	}

	// Disclosure: AUDITOR only, a reason, recorded first.
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &aud, "POST", round+"/disclosure", DisclosureBody{})
	h.refused(http.StatusForbidden, "forbidden", &empE, "POST", round+"/disclosure", DisclosureBody{common{Reason: "ingin tahu"}})
	h.refused(http.StatusForbidden, "forbidden", &hr, "POST", round+"/disclosure", DisclosureBody{common{Reason: "ingin tahu"}})
	before := h.streamLen("skp-" + id)
	var d skp.DisclosureResult
	h.must(http.StatusOK, aud, "POST", round+"/disclosure", DisclosureBody{common{Reason: "Pemeriksaan Inspektorat 12/2026"}}).decode(t, &d)
	if h.streamLen("skp-"+id) != before+1 {
		t.Errorf("the disclosure is not recorded")
	}
	if len(d.Answers) != 4 || d.Answers[1].GiverNIP != nipP || len(d.Reads) != 1 {
		t.Errorf("disclosed %+v", d)
	}
}

// K of 3 answers of a closed round: the peer aggregate is shown.
func TestFeedbackRoundShownAtThreshold(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	base := "/v1/skps/" + id + "/feedback-rounds"
	h.must(http.StatusCreated, apprA, "POST", base, FeedbackRoundBody{Period: "2026", Invitees: []skp.RoundInvitee{
		{NIP: nipP, Group: skp.GroupPeer}, {NIP: nipX, Group: skp.GroupPeer}, {NIP: nipU, Group: skp.GroupPeer}}})
	for _, c := range []caller{peerP, outX, {nipU, nil}} {
		h.must(http.StatusOK, c, "PUT", base+"/r1/answer", answers(""))
	}
	h.must(http.StatusOK, hr, "POST", base+"/r1/close", nil)
	var list FeedbackRoundList
	h.must(http.StatusOK, apprA, "GET", base, nil).decode(t, &list)
	g := list.Items[0].Groups[0]
	if !g.Shown || g.Answered != 3 || g.Givers != nil || g.Values[0].Above != 3 || list.Items[0].Overall[0].Count != 3 {
		t.Errorf("three peers of a closed round: %+v", list.Items[0])
	}
}

// GET /v1/audit/bundle of an employee whose SKP holds 360° answers: the
// bundle names the givers (the events' actors, which its hashes cover),
// so it needs a reason and is recorded as a disclosure of the round
// before it is answered; without one (or with a bad one) it is refused
// and nothing is recorded. The bundle still verifies offline. A bundle
// without answers needs no reason.
func TestBundleWithAnswersIsADisclosure(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.sign()
	plain := h.must(http.StatusOK, aud, "GET", "/v1/audit/bundle?nip="+nipE+"&year=2026", nil)
	if plain.header.Get(DisclosedRoundsHeader) != "" {
		t.Error("a bundle without answers discloses")
	}
	base := "/v1/skps/" + id + "/feedback-rounds"
	h.must(http.StatusCreated, apprA, "POST", base, FeedbackRoundBody{Period: "2026", Invitees: []skp.RoundInvitee{
		{NIP: nipP, Group: skp.GroupPeer}, {NIP: nipX, Group: skp.GroupPeer}}})
	for _, c := range []caller{peerP, outX} {
		h.must(http.StatusOK, c, "PUT", base+"/r1/answer", answers(""))
	}
	h.sign()
	stream := "skp-" + id
	before := h.streamLen(stream)
	url := "/v1/audit/bundle?nip=" + nipE + "&year=2026"
	if p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &aud, "GET", url, nil); p.Errors[0].Field != "reason" {
		t.Errorf("without a reason: %+v", p)
	}
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &aud, "GET", url+"&reason=%20%20", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", url+"&reason=a%07b", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &aud, "GET", url+"&reason="+strings.Repeat("x", 1001), nil)
	h.refused(http.StatusForbidden, "forbidden", &hr, "GET", url+"&reason=x", nil)
	if n := h.streamLen(stream); n != before {
		t.Fatalf("a refused bundle recorded %d events", n-before)
	}
	r := h.must(http.StatusOK, aud, "GET", url+"&reason=Banding+keberatan+nomor+7%2F2026", nil)
	if got := r.header.Get(DisclosedRoundsHeader); got != id+"/r1" {
		t.Errorf("%s = %q", DisclosedRoundsHeader, got)
	}
	var b audit.Bundle
	r.decode(t, &b)
	if rep := audit.VerifyBundle(b, h.vkey); !rep.OK || rep.Proven == 0 {
		t.Errorf("the bundle does not verify: %+v", rep)
	}
	if n := h.streamLen(stream); n != before+1 {
		t.Fatalf("the bundle recorded %d events, want the round's disclosure", n-before)
	}
	var d skp.DisclosureResult
	h.must(http.StatusOK, aud, "POST", base+"/r1/disclosure", DisclosureBody{common{Reason: "periksa"}}).decode(t, &d)
	if len(d.Reads) != 2 || d.Reads[0].Reason != "Banding keberatan nomor 7/2026" || d.Reads[0].By.ID != aud.sub {
		t.Errorf("the bundle's disclosure is not among the round's reads: %+v", d.Reads)
	}
}
