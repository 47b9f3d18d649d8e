package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// deadlinesRebuildReport is what `projections rebuild deadlines` prints.
type deadlinesRebuildReport struct {
	Projection string `json:"projection"`
	// Events counts the events applied; Checkpoint is the position reached.
	Events     int                 `json:"events"`
	Checkpoint eventstore.Position `json:"checkpoint"`
	// Seconds is how long the rebuild took.
	Seconds float64 `json:"seconds"`
}

// runDeadlinesRebuild rebuilds the deadline process manager's state (in
// PostgreSQL with --postgres-url, else kinerjad's DATA/deadlines.db) from
// the log: it resets the items and the checkpoint, keeping
// the record of what fired and the outbox, then applies every SKP event
// again. The items come back with the same keys and firing IDs (they are
// a pure function of each SKP's events and the settings), so what fired
// before the rebuild does not fire again. The settings must be kinerjad's
// (the same flags and KINERJA_* environment: --zone, --establish-deadline,
// --rating-due-days, ...): other settings give other deadlines, and a
// moved deadline is a new firing. Run it with kinerjad (or the projector)
// stopped: while the rebuild runs the items reflect the log only up to
// the position reached, and a running scheduler could remind from them.
// In embedded mode (--read-models memory) the file's lock enforces it: a
// kinerjad running on the same data holds DATA/deadlines.db, and the
// rebuild refuses (deadlinestore.ErrInUse) before it reads anything.
func runDeadlinesRebuild(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("projections rebuild deadlines", stderr)
	var sf storeFlags
	sf.register(fs)
	var dc wiring.DeadlineConfig
	dc.RegisterFlags(fs)
	zone := fs.String("zone", "WIB", "the agency's time zone, as kinerjad's --zone: WIB, WITA or WIT")
	establish := fs.String("establish-deadline", "01-31", "SKP establishment deadline MM-DD, as kinerjad's --establish-deadline")
	batch := fs.Int("batch", 5000, "events per transaction")
	readModels := fs.String("read-models", "", "where kinerjad keeps the process manager's state, as kinerjad's --read-models: memory (DATA/deadlines.db) or postgres (default: memory with --store bolt, else postgres)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	rm := *readModels
	if rm == "" {
		rm = "postgres"
		if sf.store == "bolt" {
			rm = "memory"
		}
	}
	switch {
	case rm != "memory" && rm != "postgres":
		return exitcode.Usagef("--read-models %q: want memory or postgres", rm)
	case rm == "postgres" && sf.postgresURL == "":
		return exitcode.Usagef("--read-models postgres needs --postgres-url")
	}
	pol := policy.Default()
	loc, ok := map[string]*time.Location{"WIB": policy.WIB, "WITA": time.FixedZone("WITA", 8*3600), "WIT": time.FixedZone("WIT", 9*3600)}[strings.ToUpper(*zone)]
	if !ok {
		return exitcode.Usagef("--zone %q: want WIB, WITA or WIT", *zone)
	}
	pol.Location = loc
	var m, d int
	if _, err := fmt.Sscanf(*establish, "%d-%d", &m, &d); err != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return exitcode.Usagef("--establish-deadline %q: want MM-DD", *establish)
	}
	pol.EstablishDeadline = policy.MonthDay{Month: time.Month(m), Day: d}
	if err := dc.Validate(pol); err != nil {
		return exitcode.Usage(err)
	}
	var bb *deadlinestore.Bolt
	if rm == "memory" {
		// Embedded mode: kinerjad's file, which it holds locked while it
		// runs (also when its event store is PostgreSQL or KurrentDB, which
		// no file lock guards): taken first, so that a running kinerjad is
		// refused before anything is read.
		path := filepath.Join(sf.data, "deadlines.db")
		var err error
		if bb, err = deadlinestore.OpenBolt(path); errors.Is(err, deadlinestore.ErrInUse) {
			return fmt.Errorf("projections rebuild %s: %s is held by another process: is kinerjad (or the projector) running on %s? Stop it first: a running scheduler could remind from half-rebuilt items (%w)", deadlines.Name, path, sf.data, err)
		} else if err != nil {
			return fmt.Errorf("projections rebuild %s: %w", deadlines.Name, err)
		}
		defer bb.Close()
	}
	l, err := openLedger(ctx, sf, stderr, readLedger)
	if err != nil {
		return err
	}
	defer l.close()
	var b deadlines.Backend
	if bb != nil {
		b = bb
	} else {
		pool, err := pgxpool.New(ctx, sf.postgresURL)
		if err != nil {
			return err
		}
		l.pool = pool
		// No file lock here: two rebuilds at once would reset and fill
		// the same tables under each other. The second is refused.
		unlock, err := lockDeadlinesRebuild(ctx, pool)
		if err != nil {
			return fmt.Errorf("projections rebuild %s: %w", deadlines.Name, err)
		}
		defer unlock()
		if b, err = deadlinestore.OpenPostgres(ctx, pool, ""); err != nil {
			return err
		}
	}
	set := dc.Settings(pol)
	sink := deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: l.authed}, 0, set))
	start := time.Now()
	if err := sink.Reset(ctx); err != nil {
		return err
	}
	// Recorded before the catch-up: a rebuild that stops half-way leaves
	// items of these settings (kinerjad or the projector with others
	// refuses to start on PostgreSQL, naming this rebuild).
	if err := deadlines.RecordSettings(ctx, b, set); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rebuilding %s from the log (what fired is kept)...\n", deadlines.Name)
	n, err := projections.CatchUp(ctx, l.authed, sink, projections.CatchUpOptions{Batch: *batch, Progress: func(pos eventstore.Position, read int) {
		fmt.Fprintf(stderr, "  %s: at position %d (%d events read)\n", deadlines.Name, pos, read)
	}})
	if err != nil {
		return fmt.Errorf("projections rebuild %s: %w", deadlines.Name, err)
	}
	cp, err := sink.Checkpoint(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(deadlinesRebuildReport{Projection: deadlines.Name, Events: n, Checkpoint: cp, Seconds: time.Since(start).Seconds()})
}

// errDeadlinesRebuildRunning: another `projections rebuild deadlines
// --read-models postgres` holds the database's rebuild lock.
var errDeadlinesRebuildRunning = errors.New("another rebuild of the deadline process manager is running on this database (it holds the PostgreSQL advisory lock kinerja/deadlines-rebuild); wait for it to finish")

// lockDeadlinesRebuild takes, on a connection of its own held until
// unlock, the session advisory lock of the PostgreSQL process manager's
// rebuild, without waiting: errDeadlinesRebuildRunning when another
// rebuild holds it. A rebuild that dies releases it with its connection.
func lockDeadlinesRebuild(ctx context.Context, pool *pgxpool.Pool) (unlock func(), err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	const key = `hashtext('kinerja/deadlines-rebuild')`
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`).Scan(&ok); err != nil {
		conn.Release()
		return nil, err
	}
	if !ok {
		conn.Release()
		return nil, errDeadlinesRebuildRunning
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // the session's end releases it
		}
		conn.Release()
	}, nil
}
