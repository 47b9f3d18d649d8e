package session

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// One-time sign-in codes for embedded mode (`kinerjactl login-link`),
// replacing the pasted raw token: whoever may read the data directory (and
// so its signing key) may let a person in, once, for a short while.
//
// The CLI writes them while kinerjad runs, and bbolt's file lock keeps a
// second process out of the session file; so each code is a file of its
// own in DIR/login-codes, named by the SHA-256 of the code (a listing of
// the directory opens nothing), holding the principal and the expiry.
// Redeeming renames the file to a name of the redeemer's before reading
// it: rename is atomic, so of two redemptions (two tabs, a link prefetcher
// and a person) exactly one succeeds.

// LoginCodeDir is the directory of the codes in the data directory.
const LoginCodeDir = "login-codes"

// Bounds of a code's life.
const (
	DefaultLoginTTL = 10 * time.Minute
	MaxLoginTTL     = time.Hour
)

// ErrBadCode refuses a code that is unknown, used or expired.
var ErrBadCode = errors.New("session: sign-in code unknown, used or expired")

// LoginCodes issues and redeems one-time sign-in codes in a directory.
type LoginCodes struct {
	dir string
	now func() time.Time
}

// OpenLoginCodes returns the codes of the data directory dataDir (the
// directory is created, mode 0700). now is the clock (nil: time.Now).
func OpenLoginCodes(dataDir string, now func() time.Time) (*LoginCodes, error) {
	dir := filepath.Join(dataDir, LoginCodeDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session: login codes: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &LoginCodes{dir: dir, now: now}, nil
}

// loginCode is a code's file.
type loginCode struct {
	User    domain.Principal `json:"user"`
	Expires time.Time        `json:"expires"`
}

func codeName(code string) string {
	h := sha256.Sum256([]byte("kinerja/login-code/v1\x00" + code))
	return hex.EncodeToString(h[:])
}

// Issue records a code that signs p in once within ttl (DefaultLoginTTL
// when 0, at most MaxLoginTTL) and returns it with its expiry. It also
// removes the expired codes.
func (c *LoginCodes) Issue(p domain.Principal, ttl time.Duration) (code string, expires time.Time, err error) {
	switch {
	case ttl == 0:
		ttl = DefaultLoginTTL
	case ttl < 0 || ttl > MaxLoginTTL:
		return "", time.Time{}, fmt.Errorf("session: a sign-in code lives at most %v", MaxLoginTTL)
	}
	if p.ID == "" || domain.TextProblem(p.ID) != "" || len(p.ID) > eventstore.MaxActorFieldLen {
		return "", time.Time{}, errors.New("session: the subject is not a name the ledger can record")
	}
	c.sweep()
	code = NewID()
	expires = c.now().Add(ttl)
	b, err := json.Marshal(loginCode{User: p, Expires: expires})
	if err != nil {
		return "", time.Time{}, err
	}
	// Written whole under a temporary name, then renamed: a redeemer never
	// reads half a file.
	tmp, err := os.CreateTemp(c.dir, ".new-*")
	if err != nil {
		return "", time.Time{}, fmt.Errorf("session: login code: %w", err)
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return "", time.Time{}, fmt.Errorf("session: login code: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(c.dir, codeName(code))); err != nil {
		os.Remove(tmp.Name())
		return "", time.Time{}, fmt.Errorf("session: login code: %w", err)
	}
	return code, expires, nil
}

// Redeem returns the principal code signs in and makes the code unusable.
// Errors: ErrBadCode for an unknown, used or expired code; the file
// system's.
func (c *LoginCodes) Redeem(code string) (domain.Principal, error) {
	if code == "" || len(code) > 100 || strings.ContainsAny(code, "/\\.") {
		return domain.Principal{}, ErrBadCode
	}
	name := filepath.Join(c.dir, codeName(code))
	claimed := filepath.Join(c.dir, ".claimed-"+NewID())
	if err := os.Rename(name, claimed); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return domain.Principal{}, ErrBadCode
		}
		return domain.Principal{}, fmt.Errorf("session: redeem: %w", err)
	}
	defer os.Remove(claimed)
	b, err := os.ReadFile(claimed)
	if err != nil {
		return domain.Principal{}, fmt.Errorf("session: redeem: %w", err)
	}
	var lc loginCode
	if err := json.Unmarshal(b, &lc); err != nil || lc.User.ID == "" {
		return domain.Principal{}, ErrBadCode
	}
	if !c.now().Before(lc.Expires) {
		return domain.Principal{}, ErrBadCode
	}
	return lc.User, nil
}

// sweep removes expired codes and files left by an interrupted issue or
// redemption (older than MaxLoginTTL).
func (c *LoginCodes) sweep() {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	now := c.now()
	for _, e := range entries {
		p := filepath.Join(c.dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > MaxLoginTTL {
				os.Remove(p)
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var lc loginCode
		if json.Unmarshal(b, &lc) != nil || !now.Before(lc.Expires) {
			os.Remove(p)
		}
	}
}
