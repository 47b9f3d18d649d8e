package objection

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/scores"
)

// Paths of the objection pages of one evaluation ({id} is the SKP,
// {period} the period).
const (
	ObjectionPath = "/skp/{id}/penilaian/{period}/keberatan"
	FilePath      = ObjectionPath + "/ajukan"
	RequestPath   = ObjectionPath + "/minta-keterangan"
	ExplainPath   = ObjectionPath + "/keterangan"
	DecidePath    = ObjectionPath + "/putusan"
	WithdrawPath  = ObjectionPath + "/tarik"
)

// path fills the {id} and {period} of a path pattern.
func path(p, id, per string) string {
	return strings.NewReplacer("{id}", url.PathEscape(id), "{period}", url.PathEscape(per)).Replace(p)
}

// objectionActs are the actions the objection pages offer.
var objectionActs = []authz.Action{authz.FileObjection, authz.WithdrawObjection, authz.RequestExplanation, authz.Explain, authz.DecideObjection,
	authz.DelegateDecision, authz.EscalateDecision}

// subject is what every objection page reads first: the SKP now (as the
// caller may see it), the period's evaluation and its latest objection,
// the objection window, and what the caller may do.
type subject struct {
	View      skp.View
	Period    string
	Eval      *skp.EvaluationView
	Objection *skp.ObjectionView
	// Deadline is the window's last instant (nil when objections to the
	// period are not allowed or it is not issued); DaysLeft the days from
	// today to its day; WindowOpen whether now is within it.
	Deadline   *time.Time
	DaysLeft   int
	WindowOpen bool
	// May are the caller's objection actions, as the commands decide them.
	May map[authz.Action]bool
	// OnBehalf is true when the caller may file for the employee (a paper
	// filing recorded by a grievance clerk): the filing date is asked.
	OnBehalf bool
	// Open is true when the objection is open (explanations, decision,
	// withdrawal are possible).
	Open bool
}

// load reads the subject of the path's SKP and period: 404 when the caller
// may not see the SKP or the period was never rated, 400 for a period the
// SKP is not evaluated for.
func load(r *page.Request) (*subject, error) {
	ctx := r.Context()
	id, per := r.PathValue("id"), r.PathValue("period")
	v, err := r.App().Config().SKPs.Read(ctx, r.User, id, skp.AsOf{})
	if err != nil {
		return nil, err
	}
	if _, err := v.Cadence.Check(per, v.Year); err != nil {
		return nil, page.BadParam("error.period", per)
	}
	s := &subject{View: v, Period: per}
	for i := range v.Evaluations {
		if v.Evaluations[i].Period == per {
			s.Eval = &v.Evaluations[i]
		}
	}
	if s.Eval == nil {
		return nil, &domain.NotFoundError{Kind: "evaluation", ID: id + "/" + per}
	}
	s.Objection = s.Eval.Objection
	s.Open = s.Objection != nil && s.Objection.Status == skp.OpenObjection
	now := r.App().Now()
	pol := r.App().Config().Policy
	if d := s.Eval.ObjectionDeadline; d != nil {
		s.Deadline = d
		s.DaysLeft = pol.Date(now).DaysUntil(pol.Date(*d))
		s.WindowOpen = s.Eval.Status == skp.EvalIssued && policy.WithinWindow(now, *d)
	}
	if s.May, err = r.App().ObjectionActions(ctx, r.User, id, per, objectionActs...); err != nil {
		return nil, err
	}
	s.OnBehalf = s.May[authz.FileObjection] && r.User.ID != v.NIP
	return s, nil
}

// need returns the caller's refusal of act on the subject (a *authz.Denied
// from the domain) when they may not take it.
func need(r *page.Request, s *subject, act authz.Action) error {
	if s.May[act] {
		return nil
	}
	return r.App().Config().SKPs.AuthorizeObjection(r.Context(), r.User, s.View.ID, s.Period, act)
}

// changesSince lists what was recorded on SKP id after revision rev (a
// stale form's), when the caller may read its history.
func changesSince(r *page.Request, id string, rev uint64) []form.Change {
	_, events, _, err := r.App().Config().SKPs.Authorize(r.Context(), r.User, id, authz.ReadHistory)
	if err != nil {
		return nil
	}
	return form.ChangesSince(r.Lang, events, rev)
}

// formPage is what every objection form page holds.
type formPage struct {
	page.Base
	subject
	Form    form.State
	Changes []form.Change
	// Links to the other pages of the objection the caller may use.
	Links links
	// Bases are the choices of the decider form (delegation, escalation)
	// the caller may record.
	Bases []string
}

// links are the objection pages offered to the caller.
type links struct {
	Objection, File, Request, Explain, Decide, Withdraw, Decider string
}

func linksOf(s *subject) links {
	id, per := s.View.ID, s.Period
	l := links{Objection: path(ObjectionPath, id, per)}
	// Filing: an issued evaluation open to objection, none open or
	// decided; the employee within the window, a clerk recording a paper
	// filing until the finality is recorded. The command decides again.
	none := s.Objection == nil || s.Objection.Status == skp.WithdrawnObjection
	if s.May[authz.FileObjection] && s.Deadline != nil && none && (s.WindowOpen || (s.OnBehalf && !s.Eval.FinalityRecorded)) {
		l.File = path(FilePath, id, per)
	}
	if s.Open {
		if s.May[authz.RequestExplanation] {
			l.Request = path(RequestPath, id, per)
		}
		if s.May[authz.Explain] {
			l.Explain = path(ExplainPath, id, per)
		}
		if s.May[authz.DecideObjection] {
			l.Decide = path(DecidePath, id, per)
		}
		if s.May[authz.WithdrawObjection] {
			l.Withdraw = path(WithdrawPath, id, per)
		}
		if len(bases(s)) > 0 {
			l.Decider = path(DeciderPath, id, per)
		}
	}
	return l
}

// newPage builds a form page on the subject, after checking the caller
// may take act (nil: only read).
func (f *Feature) newPage(r *page.Request, titleKey string, act authz.Action, st form.State) (*formPage, error) {
	s, err := load(r)
	if err != nil {
		return nil, err
	}
	if act != "" {
		if err := need(r, s, act); err != nil {
			return nil, err
		}
	}
	d := &formPage{Base: r.Base("objection", titleKey), subject: *s, Form: st, Links: linksOf(s)}
	nips := []string{s.View.NIP, s.Eval.AppraiserNIP}
	if o := s.Objection; o != nil {
		nips = append(nips, o.AddressedTo, o.AppraiserNIP, o.FiledBy.ID)
		for _, e := range o.Explanations {
			nips = append(nips, e.Author)
		}
		if o.Decision != nil {
			nips = append(nips, o.Decision.DecidedBy)
		}
	}
	d.Names = f.site.Names(r.Context(), nips...)
	return d, nil
}

// fresh returns a new form state for the page's path with the SKP's
// revision.
func fresh(r *page.Request, rev uint64) form.State { return form.New(r, r.URL.Path).WithRevision(rev) }

// again prepares a form that came back for sending again: a stale form
// shows what changed and carries the current revision and a new key.
func again(r *page.Request, d *formPage) {
	if d.Form.Stale {
		d.Changes = changesSince(r, d.View.ID, d.Form.Revision)
		d.Form.Key = form.New(r, d.Form.Action).Key
		d.Form = d.Form.WithRevision(d.View.Revision)
	}
}

// showObjection shows the objection of one evaluation to whoever may see
// the SKP, with the forms the caller may use.
func (f *Feature) showObjection(w http.ResponseWriter, r *page.Request) error {
	d, err := f.newPage(r, "objection.page.title", "", form.State{})
	if err != nil {
		return err
	}
	if d.Objection == nil && d.Links.File == "" {
		return &domain.NotFoundError{Kind: "objection", ID: d.View.ID + "/" + d.Period}
	}
	p := &objectionPage{formPage: *d}
	p.InZone(f.site.EmployeeZone(r.Context(), d.View.NIP)) // the employee's unit's zone (issue 13)
	if done := r.URL.Query().Get("selesai"); slices.Contains([]string{"ajukan", "minta", "keterangan", "putusan", "tarik", "pemutus"}, done) {
		p.Done = done
	}
	return f.objection.Render(w, http.StatusOK, p)
}

// objectionPage is the objection's own page.
type objectionPage struct {
	formPage
	// Done names what was just recorded (?selesai=).
	Done string
}

// fileInput is what the filing form posts: the fields of POST
// /v1/skps/{id}/evaluations/{period}/objections.
type fileInput struct {
	Reasons string `form:"reasons"`
	// FiledAt and PaperRef are a paper filing's date and reference (a
	// grievance clerk's backfill only).
	FiledAt  string `form:"filed_at"`
	PaperRef string `form:"paper_ref"`
}

var (
	textTime   = i18n.Text{ID: "Waktu tidak valid (contoh: 2026-12-10T09:00).", EN: "Invalid time (for example 2026-12-10T09:00)."}
	textChoose = i18n.Text{ID: "Pilih salah satu.", EN: "Choose one."}
)

// parseTime reads a datetime-local or date field into *t, a local time in
// the zone of the SKP's unit (page.Request.ParseTime, named beside the
// field), adding a problem beside field when it is not one.
func (f *Feature) parseTime(r *page.Request, st *form.State, field, v string, t *time.Time) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return true
	}
	x, _, err := r.ParseTime(v)
	if err != nil {
		st.AddProblem(field, textTime)
		return false
	}
	*t = x
	return true
}

func (f *Feature) showFile(w http.ResponseWriter, r *page.Request) error {
	d, err := f.newPage(r, "objection.file.title", authz.FileObjection, form.State{})
	if err != nil {
		return err
	}
	d.Form = fresh(r, d.View.Revision)
	return f.file.Render(w, http.StatusOK, d)
}

func (f *Feature) postFile(w http.ResponseWriter, r *page.Request) error {
	var in fileInput
	id, per := r.PathValue("id"), r.PathValue("period")
	var filed time.Time
	return form.Post(w, r, &in, form.Step{
		Next:  page.Link(path(ObjectionPath, id, per), "selesai", "ajukan"),
		Check: func(st *form.State) { f.parseTime(r, st, "filed_at", in.FiledAt, &filed) },
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			if in.PaperRef != "" {
				req.Backfill = &domain.BackfillRequest{PaperRef: in.PaperRef}
			}
			_, _, err := svc.SKPs.FileObjection(ctx, req, skp.FileObjection{SKPID: id, Period: per, Reasons: in.Reasons, FiledAt: filed})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.newPage(r, "objection.file.title", authz.FileObjection, st)
			if err != nil {
				return err
			}
			again(r, d)
			return f.file.Render(w, status, d)
		},
	})
}

// requestInput is what the request form posts: the fields of POST
// …/objection/explanation-requests.
type requestInput struct {
	From  string `form:"from"`
	DueAt string `form:"due_at"`
}

func (f *Feature) showRequest(w http.ResponseWriter, r *page.Request) error {
	d, err := f.newPage(r, "objection.request.title", authz.RequestExplanation, form.State{})
	if err != nil {
		return err
	}
	d.Form = fresh(r, d.View.Revision)
	return f.request.Render(w, http.StatusOK, d)
}

func (f *Feature) postRequest(w http.ResponseWriter, r *page.Request) error {
	var in requestInput
	id, per := r.PathValue("id"), r.PathValue("period")
	var due time.Time
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(ObjectionPath, id, per), "selesai", "minta"),
		Check: func(st *form.State) {
			f.parseTime(r, st, "due_at", in.DueAt, &due)
			if in.From == "" {
				st.AddProblem("from", textChoose)
			}
		},
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			cmd := skp.RequestExplanation{SKPID: id, Period: per, From: in.From}
			if !due.IsZero() {
				cmd.DueAt = &due
			}
			_, _, err := svc.SKPs.RequestExplanation(ctx, req, cmd)
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.newPage(r, "objection.request.title", authz.RequestExplanation, st)
			if err != nil {
				return err
			}
			again(r, d)
			return f.request.Render(w, status, d)
		},
	})
}

// explainInput is what the explanation form posts.
type explainInput struct {
	Text string `form:"text"`
}

func (f *Feature) showExplain(w http.ResponseWriter, r *page.Request) error {
	d, err := f.newPage(r, "objection.explain.title", authz.Explain, form.State{})
	if err != nil {
		return err
	}
	d.Form = fresh(r, d.View.Revision)
	return f.explain.Render(w, http.StatusOK, d)
}

func (f *Feature) postExplain(w http.ResponseWriter, r *page.Request) error {
	var in explainInput
	id, per := r.PathValue("id"), r.PathValue("period")
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(ObjectionPath, id, per), "selesai", "keterangan"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.SKPs.SubmitExplanation(ctx, req, skp.SubmitExplanation{SKPID: id, Period: per, Text: in.Text})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.newPage(r, "objection.explain.title", authz.Explain, st)
			if err != nil {
				return err
			}
			again(r, d)
			return f.explain.Render(w, status, d)
		},
	})
}

// withdrawInput is what the withdrawal form posts.
type withdrawInput struct {
	Reason string `form:"reason"`
}

func (f *Feature) showWithdraw(w http.ResponseWriter, r *page.Request) error {
	d, err := f.newPage(r, "objection.withdraw.title", authz.WithdrawObjection, form.State{})
	if err != nil {
		return err
	}
	d.Form = fresh(r, d.View.Revision)
	return f.withdraw.Render(w, http.StatusOK, d)
}

func (f *Feature) postWithdraw(w http.ResponseWriter, r *page.Request) error {
	var in withdrawInput
	id, per := r.PathValue("id"), r.PathValue("period")
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(ObjectionPath, id, per), "selesai", "tarik"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			req.Reason = in.Reason
			_, err := svc.SKPs.WithdrawObjection(ctx, req, skp.WithdrawObjection{SKPID: id, Period: per, Reason: in.Reason})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.newPage(r, "objection.withdraw.title", authz.WithdrawObjection, st)
			if err != nil {
				return err
			}
			again(r, d)
			return f.withdraw.Render(w, status, d)
		},
	})
}

// decidePage is the superior's decision page: both explanations, the SKP
// as it was recorded when the objection was filed, and the score history,
// side by side.
type decidePage struct {
	formPage
	// AsOf is the SKP as recorded at the filing; AsOfEval its evaluation
	// of the period then; AsOfLink the SKP page at that instant.
	AsOf     skp.View
	AsOfEval *skp.EvaluationView
	AsOfLink string
	// Appraiser and Employee are the explanations of each party, with
	// whether each was asked.
	Appraiser, Employee           []skp.Explanation
	AskedAppraiser, AskedEmployee bool
	// History is the SKP's score history; Earlier the employee's scores
	// on other SKPs (when the caller may read them).
	History []skp.ScoreEntry
	Earlier []scores.Entry
	// Ratings are the choices for a CHANGED outcome; Matrix is the
	// predikat of each pair (rating.Derive).
	Ratings []rating.Rating
	Matrix  []rating.MatrixRow
}

// decideInput is what the decision form posts: the fields of POST
// …/objection/decision.
type decideInput struct {
	Outcome      string `form:"outcome"`
	WorkResult   string `form:"work_result"`
	Behaviour    string `form:"behaviour"`
	DecisionText string `form:"decision_text"`
	WaiverReason string `form:"waiver_reason"`
}

func (f *Feature) decidePage(r *page.Request, st form.State) (*decidePage, error) {
	fp, err := f.newPage(r, "objection.decide.title", authz.DecideObjection, st)
	if err != nil {
		return nil, err
	}
	if fp.Objection == nil {
		return nil, &domain.NotFoundError{Kind: "objection", ID: fp.View.ID + "/" + fp.Period}
	}
	ctx := r.Context()
	svc := r.App().Config().SKPs
	d := &decidePage{formPage: *fp, Ratings: rating.Ratings(), Matrix: rating.Matrix()}
	o := fp.Objection
	// The SKP as recorded when the objection was filed (a paper filing:
	// as recorded on its date, before the clerk's record).
	at := o.FiledAt
	if v, err := svc.Read(ctx, r.User, fp.View.ID, skp.AsOf{RecordedAt: at}); err == nil {
		d.AsOf = v
		for i := range v.Evaluations {
			if v.Evaluations[i].Period == fp.Period {
				d.AsOfEval = &v.Evaluations[i]
			}
		}
	}
	d.AsOfLink = page.Link("/skp/"+url.PathEscape(fp.View.ID), "as_of", at.In(f.site.Location()).Format(time.RFC3339Nano))
	for _, e := range o.Explanations {
		if e.By == skp.PartyAppraiser {
			d.Appraiser = append(d.Appraiser, e)
		} else {
			d.Employee = append(d.Employee, e)
		}
	}
	for _, q := range o.Requests {
		d.AskedAppraiser = d.AskedAppraiser || q.From == skp.PartyAppraiser
		d.AskedEmployee = d.AskedEmployee || q.From == skp.PartyEmployee
	}
	if d.History, err = svc.ScoreHistory(ctx, r.User, fp.View.ID); err != nil {
		return nil, err
	}
	if all, err := r.App().ScoreHistory(ctx, r.User, fp.View.NIP); err == nil {
		for _, e := range all {
			if e.SKPID != fp.View.ID {
				d.Earlier = append(d.Earlier, e)
			}
		}
	}
	names := make([]string, 0, len(d.History))
	for _, h := range d.History {
		names = append(names, h.Actor.ID)
	}
	maps.Copy(d.Names, f.site.Names(ctx, names...))
	d.Scripts = []string{r.Script("rating.js")}
	return d, nil
}

func (f *Feature) showDecide(w http.ResponseWriter, r *page.Request) error {
	d, err := f.decidePage(r, form.State{})
	if err != nil {
		return err
	}
	d.Form = fresh(r, d.View.Revision)
	return f.decide.Render(w, http.StatusOK, d)
}

func (f *Feature) postDecide(w http.ResponseWriter, r *page.Request) error {
	var in decideInput
	id, per := r.PathValue("id"), r.PathValue("period")
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(ObjectionPath, id, per), "selesai", "putusan"),
		Check: func(st *form.State) {
			if in.Outcome == "" {
				st.AddProblem("outcome", textChoose)
			}
			if in.Outcome == string(skp.Upheld) {
				// The ratings belong to CHANGED only; a browser sends the
				// choices of a hidden group too.
				in.WorkResult, in.Behaviour = "", ""
			}
		},
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.SKPs.DecideObjection(ctx, req, skp.DecideObjection{SKPID: id, Period: per, Outcome: in.Outcome,
				WorkResult: in.WorkResult, Behaviour: in.Behaviour, DecisionText: in.DecisionText, WaiverReason: in.WaiverReason})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.decidePage(r, st)
			if err != nil {
				return err
			}
			again(r, &d.formPage)
			return f.decide.Render(w, status, d)
		},
	})
}
