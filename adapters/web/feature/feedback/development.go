package feedback

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Coaching and development pages (issue 14): the list, readable by whoever
// may read the SKP, and the appraiser's four forms (a dialogue or coaching
// note, a competency gap, a development action, an action's outcome).

// DevelopmentPath is the development page of SKP id.
func DevelopmentPath(id string) string { return "/skp/" + id + "/pengembangan" }

func (f *Feature) developmentRoutes(r *page.Router) {
	r.Page("GET /skp/{id}/pengembangan", f.showDevelopment)
	for _, k := range []string{"pembinaan", "kesenjangan", "tindakan", "tindakan/{action}/hasil"} {
		r.Page("GET /skp/{id}/pengembangan/"+k, f.showDevForm)
		r.Page("POST /skp/{id}/pengembangan/"+k, f.postDevForm)
	}
}

// developmentPage lists the coaching and development of an SKP.
type developmentPage struct {
	page.Base
	ID  string
	Dev skp.Development
	// MayCoach offers the forms.
	MayCoach bool
}

func (f *Feature) showDevelopment(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	svc := r.App().Config().SKPs
	dev, err := svc.Development(r.Context(), r.User, id)
	if err != nil {
		return err
	}
	may, err := r.App().SKPActions(r.Context(), r.User, id, authz.Coach)
	if err != nil {
		return err
	}
	d := &developmentPage{Base: r.Base("feedback", "development.title"), ID: id, Dev: dev, MayCoach: may[authz.Coach]}
	var nips []string
	for _, c := range dev.Coaching {
		nips = append(nips, c.By.ID)
	}
	d.Names = f.site.Names(r.Context(), nips...)
	return f.development.Render(w, http.StatusOK, d)
}

// devFormPage is one of the four forms; Kind names it (the path's last
// part: pembinaan, kesenjangan, tindakan, hasil).
type devFormPage struct {
	page.Base
	ID      string
	Kind    string
	Form    form.State
	Periods []string
	Gaps    []skp.CompetencyGap
	Action  *skp.DevelopmentAction
}

// devInput is what the forms post: the fields of the API's bodies.
type devInput struct {
	Kind        string `form:"kind"`
	Period      string `form:"period"`
	HeldOn      string `form:"held_on"`
	Text        string `form:"text"`
	Agreements  string `form:"agreements"`
	Competency  string `form:"competency"`
	Description string `form:"description"`
	GapID       string `form:"gap_id"`
	Title       string `form:"title"`
	DueDate     string `form:"due_date"`
	Outcome     string `form:"outcome"`
	Note        string `form:"note"`
}

func devKind(r *page.Request) string {
	if r.PathValue("action") != "" {
		return "hasil"
	}
	p := r.URL.Path
	for _, k := range []string{"pembinaan", "kesenjangan", "tindakan"} {
		if len(p) > len(k) && p[len(p)-len(k):] == k {
			return k
		}
	}
	return ""
}

func (f *Feature) devFormPage(r *page.Request, st form.State) (*devFormPage, error) {
	ctx := r.Context()
	id := r.PathValue("id")
	svc := r.App().Config().SKPs
	may, err := r.App().SKPActions(ctx, r.User, id, authz.Coach)
	if err != nil {
		return nil, err
	}
	if !may[authz.Coach] {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	dev, err := svc.Development(ctx, r.User, id)
	if err != nil {
		return nil, err
	}
	d := &devFormPage{Base: r.Base("feedback", "development.form."+devKind(r)), ID: id, Kind: devKind(r), Form: st, Gaps: dev.Gaps}
	if a := r.PathValue("action"); a != "" {
		for i := range dev.Actions {
			if dev.Actions[i].ActionID == a {
				d.Action = &dev.Actions[i]
			}
		}
		if d.Action == nil {
			return nil, &domain.NotFoundError{Kind: "development_action", ID: id + "/" + a}
		}
	}
	v, err := svc.Read(ctx, r.User, id, skp.AsOf{})
	if err != nil {
		return nil, err
	}
	switch v.Cadence {
	case period.Monthly:
		for m := 1; m <= 12; m++ {
			d.Periods = append(d.Periods, fmt.Sprintf("%04d-%02d", v.Year, m))
		}
	default:
		for q := 1; q <= 4; q++ {
			d.Periods = append(d.Periods, fmt.Sprintf("%04d-Q%d", v.Year, q))
		}
	}
	d.Periods = append(d.Periods, strconv.Itoa(v.Year))
	return d, nil
}

func (f *Feature) showDevForm(w http.ResponseWriter, r *page.Request) error {
	d, err := f.devFormPage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	return f.devForm.Render(w, http.StatusOK, d)
}

func (f *Feature) postDevForm(w http.ResponseWriter, r *page.Request) error {
	id, kind := r.PathValue("id"), devKind(r)
	var in devInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, DevelopmentPath(id), func(ctx context.Context, svc app.Services, req domain.Request) error {
			var err error
			switch kind {
			case "pembinaan":
				_, _, err = svc.SKPs.RecordCoaching(ctx, req, skp.RecordCoaching{SKPID: id, Kind: in.Kind, Period: in.Period, HeldOn: in.HeldOn, Text: in.Text, Agreements: in.Agreements})
			case "kesenjangan":
				_, _, err = svc.SKPs.IdentifyGap(ctx, req, skp.IdentifyGap{SKPID: id, Competency: in.Competency, Description: in.Description})
			case "tindakan":
				_, _, err = svc.SKPs.PlanDevelopment(ctx, req, skp.PlanDevelopment{SKPID: id, GapID: in.GapID, Kind: in.Kind, Title: in.Title, DueDate: in.DueDate})
			case "hasil":
				_, err = svc.SKPs.ConcludeDevelopment(ctx, req, skp.ConcludeDevelopment{SKPID: id, ActionID: r.PathValue("action"), Outcome: in.Outcome, Note: in.Note})
			}
			return err
		})
		if err != nil || done {
			return err
		}
	}
	d, err := f.devFormPage(r, st)
	if err != nil {
		return err
	}
	return f.devForm.Render(w, status, d)
}
