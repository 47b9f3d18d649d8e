package tabular

import (
	"strconv"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// auditTable is n rows shaped like the dashboard's audit export.
func auditTable(n int) reports.Table {
	t := reports.Table{Columns: []string{"seq", "position", "event_id", "stream", "revision", "type", "actor_id", "actor_role",
		"recorded_at", "occurred_at", "reason", "leaf_hash"}}
	at := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	for i := range n {
		ts := at.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano)
		t.Rows = append(t.Rows, []string{strconv.Itoa(i), strconv.Itoa(i + 1), "01a24a7f-632d-7648-a530-24162ae5170f", "skp-199001012015031001-2026",
			strconv.Itoa(i % 40), "skp.realisation_recorded.v1", "199001012015031001", "EMPLOYEE", ts, ts, "",
			"1f2cf3df48f5c1b7d4e4df6e91f13aa9c75f876160a51a9fbcdffbac6b8ad5a8"})
	}
	return t
}

// BenchmarkExport writes a 10,000-row audit export; docs/benchmarks.md
// has the figures.
func BenchmarkExport(b *testing.B) {
	t := auditTable(10_000)
	b.Run("csv", func(b *testing.B) {
		for b.Loop() {
			if _, err := CSV(t, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xlsx", func(b *testing.B) {
		for b.Loop() {
			if _, err := XLSX("audit", t, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
