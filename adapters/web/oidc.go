package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OIDC configures the dashboard's own sign-in through the agency's OpenID
// Connect provider: the authorization code flow with PKCE (RFC 7636, S256),
// a state and a nonce. The ID token it receives, checked by IDTokens,
// becomes the session token, so Config.Authenticator must accept it too
// (its "sub" is the NIP and its "roles" the roles, as for API tokens).
//
// The issuer, the redirect URL and the endpoints the issuer names must be
// https, except on a loopback host (development and tests).
type OIDC struct {
	// Issuer is the provider's issuer URL. Required.
	Issuer string
	// ClientID is this dashboard's client at the provider. Required.
	ClientID string
	// ClientSecret authenticates a confidential client at the token
	// endpoint (HTTP Basic); empty for a public client, which PKCE
	// protects.
	ClientSecret string
	// RedirectURL is the callback registered with the provider: this
	// service's public address followed by /masuk/oidc/kembali. Required.
	RedirectURL string
	// Scopes are requested besides "openid" (default "profile").
	Scopes []string
	// Client makes the token requests (default: a client
	// with a 10 s timeout).
	Client *http.Client
	// Endpoints returns the provider's authorization and token endpoints
	// (from its discovery document; jwtauth.OIDC.Endpoints). Required.
	Endpoints func(ctx context.Context) (authorize, token string, err error)
	// IDTokens verifies the provider's ID tokens for this client:
	// signature against the issuer's keys, issuer, expiry, and an audience
	// of exactly ClientID. Required. (The callback also checks the nonce,
	// and "azp" when the token names several audiences.)
	IDTokens Authenticator
}

// OIDCCookie holds one sign-in attempt's state, nonce, PKCE verifier and
// return path, under an HMAC, for ten minutes. SameSite=Lax: the provider
// sends the browser back with a cross-site navigation.
const OIDCCookie = "kinerja_oidc"

// oidcCallbackPath is where the provider sends the browser back.
const oidcCallbackPath = "/masuk/oidc/kembali"

// oidcFailedParam marks the sign-in form shown after a refused OIDC
// sign-in.
const oidcFailedParam = "gagal"

// oidcAttemptTTL bounds a sign-in attempt.
const oidcAttemptTTL = 10 * time.Minute

// Validate reports every problem of o's settings, joined (Config.Validate
// also requires IDTokens).
func (o *OIDC) Validate() error {
	var errs []error
	if !secureURL(o.Issuer) {
		errs = append(errs, fmt.Errorf("web: OIDC issuer %q must be an https URL (http only on a loopback host)", o.Issuer))
	}
	if o.ClientID == "" {
		errs = append(errs, errors.New("web: OIDC client ID is required"))
	}
	if u, err := url.Parse(o.RedirectURL); err != nil || !secureURL(o.RedirectURL) || u.Path != oidcCallbackPath {
		errs = append(errs, fmt.Errorf("web: OIDC redirect URL %q must be an https URL (http only on a loopback host) ending in %s", o.RedirectURL, oidcCallbackPath))
	}
	return errors.Join(errs...)
}

// secureURL reports whether u is an absolute https URL, or an http URL of
// a loopback host.
func secureURL(u string) bool {
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

// oidcFlow runs the code flow.
type oidcFlow struct {
	cfg OIDC
}

func newOIDCFlow(cfg OIDC) *oidcFlow {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile"}
	}
	return &oidcFlow{cfg: cfg}
}

// endpoints returns the authorization and token endpoints, refusing ones
// that are not https.
func (f *oidcFlow) endpoints(ctx context.Context) (authorize, token string, err error) {
	authorize, token, err = f.cfg.Endpoints(ctx)
	if err != nil {
		return "", "", fmt.Errorf("oidc discovery: %w", err)
	}
	if !secureURL(authorize) || !secureURL(token) {
		return "", "", fmt.Errorf("oidc discovery: endpoints %q and %q must be https URLs", authorize, token)
	}
	return authorize, token, nil
}

// attempt is one sign-in in progress, kept in OIDCCookie.
type attempt struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"`
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// seal encodes a under an HMAC of the handler's key.
func (h *Handler) seal(a attempt) string {
	b, _ := json.Marshal(a)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + h.mac("kinerja-web-oidc\x00", payload)
}

// open decodes a sealed attempt, refusing a forged or expired one.
func (h *Handler) open(v string, now time.Time) (attempt, error) {
	var a attempt
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(h.mac("kinerja-web-oidc\x00", payload))) {
		return a, errors.New("sign-in state forged or damaged")
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &a) != nil {
		return a, errors.New("sign-in state unreadable")
	}
	if now.Unix() > a.Expires {
		return a, errors.New("sign-in attempt expired")
	}
	return a, nil
}

// mac is the base64 HMAC-SHA256, under the handler's key, of v behind a
// domain separator (so a CSRF token never passes as a sealed attempt).
func (h *Handler) mac(domainSep, v string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte(domainSep))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// oidcStart sends the browser to the provider.
func (h *Handler) oidcStart(w http.ResponseWriter, r *http.Request, req *request) error {
	authorize, _, err := h.oidc.endpoints(r.Context())
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	a := attempt{Next: safeNext(r.URL.Query().Get("next")), Expires: h.cfg.Now().Add(oidcAttemptTTL).Unix()}
	for _, p := range []*string{&a.State, &a.Nonce, &a.Verifier} {
		if *p, err = randomString(); err != nil {
			return fmt.Errorf("web: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: OIDCCookie, Value: h.seal(a), Path: "/masuk/oidc", MaxAge: int(oidcAttemptTTL / time.Second),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	challenge := sha256.Sum256([]byte(a.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {h.oidc.cfg.ClientID},
		"redirect_uri":          {h.oidc.cfg.RedirectURL},
		"scope":                 {strings.Join(append([]string{"openid"}, h.oidc.cfg.Scopes...), " ")},
		"state":                 {a.State},
		"nonce":                 {a.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
		"ui_locales":            {req.lang},
	}
	sep := "?"
	if strings.Contains(authorize, "?") {
		sep = "&"
	}
	http.Redirect(w, r, authorize+sep+q.Encode(), http.StatusSeeOther)
	return nil
}

// oidcCallback finishes a sign-in: it checks the state, redeems the code
// with the PKCE verifier, checks the ID token (signature, issuer, audience
// and expiry through the Authenticator; the nonce here) and keeps it as the
// session token. Any failure shows the sign-in form and signs nobody in.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request, req *request) error {
	// The attempt is used once, whatever happens.
	http.SetCookie(w, &http.Cookie{Name: OIDCCookie, Value: "", Path: "/masuk/oidc", MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	refuse := func(why error) error {
		h.cfg.Logger.LogAttrs(r.Context(), slogInfo, "web_oidc_sign_in_refused", attrErr(why))
		// Away from the callback URL, whose code and state must not reach
		// links or Referer headers.
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, "/masuk?"+oidcFailedParam+"=oidc", http.StatusSeeOther)
		return nil
	}
	c, err := r.Cookie(OIDCCookie)
	if err != nil {
		return refuse(errors.New("no sign-in in progress"))
	}
	a, err := h.open(c.Value, h.cfg.Now())
	if err != nil {
		return refuse(err)
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
	idToken, err := h.redeem(r.Context(), code, a.Verifier)
	if err != nil {
		return refuse(err)
	}
	if len(idToken) > maxTokenLen {
		return refuse(fmt.Errorf("ID token of %d bytes does not fit a cookie", len(idToken)))
	}
	p, err := h.oidc.cfg.IDTokens.Authenticate(r.Context(), idToken)
	if err != nil || p.ID == "" {
		return refuse(fmt.Errorf("ID token: %v", err))
	}
	claims, err := idTokenClaims(idToken)
	if err != nil {
		return refuse(fmt.Errorf("ID token: %w", err))
	}
	if !hmac.Equal([]byte(claims.Nonce), []byte(a.Nonce)) {
		return refuse(errors.New("ID token nonce does not match"))
	}
	if len(claims.Aud) > 1 && claims.Azp != h.oidc.cfg.ClientID {
		return refuse(fmt.Errorf("ID token for several audiences with azp %q", claims.Azp))
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: idToken, Path: "/", HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
	// A redirect would not carry the new SameSite=Strict cookie: the
	// navigation began at the provider, another site. A page of this site
	// that moves on by itself starts a same-site navigation, which does.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Referrer-Policy", "no-referrer")
	return continuePage.Execute(w, struct{ Next, Lang, Text string }{a.Next, req.lang, message(req.lang, "signin.continue")})
}

var continuePage = template.Must(template.New("continue").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{.Next}}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Kinerja Ledger</title></head>
<body><p><a href="{{.Next}}">{{.Text}}</a></p></body></html>
`))

// redeem exchanges code for the provider's tokens and returns the ID token.
func (h *Handler) redeem(ctx context.Context, code, verifier string) (string, error) {
	_, tokenURL, err := h.oidc.endpoints(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {h.oidc.cfg.RedirectURL},
		"code_verifier": {verifier},
	}
	if h.oidc.cfg.ClientSecret == "" {
		form.Set("client_id", h.oidc.cfg.ClientID) // a public client names itself
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if h.oidc.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(h.oidc.cfg.ClientID), url.QueryEscape(h.oidc.cfg.ClientSecret))
	}
	resp, err := h.oidc.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("token endpoint: status %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || body.Error != "" {
		return "", fmt.Errorf("token endpoint: status %d: %q", resp.StatusCode, body.Error)
	}
	if body.IDToken == "" {
		return "", errors.New("token endpoint: no id_token")
	}
	return body.IDToken, nil
}

// idClaims are the ID token claims the callback checks itself.
type idClaims struct {
	Nonce string   `json:"nonce"`
	Azp   string   `json:"azp"`
	Aud   audience `json:"aud"`
}

// audience is "aud": a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// idTokenClaims decodes the claims of a JWT whose signature was already
// checked.
func idTokenClaims(tok string) (idClaims, error) {
	var c idClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(b, &c)
	return c, err
}
