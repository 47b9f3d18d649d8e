// Package justification is the unit leader's form that justifies a
// distribution of predikat deviating from the pattern of SE 3/2023
// (distribution.deviation_justified.v1; POST
// /v1/units/{id}/distribution/{period}/justifications): the counts per
// predikat (filled from the distribution report when the caller may read
// reports, else typed from the unit's recap) and the reasoning. Only the
// leader one level up may justify (the distribution service decides,
// AuthorizeJustify); the page lists what was justified before.
package justification

import (
	"context"
	"embed"
	"net/http"
	"strconv"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

//go:embed *.html
var files embed.FS

// FormPath is the justification form of a unit's distribution for a
// period ({id} the unit, {period} "2026").
const FormPath = "/unit/{id}/distribusi/{period}/justifikasi"

// Feature is the justification form.
type Feature struct {
	site *page.Site
	tmpl *page.Template[*formPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, tmpl: page.MustParse[*formPage](site, files, "justify.html", messages)}
}

// Routes registers the form.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+FormPath, f.show)
	r.Page("POST "+FormPath, f.post)
}

// predikats are the counts' fields, in the form's order.
var predikats = []rating.Predikat{rating.SangatBaik, rating.Baik, rating.ButuhPerbaikan, rating.KurangMisconduct, rating.SangatKurang}

// formPage is the form with what was justified before.
type formPage struct {
	page.Base
	Unit, Period string
	Form         form.State
	// Predikats are the count fields ("counts.SANGAT_BAIK" …).
	Predikats []string
	// Before are the justifications recorded for the unit and period.
	Before []distribution.Justification
	// Done is true after a justification was recorded (?ok=1).
	Done bool
}

// input is what the form posts: the body of POST …/justifications.
type input struct {
	Counts struct {
		SangatBaik       int `form:"SANGAT_BAIK"`
		Baik             int `form:"BAIK"`
		ButuhPerbaikan   int `form:"BUTUH_PERBAIKAN"`
		KurangMisconduct int `form:"KURANG_MISCONDUCT"`
		SangatKurang     int `form:"SANGAT_KURANG"`
	} `form:"counts"`
	Justification string `form:"justification"`
}

func (in input) counts() distribution.Counts {
	c := in.Counts
	return distribution.Counts{rating.SangatBaik: c.SangatBaik, rating.Baik: c.Baik, rating.ButuhPerbaikan: c.ButuhPerbaikan,
		rating.KurangMisconduct: c.KurangMisconduct, rating.SangatKurang: c.SangatKurang}
}

// load decides the caller may justify (else the refusal, as the command
// would give it), checks the period, and reads the recorded ones.
func (f *Feature) load(r *page.Request, st form.State) (*formPage, error) {
	ctx := r.Context()
	unit, per := r.PathValue("id"), r.PathValue("period")
	svc := r.App().Config().Distribution
	if svc == nil {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	if err := svc.AuthorizeJustify(ctx, r.User, unit); err != nil {
		return nil, err
	}
	p, err := period.Parse(per)
	if err != nil {
		return nil, page.BadParam("error.period", per)
	}
	rec, err := svc.Load(ctx, unit, p.String())
	if err != nil {
		return nil, err
	}
	d := &formPage{Base: r.Base("justification", "justification.title"), Unit: unit, Period: p.String(), Form: st,
		Before: rec.Justifications(), Done: r.URL.Query().Get("ok") == "1"}
	for _, pr := range predikats {
		d.Predikats = append(d.Predikats, string(pr))
	}
	nips := []string{r.User.ID}
	for _, j := range d.Before {
		nips = append(nips, j.Actor.ID)
	}
	d.Names = f.site.Names(ctx, nips...)
	return d, nil
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	st := form.New(r, r.URL.Path)
	d, err := f.load(r, st)
	if err != nil {
		return err
	}
	// The counts of the report, for a caller who may read reports.
	if r.Can(authz.ReadReports) {
		if rep, err := r.App().Distribution(r.Context(), r.User, d.Unit, d.Period); err == nil {
			d.Form.Values = map[string][]string{}
			for _, pr := range predikats {
				d.Form.Values["counts."+string(pr)] = []string{strconv.Itoa(rep.Data.Counts[pr])}
			}
		}
	}
	return f.tmpl.Render(w, http.StatusOK, d)
}

func (f *Feature) post(w http.ResponseWriter, r *page.Request) error {
	var in input
	unit, per := r.PathValue("id"), r.PathValue("period")
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(r.URL.Path, "ok", "1"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.Distribution.Justify(ctx, req, distribution.Justify{UnitID: unit, Period: per, Counts: in.counts(), Justification: in.Justification})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.load(r, st)
			if err != nil {
				return err
			}
			return f.tmpl.Render(w, status, d)
		},
	})
}
