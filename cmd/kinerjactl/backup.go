package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backup"
	"github.com/kinerja-ledger/kinerja/cmd/internal/buildinfo"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// BackupFormat names the layout of a backup directory.
const BackupFormat = "kinerja-backup/v1"

// ManifestName is the manifest's name in a backup directory.
const ManifestName = "manifest.json"

// Manifest describes a backup: what it holds, where the ledger stood, and
// each file's SHA-256, which restore checks before it uses the copy.
type Manifest struct {
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Source is the data directory copied; Online says the copy came from
	// a running kinerjad (its backup socket).
	Source string `json:"source"`
	Online bool   `json:"online"`
	// Version is the build of kinerjactl that made the backup; StoreLayout
	// the bbolt file layout it writes (boltstore.LayoutVersion).
	Version     string `json:"version"`
	StoreLayout int    `json:"store_layout"`
	// Head is the position of the last event in the copy; Events the
	// number of events verified.
	Head   eventstore.Position `json:"head_position"`
	Events uint64              `json:"events"`
	// Checkpoint is the last signed checkpoint in the copy (nil: none).
	Checkpoint *ManifestCheckpoint `json:"checkpoint"`
	// KeysIncluded says the private keys were copied (--with-keys).
	KeysIncluded bool           `json:"keys_included"`
	Files        []ManifestFile `json:"files"`
}

// ManifestCheckpoint is a signed checkpoint as the manifest records it.
type ManifestCheckpoint struct {
	Size     uint64              `json:"size"`
	RootHash merkle.Hash         `json:"root_hash"`
	KeyID    string              `json:"key_id"`
	SignedAt time.Time           `json:"signed_at"`
	Position eventstore.Position `json:"position"`
	Revision uint64              `json:"revision"`
}

// ManifestFile is one file of a backup.
type ManifestFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Files of the data directory a backup carries besides the bbolt files:
// the public keys always (a restore verifies with them), the private keys
// with --with-keys only. The witness never: a witness restored with the
// store from one copy witnesses nothing.
var (
	publicKeyFiles  = []string{wiring.WriterKeyringFile, wiring.AuditPubKeyFile}
	privateKeyFiles = []string{wiring.WriterKeyFile, wiring.AuditKeyFile, authkey.FileName}
)

// runBackup makes an online, consistent copy of an embedded ledger: the
// bbolt files (the idempotency records, the sessions, the event store) as
// of one read transaction each, from the running kinerjad's backup socket
// or, with none running, from the files; then verifies the copy and writes
// the manifest.
func runBackup(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	data := fs.String("data", "./data", "data directory of the ledger (kinerjad may be running on it)")
	out := fs.String("out", "", "backup directory to create (must not exist, or be empty)")
	withKeys := fs.Bool("with-keys", false, "also copy the private keys found in --data (writer, audit, token); keep such a backup as secret as the keys")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *out == "" {
		return exitcode.Usagef("backup: --out is required")
	}
	if _, err := os.Stat(filepath.Join(*data, backup.StoreFile)); err != nil {
		return fmt.Errorf("backup: %s holds no embedded ledger (%w). backup copies the bbolt store; back up a PostgreSQL ledger with pg_dump or PITR (docs/operations.md)", *data, err)
	}
	if err := emptyDir(*out); err != nil {
		return fmt.Errorf("backup: --out: %w", err)
	}
	src, _ := filepath.Abs(*data)
	m := Manifest{Format: BackupFormat, CreatedAt: time.Now().UTC(), Source: src, Version: buildinfo.Read().String(), StoreLayout: boltstore.LayoutVersion, KeysIncluded: *withKeys}
	client, online := backup.Dial(*data)
	m.Online = online
	for _, name := range backup.Files {
		dst := filepath.Join(*out, name)
		var n int64
		var ok bool
		var err error
		if online {
			n, ok, err = writeFile(dst, func(w io.Writer) (int64, bool, error) { return client.Snapshot(ctx, name, w) })
		} else {
			n, ok, err = writeFile(dst, func(w io.Writer) (int64, bool, error) { return snapshotFile(filepath.Join(*data, name), w) })
		}
		if err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
		if ok {
			fmt.Fprintf(stderr, "copied %s (%d bytes)\n", name, n)
		}
	}
	keyFiles := publicKeyFiles
	if *withKeys {
		keyFiles = append(keyFiles, privateKeyFiles...)
	}
	for _, name := range keyFiles {
		if err := copyFile(filepath.Join(*data, name), filepath.Join(*out, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("backup: %w", err)
		}
	}
	rep, err := describeCopy(ctx, *out, &m, nil)
	if err != nil {
		return fmt.Errorf("backup: the copy: %w", err)
	}
	if err := hashFiles(*out, &m); err != nil {
		return err
	}
	if err := writeJSONFile(filepath.Join(*out, ManifestName), m); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	if !rep.OK {
		enc.Encode(rep)
		return exitcode.Failed(fmt.Errorf("backup: the copy in %s does not verify (%d problems): the ledger itself does; run kinerjactl verify", *out, len(rep.Problems)))
	}
	return nil
}

// describeCopy opens the ledger copied into dir, verifies it (chains,
// writer signatures, the signed checkpoints, with the keys in dir and
// extraKeys) and fills m's head, events and checkpoint.
func describeCopy(ctx context.Context, dir string, m *Manifest, extraKeys []string) (audit.Report, error) {
	sf := storeFlags{data: dir, store: backend.Bolt}
	vs, err := copyVerifiers(dir, extraKeys)
	if err != nil {
		return audit.Report{}, err
	}
	l, err := openLedger(ctx, sf, io.Discard, readLedger)
	if err != nil {
		return audit.Report{}, err
	}
	defer l.close()
	if m.Head, err = l.store.Head(ctx); err != nil {
		return audit.Report{}, err
	}
	if cp, ok, err := audit.LedgerCheckpoint(ctx, l.store); err != nil {
		return audit.Report{}, err
	} else if ok {
		c := cp.Checkpoint
		m.Checkpoint = &ManifestCheckpoint{Size: c.Size, RootHash: c.RootHash, KeyID: c.KeyID, SignedAt: c.SignedAt, Position: c.Position, Revision: cp.Revision}
	}
	if l.keys.Keyring.Len() == 0 {
		return audit.Report{}, fmt.Errorf("no trusted writer key in %s", l.keys.KeyringPath)
	}
	rep, err := audit.Verify(ctx, l.store, audit.VerifyOptions{Keys: vs, WriterKeys: l.keys.Keyring})
	if err != nil {
		return rep, err
	}
	m.Events = rep.Checked
	return rep, nil
}

// copyVerifiers returns the checkpoint keys to trust for a copy: the files
// given, else the copy's audit public key.
func copyVerifiers(dir string, keys []string) ([]*merkle.Verifier, error) {
	if len(keys) == 0 {
		if _, err := os.Stat(filepath.Join(dir, wiring.AuditPubKeyFile)); err != nil {
			return nil, nil // nothing signed yet, or verified without
		}
	}
	return verifiers(dir, keys)
}

// snapshotFile copies the bbolt file at path (no kinerjad running) as of
// one read transaction; ok=false when there is no such file.
func snapshotFile(path string, w io.Writer) (int64, bool, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, false, fmt.Errorf("%s is in use by a process that does not answer on %s: is it a kinerjad of an older build? Stop it, or back up with its own tools", path, backup.SocketFile)
	}
	if err != nil {
		return 0, false, err
	}
	defer db.Close()
	var n int64
	err = db.View(func(tx *bolt.Tx) error {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err == nil, err
}

// writeFile writes what fill writes into path (mode 0600), fsynced; when
// fill reports ok=false the file is removed.
func writeFile(path string, fill func(io.Writer) (int64, bool, error)) (int64, bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, false, err
	}
	n, ok, err := fill(f)
	if err == nil && ok {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || !ok {
		os.Remove(path)
	}
	return n, ok && err == nil, err
}

// copyFile copies src to dst (keeping src's mode), fsynced.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	_, _, err = writeFile(dst, func(w io.Writer) (int64, bool, error) {
		n, err := io.Copy(w, in)
		return n, true, err
	})
	if err != nil {
		return err
	}
	return os.Chmod(dst, fi.Mode().Perm())
}

// hashFiles records every file of dir but the manifest in m.
func hashFiles(dir string, m *Manifest) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	m.Files = nil
	for _, e := range entries {
		if e.Name() == ManifestName || !e.Type().IsRegular() {
			continue
		}
		sum, n, err := sha256File(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		m.Files = append(m.Files, ManifestFile{Name: e.Name(), Bytes: n, SHA256: sum})
	}
	return nil
}

func sha256File(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, _, err = writeFile(path, func(w io.Writer) (int64, bool, error) {
		n, err := w.Write(append(b, '\n'))
		return int64(n), true, err
	})
	return err
}

// emptyDir makes dir (mode 0700) when it does not exist, and refuses one
// that holds anything.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty (%d entries, e.g. %s): give a new directory", dir, len(entries), entries[0].Name())
	}
	return nil
}
