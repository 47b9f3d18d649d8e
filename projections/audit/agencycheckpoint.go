package audit

// # Agency and national checkpoints (issue 15)
//
// Each signing round appends one checkpoint event, as before. Its note is
// the national checkpoint: the C2SP checkpoint of the global tree (same
// origin, size, root and timestamp lines as before) followed by one
// extension line per agency log, ordered by agency,
//
//	agency <agency ID, or - for the national log> <size> <base64 root>
//
// so that the one signature covers the global root and every agency root
// at that point (the agency sizes add up to the global size). Checkpoints
// signed before issue 15 have no such lines and verify as they did.
//
// The same event carries an agency checkpoint for each agency whose log
// grew since the previous round: a C2SP checkpoint of that agency's log,
// signed with the same key, whose one extension line names the log,
//
//	log agency <agency ID, or ->
//
// An agency's auditor verifies their log against it without any other
// agency's data. The "log agency" line keeps an agency checkpoint from
// passing for a global one: OpenCheckpoint refuses a note that has it,
// and OpenAgencyCheckpoint one that lacks it or names another agency.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// AgencyRoot is an agency log's head as the national checkpoint signs it.
type AgencyRoot struct {
	Agency   string      `json:"agency"`
	Size     uint64      `json:"size"`
	RootHash merkle.Hash `json:"root_hash"`
}

// AgencyCheckpoint is a signed checkpoint of one agency's log.
type AgencyCheckpoint struct {
	// Agency is the log ("" the national log).
	Agency string `json:"agency"`
	// Size is the number of the agency's entries it covers; RootHash the
	// agency tree's root at Size.
	Size     uint64      `json:"size"`
	RootHash merkle.Hash `json:"root_hash"`
	// SignedAt, KeyID, Signature, Origin and Note are as in Checkpoint.
	SignedAt  time.Time `json:"signed_at"`
	KeyID     string    `json:"key_id"`
	Signature string    `json:"signature"`
	Origin    string    `json:"origin"`
	Note      string    `json:"note"`
	// Position is the checkpoint event that carries it (with the national
	// checkpoint that lists its root).
	Position eventstore.Position `json:"position"`
}

const (
	agencyLinePrefix = "agency "
	logLinePrefix    = "log agency "
	nationalToken    = "-"
)

var b64 = base64.StdEncoding

func agencyToken(agency string) string {
	if agency == NationalLog {
		return nationalToken
	}
	return agency
}

func tokenAgency(tok string) string {
	if tok == nationalToken {
		return NationalLog
	}
	return tok
}

// agencyLines returns the national note's extension lines for roots.
func agencyLines(roots []AgencyRoot) []string {
	out := make([]string, len(roots))
	for i, r := range roots {
		out[i] = fmt.Sprintf("%s%s %d %s", agencyLinePrefix, agencyToken(r.Agency), r.Size, b64.EncodeToString(r.RootHash[:]))
	}
	return out
}

// parseAgencyLines reads the agency lines of a national note's extensions.
func parseAgencyLines(exts []string) ([]AgencyRoot, error) {
	var out []AgencyRoot
	for _, e := range exts {
		if strings.HasPrefix(e, logLinePrefix) {
			return nil, errors.New("the note is an agency checkpoint, not a national one")
		}
		rest, ok := strings.CutPrefix(e, agencyLinePrefix)
		if !ok {
			continue // an extension this version does not know
		}
		f := strings.Split(rest, " ")
		if len(f) != 3 {
			return nil, fmt.Errorf("agency line %q: want agency, size and root", e)
		}
		size, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("agency line %q: size: %w", e, err)
		}
		root, err := b64.DecodeString(f[2])
		if err != nil || len(root) != merkle.HashSize {
			return nil, fmt.Errorf("agency line %q: root is not a base64 hash", e)
		}
		r := AgencyRoot{Agency: tokenAgency(f[0]), Size: size, RootHash: merkle.Hash(root)}
		if n := len(out); n > 0 && out[n-1].Agency >= r.Agency {
			return nil, fmt.Errorf("agency line %q: agencies out of order or repeated", e)
		}
		out = append(out, r)
	}
	return out, nil
}

// FindAgency returns agency's root in c's list.
func (c Checkpoint) FindAgency(agency string) (AgencyRoot, bool) {
	for _, r := range c.Agencies {
		if r.Agency == agency {
			return r, true
		}
	}
	return AgencyRoot{}, false
}

// agencyCheckpointData is an agency checkpoint in the checkpoint event's
// JSON. Note is authoritative.
type agencyCheckpointData struct {
	Agency    string      `json:"agency"`
	Note      string      `json:"note"`
	Size      uint64      `json:"size"`
	RootHash  merkle.Hash `json:"root_hash"`
	SignedAt  time.Time   `json:"signed_at"`
	KeyID     string      `json:"key_id"`
	Signature string      `json:"signature"`
}

// signAgency signs the checkpoint of agency's log.
func signAgency(key *merkle.Signer, r AgencyRoot, at time.Time) (AgencyCheckpoint, error) {
	cp := merkle.Checkpoint{Origin: key.Name(), Size: r.Size, Root: r.RootHash, SignedAt: at, Extensions: []string{logLinePrefix + agencyToken(r.Agency)}}
	note, err := merkle.Sign(cp, key)
	if err != nil {
		return AgencyCheckpoint{}, err
	}
	_, sig, err := merkle.OpenSignature(note, key.Verifier())
	if err != nil {
		return AgencyCheckpoint{}, err
	}
	return AgencyCheckpoint{Agency: r.Agency, Size: r.Size, RootHash: r.RootHash, SignedAt: at, KeyID: sig.KeyID(),
		Signature: sig.Base64(), Origin: cp.Origin, Note: string(note)}, nil
}

// OpenAgencyCheckpoint verifies c's note with one of verifiers: the
// signature, that the note is the checkpoint of c.Agency's log, and that
// the readable fields agree with it.
func OpenAgencyCheckpoint(c AgencyCheckpoint, verifiers ...*merkle.Verifier) error {
	var errs []error
	for _, v := range verifiers {
		cp, sig, err := merkle.OpenSignature([]byte(c.Note), v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var logs []string
		for _, e := range cp.Extensions {
			if tok, ok := strings.CutPrefix(e, logLinePrefix); ok {
				logs = append(logs, tokenAgency(tok))
			}
		}
		if len(logs) != 1 || logs[0] != c.Agency {
			return fmt.Errorf("audit: agency checkpoint of %q at size %d: its signed note names the logs %q", c.Agency, c.Size, logs)
		}
		if cp.Size != c.Size || cp.Root != c.RootHash || !cp.SignedAt.Equal(c.SignedAt) || sig.KeyID() != c.KeyID || sig.Base64() != c.Signature {
			return fmt.Errorf("audit: agency checkpoint of %q at size %d: its fields differ from its signed note", c.Agency, c.Size)
		}
		return nil
	}
	if len(errs) == 0 {
		return errors.New("audit: no verification key")
	}
	return fmt.Errorf("audit: agency checkpoint of %q at size %d: no known key verifies it: %w", c.Agency, c.Size, errors.Join(errs...))
}

// InNational checks that the national checkpoint n (opened with
// OpenCheckpoint) lists agency checkpoint c's root at c's size.
func InNational(n Checkpoint, c AgencyCheckpoint) error {
	r, ok := n.FindAgency(c.Agency)
	switch {
	case !ok:
		return fmt.Errorf("audit: the national checkpoint of size %d does not list agency %q", n.Size, c.Agency)
	case r.Size != c.Size || r.RootHash != c.RootHash:
		return fmt.Errorf("audit: the national checkpoint of size %d lists agency %q at size %d root %s, its agency checkpoint says size %d root %s",
			n.Size, c.Agency, r.Size, r.RootHash, c.Size, c.RootHash)
	}
	return nil
}

// NoteAgencies reads the agency roots of a national checkpoint's note
// without verifying its signature (a read model's readable copy; see
// OpenCheckpoint for the verified one). A note it cannot read gives none.
func NoteAgencies(note string) []AgencyRoot {
	text, _, ok := strings.Cut(note, "\n\n")
	if !ok {
		return nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 3 {
		return nil
	}
	roots, err := parseAgencyLines(lines[3:])
	if err != nil {
		return nil
	}
	return roots
}
