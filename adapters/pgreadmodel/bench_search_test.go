package pgreadmodel_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// BenchmarkEmployeeSearch measures the employee search over 2,000
// employees in PostgreSQL (docs/benchmarks.md).
func BenchmarkEmployeeSearch(b *testing.B) {
	readmodeltest.BenchSearch(b, func(tb testing.TB, h projections.History) *readmodeltest.Backend { return backend(openDB(tb, h)) })
}
