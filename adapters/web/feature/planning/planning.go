// Package planning is the dashboard's plan of an SKP (the employee's and
// the appraiser's forms of the planning phase): draft an SKP; add, change
// and remove RHK — the cascading link picked from the RHK of the
// appraiser's established SKP, never typed — and their indicators with
// targets, while the plan is editable (DRAFT, after a return, or in an
// amendment); submit it; and, for the appraiser, establish it, return it
// with a reason, or open an amendment of an established plan with a reason.
// Beyond the plan: the employee signs an amended plan as it stands (a
// button); the appraiser or HR assigns feedback givers from beyond the
// unit (givers.go) and cancels an SKP; HR closes one for a position change
// (with the first day in the new post).
//
// Every form follows feature/masterdata's pattern (see docs/web.md): a
// fresh idempotency key per rendered form (a double submit records once),
// the SKP's revision the form was rendered from (a form rendered before
// someone else's change is refused, 412, and shown again with what
// changed meanwhile and the current revision, so that sending it again
// re-applies it knowingly), problems beside the fields with the input
// kept, post-redirect-get. The page offers only what app.SKPActions and
// the SKP's state allow; the domain decides again.
package planning

import (
	"context"
	"embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

//go:embed *.html
var files embed.FS

// DraftPath is the "new SKP" form.
const DraftPath = "/skp/baru"

// PlanPath is the plan page of SKP id.
func PlanPath(id string) string { return "/skp/" + id + "/rencana" }

// Feature is the planning pages.
type Feature struct {
	site      *page.Site
	draft     *page.Template[*draftPage]
	plan      *page.Template[*planPage]
	rhk       *page.Template[*rhkPage]
	indicator *page.Template[*indicatorPage]
	ret       *page.Template[*returnPage]
	expect    *page.Template[*expectationPage]
	givers    *page.Template[*giversPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site,
		draft:     page.MustParse[*draftPage](site, files, "draft.html", messages),
		plan:      page.MustParse[*planPage](site, files, "plan.html", messages),
		rhk:       page.MustParse[*rhkPage](site, files, "rhk.html", messages),
		indicator: page.MustParse[*indicatorPage](site, files, "indicator.html", messages),
		ret:       page.MustParse[*returnPage](site, files, "return.html", messages),
		expect:    page.MustParse[*expectationPage](site, files, "expectation.html", messages),
		givers:    page.MustParse[*giversPage](site, files, "givers.html", messages),
	}
}

// Routes registers the planning pages.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+DraftPath, f.showDraft)
	r.Page("POST "+DraftPath, f.postDraft)
	r.Page("GET /skp/{id}/rencana", f.showPlan)
	r.Page("GET /skp/{id}/rencana/rhk", f.showRHK)
	r.Page("POST /skp/{id}/rencana/rhk", f.postRHK)
	r.Page("GET /skp/{id}/rencana/rhk/{rhk}", f.showRHK)
	r.Page("POST /skp/{id}/rencana/rhk/{rhk}", f.postRHK)
	r.Page("POST /skp/{id}/rencana/rhk/{rhk}/hapus", f.removeRHK)
	r.Page("GET /skp/{id}/rencana/rhk/{rhk}/indikator", f.showIndicator)
	r.Page("POST /skp/{id}/rencana/rhk/{rhk}/indikator", f.postIndicator)
	r.Page("GET /skp/{id}/rencana/indikator/{ind}", f.showIndicator)
	r.Page("POST /skp/{id}/rencana/indikator/{ind}", f.postIndicator)
	r.Page("POST /skp/{id}/rencana/indikator/{ind}/hapus", f.removeIndicator)
	r.Page("POST /skp/{id}/rencana/ajukan", f.submit)
	r.Page("POST /skp/{id}/rencana/tetapkan", f.establish)
	r.Page("GET /skp/{id}/rencana/kembalikan", f.showReason(returnAction))
	r.Page("POST /skp/{id}/rencana/kembalikan", f.postReason(returnAction))
	r.Page("GET /skp/{id}/rencana/ekspektasi", f.showExpectation)
	r.Page("POST /skp/{id}/rencana/ekspektasi", f.postExpectation)
	r.Page("GET /skp/{id}/rencana/amandemen", f.showReason(amendAction))
	r.Page("POST /skp/{id}/rencana/amandemen", f.postReason(amendAction))
	r.Page("GET /skp/{id}/rencana/batalkan", f.showReason(cancelAction))
	r.Page("POST /skp/{id}/rencana/batalkan", f.postReason(cancelAction))
	r.Page("GET /skp/{id}/rencana/tutup", f.showReason(closeAction))
	r.Page("POST /skp/{id}/rencana/tutup", f.postReason(closeAction))
	r.Page("POST /skp/{id}/rencana/tanda-tangan", f.acknowledge)
	r.Page("GET "+giversPath, f.showGivers)
	r.Page("POST "+giversPath, f.postGivers)
}

// editable reports whether the plan of v may change (the domain's rule:
// DRAFT, which a return leads back to, or AMENDMENT).
func editable(v skp.View) bool {
	return v.Status == skp.StatusDraft || v.Status == skp.StatusAmendment
}

// skpState is what every planning page reads of the SKP: the SKP as it is
// now, what the caller may do on it, and (for a stale form) what changed
// since the form's revision.
type skpState struct {
	View skp.View
	// May says which actions the reporting lines allow the caller.
	May map[authz.Action]bool
	// Changes are the events after a stale form's revision.
	Changes []form.Change
}

// load reads SKP id for caller (not found when they may not see it) and
// what they may do on it; with after > 0, also the events after that
// revision, described for the page b.
func load(r *page.Request, b *page.Base, id string, after uint64) (skpState, error) {
	ctx := r.Context()
	var st skpState
	svc := r.App().Config().SKPs
	v, err := svc.Read(ctx, r.User, id, skp.AsOf{})
	if err != nil {
		return st, err
	}
	st.View = v
	if st.May, err = r.App().SKPActions(ctx, r.User, id, authz.EditPlan, authz.SubmitSKP, authz.EstablishSKP, authz.ReturnSKP, authz.AmendSKP, authz.SetExpectation,
		authz.CancelSKP, authz.CloseSKP, authz.AcknowledgePlan, authz.AssignFeedbackGiver); err != nil {
		return st, err
	}
	if after > 0 {
		_, events, _, err := svc.Authorize(ctx, r.User, id, authz.ReadSKP)
		if err != nil {
			return st, err
		}
		st.Changes = form.ChangesSince(b.Lang, events, after)
	}
	return st, nil
}

// names fills b.Names with the names the planning pages show.
func (f *Feature) names(r *page.Request, b *page.Base, st skpState, more ...string) {
	nips := append([]string{st.View.NIP, st.View.AppraiserNIP, r.User.ID}, more...)
	for _, c := range st.Changes {
		nips = append(nips, c.Actor.ID)
	}
	b.Names = f.site.Names(r.Context(), nips...)
}

// since is the revision a stale form was rendered from (0 otherwise): the
// page shows what changed after it.
func since(st form.State) uint64 {
	if st.Stale {
		return st.Revision
	}
	return 0
}

// refresh lets a stale form be sent again, knowingly: it carries the
// current revision from now on (the page shows what changed).
func refresh(st *form.State, v skp.View) {
	if st.Stale {
		st.Revision, st.HasRevision = v.Revision, true
	}
}

// --- Draft -----------------------------------------------------------

// draftPage is the "new SKP" form.
type draftPage struct {
	page.Base
	Form form.State
	// Approaches are the choices of approach.
	Approaches []string
}

// draftInput is what the draft form posts: the fields of POST /v1/skps.
type draftInput struct {
	NIP      string `form:"nip"`
	Year     int    `form:"year"`
	Approach string `form:"approach"`
}

func (f *Feature) draftPage(r *page.Request, st form.State) *draftPage {
	d := &draftPage{Base: r.Base("planning", "planning.draft.title"), Form: st,
		Approaches: []string{string(skp.Kuantitatif), string(skp.Kualitatif)}}
	d.Names = f.site.Names(r.Context(), r.User.ID)
	return d
}

func (f *Feature) showDraft(w http.ResponseWriter, r *page.Request) error {
	st := form.New(r, DraftPath)
	st.Values = map[string][]string{"nip": {r.User.ID}, "year": {strconv.Itoa(r.App().Today().Year())}, "approach": {string(skp.Kuantitatif)}}
	return f.draft.Render(w, http.StatusOK, f.draftPage(r, st))
}

func (f *Feature) postDraft(w http.ResponseWriter, r *page.Request) error {
	var in draftInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		// The new SKP's id is known only once the command ran; a repeat of
		// the form finds the events of the first and is sent to the list.
		var id string
		next := func() string {
			if id == "" {
				return ""
			}
			return PlanPath(id)
		}
		var done bool
		done, status, err = submitTo(w, r, &st, next, func(ctx context.Context, svc app.Services, req domain.Request) error {
			var err error
			id, _, err = svc.SKPs.Draft(ctx, req, skp.Draft{NIP: in.NIP, Year: in.Year, Approach: in.Approach})
			return err
		})
		if err != nil || done {
			return err
		}
	}
	return f.draft.Render(w, status, f.draftPage(r, st))
}

// submitTo is form.Submit with a destination known only after the command
// ran (the id a command creates); a repeat of an applied form goes home.
func submitTo(w http.ResponseWriter, r *page.Request, st *form.State, next func() string, cmd form.Command) (bool, int, error) {
	rw := &redirectLater{ResponseWriter: w}
	done, status, err := form.Submit(rw, r, st, "/", cmd)
	if err != nil || !done {
		return done, status, err
	}
	to := next()
	if to == "" {
		to = "/"
	}
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
	return true, http.StatusSeeOther, nil
}

// redirectLater swallows form.Submit's redirect so that the caller can
// send its own.
type redirectLater struct {
	http.ResponseWriter
	h http.Header
}

func (w *redirectLater) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *redirectLater) WriteHeader(int)             {}
func (w *redirectLater) Write(b []byte) (int, error) { return len(b), nil }

// --- The plan --------------------------------------------------------

// planPage is the plan of one SKP with the actions of the planning phase.
type planPage struct {
	page.Base
	skpState
	// Editable: the caller may edit the plan and its state allows it.
	Editable bool
	// CanSubmit, CanEstablish, CanReturn, CanAmend, CanExpect: offered
	// actions.
	CanSubmit, CanEstablish, CanReturn, CanAmend, CanExpect bool
	// CanAcknowledge (the employee signs the amended plan as it stands),
	// CanCancel, CanClose, CanAssignGivers: offered actions.
	CanAcknowledge, CanCancel, CanClose, CanAssignGivers bool
	// Acknowledge is the form of the signature's button.
	Acknowledge form.State
	// Rows are the working plan's RHK with their remove forms.
	Rows []rhkRow
	// Cascade names the appraiser's RHK the plan's links point at.
	Cascade map[string]string
	// Submit and Establish are the forms of the two buttons.
	Submit, Establish form.State
	// Form is the state of a button form that came back with problems.
	Form form.State
	// Done names what was just recorded (?ok=), for the notice.
	Done string
	// LastNote is why the plan is editable again (a return, an
	// amendment), while it is.
	LastNote *skp.Note
}

// rhkRow is an RHK of the plan page.
type rhkRow struct {
	skp.RHK
	Remove     form.State
	Indicators []indicatorRow
	// Problems are the plan's problems for this RHK (a refused submit),
	// each with its field ("rhk.<id>.indicators"), the summary's anchor.
	Problems []form.FieldProblem
}

// indicatorRow is an indicator of the plan page.
type indicatorRow struct {
	skp.Indicator
	Remove form.State
}

func (f *Feature) planPage(r *page.Request, id string, failed form.State, after uint64) (*planPage, error) {
	d := &planPage{Base: r.Base("planning", "planning.plan.title"), Form: failed}
	if ok := r.URL.Query().Get("ok"); messages["planning.done."+ok].ID != "" {
		d.Done = ok
	}
	st, err := load(r, &d.Base, id, after)
	if err != nil {
		return nil, err
	}
	d.skpState = st
	v := st.View
	d.Editable = st.May[authz.EditPlan] && editable(v)
	d.CanSubmit = st.May[authz.SubmitSKP] && editable(v)
	d.CanEstablish = st.May[authz.EstablishSKP] && (v.Status == skp.StatusSubmitted || v.Status == skp.StatusAmendment)
	d.CanReturn = st.May[authz.ReturnSKP] && v.Status == skp.StatusSubmitted
	d.CanAmend = st.May[authz.AmendSKP] && v.Status == skp.StatusEstablished
	d.CanExpect = st.May[authz.SetExpectation] && expectable(v)
	d.CanAcknowledge = st.May[authz.AcknowledgePlan] && v.Status == skp.StatusAmendment
	d.CanCancel = st.May[authz.CancelSKP] && open(v)
	d.CanClose = st.May[authz.CloseSKP] && open(v)
	d.CanAssignGivers = st.May[authz.AssignFeedbackGiver] && open(v)
	if n := len(v.Notes); n > 0 && editable(v) && (v.Notes[n-1].Kind == "RETURNED" || v.Notes[n-1].Kind == "AMENDMENT_OPENED") {
		d.LastNote = &v.Notes[n-1]
	}
	base := PlanPath(id)
	fresh := func(action string) form.State { return form.New(r, action).WithRevision(v.Revision) }
	d.Submit, d.Establish, d.Acknowledge = fresh(base+"/ajukan"), fresh(base+"/tetapkan"), fresh(base+"/tanda-tangan")
	for _, rh := range v.Plan {
		row := rhkRow{RHK: rh, Remove: fresh(base + "/rhk/" + rh.ID + "/hapus")}
		for _, in := range rh.Indicators {
			row.Indicators = append(row.Indicators, indicatorRow{Indicator: in, Remove: fresh(base + "/indikator/" + in.ID + "/hapus")})
		}
		for _, p := range failed.ProblemFields() {
			if strings.HasPrefix(p.Field, "rhk."+rh.ID+".") {
				row.Problems = append(row.Problems, p)
			}
		}
		d.Rows = append(d.Rows, row)
	}
	d.Cascade = map[string]string{}
	if d.Editable {
		if ct, err := r.App().Config().SKPs.CascadeTarget(r.Context(), r.User, id); err == nil {
			for _, rh := range ct.RHK {
				d.Cascade[rh.ID] = rh.Text
			}
		}
	}
	f.names(r, &d.Base, st)
	return d, nil
}

func (f *Feature) showPlan(w http.ResponseWriter, r *page.Request) error {
	d, err := f.planPage(r, r.PathValue("id"), form.State{}, 0)
	if err != nil {
		return err
	}
	return f.plan.Render(w, http.StatusOK, d)
}

// button runs a form without fields of the plan page (remove, submit,
// establish) and goes back to the plan, or shows it with the problem.
func (f *Feature) button(w http.ResponseWriter, r *page.Request, done string, cmd func(ctx context.Context, svc app.Services, req domain.Request, id string) error) error {
	id := r.PathValue("id")
	var in struct{}
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(PlanPath(id), "ok", done),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			return cmd(ctx, svc, req, id)
		},
		Again: func(st form.State, status int) error {
			d, err := f.planPage(r, id, st, since(st))
			if err != nil {
				return err
			}
			return f.plan.Render(w, status, d)
		},
	})
}

func (f *Feature) removeRHK(w http.ResponseWriter, r *page.Request) error {
	return f.button(w, r, "rhk-removed", func(ctx context.Context, svc app.Services, req domain.Request, id string) error {
		_, err := svc.SKPs.RemoveRHK(ctx, req, skp.RemoveRHK{SKPID: id, RHKID: r.PathValue("rhk")})
		return err
	})
}

func (f *Feature) removeIndicator(w http.ResponseWriter, r *page.Request) error {
	return f.button(w, r, "indicator-removed", func(ctx context.Context, svc app.Services, req domain.Request, id string) error {
		_, err := svc.SKPs.RemoveIndicator(ctx, req, skp.RemoveIndicator{SKPID: id, IndicatorID: r.PathValue("ind")})
		return err
	})
}

func (f *Feature) submit(w http.ResponseWriter, r *page.Request) error {
	return f.button(w, r, "submitted", func(ctx context.Context, svc app.Services, req domain.Request, id string) error {
		_, err := svc.SKPs.Submit(ctx, req, skp.Submit{SKPID: id})
		return err
	})
}

// acknowledge is the employee's signature of the amended plan as it
// stands (skp.plan_acknowledged.v1).
func (f *Feature) acknowledge(w http.ResponseWriter, r *page.Request) error {
	return f.button(w, r, "acknowledged", func(ctx context.Context, svc app.Services, req domain.Request, id string) error {
		_, err := svc.SKPs.AcknowledgePlan(ctx, req, skp.AcknowledgePlan{SKPID: id})
		return err
	})
}

func (f *Feature) establish(w http.ResponseWriter, r *page.Request) error {
	return f.button(w, r, "established", func(ctx context.Context, svc app.Services, req domain.Request, id string) error {
		_, err := svc.SKPs.Establish(ctx, req, skp.Establish{SKPID: id})
		return err
	})
}

// --- RHK -------------------------------------------------------------

// rhkPage adds or changes an RHK.
type rhkPage struct {
	page.Base
	skpState
	Form form.State
	// Current is the RHK as it is now (editing), nil when adding.
	Current *skp.RHK
	// Target is what a cascading link may name: the appraiser's
	// established SKP's RHK.
	Target skp.CascadeTarget
	// Kinds are the choices of kind.
	Kinds []string
}

// rhkInput is what the RHK form posts: the fields of POST /v1/skps/{id}/rhk.
type rhkInput struct {
	Text            string `form:"text"`
	Kind            string `form:"kind"`
	IntervenedRHKID string `form:"intervened_rhk_id"`
	PKRef           string `form:"pk_ref"`
}

func (f *Feature) rhkPage(r *page.Request, st form.State, after uint64) (*rhkPage, error) {
	id, rhkID := r.PathValue("id"), r.PathValue("rhk")
	title := "planning.rhk.new"
	if rhkID != "" {
		title = "planning.rhk.edit"
	}
	d := &rhkPage{Base: r.Base("planning", title), Form: st, Kinds: []string{string(skp.Utama), string(skp.Tambahan)}}
	s, err := load(r, &d.Base, id, after)
	if err != nil {
		return nil, err
	}
	d.skpState = s
	if !s.May[authz.EditPlan] {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	if rhkID != "" {
		for i := range s.View.Plan {
			if s.View.Plan[i].ID == rhkID {
				d.Current = &s.View.Plan[i]
			}
		}
		if d.Current == nil {
			return nil, &domain.NotFoundError{Kind: "rhk", ID: rhkID}
		}
	}
	if d.Target, err = r.App().Config().SKPs.CascadeTarget(r.Context(), r.User, id); err != nil {
		return nil, err
	}
	f.names(r, &d.Base, s, d.Target.AppraiserNIP)
	return d, nil
}

func (f *Feature) showRHK(w http.ResponseWriter, r *page.Request) error {
	st := form.New(r, r.URL.Path)
	d, err := f.rhkPage(r, st, 0)
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	if c := d.Current; c != nil {
		d.Form.Values = map[string][]string{"text": {c.Text}, "kind": {string(c.Kind)}, "intervened_rhk_id": {c.IntervenedRHKID}, "pk_ref": {c.PKRef}}
	} else {
		d.Form.Values = map[string][]string{"kind": {string(skp.Utama)}}
	}
	return f.rhk.Render(w, http.StatusOK, d)
}

func (f *Feature) postRHK(w http.ResponseWriter, r *page.Request) error {
	id, rhkID := r.PathValue("id"), r.PathValue("rhk")
	var in rhkInput
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(PlanPath(id), "ok", "rhk-saved"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			fields := skp.RHKFields{Text: in.Text, Kind: in.Kind, IntervenedRHKID: in.IntervenedRHKID, PKRef: in.PKRef}
			if rhkID == "" {
				_, _, err := svc.SKPs.AddRHK(ctx, req, skp.AddRHK{SKPID: id, RHKFields: fields})
				return err
			}
			_, err := svc.SKPs.ChangeRHK(ctx, req, skp.ChangeRHK{SKPID: id, RHKID: rhkID, RHKFields: fields})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.rhkPage(r, st, since(st))
			if err != nil {
				return err
			}
			refresh(&d.Form, d.View)
			return f.rhk.Render(w, status, d)
		},
	})
}

// --- Indicators ------------------------------------------------------

// indicatorPage adds or changes an indicator.
type indicatorPage struct {
	page.Base
	skpState
	Form form.State
	// RHK is the RHK the indicator belongs to.
	RHK skp.RHK
	// Current is the indicator as it is now (editing), nil when adding.
	Current *skp.Indicator
	// Aspects are the choices of aspect.
	Aspects []string
}

// indicatorInput is what the indicator form posts: the fields of POST
// /v1/skps/{id}/rhk/{rhk_id}/indicators.
type indicatorInput struct {
	Aspect string `form:"aspect"`
	Text   string `form:"text"`
	Target struct {
		Value float64 `form:"value,required"`
		Unit  string  `form:"unit"`
	} `form:"target"`
}

func (f *Feature) indicatorPage(r *page.Request, st form.State, after uint64) (*indicatorPage, error) {
	id, rhkID, indID := r.PathValue("id"), r.PathValue("rhk"), r.PathValue("ind")
	title := "planning.indicator.new"
	if indID != "" {
		title = "planning.indicator.edit"
	}
	d := &indicatorPage{Base: r.Base("planning", title), Form: st,
		Aspects: []string{string(skp.Kuantitas), string(skp.Kualitas), string(skp.Waktu), string(skp.Biaya)}}
	s, err := load(r, &d.Base, id, after)
	if err != nil {
		return nil, err
	}
	d.skpState = s
	if !s.May[authz.EditPlan] {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	found := false
	for _, rh := range s.View.Plan {
		for i := range rh.Indicators {
			if indID != "" && rh.Indicators[i].ID == indID {
				d.RHK, d.Current, found = rh, &rh.Indicators[i], true
			}
		}
		if indID == "" && rh.ID == rhkID {
			d.RHK, found = rh, true
		}
	}
	if !found {
		if indID != "" {
			return nil, &domain.NotFoundError{Kind: "indicator", ID: indID}
		}
		return nil, &domain.NotFoundError{Kind: "rhk", ID: rhkID}
	}
	f.names(r, &d.Base, s)
	return d, nil
}

func (f *Feature) showIndicator(w http.ResponseWriter, r *page.Request) error {
	d, err := f.indicatorPage(r, form.New(r, r.URL.Path), 0)
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	if c := d.Current; c != nil {
		d.Form.Values = map[string][]string{"aspect": {string(c.Aspect)}, "text": {c.Text},
			"target.value": {strconv.FormatFloat(c.Target.Value, 'f', -1, 64)}, "target.unit": {c.Target.Unit}}
	} else {
		d.Form.Values = map[string][]string{"aspect": {string(skp.Kuantitas)}}
	}
	return f.indicator.Render(w, http.StatusOK, d)
}

func (f *Feature) postIndicator(w http.ResponseWriter, r *page.Request) error {
	id, rhkID, indID := r.PathValue("id"), r.PathValue("rhk"), r.PathValue("ind")
	var in indicatorInput
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(PlanPath(id), "ok", "indicator-saved"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			fields := skp.IndicatorFields{Aspect: in.Aspect, Text: in.Text, Target: skp.Target{Value: in.Target.Value, Unit: in.Target.Unit}}
			if indID == "" {
				_, _, err := svc.SKPs.AddIndicator(ctx, req, skp.AddIndicator{SKPID: id, RHKID: rhkID, IndicatorFields: fields})
				return err
			}
			_, err := svc.SKPs.ChangeIndicator(ctx, req, skp.ChangeIndicator{SKPID: id, IndicatorID: indID, IndicatorFields: fields})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.indicatorPage(r, st, since(st))
			if err != nil {
				return err
			}
			refresh(&d.Form, d.View)
			return f.indicator.Render(w, status, d)
		},
	})
}

// --- Return, amendment, cancellation, closing -------------------------

// reasonAction is one of the actions on an SKP that need a reason (and,
// for closing, a date): the appraiser returns a submitted plan or opens an
// amendment of an established one; the appraiser or HR cancels an SKP; HR
// closes one for a position change.
type reasonAction struct {
	act                 authz.Action
	title, hint, button string // message keys
	done                string // the plan page's notice
	// reason is the label's key of the reason; optional says the domain
	// does not require one.
	reason   string
	optional bool
	// date is the label's key of the effective_from date the action asks
	// for ("" for none).
	date string
	// offered reports whether the SKP's state allows the action (nil:
	// the domain alone decides); a page not offered is not found.
	offered func(v skp.View) bool
	run     func(ctx context.Context, svc app.Services, req domain.Request, id string, in reasonInput) error
}

var (
	returnAction = reasonAction{act: authz.ReturnSKP, title: "planning.return.title", hint: "planning.return.hint", button: "planning.return", reason: "planning.return.reason",
		done: "returned", run: func(ctx context.Context, svc app.Services, req domain.Request, id string, in reasonInput) error {
			_, err := svc.SKPs.Return(ctx, req, skp.Return{SKPID: id, Reason: in.Reason})
			return err
		}}
	amendAction = reasonAction{act: authz.AmendSKP, title: "planning.amend.title", hint: "planning.amend.hint", button: "planning.amend", reason: "planning.amend.reason",
		done: "amended", run: func(ctx context.Context, svc app.Services, req domain.Request, id string, in reasonInput) error {
			_, err := svc.SKPs.Amend(ctx, req, skp.Amend{SKPID: id, Reason: in.Reason})
			return err
		}}
	cancelAction = reasonAction{act: authz.CancelSKP, title: "planning.cancel.title", hint: "planning.cancel.hint", button: "planning.cancel.submit", reason: "planning.cancel.reason",
		done: "cancelled", offered: open, run: func(ctx context.Context, svc app.Services, req domain.Request, id string, in reasonInput) error {
			_, err := svc.SKPs.Cancel(ctx, req, skp.Cancel{SKPID: id, Reason: in.Reason})
			return err
		}}
	closeAction = reasonAction{act: authz.CloseSKP, title: "planning.close.title", hint: "planning.close.hint", button: "planning.close.submit", reason: "planning.close.reason", optional: true,
		done: "closed", date: "planning.close.from", offered: open, run: func(ctx context.Context, svc app.Services, req domain.Request, id string, in reasonInput) error {
			_, err := svc.SKPs.Close(ctx, req, skp.Close{SKPID: id, EffectiveFrom: in.EffectiveFrom, Reason: in.Reason})
			return err
		}}
)

// open reports whether v has not ended (cancelled, or closed for a
// position change): what cancelling and closing need.
func open(v skp.View) bool { return v.Status.Open() }

// returnPage is the form of a reasonAction.
type returnPage struct {
	page.Base
	skpState
	Form form.State
	// Hint, Button and Reason are the message keys of the action; Date
	// the key of the date field's label ("" for none).
	Hint, Button, Reason, Date string
	// Optional: the reason may be left empty.
	Optional bool
}

// reasonInput is what the form posts: the body of POST
// /v1/skps/{id}/return, …/amendment, …/cancel, …/close.
type reasonInput struct {
	Reason        string        `form:"reason"`
	EffectiveFrom calendar.Date `form:"effective_from"`
}

func (f *Feature) returnPage(r *page.Request, a reasonAction, st form.State, after uint64) (*returnPage, error) {
	d := &returnPage{Base: r.Base("planning", a.title), Form: st, Hint: a.hint, Button: a.button, Reason: a.reason, Date: a.date, Optional: a.optional}
	s, err := load(r, &d.Base, r.PathValue("id"), after)
	if err != nil {
		return nil, err
	}
	if !s.May[a.act] {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	d.skpState = s
	f.names(r, &d.Base, s)
	return d, nil
}

func (f *Feature) showReason(a reasonAction) page.Handler {
	return func(w http.ResponseWriter, r *page.Request) error {
		d, err := f.returnPage(r, a, form.New(r, r.URL.Path), 0)
		if err != nil {
			return err
		}
		if a.offered != nil && !a.offered(d.View) {
			return &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
		}
		d.Form = d.Form.WithRevision(d.View.Revision)
		return f.ret.Render(w, http.StatusOK, d)
	}
}

func (f *Feature) postReason(a reasonAction) page.Handler {
	return func(w http.ResponseWriter, r *page.Request) error {
		id := r.PathValue("id")
		var in reasonInput
		return form.Post(w, r, &in, form.Step{
			Next: page.Link(PlanPath(id), "ok", a.done),
			Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
				return a.run(ctx, svc, req, id, in)
			},
			Again: func(st form.State, status int) error {
				d, err := f.returnPage(r, a, st, since(st))
				if err != nil {
					return err
				}
				refresh(&d.Form, d.View)
				return f.ret.Render(w, status, d)
			},
		})
	}
}

// --- Behaviour expectations --------------------------------------------

// expectable reports whether v's state allows behaviour expectations (the
// domain's rule: while the plan is drafted, reviewed or amended).
func expectable(v skp.View) bool {
	return v.Status == skp.StatusDraft || v.Status == skp.StatusSubmitted || v.Status == skp.StatusAmendment
}

// expectationPage is the appraiser's expectation for a BerAKHLAK value.
type expectationPage struct {
	page.Base
	skpState
	Form   form.State
	Values []berakhlak.Value
}

// expectationInput is what the form posts: the value (the path of PUT
// /v1/skps/{id}/behaviour-expectations/{value}) and its body.
type expectationInput struct {
	Value       string `form:"value"`
	Expectation string `form:"expectation"`
}

func (f *Feature) expectationPage(r *page.Request, st form.State, after uint64) (*expectationPage, error) {
	d := &expectationPage{Base: r.Base("planning", "planning.expect.title"), Form: st, Values: berakhlak.Values()}
	s, err := load(r, &d.Base, r.PathValue("id"), after)
	if err != nil {
		return nil, err
	}
	if !s.May[authz.SetExpectation] {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	d.skpState = s
	f.names(r, &d.Base, s)
	return d, nil
}

func (f *Feature) showExpectation(w http.ResponseWriter, r *page.Request) error {
	d, err := f.expectationPage(r, form.New(r, r.URL.Path), 0)
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	v := r.URL.Query().Get("nilai")
	d.Form.Values = map[string][]string{"value": {v}}
	for _, e := range d.View.Expectations {
		if string(e.Value) == v {
			d.Form.Values.Set("expectation", e.Expectation)
		}
	}
	return f.expect.Render(w, http.StatusOK, d)
}

func (f *Feature) postExpectation(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	var in expectationInput
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(PlanPath(id), "ok", "expectation-saved"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.SKPs.SetBehaviourExpectation(ctx, req, skp.SetBehaviourExpectation{SKPID: id, Value: in.Value, Expectation: in.Expectation})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.expectationPage(r, st, since(st))
			if err != nil {
				return err
			}
			refresh(&d.Form, d.View)
			return f.expect.Render(w, status, d)
		},
	})
}
