package skppage

import (
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// i18nFor returns the translation of the page's language in the feature's
// messages (the summary is built before the page renders).
func i18nFor(b *page.Base) func(key string) string {
	msgs := i18n.For(messages)
	return func(key string) string { return msgs.T(b.Lang, key) }
}

// eventSummary describes an SKP event for the timeline, in lang: what
// happened, with the values it carries (periods, ratings and the predikat,
// the values a revision replaced, the RHK or indicator concerned).
func eventSummary(b *page.Base, ev domain.Event, rhk map[string]*skp.RHK, ind map[string]*skp.Indicator) string {
	t := i18nFor(b)
	l := b.L
	scores := func(s skp.Scores) string {
		return l("rating", s.WorkResult) + " / " + l("rating", s.Behaviour) + " → " + l("predikat", s.Predikat)
	}
	rhkText := func(id string) string {
		if r, ok := rhk[id]; ok {
			return "“" + r.Text + "”"
		}
		return id
	}
	indText := func(id string) string {
		if i, ok := ind[id]; ok {
			return "“" + i.Text + "”"
		}
		return id
	}
	head := t("event." + ev.EventType())
	var parts []string
	switch e := ev.(type) {
	case skp.Drafted:
		parts = append(parts, strconv.Itoa(e.Year), l("approach", e.Approach))
	case skp.RHKAdded:
		parts = append(parts, "“"+e.Text+"”", l("rhkkind", e.Kind))
	case skp.RHKChanged:
		parts = append(parts, "“"+e.Text+"”")
	case skp.RHKRemoved:
		parts = append(parts, rhkText(e.RHKID))
	case skp.IndicatorAdded:
		parts = append(parts, "“"+e.Text+"”", t("skp.target")+" "+num(e.Target.Value)+" "+e.Target.Unit)
	case skp.IndicatorChanged:
		parts = append(parts, "“"+e.Text+"”", t("skp.target")+" "+num(e.Target.Value)+" "+e.Target.Unit)
	case skp.IndicatorRemoved:
		parts = append(parts, indText(e.IndicatorID))
	case skp.BehaviourExpectationSet:
		parts = append(parts, l("berakhlak", e.Value))
	case skp.Established:
		parts = append(parts, t("skp.version")+" "+strconv.Itoa(e.Version))
		if e.Late {
			parts = append(parts, t("skp.late"))
		}
	case skp.AmendmentOpened:
		parts = append(parts, t("skp.version")+" "+strconv.Itoa(e.FromVersion))
	case skp.RealisationRecorded:
		parts = append(parts, e.Period, indText(e.IndicatorID)+": "+num(e.Value))
	case skp.EvidenceAttached:
		parts = append(parts, e.Filename)
	case skp.FeedbackGiven:
		parts = append(parts, l("relationship", e.Relationship))
	case skp.SelfAssessmentSubmitted:
		parts = append(parts, e.Period)
	case skp.ImprovementPlanOpened:
		parts = append(parts, e.Period+": "+l("predikat", e.Predikat), e.FollowUpOn.String())
	case skp.ImprovementPlanResultRecorded:
		parts = append(parts, e.Period, string(e.Result))
	case skp.RatingAssigned:
		parts = append(parts, e.Period+": "+scores(e.Scores))
	case skp.RatingRevised:
		parts = append(parts, e.Period+": "+scores(e.Scores), t("skp.previous")+" "+scores(e.Previous), l("source", e.Source))
	case skp.EvaluationIssued:
		parts = append(parts, e.Period+": "+l("predikat", e.Predikat))
		if e.Backfill != nil {
			parts = append(parts, t("skp.backfill")+" "+e.Backfill.PaperRef)
		}
	case skp.ReceiptAcknowledged:
		parts = append(parts, e.Period)
		if e.Backfill != nil {
			parts = append(parts, t("skp.backfill")+" "+e.Backfill.PaperRef)
		}
	case skp.EvaluationFinalised:
		parts = append(parts, e.Period, l("finalreason", e.Reason))
	case skp.ObjectionFiled:
		parts = append(parts, e.Period)
		if e.Backfill != nil {
			parts = append(parts, t("skp.backfill")+" "+e.Backfill.PaperRef)
		}
	case skp.ObjectionFiledLate:
		parts = append(parts, e.Period)
		if e.Backfill != nil {
			parts = append(parts, t("skp.backfill")+" "+e.Backfill.PaperRef)
		}
	case skp.ExplanationRequested:
		parts = append(parts, l("party", e.From))
	case skp.ExplanationSubmitted:
		parts = append(parts, l("party", e.By))
	case skp.ObjectionDecided:
		parts = append(parts, e.Period+": "+l("outcome", e.Outcome))
		if e.Outcome == skp.Changed {
			parts = append(parts, scores(e.Previous)+" ⇒ "+scores(e.Result))
		}
	case skp.ObjectionWithdrawn:
		parts = append(parts, e.Period)
	}
	if len(parts) == 0 {
		return head
	}
	return head + " — " + strings.Join(parts, "; ")
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
