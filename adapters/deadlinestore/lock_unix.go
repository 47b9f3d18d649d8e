//go:build unix

package deadlinestore

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on the file at path (created if
// needed, never renamed or removed), waiting up to timeout. The lock,
// unlike bbolt's on the data file, does not move with a rename: the
// compaction's rename of the data file cannot let a second process in.
func lockFile(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, errLockTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}
