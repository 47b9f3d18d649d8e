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
// Balance: every Poll a member counts the live members L, and keeps at
// most ceil(P/L) of the P partitions: it releases what is over (the
// partition is stopped first, then unlocked) and tries to lock free ones
// while it is under. A member that joins takes partitions as the others
// give them up on their next poll; one that dies leaves its locks free at
// once, and the others take them on their next poll.
//
// Fencing: Owns reports, inside any transaction of the same database,
// whether this member's connection still holds a partition's lock
// (FenceSQL). A writer checks it in the transaction that commits its
// checkpoint, after locking the checkpoint row, so an owner that lost its
// lock cannot commit; and while it holds the lock nobody else writes.
package pglease

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
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
	pid                uint32
	mu                 sync.Mutex
	owned              map[string]*running
	live               int
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
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pglease: connect: %w", err)
	}
	m := &Member{cfg: cfg, conn: conn, memberKey: Key(cfg.Group + "#members"), partKey: Key(cfg.Group + "#partitions"),
		owned: map[string]*running{}}
	m.pid = conn.PgConn().PID()
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, m.memberKey, Key(cfg.Instance)).Scan(&ok); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("pglease: member lock: %w", err)
	}
	if !ok {
		conn.Close(ctx)
		return nil, fmt.Errorf("%w: %q", ErrInstanceInUse, cfg.Instance)
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

// Live counts the live members of the group (their member locks).
func (m *Member) liveMembers(ctx context.Context) (int, error) {
	var n int
	err := m.conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::int4::oid AND objsubid = 2`, m.memberKey).Scan(&n)
	return n, err
}

func (m *Member) balance(ctx context.Context) error {
	live, err := m.liveMembers(ctx)
	if err != nil {
		return err
	}
	live = max(live, 1)
	total := len(m.cfg.Partitions)
	target := (total + live - 1) / live
	m.mu.Lock()
	m.live = live
	owned := make([]string, 0, len(m.owned))
	for n := range m.owned {
		owned = append(owned, n)
	}
	m.mu.Unlock()
	sort.Strings(owned)
	changed := false
	// Over the share: give up the last ones (stop first, then unlock).
	for len(owned) > target {
		name := owned[len(owned)-1]
		owned = owned[:len(owned)-1]
		if err := m.release(ctx, name); err != nil {
			return err
		}
		changed = true
	}
	// Under it: try the free ones, starting at a place of our own so that
	// members do not all race for the same partition.
	if len(owned) < target {
		cands := m.candidates()
		off := int(Key(m.cfg.Instance)) % max(len(cands), 1)
		for i := range cands {
			if len(owned) >= target {
				break
			}
			name := cands[(i+off)%len(cands)]
			if slices.Contains(owned, name) {
				continue
			}
			ok, err := m.acquire(ctx, name)
			if err != nil {
				return err
			}
			if ok {
				owned = append(owned, name)
				changed = true
			}
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
	if err := m.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, m.partKey, Key(name)).Scan(&ok); err != nil || !ok {
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
	_, uerr := m.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, m.partKey, Key(name))
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
	_, err := m.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, m.partKey, Key(name))
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
		if err := tx.QueryRow(ctx, FenceSQL, m.partKey, key, m.pid).Scan(&held); err != nil {
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

// FenceSQL is true when the backend $3 holds the advisory lock ($1, $2).
const FenceSQL = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2 AND pid = $3)`

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
