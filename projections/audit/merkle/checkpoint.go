package merkle

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of checkpoints.
var (
	// ErrMalformedCheckpoint reports a checkpoint that cannot be written or
	// a signed note body that is not a canonical tlog-checkpoint.
	ErrMalformedCheckpoint = errors.New("merkle: malformed checkpoint")
	// ErrOriginMismatch reports a checkpoint whose origin is not the name
	// of the key that signs or verifies it. A log signs its checkpoints
	// under its origin, so a key for one log never vouches for another.
	ErrOriginMismatch = errors.New("merkle: checkpoint origin is not the key name")
)

// timestampPrefix starts the extension line that carries
// Checkpoint.SignedAt.
const timestampPrefix = "timestamp "

// Checkpoint is a signed tree head in the C2SP tlog-checkpoint format: the
// log's origin, a tree size and the root at that size, and optional
// extension lines. Its note text is
//
//	<origin>
//	<size in decimal>
//	<base64 root>
//	timestamp <SignedAt, RFC 3339 UTC>   (when SignedAt is set)
//	<each of Extensions>
//
// The timestamp is an extension line so that the signature covers it.
type Checkpoint struct {
	// Origin identifies the log; it must equal the signing key's name.
	Origin string
	// Size is the number of leaves in the tree.
	Size uint64
	// Root is the RFC 6962 root of the tree of Size leaves.
	Root Hash
	// SignedAt is when the log signed the checkpoint, from the caller's
	// clock. The zero time writes no timestamp line. It is written in UTC
	// with up to nanosecond precision, and Open returns it in UTC.
	SignedAt time.Time
	// Extensions are further opaque extension lines: each non-empty, with
	// no control characters and not starting with "timestamp ".
	Extensions []string
}

// checkLine refuses a checkpoint line that would break the note format.
func checkLine(what, line string) error {
	if line == "" {
		return fmt.Errorf("merkle: checkpoint %s is empty: %w", what, ErrMalformedCheckpoint)
	}
	if !utf8.ValidString(line) {
		return fmt.Errorf("merkle: checkpoint %s is not valid UTF-8: %w", what, ErrMalformedCheckpoint)
	}
	for _, c := range []byte(line) {
		if c < 0x20 {
			return fmt.Errorf("merkle: checkpoint %s %q contains control character %#x: %w", what, line, c, ErrMalformedCheckpoint)
		}
	}
	return nil
}

// text returns the note text of the checkpoint.
func (c Checkpoint) text() ([]byte, error) {
	if err := checkLine("origin", c.Origin); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, b64.EncodeToString(c.Root[:]))
	if !c.SignedAt.IsZero() {
		ts, err := c.SignedAt.UTC().MarshalText()
		if err != nil {
			return nil, fmt.Errorf("merkle: checkpoint timestamp: %v: %w", err, ErrMalformedCheckpoint)
		}
		fmt.Fprintf(&b, "%s%s\n", timestampPrefix, ts)
	}
	for i, e := range c.Extensions {
		if err := checkLine(fmt.Sprintf("extension %d", i), e); err != nil {
			return nil, err
		}
		if strings.HasPrefix(e, timestampPrefix) {
			return nil, fmt.Errorf("merkle: checkpoint extension %d: the timestamp line is written from SignedAt: %w", i, ErrMalformedCheckpoint)
		}
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// parseCheckpoint reads a checkpoint note text, refusing every form text()
// does not write for some checkpoint.
func parseCheckpoint(text []byte) (Checkpoint, error) {
	fail := func(format string, args ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("merkle: parse checkpoint: "+format+": %w", append(args, ErrMalformedCheckpoint)...)
	}
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return fail("text does not end in a newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return fail("%d lines, want at least origin, size and root", len(lines))
	}
	for i, l := range lines {
		if l == "" {
			return fail("line %d is empty", i+1)
		}
	}
	var c Checkpoint
	c.Origin = lines[0]
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return fail("size %q is not a decimal number without leading zeros", lines[1])
	}
	c.Size = size
	root, ok := decodeBase64(lines[2])
	if !ok || len(root) != HashSize {
		return fail("root %q is not the base64 of a %d-byte hash", lines[2], HashSize)
	}
	c.Root = Hash(root)
	ext := lines[3:]
	if len(ext) > 0 {
		if ts, ok := strings.CutPrefix(ext[0], timestampPrefix); ok {
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				return fail("timestamp %q: %v", ts, err)
			}
			if canon, _ := t.UTC().MarshalText(); string(canon) != ts || t.IsZero() {
				return fail("timestamp %q is not in canonical UTC form %q", ts, canon)
			}
			c.SignedAt = t.UTC()
			ext = ext[1:]
		}
	}
	for _, e := range ext {
		if strings.HasPrefix(e, timestampPrefix) {
			return fail("extension line %q: a timestamp line must come first and once", e)
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// Sign writes the checkpoint as a C2SP signed note signed by signer. The
// checkpoint's origin must be the signer's key name.
func Sign(c Checkpoint, signer *Signer) ([]byte, error) {
	if c.Origin != signer.Name() {
		return nil, fmt.Errorf("merkle: sign checkpoint: origin %q, key %q: %w", c.Origin, signer.Name(), ErrOriginMismatch)
	}
	text, err := c.text()
	if err != nil {
		return nil, err
	}
	return signNote(text, signer)
}

// Open verifies a signed checkpoint note against the verifier's key and
// returns the checkpoint. It refuses a note that is malformed
// (ErrMalformedNote), that no line signs with the verifier's name and key ID
// (ErrUnknownKey), whose line by that key does not verify
// (ErrInvalidSignature), whose text is not a canonical checkpoint
// (ErrMalformedCheckpoint), or whose origin is not the key name
// (ErrOriginMismatch). Signature lines of other keys, such as witness
// cosignatures, are ignored.
func Open(note []byte, verifier *Verifier) (Checkpoint, error) {
	c, _, err := OpenSignature(note, verifier)
	return c, err
}

// OpenSignature is Open, also returning the verifier's signature on the
// note for the API fields key_id and signature.
func OpenSignature(note []byte, verifier *Verifier) (Checkpoint, Signature, error) {
	text, sig, err := openNote(note, verifier)
	if err != nil {
		return Checkpoint{}, Signature{}, err
	}
	c, err := parseCheckpoint(text)
	if err != nil {
		return Checkpoint{}, Signature{}, err
	}
	if c.Origin != verifier.Name() {
		return Checkpoint{}, Signature{}, fmt.Errorf("merkle: open checkpoint: origin %q, key %q: %w", c.Origin, verifier.Name(), ErrOriginMismatch)
	}
	return c, sig, nil
}
