// Package evaluation is the dashboard's evaluation forms: the evaluations
// of one SKP period by period (what each caller may do with each), the
// appraiser's rating of a period (the predikat derived by the matrix of
// package rating, shown before confirming — a server-side preview step
// that works without JavaScript, and a small script that updates it as
// the ratings change, reading the matrix table the page renders from
// rating.Derive), with the indicators' targets and realisations and the
// employee's self-assessment beside it, and issuing with delivery.
//
// The forms follow package masterdata's pattern (docs/web.md): a page
// struct embedding page.Base and a form.State; the POST decodes with
// form.Decode and runs the domain command through form.Submit on the
// application layer's keyed services (a double submit records once), with
// the revision the form was rendered from (a stale form is refused, shown
// with what changed since, and may be sent again).
package evaluation

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

//go:embed *.html
var files embed.FS

// Paths of the evaluation pages ({id} is the SKP, {period} the period).
const (
	OverviewPath = "/skp/{id}/penilaian"
	RatePath     = "/skp/{id}/penilaian/{period}/nilai"
	IssuePath    = "/skp/{id}/penilaian/{period}/terbitkan"
	ReceiptPath  = "/skp/{id}/penilaian/{period}/terima"
)

// path fills the {id} and {period} of a path pattern.
func path(p, id, per string) string {
	return strings.NewReplacer("{id}", url.PathEscape(id), "{period}", url.PathEscape(per)).Replace(p)
}

// Feature is the evaluation pages.
type Feature struct {
	site     *page.Site
	overview *page.Template[*overviewPage]
	rate     *page.Template[*ratePage]
	issue    *page.Template[*issuePage]
	receipt  *page.Template[*receiptPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site,
		overview: page.MustParse[*overviewPage](site, files, "overview.html", messages),
		rate:     page.MustParse[*ratePage](site, files, "rate.html", messages),
		issue:    page.MustParse[*issuePage](site, files, "issue.html", messages),
		receipt:  page.MustParse[*receiptPage](site, files, "receipt.html", messages)}
}

// Routes registers the evaluation pages.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+OverviewPath, f.showOverview)
	r.Page("GET "+RatePath, f.showRate)
	r.Page("POST "+RatePath, f.postRate)
	r.Page("GET "+IssuePath, f.showIssue)
	r.Page("POST "+IssuePath, f.postIssue)
	r.Page("GET "+ReceiptPath, f.showReceipt)
	r.Page("POST "+ReceiptPath, f.postReceipt)
}

// periodsOf lists the periods an SKP is evaluated for: those of its
// cadence in its year, then the year.
func periodsOf(v skp.View) []string {
	var out []string
	switch v.Cadence {
	case period.Quarterly:
		for q := 1; q <= 4; q++ {
			out = append(out, fmt.Sprintf("%d-Q%d", v.Year, q))
		}
	case period.Monthly:
		for m := 1; m <= 12; m++ {
			out = append(out, fmt.Sprintf("%d-%02d", v.Year, m))
		}
	}
	return append(out, strconv.Itoa(v.Year))
}

// evaluationOf returns the evaluation of per in v, or nil when the period
// was never rated.
func evaluationOf(v skp.View, per string) *skp.EvaluationView {
	for i := range v.Evaluations {
		if v.Evaluations[i].Period == per {
			return &v.Evaluations[i]
		}
	}
	return nil
}

// loadPeriod reads the SKP of the path as the caller (404 when they may not
// see it) and checks the path's period is one the SKP is evaluated for.
func loadPeriod(r *page.Request) (skp.View, string, error) {
	v, err := r.App().Config().SKPs.Read(r.Context(), r.User, r.PathValue("id"), skp.AsOf{})
	if err != nil {
		return v, "", err
	}
	per := r.PathValue("period")
	if !slices.Contains(periodsOf(v), per) {
		return v, "", page.BadParam("error.period", per)
	}
	return v, per, nil
}

// overviewPage lists the periods of one SKP with their evaluations and
// what the caller may do with each.
type overviewPage struct {
	page.Base
	View    skp.View
	Periods []periodRow
	// Done names what was just recorded (?selesai=), shown as a notice.
	Done string
}

// periodRow is one period of the overview.
type periodRow struct {
	Period string
	Eval   *skp.EvaluationView
	// RateURL, IssueURL, ReceiptURL, ObjectionURL are the forms offered
	// ("" when not).
	RateURL, IssueURL, ReceiptURL, ObjectionURL string
	// DaysLeft is the number of days left to file an objection (from the
	// deadline the domain recorded), when the window is open.
	DaysLeft   int
	WindowOpen bool
}

func (f *Feature) showOverview(w http.ResponseWriter, r *page.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	v, err := r.App().Config().SKPs.Read(ctx, r.User, id, skp.AsOf{})
	if err != nil {
		return err
	}
	may, err := r.App().SKPActions(ctx, r.User, id, authz.Rate, authz.Issue, authz.FileObjection, authz.AcknowledgeReceipt)
	if err != nil {
		return err
	}
	d := &overviewPage{Base: r.Base("evaluation", "evaluation.overview.title"), View: v}
	d.InZone(f.site.EmployeeZone(ctx, v.NIP)) // the employee's unit's zone (issue 13)
	if done := r.URL.Query().Get("selesai"); done == "nilai" || done == "terbit" || done == "terima" {
		d.Done = done
	}
	established := v.Version > 0 && v.Status.Open()
	now := r.App().Now()
	pol := r.App().Config().Policy
	for _, per := range periodsOf(v) {
		row := periodRow{Period: per, Eval: evaluationOf(v, per)}
		issued := row.Eval != nil && row.Eval.DeliveredAt != nil
		if may[authz.Rate] && established && !issued {
			row.RateURL = path(RatePath, id, per)
		}
		if (may[authz.Issue] || r.Can(authz.RecordPaper)) && v.Status.Open() && row.Eval != nil && !issued {
			row.IssueURL = path(IssuePath, id, per)
		}
		if e := row.Eval; may[authz.AcknowledgeReceipt] && issued && e.ReceivedAt == nil && e.Status == skp.EvalIssued {
			row.ReceiptURL = path(ReceiptPath, id, per)
		}
		if e := row.Eval; e != nil && e.ObjectionDeadline != nil && e.Status == skp.EvalIssued {
			row.DaysLeft = pol.Date(now).DaysUntil(pol.Date(*e.ObjectionDeadline))
			row.WindowOpen = now.Before(e.ObjectionDeadline.Add(time.Second))
		}
		if e := row.Eval; e != nil && (e.Objection != nil || (row.WindowOpen && may[authz.FileObjection])) {
			row.ObjectionURL = path("/skp/{id}/penilaian/{period}/keberatan", id, per)
		}
		d.Periods = append(d.Periods, row)
	}
	nips := []string{v.NIP, v.AppraiserNIP}
	for _, e := range v.Evaluations {
		nips = append(nips, e.AppraiserNIP)
	}
	d.Names = f.site.Names(ctx, nips...)
	return f.overview.Render(w, http.StatusOK, d)
}

// ratePage is the rating form of one period.
type ratePage struct {
	page.Base
	Form   form.State
	View   skp.View
	Period string
	// Eval is the evaluation so far (nil before the first rating);
	// Replace is true when a rating exists, so a reason is needed.
	Eval    *skp.EvaluationView
	Replace bool
	// Locked is true once the evaluation is issued: no form.
	Locked bool
	// Indicators are the plan's indicators with their realisations in the
	// period, beside the rating.
	Indicators []indicatorRow
	// SelfAssessment is the employee's self-assessment of the period in
	// effect (nil when none), with its notes per RHK (RHKText names them);
	// SelfFeedback the feedback the employee gave on their own work.
	SelfAssessment *skp.SelfAssessment
	RHKText        map[string]string
	SelfFeedback   []skp.Feedback
	// Ratings are the choices, best first; Matrix the kuadran kinerja as
	// rating.Derive computes it (the script reads it; people may too).
	Ratings []rating.Rating
	Matrix  []rating.MatrixRow
	// Preview is the predikat the chosen ratings derive (the "Pratinjau"
	// step); "" before it.
	Preview rating.Predikat
	// Changes are what was recorded on the SKP since the form was
	// rendered, when it came back stale.
	Changes []form.Change
	// Feedback360 is the period's 360° summary (feedback360.go), or nil.
	Feedback360 *feedback360
}

// indicatorRow is an indicator with its target and the realisations
// recorded for the period.
type indicatorRow struct {
	RHK          string
	Indicator    skp.Indicator
	Realisations []skp.Realisation
}

// changesSince lists what was recorded on SKP id after revision rev (a
// stale form's), when the caller may read its history.
func changesSince(ctx context.Context, r *page.Request, id string, rev uint64) []form.Change {
	_, events, _, err := r.App().Config().SKPs.Authorize(ctx, r.User, id, authz.ReadHistory)
	if err != nil {
		return nil
	}
	return form.ChangesSince(r.Lang, events, rev)
}

// rateInput is what the rating form posts: the fields of PUT
// /v1/skps/{id}/evaluations/{period}.
type rateInput struct {
	WorkResult string `form:"work_result"`
	Behaviour  string `form:"behaviour"`
	Rationale  string `form:"rationale"`
	Reason     string `form:"reason"`
	// Step is "pratinjau" for the preview (nothing is recorded).
	Step string `form:"_step"`
}

// StepPreview is the value of the preview button.
const StepPreview = "pratinjau"

// ratePage builds the rating page of the path's SKP and period, after
// checking the caller may rate it (403/404 otherwise).
func (f *Feature) ratePage(r *page.Request, st form.State) (*ratePage, error) {
	ctx := r.Context()
	v, per, err := loadPeriod(r)
	if err != nil {
		return nil, err
	}
	if _, _, _, err := r.App().Config().SKPs.Authorize(ctx, r.User, v.ID, authz.Rate); err != nil {
		return nil, err
	}
	d := &ratePage{Base: r.Base("evaluation", "evaluation.rate.title"), Form: st, View: v, Period: per,
		Eval: evaluationOf(v, per), Ratings: rating.Ratings(), Matrix: rating.Matrix()}
	d.Replace = d.Eval != nil
	d.Locked = d.Eval != nil && d.Eval.DeliveredAt != nil
	d.Scripts = []string{r.Script("rating.js")}
	p := period.MustParse(per)
	for _, rhk := range v.Plan {
		for _, ind := range rhk.Indicators {
			row := indicatorRow{RHK: rhk.Text, Indicator: ind}
			for _, re := range v.Realisations {
				rp, err := period.Parse(re.Period)
				if re.IndicatorID == ind.ID && err == nil && (p.IsAnnual() || rp == p) {
					row.Realisations = append(row.Realisations, re)
				}
			}
			d.Indicators = append(d.Indicators, row)
		}
	}
	d.SelfAssessment = v.SelfAssessment(per)
	d.Feedback360 = feedback360Of(r, v.ID, per)
	d.RHKText = map[string]string{}
	for _, rhk := range v.Plan {
		d.RHKText[rhk.ID] = rhk.Text
	}
	for _, fb := range v.Feedback {
		if fb.Relationship == skp.FromSelf {
			d.SelfFeedback = append(d.SelfFeedback, fb)
		}
	}
	d.Names = f.site.Names(ctx, v.NIP)
	return d, nil
}

func (f *Feature) showRate(w http.ResponseWriter, r *page.Request) error {
	d, err := f.ratePage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	if e := d.Eval; e != nil {
		// Start from the ratings in effect.
		d.Form.Values = url.Values{"work_result": {string(e.WorkResult)}, "behaviour": {string(e.Behaviour)}, "rationale": {e.Rationale}}
	}
	return f.rate.Render(w, http.StatusOK, d)
}

// Problems the rating form finds itself.
var textChoose = i18n.Text{ID: "Pilih salah satu penilaian.", EN: "Choose one of the ratings."}

func (f *Feature) postRate(w http.ResponseWriter, r *page.Request) error {
	var in rateInput
	id, per := r.PathValue("id"), r.PathValue("period")
	var preview rating.Predikat
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(OverviewPath, id, per), "selesai", "nilai"),
		Check: func(st *form.State) {
			if in.Step != StepPreview || st.HasProblems() {
				return
			}
			// The preview: the matrix's answer for the chosen ratings,
			// nothing recorded, the same form (key and revision) to
			// confirm.
			if !rating.Rating(in.WorkResult).Valid() {
				st.AddProblem("work_result", textChoose)
			}
			if !rating.Rating(in.Behaviour).Valid() {
				st.AddProblem("behaviour", textChoose)
			}
			preview = rating.Derive(rating.Rating(in.WorkResult), rating.Rating(in.Behaviour))
		},
		Preview: func() bool { return in.Step == StepPreview },
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			req.Reason = in.Reason
			_, err := svc.SKPs.Rate(ctx, req, skp.Rate{SKPID: id, Period: per, WorkResult: in.WorkResult,
				Behaviour: in.Behaviour, Rationale: in.Rationale, Reason: in.Reason})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.ratePage(r, st)
			if err != nil {
				return err
			}
			d.Preview = preview
			// A stale form shows what changed, to be sent again knowingly.
			d.Changes, d.Form = againStale(r, id, d.Form, d.View.Revision)
			return f.rate.Render(w, status, d)
		},
	})
}

// issuePage is the form that issues a period's evaluation and records its
// delivery.
type issuePage struct {
	page.Base
	Form   form.State
	View   skp.View
	Period string
	Eval   *skp.EvaluationView
	// Now is the default delivery time (the form's placeholder).
	Now string
	// ObjectionsAllowed is true when an objection window will run from
	// the delivery.
	ObjectionsAllowed bool
	// Locked is true once the evaluation is issued: no form.
	Locked bool
	// Paper is true when a grievance clerk enters a delivery done on
	// paper (a backfill): the paper's reference and its signer are asked;
	// Signers are the appraisers who may have signed it.
	Paper   bool
	Signers []string
	Changes []form.Change
}

// issueInput is what the issue form posts: the fields of POST
// /v1/skps/{id}/evaluations/{period}/issue.
type issueInput struct {
	DeliveredAt string `form:"delivered_at"`
	// PaperRef and OnBehalfOf make it a clerk's backfill of a paper
	// delivery.
	PaperRef   string `form:"paper_ref"`
	OnBehalfOf string `form:"on_behalf_of"`
}

// dateLayout is the datetime-local control's value.
const dateLayout = "2006-01-02T15:04"

func (f *Feature) issuePage(r *page.Request, st form.State) (*issuePage, error) {
	ctx := r.Context()
	v, per, err := loadPeriod(r)
	if err != nil {
		return nil, err
	}
	paper := false
	if _, _, _, err := r.App().Config().SKPs.Authorize(ctx, r.User, v.ID, authz.Issue); err != nil {
		// Not the appraiser: a grievance clerk enters a paper delivery.
		if perr := r.App().Authorize(r.User, authz.RecordPaper); perr != nil {
			return nil, err
		}
		paper = true
	}
	d := &issuePage{Paper: paper, Base: r.Base("evaluation", "evaluation.issue.title"), Form: st, View: v, Period: per, Eval: evaluationOf(v, per),
		ObjectionsAllowed: r.App().Config().Policy.ObjectionsAllowed(period.MustParse(per))}
	d.Now = r.App().Now().In(d.Loc()).Format(dateLayout) // the control's max, in the page's zone
	if d.Eval == nil {
		return nil, &domain.NotFoundError{Kind: "evaluation", ID: v.ID + "/" + per}
	}
	d.Locked = d.Eval.DeliveredAt != nil
	d.Signers = []string{d.Eval.AppraiserNIP}
	if v.AppraiserNIP != "" && v.AppraiserNIP != d.Eval.AppraiserNIP {
		d.Signers = append(d.Signers, v.AppraiserNIP)
	}
	d.Names = f.site.Names(ctx, append([]string{v.NIP}, d.Signers...)...)
	return d, nil
}

func (f *Feature) showIssue(w http.ResponseWriter, r *page.Request) error {
	d, err := f.issuePage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	if d.Paper {
		d.Form.Values = url.Values{"on_behalf_of": {d.Eval.AppraiserNIP}}
	}
	return f.issue.Render(w, http.StatusOK, d)
}

var textTime = i18n.Text{ID: "Waktu tidak valid (contoh: 2026-12-03T10:00).", EN: "Invalid time (for example 2026-12-03T10:00)."}

func (f *Feature) postIssue(w http.ResponseWriter, r *page.Request) error {
	var in issueInput
	id, per := r.PathValue("id"), r.PathValue("period")
	var delivered time.Time
	return form.Post(w, r, &in, form.Step{
		Next:  page.Link(path(OverviewPath, id, per), "selesai", "terbit"),
		Check: func(st *form.State) { delivered = f.parseTime(r, st, "delivered_at", in.DeliveredAt) },
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			if in.PaperRef != "" || in.OnBehalfOf != "" {
				req.Backfill = &domain.BackfillRequest{PaperRef: in.PaperRef, OnBehalfOf: in.OnBehalfOf}
			}
			_, err := svc.SKPs.Issue(ctx, req, skp.Issue{SKPID: id, Period: per, DeliveredAt: delivered})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.issuePage(r, st)
			if err != nil {
				return err
			}
			d.Changes, d.Form = againStale(r, id, d.Form, d.View.Revision)
			return f.issue.Render(w, status, d)
		},
	})
}

// parseTime reads the time typed into field (datetime-local, in the zone
// of the SKP's unit: page.Request.ParseTime, named beside the field), once
// the form decoded: the zero time when empty, a problem beside the field
// when it is not a time.
func (f *Feature) parseTime(r *page.Request, st *form.State, field, v string) time.Time {
	s := strings.TrimSpace(v)
	if st.HasProblems() || s == "" {
		return time.Time{}
	}
	t, _, err := r.ParseTime(s)
	if err != nil {
		st.AddProblem(field, textTime)
	}
	return t
}

// againStale prepares a stale form (st) for sending again: what changed
// since its revision, and the form with the current revision rev and a
// new key. Another form is returned as it is.
func againStale(r *page.Request, id string, st form.State, rev uint64) ([]form.Change, form.State) {
	if !st.Stale {
		return nil, st
	}
	changes := changesSince(r.Context(), r, id, st.Revision)
	st.Key = form.New(r, st.Action).Key
	return changes, st.WithRevision(rev)
}

// receiptPage is the acknowledgement of receipt of an issued evaluation:
// the employee's (received now), or a grievance clerk's entry of a
// receipt signed on paper (its date and reference asked).
type receiptPage struct {
	page.Base
	Form   form.State
	View   skp.View
	Period string
	Eval   *skp.EvaluationView
	// Paper is true when the caller is not the employee: a clerk enters
	// the paper receipt.
	Paper bool
	// Locked is true once the receipt is recorded: no form.
	Locked  bool
	Changes []form.Change
}

// receiptInput is what the receipt form posts: the fields of POST
// …/evaluations/{period}/acknowledgement.
type receiptInput struct {
	ReceivedAt string `form:"received_at"`
	PaperRef   string `form:"paper_ref"`
}

func (f *Feature) receiptPage(r *page.Request, st form.State) (*receiptPage, error) {
	ctx := r.Context()
	v, per, err := loadPeriod(r)
	if err != nil {
		return nil, err
	}
	if _, _, _, err := r.App().Config().SKPs.Authorize(ctx, r.User, v.ID, authz.AcknowledgeReceipt); err != nil {
		return nil, err
	}
	d := &receiptPage{Base: r.Base("evaluation", "evaluation.receipt.title"), Form: st, View: v, Period: per,
		Eval: evaluationOf(v, per), Paper: r.User.ID != v.NIP}
	if d.Eval == nil || d.Eval.DeliveredAt == nil {
		return nil, &domain.NotFoundError{Kind: "evaluation", ID: v.ID + "/" + per}
	}
	d.Locked = d.Eval.ReceivedAt != nil
	d.Names = f.site.Names(ctx, v.NIP, d.Eval.AppraiserNIP)
	return d, nil
}

func (f *Feature) showReceipt(w http.ResponseWriter, r *page.Request) error {
	d, err := f.receiptPage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	return f.receipt.Render(w, http.StatusOK, d)
}

func (f *Feature) postReceipt(w http.ResponseWriter, r *page.Request) error {
	var in receiptInput
	id, per := r.PathValue("id"), r.PathValue("period")
	var received time.Time
	return form.Post(w, r, &in, form.Step{
		Next:  page.Link(path(OverviewPath, id, per), "selesai", "terima"),
		Check: func(st *form.State) { received = f.parseTime(r, st, "received_at", in.ReceivedAt) },
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			if nipDigits, _, _, err := skp.ParseID(id); err == nil && r.User.ID != nipDigits {
				// Not the employee: a clerk's entry of a paper receipt.
				req.Backfill = &domain.BackfillRequest{PaperRef: in.PaperRef}
			}
			_, err := svc.SKPs.AcknowledgeReceipt(ctx, req, skp.AcknowledgeReceipt{SKPID: id, Period: per, ReceivedAt: received})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.receiptPage(r, st)
			if err != nil {
				return err
			}
			d.Changes, d.Form = againStale(r, id, d.Form, d.View.Revision)
			return f.receipt.Render(w, status, d)
		},
	})
}
