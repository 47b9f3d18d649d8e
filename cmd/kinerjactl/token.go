package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
)

// runToken prints a token signed with the data directory's key, which the
// kinerjad using the same directory accepts. It never makes a key unasked:
// a token signed by a key kinerjad does not have is useless, and a key
// made by mistake in the wrong directory hides the mistake. With no key it
// says where it looked and how to make one (--init).
func runToken(_ context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", stderr)
	data := fs.String("data", "./data", "data directory of the kinerjad to sign for")
	sub := fs.String("sub", "", "the caller: an NIP (18 digits, spaces or dots allowed), official:{id} (an official without a NIP) or a service account name")
	roles := fs.String("roles", "", "comma-separated token roles: HR_ADMIN, AUDITOR, HR_ANALYST, GRIEVANCE_CLERK, NATIONAL_ANALYST, NATIONAL_AUDITOR")
	agency := fs.String("agency", "", "the agency (instansi: its root unit's ID) the agency roles act in; required once the deployment holds two or more agencies")
	ttl := fs.Duration("ttl", authkey.DefaultTTL, "how long the token is valid")
	initKey := fs.Bool("init", false, "make the signing key in --data when there is none (kinerjad makes it at its first start)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *sub == "" {
		return exitcode.Usagef("token: --sub is required")
	}
	if *ttl <= 0 || *ttl > 366*24*time.Hour {
		return exitcode.Usagef("token: --ttl must be positive and at most a year")
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(strings.ToUpper(r)); r != "" {
			rs = append(rs, r)
		}
	}
	load := authkey.Load
	if *initKey {
		load = authkey.LoadOrCreate
	}
	k, err := load(*data)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("token: no signing key at %s: is --data the data directory of kinerjad (it makes the key at its first start)? To make one here, run kinerjactl token --init --data %s",
			filepath.Join(*data, authkey.FileName), *data)
	}
	if err != nil {
		return err
	}
	tok, err := k.Sign(authkey.Claims{Subject: *sub, Roles: rs, Agency: strings.TrimSpace(*agency), TTL: *ttl})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
