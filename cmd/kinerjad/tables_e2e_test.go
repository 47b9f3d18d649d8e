package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// TestConsequenceTablesAdoptedAtStart: kinerjad adopts its
// --consequence-tables in the ledger; once the journey's 2025 evaluation
// is published, a restart with other tables for every year does not start
// (it names 2025 and from_year), and with the same tables from 2026 it
// starts, adopts them, and the 2025 figures stay as published.
func TestConsequenceTablesAdoptedAtStart(t *testing.T) {
	data := t.TempDir()
	file := func(name string, baik, from int) string {
		tab := consequences.DefaultTables()
		tab.Version, tab.TPPFactorPercent[rating.Baik], tab.FromYear = name, baik, from
		b, _ := json.Marshal(tab)
		p := filepath.Join(t.TempDir(), name+".json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s := startServer(t, data, "--consequence-tables", file("pergub-a", 100, 0))
	journey(t, s)
	var reg consequences.Register
	s.must(200, "hr-admin", hrAdmin, "GET", "/v1/reports/consequences?year=2025", nil, &reg)
	if len(reg.Publications) != 1 || reg.Publications[0].TablesVersion != "pergub-a" || reg.Publications[0].TPPFactorPercent != 100 {
		t.Fatalf("before the change: %+v", reg.Publications)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"--listen", "127.0.0.1:0", "--data", data, "--consequence-tables", file("pergub-b", 90, 0)},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "2025") || !strings.Contains(err.Error(), `"from_year": 2026`) {
		t.Fatalf("other tables for the published 2025: %v", err)
	}
	s = startServer(t, data, "--consequence-tables", file("pergub-b", 90, 2026))
	var again consequences.Register
	s.must(200, "hr-admin", hrAdmin, "GET", "/v1/reports/consequences?year=2025", nil, &again)
	if len(again.Publications) != 1 || again.Publications[0].TablesVersion != "pergub-a" || again.Publications[0].TPPFactorPercent != 100 ||
		again.Publications[0].ID != reg.Publications[0].ID {
		t.Fatalf("after adopting other tables from 2026, 2025 changed: %+v", again.Publications)
	}
}
