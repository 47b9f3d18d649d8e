package merkle

import (
	"crypto/ed25519"
	"errors"
)

// messagePrefix opens every message that SignMessage signs. A signed note's
// text holds no control characters (checkNoteChars), and the context is
// followed by a NUL byte: no message signature is a note signature, and no
// note signature verifies as a message, so one key serves both.
const messagePrefix = "kinerja/signed-message/v1\x00"

// ErrContext reports a message context that is empty or holds a NUL.
var ErrContext = errors.New("merkle: message context must be non-empty and hold no NUL")

func messageBytes(context string, msg []byte) ([]byte, error) {
	if context == "" {
		return nil, ErrContext
	}
	for i := 0; i < len(context); i++ {
		if context[i] == 0 {
			return nil, ErrContext
		}
	}
	b := make([]byte, 0, len(messagePrefix)+len(context)+1+len(msg))
	b = append(b, messagePrefix...)
	b = append(b, context...)
	b = append(b, 0)
	return append(b, msg...), nil
}

// SignMessage signs msg for context (for example
// "kinerja/document-code/v1"), domain-separated from the signed notes of
// checkpoints and from other contexts: the printed documents' verification
// codes are signed this way with the audit key. It returns the 64-byte
// Ed25519 signature.
func (s *Signer) SignMessage(context string, msg []byte) ([]byte, error) {
	b, err := messageBytes(context, msg)
	if err != nil {
		return nil, err
	}
	return ed25519.Sign(s.key, b), nil
}

// VerifyMessage reports whether sig is this key's SignMessage signature on
// msg for context.
func (v *Verifier) VerifyMessage(context string, msg, sig []byte) bool {
	b, err := messageBytes(context, msg)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(v.key, b, sig)
}

// KeyIDNumber returns the key ID as a number (KeyID is its hex form).
func (v *Verifier) KeyIDNumber() uint32 { return v.id }
