package merkle

import (
	"errors"
	"fmt"
)

// Errors of trees and proofs. Every failure the package detects itself wraps
// one of its sentinel errors, so callers test with errors.Is, never by
// message; errors of a NodeReader or an io.Reader are passed through
// wrapped.
var (
	// ErrIndexOutOfRange reports a leaf index at or beyond the tree size.
	ErrIndexOutOfRange = errors.New("merkle: leaf index out of range")
	// ErrInvalidSize reports tree sizes that cannot go together: a first
	// size greater than the second, or a frontier that does not fit its
	// size.
	ErrInvalidSize = errors.New("merkle: invalid tree size")
	// ErrNodeNotFound reports a node a NodeReader does not hold. Readers
	// wrap it so that proofs asked for beyond the stored tree say so.
	ErrNodeNotFound = errors.New("merkle: node not found")
	// ErrNodeConflict reports an attempt to store a node at a position that
	// already holds a different hash, or out of append order.
	ErrNodeConflict = errors.New("merkle: node conflicts with the stored tree")
	// ErrProofLength reports a proof with more or fewer hashes than the
	// sizes in the claim require.
	ErrProofLength = errors.New("merkle: proof has the wrong length")
	// ErrProofMismatch reports a proof whose hashes do not lead to the
	// claimed root. The error is a *MismatchError carrying both hashes.
	ErrProofMismatch = errors.New("merkle: proof does not match the root")
)

// MismatchError is the detail of ErrProofMismatch: which root a proof
// failed to reproduce, the hash recomputed from the proof and the hash it
// was checked against.
type MismatchError struct {
	// Proof is "inclusion" or "consistency".
	Proof string
	// Root names the root that differs: "root" for an inclusion proof,
	// "root1" (the earlier tree) or "root2" (the later tree) for a
	// consistency proof.
	Root string
	// Got is the root recomputed from the proof.
	Got Hash
	// Want is the root the caller trusts.
	Want Hash
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("merkle: %s proof: recomputed %s %s, want %s", e.Proof, e.Root, e.Got, e.Want)
}

// Unwrap returns ErrProofMismatch, so errors.Is(err, ErrProofMismatch)
// holds for every MismatchError.
func (e *MismatchError) Unwrap() error { return ErrProofMismatch }
