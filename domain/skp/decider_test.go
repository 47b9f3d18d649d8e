package skp_test

import (
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// decide asks who to request both explanations and decide (UPHELD).
func (f *fixture) decideAs(id, who string) error {
	f.tb.Helper()
	for _, from := range []string{"EMPLOYEE", "APPRAISER"} {
		if _, _, err := f.skps.RequestExplanation(f.ctx, f.req(who), skp.RequestExplanation{SKPID: id, Period: "2026", From: from}); err != nil {
			return err
		}
	}
	_, err := f.skps.DecideObjection(f.ctx, f.req(who), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "tetap"})
	return err
}

// TestObjectionStuckThenEscalated: A rated E; on the filing date A has
// become the superior of E's line (B appraises E, A appraises B), so the
// only eligible decider is the original appraiser. A clerk records the
// escalation to the next level up (A's own appraiser, S), who decides.
func TestObjectionStuckThenEscalated(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	jan6 := calendar.MustNew(2027, 1, 5)
	f.line(nipB, nipA, nipS, jan6)
	f.line(nipE, nipB, nipA, jan6)
	f.env.Clock.Set(time.Date(2027, 1, 6, 9, 0, 0, 0, wib))
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Stuck: the superior as of filing is A, the original appraiser.
	expect(t, f.decideAs(id, nipA), "forbidden", "")
	steps := []struct {
		name      string
		req       domain.Request
		cmd       skp.AssignObjectionDecider
		wantKind  string
		wantField string
	}{
		{"the employee may not escalate", f.req(nipE), skp.AssignObjectionDecider{Basis: "ESCALATION", Ref: "macet"}, "forbidden", ""},
		{"the stuck appraiser may not delegate", f.req(nipA), skp.AssignObjectionDecider{Basis: "DELEGATION_PLT", DeciderNIP: nipU, Ref: "ND 1"}, "forbidden", ""},
		{"no reference", f.req(clerk, domain.RoleGrievanceClerk), skp.AssignObjectionDecider{Basis: "ESCALATION"}, "validation", "ref"},
		{"unknown basis", f.req(clerk, domain.RoleGrievanceClerk), skp.AssignObjectionDecider{Basis: "APPEAL", Ref: "x"}, "validation", "basis"},
		{"escalation naming someone else", f.req(clerk, domain.RoleGrievanceClerk), skp.AssignObjectionDecider{Basis: "ESCALATION", DeciderNIP: nipU, Ref: "macet"}, "validation", "decider_nip"},
		{"HR delegating to the original appraiser", f.hr(), skp.AssignObjectionDecider{Basis: "DELEGATION_PLH", DeciderNIP: nipA, Ref: "SPT 2"}, "validation", "decider_nip"},
		{"HR delegating to the employee", f.hr(), skp.AssignObjectionDecider{Basis: "DELEGATION_PLH", DeciderNIP: nipE, Ref: "SPT 2"}, "validation", "decider_nip"},
		{"the clerk escalates", f.req(clerk, domain.RoleGrievanceClerk), skp.AssignObjectionDecider{Basis: "ESCALATION", Ref: "atasan pejabat penilai adalah pejabat penilai semula"}, "", ""},
		{"nothing stuck any more", f.req(clerk, domain.RoleGrievanceClerk), skp.AssignObjectionDecider{Basis: "ESCALATION", Ref: "lagi"}, "invalid_state", ""},
	}
	for _, st := range steps {
		st.cmd.SKPID, st.cmd.Period = id, "2026"
		_, err := f.skps.AssignObjectionDecider(f.ctx, st.req, st.cmd)
		if st.wantKind == "" {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			continue
		}
		if kind(err) != st.wantKind || (st.wantField != "" && field(err) != st.wantField) {
			t.Errorf("%s: error %v, want %s %s", st.name, err, st.wantKind, st.wantField)
		}
	}
	expect(t, f.decideAs(id, nipA), "forbidden", "")
	if err := f.decideAs(id, nipS); err != nil {
		t.Fatalf("S decides after the escalation: %v", err)
	}
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalFinal || ev.Objection.Decision == nil {
		t.Errorf("evaluation = %+v", ev)
	}
}

// TestObjectionDelegatedToPlt: the superior S hands the decision to U as
// Plt; from then on U decides and S no longer may.
func TestObjectionDelegatedToPlt(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Not stuck: escalation is refused.
	_, err := f.skps.AssignObjectionDecider(f.ctx, f.hr(), skp.AssignObjectionDecider{SKPID: id, Period: "2026", Basis: "ESCALATION", Ref: "x"})
	expect(t, err, "invalid_state", "")
	_, err = f.skps.AssignObjectionDecider(f.ctx, f.req(nipP), skp.AssignObjectionDecider{SKPID: id, Period: "2026", Basis: "DELEGATION_PLT", DeciderNIP: nipU, Ref: "x"})
	expect(t, err, "not_found", "")
	f.ok(f.skps.AssignObjectionDecider(f.ctx, f.req(nipS), skp.AssignObjectionDecider{SKPID: id, Period: "2026", Basis: "DELEGATION_PLT",
		DeciderNIP: "19790909 200509 1 009", Ref: "Surat Perintah Plt 800/31/2026"}))
	expect(t, f.decideAs(id, nipS), "forbidden", "")
	if err := f.decideAs(id, nipU); err != nil {
		t.Fatalf("the Plt decides: %v", err)
	}
	// After the decision: nothing open to delegate.
	_, err = f.skps.AssignObjectionDecider(f.ctx, f.hr(), skp.AssignObjectionDecider{SKPID: id, Period: "2026", Basis: "DELEGATION_PLH", DeciderNIP: nipT, Ref: "x"})
	expect(t, err, "invalid_state", "")
}

// TestOfficialAppraiserObjection: the minister (no NIP) appraises S and is
// S's appraiser's superior too (domain.md §2.1's table). S's objection is
// addressed to the minister, who rated: the minister may not decide, no one
// is above to escalate to, and HR records the minister's decree naming a
// decider (a delegation), who decides.
func TestOfficialAppraiserObjection(t *testing.T) {
	f := newFixture(t)
	f.ok(f.emps.RegisterOfficial(f.ctx, f.hr(), employee.RegisterOfficial{ID: "MENKES", Kind: "MINISTER", Title: "Menteri Kesehatan"}))
	const minister = "official:MENKES"
	f.line(nipS, minister, minister, jan1)
	id, _ := f.draft(nipS)
	rhk := f.addRHK(nipS, id, skp.RHKFields{Text: "Meningkatnya derajat kesehatan", Kind: "UTAMA", PKRef: "PK-KEMENKES-2026-1"})
	f.addIndicator(nipS, id, rhk)
	f.ok(f.skps.Submit(f.ctx, f.req(nipS), skp.Submit{SKPID: id}))
	f.ok(f.skps.Establish(f.ctx, f.req(minister), skp.Establish{SKPID: id}))
	f.after("2026")
	f.ok(f.skps.Rate(f.ctx, f.req(minister), skp.Rate{SKPID: id, Period: "2026", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "sesuai PK"}))
	f.ok(f.skps.Issue(f.ctx, f.req(minister), skp.Issue{SKPID: id, Period: "2026"}))
	if err := f.file(id, f.req(nipS), time.Time{}); err != nil {
		t.Fatal(err)
	}
	expect(t, f.decideAs(id, minister), "forbidden", "")
	_, err := f.skps.AssignObjectionDecider(f.ctx, f.req(clerk, domain.RoleGrievanceClerk), skp.AssignObjectionDecider{SKPID: id, Period: "2026", Basis: "ESCALATION", Ref: "menteri menilai dan menjadi atasan"})
	expect(t, err, "invalid_state", "")
	f.ok(f.skps.AssignObjectionDecider(f.ctx, f.hr(), skp.AssignObjectionDecider{SKPID: id, Period: "2026", Basis: "DELEGATION_PLH", DeciderNIP: nipT,
		Ref: "Keputusan Menteri Kesehatan 800/2026 tentang pemutus keberatan"}))
	if err := f.decideAs(id, nipT); err != nil {
		t.Fatalf("the delegated decider decides: %v", err)
	}
}
