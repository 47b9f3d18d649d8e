package eventstore

import (
	"bytes"
	"crypto/ed25519"
	"testing"
)

// liar claims another key's ID.
type liar struct {
	*Ed25519Signer
	id string
}

func (l liar) KeyID() string { return l.id }

func TestVouchedSignaturesAreKnownVerified(t *testing.T) {
	own := NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)))
	other := NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize)))
	k := NewKeyring(own.Public())
	h := Hash{1, 2, 3}

	s := k.Vouch(own)
	sig, err := SignHash(s, h)
	if err != nil {
		t.Fatal(err)
	}
	if !k.seen.has(h, sig) {
		t.Fatal("a signature made through the vouched signer is not known verified: the process would verify its own appends")
	}
	if err := k.Verify(h, sig); err != nil {
		t.Fatalf("Verify(own signature) = %v", err)
	}

	// A key the keyring does not trust, or a signer naming a trusted key
	// it does not hold, is not vouched for.
	for name, bad := range map[string]Signer{"untrusted": other, "liar": liar{other, own.KeyID()}} {
		if _, ok := k.Vouch(bad).(*vouched); ok {
			t.Errorf("%s: Vouch vouched for it", name)
		}
		h2 := Hash{4, byte(len(name))}
		sig, err := SignHash(k.Vouch(bad), h2)
		if err != nil {
			t.Fatal(err)
		}
		if k.seen.has(h2, sig) || k.Verify(h2, sig) == nil {
			t.Errorf("%s: its signature is taken as verified", name)
		}
	}
	if k.Vouch(nil) != nil {
		t.Error("Vouch(nil) is not nil")
	}
}
