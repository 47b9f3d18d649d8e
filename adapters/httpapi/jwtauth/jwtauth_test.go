package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/jwtauth"
	"github.com/kinerja-ledger/kinerja/domain"
)

var now = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

func embedded(t *testing.T) (*authkey.Key, ed25519.PrivateKey, *jwtauth.Authenticator) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := authkey.New(priv)
	a, err := jwtauth.New(jwtauth.Config{Keys: jwtauth.Static{k.ID(): k.Public()}, Issuer: authkey.Issuer, Audience: authkey.Audience, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return k, priv, a
}

func TestEmbeddedTokens(t *testing.T) {
	k, _, a := embedded(t)
	tok, err := k.Sign(authkey.Claims{Subject: "19800101 200501 1 001", Roles: []string{"HR_ADMIN", "AUDITOR"}, IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Principal{ID: "198001012005011001", Roles: []domain.Role{domain.RoleHRAdmin, domain.RoleAuditor}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
}

func TestRefusals(t *testing.T) {
	k, priv, a := embedded(t)
	other, _ := authkey.LoadOrCreate(t.TempDir())
	sign := func(c authkey.Claims) string {
		t.Helper()
		if c.IssuedAt.IsZero() {
			c.IssuedAt = now
		}
		s, err := k.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherTok, _ := other.Sign(authkey.Claims{Subject: "x", IssuedAt: now})
	// HS256 keyed with the public key's bytes: the classic algorithm
	// confusion attack.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "x", Issuer: authkey.Issuer,
		Audience: jwt.ClaimStrings{authkey.Audience}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	hs.Header["kid"] = k.ID()
	hsTok, _ := hs.SignedString([]byte(k.Public()))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: "x", Issuer: authkey.Issuer,
		Audience: jwt.ClaimStrings{authkey.Audience}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	noExp := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.RegisteredClaims{Subject: "x", Issuer: authkey.Issuer, Audience: jwt.ClaimStrings{authkey.Audience}})
	noExp.Header["kid"] = k.ID()
	noExpTok, _ := noExp.SignedString(priv)
	for _, tc := range []struct{ name, token string }{
		{"garbage", "not.a.token"},
		{"empty", ""},
		{"expired", sign(authkey.Claims{Subject: "x", IssuedAt: now.Add(-2 * time.Hour), TTL: time.Hour})},
		{"not yet valid", sign(authkey.Claims{Subject: "x", IssuedAt: now.Add(10 * time.Minute)})},
		{"other issuer", sign(authkey.Claims{Subject: "x", Issuer: "evil"})},
		{"other audience", sign(authkey.Claims{Subject: "x", Audience: "other"})},
		{"unknown key", otherTok},
		{"HS256 with the public key", hsTok},
		{"alg none", noneTok},
		{"no exp", noExpTok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authenticate(context.Background(), tc.token)
			if !errors.Is(err, jwtauth.ErrUnauthenticated) {
				t.Errorf("Authenticate = %v, want ErrUnauthenticated", err)
			}
		})
	}
	// Within the leeway is fine.
	if _, err := a.Authenticate(context.Background(), sign(authkey.Claims{Subject: "x", IssuedAt: now.Add(-time.Hour - 10*time.Second), TTL: time.Hour})); err != nil {
		t.Errorf("token expired 10 s ago (leeway 30 s): %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := jwtauth.Config{Algorithms: []string{"HS256", "none"}}.Validate()
	if err == nil {
		t.Fatal("Validate accepted an empty config with HS256 and none")
	}
	for _, want := range []string{"Keys", "Issuer", "Audience", "HS256", "none"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, does not mention %s", err, want)
		}
	}
}

// issuer is a test OIDC issuer serving discovery and a key set that can
// rotate.
type issuer struct {
	srv       *httptest.Server
	mu        sync.Mutex
	jwks      jose.JSONWebKeySet
	jwksFetch atomic.Int32
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{}
	mux := http.NewServeMux()
	discovery := func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys",
			"authorization_endpoint": is.srv.URL + "/authorize", "token_endpoint": is.srv.URL + "/token"})
	}
	mux.HandleFunc("/.well-known/openid-configuration", discovery)
	// A document that names another issuer than the URL it is found at.
	mux.HandleFunc("/other/.well-known/openid-configuration", discovery)
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.jwksFetch.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		json.NewEncoder(w).Encode(is.jwks)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) publish(keys ...jose.JSONWebKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.jwks = jose.JSONWebKeySet{Keys: keys}
}

func ecJWK(kid string, k *ecdsa.PrivateKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: "sig", Algorithm: "ES256"}
}

func rsaJWK(kid string, k *rsa.PrivateKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid}
}

func signWith(t *testing.T, m jwt.SigningMethod, kid string, key any, iss string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "svc-report", "iss": iss, "aud": "kinerja-api",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "roles": []string{"HR_ANALYST", "SOMETHING_ELSE"}})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOIDC(t *testing.T) {
	is := newIssuer(t)
	ec1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs1, _ := rsa.GenerateKey(rand.Reader, 2048)
	is.publish(ecJWK("ec1", ec1), rsaJWK("rs1", rs1), jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "secret", Algorithm: "HS256"})
	current := now
	src, err := jwtauth.Discover(context.Background(), jwtauth.OIDCConfig{Issuer: is.srv.URL, Client: is.srv.Client(), MinRefresh: time.Minute, Now: func() time.Time { return current }})
	if err != nil {
		t.Fatal(err)
	}
	a, err := jwtauth.New(jwtauth.Config{Provider: src, Issuer: is.srv.URL, Audience: "kinerja-api", Now: func() time.Time { return current }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tok := range []string{
		signWith(t, jwt.SigningMethodES256, "ec1", ec1, is.srv.URL),
		signWith(t, jwt.SigningMethodRS256, "rs1", rs1, is.srv.URL),
	} {
		p, err := a.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(domain.Principal{ID: "svc-report", Roles: []domain.Role{domain.RoleHRAnalyst}}, p); diff != "" {
			t.Errorf("principal (-want +got):\n%s", diff)
		}
	}
	if n := is.jwksFetch.Load(); n != 1 {
		t.Errorf("key set fetched %d times for two known keys, want 1", n)
	}
	// A key signed with the EC key but claiming RS256 is refused.
	if _, err := a.Authenticate(ctx, signWith(t, jwt.SigningMethodES256, "rs1", ec1, is.srv.URL)); err == nil {
		t.Error("an ES256 token naming the RSA key was accepted")
	}

	// Rotation: a token with a new kid triggers one fetch.
	ec2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is.publish(ecJWK("ec2", ec2))
	current = current.Add(2 * time.Minute)
	if _, err := a.Authenticate(ctx, signWith(t, jwt.SigningMethodES256, "ec2", ec2, is.srv.URL)); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	fetched := is.jwksFetch.Load()
	// Unknown kids within MinRefresh do not reach the issuer.
	for range 5 {
		if _, err := a.Authenticate(ctx, signWith(t, jwt.SigningMethodES256, "made-up", ec2, is.srv.URL)); err == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	if n := is.jwksFetch.Load(); n != fetched {
		t.Errorf("unknown kids fetched the key set %d more times within MinRefresh, want 0", n-fetched)
	}
	// The rotated-out key is gone.
	if _, err := a.Authenticate(ctx, signWith(t, jwt.SigningMethodES256, "ec1", ec1, is.srv.URL)); err == nil {
		t.Error("a token of a key removed from the set was accepted")
	}
}

// The discovery document's endpoints, for a code flow, come from the
// discovery; the key set is fetched when a token needs it.
func TestOIDCEndpoints(t *testing.T) {
	is := newIssuer(t)
	src, err := jwtauth.Discover(context.Background(), jwtauth.OIDCConfig{Issuer: is.srv.URL, Client: is.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if e := src.Endpoint(); e.AuthURL != is.srv.URL+"/authorize" || e.TokenURL != is.srv.URL+"/token" {
		t.Errorf("Endpoint = %+v", e)
	}
	if n := is.jwksFetch.Load(); n != 0 {
		t.Errorf("key set fetched %d times by the discovery, want 0", n)
	}
}

func TestOIDCIssuerMismatch(t *testing.T) {
	is := newIssuer(t)
	if _, err := jwtauth.Discover(context.Background(), jwtauth.OIDCConfig{Issuer: is.srv.URL + "/other", Client: is.srv.Client()}); err == nil {
		t.Error("Discover accepted a discovery document naming another issuer")
	}
	for _, bad := range []string{"", "ftp://idp.example", "idp.example"} {
		if _, err := jwtauth.Discover(context.Background(), jwtauth.OIDCConfig{Issuer: bad}); err == nil {
			t.Errorf("Discover(%q) succeeded", bad)
		}
	}
}

func TestRememberedTokenStillExpires(t *testing.T) {
	current := now
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := authkey.New(priv)
	a, err := jwtauth.New(jwtauth.Config{Keys: jwtauth.Static{k.ID(): k.Public()}, Issuer: authkey.Issuer, Audience: authkey.Audience,
		Now: func() time.Time { return current }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(authkey.Claims{Subject: "svc", TTL: 10 * time.Second, IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.Authenticate(context.Background(), tok); err != nil {
			t.Fatalf("a valid token was refused: %v", err)
		}
	}
	current = now.Add(10*time.Second + 31*time.Second) // past exp and the 30 s leeway
	if _, err := a.Authenticate(context.Background(), tok); !errors.Is(err, jwtauth.ErrUnauthenticated) {
		t.Errorf("an expired token, verified before, = %v; want ErrUnauthenticated", err)
	}
	// A forged token is never taken from the cache of a genuine one.
	// Flip one character well inside the signature, so the decoded bytes
	// differ whatever the original spelled there.
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	forged := tok[:i] + string(c) + tok[i+1:]
	current = now
	if _, err := a.Authenticate(context.Background(), forged); err == nil {
		t.Error("a token with a forged signature was accepted")
	}
}

// TestNonCanonicalSpellingRefused: the last base64url character of an
// Ed25519 signature carries only two bits; a lax decoder accepts four
// spellings of one signature, giving one token several cache keys and
// audit identities. Strict decoding accepts exactly one.
func TestNonCanonicalSpellingRefused(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := authkey.New(priv)
	a, err := jwtauth.New(jwtauth.Config{Keys: jwtauth.Static{k.ID(): k.Public()}, Issuer: authkey.Issuer, Audience: authkey.Audience,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(authkey.Claims{Subject: "svc", TTL: 10 * time.Second, IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("a valid token was refused: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	if last&0xf != 0 {
		t.Fatalf("the signer wrote a non-canonical signature: %q", tok[len(tok)-1:])
	}
	variant := tok[:len(tok)-1] + string(alphabet[last|1]) // same two meaningful bits, a non-zero padding bit
	if _, err := a.Authenticate(context.Background(), variant); !errors.Is(err, jwtauth.ErrUnauthenticated) {
		t.Errorf("a non-canonical spelling of a valid signature = %v; want ErrUnauthenticated", err)
	}
}
