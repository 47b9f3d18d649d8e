package merkle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors of signed notes and their keys.
var (
	// ErrMalformedKey reports a signer or verifier key that is not in the
	// signed-note text format, or whose key ID does not match its key.
	ErrMalformedKey = errors.New("merkle: malformed note key")
	// ErrMalformedNote reports text that is not a well-formed signed note.
	ErrMalformedNote = errors.New("merkle: malformed signed note")
	// ErrUnknownKey reports a note with no signature by the verifier's key:
	// every signature line names another key, or the verifier's name with
	// another key ID.
	ErrUnknownKey = errors.New("merkle: note is not signed by the verifier's key")
	// ErrInvalidSignature reports a signature line that names the
	// verifier's key but does not verify. The whole note is rejected.
	ErrInvalidSignature = errors.New("merkle: invalid note signature")
)

const (
	// algEd25519 is the signed-note signature type of Ed25519.
	algEd25519 = 0x01
	// maxNoteSize bounds the notes Open reads. A checkpoint with a few
	// dozen cosignatures fits many times over.
	maxNoteSize = 1 << 20
	// maxSignatures bounds the signature lines of a note, as
	// golang.org/x/mod/sumdb/note does; the spec asks for at least 16.
	maxSignatures = 100
	// sigPrefix starts every signature line: an em dash and a space.
	sigPrefix = "\u2014 "
	// privateKeyPrefix starts every signer key.
	privateKeyPrefix = "PRIVATE+KEY+"
)

// b64 is the strict standard encoding: it refuses padding bits that are not
// zero, so each byte string has one encoding.
var b64 = base64.StdEncoding.Strict()

// decodeBase64 decodes the one canonical standard-base64 encoding of some
// bytes; any other text is refused.
func decodeBase64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		// The decoder skips \r and \n; the re-encoding catches them.
		return nil, false
	}
	return b, true
}

// checkKeyName applies the signed-note rules for key names: non-empty,
// valid UTF-8, no Unicode space and no plus. Control characters, which a
// note may not contain, are refused too.
func checkKeyName(name string) error {
	if name == "" {
		return errors.New("empty key name")
	}
	if !utf8.ValidString(name) {
		return errors.New("key name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || r == '+' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("key name %q contains %q", name, r)
		}
	}
	return nil
}

// keyID is the signed-note key ID of an Ed25519 key: the first four bytes,
// big-endian, of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
func keyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', algEd25519})
	h.Write(pub)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// formatKeyID writes a key ID as the eight lower-case hex digits used in
// note keys and in the API field key_id.
func formatKeyID(id uint32) string { return fmt.Sprintf("%08x", id) }

// parseKeyID reads the eight lower-case hex digits formatKeyID writes.
func parseKeyID(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var id uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			id = id<<4 | uint32(c-'0')
		case 'a' <= c && c <= 'f':
			id = id<<4 | uint32(c-'a'+10)
		default:
			return 0, false
		}
	}
	return id, true
}

// Signer signs checkpoints with an Ed25519 key under a key name, which is
// also the origin of the log whose checkpoints it signs. It is safe for
// concurrent use.
type Signer struct {
	name string
	id   uint32
	key  ed25519.PrivateKey
}

// NewSigner returns a signer for the Ed25519 private key under the key name.
// The name must follow the signed-note rules (non-empty, no spaces, no
// plus); it is conventionally a schema-less URL such as
// "kinerja.example/audit".
func NewSigner(name string, key ed25519.PrivateKey) (*Signer, error) {
	if err := checkKeyName(name); err != nil {
		return nil, fmt.Errorf("merkle: new signer: %v: %w", err, ErrMalformedKey)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("merkle: new signer: private key of %d bytes, want %d: %w", len(key), ed25519.PrivateKeySize, ErrMalformedKey)
	}
	pub := key.Public().(ed25519.PublicKey)
	return &Signer{name: name, id: keyID(name, pub), key: append(ed25519.PrivateKey(nil), key...)}, nil
}

// ParseSigner reads a signer key in the signed-note format
// "PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 ‖ 32-byte seed)>", as
// GenerateKey writes it. The key ID must match the key.
func ParseSigner(skey string) (*Signer, error) {
	fail := func(why string) (*Signer, error) {
		return nil, fmt.Errorf("merkle: parse signer key: %s: %w", why, ErrMalformedKey)
	}
	rest, ok := strings.CutPrefix(skey, privateKeyPrefix)
	if !ok {
		return fail("missing PRIVATE+KEY+ prefix")
	}
	// The base64 key may itself contain plus signs; the name and key ID
	// may not.
	parts := strings.SplitN(rest, "+", 3)
	if len(parts) != 3 {
		return fail("want name+keyid+key after the prefix")
	}
	name, idText, keyText := parts[0], parts[1], parts[2]
	if err := checkKeyName(name); err != nil {
		return fail(err.Error())
	}
	id, ok := parseKeyID(idText)
	if !ok {
		return fail("key ID is not eight lower-case hex digits")
	}
	raw, ok := decodeBase64(keyText)
	if !ok || len(raw) != 1+ed25519.SeedSize || raw[0] != algEd25519 {
		return fail("key is not base64 of 0x01 and a 32-byte Ed25519 seed")
	}
	s, err := NewSigner(name, ed25519.NewKeyFromSeed(raw[1:]))
	if err != nil {
		return nil, err
	}
	if s.id != id {
		return fail(fmt.Sprintf("key ID %s does not match the key (%s)", idText, formatKeyID(s.id)))
	}
	return s, nil
}

// Name returns the key name, which signature lines carry.
func (s *Signer) Name() string { return s.name }

// KeyID returns the key ID as eight lower-case hex digits, the form of the
// API field key_id.
func (s *Signer) KeyID() string { return formatKeyID(s.id) }

// Verifier returns the verifier of this signer's signatures.
func (s *Signer) Verifier() *Verifier {
	return &Verifier{name: s.name, id: s.id, key: s.key.Public().(ed25519.PublicKey)}
}

// sign signs a note text and returns its signature line.
func (s *Signer) sign(text []byte) string {
	sig := make([]byte, 4, 4+ed25519.SignatureSize)
	binary.BigEndian.PutUint32(sig, s.id)
	sig = append(sig, ed25519.Sign(s.key, text)...)
	return sigPrefix + s.name + " " + b64.EncodeToString(sig) + "\n"
}

// Verifier checks signatures of one Ed25519 note key. It is safe for
// concurrent use.
type Verifier struct {
	name string
	id   uint32
	key  ed25519.PublicKey
}

// NewVerifier reads a verifier key in the signed-note format
// "<name>+<key ID hex>+<base64(0x01 ‖ 32-byte public key)>", as
// GenerateKey writes it. The key ID must match the key.
func NewVerifier(vkey string) (*Verifier, error) {
	fail := func(why string) (*Verifier, error) {
		return nil, fmt.Errorf("merkle: parse verifier key: %s: %w", why, ErrMalformedKey)
	}
	parts := strings.SplitN(vkey, "+", 3) // the base64 key may contain '+'
	if len(parts) != 3 {
		return fail("want name+keyid+key")
	}
	name, idText, keyText := parts[0], parts[1], parts[2]
	if err := checkKeyName(name); err != nil {
		return fail(err.Error())
	}
	id, ok := parseKeyID(idText)
	if !ok {
		return fail("key ID is not eight lower-case hex digits")
	}
	raw, ok := decodeBase64(keyText)
	if !ok || len(raw) != 1+ed25519.PublicKeySize || raw[0] != algEd25519 {
		return fail("key is not base64 of 0x01 and a 32-byte Ed25519 public key")
	}
	pub := ed25519.PublicKey(raw[1:])
	if want := keyID(name, pub); id != want {
		return fail(fmt.Sprintf("key ID %s does not match the key (%s)", idText, formatKeyID(want)))
	}
	return &Verifier{name: name, id: id, key: pub}, nil
}

// Name returns the key name.
func (v *Verifier) Name() string { return v.name }

// KeyID returns the key ID as eight lower-case hex digits, the form of the
// API field key_id.
func (v *Verifier) KeyID() string { return formatKeyID(v.id) }

// String returns the verifier key in the signed-note format NewVerifier
// reads.
func (v *Verifier) String() string {
	return v.name + "+" + formatKeyID(v.id) + "+" + b64.EncodeToString(append([]byte{algEd25519}, v.key...))
}

// GenerateKey makes a new Ed25519 note key named name from 32 bytes of rand
// and returns it in the signed-note text formats: the signer key skey
// ("PRIVATE+KEY+<name>+<key ID>+<base64(0x01 ‖ seed)>", for ParseSigner;
// keep it secret) and the verifier key vkey
// ("<name>+<key ID>+<base64(0x01 ‖ public key)>", for NewVerifier; publish
// it). The same rand bytes give the same keys.
func GenerateKey(name string, rand io.Reader) (skey, vkey string, err error) {
	if err := checkKeyName(name); err != nil {
		return "", "", fmt.Errorf("merkle: generate key: %v: %w", err, ErrMalformedKey)
	}
	// Read the seed here rather than through ed25519.GenerateKey, whose use
	// of its reader is the crypto package's business: the keys must be a
	// function of these bytes.
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return "", "", fmt.Errorf("merkle: generate key: read seed: %w", err)
	}
	s, err := NewSigner(name, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return "", "", err
	}
	skey = privateKeyPrefix + name + "+" + formatKeyID(s.id) + "+" + b64.EncodeToString(append([]byte{algEd25519}, seed...))
	return skey, s.Verifier().String(), nil
}

// Signature is the verifier's signature on a note, in the forms the API
// shows it.
type Signature struct {
	// Name is the key name of the signature line.
	Name string
	// ID is the key ID.
	ID uint32
	// Sig is the raw 64-byte Ed25519 signature over the note text.
	Sig []byte
}

// KeyID returns the key ID as eight lower-case hex digits, the API field
// key_id.
func (s Signature) KeyID() string { return formatKeyID(s.ID) }

// Base64 returns the raw signature in standard base64, the API field
// signature.
func (s Signature) Base64() string { return b64.EncodeToString(s.Sig) }

// signNote returns text with its signature by s appended.
func signNote(text []byte, s *Signer) ([]byte, error) {
	if err := checkNoteText(text); err != nil {
		return nil, err
	}
	note := make([]byte, 0, len(text)+1+len(sigPrefix)+len(s.name)+100)
	note = append(note, text...)
	note = append(note, '\n')
	note = append(note, s.sign(text)...)
	return note, nil
}

// checkNoteText refuses text that a signed note cannot carry.
func checkNoteText(text []byte) error {
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return fmt.Errorf("merkle: note text does not end in a newline: %w", ErrMalformedNote)
	}
	return checkNoteChars(text)
}

// checkNoteChars applies the signed-note character rules: valid UTF-8 and
// no control characters but newline.
func checkNoteChars(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("merkle: note is not valid UTF-8: %w", ErrMalformedNote)
	}
	for i, c := range b {
		if c < 0x20 && c != '\n' {
			return fmt.Errorf("merkle: note has control character %#x at byte %d: %w", c, i, ErrMalformedNote)
		}
	}
	return nil
}

// openNote checks a signed note's form and the verifier's signature on it,
// and returns the signed text. It follows the signed-note spec: lines from
// other keys are ignored, a failing line from the verifier's key rejects the
// note, and a note the verifier's key did not sign is rejected.
func openNote(note []byte, v *Verifier) ([]byte, Signature, error) {
	malformed := func(format string, args ...any) ([]byte, Signature, error) {
		return nil, Signature{}, fmt.Errorf("merkle: open note: "+format+": %w", append(args, ErrMalformedNote)...)
	}
	if len(note) > maxNoteSize {
		return malformed("%d bytes, limit %d", len(note), maxNoteSize)
	}
	if err := checkNoteChars(note); err != nil {
		return nil, Signature{}, err
	}
	split := bytes.LastIndex(note, []byte("\n\n"))
	if split < 0 {
		return malformed("no blank line before the signatures")
	}
	text, sigs := note[:split+1], note[split+2:]
	if len(sigs) == 0 || sigs[len(sigs)-1] != '\n' {
		return malformed("signatures do not end in a newline")
	}
	lines := strings.Split(string(sigs[:len(sigs)-1]), "\n")
	if len(lines) > maxSignatures {
		return malformed("%d signatures, limit %d", len(lines), maxSignatures)
	}
	var found *Signature
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, sigPrefix)
		if !ok {
			return malformed("signature line %d does not start with an em dash and a space", i+1)
		}
		name, sigText, ok := strings.Cut(rest, " ")
		if !ok {
			return malformed("signature line %d has no space between name and signature", i+1)
		}
		if err := checkKeyName(name); err != nil {
			return malformed("signature line %d: %v", i+1, err)
		}
		raw, ok := decodeBase64(sigText)
		if !ok || len(raw) < 5 {
			return malformed("signature line %d: signature is not canonical base64 of a key ID and a signature", i+1)
		}
		id := binary.BigEndian.Uint32(raw)
		if name != v.name || id != v.id {
			continue // another key: a cosigner, or a rotated key
		}
		sig := raw[4:]
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(v.key, text, sig) {
			return nil, Signature{}, fmt.Errorf("merkle: open note: signature line %d by %s+%s: %w", i+1, v.name, formatKeyID(v.id), ErrInvalidSignature)
		}
		if found != nil {
			return malformed("signature line %d repeats the signature of %s", i+1, v.name)
		}
		found = &Signature{Name: name, ID: id, Sig: sig}
	}
	if found == nil {
		return nil, Signature{}, fmt.Errorf("merkle: open note: no signature by %s+%s: %w", v.name, formatKeyID(v.id), ErrUnknownKey)
	}
	return text, *found, nil
}
