package web

import (
	"errors"
	"maps"
	"net/http"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// skpData is the SKP page's model.
type skpData struct {
	View skp.View
	// AsOf is the instant shown (zero: now); AsOfInput its value in the
	// datetime-local control; AsOfMissing is true when the SKP had not
	// been drafted by then.
	AsOf        time.Time
	AsOfInput   string
	AsOfMissing bool
	// RHK and Indicators name the plan's parts by id, from every version.
	RHK        map[string]*skp.RHK
	Indicators map[string]*skp.Indicator
	// Cascade names the appraiser's RHK that the plan's RHK contribute
	// to, when the caller may read the appraiser's SKP.
	Cascade map[string]*skp.RHK
	// Events is the timeline; HistoryHidden is true when the caller may
	// read the SKP but not its history (HR_ANALYST, GRIEVANCE_CLERK).
	Events        []eventRow
	HistoryHidden bool
	Scores        []skp.ScoreEntry
}

// eventRow is one event of the SKP's timeline.
type eventRow struct {
	Revision   uint64
	Type       string
	Summary    string
	Actor      domain.Actor
	Reason     string
	OccurredAt time.Time
	RecordedAt time.Time
	// Later is true when the event was recorded after the instant shown.
	Later bool
	// Shown is true for the last event the page shows.
	Shown bool
}

// skpPage shows one SKP now, or as it was recorded at ?as_of=, with its
// timeline and score history.
func (h *Handler) skpPage(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	var d skpData
	if s := r.URL.Query().Get("as_of"); s != "" {
		t, err := h.parseAsOf(s)
		if err != nil {
			return err
		}
		d.AsOf = t
		d.AsOfInput = t.In(h.cfg.Policy.Location).Format("2006-01-02T15:04:05")
	}
	// The current read authorises (the parties in effect now and those
	// recorded on the SKP); a caller who may not see it gets 404.
	cur, err := h.cfg.SKPs.Read(ctx, req.user, id, skp.AsOf{})
	if err != nil {
		return err
	}
	d.View = cur
	if !d.AsOf.IsZero() {
		v, err := h.cfg.SKPs.Read(ctx, req.user, id, skp.AsOf{RecordedAt: d.AsOf})
		switch {
		case errors.Is(err, domain.ErrNotFound):
			d.AsOfMissing = true
		case err != nil:
			return err
		default:
			d.View = v
		}
	}
	d.RHK, d.Indicators = planIndex(cur)
	d.Cascade = map[string]*skp.RHK{}
	read := map[string]bool{}
	for _, r := range d.View.Plan {
		if r.IntervenedSKPID == "" || read[r.IntervenedSKPID] {
			continue
		}
		read[r.IntervenedSKPID] = true
		// Read as the caller: a caller who may not see the appraiser's SKP
		// sees the link, not the text.
		if up, err := h.cfg.SKPs.Read(ctx, req.user, r.IntervenedSKPID, skp.AsOf{}); err == nil {
			rhk, _ := planIndex(up)
			maps.Copy(d.Cascade, rhk)
		}
	}
	for _, e := range d.View.Evaluations {
		d.Scores = append(d.Scores, e.History...)
	}
	_, events, _, err := h.cfg.SKPs.Authorize(ctx, req.user, id, authz.ReadHistory)
	switch {
	case errors.Is(err, domain.ErrForbidden):
		d.HistoryHidden = true
	case err != nil:
		return err
	}
	for _, ev := range events {
		row := eventRow{Revision: ev.Revision, Type: ev.Event.EventType(), Actor: ev.Meta.Actor, Reason: ev.Meta.Reason,
			OccurredAt: ev.Meta.OccurredAt, RecordedAt: ev.RecordedAt,
			Summary: eventSummary(req.lang, ev.Event, d.RHK, d.Indicators)}
		row.Later = !d.AsOf.IsZero() && ev.RecordedAt.After(d.AsOf)
		row.Shown = !d.AsOfMissing && ev.Revision == d.View.Revision
		d.Events = append(d.Events, row)
	}
	return h.render(w, r, req, http.StatusOK, "skp", "skp.title", d)
}

// planIndex names every RHK and indicator that any version or the working
// plan of v held.
func planIndex(v skp.View) (map[string]*skp.RHK, map[string]*skp.Indicator) {
	rhk, ind := map[string]*skp.RHK{}, map[string]*skp.Indicator{}
	add := func(plan []skp.RHK) {
		for _, r := range plan {
			rhk[r.ID] = &r
			for _, i := range r.Indicators {
				ind[i.ID] = &i
			}
		}
	}
	for _, pv := range v.Versions {
		add(pv.RHK)
	}
	add(v.Plan)
	return rhk, ind
}

// parseAsOf reads the as-of control: an RFC 3339 instant (as the timeline's
// links give it), or a local date-time in the policy's zone as a
// datetime-local control sends it ("2026-12-18T10:00" or with seconds), or
// a date. A local time names the whole minute, second or day: everything
// recorded within it is included.
func (h *Handler) parseAsOf(s string) (time.Time, error) {
	t, span, err := h.parseLocal(s)
	if err != nil {
		return time.Time{}, &badRequest{key: "error.asof", detail: s}
	}
	if span > 0 {
		t = t.Add(span - time.Nanosecond)
	}
	return t, nil
}
