// Package signin is how people sign in to the dashboard and out again.
//
// In embedded mode an administrator prints a one-time sign-in link with
// `kinerjactl login-link --sub NIP`: GET /masuk/tautan?kode= shows a page
// whose button redeems the code (POST, so that a link preview or
// prefetcher cannot spend it), once, within its short life. In production
// the agency's OpenID Connect provider signs people in (oidc.go: the
// authorization code flow with PKCE, through github.com/coreos/go-oidc
// and golang.org/x/oauth2). Either way the dashboard starts a server-side
// session (package session); POST /keluar ends it.
package signin

import (
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
)

//go:embed *.html
var files embed.FS

// Paths of the sign-in pages.
const (
	FormPath     = "/masuk"
	LinkPath     = "/masuk/tautan"
	SignOutPath  = "/keluar"
	oidcStart    = "/masuk/oidc"
	CallbackPath = "/masuk/oidc/kembali"
)

// Config is what the feature needs besides the site.
type Config struct {
	// Sessions starts and ends sessions. Required.
	Sessions *session.Manager
	// LoginCodes redeems one-time sign-in links (embedded mode). Optional.
	LoginCodes *session.LoginCodes
	// OIDC signs people in through the identity provider. Optional.
	OIDC *OIDCFlow
}

// Feature is the sign-in pages.
type Feature struct {
	site *page.Site
	cfg  Config
	form *page.Template[*signInPage]
	link *page.Template[*linkPage]
}

// New returns the feature on site.
func New(site *page.Site, cfg Config) (*Feature, error) {
	if cfg.Sessions == nil {
		return nil, errors.New("signin: Sessions is required")
	}
	return &Feature{site: site, cfg: cfg,
		form: page.MustParse[*signInPage](site, files, "signin.html", messages),
		link: page.MustParse[*linkPage](site, files, "link.html", messages)}, nil
}

// Routes registers the sign-in pages.
func (f *Feature) Routes(r *page.Router) {
	r.Public("GET "+FormPath, f.showForm)
	r.Public("GET "+LinkPath, f.showLink)
	r.Public("POST "+LinkPath, f.redeem)
	r.Public("POST "+SignOutPath, f.signOut)
	if f.cfg.OIDC != nil {
		r.Public("GET "+oidcStart, f.oidcStart)
		r.Public("GET "+CallbackPath, f.oidcCallback)
	}
}

// signInPage is the sign-in page's model.
type signInPage struct {
	page.Base
	// Next is where to go after signing in.
	Next string
	// Expired: the browser's session had ended. Failed: a sign-in link
	// was refused. OIDCFailed: the provider's sign-in was refused.
	Expired, Failed, OIDCFailed bool
	// Links: sign-in links are offered (embedded mode). OIDC: the
	// provider's sign-in is.
	Links, OIDC bool
}

// failedParam marks the sign-in form shown after a refused sign-in.
const failedParam = "gagal"

func (f *Feature) showForm(w http.ResponseWriter, r *page.Request) error {
	q := r.URL.Query()
	d := &signInPage{Base: r.Base("signin", "signin.title"), Next: SafeNext(q.Get("next")),
		Expired: r.Expired || q.Get("berakhir") == "1", Links: f.cfg.LoginCodes != nil, OIDC: f.cfg.OIDC != nil}
	d.Failed = q.Get(failedParam) == "tautan"
	d.OIDCFailed = q.Get(failedParam) == "oidc"
	status := http.StatusOK
	if d.Failed {
		status = http.StatusUnauthorized
	}
	return f.form.Render(w, status, d)
}

// linkPage confirms the redemption of a sign-in link.
type linkPage struct {
	page.Base
	// Code is the link's code; Next where to go after.
	Code, Next string
}

func (f *Feature) showLink(w http.ResponseWriter, r *page.Request) error {
	if f.cfg.LoginCodes == nil {
		return page.BadParam("signin.link.off", "")
	}
	// The code must not reach another site through a Referer.
	w.Header().Set("Referrer-Policy", "no-referrer")
	q := r.URL.Query()
	return f.link.Render(w, http.StatusOK, &linkPage{Base: r.Base("signin", "signin.title"), Code: q.Get("kode"), Next: SafeNext(q.Get("next"))})
}

// redeem spends a sign-in link's code and starts a session.
func (f *Feature) redeem(w http.ResponseWriter, r *page.Request) error {
	if f.cfg.LoginCodes == nil {
		return page.BadParam("signin.link.off", "")
	}
	if err := r.ParseForm(); err != nil {
		return page.BadParam("error.form", "")
	}
	next := SafeNext(r.PostForm.Get("next"))
	p, err := f.cfg.LoginCodes.Redeem(strings.TrimSpace(r.PostForm.Get("kode")))
	if err != nil {
		if !errors.Is(err, session.ErrBadCode) {
			return err
		}
		f.site.Logger().LogAttrs(r.Context(), slog.LevelInfo, "web_sign_in_refused")
		http.Redirect(w, r.Request, FormPath+"?"+url.Values{failedParam: {"tautan"}, "next": {next}}.Encode(), http.StatusSeeOther)
		return nil
	}
	if err := f.cfg.Sessions.Start(r.Context(), w, r.Request, session.Session{User: p, Method: "link"}); err != nil {
		return err
	}
	http.Redirect(w, r.Request, next, http.StatusSeeOther)
	return nil
}

// signOut ends the session.
func (f *Feature) signOut(w http.ResponseWriter, r *page.Request) error {
	if err := f.cfg.Sessions.End(r.Context(), w, r.Request); err != nil {
		return err
	}
	http.Redirect(w, r.Request, FormPath, http.StatusSeeOther)
	return nil
}

// SafeNext returns next when it is a path on this site, else "/".
func SafeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}
