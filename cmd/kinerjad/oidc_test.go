package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
)

// TestDashboardOIDCWiring starts kinerjad against an OIDC issuer with a
// dashboard client: the dashboard sends sign-ins to the issuer, and the
// issuer's ID tokens (audience: the client) open the dashboard but not the
// API, which keeps its own audience. (The code flow itself is tested in
// adapters/web.)
func TestDashboardOIDCWiring(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var idp *httptest.Server
	idp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": idp.URL, "jwks_uri": idp.URL + "/jwks",
				"authorization_endpoint": idp.URL + "/authorize", "token_endpoint": idp.URL + "/token"})
		case "/jwks":
			json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
				"x": base64.RawURLEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer idp.Close()
	token := func(aud string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": idp.URL, "aud": aud, "sub": "clerk-1",
			"roles": []string{"GRIEVANCE_CLERK"}, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	data := t.TempDir()
	if _, err := authkey.LoadOrCreate(data); err != nil { // the harness reads it; kinerjad does not use it here
		t.Fatal(err)
	}
	s := startServer(t, data, "--oidc-issuer", idp.URL, "--oidc-client-id", "kinerja-dashboard",
		"--oidc-redirect-url", "https://kinerja.example/masuk/oidc/kembali")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get("/masuk/oidc?next=/keberatan"); r.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(r.Header.Get("Location"), idp.URL+"/authorize?") || !strings.Contains(r.Header.Get("Location"), "client_id=kinerja-dashboard") {
		t.Fatalf("GET /masuk/oidc = %d to %q, want the issuer's authorization endpoint", r.StatusCode, r.Header.Get("Location"))
	}
	id, api := token("kinerja-dashboard"), token("kinerja-api")
	for _, c := range []struct {
		name, path, tok string
		want            int
	}{
		{"ID token, dashboard", "/keberatan", id, http.StatusOK},
		{"ID token, API", "/v1/reports/objections", id, http.StatusUnauthorized},
		// Authenticated, and refused: the API's reports are for HR and auditors.
		{"API token, API", "/v1/reports/objections", api, http.StatusForbidden},
		{"API token, dashboard", "/keberatan", api, http.StatusOK},
	} {
		if r := get(c.path, "Authorization", "Bearer "+c.tok); r.StatusCode != c.want {
			t.Errorf("%s: GET %s = %d, want %d", c.name, c.path, r.StatusCode, c.want)
		}
	}
}
