// Package skppage is the dashboard's page of one SKP: the plan (RHK with
// their indicators and the cascading links to the appraiser's RHK),
// realisations, feedback, evaluations, objections, the score history and
// every event, now or as it was recorded at any earlier moment (?as_of=),
// with links to the forms its caller may use (feature/planning,
// feature/execution; by path, as features never import each other) and
// the downloads of stored evidence files.
package skppage

import (
	"embed"
	"errors"
	"maps"
	"net/http"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

//go:embed *.html
var files embed.FS

// Feature is the SKP page.
type Feature struct {
	site *page.Site
	skp  *page.Template[*skpData]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, skp: page.MustParse[*skpData](site, files, "skp.html", messages)}
}

// Routes registers the SKP page.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /skp/{id}", f.show)
}

// skpData is the SKP page's model.
type skpData struct {
	page.Base
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
	// Act holds the actions the page offers the caller (the current state
	// only; none as of an earlier moment).
	Act actions
}

// actions are the links to the forms of the SKP the page offers: what the
// reporting lines allow the caller (app.SKPActions) and the SKP's state.
type actions struct {
	Plan, Realise, Evidence, Feedback, Self bool
	// Evaluations: the evaluation pages (feature/evaluation) are there;
	// they offer their own forms to whom they concern.
	Evaluations bool
	// Feedback360 and Development: the 360° rounds and the coaching and
	// development pages (feature/feedback) are there.
	Feedback360, Development bool
}

// Any reports whether any action is offered.
func (a actions) Any() bool {
	return a.Plan || a.Realise || a.Evidence || a.Feedback || a.Self || a.Evaluations
}

// offer decides the actions on v for the caller.
func offer(r *page.Request, v skp.View) (actions, error) {
	may, err := r.App().SKPActions(r.Context(), r.User, v.ID, authz.EditPlan, authz.SubmitSKP, authz.EstablishSKP, authz.ReturnSKP, authz.AmendSKP,
		authz.RecordRealisation, authz.AttachEvidence, authz.GiveFeedback, authz.SelfAssess)
	if err != nil {
		return actions{}, err
	}
	open := v.Status != skp.StatusCancelled && v.Status != skp.StatusClosed
	inEffect := open && v.Version > 0
	editable := v.Status == skp.StatusDraft || v.Status == skp.StatusAmendment
	return actions{
		Plan: (editable && (may[authz.EditPlan] || may[authz.SubmitSKP])) ||
			(may[authz.EstablishSKP] && (v.Status == skp.StatusSubmitted || v.Status == skp.StatusAmendment)) ||
			(may[authz.ReturnSKP] && v.Status == skp.StatusSubmitted) ||
			(may[authz.AmendSKP] && v.Status == skp.StatusEstablished),
		Realise:  inEffect && may[authz.RecordRealisation],
		Evidence: inEffect && may[authz.AttachEvidence],
		Feedback: open && may[authz.GiveFeedback],
		Self:     inEffect && may[authz.SelfAssess],
		// The evaluations page, by its path (features never import each
		// other), when it is registered.
		Evaluations: v.Version > 0 && r.Site().Routed(http.MethodGet, "/skp/"+v.ID+"/penilaian"),
		Feedback360: v.Version > 0 && r.Site().Routed(http.MethodGet, "/skp/"+v.ID+"/umpan-balik-360"),
		Development: v.Version > 0 && r.Site().Routed(http.MethodGet, "/skp/"+v.ID+"/pengembangan"),
	}, nil
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
func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	svc := r.App().Config().SKPs
	req := r
	d := &skpData{Base: r.Base("skp", "skp.title")}
	if s := r.URL.Query().Get("as_of"); s != "" {
		t, err := f.parseAsOf(s)
		if err != nil {
			return err
		}
		d.AsOf = t
		d.AsOfInput = t.In(f.site.Location()).Format("2006-01-02T15:04:05")
	}
	// The current read authorises (the parties in effect now and those
	// recorded on the SKP); a caller who may not see it gets 404.
	cur, err := svc.Read(ctx, req.User, id, skp.AsOf{})
	if err != nil {
		return err
	}
	d.View = cur
	// Times in the zone of the employee's unit (issue 13).
	d.InZone(f.site.EmployeeZone(ctx, cur.NIP))
	if !d.AsOf.IsZero() {
		v, err := svc.Read(ctx, req.User, id, skp.AsOf{RecordedAt: d.AsOf})
		switch {
		case errors.Is(err, domain.ErrNotFound):
			d.AsOfMissing = true
		case err != nil:
			return err
		default:
			d.View = v
		}
	}
	if d.AsOf.IsZero() {
		if d.Act, err = offer(r, cur); err != nil {
			return err
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
		if up, err := svc.Read(ctx, req.User, r.IntervenedSKPID, skp.AsOf{}); err == nil {
			rhk, _ := planIndex(up)
			maps.Copy(d.Cascade, rhk)
		}
	}
	for _, e := range d.View.Evaluations {
		d.Scores = append(d.Scores, e.History...)
	}
	_, events, _, err := svc.Authorize(ctx, req.User, id, authz.ReadHistory)
	switch {
	case errors.Is(err, domain.ErrForbidden):
		d.HistoryHidden = true
	case err != nil:
		return err
	}
	for _, ev := range events {
		row := eventRow{Revision: ev.Revision, Type: ev.Event.EventType(), Actor: ev.Meta.Actor, Reason: ev.Meta.Reason,
			OccurredAt: ev.Meta.OccurredAt, RecordedAt: ev.RecordedAt,
			Summary: eventSummary(&d.Base, ev.Event, d.RHK, d.Indicators)}
		if skp.RedactedEvent(row.Type) {
			// A 360° answer: its giver is read only through a recorded
			// disclosure (docs/feedback360.md).
			row.Actor = domain.Actor{ID: skp.RedactedActor}
		}
		row.Later = !d.AsOf.IsZero() && ev.RecordedAt.After(d.AsOf)
		row.Shown = !d.AsOfMissing && ev.Revision == d.View.Revision
		d.Events = append(d.Events, row)
	}
	d.Names = f.site.Names(ctx, d.nips()...)
	return f.skp.Render(w, http.StatusOK, d)
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
func (f *Feature) parseAsOf(s string) (time.Time, error) {
	t, span, err := f.site.ParseLocal(s)
	if err != nil {
		return time.Time{}, page.BadParam("error.asof", s)
	}
	if span > 0 {
		t = t.Add(span - time.Nanosecond)
	}
	return t, nil
}

// nips are the NIPs whose names the page shows.
func (d *skpData) nips() []string {
	v := d.View
	out := []string{v.AppraiserNIP, v.AppraiserSuperiorNIP}
	for _, fb := range v.Feedback {
		out = append(out, fb.GiverNIP)
	}
	for _, e := range v.Evaluations {
		if o := e.Objection; o != nil && o.Decision != nil {
			out = append(out, o.Decision.DecidedBy)
		}
	}
	for _, s := range d.Scores {
		out = append(out, s.Actor.ID)
	}
	for _, e := range d.Events {
		out = append(out, e.Actor.ID)
	}
	return out
}
