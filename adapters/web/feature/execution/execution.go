// Package execution is the dashboard's forms of the execution of an SKP:
// the employee records realisations per indicator and period and uploads
// the evidence files themselves; the parties the rules allow (the
// appraiser, a colleague of the unit, the employee) give feedback; the
// employee writes the self-assessment of a period. A stored evidence file
// is downloaded here too, as reading the SKP allows, after its hash is
// checked, always as an attachment.
//
// Every form follows feature/masterdata's pattern (docs/web.md): a fresh
// idempotency key per rendered form, the SKP's revision it was rendered
// from (a stale form shows what changed and carries the current revision
// to send again), problems beside the fields with the input kept,
// post-redirect-get; the page offers only what app.SKPActions and the
// SKP's state allow, and the domain decides again.
package execution

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

//go:embed *.html
var files embed.FS

// Feature is the execution forms.
type Feature struct {
	site        *page.Site
	realisation *page.Template[*realisationPage]
	evidence    *page.Template[*evidencePage]
	feedback    *page.Template[*feedbackPage]
	self        *page.Template[*selfPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site,
		realisation: page.MustParse[*realisationPage](site, files, "realisation.html", messages),
		evidence:    page.MustParse[*evidencePage](site, files, "evidence.html", messages),
		feedback:    page.MustParse[*feedbackPage](site, files, "feedback.html", messages),
		self:        page.MustParse[*selfPage](site, files, "self.html", messages),
	}
}

// uploadSlack is what a multipart body may hold besides the file (the
// other fields, the boundaries).
const uploadSlack = 64 << 10

// Routes registers the execution forms.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /skp/{id}/realisasi", f.showRealisation)
	r.Page("POST /skp/{id}/realisasi", f.postRealisation)
	r.Page("GET /skp/{id}/bukti", f.showEvidence)
	r.Upload("POST /skp/{id}/bukti", f.site.App().MaxEvidenceBytes()+uploadSlack, f.postEvidence)
	r.Page("GET /skp/{id}/bukti/{sha256}", f.download)
	r.Page("GET /skp/{id}/umpan-balik", f.showFeedback)
	r.Page("POST /skp/{id}/umpan-balik", f.postFeedback)
	r.Page("GET /skp/{id}/penilaian-diri", f.showSelf)
	r.Page("POST /skp/{id}/penilaian-diri", f.postSelf)
}

// SKPPath is the SKP page of id, where a recorded execution shows.
func SKPPath(id string) string { return "/skp/" + id }

// skpState is what every form of the feature reads of the SKP.
type skpState struct {
	View skp.View
	// Changes are the events after a stale form's revision.
	Changes []form.Change
	// Indicators are the indicators of the version in effect, with their
	// RHK's text.
	Indicators []indicatorChoice
}

// indicatorChoice is an indicator offered in a form.
type indicatorChoice struct {
	skp.Indicator
	RHKText string
}

// load reads SKP id for caller, refuses the form when act is not theirs
// (not found, as a page they cannot use), and with after > 0 describes
// what changed after that revision.
func load(r *page.Request, b *page.Base, id string, act authz.Action, after uint64) (skpState, error) {
	ctx := r.Context()
	var st skpState
	svc := r.App().Config().SKPs
	v, err := svc.Read(ctx, r.User, id, skp.AsOf{})
	if err != nil {
		return st, err
	}
	st.View = v
	may, err := r.App().SKPActions(ctx, r.User, id, act)
	if err != nil {
		return st, err
	}
	if !may[act] {
		return st, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	if after > 0 {
		_, events, _, err := svc.Authorize(ctx, r.User, id, authz.ReadSKP)
		if err != nil {
			return st, err
		}
		st.Changes = form.ChangesSince(b.Lang, events, after)
	}
	if n := len(v.Versions); n > 0 {
		for _, rh := range v.Versions[n-1].RHK {
			for _, in := range rh.Indicators {
				st.Indicators = append(st.Indicators, indicatorChoice{Indicator: in, RHKText: rh.Text})
			}
		}
	}
	return st, nil
}

// since is the revision a stale form was rendered from (0 otherwise).
func since(st form.State) uint64 {
	if st.Stale {
		return st.Revision
	}
	return 0
}

// refresh lets a stale form be sent again, knowingly, with the current
// revision.
func refresh(st *form.State, v skp.View) {
	if st.Stale {
		st.Revision, st.HasRevision = v.Revision, true
	}
}

// periods are the periods of v: its cadence's, then the year.
func periods(v skp.View) []string {
	var out []string
	switch v.Cadence {
	case period.Monthly:
		for m := 1; m <= 12; m++ {
			out = append(out, fmt.Sprintf("%04d-%02d", v.Year, m))
		}
	default:
		for q := 1; q <= 4; q++ {
			out = append(out, fmt.Sprintf("%04d-Q%d", v.Year, q))
		}
	}
	return append(out, strconv.Itoa(v.Year))
}

// inEffect reports whether v has a version in effect and is open: what
// execution records need.
func inEffect(v skp.View) bool {
	return v.Version > 0 && v.Status != skp.StatusCancelled && v.Status != skp.StatusClosed
}

// --- Realisations ----------------------------------------------------

// realisationPage records a realisation.
type realisationPage struct {
	page.Base
	skpState
	Form    form.State
	Periods []string
	// Open is false when the SKP has no version in effect (nothing to
	// record against yet).
	Open bool
}

// realisationInput is what the form posts: the body of POST
// /v1/skps/{id}/realisations.
type realisationInput struct {
	Period      string  `form:"period"`
	IndicatorID string  `form:"indicator_id"`
	Value       float64 `form:"value,required"`
	Narrative   string  `form:"narrative"`
}

func (f *Feature) realisationPage(r *page.Request, st form.State) (*realisationPage, error) {
	d := &realisationPage{Base: r.Base("execution", "execution.realisation.title"), Form: st}
	s, err := load(r, &d.Base, r.PathValue("id"), authz.RecordRealisation, since(st))
	if err != nil {
		return nil, err
	}
	d.skpState, d.Periods, d.Open = s, periods(s.View), inEffect(s.View)
	refresh(&d.Form, s.View)
	d.Names = f.site.Names(r.Context(), s.View.NIP)
	return d, nil
}

func (f *Feature) showRealisation(w http.ResponseWriter, r *page.Request) error {
	d, err := f.realisationPage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	d.Form.Values = map[string][]string{"period": {currentPeriod(r, d.View)}}
	if q := r.URL.Query().Get("indikator"); q != "" {
		d.Form.Values.Set("indicator_id", q)
	}
	return f.realisation.Render(w, http.StatusOK, d)
}

// currentPeriod is today's period of v's cadence (the form's default).
func currentPeriod(r *page.Request, v skp.View) string {
	today := r.App().Today()
	if today.Year() != v.Year {
		return strconv.Itoa(v.Year)
	}
	if v.Cadence == period.Monthly {
		return fmt.Sprintf("%04d-%02d", v.Year, int(today.Month()))
	}
	return fmt.Sprintf("%04d-Q%d", v.Year, (int(today.Month())+2)/3)
}

func (f *Feature) postRealisation(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	var in realisationInput
	return form.Post(w, r, &in, form.Step{
		Next: SKPPath(id) + "#real-h",
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, _, err := svc.SKPs.RecordRealisation(ctx, req, skp.RecordRealisation{SKPID: id, Period: in.Period, IndicatorID: in.IndicatorID,
				Value: in.Value, Narrative: in.Narrative})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.realisationPage(r, st)
			if err != nil {
				return err
			}
			return f.realisation.Render(w, status, d)
		},
	})
}

// --- Evidence files --------------------------------------------------

// evidencePage uploads an evidence file.
type evidencePage struct {
	page.Base
	skpState
	Form form.State
	Open bool
	// MaxMiB is the size limit, for the hint; MaxBytes for the script.
	MaxMiB   string
	MaxBytes int64
}

// evidenceInput is what the form posts besides the file ("file").
type evidenceInput struct {
	IndicatorID string `form:"indicator_id"`
}

func (f *Feature) evidencePage(r *page.Request, st form.State) (*evidencePage, error) {
	d := &evidencePage{Base: r.Base("execution", "execution.evidence.title"), Form: st,
		MaxMiB: strconv.FormatFloat(float64(r.App().MaxEvidenceBytes())/(1<<20), 'f', -1, 64), MaxBytes: r.App().MaxEvidenceBytes()}
	s, err := load(r, &d.Base, r.PathValue("id"), authz.AttachEvidence, since(st))
	if err != nil {
		return nil, err
	}
	d.skpState, d.Open = s, inEffect(s.View)
	refresh(&d.Form, s.View)
	d.Names = f.site.Names(r.Context(), s.View.NIP)
	return d, nil
}

func (f *Feature) showEvidence(w http.ResponseWriter, r *page.Request) error {
	d, err := f.evidencePage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	if q := r.URL.Query().Get("indikator"); q != "" {
		d.Form.Values = map[string][]string{"indicator_id": {q}}
	}
	return f.evidence.Render(w, http.StatusOK, d)
}

// textNoFile is the problem of a form sent without a file.
var textNoFile = app.Text{ID: "Pilih berkas bukti dukung.", EN: "Choose the evidence file."}

func (f *Feature) postEvidence(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	var in evidenceInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		file, hdr, ferr := r.FormFile("file")
		if ferr != nil {
			st.Problems = map[string][]string{"file": {textNoFile.In(r.Lang)}}
		} else {
			defer file.Close()
			// The file is stored first (content-addressed: storing it
			// again is harmless); its hash joins the form's fingerprint, so
			// the same rendered form with another file is another request.
			ev, serr := r.App().StoreEvidence(r.Context(), r.User, id, hdr.Filename, file)
			var ve *domain.ValidationError
			switch {
			case serr == nil:
				st.Values.Set("_file_sha256", ev.SHA256)
				var done bool
				done, status, err = form.Submit(w, r, &st, SKPPath(id)+"#real-h", func(ctx context.Context, svc app.Services, req domain.Request) error {
					_, _, err := svc.SKPs.AttachEvidence(ctx, req, ev.Attach(id, in.IndicatorID))
					return err
				})
				if err != nil || done {
					return err
				}
			case errors.As(serr, &ve):
				st.Problems = map[string][]string{}
				for _, fe := range ve.Fields {
					st.Problems[fe.Field] = append(st.Problems[fe.Field], fe.Message)
				}
			default:
				return serr
			}
		}
	}
	d, err := f.evidencePage(r, st)
	if err != nil {
		return err
	}
	return f.evidence.Render(w, status, d)
}

// download serves a stored evidence file of an SKP, as reading the SKP
// allows, after checking its hash: always an attachment, never rendered
// by the browser (nosniff, a sandboxing CSP), HTML never served.
func (f *Feature) download(w http.ResponseWriter, r *page.Request) error {
	ev, data, err := r.App().EvidenceContent(r.Context(), r.User, r.PathValue("id"), r.PathValue("sha256"))
	if err != nil {
		return err
	}
	ct := ev.MediaType
	if app.SniffEvidence(data) != ct {
		// Recorded by another path with a type its content does not have:
		// served as bytes to save.
		ct = "application/octet-stream"
	}
	if ct == app.MediaText {
		ct += "; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": ev.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("ETag", `"`+ev.SHA256+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	return nil
}

// --- Feedback --------------------------------------------------------

// feedbackPage gives feedback on an SKP.
type feedbackPage struct {
	page.Base
	skpState
	Form form.State
	// RHK are the RHK of the plan and every version (to be "about"),
	// for a giver who may read the SKP (Reader).
	RHK    []skp.RHK
	Reader bool
	// Behaviours are the BerAKHLAK values.
	Behaviours []berakhlak.Value
}

// feedbackInput is what the form posts: the body of POST
// /v1/skps/{id}/feedback.
type feedbackInput struct {
	About struct {
		RHKID       string `form:"rhk_id"`
		IndicatorID string `form:"indicator_id"`
		Behaviour   string `form:"behaviour"`
	} `form:"about"`
	Text string `form:"text"`
}

func (f *Feature) feedbackPage(r *page.Request, st form.State) (*feedbackPage, error) {
	ctx := r.Context()
	id := r.PathValue("id")
	d := &feedbackPage{Base: r.Base("execution", "execution.feedback.title"), Form: st, Behaviours: berakhlak.Values()}
	// A colleague of the unit may give feedback without the right to read
	// the SKP: the form then offers general and behaviour feedback only,
	// and names the employee from the directory.
	svc := r.App().Config().SKPs
	sk, _, _, err := svc.Authorize(ctx, r.User, id, authz.GiveFeedback)
	if err != nil {
		if errors.Is(err, domain.ErrForbidden) {
			return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
		}
		return nil, err
	}
	d.View = skp.View{ID: sk.ID(), NIP: sk.NIP(), Year: sk.Year(), Status: sk.Status(), Revision: sk.Revision()}
	if v, err := svc.Read(ctx, r.User, id, skp.AsOf{}); err == nil {
		d.View, d.Reader = v, true
		if st.Stale {
			_, events, _, err := svc.Authorize(ctx, r.User, id, authz.ReadSKP)
			if err != nil {
				return nil, err
			}
			d.Changes = form.ChangesSince(d.Lang, events, st.Revision)
		}
	} else if !errors.Is(err, domain.ErrNotFound) {
		return nil, err
	}
	refresh(&d.Form, d.View)
	seen := map[string]bool{}
	add := func(list []skp.RHK) {
		for _, rh := range list {
			if !seen[rh.ID] {
				seen[rh.ID] = true
				d.RHK = append(d.RHK, rh)
			}
		}
	}
	for i := len(d.View.Versions) - 1; i >= 0; i-- {
		add(d.View.Versions[i].RHK)
	}
	add(d.View.Plan)
	d.Names = f.site.Names(ctx, d.View.NIP)
	if d.View.Employee.Name == "" {
		d.View.Employee.Name = d.Names[d.View.NIP]
	}
	return d, nil
}

func (f *Feature) showFeedback(w http.ResponseWriter, r *page.Request) error {
	// Feedback adds to the SKP and overwrites nothing, and a colleague who
	// gives it may not read the SKP: the form carries no revision (what
	// others record meanwhile does not make it stale).
	d, err := f.feedbackPage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	return f.feedback.Render(w, http.StatusOK, d)
}

func (f *Feature) postFeedback(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	var in feedbackInput
	return form.Post(w, r, &in, form.Step{
		NextOf: func() string {
			// A colleague who may not read the SKP goes back home.
			if _, _, _, err := r.App().Config().SKPs.Authorize(r.Context(), r.User, id, authz.ReadSKP); err != nil {
				return "/"
			}
			return SKPPath(id) + "#fb-h"
		},
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, _, err := svc.SKPs.GiveFeedback(ctx, req, skp.GiveFeedback{SKPID: id, Text: in.Text,
				About: skp.FeedbackAbout{RHKID: in.About.RHKID, IndicatorID: in.About.IndicatorID, Behaviour: berakhlak.Value(in.About.Behaviour)}})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.feedbackPage(r, st)
			if err != nil {
				return err
			}
			return f.feedback.Render(w, status, d)
		},
	})
}

// --- Self-assessment -------------------------------------------------

// selfPage is the employee's self-assessment of a period.
type selfPage struct {
	page.Base
	skpState
	Form    form.State
	Periods []string
	Open    bool
	// RHK are the RHK of the version in effect, one note each.
	RHK []skp.RHK
	// Current is the self-assessment in effect of the chosen period.
	Current *skp.SelfAssessment
}

// selfInput is what the form posts: the body of POST
// /v1/skps/{id}/self-assessments.
type selfInput struct {
	Period   string `form:"period"`
	Text     string `form:"text"`
	RHKNotes []struct {
		RHKID string `form:"rhk_id"`
		Note  string `form:"note"`
	} `form:"rhk_notes"`
}

func (f *Feature) selfPage(r *page.Request, st form.State) (*selfPage, error) {
	d := &selfPage{Base: r.Base("execution", "execution.self.title"), Form: st}
	s, err := load(r, &d.Base, r.PathValue("id"), authz.SelfAssess, since(st))
	if err != nil {
		return nil, err
	}
	d.skpState, d.Periods, d.Open = s, periods(s.View), inEffect(s.View)
	if n := len(s.View.Versions); n > 0 {
		d.RHK = s.View.Versions[n-1].RHK
	}
	refresh(&d.Form, s.View)
	d.Names = f.site.Names(r.Context(), s.View.NIP)
	return d, nil
}

func (f *Feature) showSelf(w http.ResponseWriter, r *page.Request) error {
	d, err := f.selfPage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	d.Form = d.Form.WithRevision(d.View.Revision)
	p := r.URL.Query().Get("periode")
	if p == "" {
		p = currentPeriod(r, d.View)
	}
	d.Form.Values = map[string][]string{"period": {p}}
	// The form starts from the self-assessment in effect of the period:
	// sending it changed supersedes it.
	if d.Current = d.View.SelfAssessment(p); d.Current != nil {
		d.Form.Values.Set("text", d.Current.Text)
		for _, n := range d.Current.RHKNotes {
			for i, rh := range d.RHK {
				if rh.ID == n.RHKID {
					d.Form.Values.Set("rhk_notes."+strconv.Itoa(i)+".note", n.Note)
				}
			}
		}
	}
	return f.self.Render(w, http.StatusOK, d)
}

func (f *Feature) postSelf(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	var in selfInput
	return form.Post(w, r, &in, form.Step{
		Next: SKPPath(id) + "#self-h",
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			cmd := skp.SubmitSelfAssessment{SKPID: id, Period: in.Period, Text: in.Text}
			for _, n := range in.RHKNotes {
				cmd.RHKNotes = append(cmd.RHKNotes, skp.RHKNote{RHKID: n.RHKID, Note: n.Note})
			}
			_, err := svc.SKPs.SubmitSelfAssessment(ctx, req, cmd)
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.selfPage(r, st)
			if err != nil {
				return err
			}
			return f.self.Render(w, status, d)
		},
	})
}
