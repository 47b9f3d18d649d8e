package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// ReleaseMapped tells the kernel that the pages of the store's memory map
// that this process has read may leave its resident set (madvise
// MADV_DONTNEED on the read-only shared map). They stay in the page cache
// and a later read maps them again, so nothing changes but the process's
// RSS: a read of the whole history (the snapshot's history check, a
// rebuild) otherwise leaves every page of the file resident in it, as
// much RSS as the file weighs. It runs inside a read transaction, which
// holds bbolt's map in place (a remap takes the lock it shares). On
// systems other than Linux it does nothing.
func (s *Store) ReleaseMapped() error {
	return s.view(func(tx *bolt.Tx) error {
		return releaseMapped(tx.DB().Info().Data, uintptr(tx.Size()))
	})
}
