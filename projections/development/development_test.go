package development_test

import (
	"maps"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/development"
)

// fold folds the events of each stream and returns the states by stream.
func fold(evs map[string][]domain.Event) map[string]*development.State {
	f := development.Fold()
	out := map[string]*development.State{}
	for stream, list := range evs {
		var s *development.State
		for _, p := range list {
			s = f(s, projections.Event{Event: eventstore.Event{Stream: stream}, Payload: p})
		}
		out[stream] = s
	}
	return out
}

func drafted(id, nip, name, unit string, year int) skp.Drafted {
	return skp.Drafted{SKPID: id, NIP: nip, PeriodStart: calendar.MustNew(year, 1, 1), PeriodEnd: calendar.MustNew(year, 12, 31),
		Employee: skp.Snapshot{Name: name, UnitID: unit}}
}

func TestOverdueBoundariesAndGaps(t *testing.T) {
	evs := map[string][]domain.Event{
		"skp-a": {
			drafted("a", "1", "Ani", "U1", 2026),
			skp.CompetencyGapIdentified{GapID: "g1", Competency: "  Analisis   DATA "},
			skp.CompetencyGapIdentified{GapID: "g2", Competency: "Menulis laporan"},
			skp.DevelopmentActionPlanned{ActionID: "due-yesterday", GapID: "g1", Kind: skp.Training, Title: "Pelatihan data", DueDate: "2026-06-09"},
			skp.DevelopmentActionPlanned{ActionID: "due-today", Kind: skp.Mentoring, Title: "Mentoring", DueDate: "2026-06-10"},
			skp.DevelopmentActionPlanned{ActionID: "concluded-late", Kind: skp.Assignment, Title: "Penugasan", DueDate: "2026-03-01"},
			skp.DevelopmentActionConcluded{ActionID: "concluded-late", Outcome: skp.OutcomeNotCompleted},
			skp.DevelopmentActionConcluded{ActionID: "concluded-late", Outcome: skp.OutcomeCompleted}, // the first outcome stays
			skp.DevelopmentActionPlanned{ActionID: "long-ago", Kind: skp.Training, Title: "Lama", DueDate: "2026-01-31"},
		},
		"skp-b": {
			drafted("b", "2", "Budi", "U2", 2026),
			skp.CompetencyGapIdentified{GapID: "g1", Competency: "analisis data"},
			skp.CompetencyGapIdentified{GapID: "g2", Competency: "Analisis Data"},
		},
		"skp-c": { // another year: left out
			drafted("c", "3", "Citra", "U1", 2025),
			skp.CompetencyGapIdentified{GapID: "g1", Competency: "Menulis laporan"},
			skp.DevelopmentActionPlanned{ActionID: "old", Kind: skp.Training, Title: "Lama", DueDate: "2025-02-01"},
		},
		"skp-orphan": { // no draft: no state
			skp.CompetencyGapIdentified{GapID: "g1", Competency: "x"},
		},
	}
	states := fold(evs)
	if states["skp-orphan"] != nil {
		t.Fatal("a stream without its draft made a state")
	}
	today := calendar.MustNew(2026, 6, 10)
	r := development.Build(maps.Values(states), "2026", "", today, nil)
	if r.Actions != 4 || r.Open != 3 || len(r.Overdue) != 2 {
		t.Fatalf("actions %d open %d overdue %+v", r.Actions, r.Open, r.Overdue)
	}
	// Due today is not overdue; due yesterday is one day overdue; the most
	// overdue comes first; concluded after its due date is not overdue.
	if o := r.Overdue[0]; o.ActionID != "long-ago" || o.DaysOverdue != 130 {
		t.Errorf("first overdue %+v", o)
	}
	if o := r.Overdue[1]; o.ActionID != "due-yesterday" || o.DaysOverdue != 1 || o.Competency != "Analisis DATA" || o.Name != "Ani" || o.UnitID != "U1" {
		t.Errorf("second overdue %+v", o)
	}
	if r.GapTotal != 4 || len(r.Gaps) != 2 {
		t.Fatalf("gaps %d %+v", r.GapTotal, r.Gaps)
	}
	if g := r.Gaps[0]; g.Competency != "analisis data" || g.Count != 3 || g.Employees != 2 || g.SharePercent != 75 {
		t.Errorf("top gap %+v", g)
	}
	if g := r.Gaps[1]; g.Count != 1 || g.SharePercent != 25 {
		t.Errorf("second gap %+v", g)
	}
	// The day after, due-today is one day overdue.
	if r := development.Build(maps.Values(states), "2026", "", today.AddDays(1), nil); len(r.Overdue) != 3 {
		t.Errorf("the day after: %+v", r.Overdue)
	}
	// A unit filter keeps its SKPs only.
	u2 := development.Build(maps.Values(states), "2026", "U2", today, func(u string) bool { return u == "U2" })
	if len(u2.Overdue) != 0 || u2.GapTotal != 2 || u2.Gaps[0].SharePercent != 100 || u2.UnitID != "U2" {
		t.Errorf("U2: %+v", u2)
	}
	// The export has one row per overdue action and per competency.
	tab := r.Table()
	if len(tab.Rows) != 4 || tab.Rows[0][0] != "OVERDUE_ACTION" || tab.Rows[3][0] != "COMPETENCY_GAP" || len(tab.Rows[3]) != len(tab.Columns) {
		t.Errorf("table %+v", tab)
	}
	// A year with nothing is empty, not nil; a bad year is empty.
	for _, y := range []string{"2024", "20x6"} {
		if e := development.Build(maps.Values(states), y, "", today, nil); e.Overdue == nil || e.Gaps == nil || e.Actions != 0 || e.GapTotal != 0 {
			t.Errorf("%s: %+v", y, e)
		}
	}
}
