package pgtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Private is a PostgreSQL server a test starts for itself (initdb in a
// temporary directory, its own port), so that it may stop and restart it:
// the shared server must never be, other packages' tests use it at the
// same time.
type Private struct {
	tb       testing.TB
	dir      string // the cluster's data directory
	bin      string // the directory of pg_ctl, initdb and postgres
	port     int
	cred     *syscall.Credential // run as the postgres user when root
	settings []string            // extra server settings, "name=value"
}

// StartPrivate initialises and starts a private server, stopped and
// removed when the test ends. It skips the test (fails it with
// KINERJA_REQUIRE_INTEGRATION=1) when PostgreSQL's server binaries are not
// installed. settings are extra server settings ("name=value"), applied
// at every Start: for example wal_writer_delay=10000, so that a crash
// (Stop) loses every transaction committed with synchronous_commit off in
// the ten seconds before it, not only those of the last 200 ms.
func StartPrivate(tb testing.TB, settings ...string) *Private {
	tb.Helper()
	p := &Private{tb: tb, settings: settings}
	p.bin = serverBin()
	if p.bin == "" {
		msg := "PostgreSQL's server binaries (pg_ctl, initdb) are not installed"
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	root, err := os.MkdirTemp("", "kinerja-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(root) })
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root, and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(root, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	p.dir = filepath.Join(root, "cluster")
	p.port = freePort(tb)
	p.run("initdb", "--pgdata", p.dir, "--username", "postgres", "--auth", "trust", "--encoding", "UTF8", "--no-sync")
	p.Start()
	tb.Cleanup(func() {
		cmd := exec.Command(filepath.Join(p.bin, "pg_ctl"), "--pgdata", p.dir, "stop", "-w", "-m", "immediate")
		if p.cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
		}
		cmd.Run() // stopped already, when the test stopped it last
	})
	return p
}

// serverBin returns the directory of pg_ctl and initdb, or "".
func serverBin() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p)
		}
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(ms) > 0 {
		return filepath.Dir(ms[len(ms)-1])
	}
	return ""
}

// URL is the server's URL of its postgres database.
func (p *Private) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it accepts connections.
func (p *Private) Start() {
	p.tb.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, filepath.Dir(p.dir))
	for _, s := range p.settings {
		opts += " -c " + s
	}
	p.pgctl("start", "-w", "-t", "120", "-l", filepath.Join(filepath.Dir(p.dir), "server.log"), "-o", opts)
}

// Stop stops the server the hard way (immediate: as a crash would; the
// next start recovers from the WAL).
func (p *Private) Stop() {
	p.tb.Helper()
	p.pgctl("stop", "-w", "-m", "immediate")
}

func (p *Private) pgctl(args ...string) {
	p.tb.Helper()
	p.run("pg_ctl", append([]string{"--pgdata", p.dir}, args...)...)
}

func (p *Private) run(prog string, args ...string) {
	p.tb.Helper()
	cmd := exec.Command(filepath.Join(p.bin, prog), args...)
	cmd.Dir = filepath.Dir(p.dir)
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(p.dir), "server.log"))
		p.tb.Fatalf("%s %v: %v\n%s\nserver log:\n%s", prog, args, err, out, log)
	}
}

// freePort returns a port below the kernel's ephemeral range that nothing
// listens on. Not one the kernel hands out (127.0.0.1:0): while the server
// is stopped, the service keeps dialling its port, and a dial from an
// ephemeral port to a port in the same range on loopback can connect to
// itself (TCP simultaneous open), holding the port so that the restarted
// server cannot bind it ("could not bind IPv4 address"); any other
// process's outgoing connection may take it as its source port too.
func freePort(tb testing.TB) int {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				lo = n
			}
		}
	}
	base := max(1024, lo-12000)
	for range 200 {
		port := base + rand.IntN(lo-base)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	tb.Fatal("pgtest: no free port below the ephemeral range")
	return 0
}
