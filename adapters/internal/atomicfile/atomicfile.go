// Package atomicfile replaces small files so that a crash leaves the old
// content or the new, never a mix: what the adapters that keep state in
// files share (the witness file, the relay checkpoints) without importing
// each other.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Replace replaces the file at path with b: a temporary file in the same
// directory (created 0700 if missing), written and fsynced, renamed over
// path, and the directory fsynced so that the rename is durable too.
func Replace(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs the directory dir, so that a rename (or a creation or
// removal) in it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
