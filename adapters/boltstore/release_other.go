//go:build !linux

package boltstore

func releaseMapped(addr, size uintptr) error { return nil }
