// Package imports is the dashboard's bulk imports for HR administrators:
// units, employees and reporting lines from a CSV or XLSX file (the layout
// of docs/imports.md), checked row by row before anything is recorded.
//
// The pages, over the application layer's importer (adapters/app/imports):
//
//   - /data-induk/impor: the upload form (file, decree reference) and the
//     caller's recent imports. An upload starts a dry run: every row is
//     decided against the ledger and nothing is recorded.
//   - /data-induk/impor/{id}: a job's progress (rows done of total), its
//     counts, the refused rows with their problems (row, column, message
//     in the page's language), and for a finished dry run the button that
//     applies the same file. Each row's events are recorded whole or not
//     at all; the same file applied again records nothing new.
//
// Job records outlive a restart (package imports); the list of recent
// imports and the file a dry run keeps for its apply do not (the page
// says so).
package imports

import (
	"embed"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/imports"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

//go:embed *.html
var files embed.FS

// Paths of the import pages.
const (
	ImportsPath = "/data-induk/impor"
)

// JobPath is the page of job id.
func JobPath(id string) string { return ImportsPath + "/" + id }

// uploadSlack is what a multipart body may hold besides the file.
const uploadSlack = 64 << 10

// maxRowsShown bounds the refused rows and, apart, the recorded rows a
// job page lists: a file of 20,000 refused rows would otherwise make a
// page of megabytes (issue 13's budget is 300 KB). The API's
// GET /v1/imports/{id} has every row.
const maxRowsShown = 200

// Feature is the import pages.
type Feature struct {
	site     *page.Site
	importer *imports.Importer
	upload   *page.Template[*uploadPage]
	job      *page.Template[*jobPage]
}

// New returns the feature on site, with an importer of its own over the
// site's application layer.
func New(site *page.Site) *Feature { return NewWith(site, nil) }

// NewWith returns the feature on site with the importer im (the one the
// API is given too), or, when im is nil, one of its own.
func NewWith(site *page.Site, im *imports.Importer) *Feature {
	if im == nil {
		var err error
		if im, err = imports.New(imports.Config{App: site.App()}); err != nil {
			panic(err) // only a missing App, which NewSite refuses first
		}
	}
	return &Feature{site: site, importer: im,
		upload: page.MustParse[*uploadPage](site, files, "upload.html", messages),
		job:    page.MustParse[*jobPage](site, files, "job.html", messages)}
}

// Routes registers the import pages.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+ImportsPath, f.showUpload)
	r.Upload("POST "+ImportsPath, f.importer.MaxBytes()+uploadSlack, f.postUpload)
	r.Page("GET "+ImportsPath+"/{id}", f.showJob)
	r.Page("POST "+ImportsPath+"/{id}/terapkan", f.apply)
}

// uploadPage is the upload form and the caller's recent imports.
type uploadPage struct {
	page.Base
	// Problem is the form's problem ("" when none), in the page's language.
	Problem string
	// PaperRef is what was typed.
	PaperRef string
	// Jobs are the caller's imports, newest first.
	Jobs []imports.Status
}

// jobPage is one import.
type jobPage struct {
	page.Base
	// Job is the import's status.
	Job imports.Status
	// Refused are the refused rows and Recorded the others, each at most
	// maxRowsShown; More says that some recorded rows were left out,
	// RefusedHidden how many refused rows were.
	Refused, Recorded []imports.RowResult
	More              bool
	RefusedHidden     int
	// CanApply offers the apply button (a finished dry run).
	CanApply bool
}

// Msg returns a problem's message in the page's language.
func (d *jobPage) Msg(p imports.Problem) string {
	if d.Lang == "en" {
		return p.EN
	}
	return p.ID
}

// OutcomeKey is the message key of a row's outcome.
func (d *jobPage) OutcomeKey(o imports.Outcome) string {
	if o == imports.Applied && d.Job.DryRun {
		return "imports.outcome.WOULD"
	}
	return "imports.outcome." + string(o)
}

// Percent is the job's progress, 0 to 100.
func (d *jobPage) Percent() int {
	if d.Job.Total == 0 {
		return 100
	}
	return d.Job.Done * 100 / d.Job.Total
}

func (f *Feature) uploadPage(r *page.Request) (*uploadPage, error) {
	jobs, err := f.importer.List(r.User)
	if err != nil {
		return nil, err
	}
	return &uploadPage{Base: r.Base("masterdata", "imports.title"), Jobs: jobs}, nil
}

func (f *Feature) showUpload(w http.ResponseWriter, r *page.Request) error {
	d, err := f.uploadPage(r)
	if err != nil {
		return err
	}
	return f.upload.Render(w, http.StatusOK, d)
}

func (f *Feature) postUpload(w http.ResponseWriter, r *page.Request) error {
	if err := r.App().Authorize(r.User, authz.ManageMasterData); err != nil {
		return err
	}
	if err := r.ParseMultipartForm(f.importer.MaxBytes()); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return app.ErrTooLarge
		}
		return app.ErrInvalidRequest
	}
	defer r.MultipartForm.RemoveAll()
	paper := strings.TrimSpace(r.FormValue("paper_ref"))
	file, hdr, err := r.FormFile("file")
	if err != nil {
		d, derr := f.uploadPage(r)
		if derr != nil {
			return derr
		}
		d.Problem, d.PaperRef = messages["imports.nofile"].In(r.Lang), paper
		return f.upload.Render(w, http.StatusUnprocessableEntity, d)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, f.importer.MaxBytes()+1))
	if err != nil {
		return app.ErrInvalidRequest
	}
	job, _, err := f.importer.Start(r.Context(), imports.Request{Caller: r.User, Filename: hdr.Filename, Data: data, DryRun: true, PaperRef: paper})
	if err != nil {
		d, derr := f.uploadPage(r)
		if derr != nil {
			return derr
		}
		k := app.Describe(err)
		d.Problem, d.PaperRef = k.Text.In(r.Lang)+" "+app.Detail(err), paper
		return f.upload.Render(w, k.Status, d)
	}
	http.Redirect(w, r.Request, JobPath(job.Status().ID), http.StatusSeeOther)
	return nil
}

func (f *Feature) showJob(w http.ResponseWriter, r *page.Request) error {
	job, err := f.importer.Get(r.Context(), r.User, r.PathValue("id"))
	if err != nil {
		return err
	}
	st := job.Status()
	d := &jobPage{Base: r.Base("masterdata", "imports.job.title"), Job: st}
	for _, row := range st.Rows {
		switch {
		case row.Outcome == imports.Refused && len(d.Refused) < maxRowsShown:
			d.Refused = append(d.Refused, row)
		case row.Outcome == imports.Refused:
			d.RefusedHidden++
		case len(d.Recorded) < maxRowsShown:
			d.Recorded = append(d.Recorded, row)
		default:
			d.More = true
		}
	}
	d.CanApply = st.DryRun && st.State == imports.Done && len(st.Problems) == 0 && st.Applied > 0
	return f.job.Render(w, http.StatusOK, d)
}

func (f *Feature) apply(w http.ResponseWriter, r *page.Request) error {
	job, err := f.importer.ApplyDryRun(r.Context(), r.User, r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(w, r.Request, JobPath(job.Status().ID), http.StatusSeeOther)
	return nil
}
