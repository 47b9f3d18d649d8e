// Package jwtauth authenticates the API's bearer tokens: JWTs signed with an
// algorithm of an allow-list (EdDSA, ES256, RS256; never "none", never HMAC,
// so a public key can never be used as a shared secret), with "exp"
// required and "nbf", "iss" and "aud" checked within a small leeway. The
// token's "sub" and "roles" become a [domain.Principal].
//
// Keys come from a [KeySource], [Static] for embedded mode (the key that
// package authkey creates in the data directory); or, in production, from
// an OpenID Connect issuer through github.com/coreos/go-oidc (Config.Provider,
// from [Discover]), which fetches the issuer's key set and caches it,
// fetching it again on an unknown "kid" at most once per MinRefresh.
package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// ErrUnauthenticated matches every error of Authenticate: the token is
// missing, malformed, expired, not yet valid, for another issuer or
// audience, or not signed by a known key with an allowed algorithm.
var ErrUnauthenticated = errors.New("jwtauth: unauthenticated")

// ErrUnknownKey is returned by a KeySource that holds no key with the
// requested ID.
var ErrUnknownKey = errors.New("jwtauth: unknown key")

// Algorithms is the default allow-list.
var Algorithms = []string{"EdDSA", "ES256", "RS256"}

// MinRSABits is the smallest RSA modulus accepted.
const MinRSABits = 2048

// KeySource finds the public key that verifies a token. Implementations are
// safe for concurrent use.
type KeySource interface {
	// Key returns the key with ID kid ("" when the token names none: a
	// source with exactly one key may return it). Errors: ErrUnknownKey
	// (wrapped) when no key has that ID, or why the keys could not be read.
	Key(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// Config configures an Authenticator.
type Config struct {
	// Keys verify the signatures. Either Keys or Provider is required.
	Keys KeySource
	// Provider is an OIDC issuer (Discover): go-oidc verifies the
	// signature against its key set, the issuer, the audience, the expiry
	// and the algorithm; the rest (not-before, issued-at, the subject and
	// roles, one spelling of a signature) is checked here as for Keys.
	// Issuer must be the provider's.
	Provider *oidc.Provider
	// Issuer is the required "iss". Required.
	Issuer string
	// Audience is the "aud" the token must name. Required.
	Audience string
	// Algorithms is the allow-list (default [Algorithms]); only EdDSA,
	// ES256, ES384, RS256, RS384, RS512, PS256 are allowed in it.
	Algorithms []string
	// Leeway is the clock skew tolerated on exp, nbf and iat (default 30 s,
	// at most 5 minutes).
	Leeway time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

var permitted = []string{"EdDSA", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256"}

// Validate reports every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if (c.Keys == nil) == (c.Provider == nil) {
		errs = append(errs, errors.New("jwtauth: one of Keys and Provider is required"))
	}
	if c.Issuer == "" {
		errs = append(errs, errors.New("jwtauth: Issuer is required"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("jwtauth: Audience is required"))
	}
	for _, a := range c.Algorithms {
		if !slices.Contains(permitted, a) {
			errs = append(errs, fmt.Errorf("jwtauth: algorithm %q is not allowed (allowed: %v)", a, permitted))
		}
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		errs = append(errs, fmt.Errorf("jwtauth: Leeway %v is outside 0..5m", c.Leeway))
	}
	return errors.Join(errs...)
}

// Authenticator verifies bearer tokens. It is safe for concurrent use.
//
// A verified token is remembered (by its SHA-256) until it expires, or for
// at most verifiedTTL, so that a client sending the same token with every
// request does not pay a signature check each time; a key removed from the
// issuer's JWKS stops being honoured within verifiedTTL.
type Authenticator struct {
	cfg    Config
	parser *jwt.Parser
	oidc   *oidc.IDTokenVerifier // with Provider

	mu       sync.Mutex
	verified map[[32]byte]verifiedToken
}

type verifiedToken struct {
	p       domain.Principal
	exp     time.Time // the token's expiry
	forgets time.Time // when the cache forgets it
}

// verifiedTTL bounds how long a verified token is remembered; maxVerified
// how many are.
const (
	verifiedTTL = time.Minute
	maxVerified = 10_000
)

// New returns an Authenticator for cfg.
func New(cfg Config) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = Algorithms
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(), // one token, one spelling: no trailing-bit variants
	)
	a := &Authenticator{cfg: cfg, parser: p}
	if cfg.Provider != nil {
		a.oidc = cfg.Provider.Verifier(&oidc.Config{ClientID: cfg.Audience, SupportedSigningAlgs: cfg.Algorithms,
			// The leeway on exp, as for Keys.
			Now: func() time.Time { return cfg.Now().Add(-cfg.Leeway) }})
	}
	return a, nil
}

// claims is the payload the API reads.
type claims struct {
	jwt.RegisteredClaims
	Roles  []string `json:"roles"`
	Agency string   `json:"agency"`
}

// tokenRoles are the roles the API knows; others in a token are ignored
// (an identity provider may carry roles of other systems).
var tokenRoles = []domain.Role{domain.RoleHRAdmin, domain.RoleAuditor, domain.RoleHRAnalyst, domain.RoleGrievanceClerk,
	domain.RoleNationalAnalyst, domain.RoleNationalAuditor}

// MaxAgencyLen bounds the "agency" claim.
const MaxAgencyLen = 128

// Authenticate verifies token and returns the caller. A "sub" that is an
// NIP in any printed form becomes its 18 digits. Every error wraps
// ErrUnauthenticated.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	key := sha256.Sum256([]byte(token))
	now := a.cfg.Now()
	a.mu.Lock()
	v, ok := a.verified[key]
	a.mu.Unlock()
	if ok && now.Before(v.forgets) && now.Before(v.exp.Add(a.cfg.Leeway)) {
		return v.p, nil
	}
	p, exp, err := a.verify(ctx, token)
	if err != nil {
		return p, err
	}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[[32]byte]verifiedToken{} // start over rather than grow
	}
	a.verified[key] = verifiedToken{p: p, exp: exp, forgets: now.Add(verifiedTTL)}
	a.mu.Unlock()
	return p, nil
}

// verify checks token's signature and claims and returns the caller and the
// token's expiry.
func (a *Authenticator) verify(ctx context.Context, token string) (domain.Principal, time.Time, error) {
	if a.oidc != nil {
		return a.verifyOIDC(ctx, token)
	}
	var c claims
	_, err := a.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, err := a.cfg.Keys.Key(ctx, kid)
		if err != nil {
			return nil, err
		}
		if err := keyFits(t.Method.Alg(), key); err != nil {
			return nil, err
		}
		return key, nil
	})
	if err != nil {
		return domain.Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	var exp time.Time
	if c.ExpiresAt != nil {
		exp = c.ExpiresAt.Time
	}
	p, err := principalOf(c.Subject, c.Roles, c.Agency)
	return p, exp, err
}

// verifyOIDC verifies token with go-oidc against the provider's key set,
// then checks what go-oidc leaves: one spelling of the signature,
// not-before and issued-at within the leeway.
func (a *Authenticator) verifyOIDC(ctx context.Context, token string) (domain.Principal, time.Time, error) {
	fail := func(err error) (domain.Principal, time.Time, error) {
		return domain.Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fail(errors.New("not a JWT"))
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(parts[2]); err != nil {
		return fail(errors.New("the signature is not in canonical base64url"))
	}
	idt, err := a.oidc.Verify(ctx, token)
	var expired *oidc.TokenExpiredError
	if err != nil && !errors.As(err, &expired) {
		// go-oidc hands a fetch of the key set that has just finished to a
		// caller that arrives before it is cleared: the first token of a
		// rotated key can meet the old set. One more try, a moment later,
		// fetches (at most once per MinRefresh).
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
		idt, err = a.oidc.Verify(ctx, token)
	}
	if err != nil {
		return fail(err)
	}
	var c struct {
		Roles     []string         `json:"roles"`
		Agency    string           `json:"agency"`
		NotBefore *jwt.NumericDate `json:"nbf"`
		IssuedAt  *jwt.NumericDate `json:"iat"`
	}
	if err := idt.Claims(&c); err != nil {
		return fail(err)
	}
	late := a.cfg.Now().Add(a.cfg.Leeway)
	if c.NotBefore != nil && late.Before(c.NotBefore.Time) {
		return fail(errors.New("the token is not valid yet"))
	}
	if c.IssuedAt != nil && late.Before(c.IssuedAt.Time) {
		return fail(errors.New("the token was issued in the future"))
	}
	p, err := principalOf(idt.Subject, c.Roles, c.Agency)
	return p, idt.Expiry, err
}

// principalOf is the caller named by a verified token's subject and roles:
// a subject that is an NIP in any printed form becomes its 18 digits; the
// roles the API does not know are left out. The "agency" claim names the
// agency the agency roles act in; one with control characters or longer
// than MaxAgencyLen makes the token invalid.
func principalOf(sub string, roles []string, agency string) (domain.Principal, error) {
	if sub == "" {
		return domain.Principal{}, fmt.Errorf("%w: the token has no subject", ErrUnauthenticated)
	}
	if len(sub) > 200 {
		return domain.Principal{}, fmt.Errorf("%w: the subject is longer than 200 characters", ErrUnauthenticated)
	}
	if info, err := nip.Parse(sub); err == nil {
		sub = string(info.NIP)
	}
	if len(agency) > MaxAgencyLen {
		return domain.Principal{}, fmt.Errorf("%w: the agency is longer than %d characters", ErrUnauthenticated, MaxAgencyLen)
	}
	if strings.IndexFunc(agency, unicode.IsControl) >= 0 || !utf8.ValidString(agency) {
		return domain.Principal{}, fmt.Errorf("%w: the agency holds control characters", ErrUnauthenticated)
	}
	p := domain.Principal{ID: sub, Agency: agency}
	for _, r := range roles {
		if role := domain.Role(r); slices.Contains(tokenRoles, role) && !p.Has(role) {
			p.Roles = append(p.Roles, role)
		}
	}
	return p, nil
}

// keyFits refuses a key of the wrong kind for alg, so that a key published
// for one algorithm cannot verify tokens of another.
func keyFits(alg string, key crypto.PublicKey) error {
	switch k := key.(type) {
	case ed25519.PublicKey:
		if alg == "EdDSA" {
			return nil
		}
	case *ecdsa.PublicKey:
		if (alg == "ES256" && k.Curve == elliptic.P256()) || (alg == "ES384" && k.Curve == elliptic.P384()) {
			return nil
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits, at least %d required", k.N.BitLen(), MinRSABits)
		}
		if alg == "RS256" || alg == "RS384" || alg == "RS512" || alg == "PS256" {
			return nil
		}
	}
	return fmt.Errorf("a %T key does not verify %s", key, alg)
}

// Static is a fixed set of keys by ID (embedded mode: the data directory's
// key).
type Static map[string]crypto.PublicKey

// Key implements KeySource. With no kid it returns the only key, if there
// is exactly one.
func (s Static) Key(_ context.Context, kid string) (crypto.PublicKey, error) {
	if kid == "" && len(s) == 1 {
		for _, k := range s {
			return k, nil
		}
	}
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
}
