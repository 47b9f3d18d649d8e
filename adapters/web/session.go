package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
)

// Cookie names. The lead's proxy or another app on the same host must not
// use them.
const (
	// SessionCookie holds the caller's bearer token (HttpOnly,
	// SameSite=Strict, Secure over TLS).
	SessionCookie = "kinerja_session"
	// CSRFCookie holds the random value the forms' CSRF tokens are derived
	// from (HttpOnly, SameSite=Strict).
	CSRFCookie = "kinerja_csrf"
	// LangCookie remembers the language chosen with ?lang= ("id" or "en").
	LangCookie = "kinerja_lang"
)

// csrfField is the name of the hidden form field carrying the CSRF token.
const csrfField = "csrf"

// maxFormBytes bounds a form body (a pasted token is a few KiB).
const maxFormBytes = 64 << 10

// maxTokenLen bounds a pasted token: browsers keep cookies up to 4 KiB,
// name and attributes included, and drop larger ones silently.
const maxTokenLen = 3800

// request is what the handler knows about one request besides the
// http.Request: the caller, the language, the CSRF token of its forms.
type request struct {
	user     domain.Principal
	signedIn bool
	// expired is true when a session cookie was sent but its token no
	// longer authenticates.
	expired bool
	lang    string
	csrf    string
}

// pageFunc is a page handler; the error becomes an error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, req *request) error

// public wraps a page that needs no sign-in (the sign-in form itself).
func (h *Handler) public(fn pageFunc) http.Handler {
	return h.wrap(fn, false)
}

// signedIn wraps a page that needs a signed-in caller: others are sent to
// the sign-in form, and come back after it.
func (h *Handler) signedIn(fn pageFunc) http.Handler {
	return h.wrap(fn, true)
}

func (h *Handler) wrap(fn pageFunc, needUser bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		req := &request{lang: h.language(w, r)}
		req.csrf = h.ensureCSRF(w, r)
		h.authenticate(w, r, req)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := h.checkCSRF(r); err != nil {
				h.fail(w, r, req, err)
				return
			}
		}
		if needUser && !req.signedIn {
			target := "/masuk?next=" + url.QueryEscape(r.URL.RequestURI())
			if r.Method != http.MethodGet {
				target = "/masuk"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if err := fn(w, r, req); err != nil {
			h.fail(w, r, req, err)
		}
	})
}

// language picks the page language: ?lang= (remembered in a cookie), then
// the cookie, then Indonesian.
func (h *Handler) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "id" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(LangCookie); err == nil && (c.Value == "id" || c.Value == "en") {
		return c.Value
	}
	return "id"
}

// secure reports whether cookies set in answer to r get the Secure flag.
func (h *Handler) secure(r *http.Request) bool { return h.cfg.SecureCookies || r.TLS != nil }

// token returns the bearer token of r: the session cookie, else an
// Authorization header (set by an authenticating proxy).
func token(r *http.Request) (tok string, fromCookie bool) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(t), false
	}
	return "", false
}

// authenticate fills req's caller from r's token, and clears a session
// cookie whose token no longer authenticates.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, req *request) {
	tok, fromCookie := token(r)
	if tok == "" {
		return
	}
	p, err := h.cfg.Authenticator.Authenticate(r.Context(), tok)
	if err != nil || p.ID == "" {
		h.cfg.Logger.LogAttrs(r.Context(), slogInfo, "web_unauthenticated", attrString("path", r.URL.Path), attrErr(err))
		if fromCookie {
			h.clearSession(w, r)
			req.expired = true
		}
		return
	}
	req.user, req.signedIn = p, true
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
}

// ensureCSRF returns the CSRF token of r's forms, setting the CSRF cookie
// first when r has none.
func (h *Handler) ensureCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 32 {
		return h.csrfToken(c.Value)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "" // every POST will be refused; nothing leaks
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: v, Path: "/", HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
	// The request goes on with the new value, so the form rendered now
	// carries the token that the cookie just set will match.
	r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: v})
	return h.csrfToken(v)
}

// csrfToken derives the form token of the cookie value v.
func (h *Handler) csrfToken(v string) string { return h.mac("kinerja-web-csrf\x00", v) }

// errCSRF refuses a POST without a matching CSRF token or from another
// origin.
var errCSRF = errors.New("web: form token missing or wrong, or the form came from another site")

// checkCSRF accepts a POST only from this origin (Origin and Sec-Fetch-Site
// headers, when the browser sends them) and with the CSRF token of the
// CSRF cookie it carries.
func (h *Handler) checkCSRF(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errCSRF
		}
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return errCSRF
	}
	c, err := r.Cookie(CSRFCookie)
	if err != nil || len(c.Value) < 32 {
		return errCSRF
	}
	if err := r.ParseForm(); err != nil {
		return errCSRF
	}
	got := r.PostForm.Get(csrfField)
	if !hmac.Equal([]byte(got), []byte(h.csrfToken(c.Value))) {
		return errCSRF
	}
	return nil
}

// signInData is the sign-in form's model.
type signInData struct {
	Next    string
	Failed  bool
	Expired bool
	OIDC    bool // offer sign-in through the identity provider
	// OIDCFailed: the identity provider's sign-in was just refused.
	OIDCFailed bool
}

// safeNext returns next when it is a path on this site, else "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request, req *request) error {
	d := signInData{Next: safeNext(r.URL.Query().Get("next")), Expired: req.expired, OIDC: h.oidc != nil,
		OIDCFailed: h.oidc != nil && r.URL.Query().Get(oidcFailedParam) == "oidc"}
	return h.render(w, r, req, http.StatusOK, "signin", "signin.title", d)
}

// signIn checks the pasted token and, when it authenticates, keeps it in
// the session cookie.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, req *request) error {
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	tok = strings.TrimPrefix(tok, "Bearer ")
	next := safeNext(r.PostForm.Get("next"))
	var p domain.Principal
	err := errors.New("empty or oversized token")
	if tok != "" && len(tok) <= maxTokenLen {
		p, err = h.cfg.Authenticator.Authenticate(r.Context(), tok)
	}
	if err != nil || p.ID == "" {
		h.cfg.Logger.LogAttrs(r.Context(), slogInfo, "web_sign_in_refused", attrErr(err))
		return h.render(w, r, req, http.StatusUnauthorized, "signin", "signin.title", signInData{Next: next, Failed: true, OIDC: h.oidc != nil})
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signOut forgets the session.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, _ *request) error {
	h.clearSession(w, r)
	http.Redirect(w, r, "/masuk", http.StatusSeeOther)
	return nil
}
