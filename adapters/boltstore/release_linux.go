package boltstore

import "syscall"

// releaseMapped drops [addr, addr+size) from the resident set. bbolt maps
// the file read-only and shared (writes go through the file), so the
// pages are the page cache's and come back unchanged on the next read.
func releaseMapped(addr, size uintptr) error {
	if size == 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, size, syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
