package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// HashSize is the length in bytes of every hash in the tree.
const HashSize = sha256.Size

// Hash is a SHA-256 digest: a leaf hash, a node hash or a tree root.
type Hash [HashSize]byte

// Domain separation prefixes of RFC 6962 §2.1.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// LeafHash returns the RFC 6962 hash of a leaf entry, SHA-256(0x00 ‖ data).
func LeafHash(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// NodeHash returns the RFC 6962 hash of an interior node,
// SHA-256(0x01 ‖ left ‖ right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = nodePrefix
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot returns the root of the empty tree, the SHA-256 of the empty
// string (RFC 6962 §2.1).
func EmptyRoot() Hash {
	return sha256.Sum256(nil)
}

// String returns the hash in lower-case hex.
func (h Hash) String() string {
	return hex.EncodeToString(h[:])
}

// MarshalText encodes the hash in lower-case hex, as String does.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(HashSize))
	hex.Encode(out, h[:])
	return out, nil
}

// UnmarshalText decodes a hash written by MarshalText.
func (h *Hash) UnmarshalText(text []byte) error {
	parsed, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}

// ParseHash decodes a hash from the 64 lower-case hex digits String writes.
// Upper-case digits are refused so that every hash has one text form.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != hex.EncodedLen(HashSize) {
		return h, fmt.Errorf("merkle: parse hash: %d characters, want %d", len(s), hex.EncodedLen(HashSize))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return h, fmt.Errorf("merkle: parse hash: %q at %d is not a lower-case hex digit", c, i)
		}
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("merkle: parse hash: %w", err)
	}
	return h, nil
}
