// Package pgtxhook carries, in a context, one SQL statement that a
// PostgreSQL append runs in the same transaction as its events: the
// statement commits with the events or not at all (one commit, one WAL
// flush). pgidempotency writes the claim of a keyed command this way and
// pgstore runs it; the two adapters never import each other, so the
// contract lives here.
//
// The statement runs only when every event of the append was inserted,
// after them, in the transaction of the group commit that carries the
// append (other callers' appends may share that transaction). If it fails,
// the transaction rolls back and the append fails: nothing of it is
// written. pgstore's AppendTx ignores it: that caller owns its transaction
// and can run the statement there itself.
package pgtxhook

import (
	"context"
	"sync/atomic"
)

// Statement is a statement to run in an append's transaction.
type Statement struct {
	// SQL is the statement, with its own schema-qualified names.
	SQL string
	// Args are its arguments.
	Args []any

	committed atomic.Bool
}

// Committed reports whether the statement took and committed with an
// append made under the context that carries it: it changed exactly one
// row (a statement that changed none, such as an INSERT … ON CONFLICT that
// found another's row, did not take) and its transaction committed.
func (s *Statement) Committed() bool { return s.committed.Load() }

// MarkCommitted is called by the store once a transaction in which the
// statement changed exactly one row has committed; the store reads the
// statement's row count and does not call it otherwise.
func (s *Statement) MarkCommitted() { s.committed.Store(true) }

type key struct{}

// With returns ctx carrying st: every append made under it runs st in its
// transaction.
func With(ctx context.Context, st *Statement) context.Context {
	return context.WithValue(ctx, key{}, st)
}

// From returns the statement ctx carries, or nil.
func From(ctx context.Context) *Statement {
	st, _ := ctx.Value(key{}).(*Statement)
	return st
}
