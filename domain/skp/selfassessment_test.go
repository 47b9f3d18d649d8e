package skp_test

import (
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func TestSubmitSelfAssessment(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fixture, id string)
		caller    string
		cmd       func(id, rhk string) skp.SubmitSelfAssessment
		wantKind  string
		wantField string
	}{
		{name: "a quarter with a note", cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "Target triwulan tercapai", RHKNotes: []skp.RHKNote{{RHKID: rhk, Note: "Dua posyandu baru"}}}
		}},
		{name: "the year, empty notes dropped", cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026", Text: "Setahun", RHKNotes: []skp.RHKNote{{RHKID: rhk, Note: "  "}}}
		}},
		{name: "no text", cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: " \n "}
		}, wantKind: "validation", wantField: "text"},
		{name: "a text too long", cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: strings.Repeat("x", skp.MaxLongTextLen+1)}
		}, wantKind: "validation", wantField: "text"},
		{name: "a period of another year", cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2027", Text: "x"}
		}, wantKind: "validation", wantField: "period"},
		{name: "a note on an unknown RHK", cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "x", RHKNotes: []skp.RHKNote{{RHKID: "nope", Note: "y"}}}
		}, wantKind: "validation", wantField: "rhk_notes[0].rhk_id"},
		{name: "two notes on one RHK", cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "x", RHKNotes: []skp.RHKNote{{RHKID: rhk, Note: "a"}, {RHKID: rhk, Note: "b"}}}
		}, wantKind: "validation", wantField: "rhk_notes[1].rhk_id"},
		{name: "by the appraiser", caller: nipA, cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "x"}
		}, wantKind: "forbidden"},
		{name: "by an outsider", caller: nipX, cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "x"}
		}, wantKind: "not_found"},
		{name: "after the period's evaluation is issued", setup: func(f *fixture, id string) {
			f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
			f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026-Q1"}))
		}, cmd: func(id, rhk string) skp.SubmitSelfAssessment {
			return skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "x"}
		}, wantKind: "invalid_state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, rhk, _ := f.establishedE()
			if tt.setup != nil {
				tt.setup(f, id)
			}
			caller := nipE
			if tt.caller != "" {
				caller = tt.caller
			}
			cmd := tt.cmd(id, rhk)
			_, err := f.skps.SubmitSelfAssessment(f.ctx, f.req(caller), cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind != "" {
				return
			}
			sa := f.view(id).SelfAssessment(cmd.Period)
			if sa == nil || sa.Text != strings.TrimSpace(cmd.Text) || sa.Actor.ID != nipE {
				t.Fatalf("self-assessment = %+v", sa)
			}
			for _, n := range sa.RHKNotes {
				if strings.TrimSpace(n.Note) == "" {
					t.Errorf("an empty note was kept: %+v", sa.RHKNotes)
				}
			}
		})
	}
}

// A self-assessment needs an SKP in effect; a later one supersedes the
// earlier, the same one again records nothing.
func TestSelfAssessmentLifecycle(t *testing.T) {
	f := newFixture(t)
	id, rhk, _ := f.draftedE()
	_, err := f.skps.SubmitSelfAssessment(f.ctx, f.req(nipE), skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "x"})
	expect(t, err, "invalid_state", "")
	f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
	f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
	first := skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "Pertama", RHKNotes: []skp.RHKNote{{RHKID: rhk, Note: "catatan"}}}
	c1, err := f.skps.SubmitSelfAssessment(f.ctx, f.req(nipE), first)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := f.skps.SubmitSelfAssessment(f.ctx, f.req(nipE), first)
	if err != nil || c2.Revision != c1.Revision {
		t.Errorf("the same self-assessment again = %+v, %v; want nothing recorded", c2, err)
	}
	f.ok(f.skps.SubmitSelfAssessment(f.ctx, f.req(nipE), skp.SubmitSelfAssessment{SKPID: id, Period: "2026-Q1", Text: "Kedua"}))
	v := f.view(id)
	if len(v.SelfAssessments) != 2 || !v.SelfAssessments[0].Superseded || v.SelfAssessments[1].Superseded || v.SelfAssessment("2026-Q1").Text != "Kedua" {
		t.Errorf("self-assessments = %+v", v.SelfAssessments)
	}
	if v.SelfAssessment("2026-Q2") != nil {
		t.Error("a period without a self-assessment has one")
	}
}
