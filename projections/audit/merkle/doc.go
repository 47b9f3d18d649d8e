// Package merkle keeps the tamper-evident audit trail of the ledger: an
// append-only Merkle tree over audit entries, the proofs that let an auditor
// check the log without trusting it, and signed checkpoints that commit the
// log to one history.
//
// # Design
//
// The tree is the one Certificate Transparency uses, so that any RFC 6962
// client can audit it: leaves are hashed as SHA-256(0x00 ‖ entry), interior
// nodes as SHA-256(0x01 ‖ left ‖ right), and a tree of n leaves splits at the
// largest power of two below n (RFC 6962 §2.1, RFC 9162 §2.1). The domain
// separation bytes keep a leaf from ever being passed off as a node.
//
// Writers hold a [Tree]: the compact frontier of at most 64 perfect subtrees
// that cover the leaves so far. [Tree.Append] returns every complete subtree
// node the new leaf finishes; a store persists those [Node] values and never
// rewrites them. Nothing is stored for the ragged right edge of the tree: the
// hash of an incomplete subtree is recomputed from the complete nodes below it
// whenever a proof or an earlier root needs it. So [InclusionProof],
// [ConsistencyProof] and [RootAt] read O(log n) nodes through a [NodeReader]
// and work for any size the store has reached, and a restarted writer rebuilds
// its frontier with [RestoreTree] from the same nodes. [MemNodes] is the
// in-memory store for embedded mode and tests.
//
// Verification follows the iterative algorithms of RFC 9162 §2.1.3.2 and
// §2.1.4.2, and every element of a proof is checked: the proof must have
// exactly the length the sizes imply, every hash enters the recomputed roots,
// and for a consistency proof both the old and the new root are recomputed and
// compared. immudb shipped a client that checked only the ends of a
// consistency proof, which let a server pass off a forged history
// (GHSA-672p-m5jq-mrh8); the tests flip, drop, add and swap the elements of
// every proof in trees of up to 130 leaves, and fuzz the verifiers against a
// reference tree, to keep that from happening here.
//
// A [Checkpoint] is the signed tree head: a C2SP tlog-checkpoint body (origin,
// size, base64 root, extension lines) inside a C2SP signed note with an
// Ed25519 signature. The time the log signed it travels in a "timestamp"
// extension line so that the signature covers it. Keys use the signed-note
// text formats, so the notes and keys interoperate with
// golang.org/x/mod/sumdb/note and transparency-dev tooling. The package reads
// no clock and no random source of its own: times and io.Reader sources are
// parameters.
//
// References:
//   - RFC 6962, Certificate Transparency: https://www.rfc-editor.org/rfc/rfc6962
//   - RFC 9162, Certificate Transparency Version 2.0: https://www.rfc-editor.org/rfc/rfc9162
//   - C2SP signed note: https://c2sp.org/signed-note
//   - C2SP transparency log checkpoint: https://c2sp.org/tlog-checkpoint
package merkle
