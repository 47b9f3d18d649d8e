// Package consequence holds the ledger's record of the tables the
// consequences of final evaluations are computed with (issue 14; the
// computation is projections/consequences). A consequence, once
// published, is never changed silently; the tables are configuration, so
// the ledger records which tables were adopted for which years, and a
// change of the tables of a year whose results are already published is
// refused (docs/consequences.md). Stream consequence-tables.
package consequence

import "github.com/kinerja-ledger/kinerja/domain"

// TablesStream is the stream of the adopted consequence tables.
const TablesStream = domain.ConsequenceTablesStream

// TablesAdopted records that the consequences of the years from FromYear
// on are computed with Tables, until a later adoption covers them.
type TablesAdopted struct {
	// Version is the tables' own name (recorded on every publication).
	Version string `json:"version"`
	// FromYear is the first performance year the tables apply to (0: every
	// year).
	FromYear int `json:"from_year"`
	// Digest is the SHA-256 (hex) of Tables: two adoptions with the same
	// digest adopt the same figures.
	Digest string `json:"digest"`
	// Tables are the tables' canonical JSON, as text
	// (projections/consequences.Tables, which checks them; the domain keeps
	// them byte for byte as they were adopted, for Digest).
	Tables string `json:"tables"`
}

// EventType implements [domain.Event].
func (TablesAdopted) EventType() string { return "consequence.tables_adopted.v1" }

// Events returns the specs of this package's events, for the codec.
func Events() []domain.EventSpec {
	return []domain.EventSpec{domain.Spec[TablesAdopted](1)}
}
