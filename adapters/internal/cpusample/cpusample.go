// Package cpusample prices benchmarks in CPU time, which the machine's load
// distorts less than wall time: this process's own CPU (getrusage) and that
// of the PostgreSQL backends serving a pool, found by their
// application_name (/proc/PID/stat: Linux, the database on this machine).
// It is shared by the benchmarks of adapters/pgstore and adapters/eventlog.
package cpusample

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Backends returns the CPU seconds (user + system) the PostgreSQL backends
// whose application_name is app have used, read through admin (a pool with
// another application_name). A backend that ended meanwhile is not counted:
// keep the measured pool's connections for the run.
func Backends(ctx context.Context, admin *pgxpool.Pool, app string) (float64, error) {
	rows, err := admin.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		return 0, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, err
	}
	var ticks float64
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which may hold spaces: utime and
		// stime are the 14th and 15th fields of the line.
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		ticks += u + s
	}
	return ticks / 100, nil // USER_HZ
}

// Self returns the CPU seconds (user + system) this process has used.
func Self() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
