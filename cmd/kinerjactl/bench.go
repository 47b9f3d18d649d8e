package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

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
	rate := fs.Float64("rate", 0, "open loop: appends per second, each due at a fixed time and timed from it, over --open-conns connections for --duration after --warmup (instead of the --writers runs and the read)")
	openConns := fs.Int("open-conns", 64, "open loop (--rate): the connections, each writing its own streams")
	duration := fs.Duration("duration", 10*time.Second, "open loop (--rate): how long the measured appends run")
	warmup := fs.Duration("warmup", 3*time.Second, "open loop (--rate): how long the appends run unmeasured first, the same schedule's first part (a backlog it builds is still queued when the measured appends come due)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	// --open-conns matters only with --rate (as in bench api).
	if *rate < 0 || math.IsNaN(*rate) || math.IsInf(*rate, 0) || (*rate > 0 && *openConns <= 0) || *duration <= 0 || *warmup < 0 || *events <= 0 {
		return exitcode.Usagef("--rate %v, --open-conns %d, --duration %s, --warmup %s, --events-per-stream %d: want a finite rate ≥ 0 (with a rate, connections > 0), a duration and events > 0", *rate, *openConns, *duration, *warmup, *events)
	}
	if *rate > 0 && (openLoop{rate: *rate, warmup: *warmup, duration: *duration}).measured() == 0 {
		return exitcode.Usagef("--rate %v over --duration %s after --warmup %s: no append is due in the measured window", *rate, *duration, *warmup)
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
	if *rate > 0 {
		fmt.Fprintf(stderr, "bench: %s, open loop at %v appends/s over %d connections for %s...\n", sf.store, *rate, *openConns, *duration)
		r, err := openAppends(ctx, s, sf.store, *rate, *warmup, *duration, *openConns, *events, *payload)
		if err != nil {
			return err
		}
		return enc.Encode(r)
	}
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
