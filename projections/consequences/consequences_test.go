package consequences_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// TestAngkaKreditProperties checks the conversion's arithmetic for any
// months, percentage and coefficient: exact for a whole year at 100 %,
// never negative, monotonic in months, percentage and coefficient, within
// half a thousandth of the exact rational value, and additive over months
// up to the rounding of each part.
func TestAngkaKreditProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		months := rapid.IntRange(0, 12).Draw(t, "months")
		pct := rapid.IntRange(0, consequences.MaxPercent).Draw(t, "pct")
		coef := consequences.Milli(rapid.Int64Range(1, int64(consequences.MaxCoefficient)).Draw(t, "coef"))
		ak := consequences.AngkaKredit(months, pct, coef)
		if ak < 0 {
			t.Fatalf("negative %v", ak)
		}
		// |ak - exact| ≤ 0.5 thousandth: 1200·ak vs months·pct·coef.
		exact := int64(months) * int64(pct) * int64(coef)
		if d := 1200*int64(ak) - exact; d > 600 || d < -600 {
			t.Fatalf("AK(%d, %d, %v) = %v, exact %d/1200", months, pct, coef, ak, exact)
		}
		if consequences.AngkaKredit(12, 100, coef) != coef {
			t.Fatalf("a whole year at 100 %% is not the coefficient %v", coef)
		}
		if months < 12 && consequences.AngkaKredit(months+1, pct, coef) < ak {
			t.Fatal("not monotonic in months")
		}
		if consequences.AngkaKredit(months, pct+1, coef) < ak {
			t.Fatal("not monotonic in percent")
		}
		if coef < consequences.MaxCoefficient && consequences.AngkaKredit(months, pct, coef+1) < ak {
			t.Fatal("not monotonic in coefficient")
		}
		split := rapid.IntRange(0, months).Draw(t, "split")
		sum := consequences.AngkaKredit(split, pct, coef) + consequences.AngkaKredit(months-split, pct, coef)
		if d := sum - ak; d > 1 || d < -1 {
			t.Fatalf("parts %v, whole %v", sum, ak)
		}
	})
}

// TestAngkaKreditDefaults checks worked examples of PermenPANRB 1/2023.
func TestAngkaKreditDefaults(t *testing.T) {
	tab := consequences.DefaultTables()
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		title  string
		months int
		p      rating.Predikat
		want   string
	}{
		{"Pranata Komputer Ahli Muda", 12, rating.Baik, "25.000"},
		{"Pranata Komputer Ahli Muda", 12, rating.SangatBaik, "37.500"},
		{"Analis Kebijakan Ahli Pertama", 6, rating.Baik, "6.250"},
		{"Perawat Terampil", 12, rating.ButuhPerbaikan, "3.750"},
		{"Arsiparis Pemula", 7, rating.SangatKurang, "0.547"}, // 7/12 × 25 % × 3.75 = 0.546875
		{"Dokter Ahli Utama", 12, rating.KurangMisconduct, "25.000"},
		{"dokter   AHLI madya", 12, rating.Baik, "37.500"},
	} {
		p := consequences.Compute(tab, consequences.Input{Months: c.months, Predikat: c.p, Position: employee.Position{Kind: employee.JF, Title: c.title}})
		if p.AngkaKredit == nil || p.AngkaKredit.String() != c.want {
			t.Errorf("%s %d months %s: %v, want %s", c.title, c.months, c.p, p.AngkaKredit, c.want)
		}
	}
	// Not a functional post, or a level the tables do not know: no AK.
	for _, pos := range []employee.Position{{Kind: employee.Pelaksana, Title: "Pengadministrasi Ahli Muda"}, {Kind: employee.JF, Title: "Widyaiswara"}} {
		if p := consequences.Compute(tab, consequences.Input{Months: 12, Predikat: rating.Baik, Position: pos}); p.AngkaKredit != nil {
			t.Errorf("%+v: AK %v", pos, p.AngkaKredit)
		}
	}
}

// TestTablesRefuseBadInput: a tables file with a hole, a bad number,
// control characters or an unknown field is refused, naming the problem.
func TestTablesRefuseBadInput(t *testing.T) {
	good, _ := json.Marshal(consequences.DefaultTables())
	if _, err := consequences.ReadTables(strings.NewReader(string(good))); err != nil {
		t.Fatalf("defaults do not round-trip: %v", err)
	}
	for name, in := range map[string]string{
		"missing predikat": strings.Replace(string(good), `"SANGAT_KURANG":25`, `"SANGAT_KURANGX":25`, 1),
		"negative":         strings.Replace(string(good), `"BAIK":100`, `"BAIK":-1`, 1),
		"huge":             strings.Replace(string(good), `"BAIK":100`, `"BAIK":100000`, 1),
		"bad coefficient":  strings.Replace(string(good), `"12.500"`, `"12.5e3"`, 1),
		"four decimals":    strings.Replace(string(good), `"12.500"`, `"12.5001"`, 1),
		"zero coefficient": strings.Replace(string(good), `"12.500"`, `"0"`, 1),
		"control char":     strings.Replace(string(good), `"12.500"`, `"12\u0000"`, 1),
		"unknown field":    strings.Replace(string(good), `{"version"`, `{"extra":1,"version"`, 1),
		"duplicate level":  strings.Replace(string(good), `"Ahli Muda"`, `"Ahli Pertama"`, 1),
		"not json":         "{",
	} {
		if _, err := consequences.ReadTables(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The stream builder of the scenario tests.
type stream struct {
	id  string
	evs []projections.Event
	pos *uint64
}

func (s *stream) add(e domain.Event) projections.Event {
	*s.pos++
	ev := projections.Event{Payload: e}
	ev.Stream, ev.Revision, ev.Position = domain.SKPStream(s.id), uint64(len(s.evs)), eventstore.Position(*s.pos)
	ev.ID, ev.Type = uuid.NewSHA1(uuid.NameSpaceOID, []byte(s.id+"/"+string(rune('a'+len(s.evs))))), e.EventType()
	ev.OccurredAt, ev.Actor.ID = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(len(s.evs))*time.Hour), "actor"
	s.evs = append(s.evs, ev)
	return ev
}

type history struct{ s *stream }

func (h history) Stream(_ context.Context, _ string, upto uint64) ([]projections.Event, error) {
	return h.s.evs[:upto+1], nil
}

type memStore map[string]consequences.Publication

func (m memStore) PutPublication(_ context.Context, p consequences.Publication) error {
	m[p.ID] = p
	return nil
}

func drafted(title string) skp.Drafted {
	return skp.Drafted{SKPID: "199001012015011001-2025", NIP: "199001012015011001", Year: 2025, Sequence: 1,
		PeriodStart: calendar.MustNew(2025, time.January, 1), PeriodEnd: calendar.MustNew(2025, time.December, 31),
		Employee: skp.Snapshot{Name: "Siti", UnitID: "SEKSI-1", Position: employee.Position{Kind: employee.JF, Title: title}}}
}

func scores(w, b rating.Rating) skp.Scores {
	return skp.Scores{WorkResult: w, Behaviour: b, Predikat: rating.Derive(w, b)}
}

// TestPublishedOnlyWhenFinalAndCorrected walks an evaluation through
// rating, revision, issue, finality, then a late objection decided
// CHANGED: nothing is published before finality; finality publishes one
// original that cites the draft, the ratings, the issue and the
// finalisation; the change publishes a correction naming it; a replay
// from the history (a restart) publishes the same IDs, once.
func TestPublishedOnlyWhenFinalAndCorrected(t *testing.T) {
	var pos uint64
	s := &stream{id: "199001012015011001-2025", pos: &pos}
	ctx := context.Background()
	proj := consequences.New(consequences.DefaultTables(), history{s}, 0)
	store := memStore{}
	apply := func(e domain.Event) []consequences.Publication {
		t.Helper()
		out, err := proj.Apply(ctx, store, s.add(e))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	deadline := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	base := scores(rating.MeetsExpectation, rating.MeetsExpectation)
	better := scores(rating.AboveExpectation, rating.AboveExpectation)
	for _, e := range []domain.Event{
		drafted("Pranata Komputer Ahli Muda"),
		skp.RatingAssigned{Period: "2025-Q1", Scores: better, AppraiserNIP: "A"},
		skp.EvaluationFinalised{Period: "2025-Q1", Reason: skp.WindowElapsed}, // periodic: no consequence
		skp.RatingAssigned{Period: "2025", Scores: scores(rating.BelowExpectation, rating.MeetsExpectation), AppraiserNIP: "A"},
		skp.RatingRevised{Period: "2025", Scores: base, Source: skp.SourceAppraiser, AppraiserNIP: "A"},
		skp.EvaluationIssued{Period: "2025", Scores: base, ObjectionDeadline: &deadline, AppraiserNIP: "A"},
	} {
		if out := apply(e); len(out) != 0 {
			t.Fatalf("%s published before finality: %+v", e.EventType(), out)
		}
	}
	orig := apply(skp.EvaluationFinalised{Period: "2025", Reason: skp.WindowElapsed})
	if len(orig) != 1 {
		t.Fatalf("finality published %d", len(orig))
	}
	o := orig[0]
	if o.Kind != consequences.Original || o.Predikat != rating.Baik || o.AngkaKredit == nil || o.AngkaKredit.String() != "25.000" ||
		o.TPPFactorPercent != 100 || o.Recognition || o.Months != 12 || o.Jenjang != "Ahli Muda" {
		t.Fatalf("original %+v", o)
	}
	var types []string
	for _, src := range o.Sources {
		types = append(types, src.Type)
	}
	if got := strings.Join(types, " "); got != "skp.drafted.v1 skp.rating_assigned.v1 skp.rating_revised.v1 skp.evaluation_issued.v1 skp.evaluation_finalised.v1" {
		t.Fatalf("sources %s", got)
	}
	if o.ID != consequences.IDFor(s.evs[6].ID) {
		t.Fatal("ID not derived from the trigger")
	}
	if out := apply(skp.EvaluationFinalised{Period: "2025", Reason: skp.WindowElapsed}); len(out) != 0 {
		t.Fatal("a second finality published again")
	}
	// A late objection decided CHANGED after finality: a correction.
	if out := apply(skp.ObjectionDecided{ObjectionID: "O1", Period: "2025", Outcome: skp.Changed, Previous: base, Result: better, Final: true}); len(out) != 0 {
		t.Fatal("published before the revision of the decision")
	}
	corr := apply(skp.RatingRevised{Period: "2025", Scores: better, Previous: base, Source: skp.SourceObjection, ObjectionID: "O1", AppraiserNIP: "S"})
	if len(corr) != 1 || corr[0].Kind != consequences.Correction || corr[0].Corrects != o.ID || corr[0].Predikat != rating.SangatBaik ||
		!corr[0].Recognition || corr[0].AngkaKredit.String() != "37.500" {
		t.Fatalf("correction %+v", corr)
	}
	if len(store) != 2 {
		t.Fatalf("store holds %d", len(store))
	}
	// A restart: a fresh projection fed from the middle replays the
	// history and publishes the same IDs.
	again := consequences.New(consequences.DefaultTables(), history{s}, 0)
	out, err := again.Apply(ctx, nil, s.evs[len(s.evs)-1])
	if err != nil || len(out) != 1 || out[0].ID != corr[0].ID {
		t.Fatalf("after restart: %+v, %v", out, err)
	}
}

// TestFinalOnDecisionAndOnIssue: an objection decided UPHELD makes the
// evaluation final and publishes; CHANGED publishes with its revision; an
// issue without an objection window publishes at once.
func TestFinalOnDecisionAndOnIssue(t *testing.T) {
	ctx := context.Background()
	deadline := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	base := scores(rating.BelowExpectation, rating.MeetsExpectation)
	better := scores(rating.MeetsExpectation, rating.MeetsExpectation)
	for name, c := range map[string]struct {
		tail []domain.Event
		want rating.Predikat
		why  skp.FinalReason
	}{
		"upheld": {[]domain.Event{skp.EvaluationIssued{Period: "2025", Scores: base, ObjectionDeadline: &deadline},
			skp.ObjectionFiled{ObjectionID: "O", Period: "2025", Evaluation: base},
			skp.ObjectionDecided{ObjectionID: "O", Period: "2025", Outcome: skp.Upheld, Previous: base, Result: base, Final: true}},
			rating.ButuhPerbaikan, skp.ObjectionDecidedFinal},
		"changed": {[]domain.Event{skp.EvaluationIssued{Period: "2025", Scores: base, ObjectionDeadline: &deadline},
			skp.ObjectionFiled{ObjectionID: "O", Period: "2025", Evaluation: base},
			skp.ObjectionDecided{ObjectionID: "O", Period: "2025", Outcome: skp.Changed, Previous: base, Result: better, Final: true},
			skp.RatingRevised{Period: "2025", Scores: better, Previous: base, Source: skp.SourceObjection, ObjectionID: "O"}},
			rating.Baik, skp.ObjectionDecidedFinal},
		"no window": {[]domain.Event{skp.EvaluationIssued{Period: "2025", Scores: base}}, rating.ButuhPerbaikan, skp.NoObjectionAllowed},
	} {
		t.Run(name, func(t *testing.T) {
			var pos uint64
			s := &stream{id: "199001012015011001-2025", pos: &pos}
			proj := consequences.New(consequences.DefaultTables(), history{s}, 0)
			var all []consequences.Publication
			for _, e := range append([]domain.Event{drafted("Perawat Mahir"), skp.RatingAssigned{Period: "2025", Scores: base}}, c.tail...) {
				out, err := proj.Apply(ctx, nil, s.add(e))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, out...)
			}
			if len(all) != 1 || all[0].Predikat != c.want || all[0].FinalReason != c.why || all[0].Kind != consequences.Original {
				t.Fatalf("%+v", all)
			}
			if last := all[0].Sources[len(all[0].Sources)-1]; last.EventID != s.evs[len(s.evs)-1].ID.String() {
				t.Fatalf("the trigger is not the last source: %+v", all[0].Sources)
			}
		})
	}
}

// TestMonthsOfAClosedSKP: an SKP closed for a position change counts the
// months up to the day before the new post.
func TestMonthsOfAClosedSKP(t *testing.T) {
	var pos uint64
	s := &stream{id: "199001012015011001-2025", pos: &pos}
	proj := consequences.New(consequences.DefaultTables(), history{s}, 0)
	var all []consequences.Publication
	for _, e := range []domain.Event{drafted("Pranata Komputer Ahli Pertama"),
		skp.ClosedForPositionChange{EffectiveFrom: calendar.MustNew(2025, time.July, 1)},
		skp.RatingAssigned{Period: "2025", Scores: scores(rating.MeetsExpectation, rating.MeetsExpectation)},
		skp.EvaluationIssued{Period: "2025", Scores: scores(rating.MeetsExpectation, rating.MeetsExpectation)}} {
		out, err := proj.Apply(context.Background(), nil, s.add(e))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
	}
	if len(all) != 1 || all[0].Months != 6 || all[0].AngkaKredit.String() != "6.250" {
		t.Fatalf("%+v", all)
	}
}

// TestCancelAfterPublicationRetracts: a cancellation found after a
// publication (the domain refuses it, but an imported or older stream may
// hold one) publishes a RETRACTION naming the publication in effect, with
// the cancellation's reason and no figures; the register then has no
// current publication for the evaluation, and keeps both rows. A closing
// found after a publication publishes a correction with the new months.
// Neither is silent, and a replay gives the same IDs.
func TestCancelAfterPublicationRetracts(t *testing.T) {
	ctx := context.Background()
	base := scores(rating.AboveExpectation, rating.AboveExpectation)
	run := func(tail domain.Event) ([]consequences.Publication, *stream) {
		var pos uint64
		s := &stream{id: "199001012015011001-2025", pos: &pos}
		proj := consequences.New(consequences.DefaultTables(), history{s}, 0)
		var all, last []consequences.Publication
		for _, e := range []domain.Event{drafted("Pranata Komputer Ahli Muda"), skp.RatingAssigned{Period: "2025", Scores: base},
			skp.EvaluationIssued{Period: "2025", Scores: base}, tail, skp.Cancelled{Reason: "again"}} {
			out, err := proj.Apply(ctx, nil, s.add(e))
			if err != nil {
				t.Fatal(err)
			}
			all, last = append(all, out...), out
		}
		// A restart: the last event replayed from the history publishes the
		// same (a second cancellation publishes nothing).
		again := consequences.New(consequences.DefaultTables(), history{s}, 0)
		out, err := again.Apply(ctx, nil, s.evs[len(s.evs)-1])
		if err != nil || len(out) != len(last) || (len(out) > 0 && out[0].ID != last[0].ID) {
			t.Fatalf("replay: %+v, %v; live %+v", out, err, last)
		}
		return all, s
	}
	all, s := run(skp.Cancelled{Reason: "SKP ganda"})
	if len(all) != 2 {
		t.Fatalf("%d publications, want the original and its retraction: %+v", len(all), all)
	}
	o, r := all[0], all[1]
	if r.Kind != consequences.Retraction || r.Corrects != o.ID || r.Reason != "SKP ganda" || r.Predikat != "" || r.AngkaKredit != nil ||
		r.Recognition || r.TPPFactorPercent != 0 || r.ID == o.ID || r.ID != consequences.IDFor(s.evs[3].ID) {
		t.Fatalf("retraction %+v of %+v", r, o)
	}
	if n := len(r.Sources); n != 3 || r.Sources[1].EventID != o.Trigger.EventID || r.Sources[2].EventID != s.evs[3].ID.String() {
		t.Fatalf("retraction sources %+v", r.Sources)
	}
	reg := consequences.BuildRegister(all, "2025", "", nil)
	if len(reg.Publications) != 2 || len(reg.Current) != 0 || len(reg.Recognition) != 0 || reg.TotalAngkaKredit != 0 {
		t.Fatalf("register after a retraction %+v", reg)
	}
	if tab := reg.Table(); len(tab.Rows) != 2 || tab.Rows[1][1] != "RETRACTION" || tab.Rows[1][2] != o.ID || tab.Rows[1][len(tab.Rows[1])-1] != "SKP ganda" {
		t.Fatalf("table %v", tab.Rows)
	}

	all, _ = run(skp.ClosedForPositionChange{EffectiveFrom: calendar.MustNew(2025, time.July, 1)})
	if len(all) != 3 || all[1].Kind != consequences.Correction || all[1].Months != 6 || all[1].AngkaKredit.String() != "18.750" ||
		all[1].Corrects != all[0].ID || all[2].Kind != consequences.Retraction || all[2].Corrects != all[1].ID {
		t.Fatalf("closing then cancelling after publication: %+v", all)
	}
}
