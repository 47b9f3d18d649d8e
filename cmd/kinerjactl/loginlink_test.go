package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
)

// login-link prints a URL whose code the dashboard of the same data
// directory redeems once, for the principal named.
func TestLoginLink(t *testing.T) {
	data := t.TempDir()
	out := mustCtl(t, "login-link", "--data", data, "--sub", "19900101 201503 1 001", "--roles", "auditor, HR_ANALYST,auditor",
		"--url", "https://kinerja.example/", "--next", "/audit")
	u, err := url.Parse(strings.TrimSpace(out))
	if err != nil || u.Scheme != "https" || u.Host != "kinerja.example" || u.Path != "/masuk/tautan" || u.Query().Get("next") != "/audit" {
		t.Fatalf("login-link printed %q", out)
	}
	codes, err := session.OpenLoginCodes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := codes.Redeem(u.Query().Get("kode"))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Principal{ID: "199001012015031001", Roles: []domain.Role{domain.RoleAuditor, domain.RoleHRAnalyst}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("the link signs in (-want +got):\n%s", diff)
	}
	if _, err := codes.Redeem(u.Query().Get("kode")); err == nil {
		t.Error("the link's code was redeemed twice")
	}

	for name, args := range map[string][]string{
		"no subject":       {"--data", data},
		"unknown role":     {"--data", data, "--sub", "x", "--roles", "SUPERUSER"},
		"too long a life":  {"--data", data, "--sub", "x", "--ttl", "2h"},
		"no life":          {"--data", data, "--sub", "x", "--ttl", "0s"},
		"control char":     {"--data", data, "--sub", "a\x01b"},
		"not a URL":        {"--data", data, "--sub", "x", "--url", "kinerja.example"},
		"stray arguments":  {"--data", data, "--sub", "x", "extra"},
		"a file, not data": {"--data", "/dev/null", "--sub", "x"},
	} {
		if out, err := ctl(t, append([]string{"login-link"}, args...)...); err == nil {
			t.Errorf("%s: login-link succeeded: %q", name, out)
		}
	}
}

// Every command reads its flags' variables through cmd/internal/config: a
// variable that does not parse is an error naming it, not a silent
// default.
func TestEnvironmentErrorsAreReported(t *testing.T) {
	data := t.TempDir()
	var out, errb strings.Builder
	env := map[string]string{"KINERJA_DATA": data, "KINERJA_TTL": "soon"}
	err := run(context.Background(), []string{"login-link", "--sub", "x"}, func(k string) string { return env[k] }, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "KINERJA_TTL") {
		t.Fatalf("login-link with KINERJA_TTL=soon = %v, want an error naming the variable", err)
	}
	env["KINERJA_TTL"] = "5m"
	if err := run(context.Background(), []string{"login-link", "--sub", "x"}, func(k string) string { return env[k] }, &out, &errb); err != nil {
		t.Fatalf("login-link from the environment: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, session.LoginCodeDir)); err != nil {
		t.Errorf("KINERJA_DATA was not used: %v", err)
	}
}
