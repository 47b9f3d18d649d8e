// Command kinerjactl is the admin and auditor CLI of Kinerja Ledger:
// migrate, token, verify, projections, export, seed and bench.
//
// Every command takes its configuration from flags, each with an
// environment variable of the same meaning (cmd/internal/config:
// --postgres-url and KINERJA_POSTGRES_URL; the flag wins; a variable that
// does not parse is an error); see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/kinerja-ledger/kinerja/cmd/internal/buildinfo"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "kinerjactl:", err)
		}
		os.Exit(2)
	}
}

// env is the environment lookup the commands use (os.Getenv in main, a map
// in tests).
type env func(string) string

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"migrate":         {"apply the PostgreSQL migrations (event store, read models, idempotency records)", runMigrate},
		"bench":           {"measure: bench store (appends), bench lag (projection lag), bench api (HTTP load)", runBench},
		"verify":          {"verify the audit trail online, or an exported bundle offline (--bundle)", runVerify},
		"export":          {"export an employee-year appeal bundle, verifiable offline", runExport},
		"projections":     {"projections status | projections rebuild NAME | projections replay NAME", runProjections},
		"seed":            {"seed a realistic agency through the command handlers", runSeed},
		"token":           {"print a token signed with the data directory's key", runToken},
		"keys":            {"writer keys: keys init | rotate | list | export | trust FILE", runKeys},
		"login-link":      {"print a one-time sign-in link to the dashboard (embedded mode)", runLoginLink},
		"health":          {"ask a running kinerjad whether it is ready (the container health check)", runHealth},
		"verify-document": {"check a printed PDF offline with the audit public key (--url: and against the ledger)", runVerifyDocument},
	}
}

func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return nil
	}
	if args[0] == "version" || args[0] == "--version" || args[0] == "-version" {
		_, err := fmt.Fprintln(stdout, "kinerjactl", buildinfo.Read())
		return err
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], getenv, stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: kinerjactl COMMAND [flags]   (kinerjactl --version: the build)\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
}

// storeFlags are the flags every command that opens the store shares.
type storeFlags struct {
	data, store, postgresURL, kurrentdbURL string
	// writerKey and writerKeyring are the writer key and trusted keys
	// (default in data; see writerPaths).
	writerKey, writerKeyring string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", "./data", "data directory")
	fs.StringVar(&s.store, "store", "bolt", "event store: bolt, postgres or kurrentdb")
	fs.StringVar(&s.postgresURL, "postgres-url", "", "PostgreSQL URL")
	fs.StringVar(&s.kurrentdbURL, "kurrentdb-url", "", "KurrentDB URL")
	s.registerKeys(fs)
}

// registerKeys defines the writer key flags alone (for commands that open
// no store).
func (s *storeFlags) registerKeys(fs *flag.FlagSet) {
	fs.StringVar(&s.writerKey, "writer-key", "", "writer signing key (default DATA/"+wiring.WriterKeyFile+")")
	fs.StringVar(&s.writerKeyring, "writer-keyring", "", "trusted writer public keys (default DATA/"+wiring.WriterKeyringFile+")")
}

// writerPaths returns the writer key and keyring files, defaulted into the
// data directory.
func (s *storeFlags) writerPaths() (key, keyring string) {
	c := wiring.IntegrityConfig{WriterKey: s.writerKey, WriterKeyring: s.writerKeyring}.WithDefaults(s.data)
	return c.WriterKey, c.WriterKeyring
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kinerjactl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
