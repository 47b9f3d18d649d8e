package document

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// Kinds of document.
const (
	// KindSKP is the SKP with its Lampiran.
	KindSKP byte = 'S'
	// KindEvaluation is the Dokumen Evaluasi Kinerja Pegawai of a period.
	KindEvaluation byte = 'E'
)

// codeContext is the context of the codes' signatures
// (merkle.Signer.SignMessage).
const codeContext = "kinerja/document-code/v1"

const (
	codeVersion = 1
	// HashSize is the size of the content and chain-hash prefixes a code
	// carries: 128 bits, beyond any search for a second document.
	HashSize = 16
	// MaxCodeLen bounds a code's text; longer input is refused unread.
	MaxCodeLen = 400
	maxIDLen   = 100
)

// Code is what a document's verification code says: which document, from
// which point of the ledger, printed when, with which content. It is
// signed with the audit key, so it cannot be made up or changed, and it
// is self-verifying: whoever holds the audit public key checks it offline.
type Code struct {
	// Kind is KindSKP or KindEvaluation.
	Kind byte
	// SKPID names the SKP; Period the evaluation's period ("" for an SKP).
	SKPID, Period string
	// Revision and Position are the SKP stream's revision the document was
	// printed from and that event's position in the ledger.
	Revision, Position uint64
	// ChainHash is the prefix of that event's chain hash.
	ChainHash [HashSize]byte
	// PrintedAt is when the document was printed (to the second).
	PrintedAt time.Time
	// ContentHash is the prefix of the SHA-256 of the document's canonical
	// text (Canonical).
	ContentHash [HashSize]byte
	// KeyID is the signing key's ID (merkle.Verifier.KeyIDNumber).
	KeyID uint32
}

// payload is the signed part of the code.
func (c Code) payload() ([]byte, error) {
	if c.Kind != KindSKP && c.Kind != KindEvaluation {
		return nil, fmt.Errorf("document: unknown kind %q", c.Kind)
	}
	if len(c.SKPID) == 0 || len(c.SKPID) > maxIDLen || len(c.Period) > maxIDLen {
		return nil, errors.New("document: SKP ID or period out of range")
	}
	b := []byte{codeVersion, c.Kind}
	b = binary.AppendUvarint(b, uint64(len(c.SKPID)))
	b = append(b, c.SKPID...)
	b = binary.AppendUvarint(b, uint64(len(c.Period)))
	b = append(b, c.Period...)
	b = binary.AppendUvarint(b, c.Revision)
	b = binary.AppendUvarint(b, c.Position)
	b = append(b, c.ChainHash[:]...)
	b = binary.AppendVarint(b, c.PrintedAt.Unix())
	b = append(b, c.ContentHash[:]...)
	b = binary.BigEndian.AppendUint32(b, c.KeyID)
	return b, nil
}

var b64 = base64.RawURLEncoding.Strict()

// Seal signs c with key and returns its text: URL-safe base64 of the
// payload and the signature, short enough for a QR code.
func Seal(c Code, key *merkle.Signer) (string, error) {
	c.KeyID = key.Verifier().KeyIDNumber()
	p, err := c.payload()
	if err != nil {
		return "", err
	}
	sig, err := key.SignMessage(codeContext, p)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(append(p, sig...)), nil
}

// ErrBadCode is the one answer to a code that is malformed, too long, or
// not signed by a trusted key: the three are not told apart, so that the
// verification page is no oracle for guessed codes.
var ErrBadCode = errors.New("document: not a valid verification code")

// Open checks the text of a code against the trusted keys and returns what
// it says; any failure is ErrBadCode.
func Open(text string, keys ...*merkle.Verifier) (Code, error) {
	if len(text) > MaxCodeLen || len(text) < 10 {
		return Code{}, ErrBadCode
	}
	raw, err := b64.DecodeString(text)
	if err != nil || len(raw) < 64+2 {
		return Code{}, ErrBadCode
	}
	p, sig := raw[:len(raw)-64], raw[len(raw)-64:]
	c, ok := parsePayload(p)
	if !ok {
		return Code{}, ErrBadCode
	}
	for _, k := range keys {
		if k != nil && k.KeyIDNumber() == c.KeyID && k.VerifyMessage(codeContext, p, sig) {
			return c, nil
		}
	}
	return Code{}, ErrBadCode
}

func parsePayload(p []byte) (Code, bool) {
	var c Code
	if len(p) < 2 || p[0] != codeVersion {
		return c, false
	}
	c.Kind, p = p[1], p[2:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > maxIDLen || uint64(len(p)-k) < n {
			return "", false
		}
		s := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return s, true
	}
	num := func() (uint64, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 {
			return 0, false
		}
		p = p[k:]
		return n, true
	}
	var ok1, ok2, ok3, ok4 bool
	c.SKPID, ok1 = str()
	c.Period, ok2 = str()
	c.Revision, ok3 = num()
	c.Position, ok4 = num()
	if !ok1 || !ok2 || !ok3 || !ok4 || len(p) < HashSize {
		return c, false
	}
	copy(c.ChainHash[:], p)
	p = p[HashSize:]
	at, k := binary.Varint(p)
	if k <= 0 {
		return c, false
	}
	c.PrintedAt, p = time.Unix(at, 0).UTC(), p[k:]
	if len(p) != HashSize+4 {
		return c, false
	}
	copy(c.ContentHash[:], p)
	c.KeyID = binary.BigEndian.Uint32(p[HashSize:])
	if c.Kind != KindSKP && c.Kind != KindEvaluation || c.SKPID == "" || (c.Kind == KindEvaluation) != (c.Period != "") {
		return c, false
	}
	return c, true
}

// Canonical returns what a document's content hash covers, from its text
// as pdftotext extracts it: every character but white space, in order,
// with the verification code itself left out (the code holds the hash, so
// it cannot be covered by it; the renderer does not record it, and no
// document's text can hold its own code). Extraction splits and joins
// lines and cells differently from the layout; characters and their order
// it keeps. A changed figure, name or label changes the canonical text.
func Canonical(text, code string) string {
	var b strings.Builder
	for _, r := range text {
		if !unicode.IsSpace(r) {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if code != "" {
		s = strings.ReplaceAll(s, code, "")
	}
	return s
}

// ContentHash returns the hash prefix of a canonical text.
func ContentHash(canonical string) [HashSize]byte {
	sum := sha256.Sum256([]byte("kinerja/document-content/v1\x00" + canonical))
	var h [HashSize]byte
	copy(h[:], sum[:])
	return h
}
