// Package exitcode is the exit status convention of the repository's
// commands (kinerjad, the projector, kinerjactl), documented in
// docs/operations.md:
//
//	0  ok (also -h and --help)
//	1  error: the command could not do its work (a store that does not
//	   open, a server that does not answer, a refused restore)
//	2  usage: bad flags, arguments or configuration variables
//	3  verification failed: verify or restore found the ledger, a bundle or
//	   a backup not to check out
//
// A command returns errors and main maps them with Code: Usage marks a
// usage error (commands wrap their flag parse and argument checks with
// it), Failed a failed verification, flag.ErrHelp is 0 and any other
// error 1.
package exitcode

import (
	"errors"
	"flag"
	"fmt"
)

// The exit codes.
const (
	OK       = 0
	Error    = 1
	UsageErr = 2
	Verify   = 3
)

// usageError marks a usage error.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// Usage marks err as a usage error (nil and flag.ErrHelp stay as they are).
func Usage(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

// Usagef is Usage(fmt.Errorf(format, args...)).
func Usagef(format string, args ...any) error { return Usage(fmt.Errorf(format, args...)) }

// failedError marks a failed verification.
type failedError struct{ err error }

func (f failedError) Error() string { return f.err.Error() }
func (f failedError) Unwrap() error { return f.err }

// Failed marks err as a failed verification.
func Failed(err error) error {
	if err == nil {
		return nil
	}
	return failedError{err}
}

// Code is the exit status of a command that returned err.
func Code(err error) int {
	var u usageError
	var f failedError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return OK
	case errors.As(err, &f):
		return Verify
	case errors.As(err, &u):
		return UsageErr
	}
	return Error
}
