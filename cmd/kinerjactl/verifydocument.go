package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/cmd/internal/config"
)

// documentReport is what verify-document prints.
type documentReport struct {
	File      string    `json:"file"`
	Valid     bool      `json:"valid"`
	Problem   string    `json:"problem,omitempty"`
	Kind      string    `json:"kind,omitempty"`
	SKPID     string    `json:"skp_id,omitempty"`
	Period    string    `json:"period,omitempty"`
	Revision  uint64    `json:"revision"`
	Position  uint64    `json:"position"`
	PrintedAt time.Time `json:"printed_at"`
	KeyID     string    `json:"key_id,omitempty"`
	// Ledger is the answer of the service's /verify/{code} (with --url).
	Ledger json.RawMessage `json:"ledger,omitempty"`
}

// runVerifyDocument checks a printed document (docs/documents.md): its
// verification code (in the PDF's metadata, or --code) must be signed by
// the audit key, and its text, as pdftotext extracts it, must be the text
// the code was issued for. With --url it also asks the service whether the
// printed revision still matches the ledger and what changed since.
func runVerifyDocument(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify-document", stderr)
	data := fs.String("data", "./data", "data directory (for the default audit public key)")
	var keys multiFlag
	fs.Var(&keys, "key", "audit public key file to trust (repeatable; default DATA/audit-signing.pub)")
	code := fs.String("code", "", "the verification code, when the PDF lost its metadata (as the QR code or the printed block gives it)")
	base := fs.String("url", "", "also ask this kinerjad (https://kinerja.example) whether the ledger still matches")
	if err := config.Parse(fs, args, getenv, config.NoEnv("code")); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: kinerjactl verify-document [--key FILE] [--url URL] FILE.pdf")
	}
	file := fs.Arg(0)
	vs, err := verifiers(*data, keys)
	if err != nil {
		return err
	}
	pdf, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	rep := documentReport{File: file}
	c := *code
	if c == "" {
		if c, err = document.CodeOf(pdf); err != nil {
			return finishDocument(stdout, rep, err)
		}
	}
	text, err := document.ExtractText(ctx, pdf)
	if err != nil {
		return err
	}
	dc, err := document.Check(text, c, vs...)
	if !errors.Is(err, document.ErrBadCode) {
		rep.Kind, rep.SKPID, rep.Period, rep.Revision, rep.Position, rep.PrintedAt = "skp", dc.SKPID, dc.Period, dc.Revision, dc.Position, dc.PrintedAt
		if dc.Kind == document.KindEvaluation {
			rep.Kind = "evaluation"
		}
		rep.KeyID = fmt.Sprintf("%08x", dc.KeyID)
	}
	if err == nil && *base != "" {
		rep.Ledger, err = askLedger(ctx, *base, c)
	}
	return finishDocument(stdout, rep, err)
}

func finishDocument(stdout io.Writer, rep documentReport, err error) error {
	rep.Valid = err == nil
	if err != nil {
		rep.Problem = err.Error()
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if werr := enc.Encode(rep); werr != nil {
		return werr
	}
	if err != nil {
		return errProblems
	}
	return nil
}

// askLedger asks the service's public verification page for code's
// ledger check; a document whose revision no longer matches is a problem.
func askLedger(ctx context.Context, base, code string) (json.RawMessage, error) {
	u, err := url.Parse(strings.TrimRight(base, "/") + "/verify/" + url.PathEscape(code) + "?format=json")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var ans struct {
		Valid   bool `json:"valid"`
		Matches bool `json:"matches"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("%s answered %s, not a verification", base, res.Status)
	}
	switch {
	case !ans.Valid:
		return body, errors.New("the service does not know this code (another service, or another audit key)")
	case !ans.Matches:
		return body, errors.New("the ledger no longer holds the printed revision as it was printed")
	}
	return body, nil
}
