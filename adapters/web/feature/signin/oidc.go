package signin

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
)

// Authenticator names the caller of a token (package jwtauth implements
// it). Any error means "not this caller"; it is logged, never shown.
type Authenticator interface {
	// Authenticate returns the caller named by token.
	Authenticate(ctx context.Context, token string) (domain.Principal, error)
}

// OIDC configures sign-in through the agency's OpenID Connect provider:
// the authorization code flow with PKCE (S256), a state and a nonce, the
// ID token checked by go-oidc (signature against the provider's key set,
// issuer, audience = ClientID, expiry; then the nonce, and "azp" when the
// token names several audiences), and its refresh token kept in the
// session to renew the identity when the ID token expires.
//
// The issuer, the redirect URL and the provider's endpoints must be https,
// except on a loopback host (development and tests).
type OIDC struct {
	// Provider is the discovered provider (go-oidc). Required.
	Provider *oidc.Provider
	// ClientID is the dashboard's client at the provider. It must differ
	// from the API's audience, so that an ID token never opens the API.
	// Required.
	ClientID string
	// ClientSecret authenticates a confidential client (HTTP Basic); empty
	// for a public client, which PKCE protects.
	ClientSecret string
	// RedirectURL is the callback registered with the provider: this
	// service's public address followed by /masuk/oidc/kembali. Required.
	RedirectURL string
	// Scopes are requested besides "openid" (default "profile" and
	// "offline_access", for a refresh token).
	Scopes []string
	// IDTokens names the caller of a verified ID token (its "sub" is the
	// NIP, its "roles" the roles, as for API tokens). Required.
	IDTokens Authenticator
	// HTTPClient makes the token requests (default: a 10 s timeout).
	HTTPClient *http.Client
	// Algorithms are the ID tokens' signature algorithms accepted
	// (default EdDSA, ES256 and RS256, the API's allow-list; never "none",
	// never HMAC).
	Algorithms []string
}

// Validate reports every problem of o, joined.
func (o *OIDC) Validate() error {
	var errs []error
	if o.Provider == nil {
		errs = append(errs, errors.New("signin: OIDC Provider is required"))
	} else {
		e := o.Provider.Endpoint()
		if !SecureURL(e.AuthURL) || !SecureURL(e.TokenURL) {
			errs = append(errs, fmt.Errorf("signin: OIDC endpoints %q and %q must be https URLs (http only on a loopback host)", e.AuthURL, e.TokenURL))
		}
	}
	if err := checkClient(o.ClientID, o.RedirectURL); err != nil {
		errs = append(errs, err)
	}
	if o.IDTokens == nil {
		errs = append(errs, errors.New("signin: OIDC IDTokens is required"))
	}
	return errors.Join(errs...)
}

// CheckSettings reports every problem of the OIDC settings a command is
// given, before the issuer is asked anything: the issuer and the redirect
// URL must be https (http only on a loopback host), the redirect URL must
// end in the callback path, and a client ID is required.
func CheckSettings(issuer, clientID, redirectURL string) error {
	var errs []error
	if !SecureURL(issuer) {
		errs = append(errs, fmt.Errorf("signin: OIDC issuer %q must be an https URL (http only on a loopback host)", issuer))
	}
	if err := checkClient(clientID, redirectURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkClient(clientID, redirectURL string) error {
	var errs []error
	if clientID == "" {
		errs = append(errs, errors.New("signin: OIDC client ID is required"))
	}
	if u, err := url.Parse(redirectURL); err != nil || !SecureURL(redirectURL) || u.Path != CallbackPath {
		errs = append(errs, fmt.Errorf("signin: OIDC redirect URL %q must be an https URL (http only on a loopback host) ending in %s", redirectURL, CallbackPath))
	}
	return errors.Join(errs...)
}

// SecureURL reports whether u is an absolute https URL, or an http URL of
// a loopback host.
func SecureURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	switch p.Scheme {
	case "https":
		return true
	case "http":
		h := p.Hostname()
		if h == "localhost" {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// OIDCFlow runs the code flow and renews sessions with refresh tokens.
type OIDCFlow struct {
	cfg      OIDC
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	now      func() time.Time
}

// NewOIDCFlow returns the flow for cfg; now is the clock (nil: time.Now).
func NewOIDCFlow(cfg OIDC, now func() time.Time) (*OIDCFlow, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", oidc.ScopeOfflineAccess}
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{oidc.EdDSA, oidc.ES256, oidc.RS256}
	}
	if now == nil {
		now = time.Now
	}
	ep := cfg.Provider.Endpoint()
	// One client authentication: HTTP Basic for a confidential client,
	// client_id in the body for a public one (RFC 6749 §2.3).
	ep.AuthStyle = oauth2.AuthStyleInParams
	if cfg.ClientSecret != "" {
		ep.AuthStyle = oauth2.AuthStyleInHeader
	}
	f := &OIDCFlow{cfg: cfg, now: now,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: ep, RedirectURL: cfg.RedirectURL,
			Scopes: append([]string{oidc.ScopeOpenID}, cfg.Scopes...)},
		verifier: cfg.Provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: cfg.Algorithms, Now: now}),
	}
	return f, nil
}

// AttemptCookie holds the ID of one sign-in attempt (its state, nonce,
// PKCE verifier and return path are kept on the server for ten minutes).
// SameSite=Lax: the provider sends the browser back with a cross-site
// navigation.
const AttemptCookie = "kinerja_oidc"

// attemptTTL bounds a sign-in attempt.
const attemptTTL = 10 * time.Minute

// attempt is one sign-in in progress.
type attempt struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Next     string `json:"next"`
}

// oidcStart sends the browser to the provider.
func (f *Feature) oidcStart(w http.ResponseWriter, r *page.Request) error {
	flow := f.cfg.OIDC
	a := attempt{State: session.NewID(), Nonce: session.NewID(), Verifier: oauth2.GenerateVerifier(), Next: SafeNext(r.URL.Query().Get("next"))}
	id := session.NewID()
	if err := f.cfg.Sessions.Put(r.Context(), "oidc", id, a, flow.now().Add(attemptTTL)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: AttemptCookie, Value: id, Path: oidcStart, MaxAge: int(attemptTTL / time.Second),
		HttpOnly: true, Secure: f.site.SecureCookies(r.Request), SameSite: http.SameSiteLaxMode})
	u := flow.oauth.AuthCodeURL(a.State, oidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier),
		oauth2.SetAuthURLParam("ui_locales", r.Lang))
	http.Redirect(w, r.Request, u, http.StatusSeeOther)
	return nil
}

// oidcCallback finishes a sign-in: it checks the state, redeems the code
// with the PKCE verifier, checks the ID token (go-oidc: signature, issuer,
// audience, expiry; here: the nonce, and azp for several audiences), names
// its caller and starts the session. Any failure shows the sign-in form
// and signs nobody in.
func (f *Feature) oidcCallback(w http.ResponseWriter, r *page.Request) error {
	flow := f.cfg.OIDC
	ctx := r.Context()
	// The attempt is used once, whatever happens.
	http.SetCookie(w, &http.Cookie{Name: AttemptCookie, Value: "", Path: oidcStart, MaxAge: -1,
		HttpOnly: true, Secure: f.site.SecureCookies(r.Request), SameSite: http.SameSiteLaxMode})
	refuse := func(why error) error {
		f.site.Logger().LogAttrs(ctx, slog.LevelInfo, "web_oidc_sign_in_refused", slog.String("error", why.Error()))
		// Away from the callback URL, whose code and state must not reach
		// links or Referer headers.
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r.Request, FormPath+"?"+failedParam+"=oidc", http.StatusSeeOther)
		return nil
	}
	c, err := r.Cookie(AttemptCookie)
	if err != nil {
		return refuse(errors.New("no sign-in in progress"))
	}
	var a attempt
	ok, err := f.cfg.Sessions.TakeRecord(ctx, "oidc", c.Value, &a)
	if err != nil {
		return err
	}
	if !ok {
		return refuse(errors.New("sign-in attempt unknown, used or expired"))
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return refuse(fmt.Errorf("provider answered %q", e))
	}
	if st := q.Get("state"); st == "" || !hmac.Equal([]byte(st), []byte(a.State)) {
		return refuse(errors.New("state does not match the sign-in in progress"))
	}
	code := q.Get("code")
	if code == "" {
		return refuse(errors.New("no code"))
	}
	octx := oidc.ClientContext(ctx, flow.cfg.HTTPClient)
	tok, err := flow.oauth.Exchange(octx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return refuse(fmt.Errorf("token endpoint: %w", err))
	}
	p, idt, err := flow.identify(octx, tok)
	if err != nil {
		return refuse(err)
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(a.Nonce)) {
		return refuse(errors.New("ID token nonce does not match"))
	}
	if err := f.cfg.Sessions.Start(ctx, w, r.Request, session.Session{User: p, Method: "oidc", Expiry: idt.Expiry, RefreshToken: tok.RefreshToken}); err != nil {
		return err
	}
	// A redirect would not carry the new SameSite=Strict cookie: the
	// navigation began at the provider, another site. A page of this site
	// that moves on by itself starts a same-site navigation, which does.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Referrer-Policy", "no-referrer")
	return continuePage.Execute(w, struct{ Next, Lang, Text string }{a.Next, r.Lang, i18n.For(messages).T(r.Lang, "signin.continue")})
}

var continuePage = template.Must(template.New("continue").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{.Next}}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Kinerja Ledger</title></head>
<body><p><a href="{{.Next}}">{{.Text}}</a></p></body></html>
`))

// identify checks the ID token of tok and names its caller.
func (f *OIDCFlow) identify(ctx context.Context, tok *oauth2.Token) (domain.Principal, *oidc.IDToken, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return domain.Principal{}, nil, errors.New("no id_token")
	}
	idt, err := f.verifier.Verify(ctx, raw)
	if err != nil {
		return domain.Principal{}, nil, fmt.Errorf("ID token: %w", err)
	}
	if len(idt.Audience) > 1 {
		var c struct {
			Azp string `json:"azp"`
		}
		if err := idt.Claims(&c); err != nil || c.Azp != f.cfg.ClientID {
			return domain.Principal{}, nil, fmt.Errorf("ID token for several audiences with azp %q", c.Azp)
		}
	}
	if !slices.Contains(idt.Audience, f.cfg.ClientID) {
		return domain.Principal{}, nil, errors.New("ID token not for this client")
	}
	p, err := f.cfg.IDTokens.Authenticate(ctx, raw)
	if err != nil || p.ID == "" {
		return domain.Principal{}, nil, fmt.Errorf("ID token names no caller: %v", err)
	}
	return p, idt, nil
}

// Refresh renews s with its refresh token (session.Config.Refresh): a new
// ID token, checked as at sign-in (but for the nonce, which a refresh does
// not carry), names the caller again, with the roles the provider gives
// now.
func (f *OIDCFlow) Refresh(ctx context.Context, s *session.Session) error {
	if s.RefreshToken == "" {
		return errors.New("no refresh token")
	}
	octx := oidc.ClientContext(ctx, f.cfg.HTTPClient)
	tok, err := f.oauth.TokenSource(octx, &oauth2.Token{RefreshToken: s.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	p, idt, err := f.identify(octx, tok)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if p.ID != s.User.ID {
		return fmt.Errorf("refresh: the provider names another subject")
	}
	s.User, s.Expiry = p, idt.Expiry
	if tok.RefreshToken != "" {
		s.RefreshToken = tok.RefreshToken
	}
	return nil
}
