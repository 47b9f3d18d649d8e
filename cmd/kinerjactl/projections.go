package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/pglease"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/memlimit"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// runProjections dispatches `projections status`, `projections check`,
// `projections rebuild`, `projections replay` and `projections drop-retired`.
func runProjections(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	return subcommands("projections", "kinerjactl projections status|check|rebuild NAME|replay NAME|drop-retired [flags]", args, stderr, map[string]func([]string) error{
		"status":  func(a []string) error { return runProjectionsStatus(ctx, a, getenv, stdout, stderr) },
		"check":   func(a []string) error { return runProjectionsCheck(ctx, a, getenv, stdout, stderr) },
		"rebuild": func(a []string) error { return runProjectionsRebuild(ctx, a, getenv, stdout, stderr) },
		"replay":  func(a []string) error { return runProjectionsReplay(ctx, a, getenv, stdout, stderr) },
		"drop-retired": func(a []string) error {
			return runProjectionsDropRetired(ctx, a, getenv, stdout, stderr)
		},
	})
}

// runProjectionsDropRetired drops the PostgreSQL audit trail's retired
// generations (the <table>__retired_gN tables each rebuild of the trail
// leaves) that the live trail reproduces, table for table and row for row
// (pgreadmodel.DB.DropRetired); one that it does not reproduce is kept and
// named, and the command then exits non-zero, as it does while a rebuild
// of the trail is in progress.
func runProjectionsDropRetired(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("projections drop-retired", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if sf.postgresURL == "" {
		return exitcode.Usagef("projections drop-retired: give --postgres-url of the PostgreSQL read models")
	}
	l, db, err := openPostgresReadModels(ctx, sf, stderr)
	if err != nil {
		return err
	}
	defer l.close()
	dropped, err := db.DropRetired(ctx)
	for _, g := range dropped {
		fmt.Fprintf(stdout, "dropped the retired audit generation %d\n", g)
	}
	if err != nil {
		return fmt.Errorf("projections drop-retired: %w", err)
	}
	if len(dropped) == 0 {
		fmt.Fprintln(stdout, "no retired audit generation")
	}
	return nil
}

// statusRow is one projection's state as the command prints it.
type statusRow struct {
	Name        string              `json:"name"`
	Checkpoint  eventstore.Position `json:"checkpoint"`
	Head        eventstore.Position `json:"head"`
	LagEvents   int                 `json:"lag_events"`
	LagSeconds  float64             `json:"lag_seconds"`
	DeadLetters int                 `json:"dead_letters"`
	Generation  int                 `json:"generation,omitempty"`
	Rebuilding  string              `json:"rebuilding,omitempty"`
	Stalled     bool                `json:"stalled,omitempty"`
	LastError   string              `json:"last_error,omitempty"`
	// Owner is the instance of the shared projector (projector --share)
	// that owns the projection's partition, when one does.
	Owner string `json:"owner,omitempty"`
}

// runProjectionsStatus prints position, lag (events and seconds) and dead
// letters per projection: from a running kinerjad (--url; the only way in
// embedded mode, where the read models live in its memory) or from the
// PostgreSQL read models directly.
func runProjectionsStatus(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("projections status", stderr)
	var sf storeFlags
	sf.register(fs)
	url := fs.String("url", "", "ask a running kinerjad (e.g. http://127.0.0.1:8080)")
	token := fs.String("token", "", "AUDITOR or HR_ADMIN token for --url")
	leaseGroup := fs.String("lease-group", "kinerja_rm", "the shared projectors' --lease-group, to show each partition's owner")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	var rows []statusRow
	if *url != "" {
		var list struct {
			Items []statusRow `json:"items"`
		}
		if err := callKinerjad(ctx, http.MethodGet, *url, "/v1/ops/projections", *token, &list); err != nil {
			return err
		}
		rows = list.Items
	} else {
		if sf.postgresURL == "" {
			return exitcode.Usagef("projections status: give --url of a running kinerjad, or --postgres-url of the PostgreSQL read models")
		}
		l, db, err := openPostgresReadModels(ctx, sf, stderr)
		if err != nil {
			return err
		}
		defer l.close()
		st, err := db.Status(ctx)
		if err != nil {
			return err
		}
		head, err := l.store.Head(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			r := statusRow{Name: s.Projection, Checkpoint: s.Position, Head: head, DeadLetters: s.DeadLetters, Generation: s.Generation, Rebuilding: s.Rebuilding}
			if sink := db.Sink(s.Projection); sink != nil {
				for ev, err := range l.store.ReadAll(ctx, eventstore.ReadAllOptions{After: s.Position, Filter: sink.Filter(), Limit: 100_000}) {
					if err != nil {
						return err
					}
					if r.LagEvents == 0 {
						r.LagSeconds = time.Since(ev.RecordedAt).Seconds()
					}
					r.LagEvents++
				}
			}
			rows = append(rows, r)
		}
		// The deadline process manager, when its schema is there.
		if pm, err := deadlinestore.OpenPostgres(ctx, l.pool, ""); err == nil {
			cp, err := pm.Checkpoint(ctx)
			if err != nil {
				return err
			}
			r := statusRow{Name: deadlines.Name, Checkpoint: cp, Head: head}
			for ev, err := range l.store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Filter: deadlines.Filter(), Limit: 100_000}) {
				if err != nil {
					return err
				}
				if r.LagEvents == 0 {
					r.LagSeconds = time.Since(ev.RecordedAt).Seconds()
				}
				r.LagEvents++
			}
			rows = append(rows, r)
		}
		// The owners of shared projectors' partitions (none when the
		// projector runs alone); the process manager is in "control".
		names := make([]string, len(rows))
		for i, r := range rows {
			names[i] = r.Name
			if r.Name == deadlines.Name {
				names[i] = "control"
			}
		}
		owners, err := pglease.Owners(ctx, l.pool, *leaseGroup, names)
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i].Owner = owners[i].Instance
		}
		// A projection split into agency groups (projector --agency-groups)
		// is owned group by group: its owners, in group order.
		for i, s := range st {
			if s.Groups < 2 {
				continue
			}
			keys := make([]string, s.Groups)
			for g := range keys {
				keys[g] = pgreadmodel.GroupKey(s.Projection, g, s.Groups)
			}
			owners, err := pglease.Owners(ctx, l.pool, *leaseGroup, keys)
			if err != nil {
				return err
			}
			by := make([]string, len(owners))
			for g, o := range owners {
				by[g] = o.Instance
			}
			rows[i].Owner = strings.Join(by, ",")
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// checkReport is what `projections check` prints.
type checkReport struct {
	OK bool `json:"ok"`
	// SKPCounts is each (unit, year, status) whose row of skp_counts
	// differs from the aggregate of the SKP rows.
	SKPCounts []pgreadmodel.CountDrift `json:"skp_counts"`
	// SKPCoverage is each (year, NIP) whose row of skp_coverage differs
	// from the number of its SKP rows that are not cancelled.
	SKPCoverage []pgreadmodel.CoverageDrift `json:"skp_coverage"`
}

// runProjectionsCheck checks the consistency the PostgreSQL read models
// keep within themselves: skp_counts and skp_coverage against the SKP rows
// they count (pgreadmodel.DB.CheckCounts, CheckCoverage). It prints the report as JSON and exits 3
// when something differs; the repair is `projections rebuild skps`.
func runProjectionsCheck(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("projections check", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if sf.postgresURL == "" {
		return exitcode.Usagef("projections check: give --postgres-url of the PostgreSQL read models")
	}
	p, err := pgxpool.New(ctx, sf.postgresURL)
	if err != nil {
		return err
	}
	defer p.Close()
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Policy: policy.Default()})
	if err != nil {
		return err
	}
	drift, err := db.CheckCounts(ctx)
	if err != nil {
		return err
	}
	cov, err := db.CheckCoverage(ctx)
	if err != nil {
		return err
	}
	r := checkReport{OK: len(drift) == 0 && len(cov) == 0, SKPCounts: drift, SKPCoverage: cov}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	if !r.OK {
		fmt.Fprintln(stderr, "skp_counts or skp_coverage differs from the SKP rows: run kinerjactl projections rebuild skps")
		return errProblems
	}
	return nil
}

// runProjectionsRebuild rebuilds PostgreSQL read models blue/green: into
// fresh tables while the live ones keep serving, then swapped in one
// transaction each; NAME is one projection, several separated by commas,
// or "all", and several are rebuilt from one read of the log. For NAME
// deadlines it rebuilds the deadline process manager's state in place
// (runDeadlinesRebuild).
func runProjectionsRebuild(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == deadlines.Name {
		return runDeadlinesRebuild(ctx, args[1:], getenv, stdout, stderr)
	}
	l, db, names, ro, err := openForRebuild(ctx, "rebuild", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer l.close()
	defer rebuildGC(getenv)()
	if ro.cpuProfile != "" {
		stop, err := startCPUProfile(ro.cpuProfile)
		if err != nil {
			return fmt.Errorf("projections rebuild: %w", err)
		}
		defer stop()
	}
	start := time.Now()
	rbs, err := rebuild(ctx, l, db, names, ro, stderr)
	if err != nil {
		// Concurrent swaps: some may have been swapped in before another
		// failed. Say which, beside the error.
		var in, out []string
		for _, rb := range rbs {
			if rb.Swapped() {
				in = append(in, rb.Name())
			} else {
				out = append(out, rb.Name())
			}
		}
		if len(in) > 0 {
			fmt.Fprintf(stdout, "swapped in: %s; NOT swapped (their live tables unchanged): %s\n", strings.Join(in, ", "), strings.Join(out, ", "))
			return fmt.Errorf("%w (swapped in: %s; not swapped: %s)", err, strings.Join(in, ", "), strings.Join(out, ", "))
		}
		return err
	}
	for _, rb := range rbs {
		fmt.Fprintf(stdout, "rebuilt %s (generation %d) in %.1fs and swapped it in\n", rb.Name(), rb.Generation(), time.Since(start).Seconds())
	}
	return nil
}

// rebuildGC lets a rebuild's heap grow further between collections: the
// rebuild allocates batch after batch of decoded events that die at once,
// and with the default GOGC the collector took ≈ 10 % of its CPU
// (docs/benchmarks.md §26: GOGC=400 saved 2.5 of 24.5 s of client CPU at
// 241,000 events, peak RSS 473 MB). A soft memory limit of 2 GiB makes
// the collector run more often as the heap nears it, and follows the live
// heap at 3 × if the rebuild's live data outgrows it (memlimit.TuneBatch:
// a province's live heap is ≈ 2.5 GB, and following it at 1.5 × cost the
// client 173 s of CPU where 3 × cost ≈ 74–90 s), at most half of the
// machine's memory. GOGC or GOMEMLIMIT in the
// environment leave the runtime's settings as they are. It returns the
// function that restores them (the tests run commands in one process).
func rebuildGC(getenv env) (restore func()) { return memlimit.TuneBatch(getenv, 400, 2<<30, 3, 1) }

// replayReport is what `projections replay` prints.
type replayReport struct {
	Projection string `json:"projection"`
	// Generation is the rebuilt generation now live (0: nothing to replay).
	Generation int `json:"generation,omitempty"`
	// Before counts the dead letters before the replay.
	Before int `json:"dead_letters_before"`
	// Replayed are the dead letters that now apply.
	Replayed []projections.DeadLetterRecord `json:"replayed"`
	// StillFailing are the dead letters that failed again; NewlyFailing
	// are events that were applied before and fail now (a regression of
	// the running binary).
	StillFailing []projections.DeadLetterRecord `json:"still_failing"`
	NewlyFailing []projections.DeadLetterRecord `json:"newly_failing"`
}

// runProjectionsReplay replays a PostgreSQL read model's dead letters,
// after the fault that poisoned them was fixed and deployed. A dead letter
// cannot be applied where it stands: the read model has moved past it, and
// what came after may depend on it. So a replay is a blue/green rebuild,
// which applies every event in order, the dead letters among them; the
// report names those that now apply and those that fail again. It exits
// non-zero while any dead letter remains. With no dead letters it changes
// nothing.
func runProjectionsReplay(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	l, db, names, ro, err := openForRebuild(ctx, "replay", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer l.close()
	if len(names) != 1 {
		return exitcode.Usagef("projections replay: one projection at a time")
	}
	name := names[0]
	before, err := db.Sink(name).DeadLetters(ctx)
	if err != nil {
		return err
	}
	rep := replayReport{Projection: name, Before: len(before), Replayed: []projections.DeadLetterRecord{},
		StillFailing: []projections.DeadLetterRecord{}, NewlyFailing: []projections.DeadLetterRecord{}}
	if len(before) > 0 {
		fmt.Fprintf(stderr, "replaying %d dead letter(s) of %s by a rebuild...\n", len(before), name)
		rbs, err := rebuild(ctx, l, db, names, ro, stderr)
		if err != nil {
			return err
		}
		rep.Generation = rbs[0].Generation()
		after, err := db.Sink(name).DeadLetters(ctx)
		if err != nil {
			return err
		}
		failing := make(map[string]bool, len(after))
		for _, d := range after {
			failing[d.EventID] = true
		}
		was := make(map[string]bool, len(before))
		for _, d := range before {
			was[d.EventID] = true
			if failing[d.EventID] {
				continue
			}
			rep.Replayed = append(rep.Replayed, d)
		}
		for _, d := range after {
			if was[d.EventID] {
				rep.StillFailing = append(rep.StillFailing, d)
			} else {
				rep.NewlyFailing = append(rep.NewlyFailing, d)
			}
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if n := len(rep.StillFailing) + len(rep.NewlyFailing); n > 0 {
		return fmt.Errorf("projections replay %s: %d dead letter(s) remain", name, n)
	}
	return nil
}

// rebuildOptions are a rebuild's flags, resolved.
type rebuildOptions struct {
	batch int
	// witnessed is the witnessed checkpoint that covers the events under
	// it (nil: none, every signature is verified).
	witnessed *audit.WitnessRecord
	// cpuProfile, when set, is the file a CPU profile of the rebuild
	// (from the first StartRebuild to the last swap) is written to.
	cpuProfile string
}

// openForRebuild parses `projections rebuild|replay NAME [flags]` and opens
// the store and the PostgreSQL read models. NAME is a projection, several
// separated by commas, or "all".
func openForRebuild(ctx context.Context, verb string, args []string, getenv env, stderr io.Writer) (_ *ledger, _ *pgreadmodel.DB, _ []string, _ rebuildOptions, err error) {
	known := strings.Join(pgreadmodel.Names(), ", ")
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintf(stderr, "usage: kinerjactl projections %s NAME[,NAME…]|all [flags] (NAME: %s)\n", verb, known)
		args = append([]string{""}, args...) // the flags' usage follows
	} else if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil, nil, nil, rebuildOptions{}, exitcode.Usagef("usage: kinerjactl projections %s NAME[,NAME…]|all [flags] (NAME: %s)", verb, known)
	}
	names := strings.Split(args[0], ",")
	if args[0] == "all" {
		names = pgreadmodel.Names()
	}
	fs := newFlagSet("projections "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	batch := fs.Int("batch", 5000, "events per transaction")
	cover := fs.Bool("cover", true, "read the events under the latest witnessed audit checkpoint checking their chain links and, before any swap, the checkpoint's signed root, instead of every writer signature (false: verify every signature)")
	var keys multiFlag
	fs.Var(&keys, "key", "audit checkpoint public key file to trust (repeatable; default DATA/"+wiring.AuditPubKeyFile+")")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the rebuild (its read, its Sinks and its swaps) to this file, for go tool pprof")
	fs.IntVar(&sf.cacheSKPs, "cache-skps", 0, "SKP aggregates each SKP projection keeps in its cache while it rebuilds; a miss replays the SKP's stream, and a rebuild that visits more SKPs in turn than this replays one stream per event (docs/benchmarks.md §67). 0: 65,536, growing up to 131,072 when the log visits more SKPs in turn (projections.Cache)")
	var ic wiring.IntegrityConfig
	ic.RegisterWitnessFlags(fs)
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return nil, nil, nil, rebuildOptions{}, err
	}
	if sf.cacheSKPs < 0 {
		return nil, nil, nil, rebuildOptions{}, exitcode.Usagef("projections %s: --cache-skps %d: want 0 (the default) or more", verb, sf.cacheSKPs)
	}
	if sf.postgresURL == "" {
		return nil, nil, nil, rebuildOptions{}, exitcode.Usagef("projections %s: the PostgreSQL read models need --postgres-url (in embedded mode the read models are rebuilt, dead letters replayed, at every start of kinerjad)", verb)
	}
	seen := map[string]bool{}
	for _, name := range names {
		if pgreadmodel.Tables(name) == nil {
			return nil, nil, nil, rebuildOptions{}, exitcode.Usagef("no projection %q (known: %s)", name, known)
		}
		if seen[name] {
			return nil, nil, nil, rebuildOptions{}, exitcode.Usagef("projection %q named twice", name)
		}
		seen[name] = true
	}
	l, db, err := openPostgresReadModels(ctx, sf, stderr)
	if err != nil {
		return nil, nil, nil, rebuildOptions{}, err
	}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	ro := rebuildOptions{batch: *batch, cpuProfile: *cpuProfile}
	if *cover {
		if ro.witnessed, err = witnessedCover(ctx, l, ic, keys, stderr); err != nil {
			return nil, nil, nil, rebuildOptions{}, err
		}
	}
	return l, db, names, ro, nil
}

// witnessedCover returns the witnessed checkpoint a rebuild may read the
// events under by their chain links, once it has compared the root they
// give (pgreadmodel.RunAllCovered): the newest record of kinerjad's
// witnesses (ic, default DATA/witness.json), whose checkpoint the audit
// keys (--key, default DATA/audit-signing.pub) verify and the store still
// holds (audit.CheckWitness). nil when there is none: no witness, no
// record, no audit key. A store that is behind or disagrees with its
// witness is refused, as kinerjad refuses to start on it.
func witnessedCover(ctx context.Context, l *ledger, ic wiring.IntegrityConfig, keys []string, stderr io.Writer) (*audit.WitnessRecord, error) {
	none := func(why string) (*audit.WitnessRecord, error) {
		fmt.Fprintf(stderr, "no witnessed checkpoint covers the log (%s): every writer signature is verified\n", why)
		return nil, nil
	}
	ic = ic.WithDefaults(l.sf.data)
	if ic.WitnessNATSURL == "" && !fileExists(ic.WitnessFile) {
		return none("no witness " + ic.WitnessFile)
	}
	vs, err := verifiers(l.sf.data, keys)
	if err != nil {
		if len(keys) > 0 {
			return nil, err
		}
		return none(err.Error())
	}
	rec, witnesses, err := latestWitnessed(ctx, ic, false)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.Checkpoint.Size == 0 {
		return none("the witness holds no signed checkpoint")
	}
	if err := audit.CheckWitness(ctx, l.store, rec, vs); err != nil {
		return nil, fmt.Errorf("%w (witness: %s): nothing rebuilt; run kinerjactl verify", err, witnesses)
	}
	fmt.Fprintf(stderr, "the witnessed checkpoint of %d entries (signed %s) covers the log up to position %d: chain links and its root checked there, signatures after\n",
		rec.Checkpoint.Size, rec.Checkpoint.SignedAt.Format(time.RFC3339), rec.Checkpoint.Position)
	return rec, nil
}

// rebuild runs one blue/green rebuild of each of names, from one read of
// the log, to their swaps, printing progress, and returns the rebuilds
// (also on an error: some may have been swapped in, Rebuild.Swapped). On
// an error (or an interrupt) every rebuild not swapped is aborted: its
// fresh tables dropped, the live ones untouched. Covered by a witnessed
// checkpoint (ro.witnessed), the events under it are read by their chain
// links and nothing is swapped unless they give its signed root.
func rebuild(ctx context.Context, l *ledger, db *pgreadmodel.DB, names []string, ro rebuildOptions, stderr io.Writer) (rbs []*pgreadmodel.Rebuild, err error) {
	defer func() {
		if err != nil {
			for _, rb := range rbs {
				if !rb.Swapped() {
					rb.Abort(context.WithoutCancel(ctx))
				}
			}
		}
	}()
	for _, name := range names {
		rb, err := db.StartRebuild(ctx, name)
		if err != nil {
			return rbs, err
		}
		rbs = append(rbs, rb)
		fmt.Fprintf(stderr, "rebuilding %s into generation %d...\n", name, rb.Generation())
	}
	last := time.Now()
	report := func(pos eventstore.Position, read int) {
		if time.Since(last) >= 2*time.Second {
			fmt.Fprintf(stderr, "  %s: %d events read, at position %d\n", strings.Join(names, ", "), read, pos)
			last = time.Now()
		}
	}
	if err := pgreadmodel.RunAllCovered(ctx, l.authed, ro.witnessed, rbs, ro.batch, report); err != nil {
		return rbs, err
	}
	if n := l.history.Replays(); n > 0 {
		fmt.Fprintf(stderr, "the SKP projections replayed %d streams their caches did not hold\n", n)
	}
	return rbs, nil
}

// openPostgresReadModels opens the store and the PostgreSQL read models.
func openPostgresReadModels(ctx context.Context, sf storeFlags, stderr io.Writer) (*ledger, *pgreadmodel.DB, error) {
	l, err := openLedger(ctx, sf, stderr, readLedger)
	if err != nil {
		return nil, nil, err
	}
	p, err := pgxpool.New(ctx, sf.postgresURL)
	if err != nil {
		l.close()
		return nil, nil, err
	}
	l.pool = p
	// One shared history, as in kinerjad (§43): a stream that the five
	// SKP projections' caches do not hold (evicted, in a rebuild of more
	// SKPs than a cache keeps) is read and authenticated once for all of
	// them, not once by each; the bound counts the replays.
	l.history = &projections.BoundedHistory{History: projections.NewSharedHistory(projections.StoreHistory{Store: l.authed}, 0)}
	if sf.cacheSKPs <= 0 {
		// A batch job: without --cache-skps the caches may grow under a
		// scan over more SKPs than they hold (projections.Cache), rather
		// than replay a stream per event.
		l.history.SetGrowTo(projections.MaxCacheSize)
	}
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{History: l.history, Policy: policy.Default(), CacheSize: sf.cacheSKPs})
	if err != nil {
		l.close()
		return nil, nil, err
	}
	return l, db, nil
}

// startCPUProfile starts a CPU profile into the file path and returns what
// stops it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
