package wiring

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadWriterKeys(t *testing.T) {
	dir := t.TempDir()
	key, ring := filepath.Join(dir, "keys", WriterKeyFile), filepath.Join(dir, "keys", WriterKeyringFile)
	if _, err := LoadWriterKeys(key, ring, false); !errors.Is(err, ErrNoWriterKey) || !strings.Contains(err.Error(), "keys init") {
		t.Fatalf("LoadWriterKeys of a missing key, without create = %v, want ErrNoWriterKey saying how to make one", err)
	}
	k, err := LoadWriterKeys(key, ring, true)
	if err != nil || !k.Created || !k.Keyring.Has(k.Signer.KeyID()) {
		t.Fatalf("LoadWriterKeys with create = %+v, %v", k, err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	again, err := LoadWriterKeys(key, ring, true)
	if err != nil || again.Created || again.Signer.KeyID() != k.Signer.KeyID() {
		t.Fatalf("second LoadWriterKeys = %+v, %v; want the same key, not created", again, err)
	}
	fromFile, err := LoadKeyring(ring)
	if err != nil || !fromFile.Has(k.Signer.KeyID()) || fromFile.Len() != 1 {
		t.Errorf("keyring file = %v, %v; want the key's public half", fromFile.IDs(), err)
	}
	if _, err := CreateWriterKey(key); err == nil {
		t.Error("CreateWriterKey over an existing key succeeded")
	}
	if err := os.WriteFile(ring, []byte("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWriterKeys(key, ring, true); err == nil {
		t.Error("LoadWriterKeys with a damaged keyring succeeded")
	}
}

func TestIntegrityConfig(t *testing.T) {
	c := IntegrityConfig{WitnessFile: "/witness/w.json"}.WithDefaults("/data")
	if c.WriterKey != filepath.Join("/data", WriterKeyFile) || c.WriterKeyring != filepath.Join("/data", WriterKeyringFile) || c.WitnessFile != "/witness/w.json" {
		t.Errorf("WithDefaults = %+v", c)
	}
	for _, c := range []struct {
		reason string
		ok     bool
	}{
		{"", true},
		{"restored the backup of 3 March (OPS-17)", true},
		{"line one\nline two", false},
		{"nul\x00", false},
		{string([]byte{0xff, 0xfe}), false},
		{strings.Repeat("x", 8193), false},
	} {
		err := IntegrityConfig{AcceptRollback: c.reason}.Validate()
		if (err == nil) != c.ok {
			t.Errorf("Validate(--accept-rollback %q) = %v, want ok=%v", c.reason, err, c.ok)
		}
	}
}
