package skp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

const (
	above = "DI_ATAS_EKSPEKTASI"
	meets = "SESUAI_EKSPEKTASI"
	below = "DI_BAWAH_EKSPEKTASI"
)

// finalE returns E's SKP with the annual evaluation issued with the given
// ratings, the clock moved past its objection window (FINAL).
func (f *fixture) finalE(wr, bh string) (string, time.Time) {
	f.tb.Helper()
	id := f.issuedE(wr, bh)
	e := f.evaluation(id, "2026")
	if e.ObjectionDeadline == nil {
		f.tb.Fatalf("no objection window")
	}
	final := e.ObjectionDeadline.Add(time.Second)
	f.at(final.Add(time.Hour))
	return id, final
}

func openCmd(id string) skp.OpenImprovementPlan {
	return skp.OpenImprovementPlan{SKPID: id, Period: "2026", Goals: "Menyelesaikan laporan tepat waktu", Actions: "Pendampingan mingguan oleh atasan"}
}

// TestImprovementPlanCells: the predikat cells that call for a plan and
// those that do not.
func TestImprovementPlanCells(t *testing.T) {
	for _, c := range []struct {
		wr, bh string
		want   rating.Predikat
		needs  bool
	}{
		{above, above, rating.SangatBaik, false},
		{meets, meets, rating.Baik, false},
		{above, meets, rating.Baik, false},
		{below, meets, rating.ButuhPerbaikan, true},
		{below, above, rating.ButuhPerbaikan, true},
		{meets, below, rating.KurangMisconduct, true},
		{below, below, rating.SangatKurang, true},
	} {
		t.Run(c.wr+"/"+c.bh, func(t *testing.T) {
			if got := skp.NeedsImprovementPlan(c.want); got != c.needs {
				t.Fatalf("NeedsImprovementPlan(%s) = %v", c.want, got)
			}
			f := newFixture(t)
			id, _ := f.finalE(c.wr, c.bh)
			if p := f.evaluation(id, "2026").Predikat; p != c.want {
				t.Fatalf("predikat %s, want %s", p, c.want)
			}
			_, err := f.skps.OpenImprovementPlan(f.ctx, f.req(nipA), openCmd(id))
			if c.needs {
				expect(t, err, "", "")
			} else {
				expect(t, err, "invalid_state", "")
			}
		})
	}
}

func TestOpenImprovementPlan(t *testing.T) {
	t.Run("default follow-up six months after finality", func(t *testing.T) {
		f := newFixture(t)
		id, final := f.finalE(below, meets)
		f.ok(f.skps.OpenImprovementPlan(f.ctx, f.req(nipA), openCmd(id)))
		sk, _, err := f.skps.Load(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := sk.ImprovementPlanOf("2026")
		want := f.pol.Date(final.In(wib).AddDate(0, 6, 0))
		if !ok || p.FollowUpOn != want || p.Predikat != rating.ButuhPerbaikan || p.OpenedBy != nipA || !p.Open() {
			t.Fatalf("plan = %+v, ok %v; want follow-up %s", p, ok, want)
		}
		if since, ok := sk.FinalSince("2026"); !ok || !since.Equal(final) {
			t.Fatalf("FinalSince = %v %v, want %v", since, ok, final)
		}
		// A second opening (double submit under another key) is refused.
		_, err = f.skps.OpenImprovementPlan(f.ctx, f.req(nipA), openCmd(id))
		expect(t, err, "invalid_state", "")
	})
	t.Run("HR admin opens with a chosen follow-up", func(t *testing.T) {
		f := newFixture(t)
		id, _ := f.finalE(below, below)
		cmd := openCmd(id)
		cmd.FollowUpOn = f.pol.Date(f.env.Clock.Now()).AddDays(90)
		f.ok(f.skps.OpenImprovementPlan(f.ctx, f.hr(), cmd))
	})
	tests := []struct {
		name      string
		final     bool
		caller    string
		cmd       func(f *fixture, id string) skp.OpenImprovementPlan
		wantKind  string
		wantField string
	}{
		{name: "before the evaluation is final", cmd: func(_ *fixture, id string) skp.OpenImprovementPlan { return openCmd(id) }, wantKind: "invalid_state"},
		{name: "by the employee", final: true, caller: nipE, cmd: func(_ *fixture, id string) skp.OpenImprovementPlan { return openCmd(id) }, wantKind: "forbidden"},
		{name: "by an outsider", final: true, caller: nipX, cmd: func(_ *fixture, id string) skp.OpenImprovementPlan { return openCmd(id) }, wantKind: "not_found"},
		{name: "no goals", final: true, cmd: func(_ *fixture, id string) skp.OpenImprovementPlan {
			c := openCmd(id)
			c.Goals = " \t"
			return c
		}, wantKind: "validation", wantField: "goals"},
		{name: "control characters in the actions", final: true, cmd: func(_ *fixture, id string) skp.OpenImprovementPlan {
			c := openCmd(id)
			c.Actions = "a\x00b"
			return c
		}, wantKind: "validation", wantField: "actions"},
		{name: "huge goals", final: true, cmd: func(_ *fixture, id string) skp.OpenImprovementPlan {
			c := openCmd(id)
			c.Goals = strings.Repeat("x", skp.MaxLongTextLen+1)
			return c
		}, wantKind: "validation", wantField: "goals"},
		{name: "a period never rated", final: true, cmd: func(_ *fixture, id string) skp.OpenImprovementPlan {
			c := openCmd(id)
			c.Period = "2026-Q1"
			return c
		}, wantKind: "not_found"},
		{name: "a follow-up today", final: true, cmd: func(f *fixture, id string) skp.OpenImprovementPlan {
			c := openCmd(id)
			c.FollowUpOn = f.pol.Date(f.env.Clock.Now())
			return c
		}, wantKind: "validation", wantField: "follow_up_on"},
		{name: "a follow-up in an old year", final: true, cmd: func(_ *fixture, id string) skp.OpenImprovementPlan {
			c := openCmd(id)
			c.FollowUpOn = calendar.MustNew(1999, 1, 1)
			return c
		}, wantKind: "validation", wantField: "follow_up_on"},
		{name: "a follow-up beyond twelve months", final: true, cmd: func(f *fixture, id string) skp.OpenImprovementPlan {
			c := openCmd(id)
			c.FollowUpOn = f.pol.Date(f.env.Clock.Now()).AddDays(400)
			return c
		}, wantKind: "validation", wantField: "follow_up_on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var id string
			if tt.final {
				id, _ = f.finalE(below, meets)
			} else {
				id = f.issuedE(below, meets)
			}
			caller := nipA
			if tt.caller != "" {
				caller = tt.caller
			}
			_, err := f.skps.OpenImprovementPlan(f.ctx, f.req(caller), tt.cmd(f, id))
			expect(t, err, tt.wantKind, tt.wantField)
		})
	}
}

func TestRecordImprovementResult(t *testing.T) {
	result := func(id string) skp.RecordImprovementResult {
		return skp.RecordImprovementResult{SKPID: id, Period: "2026", Result: skp.Improved, Note: "Laporan kini tepat waktu"}
	}
	t.Run("result before opening refused", func(t *testing.T) {
		f := newFixture(t)
		id, _ := f.finalE(below, meets)
		_, err := f.skps.RecordImprovementResult(f.ctx, f.req(nipA), result(id))
		expect(t, err, "invalid_state", "")
	})
	t.Run("recorded once", func(t *testing.T) {
		f := newFixture(t)
		id, _ := f.finalE(below, meets)
		f.ok(f.skps.OpenImprovementPlan(f.ctx, f.req(nipA), openCmd(id)))
		f.at(f.env.Clock.Now().AddDate(0, 6, 0))
		for _, c := range []struct {
			name   string
			cmd    skp.RecordImprovementResult
			caller string
			want   string
			field  string
		}{
			{name: "unknown result", cmd: skp.RecordImprovementResult{SKPID: id, Period: "2026", Result: "BETTER", Note: "x"}, want: "validation", field: "result"},
			{name: "no note", cmd: skp.RecordImprovementResult{SKPID: id, Period: "2026", Result: skp.NotImproved}, want: "validation", field: "note"},
			{name: "by the employee", cmd: result(id), caller: nipE, want: "forbidden"},
			{name: "by the appraiser", cmd: result(id)},
			{name: "a second result", cmd: result(id), want: "invalid_state"},
		} {
			caller := nipA
			if c.caller != "" {
				caller = c.caller
			}
			_, err := f.skps.RecordImprovementResult(f.ctx, f.req(caller), c.cmd)
			if kind(err) != c.want || (c.field != "" && field(err) != c.field) {
				t.Fatalf("%s: err %v, want %s %s", c.name, err, c.want, c.field)
			}
		}
		sk, _, _ := f.skps.Load(f.ctx, id)
		if p, _ := sk.ImprovementPlanOf("2026"); p.Result != skp.Improved || p.ResultBy != nipA || p.ResultAt == nil || p.Open() {
			t.Fatalf("plan = %+v", p)
		}
	})
	t.Run("dated beyond the tolerance without paper", func(t *testing.T) {
		f := newFixture(t)
		id, _ := f.finalE(below, meets)
		f.ok(f.skps.OpenImprovementPlan(f.ctx, f.req(nipA), openCmd(id)))
		f.at(f.env.Clock.Now().AddDate(0, 0, 10))
		req := f.req(nipA)
		req.OccurredAt = f.env.Clock.Now().Add(-48 * time.Hour)
		_, err := f.skps.RecordImprovementResult(f.ctx, req, result(id))
		expect(t, err, "validation", "occurred_at")
	})
}
