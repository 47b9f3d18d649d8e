//go:build ignore

// reports_compute computes the progress board and the distribution at a
// unit N times each, in process, over PostgreSQL read models (no report
// cache: each one is computed), and prints per report the wall p50/p95,
// this process's CPU (getrusage) and the CPU of the PostgreSQL backends
// serving the database (/proc/PID/stat of pg_stat_activity's pids for
// it; PostgreSQL on this machine, a database only this program uses).
// Run it from a checkout's root to measure that checkout's code (issue 15,
// branch pgreports; docs/bench/reports_ab.sh runs it for main and a
// branch in alternated rounds):
//
//	go run docs/bench/reports_compute.go -pg 'postgres://…/db' -unit BRPKP -year 2025 -n 40
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

func main() {
	pg := flag.String("pg", "", "PostgreSQL URL of the read models")
	unit := flag.String("unit", "", "unit (the root)")
	year := flag.Int("year", 2025, "year of the board and period of the distribution")
	n := flag.Int("n", 40, "reports of each kind")
	flag.Parse()
	ctx := context.Background()
	p, err := pgxpool.New(ctx, *pg)
	if err != nil {
		fail(err)
	}
	defer p.Close()
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Policy: policy.Default()})
	if err != nil {
		fail(err)
	}
	var dbname string
	if err := p.QueryRow(ctx, `SELECT current_database()`).Scan(&dbname); err != nil {
		fail(err)
	}
	in := reports.DistributionInput{Directory: db.Directory(), SKPs: db.SKPs(), Evaluations: db.Evaluations(),
		Policy: policy.Default(), Pattern: distribution.SE3_2023}
	kinds := []struct {
		name string
		run  func() (string, error)
	}{
		{"progress", func() (string, error) {
			r, err := reports.Progress(ctx, db.Directory(), db.SKPs(), *unit, *year)
			if len(r.Units) == 0 {
				return "", err
			}
			t := r.Units[0].Subtree
			return fmt.Sprintf("%d units, employees %d, missing %d, SKPs %d", len(r.Units), t.Employees, t.Missing, t.SKPs), err
		}},
		{"distribution", func() (string, error) {
			r, err := reports.Distribution(ctx, in, *unit, strconv.Itoa(*year))
			return fmt.Sprintf("%d units, counts %v", len(r.Units), r.Result.Counts), err
		}},
	}
	for _, k := range kinds {
		what, err := k.run() // the first: plans, caches
		if err != nil {
			fail(err)
		}
		var walls []time.Duration
		go0, pg0 := goCPU(), pgCPU(ctx, p, dbname)
		for range *n {
			t0 := time.Now()
			if _, err := k.run(); err != nil {
				fail(err)
			}
			walls = append(walls, time.Since(t0))
		}
		go1, pg1 := goCPU(), pgCPU(ctx, p, dbname)
		slices.Sort(walls)
		q := func(f float64) float64 { return float64(walls[int(f*float64(len(walls)-1))].Microseconds()) / 1000 }
		load, _ := os.ReadFile("/proc/loadavg")
		fmt.Printf("%s: %s\n  %d computed: Go CPU %.1f ms + PostgreSQL CPU %.1f ms a report; wall p50 %.1f ms, p95 %.1f ms; load %s\n",
			k.name, what, *n, (go1-go0)/float64(*n)*1000, (pg1-pg0)/float64(*n)*1000, q(0.5), q(0.95),
			strings.Join(strings.Fields(string(load))[:3], " "))
	}
}

func goCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// pgCPU is the CPU seconds of the backends connected to the database.
func pgCPU(ctx context.Context, p *pgxpool.Pool, db string) float64 {
	rows, err := p.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, db)
	if err != nil {
		fail(err)
	}
	defer rows.Close()
	var t float64
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			fail(err)
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		u, _ := strconv.ParseFloat(f[11], 64)
		k, _ := strconv.ParseFloat(f[12], 64)
		t += (u + k) / 100 // CLK_TCK
	}
	return t
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reports_compute:", err)
	os.Exit(1)
}
