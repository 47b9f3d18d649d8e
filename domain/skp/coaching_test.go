package skp_test

import (
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func TestCoachingAndDevelopment(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	a := f.req(nipA)
	// Dialogue and coaching note: valid, refused.
	if _, _, err := f.skps.RecordCoaching(f.ctx, a, skp.RecordCoaching{SKPID: id, Kind: "DIALOGUE", Period: "2026-Q1", HeldOn: "2026-03-10", Text: "Capaian dibahas"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		req       domain.Request
		cmd       skp.RecordCoaching
		wantKind  string
		wantField string
	}{
		{"the employee", f.req(nipE), skp.RecordCoaching{Kind: "DIALOGUE", Period: "2026-Q1", HeldOn: "2026-03-10", Text: "x"}, "forbidden", ""},
		{"an outsider", f.req(nipX), skp.RecordCoaching{Kind: "DIALOGUE", Period: "2026-Q1", HeldOn: "2026-03-10", Text: "x"}, "not_found", ""},
		{"unknown kind", a, skp.RecordCoaching{Kind: "CHAT", Period: "2026-Q1", HeldOn: "2026-03-10", Text: "x"}, "validation", "kind"},
		{"an old date", a, skp.RecordCoaching{Kind: "COACHING", Period: "2026-Q1", HeldOn: "1999-03-10", Text: "x"}, "validation", "held_on"},
		{"not a date", a, skp.RecordCoaching{Kind: "COACHING", Period: "2026-Q1", HeldOn: "10/03/2026", Text: "x"}, "validation", "held_on"},
		{"no text", a, skp.RecordCoaching{Kind: "COACHING", Period: "2026-Q1", HeldOn: "2026-03-10", Text: "  "}, "validation", "text"},
		{"huge text", a, skp.RecordCoaching{Kind: "COACHING", Period: "2026-Q1", HeldOn: "2026-03-10", Text: strings.Repeat("x", skp.MaxLongTextLen+1)}, "validation", "text"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cmd.SKPID = id
			_, _, err := f.skps.RecordCoaching(f.ctx, c.req, c.cmd)
			expect(t, err, c.wantKind, c.wantField)
		})
	}
	gap, _, err := f.skps.IdentifyGap(f.ctx, a, skp.IdentifyGap{SKPID: id, Competency: "  Analisis   data ", Description: "Olah data desa"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.skps.IdentifyGap(f.ctx, a, skp.IdentifyGap{SKPID: id})
	expect(t, err, "validation", "competency")
	_, _, err = f.skps.PlanDevelopment(f.ctx, a, skp.PlanDevelopment{SKPID: id, GapID: "nope", Kind: "TRAINING", Title: "Pelatihan", DueDate: "2026-06-30"})
	expect(t, err, "validation", "gap_id")
	_, _, err = f.skps.PlanDevelopment(f.ctx, a, skp.PlanDevelopment{SKPID: id, Kind: "HOLIDAY", Title: "x", DueDate: "2026-06-30"})
	expect(t, err, "validation", "kind")
	action, _, err := f.skps.PlanDevelopment(f.ctx, a, skp.PlanDevelopment{SKPID: id, GapID: gap, Kind: "TRAINING", Title: "Pelatihan analisis data", DueDate: "2026-06-30"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.skps.PlanDevelopment(f.ctx, a, skp.PlanDevelopment{SKPID: id, Kind: "MENTORING", Title: "Pendampingan", DueDate: "2026-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	sk, _, err := f.skps.Load(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	dev := sk.Development(calendar.MustNew(2026, 7, 1))
	if len(dev.Coaching) != 1 || len(dev.Gaps) != 1 || dev.Gaps[0].Competency != "Analisis data" || len(dev.Actions) != 2 ||
		!dev.Actions[0].Overdue || dev.Actions[1].Overdue {
		t.Errorf("development = %+v", dev)
	}
	if skp.NormalizeCompetency(" Analisis  DATA") != "analisis data" {
		t.Error("NormalizeCompetency")
	}
	// Concluding: an outcome; the same again nothing; another refused.
	_, err = f.skps.ConcludeDevelopment(f.ctx, a, skp.ConcludeDevelopment{SKPID: id, ActionID: action, Outcome: "DONE"})
	expect(t, err, "validation", "outcome")
	_, err = f.skps.ConcludeDevelopment(f.ctx, a, skp.ConcludeDevelopment{SKPID: id, ActionID: "nope", Outcome: "COMPLETED"})
	expect(t, err, "not_found", "")
	f.ok(f.skps.ConcludeDevelopment(f.ctx, a, skp.ConcludeDevelopment{SKPID: id, ActionID: action, Outcome: "COMPLETED", Note: "Bersertifikat"}))
	c, err := f.skps.ConcludeDevelopment(f.ctx, a, skp.ConcludeDevelopment{SKPID: id, ActionID: action, Outcome: "COMPLETED", Note: "Bersertifikat"})
	if err != nil || len(c.Events) != 0 {
		t.Errorf("the same outcome again: %v, %d events", err, len(c.Events))
	}
	_, err = f.skps.ConcludeDevelopment(f.ctx, a, skp.ConcludeDevelopment{SKPID: id, ActionID: action, Outcome: "CANCELLED"})
	expect(t, err, "invalid_state", "")
	dev, err = f.skps.Development(f.ctx, domain.Principal{ID: nipE}, id)
	if err != nil || dev.Actions[0].Outcome != skp.OutcomeCompleted || dev.Actions[0].Overdue || dev.Actions[1].ActionID != other {
		t.Errorf("the employee reads %+v, %v", dev, err)
	}
	if _, err := f.skps.Development(f.ctx, domain.Principal{ID: nipX}, id); kind(err) != "not_found" {
		t.Errorf("an outsider reads the development: %v", err)
	}
}
