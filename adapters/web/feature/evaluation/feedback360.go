package evaluation

import (
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// The 360° summary beside the behaviour rating (issue 14;
// docs/feedback360.md): the latest round of the period, exactly as the
// employee sees it (aggregates only). The rating records its identity
// (skp.RatingAssigned.Feedback360), computed by the domain when it rates;
// the form's revision makes sure it is the summary shown here.

// feedback360 is the rate page's 360° block.
type feedback360 struct {
	skp.RoundSummary
	// Values are the seven values, in the order of the acronym.
	Values []berakhlak.Value
}

// feedback360Of returns the 360° block of SKP id's period per, or nil
// when the period has no round (the caller may rate: ratePage checked).
func feedback360Of(r *page.Request, id, per string) *feedback360 {
	svc := r.App().Config().SKPs
	sk, _, err := svc.Load(r.Context(), id)
	if err != nil || sk == nil {
		return nil
	}
	sum, ok := sk.Feedback360Of(per, svc.AnonymityThreshold())
	if !ok {
		return nil
	}
	return &feedback360{RoundSummary: sum, Values: berakhlak.Values()}
}
