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
	"github.com/kinerja-ledger/kinerja/cmd/internal/config"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "kinerjactl:", err)
	}
	os.Exit(exitcode.Code(err))
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
		"projections":     {"projections status | projections rebuild NAME | projections replay NAME | projections drop-retired", runProjections},
		"seed":            {"seed a realistic agency through the command handlers", runSeed},
		"token":           {"print a token signed with the data directory's key", runToken},
		"keys":            {"writer keys: keys init | rotate | list | export | trust FILE", runKeys},
		"login-link":      {"print a one-time sign-in link to the dashboard (embedded mode)", runLoginLink},
		"health":          {"ask a running kinerjad whether it is ready (the container health check)", runHealth},
		"backup":          {"an online, consistent copy of an embedded ledger (kinerjad may run), verified, with a manifest", runBackup},
		"restore":         {"verify a backup and restore it into a new data directory (checks the witness)", runRestore},
		"snapshot":        {"build the in-memory read models offline and write their snapshot, so that kinerjad starts warm (embedded mode; kinerjad stopped)", runSnapshot},
		"verify-document": {"check a printed PDF offline with the audit public key (--url: and against the ledger)", runVerifyDocument},
	}
}

func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return exitcode.Usagef("no command")
		}
		return flag.ErrHelp
	}
	if args[0] == "version" || args[0] == "--version" || args[0] == "-version" {
		_, err := fmt.Fprintln(stdout, "kinerjactl", buildinfo.Read())
		return err
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return exitcode.Usagef("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], getenv, stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: kinerjactl COMMAND [flags]   (kinerjactl --version: the build; kinerjactl COMMAND -h: its flags)\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nexit status: 0 ok, 1 error, 2 usage, 3 verification failed (verify, restore)")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// subcommands dispatches a command with subcommands (bench, projections,
// keys): no subcommand is a usage error, -h or --help prints the usage
// and succeeds, an unknown one is a usage error.
func subcommands(name, usageLine string, args []string, stderr io.Writer, run map[string]func(args []string) error) error {
	if len(args) == 0 {
		return exitcode.Usagef("usage: %s", usageLine)
	}
	if isHelp(args[0]) || args[0] == "help" {
		fmt.Fprintf(stderr, "usage: %s\n(kinerjactl %s SUBCOMMAND -h: its flags)\n", usageLine, name)
		return flag.ErrHelp
	}
	f, ok := run[args[0]]
	if !ok {
		return exitcode.Usagef("%s: unknown subcommand %q; usage: %s", name, args[0], usageLine)
	}
	return f(args[1:])
}

// parseFlags parses a command's flags and environment (cmd/internal/config);
// a problem with them is a usage error.
func parseFlags(fs *flag.FlagSet, args []string, getenv env, opts ...config.Option) error {
	return exitcode.Usage(config.Parse(fs, args, getenv, opts...))
}

// noArgs is a usage error when the flags left arguments.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return exitcode.Usagef("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// storeFlags are the flags every command that opens the store shares.
type storeFlags struct {
	data, store, postgresURL, kurrentdbURL string
	// writerKey and writerKeyring are the writer key and trusted keys
	// (default in data; see writerPaths).
	writerKey, writerKeyring string
	// headCache, set by a command rather than a flag, bounds the store's
	// cache of stream heads (0: the store's default; see seedHeadCache).
	headCache int
	// cacheSKPs, set by `projections rebuild --cache-skps`, bounds each
	// SKP projection's cache of aggregates in the PostgreSQL read models
	// it opens (0: projections.DefaultCacheSize).
	cacheSKPs int
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
