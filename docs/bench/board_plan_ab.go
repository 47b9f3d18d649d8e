//go:build ignore

// board_plan_ab runs the progress board's statement (a copy of
// pgreadmodel's boardSQL over the schema kinerja_rm) for one unit N times
// on one connection, prepared (pgx's statement cache: the generic plan
// after five executions) or as the unnamed statement
// (QueryExecModeCacheDescribe: planned each time, as pgreadmodel runs
// it), and prints the backend's CPU per execution (/proc/PID/stat;
// PostgreSQL on this machine). Issue 15, branch pgreports:
//
//	go run docs/bench/board_plan_ab.go -pg 'postgres://…/db' -unit U1000 -mode prepared -n 5000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const q = `WITH e AS MATERIALIZED (SELECT unit_id, nip FROM kinerja_rm.employees WHERE unit_id = ANY($1))
		SELECT unit_id, count(*), '{}'::text[] COLLATE "C" FROM e GROUP BY unit_id
		UNION ALL
		SELECT e.unit_id, 0, array_agg(e.nip ORDER BY e.nip) FROM e
		WHERE NOT EXISTS (SELECT 1 FROM kinerja_rm.skp_coverage c WHERE c.year = $2 AND c.nip = e.nip AND c.n > 0)
		GROUP BY e.unit_id`

func cpu(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

func main() {
	pg := flag.String("pg", "", "URL")
	unit := flag.String("unit", "U1000", "unit")
	n := flag.Int("n", 5000, "executions")
	mode := flag.String("mode", "unnamed", "unnamed or prepared")
	flag.Parse()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, *pg)
	if err != nil {
		panic(err)
	}
	m := pgx.QueryExecModeCacheDescribe
	if *mode == "prepared" {
		m = pgx.QueryExecModeCacheStatement
	}
	var pid int
	c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
	run := func() {
		rows, err := c.Query(ctx, q, m, []string{*unit}, int32(2025))
		if err != nil {
			panic(err)
		}
		for rows.Next() {
		}
		if rows.Err() != nil {
			panic(rows.Err())
		}
	}
	for range 10 { // past the five custom plans
		run()
	}
	c0, t0 := cpu(pid), time.Now()
	for range *n {
		run()
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%s %s: PostgreSQL CPU %.1f us an execution (%d), wall %.1f us; load %s\n", *mode, *unit, (cpu(pid)-c0)/float64(*n)*1e6, *n,
		float64(time.Since(t0).Microseconds())/float64(*n), strings.Join(strings.Fields(string(load))[:3], " "))
}
