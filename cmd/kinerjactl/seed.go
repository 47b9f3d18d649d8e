package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/memlimit"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
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
	bulk := fs.Bool("bulk", true, "postgres, into an empty store: write the events with binary COPY in large transactions (pgstore.Bulk) instead of one append statement per command; the events, hashes and signatures are the same")
	sign := fs.Bool("sign-checkpoint", true, "bolt or postgres, into an empty store: sign and witness an audit checkpoint over the seeded events at the end, with --audit-key and the --witness-* witnesses (give them as to kinerjad), so that kinerjad's first start trusts it instead of checking every writer signature")
	auditKey := fs.String("audit-key", "", "checkpoint signing key file, as kinerjad's --audit-key (default DATA/"+wiring.AuditKeyFile+"; made if missing, as kinerjad's first start would)")
	auditName := fs.String("audit-log-name", "kinerja-ledger", "name of the audit log when its key is made (kinerjad's --audit-log-name)")
	var ic wiring.IntegrityConfig
	ic.RegisterWitnessFlags(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole command (seeding and signing) to this file, for go tool pprof")
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
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *migrate && sf.store == "postgres" {
		if err := runMigrate(ctx, []string{"--postgres-url", sf.postgresURL}, getenv, io.Discard, stderr); err != nil {
			return err
		}
	}
	sf.headCache = seedHeadCache(*n)
	defer seedGC(getenv)()
	l, err := openLedger(ctx, sf, stderr, writeLedger)
	if err != nil {
		return err
	}
	defer l.close()
	head0, err := l.store.Head(ctx)
	if err != nil {
		return err
	}
	var bw *pgstore.Bulk
	write := l.store
	if pgs, ok := l.store.(*pgstore.Store); ok && *bulk && head0 == 0 {
		// Head is 0 also for a store whose events are all past the horizon
		// (a writer's transaction still open): NewBulk then refuses it,
		// and the seed appends as it does to any store that holds events.
		switch bw, err = pgstore.NewBulk(ctx, pgs, pgstore.BulkOptions{}); {
		case errors.Is(err, pgstore.ErrBulkNotEmpty):
			bw = nil
		case err != nil:
			return fmt.Errorf("seed: %w", err)
		default:
			defer bw.Close() // after another failure; the seed's end closes it and checks, a stopped seed aborts it
			write = bw
		}
	}
	h := &domain.Handler{Log: eventlog.New(write), Now: time.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	commits0, countsCommits := storeCommits(l.store)
	last := time.Now()
	start := time.Now()
	// written commits what the bulk writer still holds (the seed's events
	// are written only when it says so), then says how many were written
	// and in how many group commits.
	written := func(events, commands int) error {
		if bw != nil {
			if err := bw.Close(); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
		fmt.Fprintf(stderr, "seed: %d events written in %.1fs\n", events, time.Since(start).Seconds())
		printCommits(stderr, l.store, commits0, countsCommits, commands)
		return nil
	}
	// stopped ends a seed that failed or was cancelled (ctrl-C): the bulk
	// writer is aborted, not closed, so that the events it still holds
	// (appended before the stop, perhaps half of an employee's story) are
	// not committed after it; the chunks committed before stay, and the
	// store is then not empty: drop it before seeding again. The count is
	// a floor: a chunk whose COMMIT was in flight when Abort cancelled it
	// may have committed unseen (at most one chunk, whole appends).
	stopped := func(err error) error {
		if bw != nil {
			n := bw.Abort()
			fmt.Fprintf(stderr, "seed: stopped; the events not yet written were dropped, at least the %d written before stay (and perhaps one more chunk whose commit was under way; drop the schema before seeding again)\n", n)
		}
		return err
	}
	cfg := seed.Config{Employees: *n, Seed: *seedV, Year: *year, Workers: *workers, BiasedAppraisers: *biased,
		Progress: func(done, total int) {
			if time.Since(last) > time.Second || done == total {
				fmt.Fprintf(stderr, "seed: %d/%d tasks (%.0f%%)\n", done, total, 100*float64(done)/float64(total))
				last = time.Now()
			}
		}}
	var out any
	// done is the line that says the seed is over. It is printed last,
	// after the checkpoint is signed and witnessed: printed when the
	// events were written (as before), it told an operator the store was
	// ready minutes before its checkpoint existed, and a copy taken then
	// had none (kinerjad's first start then checks every signature).
	var done string
	if *nAgencies == 1 {
		stats, err := seed.Run(ctx, cfg, seed.NewServices(h, policy.Default()))
		if err != nil {
			return stopped(err)
		}
		if err := written(stats.Events, stats.Commands); err != nil {
			return err
		}
		done = fmt.Sprintf("%d employees", stats.Employees)
		out = stats
	} else {
		// Several agencies (issue 15): one run per agency on the same store,
		// each a root unit of its own, the NIPs drawn apart.
		taken := map[string]bool{}
		all := make([]seed.Stats, 0, *nAgencies)
		total, events, commands := 0, 0, 0
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
				return stopped(fmt.Errorf("seed: agency %s: %w", c.AgencyCode, err))
			}
			total += stats.Employees
			events += stats.Events
			commands += stats.Commands
			all = append(all, stats)
		}
		if err := written(events, commands); err != nil {
			return err
		}
		done = fmt.Sprintf("%d employees in %d agencies", total, *nAgencies)
		out = all
	}
	if *sign && (sf.store == backend.Bolt || sf.store == backend.Postgres) {
		if head0 != 0 {
			fmt.Fprintln(stderr, "seed: the store held events before: no checkpoint signed (kinerjad signs one once it has checked them)")
		} else if err := signSeeded(ctx, l, sf.data, *auditKey, *auditName, ic, stderr); err != nil {
			return fmt.Errorf("seed: sign a checkpoint: %w", err)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "seeded %s in %.1fs\n", done, time.Since(start).Seconds())
	return nil
}

// storeCommits is the count of the store's group commits so far, when it
// counts them (bbolt).
func storeCommits(s any) (uint64, bool) {
	c, ok := s.(interface{ Commits() uint64 })
	if !ok {
		return 0, false
	}
	return c.Commits(), true
}

// printCommits says how many group commits (one fsync each on bbolt) the
// seed's commands shared: the more commands in flight, the fewer.
func printCommits(stderr io.Writer, s any, before uint64, ok bool, commands int) {
	now, _ := storeCommits(s)
	if !ok || now <= before {
		return
	}
	n := now - before
	fmt.Fprintf(stderr, "seed: %d commands in %d commits (%.1f a commit)\n", commands, n, float64(commands)/float64(n))
}

// seedHeadCache is the store's head cache for a seed of n employees: room
// for every stream the run writes (a unit's, an employee's, an SKP's and a
// unit's distribution, fewer than three per employee) with a margin. The
// run goes round its streams phase after phase; with PostgreSQL's default
// of 65,536 heads, a province (100,000 employees, about 220,000 streams)
// evicted them before they were appended to again, and each such append
// read its stream's head back and verified the head's signature first
// (28 % of the seeder's CPU in the reporting-line phase, perf). An entry
// is about 150 bytes: 60 MB at a province. bbolt's trusted heads are the
// same bound (there the check ran in the one committer goroutine, once
// per stream and phase: ≈ 330,000 Ed25519 verifications at a province).
func seedHeadCache(n int) int {
	return max(1<<16, 4*n)
}

// seedGC lets the seeder's heap grow further between collections, as
// rebuildGC does for a rebuild: the run allocates the commands' decoded
// streams, events and encodings that die at once, and with the default
// GOGC the collector took 15–25 % of its CPU (docs/benchmarks.md §34 and
// the seedcpu section). The soft memory limit of 3 GiB makes the collector
// run more often as the heap nears it, and follows the live heap when a
// province's live data outgrows it (package memlimit: under the live heap
// the collector would run back to back). GOGC or GOMEMLIMIT
// in the environment leave the runtime's settings as they are. It
// returns the function that restores them (the tests run commands in one
// process).
func seedGC(getenv env) (restore func()) { return memlimit.Tune(getenv, 400, 3<<30) }

// signSeeded signs and witnesses an audit checkpoint over a store this
// process has just seeded from empty, as kinerjad's signer would: the
// trail is projected from the store as written (bbolt: this process held
// the file's lock the whole time, and wrote every event itself;
// PostgreSQL: read authenticated, every signature verified), its
// root signed with the data directory's audit key, the checkpoint appended
// and recorded in the witness. kinerjad's first start then trusts the
// checkpoint for these events (a chain check each, their root compared)
// instead of checking every writer signature (section 5 of
// docs/benchmarks.md: 77 µs each). The key (keyPath, default in data) and
// the witnesses (ic) are kinerjad's flags: a checkpoint signed by another
// key, or missing from one of kinerjad's witnesses, would not be trusted.
func signSeeded(ctx context.Context, l *ledger, data, keyPath, name string, ic wiring.IntegrityConfig, stderr io.Writer) error {
	start := time.Now()
	if strings.TrimSpace(keyPath) == "" {
		keyPath = filepath.Join(data, wiring.AuditKeyFile)
	}
	key, err := wiring.LoadOrCreateAuditKey(keyPath, name)
	if err != nil {
		return err
	}
	ic = ic.WithDefaults(data)
	set, closeWitness, err := wiring.OpenWitnesses(ctx, ic.Witnesses())
	if err != nil {
		return err
	}
	defer closeWitness()
	verifiers := []*merkle.Verifier{key.Verifier()}
	if _, err := (wiring.StartupCheck{Store: l.store, AuditKeys: verifiers, Witness: set, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(ctx); err != nil {
		return err
	}
	// bbolt: this process held the file's lock and wrote every event
	// itself. PostgreSQL has no such lock (another writer, or a hand in
	// the table, may have added events meanwhile): the trail is projected
	// from the authenticated feed, every writer signature verified (on
	// every core), as kinerjad's audit projection reads it before its
	// signer signs. A refused event fails the catch-up: nothing is signed.
	feed := l.store
	if l.sf.store == backend.Postgres {
		feed = l.authed
	}
	m := memreadmodel.New(memreadmodel.Options{})
	n, err := projections.CatchUp(ctx, feed, m.Sink(audit.Name), projections.CatchUpOptions{Batch: 5000})
	if err != nil {
		return err
	}
	signer := audit.NewSigner(audit.SignerConfig{Store: l.store, Trail: m.Audit(), Key: key, Witness: set,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	cp, _, err := signer.SignNow(ctx)
	if err != nil {
		return err
	}
	if err := signer.WitnessProblem(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "seed: signed and witnessed checkpoint of %d entries (%d events read) in %.1fs\n", cp.Size, n, time.Since(start).Seconds())
	return nil
}
