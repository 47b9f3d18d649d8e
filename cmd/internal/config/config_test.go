package config

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	type vals struct {
		data    string
		n       int
		d       time.Duration
		b       bool
		version bool
	}
	parse := func(args []string, env map[string]string) (vals, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var v vals
		fs.StringVar(&v.data, "data", "./data", "data directory")
		fs.IntVar(&v.n, "cache-mb", 1024, "budget")
		fs.DurationVar(&v.d, "ready-max-lag", 5*time.Second, "lag")
		fs.BoolVar(&v.b, "migrate", false, "migrate")
		fs.BoolVar(&v.version, "version", false, "version")
		err := Parse(fs, args, func(k string) string { return env[k] }, NoEnv("version"), Env("ready-max-lag", "KINERJA_LAG"), StopAt("version"))
		return v, err
	}
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want vals
	}{
		{"defaults", nil, nil, vals{data: "./data", n: 1024, d: 5 * time.Second}},
		{"environment", nil, map[string]string{"KINERJA_DATA": "/srv", "KINERJA_CACHE_MB": "64", "KINERJA_LAG": "1m", "KINERJA_READY_MAX_LAG": "2m", "KINERJA_MIGRATE": "true"},
			vals{data: "/srv", n: 64, d: time.Minute, b: true}},
		{"the flag wins", []string{"--data", "/flag", "--cache-mb=32"}, map[string]string{"KINERJA_DATA": "/env", "KINERJA_CACHE_MB": "oops"},
			vals{data: "/flag", n: 32, d: 5 * time.Second}},
		{"blank is unset", nil, map[string]string{"KINERJA_DATA": "  ", "KINERJA_CACHE_MB": ""}, vals{data: "./data", n: 1024, d: 5 * time.Second}},
		{"no variable for --version", nil, map[string]string{"KINERJA_VERSION": "1.2.3"}, vals{data: "./data", n: 1024, d: 5 * time.Second}},
		{"spaces trimmed", nil, map[string]string{"KINERJA_CACHE_MB": " 16 "}, vals{data: "./data", n: 16, d: 5 * time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parse(c.args, c.env)
			if err != nil || got != c.want {
				t.Errorf("Parse = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	// A variable that does not parse is an error naming it, and every such
	// variable is named.
	_, err := parse(nil, map[string]string{"KINERJA_CACHE_MB": "lots", "KINERJA_LAG": "soon", "KINERJA_MIGRATE": "perhaps"})
	for _, want := range []string{"KINERJA_CACHE_MB", "KINERJA_LAG", "KINERJA_MIGRATE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad variables: Parse = %v, want an error naming %s", err, want)
		}
	}
	// --version stops the parse: a bad variable does not stop it.
	if v, err := parse([]string{"--version"}, map[string]string{"KINERJA_CACHE_MB": "lots"}); err != nil || !v.version {
		t.Errorf("--version with a bad variable = %+v, %v", v, err)
	}
	if _, err := parse([]string{"--cache-mb", "x"}, nil); err == nil {
		t.Error("a bad flag was accepted")
	}
	if _, err := parse([]string{"-h"}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h = %v, want flag.ErrHelp", err)
	}
}

func TestUsageNamesTheVariable(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("postgres-url", "", "PostgreSQL URL")
	fs.Bool("version", false, "print the version")
	if err := Parse(fs, nil, nil, NoEnv("version")); err != nil {
		t.Fatal(err)
	}
	if u := fs.Lookup("postgres-url").Usage; u != "PostgreSQL URL (env KINERJA_POSTGRES_URL)" {
		t.Errorf("usage = %q", u)
	}
	if u := fs.Lookup("version").Usage; strings.Contains(u, "env") {
		t.Errorf("--version names a variable: %q", u)
	}
}
