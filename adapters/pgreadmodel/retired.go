package pgreadmodel

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// Retired audit generations. A swap of the audit trail keeps the trail it
// replaces, renamed <table>__retired_g<generation> (its triggers forbid
// emptying a trail, and an operator may want to compare the two), and
// nothing read them since: each rebuild of the trail left a full copy
// behind, for ever. DropRetired drops them, one generation at a time, when
// that is safe:
//
//   - no rebuild of the trail is in progress (no "audit@g<n>" checkpoint
//     row; an abandoned one is cleared by the next rebuild or by hand);
//   - the generation is older than the live one (a swap that renamed it
//     has committed, and is durable: the swap's commit waited for its WAL
//     flush). The live generation is read without a lock: it only grows,
//     and a swap creates only __retired_g<live>, so a generation older
//     than the live one stays so;
//   - no reader uses it: readers and the live Sink name the live tables,
//     so after the swap only a statement that resolved the name before the
//     swap can still hold the retired table; DROP TABLE waits for its lock,
//     at most 5 s (lock_timeout), and fails rather than stall the service;
//   - the live trail reproduces it: every row of every retired table but
//     the two frontier tables (whose rows depend on where batches ended) is
//     in the live table, all columns equal (retired EXCEPT ALL live is
//     empty). That covers the global trail (entries, nodes, checkpoints)
//     and the agency logs (keys, entries, nodes, checkpoints), whose
//     assignment of entries to agencies is logic of its own: the agency
//     roots in signed checkpoints were computed over them. A retired trail
//     that the live one does not reproduce (a rebuild whose logic changed
//     what the trail says), or whose entries table is missing, is evidence
//     of what the ledger showed before, and is kept (RetiredError) for an
//     operator to look at.
//
// Each generation is compared and dropped in a transaction of its own. It
// locks no checkpoint row: the live audit Sink goes on beside it (the
// comparison only reads the live tables). The comparison runs under a
// statement_timeout (retiredCompareTimeout). A swap of the trail renames
// the live tables and so waits for a comparison reading them; none is due
// while no rebuild is in progress, which is checked first.
//
// Only tables named <t>__retired_g<n> for a table t of Tables(audit.Name)
// are retired tables: an operator's copy under another name is left alone.

// retiredCompareTimeout bounds each comparison of a retired table with the
// live one.
const retiredCompareTimeout = "15min"

// ErrAuditRebuilding is DropRetired's refusal to run while a rebuild of the
// audit trail is in progress.
var ErrAuditRebuilding = errors.New("pgreadmodel: a rebuild of the audit trail is in progress (an audit@g<n> checkpoint row exists); drop retired generations after its swap")

// retiredTable matches a retired table's name: the table and the
// generation.
var retiredTable = regexp.MustCompile(`^([a-z_]+)__retired_g([0-9]+)$`)

// RetiredError is DropRetired's refusal to drop a retired generation that
// the live trail does not reproduce.
type RetiredError struct {
	Generation int
	// Table is the first retired table found to differ (or missing).
	Table string
	// Unmatched counts Table's rows the live table does not hold; 0 when
	// Table is missing or its columns are not the live table's.
	Unmatched int64
	// Reason says what differs when Unmatched is 0.
	Reason string
}

func (e *RetiredError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("pgreadmodel: the retired audit trail of generation %d: %s %s; kept", e.Generation, e.Table, e.Reason)
	}
	return fmt.Sprintf("pgreadmodel: the retired audit trail of generation %d: %s holds %d rows the live trail does not reproduce; kept", e.Generation, e.Table, e.Unmatched)
}

// RetiredGenerations lists the retired audit generations the schema holds,
// oldest first.
func (db *DB) RetiredGenerations(ctx context.Context) ([]int, error) {
	byGen, err := db.retiredTables(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(byGen)), nil
}

// retiredTables returns the retired audit tables by generation: the base
// table names (of Tables(audit.Name)) present.
func (db *DB) retiredTables(ctx context.Context) (map[int][]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'audit%\_\_retired\_g%' ORDER BY 1`, db.opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: retired generations: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: retired generations: %w", err)
	}
	audits := Tables(audit.Name)
	out := map[int][]string{}
	for _, t := range tables {
		m := retiredTable.FindStringSubmatch(t)
		if m == nil || !slices.Contains(audits, m[1]) {
			continue
		}
		g, err := strconv.Atoi(m[2])
		if err != nil || strconv.Itoa(g) != m[2] {
			continue
		}
		out[g] = append(out[g], m[1])
	}
	return out, nil
}

// auditRebuilding reports whether a rebuild of the audit trail holds a
// checkpoint row.
func (db *DB) auditRebuilding(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (bool, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM `+db.names.t("checkpoints")+` WHERE projection LIKE $1`, audit.Name+"@g%").Scan(&n)
	return n > 0, err
}

// DropRetired drops the retired audit generations that are safe to drop
// (see above) and returns them. A generation the live trail does not
// reproduce is kept and reported by a *RetiredError (after the others are
// dropped); any other error stops it (ErrAuditRebuilding before anything
// is dropped).
func (db *DB) DropRetired(ctx context.Context) (dropped []int, err error) {
	if busy, err := db.auditRebuilding(ctx, db.pool); err != nil {
		return nil, fmt.Errorf("pgreadmodel: drop retired audit generations: %w", err)
	} else if busy {
		return nil, ErrAuditRebuilding
	}
	byGen, err := db.retiredTables(ctx)
	if err != nil {
		return nil, err
	}
	var refused error
	for _, g := range slices.Sorted(maps.Keys(byGen)) {
		err := db.dropRetired(ctx, g, byGen[g])
		if re, ok := err.(*RetiredError); ok {
			if refused == nil {
				refused = re
			}
			continue
		}
		if errors.Is(err, ErrAuditRebuilding) {
			return dropped, err
		}
		if err != nil {
			return dropped, fmt.Errorf("pgreadmodel: drop the retired audit generation %d: %w", g, err)
		}
		dropped = append(dropped, g)
	}
	return dropped, refused
}

// retiredFrontier: the retired tables whose rows depend on where batches
// ended, not compared.
var retiredFrontier = []string{"audit_frontier", "audit_agency_frontier"}

// dropRetired drops the tables (base names) of retired generation g in one
// transaction, after checking it is older than the live generation and
// that the live trail reproduces it.
func (db *DB) dropRetired(ctx context.Context, g int, tables []string) (err error) {
	if !slices.Contains(tables, "audit_entries") {
		return &RetiredError{Generation: g, Table: fmt.Sprintf("audit_entries__retired_g%d", g), Reason: "is missing"}
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = '`+retiredCompareTimeout+`'`); err != nil {
		return err
	}
	if busy, err := db.auditRebuilding(ctx, tx); err != nil {
		return err
	} else if busy {
		return ErrAuditRebuilding
	}
	var live int
	err = tx.QueryRow(ctx, `SELECT generation FROM `+db.names.t("checkpoints")+` WHERE projection = $1`, audit.Name).Scan(&live)
	if err != nil && !errNoRows(err) {
		return err
	}
	if g >= live {
		return fmt.Errorf("generation %d is not older than the live generation %d", g, live)
	}
	retired := func(t string) string {
		return pgx.Identifier{db.opts.Schema, fmt.Sprintf("%s__retired_g%d", t, g)}.Sanitize()
	}
	// The retired tables are locked first (ACCESS EXCLUSIVE, as DROP takes
	// it): nothing reads them while they are compared and dropped.
	for _, t := range tables {
		if _, err := tx.Exec(ctx, `LOCK TABLE `+retired(t)+` IN ACCESS EXCLUSIVE MODE`); err != nil {
			return err
		}
	}
	for _, t := range tables {
		if slices.Contains(retiredFrontier, t) {
			continue
		}
		var unmatched int64
		err := tx.QueryRow(ctx, `SELECT count(*) FROM (TABLE `+retired(t)+` EXCEPT ALL TABLE `+db.names.t(t)+`) d`).Scan(&unmatched)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "42") {
			// Columns not the live table's (a migration since): not
			// comparable, so not known to be reproduced.
			tx.Rollback(ctx)
			return &RetiredError{Generation: g, Table: fmt.Sprintf("%s__retired_g%d", t, g), Reason: "cannot be compared with the live table (" + pe.Message + ")"}
		}
		if err != nil {
			return err
		}
		if unmatched > 0 {
			tx.Rollback(ctx)
			return &RetiredError{Generation: g, Table: fmt.Sprintf("%s__retired_g%d", t, g), Unmatched: unmatched}
		}
	}
	for _, t := range tables {
		if _, err := tx.Exec(ctx, `DROP TABLE `+retired(t)); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
