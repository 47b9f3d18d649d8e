//go:build !unix

package deadlinestore

import (
	"os"
	"time"
)

// lockFile is a no-op where flock is not available: bbolt's own lock on
// the data file is the only one.
func lockFile(path string, _ time.Duration) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
