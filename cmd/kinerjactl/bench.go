package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/eventstore/storebench"
)

// runBench dispatches `kinerjactl bench store|lag|api`.
func runBench(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	return subcommands("bench", "kinerjactl bench store|lag|api [flags]", args, stderr, map[string]func([]string) error{
		"store": func(a []string) error { return runBenchStore(ctx, a, getenv, stdout, stderr) },
		"lag":   func(a []string) error { return runBenchLag(ctx, a, getenv, stdout, stderr) },
		"api":   func(a []string) error { return runBenchAPI(ctx, a, getenv, stdout, stderr) },
	})
}

// runBenchStore drives a backend with W writers over N streams, one event
// per append with an exact expected revision, and prints one JSON line per
// writer count, then (with --read) one for a full ReadAll.
func runBenchStore(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench store", stderr)
	var sf storeFlags
	sf.register(fs)
	writers := fs.String("writers", "1,16", "comma-separated writer counts, one run each")
	streamsPer := fs.Int("streams-per-writer", 100, "streams per writer (N = W × this)")
	events := fs.Int("events-per-stream", 10, "events per stream, one append each")
	payload := fs.Int("payload", 300, "approximate JSON size of each event in bytes")
	read := fs.Bool("read", true, "also measure a full ReadAll after the appends")
	migrate := fs.Bool("migrate", true, "apply PostgreSQL migrations first")
	sign := fs.Bool("sign", true, "sign every append with the writer key, as kinerjad does (false measures the store without signatures)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	var counts []int
	for _, w := range strings.Split(*writers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n <= 0 {
			return exitcode.Usagef("--writers: bad count %q", w)
		}
		counts = append(counts, n)
	}
	sc := backend.StoreConfig{Name: sf.store, DataDir: sf.data, PostgresURL: sf.postgresURL, KurrentDBURL: sf.kurrentdbURL, Migrate: *migrate}
	if *sign {
		keyPath, keyringPath := sf.writerPaths()
		keys, err := wiring.LoadWriterKeys(keyPath, keyringPath, true)
		if err != nil {
			return err
		}
		sc.Signer, sc.Keyring = keys.StoreSigner(), keys.Keyring
	}
	s, err := backend.OpenStore(ctx, sc)
	if err != nil {
		return err
	}
	defer s.Close()
	enc := json.NewEncoder(stdout)
	for _, w := range counts {
		fmt.Fprintf(stderr, "bench: %s, %d writer(s), %d streams × %d events...\n", sf.store, w, w**streamsPer, *events)
		r, err := storebench.Appends(ctx, s, storebench.Config{Writers: w, Streams: w * *streamsPer, EventsPerStream: *events, PayloadBytes: *payload})
		if err != nil {
			return err
		}
		if err := enc.Encode(struct {
			Bench string `json:"bench"`
			Store string `json:"store"`
			storebench.Result
		}{"append", sf.store, r}); err != nil {
			return err
		}
	}
	if *read {
		fmt.Fprintf(stderr, "bench: %s, read all...\n", sf.store)
		r, err := storebench.ReadAll(ctx, s)
		if err != nil {
			return err
		}
		return enc.Encode(struct {
			Bench string `json:"bench"`
			Store string `json:"store"`
			storebench.ReadResult
		}{"read_all", sf.store, r})
	}
	return nil
}
