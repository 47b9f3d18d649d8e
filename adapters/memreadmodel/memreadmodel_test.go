package memreadmodel_test

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

var update = flag.Bool("update", false, "rewrite the read-model suite's golden file")

// openStore is the event store of the suite's journey: bbolt in a
// temporary directory (a working store, not a fake).
func openStore(tb testing.TB, now func() time.Time) (eventstore.Store, domain.EventLog) {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "kinerja.db"), boltstore.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	// The journey writes what older versions let into stores (readmodeltest.LegacyStore).
	return s, eventlog.New(readmodeltest.LegacyStore(s))
}

func open(tb testing.TB, h projections.History) *readmodeltest.Backend {
	m := memreadmodel.New(memreadmodel.Options{History: h})
	return &readmodeltest.Backend{Sinks: m.Sinks(), Directory: m.Directory(), SKPs: m.SKPs(), Evaluations: m.Evaluations(),
		Scores: m.Scores(), Objections: m.Objections(), Timeline: m.Timeline(), Audit: m.Audit()}
}

func TestReadModels(t *testing.T) {
	readmodeltest.Run(t, readmodeltest.Config{Store: openStore, Open: open, Update: *update})
}
