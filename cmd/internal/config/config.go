// Package config reads a command's configuration the one way every
// command of the repository does: flags, each with an environment variable
// of the same meaning — --postgres-url and KINERJA_POSTGRES_URL — parsed
// by github.com/peterbourgon/ff/v3, the flag winning over the variable. A
// variable whose value does not parse is an error that names it, never
// dropped; a variable set to the empty string (or spaces) is not set.
//
// The environment is given as a function (os.Getenv in main, a map in
// tests), so that a command's run stays testable: ff reads it as its
// "config file", a source ff places after the command line.
package config

import (
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3"
)

// Prefix starts the name of every variable.
const Prefix = "KINERJA_"

// envFile is the empty file ff opens as the "config file" whose parser
// reads the environment.
//
//go:embed environment
var envFile embed.FS

// EnvName is the variable of the flag named name: KINERJA_ and the name in
// upper case with - and . as _.
func EnvName(name string) string {
	return Prefix + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

// Option changes how Parse maps flags to variables.
type Option func(*options)

type options struct {
	skip  map[string]bool
	names map[string]string
	stop  []string
}

// StopAt names flags that, given on the command line, end the parse before
// the environment is read (--version prints the build and exits, whatever
// the rest of the configuration; a bad variable must not stop it).
func StopAt(flags ...string) Option {
	return func(o *options) { o.stop = append(o.stop, flags...) }
}

// NoEnv gives the flags named no variable (--version: a variable left in
// an environment must not turn a service into a version printer).
func NoEnv(flags ...string) Option {
	return func(o *options) {
		for _, f := range flags {
			o.skip[f] = true
		}
	}
}

// Env names the variable of flag other than EnvName would (the
// projector's --listen is KINERJA_PROJECTOR_LISTEN, so that an environment
// shared with kinerjad does not make both listen on one address).
func Env(flag, variable string) Option {
	return func(o *options) { o.names[flag] = variable }
}

// Parse parses args into fs, then sets every flag not given on the command
// line from its variable (getenv; nil reads none). It appends "(env NAME)"
// to each flag's usage. A flag.ErrHelp from -h or --help is returned as it
// is.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string, opts ...Option) error {
	o := options{skip: map[string]bool{}, names: map[string]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	skip := o.skip
	envName := func(flag string) string {
		if n, ok := o.names[flag]; ok {
			return n
		}
		return EnvName(flag)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !skip[f.Name] && !strings.Contains(f.Usage, "(env ") {
			f.Usage += " (env " + envName(f.Name) + ")"
		}
	})
	if len(o.stop) > 0 {
		// The command line alone first; ff parses it again (the same
		// values) before the environment when no stop flag was given.
		if err := fs.Parse(args); err != nil {
			return err
		}
		stopped := false
		fs.Visit(func(f *flag.Flag) { stopped = stopped || slices.Contains(o.stop, f.Name) })
		if stopped {
			return nil
		}
	}
	parser := func(_ io.Reader, set func(name, value string) error) error {
		if getenv == nil {
			return nil
		}
		var errs []error
		fs.VisitAll(func(f *flag.Flag) {
			if skip[f.Name] {
				return
			}
			name := envName(f.Name)
			v := strings.TrimSpace(getenv(name))
			if v == "" {
				return
			}
			if err := set(f.Name, v); err != nil {
				// ff wraps the flag's own error; say it of the variable.
				if inner := errors.Unwrap(err); inner != nil {
					err = inner
				}
				errs = append(errs, fmt.Errorf("environment variable %s=%q: %w", name, v, err))
			}
		})
		return errors.Join(errs...)
	}
	err := ff.Parse(fs, args, ff.WithConfigFile("environment"), ff.WithFilesystem(envFile), ff.WithConfigFileParser(parser))
	if errors.Is(err, flag.ErrHelp) {
		return flag.ErrHelp
	}
	return err
}
