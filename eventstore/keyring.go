package eventstore

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"sync"
)

// Keyring is the set of trusted writer public keys, by key ID. A key stays
// in the keyring after it is rotated out, so that the events it signed keep
// verifying; removing a key makes every event it signed fail with
// ErrUnknownKey. It is safe for concurrent use.
type Keyring struct {
	mu   sync.RWMutex
	keys map[string]ed25519.PublicKey
	ids  []string // in the order added

	// seen remembers signatures that verified, so that the feeds of one
	// process (one per projection, the API's reads) verify each once.
	seen verifiedSet
}

// verifiedSet is a bounded set of verified (hash, key ID, signature)
// triples, forgetting the oldest first.
type verifiedSet struct {
	mu   sync.Mutex
	m    map[Hash]WriterSignature
	ring []Hash
	next int
}

// maxVerified bounds the verified signatures a Keyring remembers.
const maxVerified = 1 << 16

func (v *verifiedSet) has(h Hash, s WriterSignature) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	got, ok := v.m[h]
	return ok && got.KeyID == s.KeyID && bytes.Equal(got.Sig, s.Sig)
}

func (v *verifiedSet) add(h Hash, s WriterSignature) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		// Grown to the bound at once on first use (once per process),
		// rather than rehashed on the way.
		v.m, v.ring = make(map[Hash]WriterSignature, maxVerified), make([]Hash, maxVerified)
	}
	if _, ok := v.m[h]; ok {
		return
	}
	if old := v.ring[v.next]; old != (Hash{}) {
		delete(v.m, old)
	}
	v.ring[v.next] = h
	v.m[h] = WriterSignature{KeyID: s.KeyID, Sig: slices.Clone(s.Sig)}
	v.next = (v.next + 1) % maxVerified
}

// NewKeyring returns a keyring trusting pubs.
func NewKeyring(pubs ...ed25519.PublicKey) *Keyring {
	k := &Keyring{keys: map[string]ed25519.PublicKey{}}
	for _, p := range pubs {
		k.Add(p)
	}
	return k
}

// Add trusts pub and returns its key ID. Adding a key twice changes nothing.
func (k *Keyring) Add(pub ed25519.PublicKey) string {
	id := WriterKeyID(pub)
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[id]; !ok {
		k.keys[id] = slices.Clone(pub)
		k.ids = append(k.ids, id)
	}
	return id
}

// IDs returns the trusted key IDs in the order they were added.
func (k *Keyring) IDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Clone(k.ids)
}

// Key returns the public key with id.
func (k *Keyring) Key(id string) (ed25519.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	p, ok := k.keys[id]
	return p, ok
}

// Has reports whether the key with id is trusted.
func (k *Keyring) Has(id string) bool {
	_, ok := k.Key(id)
	return ok
}

// Len returns the number of trusted keys.
func (k *Keyring) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.ids)
}

// Verify checks a writer signature over the chain hash h. It returns nil,
// or an error matching ErrUnsigned (no signature), ErrUnknownKey (a key
// this keyring does not trust) or ErrBadSignature. The last 65,536
// signatures that verified are remembered, so that the several feeds of a
// process (one per projection) pay 77 µs for an append once, not each.
func (k *Keyring) Verify(h Hash, s WriterSignature) error {
	if s.IsZero() {
		return ErrUnsigned
	}
	pub, ok := k.Key(s.KeyID)
	if !ok {
		return fmt.Errorf("%w: key %q", ErrUnknownKey, s.KeyID)
	}
	if k.seen.has(h, s) {
		return nil // verified before (the key is still trusted: checked above)
	}
	if len(s.Sig) != ed25519.SignatureSize || !ed25519.Verify(pub, WriterMessage(s.KeyID, h), s.Sig) {
		return fmt.Errorf("%w: key %s", ErrBadSignature, s.KeyID)
	}
	k.seen.add(h, s)
	return nil
}

// CheckHead is what a backend asks before it appends onto ev, the stream's
// stored head: the head must be the signed last event of an append, with a
// signature this keyring verifies. Otherwise an event inserted behind the
// store's back (unsigned, with a correctly recomputed chain hash) would be
// covered by the next legitimate append's signature. It returns nil or an
// *IntegrityError naming ev.
func (k *Keyring) CheckHead(ev Event) error {
	if err := k.Verify(ev.Hash, ev.Signature); err != nil {
		return &IntegrityError{Stream: ev.Stream, Revision: ev.Revision, EventID: ev.ID, Position: ev.Position,
			Problem: "the stream's head is not a signed append (" + err.Error() + "): refusing to append onto it", Err: kindOf(err)}
	}
	return nil
}

// ParseKeyring reads a keyring file: PEM "PUBLIC KEY" blocks (PKIX Ed25519
// keys, as MarshalPublicKey writes them), any text outside the blocks being
// comments. A block of another type or key algorithm is an error: a
// keyring that silently dropped a key would fail every event it signed.
func ParseKeyring(b []byte) (*Keyring, error) {
	k := NewKeyring()
	for n := 1; ; n++ {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			if len(bytes.TrimSpace(stripComments(b))) > 0 {
				return nil, fmt.Errorf("eventstore: keyring: text after block %d is not a PEM block", n-1)
			}
			return k, nil
		}
		if block.Type != pemPublicKey {
			return nil, fmt.Errorf("eventstore: keyring: block %d is %q, want %q", n, block.Type, pemPublicKey)
		}
		pk, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("eventstore: keyring: block %d: %w", n, err)
		}
		pub, ok := pk.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("eventstore: keyring: block %d is a %T, not an Ed25519 key", n, pk)
		}
		k.Add(pub)
	}
}

// stripComments drops lines starting with '#'.
func stripComments(b []byte) []byte {
	var out []byte
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

// MarshalPEM encodes the keyring as ParseKeyring reads it, keys in the order
// they were added.
func (k *Keyring) MarshalPEM() ([]byte, error) {
	var out []byte
	for _, id := range k.IDs() {
		pub, _ := k.Key(id)
		b, err := MarshalPublicKey(pub)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// Vouch returns s as a Signer whose signatures this keyring remembers as
// verified the moment they are made (SignHash), so that the reads of the
// process that wrote an append (its projections' feeds, its API's loads,
// the next append's CheckHead) never verify its own signature: an Ed25519
// signature made with the private key of a trusted public key verifies by
// construction. Vouch checks that once: it signs a probe and verifies it
// against the keyring's key of the same ID; if that fails (a key the
// keyring does not trust, or a signer whose key is not the one its ID
// names), it returns s unchanged and its signatures are verified like any
// other. A nil s gives nil.
func (k *Keyring) Vouch(s Signer) Signer {
	if s == nil || k == nil {
		return s
	}
	var probe Hash
	copy(probe[:], "kinerja/vouch-probe")
	sig, err := SignHash(s, probe)
	if err != nil {
		return s
	}
	pub, ok := k.Key(sig.KeyID)
	if !ok || !ed25519.Verify(pub, WriterMessage(sig.KeyID, probe), sig.Sig) {
		return s
	}
	return &vouched{Signer: s, k: k}
}

// vouched is a Signer whose signatures its keyring takes as verified.
type vouched struct {
	Signer
	k *Keyring
}
