package authkey_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
)

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := authkey.Load(dir); !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("Load(empty dir) = %v, want a not-exist error", err)
	}
	// Concurrent first starts agree on one key.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := authkey.LoadOrCreate(dir)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ID()
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent LoadOrCreate made different keys: %v", ids)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, authkey.FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d files, want only the key (temporary files removed)", len(entries))
	}
	k, err := authkey.Load(dir)
	if err != nil || k.ID() != ids[0] {
		t.Fatalf("Load = %v, %v; want the created key", k, err)
	}
	if err := os.Chmod(filepath.Join(dir, authkey.FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := authkey.Load(dir); err == nil {
		t.Error("Load accepted a key file other users may read")
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestSign(t *testing.T) {
	k, err := authkey.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Second)
	s, err := k.Sign(authkey.Claims{Subject: "198001012005011001", Roles: []string{"AUDITOR"}, TTL: 2 * time.Hour, IssuedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		jwt.RegisteredClaims
		Roles []string `json:"roles"`
	}
	tok, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return k.Public(), nil }, jwt.WithValidMethods([]string{"EdDSA"}))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Header["kid"] != k.ID() || c.Issuer != authkey.Issuer || c.Audience[0] != authkey.Audience ||
		!c.ExpiresAt.Equal(at.Add(2*time.Hour)) || len(c.Roles) != 1 || c.Roles[0] != "AUDITOR" {
		t.Errorf("token = %v %+v", tok.Header, c)
	}
	if _, err := k.Sign(authkey.Claims{Subject: "x", Roles: []string{"ROOT"}}); err == nil {
		t.Error("Sign accepted an unknown role")
	}
	if _, err := k.Sign(authkey.Claims{}); err == nil {
		t.Error("Sign accepted a token without subject")
	}
}
