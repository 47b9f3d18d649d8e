package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/cmd/internal/config"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
)

// runToken prints a token signed with the data directory's key, which the
// kinerjad using the same directory accepts.
func runToken(_ context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", stderr)
	data := fs.String("data", "./data", "data directory of the kinerjad to sign for")
	sub := fs.String("sub", "", "the caller: an NIP (18 digits, spaces or dots allowed) or a service account name")
	roles := fs.String("roles", "", "comma-separated token roles: HR_ADMIN, AUDITOR, HR_ANALYST, GRIEVANCE_CLERK")
	ttl := fs.Duration("ttl", authkey.DefaultTTL, "how long the token is valid")
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("token: --sub is required")
	}
	if *ttl <= 0 || *ttl > 366*24*time.Hour {
		return errors.New("token: --ttl must be positive and at most a year")
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(strings.ToUpper(r)); r != "" {
			rs = append(rs, r)
		}
	}
	k, err := authkey.LoadOrCreate(*data)
	if err != nil {
		return err
	}
	tok, err := k.Sign(authkey.Claims{Subject: *sub, Roles: rs, TTL: *ttl})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
