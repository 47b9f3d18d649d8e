package wiring

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kinerja-ledger/kinerja/adapters/witness"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Writer key files in the data directory (each overridable by a flag; in
// production both belong on a volume the database's operators cannot
// write, see docs/operations.md).
const (
	// WriterKeyFile is the process's Ed25519 writer key (PEM PKCS #8, mode
	// 0600): it signs every append.
	WriterKeyFile = "writer-signing.key"
	// WriterKeyringFile holds the trusted writer public keys (PEM PKIX
	// blocks): every key that ever signed events of this ledger.
	WriterKeyringFile = "writer-keyring.pem"
)

// WriterKeys is a process's writer key and the keyring it trusts.
type WriterKeys struct {
	// Signer signs appends; nil for a process that only reads.
	Signer *eventstore.Ed25519Signer
	// Keyring trusts the keyring file's keys and the Signer's.
	Keyring *eventstore.Keyring
	// KeyPath and KeyringPath are the files they came from.
	KeyPath, KeyringPath string
	// Created is true when the key was made by this call.
	Created bool
}

// ErrNoWriterKey is returned by LoadWriterKeys when the key file does not
// exist and may not be created.
var ErrNoWriterKey = errors.New("no writer key")

// LoadWriterKeys reads the writer key at keyPath and the keyring at
// keyringPath. When the key does not exist and create is set (kinerjad on
// its first start, as for the audit key), it makes one (mode 0600) and adds
// its public key to the keyring file, creating that too; otherwise a
// missing key is ErrNoWriterKey, with the command that makes one. A missing
// keyring file is an empty keyring. The Signer's own key is always trusted.
func LoadWriterKeys(keyPath, keyringPath string, create bool) (*WriterKeys, error) {
	k := &WriterKeys{KeyPath: keyPath, KeyringPath: keyringPath}
	b, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		if k.Signer, err = eventstore.ParseWriterKey(b); err != nil {
			return nil, fmt.Errorf("writer key %s: %w", keyPath, err)
		}
	case errors.Is(err, os.ErrNotExist) && create:
		if k.Signer, err = CreateWriterKey(keyPath); err != nil {
			return nil, err
		}
		if err := TrustWriterKey(keyringPath, k.Signer.Public()); err != nil {
			return nil, err
		}
		k.Created = true
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w at %s: create one with kinerjactl keys init (kinerjad makes one on its first start)", ErrNoWriterKey, keyPath)
	default:
		return nil, fmt.Errorf("writer key: %w", err)
	}
	if k.Keyring, err = LoadKeyring(keyringPath); err != nil {
		return nil, err
	}
	k.Keyring.Add(k.Signer.Public())
	return k, nil
}

// LoadKeyring reads a keyring file; a missing file is an empty keyring.
func LoadKeyring(path string) (*eventstore.Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return eventstore.NewKeyring(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("writer keyring: %w", err)
	}
	k, err := eventstore.ParseKeyring(b)
	if err != nil {
		return nil, fmt.Errorf("writer keyring %s: %w", path, err)
	}
	return k, nil
}

// CreateWriterKey makes a new Ed25519 writer key at path (mode 0600, its
// directory 0700). It refuses to replace an existing file.
func CreateWriterKey(path string) (*eventstore.Ed25519Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	b, err := eventstore.MarshalWriterKey(priv)
	if err != nil {
		return nil, err
	}
	if err := createSecret(path, b); err != nil {
		return nil, fmt.Errorf("writer key: %w", err)
	}
	return eventstore.NewEd25519Signer(priv), nil
}

// createSecret writes b to a new file at path (mode 0600, its directory
// 0700), fsynced; it never replaces an existing file.
func createSecret(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TrustWriterKey adds pub to the keyring file at path (creating it), unless
// it is there already. The file is replaced atomically.
func TrustWriterKey(path string, pubs ...ed25519.PublicKey) error {
	k, err := LoadKeyring(path)
	if err != nil {
		return err
	}
	n := k.Len()
	for _, p := range pubs {
		k.Add(p)
	}
	if k.Len() == n {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	b, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	return witness.ReplaceFile(path, append([]byte("# Kinerja Ledger: trusted writer keys. Keep every key that ever signed events of this ledger.\n"), b...), 0o644)
}
