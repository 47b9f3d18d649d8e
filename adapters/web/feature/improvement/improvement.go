// Package improvement is the dashboard's improvement plan of an evaluation
// (issue 14): when an evaluation is FINAL with a predikat of
// BUTUH_PERBAIKAN or worse, the appraiser in effect (or HR_ADMIN) opens
// the plan — goals, actions, a follow-up date (default six months after
// finality) — (skp.improvement_plan_opened.v1, POST
// …/evaluations/{period}/improvement-plan) and later records its result
// (skp.improvement_plan_result_recorded.v1, POST
// …/improvement-plan/result). One page shows the plan and the one form
// that applies; the deadline process manager reminds of each step (the
// inbox, /kotak-masuk).
package improvement

import (
	"context"
	"embed"
	"net/http"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

//go:embed *.html
var files embed.FS

// Paths of the page ({id} the SKP, {period} the evaluation's period) and
// of its result form.
const (
	PlanPath   = "/skp/{id}/evaluasi/{period}/rencana-perbaikan"
	ResultPath = PlanPath + "/hasil"
)

// Feature is the improvement plan page and its two forms.
type Feature struct {
	site *page.Site
	tmpl *page.Template[*planPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, tmpl: page.MustParse[*planPage](site, files, "plan.html", messages)}
}

// Routes registers the page and its forms.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+PlanPath, f.show)
	r.Page("POST "+PlanPath, f.postOpen)
	r.Page("POST "+ResultPath, f.postResult)
}

// planPage is the page: the evaluation, its plan, and the form that
// applies (OpenForm or ResultForm; Form is its state).
type planPage struct {
	page.Base
	View skp.View
	Eval skp.EvaluationView
	// Needed is true when the final predikat calls for a plan.
	Needed bool
	// Plan is the plan, once opened.
	Plan *skp.ImprovementPlan
	// OpenForm and ResultForm tell which form the caller is shown.
	OpenForm, ResultForm bool
	// NotFinal is true when a plan will be needed but the evaluation is
	// not final yet.
	NotFinal bool
	// Done is "buka" or "hasil" after a form succeeded.
	Done    string
	Form    form.State
	Changes []form.Change
	// Results are the result choices.
	Results []string
}

// path fills a path pattern with id and period.
func path(p, id, period string) string {
	return strings.NewReplacer("{id}", id, "{period}", period).Replace(p)
}

// load reads the SKP and its evaluation for a caller who may open or
// record the plan, or at least read the SKP (then no form is shown).
func (f *Feature) load(r *page.Request, st form.State) (*planPage, error) {
	ctx := r.Context()
	id, per := r.PathValue("id"), r.PathValue("period")
	svc := r.App().Config().SKPs
	v, err := svc.Read(ctx, r.User, id, skp.AsOf{})
	if err != nil {
		return nil, err
	}
	d := &planPage{Base: r.Base("improvement", "improvement.title"), View: v, Form: st}
	found := false
	for _, e := range v.Evaluations {
		if e.Period == per {
			d.Eval, found = e, true
		}
	}
	if !found {
		return nil, &domain.NotFoundError{Kind: "evaluation", ID: id + "/" + per}
	}
	d.Plan = d.Eval.ImprovementPlan
	d.Needed = skp.NeedsImprovementPlan(d.Eval.Predikat)
	may := func(a authz.Action) bool {
		_, _, _, err := svc.Authorize(ctx, r.User, id, a)
		return err == nil
	}
	final := d.Eval.Status == skp.EvalFinal
	d.NotFinal = d.Needed && !final
	d.OpenForm = d.Needed && final && d.Plan == nil && may(authz.OpenImprovementPlan)
	d.ResultForm = d.Plan != nil && d.Plan.Open() && may(authz.RecordImprovementResult)
	for _, res := range skp.ImprovementResults() {
		d.Results = append(d.Results, string(res))
	}
	if done := r.URL.Query().Get("selesai"); done == "buka" || done == "hasil" {
		d.Done = done
	}
	nips := []string{v.NIP, d.Eval.AppraiserNIP}
	if d.Plan != nil {
		nips = append(nips, d.Plan.OpenedBy, d.Plan.ResultBy)
	}
	d.Names = f.site.Names(ctx, nips...)
	return d, nil
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	id, per := r.PathValue("id"), r.PathValue("period")
	d, err := f.load(r, form.State{})
	if err != nil {
		return err
	}
	action := path(PlanPath, id, per)
	if d.ResultForm {
		action = path(ResultPath, id, per)
	}
	d.Form = form.New(r, action).WithRevision(d.View.Revision)
	return f.tmpl.Render(w, http.StatusOK, d)
}

// again renders the page with a form that came back: a stale form shows
// what changed and carries the current revision and a new key.
func (f *Feature) again(w http.ResponseWriter, r *page.Request, st form.State, status int) error {
	d, err := f.load(r, st)
	if err != nil {
		return err
	}
	if d.Form.Stale {
		if _, events, _, err := r.App().Config().SKPs.Authorize(r.Context(), r.User, d.View.ID, authz.ReadHistory); err == nil {
			d.Changes = form.ChangesSince(r.Lang, events, d.Form.Revision)
		}
		d.Form.Key = form.New(r, d.Form.Action).Key
		d.Form = d.Form.WithRevision(d.View.Revision)
	}
	return f.tmpl.Render(w, status, d)
}

// openInput is what the open form posts: the body of POST
// …/improvement-plan.
type openInput struct {
	Goals      string `form:"goals"`
	Actions    string `form:"actions"`
	FollowUpOn string `form:"follow_up_on"`
}

func (f *Feature) postOpen(w http.ResponseWriter, r *page.Request) error {
	var in openInput
	id, per := r.PathValue("id"), r.PathValue("period")
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(PlanPath, id, per), "selesai", "buka"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			cmd := skp.OpenImprovementPlan{SKPID: id, Period: per, Goals: in.Goals, Actions: in.Actions}
			if s := strings.TrimSpace(in.FollowUpOn); s != "" {
				d, err := calendar.Parse(s)
				if err != nil {
					return domain.Invalid("follow_up_on", "not a date YYYY-MM-DD")
				}
				cmd.FollowUpOn = d
			}
			_, err := svc.SKPs.OpenImprovementPlan(ctx, req, cmd)
			return err
		},
		Again: func(st form.State, status int) error { return f.again(w, r, st, status) },
	})
}

// resultInput is what the result form posts: the body of POST
// …/improvement-plan/result.
type resultInput struct {
	Result string `form:"result"`
	Note   string `form:"note"`
}

func (f *Feature) postResult(w http.ResponseWriter, r *page.Request) error {
	var in resultInput
	id, per := r.PathValue("id"), r.PathValue("period")
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(PlanPath, id, per), "selesai", "hasil"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.SKPs.RecordImprovementResult(ctx, req, skp.RecordImprovementResult{SKPID: id, Period: per,
				Result: skp.ImprovementResult(in.Result), Note: in.Note})
			return err
		},
		Again: func(st form.State, status int) error { return f.again(w, r, st, status) },
	})
}
