// Package wiring holds the glue between the service's parts that belongs
// to no single one of them: the audit Verifier and key files, and the
// projection positions. The commands (kinerjad, kinerjactl, projector) use
// it.
package wiring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// Audit key files in the data directory.
const (
	AuditKeyFile    = "audit-signing.key"
	AuditPubKeyFile = "audit-signing.pub"
)

// LoadOrCreateAuditKey returns the checkpoint signing key at path, creating
// it (mode 0600, and the public key beside it as .pub) with name if it does
// not exist. An existing key is never replaced: a new key could not prove
// the checkpoints signed before.
func LoadOrCreateAuditKey(path, name string) (*merkle.Signer, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := merkle.ParseSigner(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("audit key %s: %w", path, err)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	skey, vkey, err := merkle.GenerateKey(name, rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := createSecret(path, []byte(skey+"\n")); err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	pub := strings.TrimSuffix(path, filepath.Ext(path)) + ".pub"
	if err := os.WriteFile(pub, []byte(vkey+"\n"), 0o644); err != nil {
		return nil, err
	}
	return merkle.ParseSigner(skey)
}

// ReadVerifierKey reads a public (vkey) or private (skey) key file and
// returns its verifier.
func ReadVerifierKey(path string) (*merkle.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k := strings.TrimSpace(string(b))
	if strings.HasPrefix(k, "PRIVATE+KEY+") {
		s, err := merkle.ParseSigner(k)
		if err != nil {
			return nil, err
		}
		return s.Verifier(), nil
	}
	return merkle.NewVerifier(k)
}

// Verifier implements app.Verifier with audit.Verify over the event
// store: writer signatures authenticated, the stored trail (when there is
// one) compared at its watermark, the newest witnessed checkpoint required
// in the ledger.
type Verifier struct {
	Store      eventstore.Store
	Keys       []*merkle.Verifier
	WriterKeys *eventstore.Keyring
	Stored     audit.Stored
	// Witness, when set, supplies the newest witnessed checkpoint.
	Witness *audit.WitnessSet
}

var _ app.Verifier = (*Verifier)(nil)

// Verify implements app.Verifier.
func (v *Verifier) Verify(ctx context.Context) (audit.Report, error) {
	opts := audit.VerifyOptions{Keys: v.Keys, WriterKeys: v.WriterKeys, Stored: v.Stored}
	if v.Witness != nil {
		rec, ok, err := v.Witness.Latest(ctx)
		if err != nil {
			return audit.Report{}, err
		}
		if ok && rec.Checkpoint.Note != "" {
			opts.Witnessed = &rec.Checkpoint
		}
	}
	return audit.Verify(ctx, v.Store, opts)
}

var _ app.AgencyVerifier = (*Verifier)(nil)

// VerifyAgency implements app.AgencyVerifier with audit.VerifyAgency: one
// agency's log recomputed and compared with the stored one (when the
// stored trail keeps agency logs) and its checkpoints, the agency's writer
// signatures authenticated as Verify does (the newest witnessed
// checkpoint, else the latest signed one, covering those below it).
func (v *Verifier) VerifyAgency(ctx context.Context, agency string) (audit.Report, error) {
	opts := audit.AgencyVerifyOptions{Agency: agency, Keys: v.Keys, WriterKeys: v.WriterKeys}
	if s, ok := v.Stored.(audit.AgencyStored); ok {
		opts.Stored = s
	}
	if v.Witness != nil {
		rec, ok, err := v.Witness.Latest(ctx)
		if err != nil {
			return audit.Report{}, err
		}
		if ok && rec.Checkpoint.Note != "" {
			opts.Witnessed = &rec.Checkpoint
		}
	}
	return audit.VerifyAgency(ctx, v.Store, opts)
}

// SinkPositions implements app.Positions from the Sinks' checkpoints.
type SinkPositions map[string]projections.Sink

var _ app.Positions = SinkPositions(nil)

// Checkpoint implements app.Positions.
func (p SinkPositions) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	s, ok := p[name]
	if !ok {
		return 0, fmt.Errorf("no projection %q", name)
	}
	return s.Checkpoint(ctx)
}

var _ app.Versions = SinkPositions(nil)

// Version implements app.Versions: the Sink's Version when it has one
// (pgreadmodel's, which moves with any agency group), else its checkpoint.
func (p SinkPositions) Version(ctx context.Context, name string) (int64, error) {
	s, ok := p[name]
	if !ok {
		return 0, fmt.Errorf("no projection %q", name)
	}
	if v, ok := s.(interface {
		Version(context.Context) (int64, error)
	}); ok {
		return v.Version(ctx)
	}
	cp, err := s.Checkpoint(ctx)
	return int64(cp), err
}

// PositionsOf indexes sinks by name.
func PositionsOf(sinks []projections.Sink) SinkPositions {
	p := SinkPositions{}
	for _, s := range sinks {
		p[s.Name()] = s
	}
	return p
}
