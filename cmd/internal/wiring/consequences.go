package wiring

import (
	"context"
	"log/slog"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// ConsequenceTables adopts the tables of --consequence-tables (file, ""
// for none: nothing is adopted) in the ledger (consequences.Adopt: refused
// for years whose consequences are already published, and then the
// process does not start) and returns the tables the ledger adopted for
// each year; where it adopted none, tables (the configured ones, or the
// defaults).
func ConsequenceTables(ctx context.Context, store eventstore.Store, tables consequences.Tables, file string, log *slog.Logger) (*consequences.TableSet, error) {
	if file != "" {
		adopted, err := consequences.Adopt(ctx, store, tables, "--consequence-tables "+file, time.Now())
		if err != nil {
			return nil, err
		}
		if adopted {
			log.Info("consequence_tables_adopted", "version", tables.Version, "from_year", tables.FromYear, "file", file)
		}
	}
	set, err := consequences.LoadTableSet(ctx, store)
	if err != nil {
		return nil, err
	}
	if len(set.Adoptions()) == 0 {
		return consequences.Fixed(tables), nil
	}
	return set, nil
}
