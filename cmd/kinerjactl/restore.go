package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// runRestore restores a backup (kinerjactl backup) into a new data
// directory. Before it keeps anything it checks the copy: the manifest's
// hashes, then, on the restored files, every hash chain, writer signature
// and signed checkpoint, and the head and checkpoint the manifest records;
// then it compares the copy with the witness, and refuses a copy older
// than the witnessed checkpoint unless --accept-rollback REASON, which it
// records in the restored ledger (audit.rollback_accepted.v1) and in the
// witness. A refused restore leaves the target as it found it.
func runRestore(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", stderr)
	from := fs.String("from", "", "the backup directory (kinerjactl backup --out)")
	data := fs.String("data", "", "the data directory to restore into (must not exist, or be empty)")
	var keys multiFlag
	fs.Var(&keys, "key", "checkpoint public key file to trust (repeatable; default: the backup's audit-signing.pub)")
	var ic wiring.IntegrityConfig
	fs.StringVar(&ic.WitnessFile, "witness-file", "", "the witness to compare with (default: the backed-up data directory's "+wiring.WitnessFile+", if it exists)")
	fs.StringVar(&ic.WitnessNATSURL, "witness-nats-url", "", "also the JetStream witness on this server")
	fs.StringVar(&ic.WitnessNATSStream, "witness-nats-stream", "KINERJA_WITNESS", "its stream")
	fs.StringVar(&ic.WitnessNATSSubject, "witness-nats-subject", "kinerja.witness", "its subject")
	fs.StringVar(&ic.WriterKey, "writer-key", "", "the writer key that signs the rollback record with --accept-rollback (default: the restored one)")
	fs.StringVar(&ic.AcceptRollback, "accept-rollback", "", "REASON: restore although the copy is older than the witnessed checkpoint; recorded in the restored ledger and the witness")
	if err := parseFlags(fs, args, getenv, ic.NoEnv()); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *from == "" || *data == "" {
		return exitcode.Usagef("restore: --from and --data are required")
	}
	ic.AcceptRollback = strings.TrimSpace(ic.AcceptRollback)
	if err := ic.Validate(); err != nil {
		return exitcode.Usage(err)
	}
	var m Manifest
	raw, err := os.ReadFile(filepath.Join(*from, ManifestName))
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != BackupFormat {
		return exitcode.Failed(fmt.Errorf("restore: %s is not a %s manifest (%v)", filepath.Join(*from, ManifestName), BackupFormat, err))
	}
	// 1. The files are the ones the backup wrote.
	for _, f := range m.Files {
		if f.Name != filepath.Base(f.Name) || f.Name == ManifestName {
			return exitcode.Failed(fmt.Errorf("restore: the manifest names a file %q outside the backup", f.Name))
		}
		sum, n, err := sha256File(filepath.Join(*from, f.Name))
		if err != nil {
			return exitcode.Failed(fmt.Errorf("restore: %s: %w", f.Name, err))
		}
		if sum != f.SHA256 || n != f.Bytes {
			return exitcode.Failed(fmt.Errorf("restore: %s does not match the manifest (SHA-256 %s, %d bytes; the manifest says %s, %d bytes): the backup was changed or damaged", f.Name, sum, n, f.SHA256, f.Bytes))
		}
	}
	// 2. Copy into the target, then verify what was copied; undo on refusal.
	created := false
	if _, err := os.Stat(*data); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	if err := emptyDir(*data); err != nil {
		return fmt.Errorf("restore: --data: %w", err)
	}
	undo := func() {
		for _, f := range m.Files {
			os.Remove(filepath.Join(*data, f.Name))
		}
		if created {
			os.Remove(*data)
		}
	}
	for _, f := range m.Files {
		if err := copyFile(filepath.Join(*from, f.Name), filepath.Join(*data, f.Name)); err != nil {
			undo()
			return fmt.Errorf("restore: %w", err)
		}
	}
	var got Manifest
	rep, err := describeCopy(ctx, *data, &got, keys)
	if err != nil {
		undo()
		return fmt.Errorf("restore: the copy: %w", err)
	}
	var problems []string
	if !rep.OK {
		problems = append(problems, fmt.Sprintf("verification found %d problem(s), the first: %v", len(rep.Problems), rep.Problems[0]))
	}
	if got.Head != m.Head {
		problems = append(problems, fmt.Sprintf("its head is position %d, the manifest says %d", got.Head, m.Head))
	}
	if (got.Checkpoint == nil) != (m.Checkpoint == nil) || (got.Checkpoint != nil && *got.Checkpoint != *m.Checkpoint) {
		problems = append(problems, fmt.Sprintf("its latest checkpoint %+v differs from the manifest's %+v", got.Checkpoint, m.Checkpoint))
	}
	if len(problems) > 0 {
		undo()
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return exitcode.Failed(fmt.Errorf("restore: the backup does not verify, nothing restored: %v", problems))
	}
	// 3. The witness: a copy older than the witnessed checkpoint is a
	// rollback.
	if ic.WitnessFile == "" && m.Source != "" {
		if p := filepath.Join(m.Source, wiring.WitnessFile); fileExists(p) {
			ic.WitnessFile = p
		}
	}
	note, err := checkRestoredWitness(ctx, *data, ic, keys, stderr)
	if err != nil {
		undo()
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: %d files, %d events, head position %d", *from, *data, len(m.Files), got.Events, got.Head)
	if c := got.Checkpoint; c != nil {
		fmt.Fprintf(stdout, ", checkpoint size %d root %s key %s", c.Size, c.RootHash, c.KeyID)
	}
	fmt.Fprintf(stdout, "; backed up %s from %s (online: %v)\n", m.CreatedAt.Format("2006-01-02T15:04:05Z"), m.Source, m.Online)
	fmt.Fprintln(stdout, note)
	if !m.KeysIncluded {
		fmt.Fprintln(stdout, "the backup holds no private keys: give kinerjad its writer and audit keys (--writer-key, --audit-key) from where you keep them")
	}
	return nil
}

// checkRestoredWitness compares the restored ledger in data with the
// witness of ic and, for a rollback, records the operator's acceptance. It
// returns a line saying what it compared.
func checkRestoredWitness(ctx context.Context, data string, ic wiring.IntegrityConfig, keys []string, stderr io.Writer) (string, error) {
	if ic.WitnessFile == "" && ic.WitnessNATSURL == "" {
		return "no witness compared (none given, none beside the backed-up data): kinerjad compares its own at start", nil
	}
	if ic.WitnessFile == "" {
		// Only JetStream: the file witness of the set is a throwaway.
		ic.WitnessFile = filepath.Join(data, ".restore-witness-unused.json")
		defer os.Remove(ic.WitnessFile)
	}
	set, closeWitness, err := wiring.OpenWitnesses(ctx, ic.Witnesses())
	if err != nil {
		return "", err
	}
	defer closeWitness()
	vs, err := copyVerifiers(data, keys)
	if err != nil {
		return "", err
	}
	keyringPath := filepath.Join(data, wiring.WriterKeyringFile)
	ring, err := wiring.LoadKeyring(keyringPath)
	if err != nil {
		return "", err
	}
	latest, hasLatest, err := set.Latest(ctx)
	if err != nil {
		return "", err
	}
	var rec *audit.WitnessRecord
	if hasLatest {
		rec = &latest
	}
	s, err := backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Bolt, DataDir: data, Keyring: ring})
	if err != nil {
		return "", err
	}
	cerr := audit.CheckWitness(ctx, s, rec, vs)
	s.Close()
	rolledBack := errors.Is(cerr, audit.ErrRollback)
	switch {
	case cerr != nil && !rolledBack:
		return "", cerr
	case rolledBack && ic.AcceptRollback == "":
		return "", fmt.Errorf("%w (witness: %s); nothing restored. If this copy is the one to keep, restore with --accept-rollback REASON: the override is recorded in the restored ledger and the witness", cerr, set.Names())
	case !rolledBack:
		return fmt.Sprintf("the copy holds the newest witnessed checkpoint (%s)", set.Names()), nil
	}
	// The rollback record is an event: it needs the writer key.
	keyPath := ic.WriterKey
	if keyPath == "" {
		keyPath = filepath.Join(data, wiring.WriterKeyFile)
	}
	if !fileExists(keyPath) {
		return "", exitcode.Usagef("the copy is older than the witness, and --accept-rollback needs the writer key to sign its record: the backup holds none (backup --with-keys); give --writer-key FILE")
	}
	signer, err := wiring.LoadWriterKeys(keyPath, keyringPath, false)
	if err != nil {
		return "", err
	}
	s, err = backend.OpenStore(ctx, backend.StoreConfig{Name: backend.Bolt, DataDir: data, Signer: signer.StoreSigner(), Keyring: signer.Keyring})
	if err != nil {
		return "", err
	}
	defer s.Close()
	if _, err := (wiring.StartupCheck{Store: s, AuditKeys: vs, Witness: set, AcceptRollback: ic.AcceptRollback,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))}).Run(ctx); err != nil {
		return "", fmt.Errorf("%w; nothing restored", err)
	}
	if rolledBack {
		return fmt.Sprintf("the copy is older than the witness (%s): the rollback is accepted and recorded (audit.rollback_accepted.v1, reason %q) in the restored ledger and the witness", set.Names(), ic.AcceptRollback), nil
	}
	return fmt.Sprintf("the copy holds the newest witnessed checkpoint (%s)", set.Names()), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
