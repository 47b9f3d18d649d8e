package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/domain"
)

// storeSuite is what every Store must do.
func storeSuite(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, ok, err := s.Get(ctx, "k", now); ok || err != nil {
		t.Fatalf("Get of nothing = %v, %v", ok, err)
	}
	if err := s.Set(ctx, "k", []byte("one"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, ok, err := s.Get(ctx, "k", now); !ok || err != nil || string(b) != "one" {
		t.Fatalf("Get = %q, %v, %v", b, ok, err)
	}
	// Set replaces, expiry and all.
	if err := s.Set(ctx, "k", []byte("two"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if b, ok, _ := s.Get(ctx, "k", now); !ok || string(b) != "two" {
		t.Fatalf("after a second Set, Get = %q, %v", b, ok)
	}
	if _, ok, _ := s.Get(ctx, "k", now.Add(time.Minute)); ok {
		t.Error("a record is served at its expiry")
	}
	// Take: once, and never an expired record.
	s.Set(ctx, "t", []byte("x"), now.Add(time.Hour))
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok, err := s.Take(ctx, "t", now); ok && err == nil {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 1 {
		t.Errorf("8 concurrent Takes got the record %d times, want 1", got)
	}
	s.Set(ctx, "old", []byte("x"), now)
	if _, ok, _ := s.Take(ctx, "old", now); ok {
		t.Error("Take returned an expired record")
	}
	// Delete; DeleteExpired counts and keeps the live ones.
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "never"); err != nil {
		t.Errorf("Delete of nothing = %v", err)
	}
	s.Set(ctx, "a", []byte("1"), now.Add(-time.Second))
	s.Set(ctx, "b", []byte("2"), now.Add(time.Second))
	n, err := s.DeleteExpired(ctx, now)
	if err != nil || n < 1 {
		t.Errorf("DeleteExpired = %d, %v", n, err)
	}
	if _, ok, _ := s.Get(ctx, "b", now); !ok {
		t.Error("DeleteExpired removed a live record")
	}
	// A key of any bytes (the store hashes nothing itself).
	key := "s:" + strings.Repeat("é", 40)
	if err := s.Set(ctx, key, []byte{0, 1, 2}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, ok, _ := s.Get(ctx, key, now); !ok || len(b) != 3 {
		t.Errorf("binary record = %v, %v", b, ok)
	}
}

func TestBolt(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storeSuite(t, s)
}

func TestPostgres(t *testing.T) {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_REQUIRE_INTEGRATION=1 but KINERJA_TEST_POSTGRES_URL is not set")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	schema := "websession_test_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_")) + "_" + NewID()[:8]
	schema = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToLower(schema))
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	if _, err := OpenPostgres(ctx, pool, schema); err == nil {
		t.Fatal("OpenPostgres of an unmigrated schema succeeded")
	}
	if _, err := Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	if applied, err := Migrate(ctx, pool, schema); err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate = %v, %v", applied, err)
	}
	s, err := OpenPostgres(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	storeSuite(t, s)
	if _, err := Migrate(ctx, pool, "Bad-Name"); !errors.Is(err, ErrBadSchemaName) {
		t.Errorf("Migrate(Bad-Name) = %v", err)
	}
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newManager(t *testing.T, cfg Config) (*Manager, *clock) {
	t.Helper()
	s, err := OpenBolt(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	cfg.Store, cfg.Now = s, c.now
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// start signs someone in and returns the cookie.
func start(t *testing.T, m *Manager, s Session, old ...*http.Cookie) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	for _, c := range old {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	if err := m.Start(context.Background(), w, r, s); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == m.CookieName() {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func load(m *Manager, c *http.Cookie) (*Session, bool, error) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return m.Load(context.Background(), httptest.NewRecorder(), r)
}

func TestManager(t *testing.T) {
	alice := domain.Principal{ID: "199001012015031001"}
	m, clk := newManager(t, Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour})
	ck := start(t, m, Session{User: alice, Method: "link"})
	if ck.Name != CookieName || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" || len(ck.Value) != 43 {
		t.Errorf("cookie = %+v", ck)
	}
	if s, ended, err := load(m, ck); err != nil || ended || s == nil || s.User.ID != alice.ID {
		t.Fatalf("Load = %+v, %v, %v", s, ended, err)
	}
	for _, bad := range []*http.Cookie{nil, {Name: CookieName, Value: ""}} {
		if s, ended, err := load(m, bad); s != nil || ended || err != nil {
			t.Errorf("Load(%v) = %v, %v, %v", bad, s, ended, err)
		}
	}
	if s, ended, _ := load(m, &http.Cookie{Name: CookieName, Value: "forged"}); s != nil || !ended {
		t.Errorf("a forged ID = %v, ended %v", s, ended)
	}
	// Idle: used every 29 minutes it lives; past the absolute timeout it
	// ends however busy.
	for range 4 {
		clk.t = clk.t.Add(29 * time.Minute)
		if s, _, _ := load(m, ck); s == nil {
			t.Fatal("a session used every 29 minutes ended")
		}
	}
	clk.t = clk.t.Add(5 * time.Minute) // 2h01m old
	if s, ended, _ := load(m, ck); s != nil || !ended {
		t.Error("a session past its absolute timeout lives")
	}
	ck = start(t, m, Session{User: alice})
	clk.t = clk.t.Add(30 * time.Minute)
	if s, ended, _ := load(m, ck); s != nil || !ended {
		t.Error("a session idle for its timeout lives")
	}
	// A new sign-in in the same browser ends the session it had (an ID
	// planted before sign-in is worth nothing).
	first := start(t, m, Session{User: alice})
	second := start(t, m, Session{User: alice}, first)
	if s, _, _ := load(m, first); s != nil {
		t.Error("the browser's earlier session survived a new sign-in")
	}
	// End deletes it on the server.
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.AddCookie(second)
	w := httptest.NewRecorder()
	if err := m.End(context.Background(), w, r); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := load(m, second); s != nil {
		t.Error("a session lives after End")
	}
	if _, err := NewManager(Config{Store: m.cfg.Store, IdleTimeout: time.Hour, AbsoluteTimeout: time.Minute}); err == nil {
		t.Error("an idle timeout longer than the absolute one was accepted")
	}
}

// An identity that expires is renewed by Refresh (OIDC refresh tokens), or
// the session ends.
func TestManagerRefresh(t *testing.T) {
	var refreshed int
	var refuse bool
	m, clk := newManager(t, Config{Secure: true, Refresh: func(_ context.Context, s *Session) error {
		refreshed++
		if refuse {
			return errors.New("refresh token revoked")
		}
		s.Expiry = s.Expiry.Add(time.Hour)
		s.User.Roles = []domain.Role{domain.RoleAuditor}
		return nil
	}})
	ck := start(t, m, Session{User: domain.Principal{ID: "x"}, Method: "oidc", Expiry: clk.t.Add(10 * time.Minute), RefreshToken: "r1"})
	if ck.Name != SecureCookieName || !ck.Secure || ck.Domain != "" || ck.Path != "/" {
		t.Errorf("cookie over https = %+v, want __Host-kinerja_session, Secure, Path=/", ck)
	}
	clk.t = clk.t.Add(11 * time.Minute)
	s, _, _ := load(m, ck)
	if s == nil || refreshed != 1 || !s.User.Has(domain.RoleAuditor) {
		t.Fatalf("after the ID token expired: %+v, %d refreshes", s, refreshed)
	}
	if s, _, _ := load(m, ck); s == nil || refreshed != 1 {
		t.Errorf("a renewed session was refreshed again (%d)", refreshed)
	}
	clk.t = clk.t.Add(time.Hour)
	refuse = true
	if s, ended, _ := load(m, ck); s != nil || !ended {
		t.Error("a session lives after its refresh was refused")
	}
	// Without Refresh, an expired identity ends the session.
	m2, clk2 := newManager(t, Config{})
	ck = start(t, m2, Session{User: domain.Principal{ID: "x"}, Expiry: clk2.t.Add(time.Minute)})
	clk2.t = clk2.t.Add(2 * time.Minute)
	if s, ended, _ := load(m2, ck); s != nil || !ended {
		t.Error("an expired identity lives without Refresh")
	}
}

func TestLoginCodes(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	codes, err := OpenLoginCodes(dir, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	p := domain.Principal{ID: "auditor-1", Roles: []domain.Role{domain.RoleAuditor}}
	code, exp, err := codes.Issue(p, 5*time.Minute)
	if err != nil || !exp.Equal(clk.t.Add(5*time.Minute)) {
		t.Fatalf("Issue = %v, %v", exp, err)
	}
	// Nothing in the directory gives the code away.
	entries, _ := os.ReadDir(filepath.Join(dir, LoginCodeDir))
	for _, e := range entries {
		if strings.Contains(e.Name(), code) {
			t.Errorf("the file %s names the code", e.Name())
		}
		b, _ := os.ReadFile(filepath.Join(dir, LoginCodeDir, e.Name()))
		if strings.Contains(string(b), code) {
			t.Errorf("the file %s holds the code", e.Name())
		}
	}
	// Of eight concurrent redemptions, one gets in.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := codes.Redeem(code); err == nil && got.ID == p.ID && got.Has(domain.RoleAuditor) {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("8 concurrent redemptions succeeded %d times, want 1", ok)
	}
	// Expiry, bad codes, bad lives, bad subjects.
	late, _, _ := codes.Issue(p, time.Minute)
	clk.t = clk.t.Add(time.Minute)
	for _, c := range []string{late, "", "nope", "../x", strings.Repeat("a", 200)} {
		if _, err := codes.Redeem(c); !errors.Is(err, ErrBadCode) {
			t.Errorf("Redeem(%.12q) = %v, want ErrBadCode", c, err)
		}
	}
	for _, ttl := range []time.Duration{-time.Second, MaxLoginTTL + time.Second} {
		if _, _, err := codes.Issue(p, ttl); err == nil {
			t.Errorf("Issue with a life of %v succeeded", ttl)
		}
	}
	for _, sub := range []string{"", "a\x00b", "bad\xff"} {
		if _, _, err := codes.Issue(domain.Principal{ID: sub}, 0); err == nil {
			t.Errorf("Issue for %q succeeded", sub)
		}
	}
	// Issuing sweeps the expired codes.
	codes.Issue(p, time.Minute)
	before, _ := os.ReadDir(filepath.Join(dir, LoginCodeDir))
	clk.t = clk.t.Add(MaxLoginTTL)
	codes.Issue(p, 0)
	after, _ := os.ReadDir(filepath.Join(dir, LoginCodeDir))
	if len(before) != 1 || len(after) != 1 {
		t.Errorf("%d codes before the sweep, %d after, want 1 and the one new", len(before), len(after))
	}
}
