package skp_test

import (
	"math"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"pgregory.net/rapid"
)

// TestCapaian is the achievement formula with its boundaries, in both
// directions.
func TestCapaian(t *testing.T) {
	tests := []struct {
		name string
		r, t float64
		d    skp.Direction
		want float64
		ok   bool
	}{
		{"higher: on target", 120, 120, skp.HigherIsBetter, 100, true},
		{"higher: nothing achieved", 0, 120, skp.HigherIsBetter, 0, true},
		{"higher: double the target", 240, 120, skp.HigherIsBetter, 200, true},
		{"higher: a third, rounded to 2 decimals", 1, 3, skp.HigherIsBetter, 33.33, true},
		{"lower: on target", 10, 10, skp.LowerIsBetter, 100, true},
		{"lower: half the target", 5, 10, skp.LowerIsBetter, 150, true},
		{"lower: zero spent", 0, 10, skp.LowerIsBetter, 200, true},
		{"lower: double the target", 20, 10, skp.LowerIsBetter, 0, true},
		{"lower: over double, floored at 0", 35, 10, skp.LowerIsBetter, 0, true},
		{"a target of 0 has no capaian", 5, 0, skp.HigherIsBetter, 0, false},
		{"NaN realisation", math.NaN(), 10, skp.HigherIsBetter, 0, false},
		{"infinite target", 1, math.Inf(1), skp.HigherIsBetter, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := skp.Capaian(tt.r, tt.t, tt.d)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Capaian(%v, %v, %s) = %v, %v; want %v, %v", tt.r, tt.t, tt.d, got, ok, tt.want, tt.ok)
			}
		})
	}
	if skp.DirectionOf(skp.Waktu) != skp.LowerIsBetter || skp.DirectionOf(skp.Biaya) != skp.LowerIsBetter ||
		skp.DirectionOf(skp.Kuantitas) != skp.HigherIsBetter || skp.DirectionOf(skp.Kualitas) != skp.HigherIsBetter {
		t.Error("directions by aspect")
	}
}

// TestCapaianMonotone: more realisation is never a worse capaian when
// higher is better, never a better one when lower is better; on target is
// always 100 %.
func TestCapaianMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tg := rapid.Float64Range(0.01, 1e6).Draw(t, "target")
		a := rapid.Float64Range(0, 1e7).Draw(t, "a")
		b := rapid.Float64Range(0, 1e7).Draw(t, "b")
		if a > b {
			a, b = b, a
		}
		ha, _ := skp.Capaian(a, tg, skp.HigherIsBetter)
		hb, _ := skp.Capaian(b, tg, skp.HigherIsBetter)
		la, _ := skp.Capaian(a, tg, skp.LowerIsBetter)
		lb, _ := skp.Capaian(b, tg, skp.LowerIsBetter)
		if ha > hb || la < lb || lb < 0 {
			t.Fatalf("not monotone: target %v, %v→(%v,%v), %v→(%v,%v)", tg, a, ha, la, b, hb, lb)
		}
		if on, _ := skp.Capaian(tg, tg, skp.LowerIsBetter); on != 100 {
			t.Fatalf("on target = %v", on)
		}
	})
}

// TestAchievements: the latest realisation of the period (or of a period
// within it) against the target of the version in effect.
func TestAchievements(t *testing.T) {
	f := newFixture(t)
	id, rhk, ind := f.establishedE()
	if a := f.view(id); len(a.Evaluations) != 0 {
		t.Fatal("no evaluation yet")
	}
	record := func(per string, v float64) {
		f.env.Clock.Advance(time.Hour)
		if _, _, err := f.skps.RecordRealisation(f.ctx, f.req(nipE), skp.RecordRealisation{SKPID: id, Period: per, IndicatorID: ind, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	record("2026-Q1", 30)
	record("2026-Q2", 90)
	f.env.Clock.Set(time.Date(2026, 7, 2, 9, 0, 0, 0, wib))
	f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	f.rate(id, "2026-Q3", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	f.env.Clock.Set(time.Date(2027, 1, 4, 9, 0, 0, 0, wib))
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	want := map[string]float64{"2026-Q1": 25, "2026": 75} // target 120 balita
	for _, ev := range f.view(id).Evaluations {
		if len(ev.Achievements) != 1 || ev.Achievements[0].RHKID != rhk || ev.Achievements[0].IndicatorID != ind {
			t.Fatalf("%s achievements = %+v", ev.Period, ev.Achievements)
		}
		a := ev.Achievements[0]
		w, has := want[ev.Period]
		switch {
		case !has && (a.Percent != nil || a.Realisation != nil):
			t.Errorf("%s: no realisation yet, got %+v", ev.Period, a)
		case has && (a.Percent == nil || *a.Percent != w):
			t.Errorf("%s: capaian = %v, want %v", ev.Period, a.Percent, w)
		}
	}
}

// TestRatingGrounds: per-RHK ratings and per-value notes recorded with the
// rating; the overall rating stays the appraiser's; bad grounds are refused
// with nothing written; a required policy asks for all of them.
func TestRatingGrounds(t *testing.T) {
	good := func(rhk string) skp.Grounds {
		return skp.Grounds{WorkResults: []skp.RHKRating{{RHKID: rhk, Rating: rating.AboveExpectation, Rationale: "98% dari target"}},
			BehaviourNotes: []skp.ValueNote{{Value: berakhlak.Kolaboratif, Note: "Menggerakkan kader"}}}
	}
	tests := []struct {
		name      string
		require   bool
		grounds   func(rhk string) skp.Grounds
		wantKind  string
		wantField string
	}{
		{name: "optional grounds given", grounds: good},
		{name: "none given, not required", grounds: func(string) skp.Grounds { return skp.Grounds{} }},
		{name: "an RHK not in the plan", grounds: func(string) skp.Grounds {
			return skp.Grounds{WorkResults: []skp.RHKRating{{RHKID: "nope", Rating: rating.MeetsExpectation, Rationale: "x"}}}
		}, wantKind: "validation", wantField: "work_results[0].rhk_id"},
		{name: "an RHK rated twice", grounds: func(rhk string) skp.Grounds {
			r := skp.RHKRating{RHKID: rhk, Rating: rating.MeetsExpectation, Rationale: "x"}
			return skp.Grounds{WorkResults: []skp.RHKRating{r, r}}
		}, wantKind: "validation", wantField: "work_results[1].rhk_id"},
		{name: "a bad rating", grounds: func(rhk string) skp.Grounds {
			return skp.Grounds{WorkResults: []skp.RHKRating{{RHKID: rhk, Rating: "BAGUS", Rationale: "x"}}}
		}, wantKind: "validation", wantField: "work_results[0].rating"},
		{name: "an RHK rating without its rationale", grounds: func(rhk string) skp.Grounds {
			return skp.Grounds{WorkResults: []skp.RHKRating{{RHKID: rhk, Rating: rating.MeetsExpectation, Rationale: "  "}}}
		}, wantKind: "validation", wantField: "work_results[0].rationale"},
		{name: "an unknown value", grounds: func(string) skp.Grounds {
			return skp.Grounds{BehaviourNotes: []skp.ValueNote{{Value: "JUJUR", Note: "x"}}}
		}, wantKind: "validation", wantField: "behaviour_notes[0].value"},
		{name: "a value noted twice", grounds: func(string) skp.Grounds {
			n := skp.ValueNote{Value: berakhlak.Loyal, Note: "x"}
			return skp.Grounds{BehaviourNotes: []skp.ValueNote{n, n}}
		}, wantKind: "validation", wantField: "behaviour_notes[1].value"},
		{name: "required: all seven values missing", require: true, grounds: func(rhk string) skp.Grounds {
			return skp.Grounds{WorkResults: []skp.RHKRating{{RHKID: rhk, Rating: rating.MeetsExpectation, Rationale: "x"}}}
		}, wantKind: "validation", wantField: "behaviour_notes"},
		{name: "required: all given", require: true, grounds: func(rhk string) skp.Grounds {
			g := skp.Grounds{WorkResults: []skp.RHKRating{{RHKID: rhk, Rating: rating.MeetsExpectation, Rationale: "x"}}}
			for _, v := range berakhlak.Values() {
				g.BehaviourNotes = append(g.BehaviourNotes, skp.ValueNote{Value: v, Note: "sesuai"})
			}
			return g
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(p *policy.Policy) { p.RequireRatingGrounds = tt.require })
			id, rhk, _ := f.establishedE()
			f.after("2026-Q1")
			before := f.view(id).Revision
			g := tt.grounds(rhk)
			c, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026-Q1", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI",
				Rationale: "sesuai bukti dukung", Grounds: g})
			if tt.wantKind != "" {
				expect(t, err, tt.wantKind, tt.wantField)
				if f.view(id).Revision != before {
					t.Error("a refused rating wrote")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ev := f.evaluation(id, "2026-Q1")
			// The overall rating is the appraiser's, whatever the RHK say.
			if ev.WorkResult != rating.MeetsExpectation {
				t.Errorf("overall work result = %s", ev.WorkResult)
			}
			if len(g.WorkResults)+len(g.BehaviourNotes) == 0 {
				if ev.Grounds != nil || len(c.Events) != 1 {
					t.Errorf("no grounds given: %+v, %d events", ev.Grounds, len(c.Events))
				}
				return
			}
			if ev.Grounds == nil || len(ev.Grounds.WorkResults) != len(g.WorkResults) || len(c.Events) != 2 {
				t.Fatalf("grounds = %+v (%d events)", ev.Grounds, len(c.Events))
			}
			// The same again: nothing. Only the grounds changed: one event.
			c, err = f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026-Q1", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI",
				Rationale: "sesuai bukti dukung", Grounds: g})
			if err != nil || len(c.Events) != 0 {
				t.Fatalf("repeat = %v, %d events", err, len(c.Events))
			}
			g.WorkResults[0].Rationale = "dikoreksi"
			c, err = f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026-Q1", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI",
				Rationale: "sesuai bukti dukung", Grounds: g})
			if err != nil || len(c.Events) != 1 || c.Events[0].Event.EventType() != "skp.rating_grounds_recorded.v1" {
				t.Fatalf("grounds only = %v, %+v", err, c.Events)
			}
			if got := f.evaluation(id, "2026-Q1").Grounds.WorkResults[0].Rationale; got != "dikoreksi" {
				t.Errorf("grounds in effect = %q", got)
			}
		})
	}
}

// TestDirectionOverride: an indicator's direction set in the plan
// overrides its aspect's for the capaian (a count of complaints is a
// KUANTITAS whose lower value is better); an unknown direction is refused;
// changing only the direction is a change; "" goes back to the aspect's.
func TestDirectionOverride(t *testing.T) {
	tests := []struct {
		name      string
		aspect    string
		direction string
		wantKind  string
		wantField string
		want      float64 // capaian of 5 against a target of 10
		wantDir   skp.Direction
	}{
		{name: "KUANTITAS by its aspect", aspect: "KUANTITAS", want: 50, wantDir: skp.HigherIsBetter},
		{name: "KUANTITAS, lower is better", aspect: "KUANTITAS", direction: "LOWER_IS_BETTER", want: 150, wantDir: skp.LowerIsBetter},
		{name: "WAKTU by its aspect", aspect: "WAKTU", want: 150, wantDir: skp.LowerIsBetter},
		{name: "WAKTU, higher is better", aspect: "WAKTU", direction: "HIGHER_IS_BETTER", want: 50, wantDir: skp.HigherIsBetter},
		{name: "an unknown direction", aspect: "KUANTITAS", direction: "SIDEWAYS", wantKind: "validation", wantField: "direction"},
		{name: "lower case is not a direction", aspect: "KUANTITAS", direction: "lower_is_better", wantKind: "validation", wantField: "direction"},
		{name: "a control character", aspect: "KUANTITAS", direction: "LOWER_IS_BETTER\x00", wantKind: "validation", wantField: "direction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, rhk, _ := f.draftedE()
			ind, _, err := f.skps.AddIndicator(f.ctx, f.req(nipE), skp.AddIndicator{SKPID: id, RHKID: rhk, IndicatorFields: skp.IndicatorFields{
				Aspect: tt.aspect, Text: "Jumlah pengaduan", Target: skp.Target{Value: 10, Unit: "pengaduan"}, Direction: tt.direction}})
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind != "" {
				return
			}
			f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
			f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
			f.env.Clock.Advance(time.Hour)
			if _, _, err := f.skps.RecordRealisation(f.ctx, f.req(nipE), skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: ind, Value: 5}); err != nil {
				t.Fatal(err)
			}
			f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
			for _, a := range f.evaluation(id, "2026-Q1").Achievements {
				if a.IndicatorID != ind {
					continue
				}
				if a.Direction != tt.wantDir || a.Percent == nil || *a.Percent != tt.want {
					t.Errorf("capaian %v in direction %s, want %v %s", a.Percent, a.Direction, tt.want, tt.wantDir)
				}
				return
			}
			t.Fatal("no achievement for the indicator")
		})
	}
}

// Changing only an indicator's direction is a change (an event); the same
// direction again is none; "" returns to the aspect's.
func TestChangeIndicatorDirection(t *testing.T) {
	f := newFixture(t)
	id, _, ind := f.draftedE()
	fields := skp.IndicatorFields{Aspect: "KUANTITAS", Text: "Jumlah balita diimunisasi", Target: skp.Target{Value: 120, Unit: "balita"}}
	change := func(dir string) int {
		t.Helper()
		fields.Direction = dir
		c, err := f.skps.ChangeIndicator(f.ctx, f.req(nipE), skp.ChangeIndicator{SKPID: id, IndicatorID: ind, IndicatorFields: fields})
		if err != nil {
			t.Fatal(err)
		}
		return len(c.Events)
	}
	if n := change(""); n != 0 {
		t.Errorf("unchanged fields wrote %d events", n)
	}
	if n := change("LOWER_IS_BETTER"); n != 1 {
		t.Errorf("a new direction wrote %d events", n)
	}
	if n := change("LOWER_IS_BETTER"); n != 0 {
		t.Errorf("the same direction again wrote %d events", n)
	}
	if n := change(""); n != 1 {
		t.Errorf("back to the aspect's wrote %d events", n)
	}
}
