package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// OIDCConfig configures an OIDC key source.
type OIDCConfig struct {
	// Issuer is the issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration" and must name the same
	// issuer. Required.
	Issuer string
	// Client fetches the documents (default: a client with a 10 s timeout).
	Client *http.Client
	// MinRefresh is the least time between two fetches of the key set
	// triggered by unknown key IDs (default 1 minute), so that tokens with
	// made-up key IDs cannot make the server hammer the issuer.
	MinRefresh time.Duration
	// MaxAge is how long a fetched key set is used before it is fetched
	// again on the next token (default 1 hour), so that revoked keys go.
	MaxAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// OIDC is a KeySource over an OpenID Connect issuer's JWKS. It is safe for
// concurrent use: one fetch at a time, readers of a fresh cache never wait.
type OIDC struct {
	cfg OIDCConfig

	mu        sync.Mutex // serialises fetches
	jwksURI   string
	authorize string // the discovery document's authorization_endpoint
	token     string // and token_endpoint
	keys      map[string]crypto.PublicKey
	fetchedAt time.Time // last successful fetch of the key set
	triedAt   time.Time // last fetch attempt (for MinRefresh)
	cacheMu   sync.RWMutex
}

// maxDocument bounds the discovery document and the key set.
const maxDocument = 1 << 20

// NewOIDC returns a key source for cfg. It fetches nothing until the first
// token; call Refresh to fail fast at start-up.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwtauth: OIDC issuer is required")
	}
	if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		return nil, fmt.Errorf("jwtauth: OIDC issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OIDC{cfg: cfg}, nil
}

// Key implements KeySource: a cached key when the cache is fresh and knows
// kid, else the key set fetched again (at most once per MinRefresh for
// unknown IDs).
func (o *OIDC) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	now := o.cfg.Now()
	o.cacheMu.RLock()
	k, ok := lookup(o.keys, kid)
	fresh := now.Sub(o.fetchedAt) < o.cfg.MaxAge
	o.cacheMu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	// Another caller may have fetched while this one waited.
	o.cacheMu.RLock()
	k, ok = lookup(o.keys, kid)
	fresh = now.Sub(o.fetchedAt) < o.cfg.MaxAge
	tried := o.triedAt
	o.cacheMu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	if fresh && now.Sub(tried) < o.cfg.MinRefresh {
		return nil, fmt.Errorf("%w %q (key set fetched %v ago)", ErrUnknownKey, kid, now.Sub(tried).Round(time.Second))
	}
	if err := o.refresh(ctx); err != nil {
		if ok { // a stale key beats no key while the issuer is unreachable
			return k, nil
		}
		return nil, err
	}
	o.cacheMu.RLock()
	defer o.cacheMu.RUnlock()
	if k, ok := lookup(o.keys, kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
}

// Endpoints returns the issuer's authorization and token endpoints, from
// the discovery document Refresh read; if none was read yet, it reads it
// (and the key set) now, at most once per MinRefresh.
func (o *OIDC) Endpoints(ctx context.Context) (authorize, token string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.jwksURI == "" {
		o.cacheMu.RLock()
		tried := o.triedAt
		o.cacheMu.RUnlock()
		if !tried.IsZero() && o.cfg.Now().Sub(tried) < o.cfg.MinRefresh {
			return "", "", fmt.Errorf("jwtauth: discovery of %s failed %v ago", o.cfg.Issuer, o.cfg.Now().Sub(tried).Round(time.Second))
		}
		if err := o.refresh(ctx); err != nil && o.jwksURI == "" {
			return "", "", err
		}
	}
	if o.authorize == "" || o.token == "" {
		return "", "", errors.New("jwtauth: discovery document has no authorization_endpoint or token_endpoint")
	}
	return o.authorize, o.token, nil
}

// Refresh fetches the discovery document (once) and the key set now.
func (o *OIDC) Refresh(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refresh(ctx)
}

func (o *OIDC) refresh(ctx context.Context) error {
	o.cacheMu.Lock()
	o.triedAt = o.cfg.Now()
	o.cacheMu.Unlock()
	if o.jwksURI == "" {
		var doc struct {
			Issuer    string `json:"issuer"`
			JWKSURI   string `json:"jwks_uri"`
			Authorize string `json:"authorization_endpoint"`
			Token     string `json:"token_endpoint"`
		}
		if err := o.get(ctx, strings.TrimSuffix(o.cfg.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return err
		}
		if doc.Issuer != o.cfg.Issuer {
			return fmt.Errorf("jwtauth: discovery document names issuer %q, want %q", doc.Issuer, o.cfg.Issuer)
		}
		if doc.JWKSURI == "" {
			return errors.New("jwtauth: discovery document has no jwks_uri")
		}
		o.jwksURI, o.authorize, o.token = doc.JWKSURI, doc.Authorize, doc.Token
	}
	var set JWKS
	if err := o.get(ctx, o.jwksURI, &set); err != nil {
		return err
	}
	keys, err := set.PublicKeys()
	if err != nil {
		return err
	}
	o.cacheMu.Lock()
	o.keys, o.fetchedAt = keys, o.cfg.Now()
	o.cacheMu.Unlock()
	return nil
}

func (o *OIDC) get(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("jwtauth: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("jwtauth: fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jwtauth: fetch %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocument)).Decode(v); err != nil {
		return fmt.Errorf("jwtauth: decode %s: %w", url, err)
	}
	return nil
}

func lookup(keys map[string]crypto.PublicKey, kid string) (crypto.PublicKey, bool) {
	if kid == "" && len(keys) == 1 {
		for _, k := range keys {
			return k, true
		}
	}
	k, ok := keys[kid]
	return k, ok
}

// JWKS is a JSON Web Key Set (RFC 7517).
type JWKS struct {
	// Keys are the set's keys.
	Keys []JWK `json:"keys"`
}

// JWK is one JSON Web Key: the members this package reads.
type JWK struct {
	Kty string `json:"kty"`           // OKP, EC or RSA
	Kid string `json:"kid,omitempty"` // key ID
	Use string `json:"use,omitempty"` // "sig" or empty
	Alg string `json:"alg,omitempty"` // the algorithm, if restricted
	Crv string `json:"crv,omitempty"` // Ed25519, P-256, P-384
	X   string `json:"x,omitempty"`   // OKP or EC public value
	Y   string `json:"y,omitempty"`   // EC
	N   string `json:"n,omitempty"`   // RSA modulus
	E   string `json:"e,omitempty"`   // RSA exponent
}

// PublicKeys returns the set's signature keys by ID. Keys for encryption
// and of unknown types are skipped; a malformed signature key is an error.
func (s JWKS) PublicKeys() (map[string]crypto.PublicKey, error) {
	out := map[string]crypto.PublicKey{}
	for _, k := range s.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.PublicKey()
		if errors.Is(err, errUnsupported) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jwtauth: key %q: %w", k.Kid, err)
		}
		out[k.Kid] = pub
	}
	return out, nil
}

var errUnsupported = errors.New("unsupported key type")

// PublicKey decodes the key.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	b := func(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")) }
	switch k.Kty {
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, errUnsupported
		}
		x, err := b(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 x")
		}
		return ed25519.PublicKey(x), nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, errUnsupported
		}
		x, err1 := b(k.X)
		y, err2 := b(k.Y)
		if err1 != nil || err2 != nil {
			return nil, errors.New("bad EC coordinates")
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, errors.New("bad EC coordinate length")
		}
		// Check the point is on the curve via the uncompressed encoding.
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
		if err != nil {
			return nil, fmt.Errorf("bad EC point: %w", err)
		}
		return pub, nil
	case "RSA":
		n, err1 := b(k.N)
		e, err2 := b(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA modulus or exponent")
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 {
			return nil, errors.New("bad RSA exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	}
	return nil, errUnsupported
}
