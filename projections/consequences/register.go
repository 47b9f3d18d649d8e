package consequences

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// Register is the consequences of one year, for a report and its export:
// every publication in the order published (originals and corrections,
// nothing retracted), the current one of each evaluation, and the
// recognition list.
type Register struct {
	// Period is the annual period.
	Period string `json:"period"`
	// UnitID limits the register to a unit's subtree ("" for the agency).
	UnitID string `json:"unit_id,omitempty"`
	// Publications are every publication of the period, in order.
	Publications []Publication `json:"publications"`
	// Current are the latest publication of each evaluation, by unit and
	// name; an evaluation whose latest publication is a retraction has
	// none (its retraction stays in Publications).
	Current []Publication `json:"current"`
	// Recognition is the SANGAT_BAIK list: the current publications with
	// Recognition, by unit and name.
	Recognition []Publication `json:"recognition"`
	// TotalAngkaKredit sums the current Angka Kredit.
	TotalAngkaKredit Milli `json:"total_angka_kredit"`
}

// BuildRegister returns the register of period from pubs (in the order
// published), keeping those keep accepts (nil keeps all).
func BuildRegister(pubs []Publication, period, unit string, keep func(Publication) bool) Register {
	r := Register{Period: period, UnitID: unit, Publications: []Publication{}, Current: []Publication{}, Recognition: []Publication{}}
	current := map[string]int{}
	for _, p := range pubs {
		if p.Period != period || (keep != nil && !keep(p)) {
			continue
		}
		r.Publications = append(r.Publications, p)
		k := p.SKPID + "\x00" + p.Period
		if i, ok := current[k]; ok {
			r.Current[i] = p
			continue
		}
		current[k] = len(r.Current)
		r.Current = append(r.Current, p)
	}
	r.Current = slices.DeleteFunc(r.Current, func(p Publication) bool { return p.Kind == Retraction })
	slices.SortStableFunc(r.Current, func(a, b Publication) int {
		return cmp.Or(strings.Compare(a.UnitID, b.UnitID), strings.Compare(a.Name, b.Name), strings.Compare(a.SKPID, b.SKPID))
	})
	for _, p := range r.Current {
		if p.Recognition && p.Predikat == rating.SangatBaik {
			r.Recognition = append(r.Recognition, p)
		}
		if p.AngkaKredit != nil {
			r.TotalAngkaKredit += *p.AngkaKredit
		}
	}
	return r
}

// Table flattens the register: one row per publication, in order, with
// whether it is current and the events it was computed from
// ("type@position:event_id", space-separated).
func (r Register) Table() reports.Table {
	t := reports.Table{Columns: []string{"publication_id", "kind", "corrects", "current", "skp_id", "nip", "name", "unit_id", "period",
		"predikat", "final_reason", "position_kind", "position_title", "months", "jenjang", "coefficient", "angka_kredit_percent",
		"angka_kredit", "tpp_factor_percent", "recognition", "tables_version", "published_at", "trigger_event_id", "sources", "reason"}}
	cur := map[string]bool{}
	for _, p := range r.Current {
		cur[p.ID] = true
	}
	for _, p := range r.Publications {
		ak := ""
		if p.AngkaKredit != nil {
			ak = p.AngkaKredit.String()
		}
		var src []string
		for _, s := range p.Sources {
			src = append(src, s.Type+"@"+strconv.FormatUint(s.Position, 10)+":"+s.EventID)
		}
		t.Rows = append(t.Rows, []string{p.ID, string(p.Kind), p.Corrects, strconv.FormatBool(cur[p.ID]), p.SKPID, p.NIP, p.Name, p.UnitID, p.Period,
			string(p.Predikat), string(p.FinalReason), string(p.PositionKind), p.PositionTitle, strconv.Itoa(p.Months), p.Jenjang, p.Coefficient.String(),
			strconv.Itoa(p.AngkaKreditPercent), ak, strconv.Itoa(p.TPPFactorPercent), strconv.FormatBool(p.Recognition), p.TablesVersion,
			p.PublishedAt.UTC().Format("2006-01-02T15:04:05Z"), p.Trigger.EventID, strings.Join(src, " "), p.Reason})
	}
	return t
}
