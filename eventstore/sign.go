package eventstore

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// writerMagic opens every message a writer signs. It separates writer
// signatures from any other use of the key and names the message's version.
const writerMagic = "kinerja/writer/v1"

// Signer signs appends: the backend that seals an append (and so knows the
// stream's head) signs the chain hash of its last event. Ed25519Signer is
// the default, a key held in memory; a KMS or HSM implements the same two
// methods. Implementations are safe for concurrent use.
type Signer interface {
	// KeyID names the key: WriterKeyID of its Ed25519 public key, the ID a
	// Keyring knows it by.
	KeyID() string
	// Sign returns the Ed25519 signature of message. An error fails the
	// append, which then writes nothing.
	Sign(message []byte) ([]byte, error)
}

// WriterSignature is the writer's signature stored with the last event of
// every append. The events before it in the same append are covered through
// the hash chain: the signed chain hash commits to each of them.
type WriterSignature struct {
	// KeyID names the signing key (see WriterKeyID); empty on an event that
	// is not the last of its append.
	KeyID string
	// Sig is the Ed25519 signature of WriterMessage(KeyID, the event's hash).
	Sig []byte
}

// IsZero reports whether s carries no signature.
func (s WriterSignature) IsZero() bool { return s.KeyID == "" && len(s.Sig) == 0 }

// MaxKeyIDLen bounds a stored key ID; WriterKeyID returns 16 characters.
const MaxKeyIDLen = 64

// WriterMessage is what a writer signs for the event whose chain hash is h:
//
//	"kinerja/writer/v1" ‖ 4-byte big-endian length of keyID ‖ keyID ‖ h
//
// The key ID is inside the message so that a signature cannot be presented
// as another key's. The chain hash commits to the stream, the revision, the
// envelope, the data and every earlier event of the stream.
func WriterMessage(keyID string, h Hash) []byte {
	b := make([]byte, 0, len(writerMagic)+4+len(keyID)+len(h))
	b = append(b, writerMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keyID)))
	b = append(b, keyID...)
	return append(b, h[:]...)
}

// SignHash signs the chain hash of an append's last event with s. A nil
// Signer gives the zero signature (a store opened without a writer key
// writes unsigned events, which an Authenticator refuses).
func SignHash(s Signer, h Hash) (WriterSignature, error) {
	if s == nil {
		return WriterSignature{}, nil
	}
	id := s.KeyID()
	if id == "" || len(id) > MaxKeyIDLen {
		return WriterSignature{}, fmt.Errorf("eventstore: writer key ID %q is empty or longer than %d bytes", id, MaxKeyIDLen)
	}
	sig, err := s.Sign(WriterMessage(id, h))
	if err != nil {
		return WriterSignature{}, fmt.Errorf("eventstore: sign append: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return WriterSignature{}, fmt.Errorf("eventstore: sign append: signer returned %d bytes, want an Ed25519 signature (%d)", len(sig), ed25519.SignatureSize)
	}
	ws := WriterSignature{KeyID: id, Sig: sig}
	if v, ok := s.(*vouched); ok {
		v.k.seen.add(h, ws) // made with a key the keyring checked (Vouch)
	}
	return ws, nil
}

// WriterKeyID returns the ID of a writer public key: the first 8 bytes of
// SHA-256 of its PKIX (DER) encoding, in hex. The ID is derived from the key,
// so no one can give a key another key's name.
func WriterKeyID(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		// Only a key of the wrong length fails; hash its raw bytes, which no
		// Keyring accepts either.
		der = pub
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// Ed25519Signer is a Signer over an Ed25519 private key held in memory
// (read from a key file; see ParseWriterKey).
type Ed25519Signer struct {
	id   string
	priv ed25519.PrivateKey
}

var _ Signer = (*Ed25519Signer)(nil)

// NewEd25519Signer returns a Signer for priv.
func NewEd25519Signer(priv ed25519.PrivateKey) *Ed25519Signer {
	return &Ed25519Signer{id: WriterKeyID(priv.Public().(ed25519.PublicKey)), priv: priv}
}

// KeyID implements Signer.
func (s *Ed25519Signer) KeyID() string { return s.id }

// Sign implements Signer.
func (s *Ed25519Signer) Sign(message []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, message), nil
}

// Public returns the signer's public key.
func (s *Ed25519Signer) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

// PEM block types of writer key files: a PKCS #8 private key and a PKIX
// public key, the encodings `openssl genpkey -algorithm ed25519` and
// `openssl pkey -pubout` write.
const (
	pemPrivateKey = "PRIVATE KEY"
	pemPublicKey  = "PUBLIC KEY"
)

// MarshalWriterKey encodes priv as a PEM PKCS #8 private key.
func MarshalWriterKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("eventstore: writer key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParseWriterKey reads a PEM PKCS #8 Ed25519 private key (MarshalWriterKey,
// or openssl genpkey -algorithm ed25519).
func ParseWriterKey(b []byte) (*Ed25519Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemPrivateKey {
		return nil, errors.New("eventstore: writer key: no PEM \"PRIVATE KEY\" block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("eventstore: writer key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("eventstore: writer key: a %T, not an Ed25519 key", k)
	}
	return NewEd25519Signer(priv), nil
}

// MarshalPublicKey encodes pub as a PEM PKIX public key, with its key ID in
// a comment line before the block.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("eventstore: public key: %w", err)
	}
	out := fmt.Appendf(nil, "# kinerja writer key %s\n", WriterKeyID(pub))
	return append(out, pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der})...), nil
}
