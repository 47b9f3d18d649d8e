// Package session keeps the dashboard's sign-ins on the server: the
// browser holds an opaque random ID in a cookie, the [Store] the record
// (the principal, how they signed in, an OIDC refresh token, when the
// session began and when it was last used), under the SHA-256 of the ID,
// so that a copy of the store opens no session. A session ends after an
// idle timeout and after an absolute one, and at sign-out, which deletes
// the record; it is separate from any API token.
//
// The cookie is HttpOnly and SameSite=Strict, named "__Host-kinerja_session"
// (Secure, Path=/, no Domain: the browser refuses it from anywhere but this
// host over https) when the dashboard is served over https, and
// "kinerja_session" otherwise (plain-http development on a loopback
// address).
//
// Stores: [Bolt], a bbolt file in the data directory (embedded mode), and
// [Postgres], a table shared by every kinerjad of a deployment. One-time
// sign-in codes for embedded mode (kinerjactl login-link) are [LoginCodes],
// files in the data directory that the CLI writes while the service runs.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
)

// Store keeps records by key until they expire. Implementations are safe
// for concurrent use and durable when a call returns.
type Store interface {
	// Get returns the record under key, or ok=false when there is none or
	// it expired at or before now.
	Get(ctx context.Context, key string, now time.Time) (record []byte, ok bool, err error)
	// Set stores record under key until expires, replacing any.
	Set(ctx context.Context, key string, record []byte, expires time.Time) error
	// Take returns the record under key and deletes it, atomically: of two
	// concurrent Takes one gets it (single-use records).
	Take(ctx context.Context, key string, now time.Time) (record []byte, ok bool, err error)
	// Delete removes key (no error when it is absent).
	Delete(ctx context.Context, key string) error
	// DeleteExpired removes the records that expired at or before now and
	// returns how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// Session is one signed-in browser.
type Session struct {
	// User is who signed in.
	User domain.Principal `json:"user"`
	// Method is how: "link" (a one-time sign-in link) or "oidc".
	Method string `json:"method"`
	// Created is when the session began; LastSeen when it was last used
	// (updated at most once a minute).
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	// Expiry is when the identity must be checked again (an OIDC ID
	// token's expiry): the session is renewed then with RefreshToken, or
	// ends. Zero: only the timeouts bound it.
	Expiry time.Time `json:"expiry,omitzero"`
	// RefreshToken is the identity provider's refresh token (OIDC).
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Defaults of Config.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// Cookie names: the __Host- prefix over https.
const (
	CookieName       = "kinerja_session"
	SecureCookieName = "__Host-kinerja_session"
)

// touchEvery is how often LastSeen is written back.
const touchEvery = time.Minute

// Config configures a Manager.
type Config struct {
	// Store keeps the records. Required.
	Store Store
	// IdleTimeout ends a session unused that long (DefaultIdleTimeout);
	// AbsoluteTimeout ends any session that old (DefaultAbsoluteTimeout).
	IdleTimeout, AbsoluteTimeout time.Duration
	// Secure: the dashboard is served over https; the cookie is
	// __Host-kinerja_session and Secure.
	Secure bool
	// Refresh renews a session whose Expiry has passed (OIDC: with the
	// refresh token; it updates User, Expiry and RefreshToken). Nil, or an
	// error, ends the session.
	Refresh func(ctx context.Context, s *Session) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the sessions that end (never an ID or a token).
	Logger *slog.Logger
}

// Manager starts, loads and ends sessions. It is safe for concurrent use.
type Manager struct{ cfg Config }

// NewManager returns a manager for cfg.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("session: Store is required")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if cfg.IdleTimeout > cfg.AbsoluteTimeout {
		return nil, fmt.Errorf("session: idle timeout %v is longer than the absolute timeout %v", cfg.IdleTimeout, cfg.AbsoluteTimeout)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{cfg: cfg}, nil
}

// CookieName is the session cookie's name.
func (m *Manager) CookieName() string {
	if m.cfg.Secure {
		return SecureCookieName
	}
	return CookieName
}

// recordKey is the store key of a session ID: its SHA-256, so that the
// store's contents open no session.
func recordKey(id string) string {
	s := sha256.Sum256([]byte("kinerja/session/v1\x00" + id))
	return "s:" + hex.EncodeToString(s[:])
}

// NewID returns a random ID of 256 bits, URL-safe.
func NewID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// expires is when s ends if unused.
func (m *Manager) expires(s *Session) time.Time {
	idle, abs := s.LastSeen.Add(m.cfg.IdleTimeout), s.Created.Add(m.cfg.AbsoluteTimeout)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// Start begins a session for s.User in the browser of r: a new ID (any
// session the browser had ends, so that an ID planted before sign-in is
// worth nothing), the record stored, the cookie set.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, s Session) error {
	if c, err := r.Cookie(m.CookieName()); err == nil && c.Value != "" {
		if err := m.cfg.Store.Delete(ctx, recordKey(c.Value)); err != nil {
			return fmt.Errorf("session: start: %w", err)
		}
	}
	now := m.cfg.Now()
	s.Created, s.LastSeen = now, now
	id := NewID()
	if err := m.save(ctx, id, &s); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: m.CookieName(), Value: id, Path: "/", HttpOnly: true, Secure: m.cfg.Secure, SameSite: http.SameSiteStrictMode})
	return nil
}

func (m *Manager) save(ctx context.Context, id string, s *Session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session: encode: %w", err)
	}
	if err := m.cfg.Store.Set(ctx, recordKey(id), b, m.expires(s)); err != nil {
		return fmt.Errorf("session: store: %w", err)
	}
	return nil
}

// Load returns the session of r, or nil; ended is true when r carried a
// session cookie that opens no session (expired, signed out, refused at
// renewal). It clears such a cookie, renews an identity past its Expiry
// (Config.Refresh) and records the use. An error of the store is returned
// (the session is then not known either way).
func (m *Manager) Load(ctx context.Context, w http.ResponseWriter, r *http.Request) (s *Session, ended bool, err error) {
	c, cerr := r.Cookie(m.CookieName())
	if cerr != nil || c.Value == "" {
		return nil, false, nil
	}
	key := recordKey(c.Value)
	now := m.cfg.Now()
	b, ok, err := m.cfg.Store.Get(ctx, key, now)
	if err != nil {
		return nil, false, fmt.Errorf("session: load: %w", err)
	}
	end := func(why string) (*Session, bool, error) {
		m.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "web_session_ended", slog.String("why", why))
		m.clear(w)
		if ok {
			if err := m.cfg.Store.Delete(ctx, key); err != nil {
				return nil, true, fmt.Errorf("session: end: %w", err)
			}
		}
		return nil, true, nil
	}
	if !ok {
		return end("unknown or expired")
	}
	s = &Session{}
	if err := json.Unmarshal(b, s); err != nil {
		return end("unreadable")
	}
	switch {
	case !now.Before(s.LastSeen.Add(m.cfg.IdleTimeout)):
		return end("idle")
	case !now.Before(s.Created.Add(m.cfg.AbsoluteTimeout)):
		return end("absolute")
	}
	dirty := now.Sub(s.LastSeen) >= touchEvery
	if !s.Expiry.IsZero() && !now.Before(s.Expiry) {
		if m.cfg.Refresh == nil {
			return end("identity expired")
		}
		if err := m.cfg.Refresh(ctx, s); err != nil {
			m.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "web_session_refresh_refused", slog.String("error", err.Error()))
			return end("refresh refused")
		}
		dirty = true
	}
	if dirty {
		s.LastSeen = now
		if err := m.save(ctx, c.Value, s); err != nil {
			return nil, false, err
		}
	}
	return s, false, nil
}

// End ends the session of r, if any: the record is deleted and the cookie
// cleared.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	m.clear(w)
	if c, err := r.Cookie(m.CookieName()); err == nil && c.Value != "" {
		if err := m.cfg.Store.Delete(ctx, recordKey(c.Value)); err != nil {
			return fmt.Errorf("session: end: %w", err)
		}
	}
	return nil
}

func (m *Manager) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.CookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

// Put stores a short-lived record that is not a session (a sign-in attempt
// in progress) under a key of its own kind, until expires.
func (m *Manager) Put(ctx context.Context, kind, id string, v any, expires time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("session: encode: %w", err)
	}
	return m.cfg.Store.Set(ctx, kind+":"+hashHex(id), b, expires)
}

// TakeRecord returns and deletes the record Put under (kind, id), into v;
// ok=false when there is none (used, expired, or never stored).
func (m *Manager) TakeRecord(ctx context.Context, kind, id string, v any) (bool, error) {
	b, ok, err := m.cfg.Store.Take(ctx, kind+":"+hashHex(id), m.cfg.Now())
	if err != nil || !ok {
		return false, err
	}
	return true, json.Unmarshal(b, v)
}

// GetRecord reads the record Put under (kind, id) into v, leaving it in
// place; ok=false when there is none (expired, or never stored).
func (m *Manager) GetRecord(ctx context.Context, kind, id string, v any) (bool, error) {
	b, ok, err := m.cfg.Store.Get(ctx, kind+":"+hashHex(id), m.cfg.Now())
	if err != nil || !ok {
		return false, err
	}
	return true, json.Unmarshal(b, v)
}

// Sweep removes the expired records.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	return m.cfg.Store.DeleteExpired(ctx, m.cfg.Now())
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
