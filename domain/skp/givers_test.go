package skp_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// TestFeedbackGivers: X works in BAPPEDA, outside E's unit; once the
// appraiser or HR assigns X as TEAM_LEAD or PEMBERI_PERTIMBANGAN, X gives
// feedback on E's SKP, recorded with that relationship, until revoked.
func TestFeedbackGivers(t *testing.T) {
	tests := []struct {
		name      string
		by        func(*fixture) domain.Request
		cmd       skp.AssignFeedbackGiver
		wantKind  string
		wantField string
	}{
		{name: "the appraiser assigns a team lead", by: func(f *fixture) domain.Request { return f.req(nipA) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipX, Kind: "TEAM_LEAD", AssignmentRef: "SK Tim 800/7"}},
		{name: "HR assigns a pemberi pertimbangan (printed NIP)", by: func(f *fixture) domain.Request { return f.hr() },
			cmd: skp.AssignFeedbackGiver{GiverNIP: "19920707 201707 1 007", Kind: "PEMBERI_PERTIMBANGAN"}},
		{name: "the employee may not assign", by: func(f *fixture) domain.Request { return f.req(nipE) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipX, Kind: "TEAM_LEAD"}, wantKind: "forbidden"},
		{name: "the appraiser's superior may not assign", by: func(f *fixture) domain.Request { return f.req(nipS) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipX, Kind: "TEAM_LEAD"}, wantKind: "forbidden"},
		{name: "an outsider does not even see the SKP", by: func(f *fixture) domain.Request { return f.req(nipX) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipX, Kind: "TEAM_LEAD"}, wantKind: "not_found"},
		{name: "unknown kind", by: func(f *fixture) domain.Request { return f.req(nipA) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipX, Kind: "PEER"}, wantKind: "validation", wantField: "kind"},
		{name: "malformed NIP", by: func(f *fixture) domain.Request { return f.req(nipA) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: "12345", Kind: "TEAM_LEAD"}, wantKind: "validation", wantField: "giver_nip"},
		{name: "unregistered giver", by: func(f *fixture) domain.Request { return f.req(nipA) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: "199909092020091009", Kind: "TEAM_LEAD"}, wantKind: "validation", wantField: "giver_nip"},
		{name: "the employee as giver", by: func(f *fixture) domain.Request { return f.req(nipA) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipE, Kind: "TEAM_LEAD"}, wantKind: "validation", wantField: "giver_nip"},
		{name: "the appraiser as giver", by: func(f *fixture) domain.Request { return f.hr() },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipA, Kind: "TEAM_LEAD"}, wantKind: "validation", wantField: "giver_nip"},
		{name: "a control character in the reference", by: func(f *fixture) domain.Request { return f.req(nipA) },
			cmd: skp.AssignFeedbackGiver{GiverNIP: nipX, Kind: "TEAM_LEAD", AssignmentRef: "SK\x1b[2J"}, wantKind: "validation", wantField: "assignment_ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, rhk, _ := f.establishedE()
			// Before any assignment X, outside the unit, may not give feedback.
			_, _, err := f.skps.GiveFeedback(f.ctx, f.req(nipX), skp.GiveFeedback{SKPID: id, Text: "Bagus"})
			expect(t, err, "not_found", "")
			tt.cmd.SKPID = id
			_, err = f.skps.AssignFeedbackGiver(f.ctx, tt.by(f), tt.cmd)
			if tt.wantKind != "" {
				expect(t, err, tt.wantKind, tt.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Again: nothing new.
			c, err := f.skps.AssignFeedbackGiver(f.ctx, tt.by(f), tt.cmd)
			if err != nil || len(c.Events) != 0 {
				t.Fatalf("repeat = %v, %d events; want a no-op", err, len(c.Events))
			}
			if g := f.view(id).FeedbackGivers; len(g) != 1 || g[0].NIP != nipX || string(g[0].Kind) != tt.cmd.Kind {
				t.Fatalf("givers = %+v", g)
			}
			_, c, err = f.skps.GiveFeedback(f.ctx, f.req(nipX), skp.GiveFeedback{SKPID: id, About: skp.FeedbackAbout{RHKID: rhk}, Text: "Koordinasi lintas unit baik"})
			if err != nil {
				t.Fatal(err)
			}
			if c.Events[0].Meta.Actor.Role != domain.RoleFeedbackGiver {
				t.Errorf("role = %s, want FEEDBACK_GIVER", c.Events[0].Meta.Actor.Role)
			}
			fb := f.view(id).Feedback
			if got := fb[len(fb)-1]; string(got.Relationship) != tt.cmd.Kind || got.GiverNIP != nipX {
				t.Errorf("feedback = %+v, want relationship %s", got, tt.cmd.Kind)
			}
			// The giver never rates.
			_, err = f.skps.Rate(f.ctx, f.req(nipX), skp.Rate{SKPID: id, Period: "2026-Q1", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "x"})
			expect(t, err, "forbidden", "")
			// Revoked: no more feedback; revoking again changes nothing.
			f.ok(f.skps.AssignFeedbackGiver(f.ctx, f.hr(), skp.AssignFeedbackGiver{SKPID: id, GiverNIP: nipX, Revoke: true}))
			c, err = f.skps.AssignFeedbackGiver(f.ctx, f.hr(), skp.AssignFeedbackGiver{SKPID: id, GiverNIP: nipX, Revoke: true})
			if err != nil || len(c.Events) != 0 {
				t.Errorf("second revoke = %v, %d events", err, len(c.Events))
			}
			_, _, err = f.skps.GiveFeedback(f.ctx, f.req(nipX), skp.GiveFeedback{SKPID: id, Text: "lagi"})
			expect(t, err, "forbidden", "")
		})
	}
}
