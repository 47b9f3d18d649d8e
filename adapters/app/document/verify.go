package document

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// keywordRE finds the code in a PDF's Keywords metadata, which fpdf
// writes as a literal string in the (uncompressed) document information
// dictionary.
var keywordRE = regexp.MustCompile(`/Keywords \(` + regexp.QuoteMeta(Keyword) + `([A-Za-z0-9_-]{10,400})\)`)

// ErrNoCode reports a PDF without a verification code in its metadata.
var ErrNoCode = errors.New("document: the PDF carries no verification code")

// CodeOf returns the verification code in a PDF's metadata.
func CodeOf(pdf []byte) (string, error) {
	m := keywordRE.FindAllSubmatch(pdf, -1)
	if len(m) == 0 {
		return "", ErrNoCode
	}
	// An incremental update appends a new dictionary: the last one counts.
	return string(m[len(m)-1][1]), nil
}

// ExtractText returns the text of a PDF file in content-stream order, as
// pdftotext -raw (poppler-utils) reads it.
func ExtractText(ctx context.Context, pdf []byte) (string, error) {
	cmd := exec.CommandContext(ctx, "pdftotext", "-raw", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("document: pdftotext (poppler-utils): %v: %s", err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.String(), nil
}

// ErrContentChanged reports a document whose text is not the text its
// code was signed for: the copy was changed after printing.
var ErrContentChanged = errors.New("document: the text differs from the text the verification code was issued for (the document was changed)")

// Check verifies a printed document offline: its code (from the metadata,
// or code when given) must be signed by one of keys, and its text (as
// ExtractText gives it) must hash to the code's content hash. It returns
// what the code says.
func Check(pdfText, code string, keys ...*merkle.Verifier) (Code, error) {
	c, err := Open(code, keys...)
	if err != nil {
		return Code{}, err
	}
	if ContentHash(Canonical(pdfText, code)) != c.ContentHash {
		return c, ErrContentChanged
	}
	return c, nil
}
