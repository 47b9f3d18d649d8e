// Package authkey is the signing key of kinerjad's embedded mode: an
// Ed25519 key that kinerjad creates in its data directory on first start,
// with which `kinerjactl token` signs the bearer tokens that kinerjad
// accepts (see api.md, "Authentication and authorisation").
//
// The key file holds the PKCS #8 private key in PEM, mode 0600; a file that
// other users may read is refused, as ssh refuses such a key. It is created
// atomically (written to a temporary file, then linked into place), so two
// processes starting together agree on one key and a crash never leaves a
// half-written key behind.
//
// Tokens are JWTs signed with EdDSA, with the key's RFC 7638 thumbprint as
// "kid", issuer [Issuer] and audience [Audience], and the claims the API
// reads: "sub" (an NIP or a service account name), "roles" and "agency".
package authkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// FileName is the key file's name in the data directory.
const FileName = "auth-ed25519.pem"

// Issuer is the "iss" of embedded-mode tokens; kinerjad accepts only it.
const Issuer = "kinerjad"

// Audience is the "aud" of embedded-mode tokens; kinerjad accepts only it.
const Audience = "kinerja-api"

// DefaultTTL is the lifetime of a token when Claims.TTL is zero.
const DefaultTTL = time.Hour

// Key is the embedded signing key.
type Key struct {
	priv ed25519.PrivateKey
	id   string
}

// LoadOrCreate returns the key in dir, creating dir (mode 0700) and the key
// (mode 0600) when there is none.
func LoadOrCreate(dir string) (*Key, error) {
	k, err := Load(dir)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("authkey: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("authkey: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("authkey: encode: %w", err)
	}
	tmp, err := os.CreateTemp(dir, FileName+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("authkey: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("authkey: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("authkey: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("authkey: write: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("authkey: write: %w", err)
	}
	// Link fails if another process created the key meanwhile; then its key
	// is the one.
	if err := os.Link(tmp.Name(), filepath.Join(dir, FileName)); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("authkey: install key: %w", err)
	}
	return Load(dir)
}

// Load returns the key in dir. The error wraps os.ErrNotExist when there is
// no key file.
func Load(dir string) (*Key, error) {
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("authkey: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("authkey: %s has mode %v: other users may read the signing key; chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authkey: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("authkey: %s holds no PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("authkey: %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("authkey: %s holds a %T, not an Ed25519 key", path, k)
	}
	return New(priv), nil
}

// New returns a Key for priv (tests, or a key kept elsewhere).
func New(priv ed25519.PrivateKey) *Key {
	return &Key{priv: priv, id: Thumbprint(priv.Public().(ed25519.PublicKey))}
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an Ed25519 public key
// (base64url, no padding), used as the key's "kid".
func Thumbprint(pub ed25519.PublicKey) string {
	// Members in lexicographic order, no whitespace (RFC 7638 §3.2).
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ID returns the key's "kid".
func (k *Key) ID() string { return k.id }

// Public returns the public key, with which kinerjad verifies tokens.
func (k *Key) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// Claims are what a token says.
type Claims struct {
	// Subject is the caller: an NIP (18 digits) or a service account name.
	// Required.
	Subject string
	// Roles are token roles: HR_ADMIN, AUDITOR, HR_ANALYST,
	// GRIEVANCE_CLERK. Optional.
	Roles []string
	// Agency is the instansi (the ID of the agency's root unit) the
	// token's agency roles act in. Optional: without it the agency roles
	// act only while the deployment holds one agency (docs/security.md).
	Agency string
	// TTL is the token's lifetime (default DefaultTTL).
	TTL time.Duration
	// IssuedAt is the issue time (default time.Now()).
	IssuedAt time.Time
	// Issuer and Audience default to [Issuer] and [Audience].
	Issuer, Audience string
}

// KnownRoles are the roles a token may carry.
var KnownRoles = []string{"HR_ADMIN", "AUDITOR", "HR_ANALYST", "GRIEVANCE_CLERK", "NATIONAL_ANALYST", "NATIONAL_AUDITOR"}

// MaxAgencyLen bounds the agency claim (a unit ID is at most 64
// characters; the bound leaves room and refuses a flood).
const MaxAgencyLen = 128

// tokenClaims is the JWT payload.
type tokenClaims struct {
	jwt.RegisteredClaims
	Roles  []string `json:"roles,omitempty"`
	Agency string   `json:"agency,omitempty"`
}

// Sign returns a signed token (a compact JWS) with c's claims.
func (k *Key) Sign(c Claims) (string, error) {
	if c.Subject == "" {
		return "", errors.New("authkey: sign: subject required")
	}
	for _, r := range c.Roles {
		if !slices.Contains(KnownRoles, r) {
			return "", fmt.Errorf("authkey: sign: unknown role %q (known: %v)", r, KnownRoles)
		}
	}
	if len(c.Agency) > MaxAgencyLen || strings.IndexFunc(c.Agency, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("authkey: sign: the agency must be at most %d characters, without control characters", MaxAgencyLen)
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.Issuer == "" {
		c.Issuer = Issuer
	}
	if c.Audience == "" {
		c.Audience = Audience
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: c.Issuer, Subject: c.Subject, Audience: jwt.ClaimStrings{c.Audience},
			IssuedAt: jwt.NewNumericDate(c.IssuedAt), NotBefore: jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.IssuedAt.Add(c.TTL)), ID: uuid.NewString(),
		},
		Roles:  c.Roles,
		Agency: c.Agency,
	})
	t.Header["kid"] = k.id
	s, err := t.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("authkey: sign: %w", err)
	}
	return s, nil
}
