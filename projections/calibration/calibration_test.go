package calibration_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
)

var n int

func ev(stream string, e domain.Event) projections.Event {
	n++
	out := projections.Event{Payload: e}
	out.Stream, out.Type, out.OccurredAt = stream, e.EventType(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out.ID = uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%d", n))
	return out
}

var scoresOf = map[rating.Predikat]skp.Scores{
	rating.SangatBaik:       {WorkResult: rating.AboveExpectation, Behaviour: rating.AboveExpectation, Predikat: rating.SangatBaik},
	rating.Baik:             {WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Baik},
	rating.ButuhPerbaikan:   {WorkResult: rating.BelowExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.ButuhPerbaikan},
	rating.KurangMisconduct: {WorkResult: rating.MeetsExpectation, Behaviour: rating.BelowExpectation, Predikat: rating.KurangMisconduct},
	rating.SangatKurang:     {WorkResult: rating.BelowExpectation, Behaviour: rating.BelowExpectation, Predikat: rating.SangatKurang},
}

// agency builds an agency: appraiser i rates the predikats of ratings[i]
// for 2025.
func agency(ratings [][]rating.Predikat) *calibration.Collector {
	c := calibration.NewCollector()
	c.Add(ev("unit-ROOT", orgunit.Registered{UnitID: "ROOT", Name: "Badan"}))
	for i, ps := range ratings {
		unit := fmt.Sprintf("U%d", i)
		appr := fmt.Sprintf("A%02d", i)
		c.Add(ev("unit-"+unit, orgunit.Registered{UnitID: unit, Name: unit, ParentID: "ROOT"}))
		c.Add(ev("employee-"+appr, employee.Registered{NIP: appr, Name: "Penilai " + appr, UnitID: unit}))
		for j, p := range ps {
			id := fmt.Sprintf("E%02d%03d-2025", i, j)
			c.Add(ev("skp-"+id, skp.Drafted{SKPID: id, NIP: id[:6], Employee: skp.Snapshot{UnitID: unit}}))
			c.Add(ev("skp-"+id, skp.RatingAssigned{Period: "2025", Scores: scoresOf[p], AppraiserNIP: appr}))
		}
	}
	return c
}

func repeat(p rating.Predikat, k int) []rating.Predikat {
	out := make([]rating.Predikat, k)
	for i := range out {
		out[i] = p
	}
	return out
}

// usual is an appraiser's ordinary ratings: mostly BAIK.
func usual(k int) []rating.Predikat {
	out := repeat(rating.Baik, k)
	out[0], out[k/2] = rating.SangatBaik, rating.ButuhPerbaikan
	return out
}

// TestSmallNumbersDoNotAlarm: two SANGAT_KURANG ratings, however extreme,
// are never flagged; twenty of them are.
func TestSmallNumbersDoNotAlarm(t *testing.T) {
	var rs [][]rating.Predikat
	for range 20 {
		rs = append(rs, usual(10))
	}
	rs = append(rs, repeat(rating.SangatKurang, 2), repeat(rating.SangatKurang, 20), repeat(rating.SangatBaik, 15))
	rep := agency(rs).Report("2025", calibration.Options{})
	flags := map[string]calibration.Flag{}
	for _, a := range rep.Appraisers {
		flags[a.NIP] = a.Flag
	}
	if flags["A20"] != calibration.None || flags["A21"] != calibration.Severe || flags["A22"] != calibration.Lenient {
		t.Fatalf("flags %v", flags)
	}
	if got := rep.Flagged(); len(got) != 2 {
		t.Fatalf("flagged %v", got)
	}
	if rep.Appraisers[0].Flag == calibration.None {
		t.Fatal("flagged ones are not listed first")
	}
}

// TestNoAlarmWithoutSpread: appraisers whose ratings differ only by chance
// are not flagged, and their indices shrink towards 0.
func TestNoAlarmWithoutSpread(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(2, 30).Draw(t, "appraisers")
		var rs [][]rating.Predikat
		for i := range k {
			m := rapid.IntRange(1, 25).Draw(t, fmt.Sprint("n", i))
			ps := make([]rating.Predikat, m)
			for j := range ps {
				// 10 % SB, 80 % B, 10 % BP, for everyone alike.
				switch x := rapid.IntRange(0, 9).Draw(t, fmt.Sprint("r", i, j)); x {
				case 0:
					ps[j] = rating.SangatBaik
				case 9:
					ps[j] = rating.ButuhPerbaikan
				default:
					ps[j] = rating.Baik
				}
			}
			rs = append(rs, ps)
		}
		rep := agency(rs).Report("2025", calibration.Options{})
		for _, a := range rep.Appraisers {
			// Shrinkage: the index lies between 0 and the raw index.
			if math.Abs(a.Index) > math.Abs(a.Raw)+1e-9 || a.Index*a.Raw < -1e-12 {
				t.Fatalf("%s: index %v, raw %v", a.NIP, a.Index, a.Raw)
			}
			if a.Low > a.Index || a.High < a.Index || a.Weight < 0 || a.Weight > 1 {
				t.Fatalf("%s: %+v", a.NIP, a)
			}
			if a.Given.N < rep.Options.MinRatings && a.Flag != calibration.None {
				t.Fatalf("%s flagged on %d ratings", a.NIP, a.Given.N)
			}
		}
	})
}

// TestCountsObjectionsAndRevisions: the appraiser's own revisions before
// issue replace the rating counted; objections, changes on objection and
// revisions after delivery are counted against them; a unit head's
// rating derived from the unit's predikat is not counted.
func TestCountsObjectionsAndRevisions(t *testing.T) {
	c := agency([][]rating.Predikat{usual(6)})
	s := "skp-X-2025"
	deadline := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	b, sb := scoresOf[rating.Baik], scoresOf[rating.SangatBaik]
	for _, e := range []domain.Event{
		skp.Drafted{SKPID: "X-2025", Employee: skp.Snapshot{UnitID: "U0"}},
		skp.RatingAssigned{Period: "2025", Scores: scoresOf[rating.ButuhPerbaikan], AppraiserNIP: "A00"},
		skp.RatingRevised{Period: "2025", Scores: b, Source: skp.SourceAppraiser, AppraiserNIP: "A00"},
		skp.EvaluationIssued{Period: "2025", Scores: b, AppraiserNIP: "A00", ObjectionDeadline: &deadline},
		skp.ObjectionFiled{ObjectionID: "O", Period: "2025", AppraiserNIP: "A00", Evaluation: b},
		skp.ObjectionDecided{ObjectionID: "O", Period: "2025", Outcome: skp.Changed, Previous: b, Result: sb, Final: true},
		skp.RatingRevised{Period: "2025", Scores: sb, Previous: b, Source: skp.SourceObjection, AppraiserNIP: "S"},
	} {
		c.Add(ev(s, e))
	}
	c.Add(ev("skp-H-2025", skp.Drafted{SKPID: "H-2025", Employee: skp.Snapshot{UnitID: "U0"}}))
	c.Add(ev("skp-H-2025", skp.RatingAssigned{Period: "2025", Scores: scoresOf[rating.SangatKurang], AppraiserNIP: "A00",
		UnitHead: &skp.UnitHeadBasis{UnitID: "U0", OrgPredikat: rating.OrgSangatKurang}}))
	rep := c.Report("2025", calibration.Options{})
	if len(rep.Appraisers) != 1 {
		t.Fatalf("%+v", rep.Appraisers)
	}
	a := rep.Appraisers[0]
	if a.Given.N != 7 || a.Given.Counts[rating.Baik] != 5 || a.Given.Counts[rating.SangatKurang] != 0 || a.Objections != 1 || a.ChangedOnObjection != 1 ||
		a.RevisedBeforeIssue != 1 || a.RevisedAfterDelivery != 1 || a.Name != "Penilai A00" || a.CompareUnitID != "ROOT" || a.Unit.N != 7 {
		t.Fatalf("%+v", a)
	}
	if years := c.Years(); len(years) != 1 || years[0] != "2025" {
		t.Fatalf("years %v", years)
	}
	if got := calibration.Quantile(0.975); math.Abs(got-1.95996) > 1e-4 {
		t.Fatalf("Φ⁻¹(0.975) = %v", got)
	}
}

// TestHeadOf: the head on a day is the assignment in effect then; a
// later assignment with the same date corrects it; a future one is not yet
// in effect; a vacancy has no head.
func TestHeadOf(t *testing.T) {
	c := calibration.NewCollector()
	c.Add(ev("unit-U", orgunit.Registered{UnitID: "U", Name: "U"}))
	for _, h := range []orgunit.HeadAssigned{
		{UnitID: "U", HeadNIP: "A", EffectiveFrom: calendar.MustNew(2025, time.January, 1)},
		{UnitID: "U", HeadNIP: "B", EffectiveFrom: calendar.MustNew(2025, time.January, 1)}, // corrects A
		{UnitID: "U", HeadNIP: "C", EffectiveFrom: calendar.MustNew(2026, time.July, 1)},
		{UnitID: "U", HeadNIP: "", EffectiveFrom: calendar.MustNew(2027, time.January, 1)},
	} {
		c.Add(ev("unit-U", h))
	}
	for day, want := range map[calendar.Date]string{
		calendar.MustNew(2024, time.December, 31): "",
		calendar.MustNew(2025, time.June, 1):      "B",
		calendar.MustNew(2026, time.July, 1):      "C",
		calendar.MustNew(2027, time.March, 1):     "",
	} {
		if got := c.HeadOf("U", day); got != want {
			t.Errorf("head on %s = %q, want %q", day, got, want)
		}
	}
	if !c.HasUnit("U") || c.HasUnit("V") {
		t.Error("HasUnit")
	}
}

// TestCompareUnitDistributions: each appraiser's Unit distribution is
// that of the counted ratings in their compare unit's subtree, whatever the
// tree (computed once for all appraisers now; checked here against
// InSubtree asked of every rating).
func TestCompareUnitDistributions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := calibration.NewCollector()
		units := []string{"ROOT"}
		c.Add(ev("unit-ROOT", orgunit.Registered{UnitID: "ROOT", Name: "Badan"}))
		for i := range rapid.IntRange(0, 12).Draw(t, "units") {
			u, p := fmt.Sprintf("U%d", i), rapid.SampledFrom(units).Draw(t, fmt.Sprint("parent", i))
			c.Add(ev("unit-"+u, orgunit.Registered{UnitID: u, Name: u, ParentID: p}))
			units = append(units, u)
		}
		appraisers := rapid.IntRange(1, 6).Draw(t, "appraisers")
		for a := range appraisers {
			nip := fmt.Sprintf("A%02d", a)
			c.Add(ev("employee-"+nip, employee.Registered{NIP: nip, Name: nip, UnitID: rapid.SampledFrom(units).Draw(t, "unit "+nip)}))
		}
		type rated struct {
			unit string
			p    rating.Predikat
		}
		var all []rated
		for i := range rapid.IntRange(0, 40).Draw(t, "ratings") {
			id := fmt.Sprintf("E%03d-2025", i)
			unit := rapid.SampledFrom(units).Draw(t, "unit "+id)
			p := rapid.SampledFrom(rating.Predikats()).Draw(t, "predikat "+id)
			c.Add(ev("skp-"+id, skp.Drafted{SKPID: id, NIP: id[:4], Employee: skp.Snapshot{UnitID: unit}}))
			c.Add(ev("skp-"+id, skp.RatingAssigned{Period: "2025", Scores: scoresOf[p], AppraiserNIP: fmt.Sprintf("A%02d", rapid.IntRange(0, appraisers-1).Draw(t, "by "+id))}))
			all = append(all, rated{unit, p})
		}
		for _, a := range c.Report("2025", calibration.Options{}).Appraisers {
			want := map[rating.Predikat]int{}
			n := 0
			for _, r := range all {
				if c.InSubtree(r.unit, a.CompareUnitID) {
					want[r.p]++
					n++
				}
			}
			if a.Unit.N != n {
				t.Fatalf("%s (compare %s): Unit.N = %d, want %d", a.NIP, a.CompareUnitID, a.Unit.N, n)
			}
			for p, k := range want {
				if a.Unit.Counts[p] != k {
					t.Fatalf("%s (compare %s): %s = %d, want %d", a.NIP, a.CompareUnitID, p, a.Unit.Counts[p], k)
				}
			}
		}
	})
}

// BenchmarkReportAtTheRoot is the view at the root of an agency of
// appraisers × 10 ratings, an appraiser a unit, in a tree of depth 4.
func BenchmarkReportAtTheRoot(b *testing.B) {
	for _, appraisers := range []int{200, 2000} {
		b.Run(fmt.Sprint(appraisers), func(b *testing.B) {
			c := calibration.NewCollector()
			c.Add(ev("unit-ROOT", orgunit.Registered{UnitID: "ROOT", Name: "Badan"}))
			for i := range appraisers {
				// ROOT → U0…U9 → U10…U99 → the rest: a tree of depth 4.
				u, parent := fmt.Sprintf("U%d", i), "ROOT"
				if i >= 10 {
					parent = fmt.Sprintf("U%d", i/10)
				}
				c.Add(ev("unit-"+u, orgunit.Registered{UnitID: u, Name: u, ParentID: parent}))
				nip := fmt.Sprintf("A%05d", i)
				c.Add(ev("employee-"+nip, employee.Registered{NIP: nip, Name: nip, UnitID: u}))
				for j := range 10 {
					id := fmt.Sprintf("E%05d%02d-2025", i, j)
					p := rating.Predikats()[(i+j)%len(rating.Predikats())]
					c.Add(ev("skp-"+id, skp.Drafted{SKPID: id, Employee: skp.Snapshot{UnitID: u}}))
					c.Add(ev("skp-"+id, skp.RatingAssigned{Period: "2025", Scores: scoresOf[p], AppraiserNIP: nip}))
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				c.Report("2025", calibration.Options{})
			}
		})
	}
}
