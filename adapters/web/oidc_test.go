package web

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi/jwtauth"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/signin"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
)

// fakeProvider is an OpenID provider for the tests: discovery, a key set,
// an authorization endpoint that signs the user in at once and sends the
// browser back with a code, and a token endpoint that checks the client,
// the redirect URI and the PKCE verifier before it issues an ID token.
type fakeProvider struct {
	t        *testing.T
	srv      *httptest.Server
	key      ed25519.PrivateKey
	clientID string
	secret   string
	now      func() time.Time
	sub      string
	roles    []string

	mu       sync.Mutex
	codes    map[string]grant
	refresh  map[string]bool // live refresh tokens
	refreshN int             // refresh grants served
	// Faults the tests switch on.
	wrongNonce, wrongAudience, severalAudiences, deny, refuseRefresh bool
	redeemed                                                         int
}

type grant struct {
	challenge, redirect, nonce string
}

func newFakeProvider(t *testing.T, now func() time.Time) *fakeProvider {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProvider{t: t, key: key, clientID: "kinerja-dashboard", secret: "s3cret", now: now,
		sub: "clerk-1", roles: []string{"GRIEVANCE_CLERK"}, codes: map[string]grant{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks",
			"authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		pub := key.Public().(ed25519.PublicKey)
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
			"alg": "EdDSA", "use": "sig", "x": base64.RawURLEncoding.EncodeToString(pub)}}})
	})
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != p.clientID || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	back := q.Get("redirect_uri") + "?"
	if p.deny {
		http.Redirect(w, r, back+url.Values{"error": {"access_denied"}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
		return
	}
	code := rand.Text()
	p.mu.Lock()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), nonce: q.Get("nonce")}
	p.mu.Unlock()
	http.Redirect(w, r, back+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (p *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	fail := func(why string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": why})
	}
	r.ParseForm()
	// One client authentication method: HTTP Basic for a confidential
	// client, client_id alone for a public one (RFC 6749 §2.3).
	id, secret, basic := r.BasicAuth()
	switch {
	case p.secret != "" && (!basic || id != p.clientID || secret != p.secret || r.PostForm.Has("client_id")):
		fail("confidential client authentication")
		return
	case p.secret == "" && (basic || r.PostForm.Get("client_id") != p.clientID):
		fail("public client identification")
		return
	}
	if r.PostForm.Get("grant_type") == "refresh_token" {
		p.mu.Lock()
		live := p.refresh[r.PostForm.Get("refresh_token")]
		delete(p.refresh, r.PostForm.Get("refresh_token")) // rotated
		p.refreshN++
		p.mu.Unlock()
		if !live || p.refuseRefresh {
			fail("refresh token unknown or revoked")
			return
		}
		p.issue(w, "")
		return
	}
	p.mu.Lock()
	g, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code")) // one use
	p.redeemed++
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok:
		fail("unknown code")
		return
	case r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirect:
		fail("grant type or redirect URI")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		fail("PKCE verifier does not match the challenge")
		return
	}
	p.issue(w, g.nonce)
}

// issue answers the token endpoint with an ID token for nonce ("" on a
// refresh) and a new refresh token.
func (p *fakeProvider) issue(w http.ResponseWriter, nonce string) {
	aud := any(p.clientID)
	if p.wrongNonce {
		nonce = "another-nonce"
	}
	if p.wrongAudience {
		aud = "kinerja-api" // what the dashboard's session Authenticator accepts too
	}
	if p.severalAudiences {
		aud = []string{p.clientID, "another-client"} // and no azp
	}
	now := p.now()
	claims := jwt.MapClaims{"iss": p.srv.URL, "aud": aud, "sub": p.sub, "roles": p.roles, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(p.key)
	if err != nil {
		p.t.Error(err)
	}
	rt := rand.Text()
	p.mu.Lock()
	p.refresh[rt] = true
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id_token": signed, "access_token": "opaque", "token_type": "Bearer", "expires_in": 3600, "refresh_token": rt})
}

// oidcDashboard serves a seeded dashboard whose sign-in goes through p,
// over real HTTP, and returns its base URL and handler. Its sessions accept
// the provider's tokens for the API audience and for the client, as
// kinerjad's do; the callback only the client's.
func oidcDashboard(t *testing.T, h *harness, p *fakeProvider) (string, *Handler) {
	var handler *Handler
	dash := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(dash.Close)
	provider, err := jwtauth.Discover(context.Background(), jwtauth.OIDCConfig{Issuer: p.srv.URL, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(aud string) Authenticator {
		a, err := jwtauth.New(jwtauth.Config{Provider: provider, Issuer: p.srv.URL, Audience: aud, Now: h.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg := h.cfg
	cfg.LoginCodes = nil
	cfg.Authenticator = auth("kinerja-api")
	cfg.OIDC = &OIDC{Provider: provider, ClientID: p.clientID, ClientSecret: p.secret, RedirectURL: dash.URL + signin.CallbackPath,
		IDTokens: auth(p.clientID)}
	if handler, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return dash.URL, handler
}

func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func sessionOf(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == session.CookieName {
			return ck.Value
		}
	}
	return ""
}

func fetch(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestOIDCSignIn(t *testing.T) {
	h := seeded(t)
	p := newFakeProvider(t, h.clock.Now)
	base, handler := oidcDashboard(t, h, p)

	// The form offers the provider.
	c := newBrowser(t)
	if st, body := fetch(t, c, base+"/masuk?next=/keberatan"); st != http.StatusOK || !strings.Contains(body, `href="/masuk/oidc?next=%2fkeberatan"`) {
		t.Fatalf("sign-in form = %d, want a link to the provider\n%s", st, body)
	}
	// The whole flow: to the provider and back, then a same-site page that
	// moves on to next.
	st, body := fetch(t, c, base+"/masuk/oidc?next=/keberatan")
	if st != http.StatusOK || !strings.Contains(body, `content="0;url=/keberatan"`) {
		t.Fatalf("callback = %d, want the page that continues to /keberatan\n%s", st, body)
	}
	if sessionOf(c, base) == "" {
		t.Fatal("no session after the sign-in")
	}
	if st, body := fetch(t, c, base+"/keberatan"); st != http.StatusOK || !strings.Contains(body, "clerk-1") {
		t.Fatalf("GET /keberatan after the sign-in = %d\n%s", st, body)
	}

	// Refusals: each ends on the sign-in form, away from the callback URL,
	// with nobody signed in.
	refused := func(name string, c *http.Client, u string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/masuk" || strings.Contains(resp.Request.URL.RawQuery, "code=") ||
			!strings.Contains(string(b), "Masuk melalui penyedia identitas tidak berhasil") || sessionOf(c, base) != "" {
			t.Errorf("%s: ended at %s with %d, session %q; want the sign-in form saying so, and no session\n%s",
				name, resp.Request.URL, resp.StatusCode, sessionOf(c, base), b)
		}
	}
	// A callback with no sign-in in progress (a replayed or forged link).
	refused("callback without an attempt", newBrowser(t), base+signin.CallbackPath+"?code=x&state=y")
	// The provider refuses the user: nothing is redeemed.
	p.deny = true
	before := p.redeemed
	refused("access denied", newBrowser(t), base+"/masuk/oidc")
	if p.redeemed != before {
		t.Error("a denied sign-in reached the token endpoint")
	}
	p.deny = false
	// An ID token for another nonce; for the API's audience (which the
	// session Authenticator accepts, the callback must not); for several
	// audiences without azp.
	p.wrongNonce = true
	refused("wrong nonce", newBrowser(t), base+"/masuk/oidc")
	p.wrongNonce, p.wrongAudience = false, true
	refused("wrong audience", newBrowser(t), base+"/masuk/oidc")
	p.wrongAudience, p.severalAudiences = false, true
	refused("several audiences, no azp", newBrowser(t), base+"/masuk/oidc")
	p.severalAudiences = false

	// Stop where the provider sends the browser back, to look at the
	// attempt cookie and to tamper with the return.
	toCallback := func() (*http.Client, *url.URL, *http.Cookie) {
		t.Helper()
		c := newBrowser(t)
		var attemptCookie *http.Cookie
		c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
			for _, ck := range r.Response.Cookies() {
				if ck.Name == signin.AttemptCookie {
					attemptCookie = ck
				}
			}
			if strings.HasPrefix(r.URL.String(), base+signin.CallbackPath) {
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, err := c.Get(base + "/masuk/oidc?next=//evil.example/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || back.Query().Get("code") == "" {
			t.Fatalf("provider sent the browser to %q", resp.Header.Get("Location"))
		}
		c.CheckRedirect = nil
		return c, back, attemptCookie
	}
	c, back, ck := toCallback()
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/masuk/oidc" || ck.MaxAge != 600 || ck.Secure {
		t.Errorf("attempt cookie = %+v, want HttpOnly, SameSite=Lax, Path=/masuk/oidc, 10 minutes, not Secure over plain HTTP", ck)
	}
	redeemedBefore := p.redeemed
	q := back.Query()
	q.Set("state", "forged")
	forged := *back
	forged.RawQuery = q.Encode()
	refused("forged state", c, forged.String())
	if p.redeemed != redeemedBefore {
		t.Error("a callback with a forged state redeemed its code")
	}
	// An attempt past its ten minutes.
	c, back, _ = toCallback()
	h.clock.Advance(11 * time.Minute)
	refused("expired attempt", c, back.String())
	h.clock.Advance(-11 * time.Minute)
	// An off-site next is dropped; the session cookie is Strict.
	c, back, _ = toCallback()
	resp, err := c.Get(back.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `content="0;url=/"`) {
		t.Errorf("sign-in with next=//evil.example/ continues to:\n%s", b)
	}
	var sess *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == session.CookieName {
			sess = x
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/", sess)
	}

	// The attempt is kept on the server and used once: the same return
	// again, or a made-up attempt ID in the cookie, signs nobody in.
	c, back, _ = toCallback()
	if resp, err := c.Get(back.String()); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	replay := newBrowser(t)
	u, _ := url.Parse(base)
	replay.Jar.SetCookies(&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/masuk/oidc"}, []*http.Cookie{{Name: signin.AttemptCookie, Value: "made-up", Path: "/masuk/oidc"}})
	refused("made-up attempt", replay, back.String())
	_ = handler
}

// A public client (no secret) names itself in the token request instead.
func TestOIDCPublicClient(t *testing.T) {
	h := seeded(t)
	p := newFakeProvider(t, h.clock.Now)
	p.secret = ""
	base, _ := oidcDashboard(t, h, p)
	c := newBrowser(t)
	if st, _ := fetch(t, c, base+"/masuk/oidc?next=/keberatan"); st != http.StatusOK || sessionOf(c, base) == "" {
		t.Fatalf("public client sign-in = %d, session %q\n%s", st, sessionOf(c, base), h.logs.String())
	}
}

func TestOIDCConfigValidate(t *testing.T) {
	h := newHarness(t)
	provider := func(base string) *oidc.Provider {
		return (&oidc.ProviderConfig{IssuerURL: base, AuthURL: base + "/authorize", TokenURL: base + "/token", JWKSURL: base + "/jwks"}).NewProvider(context.Background())
	}
	ok := OIDC{Provider: provider("https://idp"), ClientID: "c", RedirectURL: "https://k.example/masuk/oidc/kembali", IDTokens: h.cfg.Authenticator}
	with := func(change func(*OIDC)) OIDC {
		o := ok
		change(&o)
		return o
	}
	for _, o := range []OIDC{
		with(func(o *OIDC) { o.Provider = nil }),
		with(func(o *OIDC) { o.Provider = provider("http://idp.example") }),
		with(func(o *OIDC) { o.ClientID = "" }),
		with(func(o *OIDC) { o.RedirectURL = "/masuk/oidc/kembali" }),
		with(func(o *OIDC) { o.RedirectURL = "https://k.example/callback" }),
		with(func(o *OIDC) { o.RedirectURL = "http://k.example/masuk/oidc/kembali" }),
		with(func(o *OIDC) { o.IDTokens = nil }),
	} {
		cfg := h.cfg
		cfg.OIDC = &o
		if _, err := New(cfg); err == nil {
			t.Errorf("New with OIDC %+v succeeded", o)
		}
	}
	for _, o := range []OIDC{
		ok,
		with(func(o *OIDC) {
			o.Provider, o.RedirectURL = provider("http://127.0.0.1:9"), "http://localhost:8080/masuk/oidc/kembali"
		}),
	} {
		cfg := h.cfg
		cfg.OIDC = &o
		if _, err := New(cfg); err != nil {
			t.Errorf("New with OIDC %+v: %v", o, err)
		}
	}
	// The settings a command is given are checked before the issuer is
	// asked anything.
	for _, c := range []struct{ issuer, client, redirect string }{
		{"", "c", "https://k.example/masuk/oidc/kembali"},
		{"ftp://idp", "c", "https://k.example/masuk/oidc/kembali"},
		{"http://idp.example", "c", "https://k.example/masuk/oidc/kembali"},
		{"https://idp", "", "https://k.example/masuk/oidc/kembali"},
		{"https://idp", "c", "https://k.example/elsewhere"},
	} {
		if err := CheckOIDCSettings(c.issuer, c.client, c.redirect); err == nil {
			t.Errorf("CheckOIDCSettings(%q, %q, %q) = nil", c.issuer, c.client, c.redirect)
		}
	}
	if err := CheckOIDCSettings("https://idp", "c", "https://k.example/masuk/oidc/kembali"); err != nil {
		t.Errorf("CheckOIDCSettings of good settings = %v", err)
	}
}

// The session keeps the provider's refresh token: when the ID token
// expires, the next request renews the identity (with the roles the
// provider gives now); when the provider refuses, the session ends.
func TestOIDCRefresh(t *testing.T) {
	h := seeded(t)
	p := newFakeProvider(t, h.clock.Now)
	base, _ := oidcDashboard(t, h, p)
	c := newBrowser(t)
	if st, _ := fetch(t, c, base+"/masuk/oidc?next=/keberatan"); st != http.StatusOK || sessionOf(c, base) == "" {
		t.Fatalf("sign-in = %d", st)
	}
	// Used within the idle timeout, through the ID token's hour.
	for range 2 {
		h.clock.Advance(25 * time.Minute)
		if st, body := fetch(t, c, base+"/keberatan"); st != http.StatusOK || !strings.Contains(body, "objections-title") && !strings.Contains(body, "clerk-1") || p.refreshN != 0 {
			t.Fatalf("within the ID token's life: %d, %d refreshes", st, p.refreshN)
		}
	}
	// Past the ID token's hour (and within the idle timeout): renewed, and
	// the roles the provider gives now apply.
	p.roles = []string{"AUDITOR"}
	h.clock.Advance(15 * time.Minute)
	st, body := fetch(t, c, base+"/audit")
	if st != http.StatusOK || p.refreshN != 1 || !strings.Contains(body, "clerk-1") {
		t.Fatalf("after the ID token expired: /audit = %d, %d refreshes", st, p.refreshN)
	}
	// Refused: the session ends, and the form says so.
	p.refuseRefresh = true
	for range 2 {
		h.clock.Advance(25 * time.Minute)
		fetch(t, c, base+"/keberatan")
	}
	h.clock.Advance(25 * time.Minute) // past the renewed ID token's hour
	resp, err := c.Get(base + "/audit")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/masuk" || !strings.Contains(string(b), "Sesi Anda telah berakhir") || p.refreshN != 2 {
		t.Errorf("after a refused refresh: at %s, %d refreshes", resp.Request.URL, p.refreshN)
	}
}
