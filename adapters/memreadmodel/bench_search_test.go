package memreadmodel_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// BenchmarkEmployeeSearch measures the employee search over 2,000
// employees in memory (docs/benchmarks.md).
func BenchmarkEmployeeSearch(b *testing.B) { readmodeltest.BenchSearch(b, open) }
