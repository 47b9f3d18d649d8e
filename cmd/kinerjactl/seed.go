package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// runSeed fills the store with a realistic, deterministic agency through
// the same command handlers as the API. With the bolt store kinerjad must
// be stopped (the file is locked); it rebuilds its read models at start.
func runSeed(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("seed", stderr)
	var sf storeFlags
	sf.register(fs)
	n := fs.Int("employees", 200, "number of employees (unit heads included)")
	seedV := fs.Int64("seed", 1, "random seed: the same seed gives the same agency")
	year := fs.Int("year", time.Now().Year()-1, "the performance year seeded (a past year: every command must lie in the past)")
	workers := fs.Int("workers", 0, "concurrent tasks (default: the seeder's)")
	biased := fs.Int("biased-appraisers", 0, "appraisers who rate with a known bias, half lenient and half severe (their NIPs are in the output's Lenient and Severe), for the calibration view")
	migrate := fs.Bool("migrate", true, "apply PostgreSQL migrations first")
	nAgencies := fs.Int("agencies", 1, "number of agencies (root units, INST001…): the employees are spread over them, each agency seeded with --seed plus its index; 1 seeds one agency exactly as before")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *nAgencies < 1 || *nAgencies > 1000 {
		return exitcode.Usagef("seed: --agencies must be between 1 and 1000")
	}
	if *nAgencies > 1 && *n / *nAgencies < seed.MinEmployees {
		return exitcode.Usagef("seed: --employees %d over --agencies %d leaves fewer than %d per agency", *n, *nAgencies, seed.MinEmployees)
	}
	if *migrate && sf.store == "postgres" {
		if err := runMigrate(ctx, []string{"--postgres-url", sf.postgresURL}, getenv, io.Discard, stderr); err != nil {
			return err
		}
	}
	l, err := openLedger(ctx, sf, stderr, writeLedger)
	if err != nil {
		return err
	}
	defer l.close()
	h := &domain.Handler{Log: eventlog.New(l.store), Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	last := time.Now()
	start := time.Now()
	cfg := seed.Config{Employees: *n, Seed: *seedV, Year: *year, Workers: *workers, BiasedAppraisers: *biased,
		Progress: func(done, total int) {
			if time.Since(last) > time.Second || done == total {
				fmt.Fprintf(stderr, "seed: %d/%d tasks (%.0f%%)\n", done, total, 100*float64(done)/float64(total))
				last = time.Now()
			}
		}}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if *nAgencies == 1 {
		stats, err := seed.Run(ctx, cfg, seed.NewServices(h, policy.Default()))
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "seeded %d employees in %.1fs\n", stats.Employees, time.Since(start).Seconds())
		return enc.Encode(stats)
	}
	// Several agencies (issue 15): one run per agency on the same store,
	// each a root unit of its own, the NIPs drawn apart.
	taken := map[string]bool{}
	all := make([]seed.Stats, 0, *nAgencies)
	total := 0
	for k := range *nAgencies {
		c := cfg
		c.Employees = *n / *nAgencies
		if k < *n%*nAgencies {
			c.Employees++
		}
		c.Seed = *seedV + int64(k)
		c.AgencyCode = fmt.Sprintf("INST%03d", k+1)
		c.TakenNIPs = taken
		stats, err := seed.Run(ctx, c, seed.NewServices(h, policy.Default()))
		if err != nil {
			return fmt.Errorf("seed: agency %s: %w", c.AgencyCode, err)
		}
		total += stats.Employees
		all = append(all, stats)
	}
	fmt.Fprintf(stderr, "seeded %d employees in %d agencies in %.1fs\n", total, *nAgencies, time.Since(start).Seconds())
	return enc.Encode(all)
}
