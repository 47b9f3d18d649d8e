// Package pglease shares named partitions of work among processes through
// PostgreSQL session-level advisory locks.
//
// Each Member holds one dedicated connection (never a pool's). On it, it
// takes a member lock (key1 = the group's member class, key2 = a hash of
// its instance id) that says it is alive, and one partition lock per
// partition it owns (key1 = the group's partition class, key2 = a hash of
// the partition's name). PostgreSQL releases every one of them when that
// connection ends, so a process that dies (SIGKILL, a crash, a lost
// network once TCP notices) frees its partitions without any heartbeat
// table; the live members are read from pg_locks.
//
// Balance: every member also holds a shared lock per partition it is
// eligible for (key1 = the group's eligibility class), so each poll reads,
// for every partition p, the number E(p) of live members that may own it.
// A member's share is ceil(sum of 1/E(p) over the partitions it may own):
// with every member eligible for everything that is ceil(P/L); a member
// restricted to a few partitions counts for only those, so the others'
// shares cover the rest. Every Poll a member releases what is over its
// share (the partition is stopped first, then unlocked; never one that no
// other live member may own) and tries to lock free ones while it is
// under. As a last resort a member takes, over its share, an eligible
// partition it has seen free at three consecutive polls, so no partition
// stays unowned while a live member may own it. A member that joins takes
// partitions as the others give them up on their next poll; one that dies
// leaves its locks free at once, and the others take them on their next
// poll.
//
// A partition whose work ends on its own (Ender: its runner failed) is
// released at the next poll and so started afresh, by this member or
// another; it is never left locked and idle.
//
// Dead peers: the lock connection asks PostgreSQL for TCP keepalives
// (idle 5 s, interval 2 s, 3 probes) and a 10 s TCP user timeout, so the
// locks of a host that vanished without closing its connections are
// freed within about 15 s rather than the kernel's default of hours; each
// poll's queries run under a timeout (at least 5 s), so a member whose
// server went silent stops and frees its work instead of hanging.
//
// Fencing: Fence reports, inside any transaction of the same database,
// whether this member's connection still holds a partition's lock
// (FenceSQL); the connection is identified by its backend PID and its
// backend_start, since PIDs are reused. A writer checks it in the transaction that commits its
// checkpoint, after locking the checkpoint row, so an owner that lost its
// lock cannot commit; and while it holds the lock nobody else writes.
package pglease

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Partition is one unit of work a member may own.
type Partition interface {
	// Start begins the work; ctx ends when the partition is released.
	// Start must return promptly (run the work in a goroutine).
	Start(ctx context.Context) error
	// Stop ends the work and returns once nothing of it writes any more.
	Stop()
}

// Ender is implemented by a Partition whose work can end on its own, for
// instance when its runner fails: Ended is closed then. The member
// releases such a partition at its next poll, so that it is started
// afresh (by this member or another) instead of staying locked and idle.
type Ender interface {
	// Ended is closed when the work has ended without being stopped.
	Ended() <-chan struct{}
}

// Config configures Join.
type Config struct {
	// URL is the PostgreSQL the locks live in (the read models' database).
	URL string
	// Group names the set of members that share Partitions.
	Group string
	// Instance names this member; two live members may not share it.
	Instance string
	// Partitions are every partition's name (the same list in every
	// member); Eligible, when non-empty, the ones this member may own.
	Partitions []string
	Eligible   []string
	// Poll is how often the member rebalances (default 1 s). A dead
	// member's partitions are taken within about one Poll.
	Poll time.Duration
	// New returns the work of a partition this member has just locked.
	New func(name string) (Partition, error)
	// Logger receives the ownership changes (default slog.Default()).
	Logger *slog.Logger
	// Changed, when set, is called after every poll and when the member
	// stops, with what it owns and the live members it counted.
	Changed func(owned []string, live int)
}

// Member is one process's share of the partitions.
type Member struct {
	cfg                Config
	conn               *pgx.Conn
	memberKey, partKey int32
	eligKey            int32
	pid                uint32
	started            time.Time
	mu                 sync.Mutex
	owned              map[string]*running
	live               int
	// freeSeen counts, per eligible partition nobody holds, the
	// consecutive polls that saw it free (the last resort of balance).
	freeSeen map[string]int
}

// freePolls is how many consecutive polls must see an eligible partition
// free before a member at its share takes it anyway.
const freePolls = 3

// tcp_user_timeout and the keepalives of the lock connection (see the
// package comment).
var keepalive = map[string]string{
	"tcp_keepalives_idle":     "5",
	"tcp_keepalives_interval": "2",
	"tcp_keepalives_count":    "3",
	"tcp_user_timeout":        "10000",
}

type running struct {
	p      Partition
	cancel context.CancelFunc
}

// Key returns the advisory lock key of s: a stable 31-bit hash, so that it
// reads back from pg_locks (an oid) as the same number.
func Key(s string) int32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int32(h.Sum32() & 0x7fffffff)
}

// ErrInstanceInUse is returned by Join when a live member already has the
// instance id.
var ErrInstanceInUse = errors.New("pglease: instance id in use by a live member")

// Join connects, takes the member lock and returns the member; Run then
// takes and balances partitions.
func Join(ctx context.Context, cfg Config) (*Member, error) {
	if cfg.Group == "" || cfg.Instance == "" || len(cfg.Partitions) == 0 || cfg.New == nil {
		return nil, errors.New("pglease: Group, Instance, Partitions and New are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pc, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("pglease: %w", err)
	}
	// The application name shows the owner in pg_stat_activity (Owners).
	pc.RuntimeParams["application_name"] = appName(cfg.Group, cfg.Instance)
	for k, v := range keepalive {
		pc.RuntimeParams[k] = v
	}
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pglease: connect: %w", err)
	}
	m := &Member{cfg: cfg, conn: conn, memberKey: Key(cfg.Group + "#members"), partKey: Key(cfg.Group + "#partitions"),
		eligKey: Key(cfg.Group + "#eligible"), owned: map[string]*running{}, freeSeen: map[string]int{}}
	m.pid = conn.PgConn().PID()
	if err := conn.QueryRow(ctx, `SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()`).Scan(&m.started); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("pglease: backend start: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, m.memberKey, Key(cfg.Instance)).Scan(&ok); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("pglease: member lock: %w", err)
	}
	if !ok {
		conn.Close(ctx)
		return nil, fmt.Errorf("%w: %q", ErrInstanceInUse, cfg.Instance)
	}
	// Shared locks never conflict with one another: each says "this
	// member may own the partition".
	for _, name := range m.candidates() {
		if _, err := conn.Exec(ctx, `SELECT pg_try_advisory_lock_shared($1, $2)`, m.eligKey, Key(name)); err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("pglease: eligibility lock: %w", err)
		}
	}
	return m, nil
}

func appName(group, instance string) string {
	s := "kinerja-lease:" + group + ":" + instance
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// Run balances the partitions every Poll until ctx ends or the lock
// connection fails; it then stops every owned partition, closes the
// connection (which frees the locks) and returns.
func (m *Member) Run(ctx context.Context) error {
	defer m.close()
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	for {
		if err := m.balance(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("pglease: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (m *Member) close() {
	m.mu.Lock()
	owned := m.owned
	m.owned = map[string]*running{}
	m.mu.Unlock()
	for _, r := range owned {
		r.cancel()
		r.p.Stop()
	}
	m.conn.Close(context.Background())
	m.changed()
}

// queryTimeout bounds each poll's queries on the lock connection.
func (m *Member) queryTimeout() time.Duration { return max(5*time.Second, 2*m.cfg.Poll) }

// state reads, in one query, the live members, the partitions somebody
// holds and, per partition, how many live members may own it.
func (m *Member) state(ctx context.Context) (live int, held map[int64]bool, elig map[int64]int, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.queryTimeout())
	defer cancel()
	rows, err := m.conn.Query(ctx, `SELECT classid::int8, objid::int8, count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid IN ($1::int4::oid, $2::int4::oid, $3::int4::oid) AND objsubid = 2 GROUP BY 1, 2`, m.memberKey, m.partKey, m.eligKey)
	if err != nil {
		return 0, nil, nil, err
	}
	defer rows.Close()
	held, elig = map[int64]bool{}, map[int64]int{}
	for rows.Next() {
		var class, obj int64
		var n int
		if err := rows.Scan(&class, &obj, &n); err != nil {
			return 0, nil, nil, err
		}
		switch class {
		case int64(m.memberKey):
			live += n
		case int64(m.partKey):
			held[obj] = true
		case int64(m.eligKey):
			elig[obj] = n
		}
	}
	return live, held, elig, rows.Err()
}

// releaseEnded releases the partitions whose work ended on its own.
func (m *Member) releaseEnded(ctx context.Context) (bool, error) {
	m.mu.Lock()
	var ended []string
	for name, r := range m.owned {
		if e, ok := r.p.(Ender); ok {
			select {
			case <-e.Ended():
				ended = append(ended, name)
			default:
			}
		}
	}
	m.mu.Unlock()
	sort.Strings(ended)
	for _, name := range ended {
		m.cfg.Logger.Warn("partition_ended", "partition", name, "instance", m.cfg.Instance)
		if err := m.release(ctx, name); err != nil {
			return false, err
		}
	}
	return len(ended) > 0, nil
}

func (m *Member) balance(ctx context.Context) error {
	changed, err := m.releaseEnded(ctx)
	if err != nil {
		return err
	}
	live, held, elig, err := m.state(ctx)
	if err != nil {
		return err
	}
	live = max(live, 1)
	cands := m.candidates()
	// The share: each partition counts 1/E(p) for each of the E(p) live
	// members that may own it.
	var share float64
	for _, p := range cands {
		share += 1 / float64(max(elig[int64(Key(p))], 1))
	}
	target := int(math.Ceil(share - 1e-9))
	m.mu.Lock()
	m.live = live
	owned := make([]string, 0, len(m.owned))
	for n := range m.owned {
		owned = append(owned, n)
	}
	m.mu.Unlock()
	sort.Strings(owned)
	for _, p := range cands {
		if held[int64(Key(p))] {
			delete(m.freeSeen, p)
		} else {
			m.freeSeen[p]++
		}
	}
	// Over the share: give up the last ones (stop first, then unlock),
	// except those no other live member may own.
	for i := len(owned) - 1; i >= 0 && len(owned) > target; i-- {
		name := owned[i]
		if elig[int64(Key(name))] <= 1 {
			continue
		}
		owned = slices.Delete(owned, i, i+1)
		if err := m.release(ctx, name); err != nil {
			return err
		}
		changed = true
	}
	// Under it: try the free ones, starting at a place of our own so that
	// members do not all race for the same partition. At or over it: only
	// those seen free for freePolls polls.
	off := int(Key(m.cfg.Instance)) % max(len(cands), 1)
	for i := range cands {
		name := cands[(i+off)%len(cands)]
		if slices.Contains(owned, name) || held[int64(Key(name))] {
			continue
		}
		if len(owned) >= target && m.freeSeen[name] < freePolls {
			continue
		}
		ok, err := m.acquire(ctx, name)
		if err != nil {
			return err
		}
		if ok {
			delete(m.freeSeen, name)
			owned = append(owned, name)
			changed = true
		}
	}
	m.changed()
	if changed {
		m.cfg.Logger.Info("partitions_owned", "instance", m.cfg.Instance, "owned", owned, "live", live, "share", target)
	}
	return nil
}

func (m *Member) candidates() []string {
	if len(m.cfg.Eligible) == 0 {
		return m.cfg.Partitions
	}
	var out []string
	for _, p := range m.cfg.Partitions {
		if slices.Contains(m.cfg.Eligible, p) {
			out = append(out, p)
		}
	}
	return out
}

func (m *Member) acquire(ctx context.Context, name string) (bool, error) {
	var ok bool
	qctx, cancel := context.WithTimeout(ctx, m.queryTimeout())
	defer cancel()
	if err := m.conn.QueryRow(qctx, `SELECT pg_try_advisory_lock($1, $2)`, m.partKey, Key(name)).Scan(&ok); err != nil || !ok {
		return false, err
	}
	p, err := m.cfg.New(name)
	if err == nil {
		pctx, cancel := context.WithCancel(ctx)
		if err = p.Start(pctx); err == nil {
			m.mu.Lock()
			m.owned[name] = &running{p: p, cancel: cancel}
			m.mu.Unlock()
			m.cfg.Logger.Info("partition_acquired", "partition", name, "instance", m.cfg.Instance)
			return true, nil
		}
		cancel()
	}
	m.cfg.Logger.Error("partition_start_failed", "partition", name, "err", err)
	uctx, ucancel := context.WithTimeout(ctx, m.queryTimeout())
	defer ucancel()
	_, uerr := m.conn.Exec(uctx, `SELECT pg_advisory_unlock($1, $2)`, m.partKey, Key(name))
	return false, uerr
}

func (m *Member) release(ctx context.Context, name string) error {
	m.mu.Lock()
	r := m.owned[name]
	delete(m.owned, name)
	m.mu.Unlock()
	if r != nil {
		r.cancel()
		r.p.Stop()
	}
	qctx, cancel := context.WithTimeout(ctx, m.queryTimeout())
	defer cancel()
	_, err := m.conn.Exec(qctx, `SELECT pg_advisory_unlock($1, $2)`, m.partKey, Key(name))
	m.cfg.Logger.Info("partition_released", "partition", name, "instance", m.cfg.Instance)
	return err
}

func (m *Member) changed() {
	if m.cfg.Changed != nil {
		m.cfg.Changed(m.Owned(), m.Live())
	}
}

// Owned returns the partitions this member runs, sorted.
func (m *Member) Owned() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.owned))
	for n := range m.owned {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Live is the number of live members seen at the last poll.
func (m *Member) Live() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live
}

// Fence returns the check a writer runs inside its transaction before it
// commits partition's work: an error unless this member's connection still
// holds the partition's lock.
func (m *Member) Fence(partition string) func(ctx context.Context, tx pgx.Tx) error {
	key := Key(partition)
	return func(ctx context.Context, tx pgx.Tx) error {
		var held bool
		if err := tx.QueryRow(ctx, FenceSQL, m.partKey, key, m.pid, m.started).Scan(&held); err != nil {
			return fmt.Errorf("pglease: fence %s: %w", partition, err)
		}
		if !held {
			return fmt.Errorf("%w: %s", ErrFenced, partition)
		}
		return nil
	}
}

// ErrFenced is the error of a write whose member no longer owns the
// partition.
var ErrFenced = errors.New("pglease: partition lock lost; not committing")

// FenceSQL is true when the backend $3, started at $4 (PIDs are reused),
// holds the advisory lock ($1, $2).
const FenceSQL = `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid AND l.objsubid = 2 AND l.pid = $3 AND a.backend_start = $4)`

// Owner is a partition and the instance whose connection holds its lock.
type Owner struct {
	// Partition is the partition's name.
	Partition string `json:"partition"`
	// Instance is the owner's instance id ("" when no one owns it).
	Instance string `json:"instance"`
}

// Owners reads who owns each of partitions in group, from pg_locks and the
// owners' application names; q is any connection or pool.
func Owners(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, group string, partitions []string) ([]Owner, error) {
	rows, err := q.Query(ctx, `SELECT l.objid::int8, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.classid = $1::int4::oid AND l.objsubid = 2`, Key(group+"#partitions"))
	if err != nil {
		return nil, err
	}
	by := map[int64]string{}
	prefix := "kinerja-lease:" + group + ":"
	for rows.Next() {
		var k int64
		var app string
		if err := rows.Scan(&k, &app); err != nil {
			return nil, err
		}
		if len(app) >= len(prefix) && app[:len(prefix)] == prefix {
			app = app[len(prefix):]
		}
		by[k] = app
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Owner, len(partitions))
	for i, p := range partitions {
		out[i] = Owner{Partition: p, Instance: by[int64(Key(p))]}
	}
	return out, nil
}
