package skp

import (
	"time"

	"github.com/kinerja-ledger/kinerja/domain/distribution"
)

// checkDistribution asks the service's distribution gate (BLOCK mode,
// issue 11) whether the evaluation ev of sk may be issued by appraiser at
// at: it refuses with a [*distribution.BlockedError] when issuing would
// break the pattern of a unit the evaluation counts in and no recorded
// justification covers it. Without a gate (WARN mode, tests) nothing is
// checked.
func (l *lookups) checkDistribution(sk *SKP, ev *evaluation, appraiser string, at time.Time) error {
	if l.s.Distribution == nil || ev.scores.Predikat == "" {
		return nil
	}
	return l.s.Distribution.CheckIssue(l.ctx, distribution.Candidate{SKPID: sk.id, NIP: sk.nip, UnitID: sk.employee.UnitID,
		Period: ev.period, Predikat: ev.scores.Predikat, AppraiserNIP: appraiser, At: at})
}
