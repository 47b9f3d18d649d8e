package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
)

// ctlExit runs kinerjactl with args and env (nil: empty) and returns its
// exit status, stdout and stderr (with the error main would print).
func ctlExit(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(&errb, "kinerjactl:", err)
	}
	return exitcode.Code(err), out.String(), errb.String()
}

// subcommandsOf lists the subcommands of the commands that have them; the
// test below fails when a command is added without its row here.
var subcommandsOf = map[string][]string{
	"bench":       {"store", "lag", "api"},
	"projections": {"status", "check", "rebuild", "replay"},
	"keys":        {"init", "rotate", "list", "export", "trust"},
}

// Every command and subcommand answers -h and --help with its usage on
// stderr, changes nothing and exits 0.
func TestHelpOnEveryCommandExitsZero(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var names []string
	for n := range commands() {
		names = append(names, n)
	}
	sort.Strings(names)
	var invocations [][]string
	for _, n := range names {
		invocations = append(invocations, []string{n})
		for _, sub := range subcommandsOf[n] {
			invocations = append(invocations, []string{n, sub})
		}
	}
	invocations = append(invocations, []string{"projections", "rebuild", "audit"}, []string{})
	for _, inv := range invocations {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, inv...), h, "--data", data)
			if len(inv) == 0 {
				args = []string{h}
			}
			code, out, errOut := ctlExit(t, nil, args...)
			if code != exitcode.OK {
				t.Errorf("kinerjactl %s: exit %d, want 0\n%s", strings.Join(args, " "), code, errOut)
			}
			if !strings.Contains(errOut, "usage") && !strings.Contains(errOut, "Usage") {
				t.Errorf("kinerjactl %s printed no usage: %q", strings.Join(args, " "), errOut)
			}
			if out != "" {
				t.Errorf("kinerjactl %s printed on stdout: %q", strings.Join(args, " "), out)
			}
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("help made the data directory (%v)", err)
	}
}

// Exit codes: 2 for usage (flags, arguments, variables), 1 for errors, 3
// for a failed verification (TestSeedExportVerifyEmbedded and
// TestBackupRestore check 3 on real ledgers).
func TestExitCodes(t *testing.T) {
	data := t.TempDir()
	empty := t.TempDir()
	cases := []struct {
		args []string
		env  map[string]string
		want int
	}{
		{[]string{}, nil, exitcode.UsageErr},
		{[]string{"nope"}, nil, exitcode.UsageErr},
		{[]string{"migrate", "--no-such-flag"}, nil, exitcode.UsageErr},
		{[]string{"migrate"}, nil, exitcode.UsageErr},
		{[]string{"migrate", "extra"}, map[string]string{"KINERJA_POSTGRES_URL": ""}, exitcode.UsageErr},
		{[]string{"bench"}, nil, exitcode.UsageErr},
		{[]string{"bench", "nope"}, nil, exitcode.UsageErr},
		{[]string{"bench", "store", "--writers", "x"}, nil, exitcode.UsageErr},
		{[]string{"bench", "api", "--concurrency", "0"}, nil, exitcode.UsageErr},
		{[]string{"bench", "lag", "--rate", "0"}, nil, exitcode.UsageErr},
		{[]string{"projections"}, nil, exitcode.UsageErr},
		{[]string{"projections", "nope"}, nil, exitcode.UsageErr},
		{[]string{"projections", "rebuild"}, nil, exitcode.UsageErr},
		{[]string{"projections", "replay", "timeline", "--data", data}, nil, exitcode.UsageErr},
		{[]string{"projections", "status", "--data", data}, nil, exitcode.UsageErr},
		{[]string{"keys"}, nil, exitcode.UsageErr},
		{[]string{"keys", "nope"}, nil, exitcode.UsageErr},
		{[]string{"keys", "trust", "--data", data}, nil, exitcode.UsageErr},
		{[]string{"keys", "list", "extra", "--data", data}, nil, exitcode.UsageErr},
		{[]string{"token", "--data", data}, nil, exitcode.UsageErr},
		{[]string{"token", "--data", data, "--sub", "x", "--ttl", "-1s"}, nil, exitcode.UsageErr},
		{[]string{"token", "--data", data, "--sub", "x", "extra"}, nil, exitcode.UsageErr},
		{[]string{"token", "--sub", "x"}, map[string]string{"KINERJA_TTL": "soon"}, exitcode.UsageErr},
		{[]string{"export", "--nip", "12", "--year", "2025"}, nil, exitcode.UsageErr},
		{[]string{"export", "--nip", "198211102004061444"}, nil, exitcode.UsageErr},
		{[]string{"login-link", "--data", data}, nil, exitcode.UsageErr},
		{[]string{"login-link", "--data", data, "--sub", "x", "--roles", "KING"}, nil, exitcode.UsageErr},
		{[]string{"health", "extra"}, nil, exitcode.UsageErr},
		{[]string{"verify", "extra"}, nil, exitcode.UsageErr},
		{[]string{"verify", "--bundle", filepath.Join(empty, "b.json"), "--data", empty}, nil, exitcode.UsageErr},
		{[]string{"seed", "--employees", "many"}, nil, exitcode.UsageErr},
		{[]string{"seed", "--data", empty, "--agencies", "0"}, nil, exitcode.UsageErr},
		{[]string{"seed", "--data", empty, "--agencies", "3", "--employees", "20"}, nil, exitcode.UsageErr},
		{[]string{"token", "--data", data, "--sub", "x", "--agency", "a\x01b"}, nil, exitcode.Error},
		{[]string{"login-link", "--data", data, "--sub", "x", "--agency", "a\x01b"}, nil, exitcode.UsageErr},
		{[]string{"backup", "--data", data}, nil, exitcode.UsageErr},
		{[]string{"restore", "--from", data}, nil, exitcode.UsageErr},
		{[]string{"restore", "--from", data, "--data", filepath.Join(empty, "r"), "--accept-rollback", "bad\x01reason"}, nil, exitcode.UsageErr},
		// Errors: the work could not be done.
		{[]string{"backup", "--data", empty, "--out", filepath.Join(empty, "b")}, nil, exitcode.Error},
		{[]string{"restore", "--from", empty, "--data", filepath.Join(empty, "r")}, nil, exitcode.Error},
		{[]string{"token", "--data", empty, "--sub", "x"}, nil, exitcode.Error},
		{[]string{"health", "--url", "http://127.0.0.1:1", "--timeout", "1s"}, nil, exitcode.Error},
		{[]string{"verify", "--bundle", filepath.Join(empty, "none.json"), "--bundle-own-key"}, nil, exitcode.Error},
		{[]string{"keys", "rotate", "--data", empty}, nil, exitcode.Error},
		{[]string{"export", "--data", empty, "--nip", "198211102004061444", "--year", "2025"}, nil, exitcode.Error},
	}
	for _, c := range cases {
		code, _, errOut := ctlExit(t, c.env, c.args...)
		if code != c.want {
			t.Errorf("kinerjactl %s: exit %d, want %d\n%s", strings.Join(c.args, " "), code, c.want, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(empty, authkey.FileName)); !os.IsNotExist(err) {
		t.Errorf("a refused command made a token key (%v)", err)
	}
}

// token never makes a key unasked: with none it says where it looked and
// how to make one; --init makes it, and later calls sign with the same key.
func TestTokenNeedsAKeyOrInit(t *testing.T) {
	data := t.TempDir()
	code, out, _ := ctlExit(t, nil, "token", "--data", data, "--sub", "hr-admin", "--roles", "HR_ADMIN")
	var errb bytes.Buffer
	err := run(context.Background(), []string{"token", "--data", data, "--sub", "hr-admin"}, func(string) string { return "" }, &bytes.Buffer{}, &errb)
	if code != exitcode.Error || out != "" || err == nil {
		t.Fatalf("token without a key: exit %d, stdout %q, err %v", code, out, err)
	}
	for _, want := range []string{filepath.Join(data, authkey.FileName), "--init"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("token without a key says %q; want it to name %q", err, want)
		}
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("token without --init left %d files in the data directory", len(entries))
	}
	tok := strings.TrimSpace(mustCtl(t, "token", "--init", "--data", data, "--sub", "hr-admin", "--roles", "HR_ADMIN"))
	k, err := authkey.Load(data)
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("token --init: %q, key %v", tok, err)
	}
	// Without --init now: the same key signs.
	tok2 := strings.TrimSpace(mustCtl(t, "token", "--data", data, "--sub", "hr-admin"))
	k2, _ := authkey.Load(data)
	if tok2 == "" || k.ID() != k2.ID() {
		t.Errorf("second token: %q, key %s then %s", tok2, k.ID(), k2.ID())
	}
}
