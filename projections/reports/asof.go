package reports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// EvaluationsAsOf is an evaluations.Reader of the rows as they were at the
// cut of SKPs (an instant or a ledger position): the row of an SKP whose
// stream has not changed since the cut is today's; the rows of an SKP
// changed since are rebuilt from its events up to the cut
// (evaluations.Rebuild, the projection's own fold), and a row that did not
// exist yet is left out. An SKP's unit and year never change, so the SKPs
// are those the current readers know. What the distribution report reads
// for a past moment.
type EvaluationsAsOf struct {
	// Current is today's evaluations read model.
	Current evaluations.Reader
	// SKPs is the cut, with today's SKP summaries (which say whether an
	// SKP changed since) and the store its streams are read from.
	SKPs skps.AsOf
	// Memo, when not nil, keeps each rebuilt SKP's rows (a
	// map[string]evaluations.Evaluation by period) under its id. The rows
	// of a cut in the past never change, so a memo may serve every report
	// of one cut.
	Memo *sync.Map
	// Answers, when not nil, keeps each ForPeriod answer by its units and
	// period: at a cut in the past the answer never changes (a row
	// unchanged since the cut is today's until its SKP changes, and then
	// it is rebuilt to the same), so a page of one cut asks the read
	// models once. Only for a settled cut (the application layer decides).
	Answers *sync.Map
}

var _ evaluations.Reader = EvaluationsAsOf{}

// ForPeriod implements evaluations.Reader. The answer is the caller's
// (a copy when kept).
func (r EvaluationsAsOf) ForPeriod(ctx context.Context, units []string, per string) ([]evaluations.Evaluation, error) {
	if r.Answers == nil {
		return r.forPeriod(ctx, units, per)
	}
	key := strings.Join(units, "\x00") + "\x01" + per
	if v, ok := r.Answers.Load(key); ok {
		return slices.Clone(v.([]evaluations.Evaluation)), nil
	}
	rows, err := r.forPeriod(ctx, units, per)
	if err == nil {
		r.Answers.Store(key, slices.Clone(rows))
	}
	return rows, err
}

func (r EvaluationsAsOf) forPeriod(ctx context.Context, units []string, per string) ([]evaluations.Evaluation, error) {
	rows, err := r.Current.ForPeriod(ctx, units, per)
	if err != nil || len(rows) == 0 {
		return rows, err
	}
	p, err := period.Parse(per)
	if err != nil {
		return nil, fmt.Errorf("reports: evaluations as of: period %q: %w", per, err)
	}
	list, err := r.SKPs.Current.ForYear(ctx, units, p.Year())
	if err != nil {
		return nil, err
	}
	sums := make(map[string]skps.Summary, len(list))
	for _, s := range list {
		sums[s.ID] = s
	}
	out := make([]evaluations.Evaluation, 0, len(rows))
	for _, e := range rows {
		s, ok := sums[e.SKPID]
		if !ok {
			// Not among the year's SKPs of the units: read it alone.
			if s, err = r.SKPs.Current.Get(ctx, e.SKPID); err != nil {
				return nil, err
			}
		}
		past, err := r.rowsOf(ctx, s, e.Revision)
		if err != nil {
			return nil, err
		}
		if past == nil {
			out = append(out, e) // unchanged since the cut
		} else if pe, ok := past[per]; ok {
			out = append(out, pe)
		}
	}
	return out, nil
}

// ForSKP implements evaluations.Reader.
func (r EvaluationsAsOf) ForSKP(ctx context.Context, skpID string) ([]evaluations.Evaluation, error) {
	rows, err := r.Current.ForSKP(ctx, skpID)
	if err != nil || len(rows) == 0 {
		return rows, err
	}
	s, err := r.SKPs.Current.Get(ctx, skpID)
	if err != nil {
		return nil, err
	}
	var rev uint64
	for _, e := range rows {
		rev = max(rev, e.Revision)
	}
	past, err := r.rowsOf(ctx, s, rev)
	if err != nil || past == nil {
		return rows, err
	}
	out := make([]evaluations.Evaluation, 0, len(rows))
	for _, e := range rows {
		if pe, ok := past[e.Period]; ok {
			out = append(out, pe)
		}
	}
	return out, nil
}

// rowsOf returns the rows of s's SKP at the cut, by period, or nil when
// its stream has not changed since (today's rows are the cut's). rev is
// the highest revision among today's rows of the SKP: the evaluations
// read model may have read further than the SKP summaries, and a row of
// a revision the summary has not reached may hold an event after the
// cut, so the SKP is rebuilt.
func (r EvaluationsAsOf) rowsOf(ctx context.Context, s skps.Summary, rev uint64) (map[string]evaluations.Evaluation, error) {
	if !r.SKPs.Later(s.RecordedAt, s.Position) && rev <= s.Revision {
		return nil, nil
	}
	if r.Memo != nil {
		if v, ok := r.Memo.Load(s.ID); ok {
			return v.(map[string]evaluations.Evaluation), nil
		}
	}
	var evs []projections.Event
	for ev, err := range r.SKPs.Store.ReadStream(ctx, domain.SKPStreamPrefix+s.ID, eventstore.ReadStreamOptions{}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reports: evaluations of %s as of: %w", s.ID, err)
		}
		if r.SKPs.Later(ev.RecordedAt, ev.Position) {
			break
		}
		if len(evs) > 0 && !evaluationType(ev) {
			continue // changes no evaluation: not decoded
		}
		e, err := projections.Decode(ev)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	out := evaluations.Rebuild(evs)
	if r.Memo != nil {
		r.Memo.Store(s.ID, out)
	}
	return out, nil
}

// evaluationTypes remembers, by stored event type, whether the type's
// events change an evaluation (evaluations.PeriodOf), learnt by decoding
// the first one seen.
var evaluationTypes sync.Map

func evaluationType(ev eventstore.Event) bool {
	if v, ok := evaluationTypes.Load(ev.Type); ok {
		return v.(bool)
	}
	e, err := projections.Decode(ev)
	if err != nil || e.Payload == nil {
		return true
	}
	yes := evaluations.PeriodOf(e.Payload) != ""
	evaluationTypes.Store(ev.Type, yes)
	return yes
}
