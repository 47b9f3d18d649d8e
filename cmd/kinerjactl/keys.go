package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/kinerja-ledger/kinerja/adapters/witness"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// runKeys manages the writer keys: the key a process signs its appends
// with, and the keyring of every key the ledger trusts.
//
//	keys init            make the writer key and the keyring (refuses to replace a key)
//	keys rotate          a new writer key; the old public key stays trusted, the old private key is gone
//	keys list            the trusted key IDs, the current one marked
//	keys export          the keyring, for verifiers and other processes
//	keys trust FILE...   add the public keys in FILE (PEM) to the keyring
func runKeys(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	const usageLine = "kinerjactl keys init|rotate|list|export|trust FILE... [--data DIR] [--writer-key FILE] [--writer-keyring FILE]"
	usage := exitcode.Usagef("usage: %s", usageLine)
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" {
		return subcommands("keys", usageLine, args, stderr, nil)
	}
	if !slices.Contains([]string{"init", "rotate", "list", "export", "trust"}, args[0]) {
		return exitcode.Usagef("keys: unknown subcommand %q; usage: %s", args[0], usageLine)
	}
	fs := newFlagSet("keys "+args[0], stderr)
	var sf storeFlags
	fs.StringVar(&sf.data, "data", "./data", "data directory")
	sf.registerKeys(fs)
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return err
	}
	keyPath, keyringPath := sf.writerPaths()
	switch args[0] {
	case "init":
		if fs.NArg() > 0 {
			return usage
		}
		if _, err := os.Stat(keyPath); err == nil {
			return fmt.Errorf("keys init: %s exists; a writer key is never replaced (use keys rotate)", keyPath)
		}
		k, err := wiring.LoadWriterKeys(keyPath, keyringPath, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "writer key %s created at %s, trusted in %s\n", k.Signer.KeyID(), keyPath, keyringPath)
		return nil
	case "rotate":
		if fs.NArg() > 0 {
			return usage
		}
		return rotateWriterKey(keyPath, keyringPath, stdout)
	case "list":
		if fs.NArg() > 0 {
			return usage
		}
		k, err := wiring.LoadKeyring(keyringPath)
		if err != nil {
			return err
		}
		current := ""
		if b, err := os.ReadFile(keyPath); err == nil {
			if s, err := eventstore.ParseWriterKey(b); err == nil {
				current = s.KeyID()
			}
		}
		for _, id := range k.IDs() {
			mark := ""
			if id == current {
				mark = "  (current writer key)"
			}
			fmt.Fprintf(stdout, "%s%s\n", id, mark)
		}
		if current != "" && !k.Has(current) {
			fmt.Fprintf(stderr, "warning: the writer key %s (%s) is not in the keyring %s: its events would not verify elsewhere (kinerjactl keys trust)\n", current, keyPath, keyringPath)
		}
		return nil
	case "export":
		if fs.NArg() > 0 {
			return usage
		}
		k, err := wiring.LoadKeyring(keyringPath)
		if err != nil {
			return err
		}
		b, err := k.MarshalPEM()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	case "trust":
		if fs.NArg() == 0 {
			return usage
		}
		var pubs []ed25519.PublicKey
		for _, f := range fs.Args() {
			k, err := wiring.LoadKeyring(f)
			if err != nil {
				return err
			}
			if k.Len() == 0 {
				return fmt.Errorf("keys trust: %s holds no public key", f)
			}
			for _, id := range k.IDs() {
				p, _ := k.Key(id)
				pubs = append(pubs, p)
				fmt.Fprintf(stdout, "trusting %s (from %s)\n", id, f)
			}
		}
		return wiring.TrustWriterKey(keyringPath, pubs...)
	}
	return usage
}

// rotateWriterKey replaces the writer key with a new one. The keyring is
// updated first (old and new public keys), so that whatever happens next
// every event either key signs verifies; then the new key replaces the old
// file, so the old private key is gone.
func rotateWriterKey(keyPath, keyringPath string, stdout io.Writer) error {
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("keys rotate: %w (keys init makes the first key)", err)
	}
	old, err := eventstore.ParseWriterKey(b)
	if err != nil {
		return fmt.Errorf("keys rotate: %s: %w", keyPath, err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	next := eventstore.NewEd25519Signer(priv)
	if err := wiring.TrustWriterKey(keyringPath, old.Public(), next.Public()); err != nil {
		return err
	}
	pemBytes, err := eventstore.MarshalWriterKey(priv)
	if err != nil {
		return err
	}
	if err := witness.ReplaceFile(keyPath, pemBytes, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "writer key rotated: %s → %s (%s)\n", old.KeyID(), next.KeyID(), filepath.Clean(keyPath))
	fmt.Fprintf(stdout, "both stay trusted in %s. Restart every process that signs with this key file, and give the keyring to every process and auditor that verifies (kinerjactl keys export).\n", keyringPath)
	return nil
}
