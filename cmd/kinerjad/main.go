// Command kinerjad is the Kinerja Ledger service: the HTTP API of /v1
// (api.md), the dashboard at / (Indonesian first), and, by default, the
// projections and the audit-checkpoint signer in the same process.
//
// The embedded default needs no server: the event store is a bbolt file in
// the data directory and the read models live in memory, rebuilt from the
// store at start-up. With --store postgres (or kurrentdb) the read models
// are PostgreSQL tables, which a separate projector process may feed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kinerja-ledger/kinerja/cmd/internal/buildinfo"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
)

func main() {
	ctx, stop := shutdownSignals()
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "kinerjad:", err)
	}
	// 0 (also -h), 1 error, 2 usage (flags, variables, configuration);
	// see cmd/internal/exitcode.
	os.Exit(exitcode.Code(err))
}

// shutdownSignals returns a context the first SIGTERM or SIGINT ends (the
// graceful shutdown: the HTTP drain, then the read models' snapshot, up to
// --shutdown-timeout + --snapshot-shutdown-timeout). Once it has ended the
// signals' default behaviour comes back, so a second SIGTERM or Ctrl-C
// ends the process at once instead of being swallowed until the shutdown
// completes (docs/operations.md).
func shutdownSignals() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// run is kinerjad: it parses the configuration, starts everything, serves
// until ctx ends, then shuts down gracefully. Logs are JSON lines on stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return exitcode.Usage(err)
	}
	if cfg.Version {
		_, err := fmt.Fprintln(stdout, "kinerjad", buildinfo.Read())
		return err
	}
	a, err := newApp(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	return a.serve(ctx)
}
