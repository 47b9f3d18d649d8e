package pgreadmodel

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// Retired audit generations. A swap of the audit trail keeps the trail it
// replaces, renamed <table>__retired_g<generation> (its triggers forbid
// emptying a trail, and an operator may want to compare the two), and
// nothing read them since: each rebuild of the trail left a full copy
// behind, for ever. DropRetired drops them, one generation at a time, when
// that is safe:
//
//   - the generation is older than the live one (a swap that renamed it
//     has committed, and is durable: the swap's commit waited for its WAL
//     flush);
//   - no reader uses it: readers and the live Sink name the live tables,
//     so after the swap only a statement that resolved the name before the
//     swap can still hold the retired table; DROP TABLE waits for its lock,
//     at most 5 s (lock_timeout), and fails rather than stall the service;
//   - the live trail reproduces it: every retired entry (seq, event hash,
//     leaf hash) is in the live trail at the same seq. The entries' leaf
//     hashes determine the Merkle tree, its nodes and checkpoints; a
//     retired trail that the live one does not reproduce (a rebuild whose
//     logic changed what the trail says) is evidence of what the ledger
//     showed before, and is kept (RetiredError) for an operator to look at.
//
// Each generation is dropped in a transaction of its own, which also holds
// the audit checkpoint row (FOR UPDATE), so that it does not run beside a
// swap of the trail.

// retiredTable matches a retired audit table's name: the table and the
// generation.
var retiredTable = regexp.MustCompile(`^(audit_[a-z_]+)__retired_g([0-9]+)$`)

// RetiredError is DropRetired's refusal to drop a retired generation that
// the live trail does not reproduce.
type RetiredError struct {
	Generation int
	// Unmatched counts the retired entries the live trail does not hold.
	Unmatched int64
}

func (e *RetiredError) Error() string {
	return fmt.Sprintf("pgreadmodel: the retired audit trail of generation %d holds %d entries the live trail does not reproduce; kept", e.Generation, e.Unmatched)
}

// RetiredGenerations lists the retired audit generations the schema holds,
// oldest first.
func (db *DB) RetiredGenerations(ctx context.Context) ([]int, error) {
	byGen, err := db.retiredTables(ctx)
	if err != nil {
		return nil, err
	}
	gens := make([]int, 0, len(byGen))
	for g := range byGen {
		gens = append(gens, g)
	}
	slices.Sort(gens)
	return gens, nil
}

// retiredTables returns the retired audit tables by generation.
func (db *DB) retiredTables(ctx context.Context) (map[int][]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'audit%\_\_retired\_g%' ORDER BY 1`, db.opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: retired generations: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: retired generations: %w", err)
	}
	out := map[int][]string{}
	for _, t := range tables {
		m := retiredTable.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		g, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		out[g] = append(out[g], t)
	}
	return out, nil
}

// DropRetired drops the retired audit generations that are safe to drop
// (see above) and returns them. A generation the live trail does not
// reproduce is kept and reported by a *RetiredError (after the others are
// dropped); any other error stops it.
func (db *DB) DropRetired(ctx context.Context) (dropped []int, err error) {
	byGen, err := db.retiredTables(ctx)
	if err != nil {
		return nil, err
	}
	gens := make([]int, 0, len(byGen))
	for g := range byGen {
		gens = append(gens, g)
	}
	slices.Sort(gens)
	var refused error
	for _, g := range gens {
		err := db.dropRetired(ctx, g, byGen[g])
		if re, ok := err.(*RetiredError); ok {
			if refused == nil {
				refused = re
			}
			continue
		}
		if err != nil {
			return dropped, fmt.Errorf("pgreadmodel: drop the retired audit generation %d: %w", g, err)
		}
		dropped = append(dropped, g)
	}
	return dropped, refused
}

// dropRetired drops the tables of retired generation g in one transaction,
// after checking it is older than the live generation and that the live
// trail reproduces its entries.
func (db *DB) dropRetired(ctx context.Context, g int, tables []string) (err error) {
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
	var live int
	err = tx.QueryRow(ctx, `SELECT generation FROM `+db.names.t("checkpoints")+` WHERE projection = $1 FOR UPDATE`, audit.Name).Scan(&live)
	if err != nil && !errNoRows(err) {
		return err
	}
	if g >= live {
		return fmt.Errorf("generation %d is not older than the live generation %d", g, live)
	}
	entries := pgx.Identifier{db.opts.Schema, fmt.Sprintf("audit_entries__retired_g%d", g)}.Sanitize()
	if slices.Contains(tables, fmt.Sprintf("audit_entries__retired_g%d", g)) {
		// The retired table is locked first (ACCESS EXCLUSIVE, as DROP
		// takes it): nothing reads it while it is compared and dropped.
		if _, err := tx.Exec(ctx, `LOCK TABLE `+entries+` IN ACCESS EXCLUSIVE MODE`); err != nil {
			return err
		}
		var unmatched int64
		err := tx.QueryRow(ctx, `SELECT count(*) FROM `+entries+` r
			WHERE NOT EXISTS (SELECT 1 FROM `+db.names.t("audit_entries")+` l
				WHERE l.seq = r.seq AND l.event_hash = r.event_hash AND l.leaf_hash = r.leaf_hash AND l.position = r.position)`).Scan(&unmatched)
		if err != nil {
			return err
		}
		if unmatched > 0 {
			tx.Rollback(ctx)
			return &RetiredError{Generation: g, Unmatched: unmatched}
		}
	}
	for _, t := range tables {
		if _, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{db.opts.Schema, t}.Sanitize()); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
