package merkle_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testOrigin = "kinerja.example/audit"

// testSeed is the fixed key seed of the golden files: 32 bytes 0x00..0x1f.
func testSeed() []byte {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return seed
}

// testKey is a signer with a fixed seed and its hand-rolled signing
// function, written from the signed-note spec and not from the package, so
// tests can sign arbitrary (also malformed) texts.
type testKey struct {
	skey, vkey string
	signer     *merkle.Signer
	verifier   *merkle.Verifier
	name       string
	priv       ed25519.PrivateKey
	id         [4]byte
}

func newTestKey(tb testing.TB, name string, seed []byte) testKey {
	tb.Helper()
	skey, vkey, err := merkle.GenerateKey(name, bytes.NewReader(seed))
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := merkle.ParseSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	verifier, err := merkle.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	sum := sha256.Sum256(append([]byte(name+"\n\x01"), priv.Public().(ed25519.PublicKey)...))
	k := testKey{skey: skey, vkey: vkey, signer: signer, verifier: verifier, name: name, priv: priv}
	copy(k.id[:], sum[:4])
	return k
}

// sigLine signs text and returns the signature line.
func (k testKey) sigLine(text string) string {
	sig := append(k.id[:], ed25519.Sign(k.priv, []byte(text))...)
	return "\u2014 " + k.name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// note signs text into a signed note.
func (k testKey) note(text string) []byte {
	return []byte(text + "\n" + k.sigLine(text))
}

func testCheckpoint() merkle.Checkpoint {
	return merkle.Checkpoint{
		Origin:   testOrigin,
		Size:     8,
		Root:     merkle.Hash(mustDecodeHex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")),
		SignedAt: time.Date(2025, 3, 14, 1, 59, 26, 535897932, time.UTC),
	}
}

func mustDecodeHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestGenerateKey(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	pub := k.priv.Public().(ed25519.PublicKey)
	wantID := hex.EncodeToString(k.id[:])
	wantV := testOrigin + "+" + wantID + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, pub...))
	wantS := "PRIVATE+KEY+" + testOrigin + "+" + wantID + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, testSeed()...))
	if k.vkey != wantV {
		t.Errorf("vkey = %s, want %s", k.vkey, wantV)
	}
	if k.skey != wantS {
		t.Errorf("skey = %s, want %s", k.skey, wantS)
	}
	for name, got := range map[string]string{
		"Signer.KeyID":            k.signer.KeyID(),
		"Verifier.KeyID":          k.verifier.KeyID(),
		"Signer.Verifier().KeyID": k.signer.Verifier().KeyID(),
	} {
		if got != wantID {
			t.Errorf("%s() = %s, want %s", name, got, wantID)
		}
	}
	if got := k.signer.Verifier().String(); got != k.vkey {
		t.Errorf("Signer.Verifier().String() = %s, want %s", got, k.vkey)
	}
	if got := k.verifier.String(); got != k.vkey {
		t.Errorf("Verifier.String() = %s, want %s", got, k.vkey)
	}
	direct, err := merkle.NewSigner(testOrigin, k.priv)
	if err != nil {
		t.Fatal(err)
	}
	if got := direct.Verifier().String(); got != k.vkey {
		t.Errorf("NewSigner(...).Verifier() = %s, want %s", got, k.vkey)
	}
	if _, _, err := merkle.GenerateKey(testOrigin, bytes.NewReader(testSeed()[:31])); err == nil {
		t.Errorf("GenerateKey with 31 random bytes: no error")
	}
	if _, _, err := merkle.GenerateKey("bad name", bytes.NewReader(testSeed())); !errors.Is(err, merkle.ErrMalformedKey) {
		t.Errorf("GenerateKey(\"bad name\") error = %v, want ErrMalformedKey", err)
	}
}

func TestParseKeysRejects(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	other := newTestKey(t, testOrigin, bytes.Repeat([]byte{7}, 32))
	vparts := strings.SplitN(k.vkey, "+", 3)
	sparts := strings.SplitN(k.skey, "+", 5)
	b64 := base64.StdEncoding.EncodeToString
	pub := k.priv.Public().(ed25519.PublicKey)
	tests := []struct {
		name string
		key  string
		vkey bool
	}{
		{"verifier: empty", "", true},
		{"verifier: two parts", vparts[0] + "+" + vparts[1], true},
		{"verifier: four parts", k.vkey + "+x", true},
		{"verifier: empty name", "+" + vparts[1] + "+" + vparts[2], true},
		{"verifier: name with space", "a b+" + vparts[1] + "+" + vparts[2], true},
		{"verifier: upper-case key ID", vparts[0] + "+" + strings.ToUpper(vparts[1]) + "+" + vparts[2], true},
		{"verifier: short key ID", vparts[0] + "+" + vparts[1][:7] + "+" + vparts[2], true},
		{"verifier: key ID of another key", vparts[0] + "+" + strings.SplitN(other.vkey, "+", 3)[1] + "+" + vparts[2], true},
		{"verifier: key ID of another name", "other.example+" + vparts[1] + "+" + vparts[2], true},
		{"verifier: wrong algorithm byte", vparts[0] + "+" + vparts[1] + "+" + b64(append([]byte{2}, pub...)), true},
		{"verifier: short key", vparts[0] + "+" + vparts[1] + "+" + b64(append([]byte{1}, pub[:31]...)), true},
		{"verifier: truncated base64", vparts[0] + "+" + vparts[1] + "+" + vparts[2][:len(vparts[2])-1], true},
		{"verifier: newline in base64", vparts[0] + "+" + vparts[1] + "+" + vparts[2][:20] + "\n" + vparts[2][20:], true},
		{"verifier: signer key", k.skey, true},
		{"signer: empty", "", false},
		{"signer: no prefix", strings.TrimPrefix(k.skey, "PRIVATE+KEY+"), false},
		{"signer: lower-case prefix", "private+key+" + strings.TrimPrefix(k.skey, "PRIVATE+KEY+"), false},
		{"signer: key ID of another key", strings.Join([]string{sparts[0], sparts[1], sparts[2], strings.SplitN(other.vkey, "+", 3)[1], sparts[4]}, "+"), false},
		{"signer: verifier key", k.vkey, false},
		{"signer: short seed", strings.Join([]string{sparts[0], sparts[1], sparts[2], sparts[3], b64(append([]byte{1}, testSeed()[:31]...))}, "+"), false},
		{"signer: wrong algorithm byte", strings.Join([]string{sparts[0], sparts[1], sparts[2], sparts[3], b64(append([]byte{4}, testSeed()...))}, "+"), false},
		{"signer: extra part", k.skey + "+x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.vkey {
				_, err = merkle.NewVerifier(tt.key)
			} else {
				_, err = merkle.ParseSigner(tt.key)
			}
			if !errors.Is(err, merkle.ErrMalformedKey) {
				t.Errorf("parse %q: error = %v, want ErrMalformedKey", tt.key, err)
			}
		})
	}
	if _, err := merkle.NewSigner("a+b", k.priv); !errors.Is(err, merkle.ErrMalformedKey) {
		t.Errorf("NewSigner with a plus in the name: error = %v, want ErrMalformedKey", err)
	}
	if _, err := merkle.NewSigner(testOrigin, k.priv[:32]); !errors.Is(err, merkle.ErrMalformedKey) {
		t.Errorf("NewSigner with a short key: error = %v, want ErrMalformedKey", err)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	base := testCheckpoint()
	tests := []struct {
		name   string
		modify func(*merkle.Checkpoint)
		body   string // the expected note text, when given
	}{
		{"full", func(*merkle.Checkpoint) {}, testOrigin + "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntimestamp 2025-03-14T01:59:26.535897932Z\n"},
		{"no timestamp", func(c *merkle.Checkpoint) { c.SignedAt = time.Time{} }, testOrigin + "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"},
		{"empty tree", func(c *merkle.Checkpoint) { c.Size, c.Root = 0, merkle.EmptyRoot() }, ""},
		{"whole seconds", func(c *merkle.Checkpoint) { c.SignedAt = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }, ""},
		{"other zone", func(c *merkle.Checkpoint) {
			c.SignedAt = time.Date(2025, 3, 14, 8, 59, 26, 0, time.FixedZone("WIB", 7*3600))
		}, testOrigin + "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntimestamp 2025-03-14T01:59:26Z\n"},
		{"largest size", func(c *merkle.Checkpoint) { c.Size = ^uint64(0) }, ""},
		{"extensions", func(c *merkle.Checkpoint) { c.Extensions = []string{"epoch 7", "témoin ✓"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp := base
			tt.modify(&cp)
			note, err := merkle.Sign(cp, k.signer)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if tt.body != "" {
				if want := tt.body + "\n" + k.sigLine(tt.body); string(note) != want {
					t.Errorf("Sign note:\n%s\nwant:\n%s", note, want)
				}
			}
			got, sig, err := merkle.OpenSignature(note, k.verifier)
			if err != nil {
				t.Fatalf("OpenSignature: %v", err)
			}
			if diff := cmp.Diff(cp, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Open(Sign(c)) differs from c (-want +got):\n%s", diff)
			}
			if got.SignedAt.Location() != time.UTC {
				t.Errorf("SignedAt location = %v, want UTC", got.SignedAt.Location())
			}
			text := note[:bytes.LastIndex(note, []byte("\n\n"))+1]
			if want := ed25519.Sign(k.priv, text); sig.Base64() != base64.StdEncoding.EncodeToString(want) {
				t.Errorf("Signature.Base64() = %s, want the raw Ed25519 signature %s", sig.Base64(), base64.StdEncoding.EncodeToString(want))
			}
			if want := hex.EncodeToString(k.id[:]); sig.KeyID() != want || sig.Name != testOrigin {
				t.Errorf("Signature key = %s %s, want %s %s", sig.Name, sig.KeyID(), testOrigin, want)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	tests := []struct {
		name   string
		modify func(*merkle.Checkpoint)
		want   error
	}{
		{"origin not the key name", func(c *merkle.Checkpoint) { c.Origin = "other.example/log" }, merkle.ErrOriginMismatch},
		{"empty extension", func(c *merkle.Checkpoint) { c.Extensions = []string{""} }, merkle.ErrMalformedCheckpoint},
		{"extension with a newline", func(c *merkle.Checkpoint) { c.Extensions = []string{"a\n999"} }, merkle.ErrMalformedCheckpoint},
		{"extension posing as the timestamp", func(c *merkle.Checkpoint) { c.Extensions = []string{"timestamp 2020-01-01T00:00:00Z"} }, merkle.ErrMalformedCheckpoint},
		{"extension not UTF-8", func(c *merkle.Checkpoint) { c.Extensions = []string{"\xff"} }, merkle.ErrMalformedCheckpoint},
		{"year beyond 9999", func(c *merkle.Checkpoint) { c.SignedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, merkle.ErrMalformedCheckpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp := testCheckpoint()
			tt.modify(&cp)
			if _, err := merkle.Sign(cp, k.signer); !errors.Is(err, tt.want) {
				t.Errorf("Sign error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestOpenRejectsChangedCheckpoints changes one field of a signed note's
// text and keeps the signature.
func TestOpenRejectsChangedCheckpoints(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	note, err := merkle.Sign(testCheckpoint(), k.signer)
	if err != nil {
		t.Fatal(err)
	}
	text, sigs, _ := strings.Cut(string(note), "\n\n")
	tests := []struct {
		name     string
		old, new string
	}{
		{"size", "\n8\n", "\n9\n"},
		{"root", "\nXcnae", "\nYcnae"},
		{"origin", testOrigin + "\n", "kinerja.example/audix\n"},
		{"timestamp", "26.535897932Z", "27.535897932Z"},
		{"timestamp dropped", "timestamp 2025-03-14T01:59:26.535897932Z\n", ""},
		{"extension added", "932Z\n", "932Z\nepoch 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := strings.Replace(text+"\n", tt.old, tt.new, 1)
			if changed == text+"\n" {
				t.Fatalf("test does not change the text")
			}
			_, err := merkle.Open([]byte(changed+"\n"+sigs), k.verifier)
			if !errors.Is(err, merkle.ErrInvalidSignature) {
				t.Errorf("Open of a note with a changed %s: error = %v, want ErrInvalidSignature", tt.name, err)
			}
		})
	}
}

func TestOpenKeys(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	sameName := newTestKey(t, testOrigin, bytes.Repeat([]byte{9}, 32))
	witness := newTestKey(t, "witness.example/w1", bytes.Repeat([]byte{3}, 32))
	cp := testCheckpoint()
	signed, err := merkle.Sign(cp, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	text := string(signed[:bytes.Index(signed, []byte("\n\n"))+1])
	// A line with the verifier's name and key ID but another key's
	// signature, as a forger who knows only the public key would write.
	forgedSig := append(k.id[:], ed25519.Sign(sameName.priv, []byte(text))...)
	forged := "\u2014 " + testOrigin + " " + base64.StdEncoding.EncodeToString(forgedSig) + "\n"
	// The other key's ID under the verifier's name, and the verifier's ID
	// under another name: unknown keys, ignored.
	otherID := "\u2014 " + testOrigin + " " + base64.StdEncoding.EncodeToString(append(sameName.id[:], ed25519.Sign(k.priv, []byte(text))...)) + "\n"
	otherName := "\u2014 other.example " + base64.StdEncoding.EncodeToString(append(k.id[:], ed25519.Sign(k.priv, []byte(text))...)) + "\n"
	tests := []struct {
		name string
		note string
		want error
	}{
		{"signed", string(signed), nil},
		{"cosigned by a witness after", string(signed) + witness.sigLine(text), nil},
		{"cosigned by a witness before", text + "\n" + witness.sigLine(text) + k.sigLine(text), nil},
		{"signed by another key with the same name", string(sameName.note(text)), merkle.ErrUnknownKey},
		{"signed by a witness only", string(witness.note(text)), merkle.ErrUnknownKey},
		{"verifier's name, another key ID", text + "\n" + otherID, merkle.ErrUnknownKey},
		{"verifier's key ID, another name", text + "\n" + otherName, merkle.ErrUnknownKey},
		{"verifier's name and ID, another key's signature", text + "\n" + forged, merkle.ErrInvalidSignature},
		{"bad signature beside a good one", string(signed) + forged, merkle.ErrInvalidSignature},
		{"short signature", text + "\n\u2014 " + testOrigin + " " + base64.StdEncoding.EncodeToString(append(k.id[:], 1, 2, 3)) + "\n", merkle.ErrInvalidSignature},
		{"signature repeated", string(signed) + k.sigLine(text), merkle.ErrMalformedNote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := merkle.Open([]byte(tt.note), k.verifier)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if diff := cmp.Diff(cp, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Open (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenRejectsMalformed(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	good := testOrigin + "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
	line := k.sigLine(good)
	sigB64 := strings.TrimSuffix(strings.TrimPrefix(line, "\u2014 "+testOrigin+" "), "\n")
	tests := []struct {
		name string
		note string
		want error
	}{
		{"valid", good + "\n" + line, nil},
		{"empty", "", merkle.ErrMalformedNote},
		{"no blank line", good + line, merkle.ErrMalformedNote},
		{"no signatures", good + "\n", merkle.ErrMalformedNote},
		{"no final newline", good + "\n" + strings.TrimSuffix(line, "\n"), merkle.ErrMalformedNote},
		{"hyphens for the em dash", good + "\n-- " + testOrigin + " " + sigB64 + "\n", merkle.ErrMalformedNote},
		{"en dash", good + "\n\u2013 " + testOrigin + " " + sigB64 + "\n", merkle.ErrMalformedNote},
		{"two spaces after the dash", good + "\n\u2014  " + testOrigin + " " + sigB64 + "\n", merkle.ErrMalformedNote},
		{"no space before the signature", good + "\n\u2014 " + testOrigin + sigB64 + "\n", merkle.ErrMalformedNote},
		{"signature without padding", good + "\n\u2014 " + testOrigin + " " + strings.TrimRight(sigB64, "=") + "\n", merkle.ErrMalformedNote},
		{"signature in URL base64", good + "\n\u2014 " + testOrigin + " " + strings.NewReplacer("+", "-", "/", "_").Replace(sigB64) + "\n", merkle.ErrMalformedNote},
		{"signature with non-zero padding bits", good + "\n\u2014 " + testOrigin + " " + sigB64[:len(sigB64)-2] + nextB64(sigB64[len(sigB64)-2]) + "=" + "\n", merkle.ErrMalformedNote},
		{"signature of four bytes", good + "\n\u2014 " + testOrigin + " " + base64.StdEncoding.EncodeToString(k.id[:]) + "\n", merkle.ErrMalformedNote},
		{"empty signature line", good + "\n" + line + "\n", merkle.ErrMalformedNote},
		{"carriage return", strings.Replace(good, "\n8", "\r\n8", 1) + "\n" + line, merkle.ErrMalformedNote},
		{"tab", strings.Replace(good, "\n8", "\n\t8", 1) + "\n" + line, merkle.ErrMalformedNote},
		{"invalid UTF-8", good + "\n" + line + "\xff\n", merkle.ErrMalformedNote},
		{"too long", good + "\n" + line + strings.Repeat(line, 1<<20/len(line)), merkle.ErrMalformedNote},
		{"too many signatures", good + "\n" + strings.Repeat("\u2014 other.example "+sigB64+"\n", 101) + line, merkle.ErrMalformedNote},
		{"signature CRLF", good + "\n" + strings.TrimSuffix(line, "\n") + "\r\n", merkle.ErrMalformedNote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := merkle.Open([]byte(tt.note), k.verifier)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
}

// nextB64 returns the base64 digit after c, to set padding bits that must
// be zero.
func nextB64(c byte) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return string(digits[(strings.IndexByte(digits, c)+1)%64])
}

// TestOpenRejectsMalformedCheckpoints signs malformed bodies with the
// verifier's key: the signature is good, the checkpoint is not.
func TestOpenRejectsMalformedCheckpoints(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	root := "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
	tests := []struct {
		name string
		text string
		want error
	}{
		{"valid", testOrigin + "\n8\n" + root + "\n", nil},
		{"valid with extensions", testOrigin + "\n8\n" + root + "\nepoch 1\n", nil},
		{"two lines", testOrigin + "\n8\n", merkle.ErrMalformedCheckpoint},
		{"origin of another log", "other.example/log\n8\n" + root + "\n", merkle.ErrOriginMismatch},
		{"leading zero", testOrigin + "\n08\n" + root + "\n", merkle.ErrMalformedCheckpoint},
		{"plus sign", testOrigin + "\n+8\n" + root + "\n", merkle.ErrMalformedCheckpoint},
		{"negative", testOrigin + "\n-8\n" + root + "\n", merkle.ErrMalformedCheckpoint},
		{"hex size", testOrigin + "\n0x8\n" + root + "\n", merkle.ErrMalformedCheckpoint},
		{"size overflows", testOrigin + "\n18446744073709551616\n" + root + "\n", merkle.ErrMalformedCheckpoint},
		{"size with space", testOrigin + "\n8 \n" + root + "\n", merkle.ErrMalformedCheckpoint},
		{"root unpadded", testOrigin + "\n8\n" + strings.TrimRight(root, "=") + "\n", merkle.ErrMalformedCheckpoint},
		{"root padding bits", testOrigin + "\n8\n" + root[:42] + nextB64(root[42]) + "=\n", merkle.ErrMalformedCheckpoint},
		{"root of 31 bytes", testOrigin + "\n8\n" + base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n", merkle.ErrMalformedCheckpoint},
		{"root in hex", testOrigin + "\n8\n" + strings.Repeat("ab", 32) + "\n", merkle.ErrMalformedCheckpoint},
		{"empty extension line", testOrigin + "\n8\n" + root + "\n\nepoch 1\n", merkle.ErrMalformedCheckpoint},
		{"timestamp not UTC", testOrigin + "\n8\n" + root + "\ntimestamp 2025-03-14T08:59:26+07:00\n", merkle.ErrMalformedCheckpoint},
		{"timestamp trailing zeros", testOrigin + "\n8\n" + root + "\ntimestamp 2025-03-14T01:59:26.500Z\n", merkle.ErrMalformedCheckpoint},
		{"timestamp lower-case z", testOrigin + "\n8\n" + root + "\ntimestamp 2025-03-14T01:59:26z\n", merkle.ErrMalformedCheckpoint},
		{"timestamp not a time", testOrigin + "\n8\n" + root + "\ntimestamp yesterday\n", merkle.ErrMalformedCheckpoint},
		{"timestamp zero time", testOrigin + "\n8\n" + root + "\ntimestamp 0001-01-01T00:00:00Z\n", merkle.ErrMalformedCheckpoint},
		{"timestamp twice", testOrigin + "\n8\n" + root + "\ntimestamp 2025-03-14T01:59:26Z\ntimestamp 2025-03-14T01:59:27Z\n", merkle.ErrMalformedCheckpoint},
		{"timestamp after an extension", testOrigin + "\n8\n" + root + "\nepoch 1\ntimestamp 2025-03-14T01:59:26Z\n", merkle.ErrMalformedCheckpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := merkle.Open(k.note(tt.text), k.verifier)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestGolden pins the exact bytes of keys and of a signed checkpoint for a
// fixed seed: they are published and stored, so they are a contract. Run
// with -update to rewrite testdata after an intended change.
func TestGolden(t *testing.T) {
	k := newTestKey(t, testOrigin, testSeed())
	cp := testCheckpoint()
	cp.Extensions = []string{"kinerja-ledger audit v1"}
	note, err := merkle.Sign(cp, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"checkpoint.golden": note,
		"keys.golden":       []byte(k.skey + "\n" + k.vkey + "\n"),
	}
	for name, got := range files {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s changed (-want +got):\n%s", path, diff)
		}
	}
	// The pinned note still opens to the same checkpoint.
	want, err := os.ReadFile(filepath.Join("testdata", "checkpoint.golden"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := merkle.Open(want, k.verifier)
	if err != nil {
		t.Fatalf("Open(golden): %v", err)
	}
	if diff := cmp.Diff(cp, got); diff != "" {
		t.Errorf("Open(golden) (-want +got):\n%s", diff)
	}
}
