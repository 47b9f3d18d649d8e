package web

import (
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// TestSKPPageGrounds: the SKP page shows a rating's grounds (per RHK, per
// value) and each indicator's capaian beside it (issue 11).
func TestSKPPageGrounds(t *testing.T) {
	h := seeded(t)
	a := caller{nipA, nil}
	g := skp.Grounds{WorkResults: []skp.RHKRating{{RHKID: h.ag.rhkE, Rating: rating.MeetsExpectation, Rationale: "Dua puskesmas melaksanakan imunisasi"}},
		BehaviourNotes: []skp.ValueNote{{Value: berakhlak.Kolaboratif, Note: "Bekerja sama dengan kader"}}}
	if _, err := h.skps.Rate(h.ctx, req(a), skp.Rate{SKPID: h.ag.skpE, Period: "2026-Q3", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI",
		Rationale: "Sesuai rencana triwulan III", Grounds: g}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	body := h.must200(empE, "/skp/"+h.ag.skpE).body
	for _, want := range []string{
		`<table class="capaian" id="capaian-2026-Q1">`, `data-indicator="` + h.ag.indE + `"`, "makin tinggi makin baik",
		"Dua puskesmas melaksanakan imunisasi", `data-value="KOLABORATIF"`, "Dasar penilaian",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("SKP page lacks %s", want)
		}
	}
	if !strings.Contains(body, `<td class="capaian-pct">`) || strings.Count(body, `class="capaian-pct">—`) == strings.Count(body, `class="capaian-pct">`) {
		t.Errorf("no capaian computed on the page")
	}
}
