package skp_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// allValues rates every value r.
func allValues(r rating.Rating, comment string) []skp.ValueAnswer {
	var out []skp.ValueAnswer
	for _, v := range berakhlak.Values() {
		out = append(out, skp.ValueAnswer{Value: v, Rating: r, Comment: comment})
	}
	return out
}

// openRound opens a round of 2026-Q1 with E as SELF, P, X, B as PEER and T
// as SUBORDINATE.
func (f *fixture) openRound(id string) string {
	f.tb.Helper()
	r, _, err := f.skps.OpenFeedbackRound(f.ctx, f.req(nipA), skp.OpenFeedbackRound{SKPID: id, Period: "2026-Q1", Invitees: []skp.RoundInvitee{
		{NIP: nipE, Group: skp.GroupSelf}, {NIP: nipP, Group: skp.GroupPeer}, {NIP: nipX, Group: skp.GroupPeer},
		{NIP: nipB, Group: skp.GroupPeer}, {NIP: nipT, Group: skp.GroupSubordinate}}})
	if err != nil {
		f.tb.Fatalf("open round: %v", err)
	}
	return r
}

func (f *fixture) answer(id, round, who string, r rating.Rating, comment string) {
	f.tb.Helper()
	f.ok(f.skps.AnswerFeedbackRound(f.ctx, f.req(who), skp.AnswerFeedbackRound{SKPID: id, RoundID: round, Answers: allValues(r, comment)}))
}

func TestOpenFeedbackRound(t *testing.T) {
	peer := func(n string) skp.RoundInvitee { return skp.RoundInvitee{NIP: n, Group: skp.GroupPeer} }
	tests := []struct {
		name      string
		by        func(*fixture) domain.Request
		period    string
		invitees  []skp.RoundInvitee
		wantKind  string
		wantField string
	}{
		{name: "the appraiser opens", invitees: []skp.RoundInvitee{peer(nipP), peer(nipX)}},
		{name: "HR opens (printed NIP)", by: func(f *fixture) domain.Request { return f.hr() },
			invitees: []skp.RoundInvitee{peer("19910606 201606 2 006")}},
		{name: "the employee may not open", by: func(f *fixture) domain.Request { return f.req(nipE) },
			invitees: []skp.RoundInvitee{peer(nipP)}, wantKind: "forbidden"},
		{name: "an outsider sees nothing", by: func(f *fixture) domain.Request { return f.req(nipX) },
			invitees: []skp.RoundInvitee{peer(nipP)}, wantKind: "not_found"},
		{name: "no invitees", wantKind: "validation", wantField: "invitees"},
		{name: "too many invitees", invitees: slices.Repeat([]skp.RoundInvitee{peer(nipP)}, skp.MaxRoundInvitees+1),
			wantKind: "validation", wantField: "invitees"},
		{name: "invited twice", invitees: []skp.RoundInvitee{peer(nipP), {NIP: nipP, Group: skp.GroupSubordinate}},
			wantKind: "validation", wantField: "invitees[1].nip"},
		{name: "unknown group", invitees: []skp.RoundInvitee{{NIP: nipP, Group: "FRIEND"}}, wantKind: "validation", wantField: "invitees[0].group"},
		{name: "malformed NIP", invitees: []skp.RoundInvitee{peer("12\x00")}, wantKind: "validation", wantField: "invitees[0].nip"},
		{name: "unregistered", invitees: []skp.RoundInvitee{peer("199909092020091009")}, wantKind: "validation", wantField: "invitees[0].nip"},
		{name: "the employee as a peer", invitees: []skp.RoundInvitee{peer(nipE)}, wantKind: "validation", wantField: "invitees[0].group"},
		{name: "someone else as self", invitees: []skp.RoundInvitee{{NIP: nipP, Group: skp.GroupSelf}}, wantKind: "validation", wantField: "invitees[0].group"},
		{name: "the appraiser invited", invitees: []skp.RoundInvitee{peer(nipA)}, wantKind: "validation", wantField: "invitees[0].nip"},
		{name: "a team lead not assigned", invitees: []skp.RoundInvitee{{NIP: nipX, Group: skp.GroupTeamLead}}, wantKind: "validation", wantField: "invitees[0].group"},
		{name: "a period of another year", period: "2019", invitees: []skp.RoundInvitee{peer(nipP)}, wantKind: "validation", wantField: "period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, _, _ := f.establishedE()
			req := f.req(nipA)
			if tt.by != nil {
				req = tt.by(f)
			}
			p := tt.period
			if p == "" {
				p = "2026-Q1"
			}
			round, _, err := f.skps.OpenFeedbackRound(f.ctx, req, skp.OpenFeedbackRound{SKPID: id, Period: p, Invitees: tt.invitees})
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind != "" {
				return
			}
			rs, err := f.skps.FeedbackRounds(f.ctx, domain.Principal{ID: nipE}, id)
			if err != nil || len(rs) != 1 || rs[0].RoundID != round || rs[0].Closed {
				t.Fatalf("rounds = %+v, %v", rs, err)
			}
			// A second open round of the same period is refused.
			_, _, err = f.skps.OpenFeedbackRound(f.ctx, req, skp.OpenFeedbackRound{SKPID: id, Period: p, Invitees: tt.invitees})
			expect(t, err, "invalid_state", "")
		})
	}
}

func TestAnswerFeedbackRound(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	round := f.openRound(id)
	ans := func(who string, a []skp.ValueAnswer) error {
		_, err := f.skps.AnswerFeedbackRound(f.ctx, f.req(who), skp.AnswerFeedbackRound{SKPID: id, RoundID: round, Answers: a})
		return err
	}
	good := allValues(rating.MeetsExpectation, "")
	// Outsiders: identical not-found whether the round exists or not.
	_, errMissing := f.skps.AnswerFeedbackRound(f.ctx, f.req(nipU), skp.AnswerFeedbackRound{SKPID: id, RoundID: "r99", Answers: good})
	errNotInvited := ans(nipU, good)
	expect(t, errMissing, "not_found", "")
	expect(t, errNotInvited, "not_found", "")
	if errMissing.Error() != errNotInvited.Error() {
		t.Errorf("not invited %q differs from no such round %q", errNotInvited, errMissing)
	}
	_, errNoSKP := f.skps.AnswerFeedbackRound(f.ctx, f.req(nipU), skp.AnswerFeedbackRound{SKPID: "skp-2026-nope", RoundID: round, Answers: good})
	expect(t, errNoSKP, "not_found", "")
	// A party not invited: forbidden.
	expect(t, ans(nipA, good), "forbidden", "")
	// Validation.
	expect(t, ans(nipP, good[:6]), "validation", "answers")
	dup := slices.Clone(good)
	dup[6].Value = dup[0].Value
	expect(t, ans(nipP, dup), "validation", "answers[6].value")
	bad := slices.Clone(good)
	bad[2].Rating = "BAGUS"
	expect(t, ans(nipP, bad), "validation", "answers[2].rating")
	long := slices.Clone(good)
	long[0].Examples = strings.Repeat("x", skp.MaxTextLen+1)
	expect(t, ans(nipP, long), "validation", "answers[0].examples")
	// An answer, the same again (nothing), a revision.
	if err := ans(nipP, good); err != nil {
		t.Fatal(err)
	}
	c, err := f.skps.AnswerFeedbackRound(f.ctx, f.req(nipP), skp.AnswerFeedbackRound{SKPID: id, RoundID: round, Answers: good})
	if err != nil || len(c.Events) != 0 {
		t.Errorf("the same answer again: %+v, %v", c, err)
	}
	if err := ans(nipP, allValues(rating.AboveExpectation, "")); err != nil {
		t.Fatal(err)
	}
	inv, err := f.skps.Invitation(f.ctx, domain.Principal{ID: nipP}, id, round)
	if err != nil || inv.Group != skp.GroupPeer || inv.Answers[0].Rating != rating.AboveExpectation {
		t.Errorf("invitation = %+v, %v", inv, err)
	}
	if _, err := f.skps.Invitation(f.ctx, domain.Principal{ID: nipU}, id, round); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("an outsider's invitation: %v", err)
	}
	// Closing: by the appraiser only; then no more answers.
	_, err = f.skps.CloseFeedbackRound(f.ctx, f.req(nipE), id, round)
	expect(t, err, "forbidden", "")
	f.ok(f.skps.CloseFeedbackRound(f.ctx, f.req(nipA), id, round))
	expect(t, ans(nipX, good), "invalid_state", "")
}

// The anonymity threshold, by example: a PEER group is shown from K answers
// on, once closed; the subordinate group below K never shows, and the
// overall figure does not include it.
func TestFeedbackSummaryThreshold(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	round := f.openRound(id)
	f.answer(id, round, nipE, rating.AboveExpectation, "saya")
	f.answer(id, round, nipP, rating.MeetsExpectation, "baik")
	f.answer(id, round, nipX, rating.MeetsExpectation, "")
	f.answer(id, round, nipT, rating.BelowExpectation, "bawahan")
	group := func(s skp.RoundSummary, g skp.FeedbackGroup) skp.GroupSummary {
		for _, x := range s.Groups {
			if x.Group == g {
				return x
			}
		}
		t.Fatalf("no group %s in %+v", g, s)
		return skp.GroupSummary{}
	}
	sum := func() skp.RoundSummary {
		rs, err := f.skps.FeedbackRounds(f.ctx, domain.Principal{ID: nipE}, id)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	s := sum()
	if g := group(s, skp.GroupPeer); g.Shown || g.Answered != 0 || g.Values != nil || g.Comments != nil {
		t.Errorf("open round, 2 peers: %+v", g)
	}
	if g := group(s, skp.GroupSelf); !g.Shown || g.Answered != 1 || g.Givers[0] != nipE {
		t.Errorf("self: %+v", g)
	}
	f.answer(id, round, nipB, rating.AboveExpectation, "")
	if g := group(sum(), skp.GroupPeer); g.Shown {
		t.Errorf("open round, 3 peers, shown before closing: %+v", g)
	}
	f.ok(f.skps.CloseFeedbackRound(f.ctx, f.req(nipA), id, round))
	s = sum()
	g := group(s, skp.GroupPeer)
	if !g.Shown || g.Answered != 3 || g.Givers != nil || g.Values[0].Count != 3 || g.Values[0].Meets != 2 || g.Values[0].Above != 1 || g.Values[0].Mean != 2.33 {
		t.Errorf("closed, 3 peers: %+v", g)
	}
	if g := group(s, skp.GroupSubordinate); g.Shown || g.Values != nil {
		t.Errorf("closed, 1 subordinate: %+v", g)
	}
	if s.Overall[0].Count != 3 || s.Overall[0].Below != 0 {
		t.Errorf("overall counts a suppressed group or self: %+v", s.Overall[0])
	}
	if s.Hash == "" || s.Revision == 0 {
		t.Errorf("summary identity: %q, %d", s.Hash, s.Revision)
	}
}

// Property: whatever the answers of an anonymous group that is not shown
// (fewer than K answers, or the round open), the summary — every figure,
// the overall, the hash — is the same as if that group had not answered at
// all. Nothing shown can therefore depend on a suppressed answer.
func TestFeedbackSummaryThresholdProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 360))
	ratings := rating.Ratings()
	randomAnswer := func() []skp.ValueAnswer {
		var out []skp.ValueAnswer
		for _, v := range berakhlak.Values() {
			out = append(out, skp.ValueAnswer{Value: v, Rating: ratings[rng.IntN(3)], Comment: []string{"", "a", "b"}[rng.IntN(3)]})
		}
		return out
	}
	const (
		k      = 3
		trials = 60
	)
	peers := []string{nipP, nipX, nipB}
	for trial := range trials {
		nPeers := rng.IntN(k) // 0..K-1: never shown
		closed := rng.IntN(2) == 0
		withSub := rng.IntN(2) == 0
		if closed && rng.IntN(3) == 0 {
			nPeers = k // shown only when closed: leave them out of the open case below
		}
		build := func(peerAnswers [][]skp.ValueAnswer, subs []string) skp.RoundSummary {
			f := newFixture(t, func(p *policy.Policy) { p.FeedbackAnonymityThreshold = k })
			id, _, _ := f.establishedE()
			invitees := []skp.RoundInvitee{{NIP: nipE, Group: skp.GroupSelf}, {NIP: nipT, Group: skp.GroupSubordinate}, {NIP: nipU, Group: skp.GroupSubordinate}}
			for _, p := range peers {
				invitees = append(invitees, skp.RoundInvitee{NIP: p, Group: skp.GroupPeer})
			}
			round, _, err := f.skps.OpenFeedbackRound(f.ctx, f.req(nipA), skp.OpenFeedbackRound{SKPID: id, Period: "2026-Q1", Invitees: invitees})
			if err != nil {
				t.Fatal(err)
			}
			f.answer(id, round, nipE, rating.MeetsExpectation, "diri")
			for i, a := range peerAnswers {
				f.ok(f.skps.AnswerFeedbackRound(f.ctx, f.req(peers[i]), skp.AnswerFeedbackRound{SKPID: id, RoundID: round, Answers: a}))
			}
			for _, s := range subs {
				f.ok(f.skps.AnswerFeedbackRound(f.ctx, f.req(s), skp.AnswerFeedbackRound{SKPID: id, RoundID: round, Answers: randomAnswer()}))
			}
			if closed {
				f.ok(f.skps.CloseFeedbackRound(f.ctx, f.req(nipA), id, round))
			}
			rs, err := f.skps.FeedbackRounds(f.ctx, domain.Principal{ID: nipE}, id)
			if err != nil {
				t.Fatal(err)
			}
			s := rs[0]
			s.Revision, s.ClosedAt, s.Hash = 0, nil, "" // revisions count the events
			return s
		}
		var subs []string
		if withSub {
			subs = []string{nipT} // one subordinate of two: below K
		}
		var peerAnswers [][]skp.ValueAnswer
		for range nPeers {
			peerAnswers = append(peerAnswers, randomAnswer())
		}
		got := build(peerAnswers, subs)
		if nPeers == k {
			// Shown: the suppressed subordinate still leaves no trace.
			want := build(peerAnswers, nil)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("trial %d: a suppressed subordinate answer changes the summary:\n%+v\n%+v", trial, got, want)
			}
			continue
		}
		want := build(nil, nil)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d (%d peers, closed %v, sub %v): suppressed answers change the summary:\n%+v\n%+v", trial, nPeers, closed, withSub, got, want)
		}
	}
}

// A disclosure is for AUDITOR alone, needs a reason, and is recorded
// before the answers are returned.
func TestDiscloseFeedbackGivers(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	round := f.openRound(id)
	f.answer(id, round, nipP, rating.MeetsExpectation, "")
	aud := f.req(auditor, domain.RoleAuditor)
	_, _, err := f.skps.DiscloseFeedbackGivers(f.ctx, aud, id, round, "  ")
	expect(t, err, "validation", "reason")
	_, _, err = f.skps.DiscloseFeedbackGivers(f.ctx, f.req(nipE), id, round, "ingin tahu")
	expect(t, err, "forbidden", "")
	_, _, err = f.skps.DiscloseFeedbackGivers(f.ctx, f.hr(), id, round, "ingin tahu")
	expect(t, err, "forbidden", "")
	_, _, err = f.skps.DiscloseFeedbackGivers(f.ctx, f.req(nipU), id, round, "ingin tahu")
	expect(t, err, "not_found", "")
	_, _, err = f.skps.DiscloseFeedbackGivers(f.ctx, aud, id, "r9", "audit")
	expect(t, err, "not_found", "")
	out, c, err := f.skps.DiscloseFeedbackGivers(f.ctx, aud, id, round, "Pemeriksaan Inspektorat 12/2026")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Answers) != 1 || out.Answers[0].GiverNIP != nipP || out.Answers[0].Group != skp.GroupPeer {
		t.Errorf("disclosed %+v", out.Answers)
	}
	if len(c.Events) != 1 || c.Events[0].Event.EventType() != "skp.feedback_answers_disclosed.v1" || c.Events[0].Meta.Reason != "Pemeriksaan Inspektorat 12/2026" ||
		c.Events[0].Meta.Actor.ID != auditor {
		t.Errorf("recorded %+v", c.Events)
	}
	if len(out.Reads) != 1 || out.Reads[0].Reason != "Pemeriksaan Inspektorat 12/2026" {
		t.Errorf("reads %+v", out.Reads)
	}
	if !skp.RedactedEvent(skp.FeedbackAnswerEventType) || skp.RedactedEvent("skp.feedback_round_opened.v1") {
		t.Error("RedactedEvent names the wrong events")
	}
}

// The rating records the identity of the 360° summary of its period, as
// the employee sees it; a period without a round records none.
func TestRatingRecordsFeedback360Summary(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	round := f.openRound(id)
	f.answer(id, round, nipP, rating.MeetsExpectation, "")
	f.ok(f.skps.CloseFeedbackRound(f.ctx, f.req(nipA), id, round))
	rs, err := f.skps.FeedbackRounds(f.ctx, domain.Principal{ID: nipE}, id)
	if err != nil {
		t.Fatal(err)
	}
	f.after("2026-Q1") // a period is rated only after it ends
	c, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026-Q1", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := c.Events[0].Event.(skp.RatingAssigned)
	if ra.Feedback360 == nil || ra.Feedback360.Hash != rs[0].Hash || ra.Feedback360.RoundID != round || ra.Feedback360.Revision != rs[0].Revision {
		t.Errorf("rating records %+v, summary %s@%d", ra.Feedback360, rs[0].Hash, rs[0].Revision)
	}
	f.after("2026-Q2")
	c, err = f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026-Q2", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
	if err != nil {
		t.Fatal(err)
	}
	if ra, _ := c.Events[0].Event.(skp.RatingAssigned); ra.Feedback360 != nil {
		t.Errorf("a period without a round records %+v", ra.Feedback360)
	}
}
