package merkle

import (
	"bytes"
	"strings"
	"testing"
)

func TestMessageSignatures(t *testing.T) {
	skey, _, err := GenerateKey("kinerja.example/audit", bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v := s.Verifier()
	sig, err := s.SignMessage("kinerja/document-code/v1", []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if !v.VerifyMessage("kinerja/document-code/v1", []byte("payload"), sig) {
		t.Fatal("a message signature does not verify")
	}
	for _, c := range []struct {
		ctx, msg string
	}{{"kinerja/document-code/v2", "payload"}, {"kinerja/document-code/v1", "payloae"}, {"", "payload"}} {
		if v.VerifyMessage(c.ctx, []byte(c.msg), sig) {
			t.Errorf("verifies for %q %q", c.ctx, c.msg)
		}
	}
	if _, err := s.SignMessage("a\x00b", nil); err == nil {
		t.Error("a context with NUL signed")
	}
	// A message signature is never a note signature: the signed bytes hold
	// a NUL, which no note text may.
	if strings.Contains(messagePrefix, "\n") || !strings.Contains(messagePrefix, "\x00") {
		t.Error("message prefix is not separated from notes")
	}
	other, _, _ := GenerateKey("other.example/audit", bytes.NewReader(bytes.Repeat([]byte{8}, 32)))
	o, _ := ParseSigner(other)
	if o.Verifier().VerifyMessage("kinerja/document-code/v1", []byte("payload"), sig) {
		t.Error("another key verifies the signature")
	}
	if v.KeyIDNumber() == 0 {
		t.Error("key ID number is zero")
	}
}
