package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/kinerja-ledger/kinerja/cmd/internal/config"

	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// errProblems makes the command exit non-zero when verification finds
// something.
var errProblems = errors.New("verification found problems")

// runVerify checks the audit trail: online against the ledger (the store,
// directly or through a running kinerjad with --url), or offline an
// exported appeal bundle (--bundle). It prints the report as JSON.
func runVerify(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", stderr)
	var sf storeFlags
	sf.register(fs)
	bundle := fs.String("bundle", "", "verify this exported appeal bundle offline")
	url := fs.String("url", "", "ask a running kinerjad (e.g. http://127.0.0.1:8080) instead of opening the store")
	token := fs.String("token", "", "AUDITOR token for --url")
	var keys multiFlag
	fs.Var(&keys, "key", "checkpoint public key file to trust (repeatable; default DATA/audit-signing.pub)")
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch {
	case *bundle != "":
		raw, err := os.ReadFile(*bundle)
		if err != nil {
			return err
		}
		var b audit.Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("bundle %s: %w", *bundle, err)
		}
		var trusted *merkle.Verifier
		if len(keys) > 0 {
			vs, err := verifiers(sf.data, keys)
			if err != nil {
				return err
			}
			trusted = vs[0]
		} else {
			fmt.Fprintln(stderr, "warning: no --key given: the bundle's own key is used, which proves only that the bundle is self-consistent; compare its key ID with one you trust")
		}
		r := audit.VerifyBundle(b, trusted)
		if err := enc.Encode(r); err != nil {
			return err
		}
		if !r.OK {
			return errProblems
		}
		return nil
	case *url != "":
		var r audit.Report
		if err := callKinerjad(ctx, http.MethodPost, *url, "/v1/audit/verify", *token, &r); err != nil {
			return err
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
		if !r.OK {
			return errProblems
		}
		return nil
	}
	vs, err := verifiers(sf.data, keys)
	if err != nil {
		return err
	}
	l, err := openLedger(ctx, sf, stderr)
	if err != nil {
		return err
	}
	defer l.close()
	var stored audit.Stored
	if sf.store == "postgres" {
		if _, stored, err = l.trail(ctx); err != nil {
			return err
		}
	}
	r, err := audit.Verify(ctx, l.store, audit.VerifyOptions{Keys: vs, Stored: stored, Progress: func(n uint64) {
		if n%100000 == 0 {
			fmt.Fprintf(stderr, "verified %d events\n", n)
		}
	}})
	if err != nil {
		return err
	}
	if err := enc.Encode(r); err != nil {
		return err
	}
	if !r.OK {
		return errProblems
	}
	return nil
}
