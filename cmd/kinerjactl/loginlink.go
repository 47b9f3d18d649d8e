package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// tokenRoles are the roles a sign-in link may carry (the token roles).
var tokenRoles = []domain.Role{domain.RoleHRAdmin, domain.RoleAuditor, domain.RoleHRAnalyst, domain.RoleGrievanceClerk,
	domain.RoleNationalAnalyst, domain.RoleNationalAuditor}

// runLoginLink prints a one-time sign-in link for the dashboard of the
// kinerjad that uses the same data directory (embedded mode): a random
// code, recorded in the data directory, that signs the person in once
// within --ttl. It replaces pasting a raw token into the dashboard.
func runLoginLink(_ context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("login-link", stderr)
	data := fs.String("data", "./data", "data directory of the kinerjad to sign in to")
	base := fs.String("url", "http://127.0.0.1:8080", "the dashboard's address as the person opens it")
	sub := fs.String("sub", "", "who signs in: an NIP (18 digits, spaces or dots allowed), official:{id} (an official without a NIP) or a service account name")
	roles := fs.String("roles", "", "comma-separated token roles: HR_ADMIN, AUDITOR, HR_ANALYST, GRIEVANCE_CLERK, NATIONAL_ANALYST, NATIONAL_AUDITOR")
	agency := fs.String("agency", "", "the agency (instansi: its root unit's ID) the agency roles act in")
	ttl := fs.Duration("ttl", session.DefaultLoginTTL, fmt.Sprintf("how long the link is valid (at most %v); it works once", session.MaxLoginTTL))
	next := fs.String("next", "", "the page to open after signing in (a path, e.g. /keberatan)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return exitcode.Usagef("login-link: unexpected arguments: %v", fs.Args())
	}
	p := domain.Principal{ID: strings.TrimSpace(*sub), Agency: strings.TrimSpace(*agency)}
	if len(p.Agency) > 128 || strings.IndexFunc(p.Agency, unicode.IsControl) >= 0 {
		return exitcode.Usagef("login-link: --agency must be at most 128 characters, without control characters")
	}
	if p.ID == "" {
		return exitcode.Usagef("login-link: --sub is required")
	}
	if info, err := nip.Parse(p.ID); err == nil {
		p.ID = string(info.NIP)
	}
	for _, r := range strings.Split(*roles, ",") {
		role := domain.Role(strings.TrimSpace(strings.ToUpper(r)))
		switch {
		case role == "":
		case !slices.Contains(tokenRoles, role):
			return exitcode.Usagef("login-link: unknown role %q (want HR_ADMIN, AUDITOR, HR_ANALYST, GRIEVANCE_CLERK, NATIONAL_ANALYST or NATIONAL_AUDITOR)", r)
		case !p.Has(role):
			p.Roles = append(p.Roles, role)
		}
	}
	if *ttl <= 0 || *ttl > session.MaxLoginTTL {
		return exitcode.Usagef("login-link: --ttl must be positive and at most %v", session.MaxLoginTTL)
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return exitcode.Usagef("login-link: --url %q is not an http(s) address", *base)
	}
	codes, err := session.OpenLoginCodes(*data, nil)
	if err != nil {
		return err
	}
	code, expires, err := codes.Issue(p, *ttl)
	if err != nil {
		return fmt.Errorf("login-link: %w", err)
	}
	q := url.Values{"kode": {code}}
	if *next != "" {
		q.Set("next", *next)
	}
	u = u.JoinPath("/masuk/tautan")
	u.RawQuery = q.Encode()
	fmt.Fprintf(stderr, "valid once, until %s\n", expires.Format("2006-01-02 15:04:05 MST"))
	_, err = fmt.Fprintln(stdout, u.String())
	return err
}
