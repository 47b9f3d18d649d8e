// Package scores is the score-history read model: every rating and
// predikat ever given, per SKP and period, with the value it replaced, the
// actor, the source (APPRAISER, OBJECTION), the reason and both times,
// superseded values included. Its policy is Stop: a gap would falsify the
// history an auditor relies on.
package scores

import (
	"context"

	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Name is the projection's name.
const Name = "scores"

// Entry is one rating given.
type Entry struct {
	SKPID  string `json:"skp_id"`
	NIP    string `json:"nip"`
	UnitID string `json:"unit_id"`
	skp.ScoreEntry
	Position eventstore.Position `json:"position"`
}

// Reader is the query side.
type Reader interface {
	// ForSKP returns the history of one SKP in the order given.
	ForSKP(ctx context.Context, skpID string) ([]Entry, error)
	// ForEmployee returns the history of every SKP of nip, in the order given.
	ForEmployee(ctx context.Context, nip string) ([]Entry, error)
}
