// Package documents is the dashboard's printed documents: the list of an
// SKP's documents (the SKP with its Lampiran, the Dokumen Evaluasi Kinerja
// Pegawai of each rated period), their PDF downloads, and the public
// verification page a document's QR code opens (GET /verify/{code}),
// which needs no sign-in and shows only whether the document matches the
// ledger and what changed since (docs/documents.md).
package documents

import (
	"embed"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

//go:embed *.html
var files embed.FS

// Feature is the printed documents.
type Feature struct {
	site   *page.Site
	list   *page.Template[*List]
	verify *page.Template[*Verify]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site,
		list:   page.MustParse[*List](site, files, "list.html", messages),
		verify: page.MustParse[*Verify](site, files, "verify.html", messages)}
}

// Routes registers the pages.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /skp/{id}/dokumen", f.show)
	r.Page("GET /skp/{id}/dokumen.pdf", f.pdf)
	r.Page("GET /skp/{id}/evaluasi/{period}/dokumen.pdf", f.pdf)
	r.Public("GET /verify/{code}", f.check)
}

// List is the page of an SKP's documents.
type List struct {
	page.Base
	View skp.View
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	v, err := r.App().Config().SKPs.Read(r.Context(), r.User, r.PathValue("id"), skp.AsOf{})
	if err != nil {
		return err
	}
	d := &List{Base: r.Base("documents", "doc.title"), View: v}
	return f.list.Render(w, http.StatusOK, d)
}

// pdf serves the SKP's document, or its evaluation's.
func (f *Feature) pdf(w http.ResponseWriter, r *page.Request) error {
	scheme := "http"
	if f.site.SecureCookies(r.Request) {
		scheme = "https"
	}
	doc, err := r.App().SKPDocument(r.Context(), r.User, r.PathValue("id"), r.PathValue("period"), scheme+"://"+r.Host)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+doc.FileName+`.pdf"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(doc.PDF)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(doc.PDF)
	return err
}

// Verify is the verification page.
type Verify struct {
	page.Base
	Check app.DocumentCheck
	// Evaluation is true for an evaluation's document.
	Evaluation bool
}

// check answers GET /verify/{code}: the page, or JSON for
// `kinerjactl verify-document --url` (?format=json or Accept:
// application/json). Every bad code gets the same 404, whatever is wrong
// with it.
func (f *Feature) check(w http.ResponseWriter, r *page.Request) error {
	code := r.PathValue("code")
	wantJSON := r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
	c, err := r.App().VerifyDocument(r.Context(), code)
	if wantJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if err != nil {
			w.WriteHeader(http.StatusNotFound)
			return json.NewEncoder(w).Encode(map[string]any{"valid": false})
		}
		return json.NewEncoder(w).Encode(struct {
			Valid bool `json:"valid"`
			app.DocumentCheck
		}{true, c})
	}
	if err != nil {
		return err
	}
	d := &Verify{Base: r.Base("verify", "verify.title"), Check: c, Evaluation: c.Code.Kind == document.KindEvaluation}
	return f.verify.Render(w, http.StatusOK, d)
}
