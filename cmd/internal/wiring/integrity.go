package wiring

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/cmd/internal/config"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// IntegrityConfig is the configuration every process that writes to the
// ledger shares (kinerjad, the projector, kinerjactl seed): its writer key,
// the keyring of trusted writer keys, the witnesses of the signed
// checkpoints, and the operator's override of a rollback.
type IntegrityConfig struct {
	// WriterKey is the writer key file (default DATA/writer-signing.key).
	WriterKey string
	// WriterKeyring is the trusted writer keys (default
	// DATA/writer-keyring.pem).
	WriterKeyring string
	// WitnessFile is the witness file (default DATA/witness.json; put it
	// on another volume in production).
	WitnessFile string
	// WitnessNATSURL, when set, also witnesses in a JetStream stream;
	// WitnessNATSStream and WitnessNATSSubject name it.
	WitnessNATSURL, WitnessNATSStream, WitnessNATSSubject string
	// AcceptRollback is the operator's reason to start on a store that is
	// behind or disagrees with the witness (or whose bbolt meta page is
	// damaged); empty refuses. It has no environment variable on purpose:
	// an override is given for one start, not configured.
	AcceptRollback string
}

// RegisterFlags defines the flags; config.Parse sets them from their
// variables (KINERJA_WRITER_KEY, …), except --accept-rollback (pass NoEnv).
func (c *IntegrityConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.WriterKey, "writer-key", "", "writer signing key, PEM PKCS #8 Ed25519 (default DATA/"+WriterKeyFile+"; created on the first start)")
	fs.StringVar(&c.WriterKeyring, "writer-keyring", "", "trusted writer public keys, PEM (default DATA/"+WriterKeyringFile+")")
	c.RegisterWitnessFlags(fs)
	fs.StringVar(&c.AcceptRollback, "accept-rollback", "", "REASON: start although the store is behind or disagrees with the witness; recorded in the audit trail (no environment variable)")
}

// RegisterWitnessFlags defines the witness flags alone (kinerjactl seed,
// which signs a checkpoint and must witness it exactly where kinerjad
// does).
func (c *IntegrityConfig) RegisterWitnessFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.WitnessFile, "witness-file", "", "witness of the signed checkpoints (default DATA/"+WitnessFile+"; keep it on another volume)")
	fs.StringVar(&c.WitnessNATSURL, "witness-nats-url", "", "also witness checkpoints in a NATS JetStream stream on this server")
	fs.StringVar(&c.WitnessNATSStream, "witness-nats-stream", "KINERJA_WITNESS", "JetStream stream of the witness")
	fs.StringVar(&c.WitnessNATSSubject, "witness-nats-subject", "kinerja.witness", "subject of the witness records")
}

// NoEnv is the config option of the flags RegisterFlags adds that have no
// variable: --accept-rollback is a decision for one start, and a variable
// left in an environment would make it every start's.
func (IntegrityConfig) NoEnv() config.Option { return config.NoEnv("accept-rollback") }

// WithDefaults fills the empty paths from the data directory.
func (c IntegrityConfig) WithDefaults(dataDir string) IntegrityConfig {
	or := func(v, file string) string {
		if strings.TrimSpace(v) != "" {
			return v
		}
		return filepath.Join(dataDir, file)
	}
	c.WriterKey = or(c.WriterKey, WriterKeyFile)
	c.WriterKeyring = or(c.WriterKeyring, WriterKeyringFile)
	c.WitnessFile = or(c.WitnessFile, WitnessFile)
	c.AcceptRollback = strings.TrimSpace(c.AcceptRollback)
	return c
}

// Witnesses returns the witness configuration.
func (c IntegrityConfig) Witnesses() WitnessConfig {
	return WitnessConfig{File: c.WitnessFile, NATSURL: c.WitnessNATSURL, NATSStream: c.WitnessNATSStream, NATSSubject: c.WitnessNATSSubject}
}

// StoreSigner returns the key as an eventstore.Signer: nil (no signing)
// for a process that has none. Its signatures are vouched for by the
// keyring (eventstore.Keyring.Vouch): the process never verifies its own.
func (k *WriterKeys) StoreSigner() eventstore.Signer {
	if k == nil || k.Signer == nil {
		return nil
	}
	if k.Keyring != nil {
		return k.Keyring.Vouch(k.Signer)
	}
	return k.Signer
}

// Validate reports what is wrong with the configuration.
func (c IntegrityConfig) Validate() error {
	if r := c.AcceptRollback; r != "" {
		if len(r) > eventstore.MaxReasonLen || !utf8.ValidString(r) || strings.ContainsFunc(r, func(c rune) bool { return c < 0x20 && c != '\t' }) {
			return fmt.Errorf("--accept-rollback: the reason must be UTF-8 text of at most %d bytes without control characters", eventstore.MaxReasonLen)
		}
	}
	return nil
}
