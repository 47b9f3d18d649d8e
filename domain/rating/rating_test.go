package rating_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// TestDeriveMatrix transcribes the nine cells of domain.md §4.2 one by one.
func TestDeriveMatrix(t *testing.T) {
	const (
		atas   = rating.AboveExpectation
		sesuai = rating.MeetsExpectation
		bawah  = rating.BelowExpectation
	)
	tests := []struct {
		name       string
		workResult rating.Rating
		behaviour  rating.Rating
		want       rating.Predikat
	}{
		{name: "HK di atas, PK di bawah", workResult: atas, behaviour: bawah, want: rating.KurangMisconduct},
		{name: "HK di atas, PK sesuai", workResult: atas, behaviour: sesuai, want: rating.Baik},
		{name: "HK di atas, PK di atas", workResult: atas, behaviour: atas, want: rating.SangatBaik},
		{name: "HK sesuai, PK di bawah", workResult: sesuai, behaviour: bawah, want: rating.KurangMisconduct},
		{name: "HK sesuai, PK sesuai", workResult: sesuai, behaviour: sesuai, want: rating.Baik},
		{name: "HK sesuai, PK di atas", workResult: sesuai, behaviour: atas, want: rating.Baik},
		{name: "HK di bawah, PK di bawah", workResult: bawah, behaviour: bawah, want: rating.SangatKurang},
		{name: "HK di bawah, PK sesuai", workResult: bawah, behaviour: sesuai, want: rating.ButuhPerbaikan},
		{name: "HK di bawah, PK di atas", workResult: bawah, behaviour: atas, want: rating.ButuhPerbaikan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rating.Derive(tt.workResult, tt.behaviour); got != tt.want {
				t.Errorf("Derive(%s, %s) = %s, want %s", tt.workResult, tt.behaviour, got, tt.want)
			}
		})
	}
}

func TestDeriveInvalid(t *testing.T) {
	tests := []struct {
		name                  string
		workResult, behaviour rating.Rating
	}{
		{name: "empty work result", workResult: "", behaviour: rating.MeetsExpectation},
		{name: "empty behaviour", workResult: rating.MeetsExpectation, behaviour: ""},
		{name: "a predikat is not a rating", workResult: "BAIK", behaviour: rating.MeetsExpectation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rating.Derive(tt.workResult, tt.behaviour); got != "" {
				t.Errorf("Derive(%q, %q) = %s, want empty", tt.workResult, tt.behaviour, got)
			}
		})
	}
}

func TestParse(t *testing.T) {
	if _, err := rating.ParseRating("SESUAI_EKSPEKTASI"); err != nil {
		t.Errorf("ParseRating(SESUAI_EKSPEKTASI): %v", err)
	}
	if _, err := rating.ParseRating("sesuai_ekspektasi"); err == nil {
		t.Error("ParseRating(lower case) succeeded, want error")
	}
	for _, o := range rating.OrgPredikats() {
		if _, err := rating.ParseOrgPredikat(string(o)); err != nil {
			t.Errorf("ParseOrgPredikat(%s): %v", o, err)
		}
	}
	if _, err := rating.ParseOrgPredikat("CUKUP"); err == nil {
		t.Error("ParseOrgPredikat(CUKUP) succeeded, want error (the stored value is BUTUH_PERBAIKAN)")
	}
	if _, err := rating.ParseOrgPredikat("KURANG_MISCONDUCT"); err == nil {
		t.Error("ParseOrgPredikat(KURANG_MISCONDUCT) succeeded; that is an employee predikat")
	}
}

// The matrix a page shows is Derive, cell by cell, in the order of Ratings.
func TestMatrixIsDerive(t *testing.T) {
	rows := rating.Matrix()
	rs := rating.Ratings()
	if len(rows) != len(rs) {
		t.Fatalf("%d rows, want %d", len(rows), len(rs))
	}
	for i, row := range rows {
		if row.WorkResult != rs[i] || len(row.Cells) != len(rs) {
			t.Fatalf("row %d = %+v", i, row)
		}
		for j, c := range row.Cells {
			if c.WorkResult != rs[i] || c.Behaviour != rs[j] || c.Predikat != rating.Derive(rs[i], rs[j]) {
				t.Errorf("cell %d,%d = %+v, want %s", i, j, c, rating.Derive(rs[i], rs[j]))
			}
		}
	}
}
