package pgreadmodel_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// mutationLedger is a PostgreSQL ledger (event store and read models, each
// in a fresh schema) with a projected and signed audit trail.
type mutationLedger struct {
	pool        *pgxpool.Pool
	store       *pgstore.Store
	db          *pgreadmodel.DB
	key         *merkle.Signer
	writers     *eventstore.Keyring
	es, rm      string // schemas
	byPosition  map[eventstore.Position]eventstore.Event
	positions   []eventstore.Position // ledger events (not checkpoints), in order
	checkpoints []eventstore.Position
}

func newMutationLedger(t *testing.T) *mutationLedger {
	t.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	suffix := strings.ReplaceAll(uuid.NewString()[:12], "-", "")
	l := &mutationLedger{pool: pool, es: "mut_es_" + suffix, rm: "mut_rm_" + suffix, byPosition: map[eventstore.Position]eventstore.Event{}}
	t.Cleanup(func() {
		if l.store != nil {
			l.store.Close()
		}
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+l.es+" CASCADE")
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+l.rm+" CASCADE")
		pool.Close()
	})
	if _, err := pgstore.Migrate(ctx, pool, l.es); err != nil {
		t.Fatal(err)
	}
	if _, err := pgreadmodel.Migrate(ctx, pool, l.rm); err != nil {
		t.Fatal(err)
	}
	writer := eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)))
	l.writers = eventstore.NewKeyring(writer.Public())
	// A read waits for the events committed before it to be final; on a
	// shared server another session's long writing transaction (a rebuild's
	// index build) can hold that back for longer than the default 5 s, and
	// the read then stops short: wait longer rather than verify a prefix.
	if l.store, err = pgstore.Open(ctx, pool, pgstore.Options{Schema: l.es, Signer: writer, Keyring: l.writers, FinalityWait: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if l.db, err = pgreadmodel.Open(ctx, pool, pgreadmodel.Options{Schema: l.rm, History: projections.StoreHistory{Store: l.store}, Policy: policy.Default()}); err != nil {
		t.Fatal(err)
	}
	skey, _, err := merkle.GenerateKey("kinerja-ledger", bytes.NewReader(bytes.Repeat([]byte{5}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	l.key, _ = merkle.ParseSigner(skey)
	// Three streams, events interleaved, then a signed checkpoint, then
	// more events, then another checkpoint.
	signer := audit.NewSigner(audit.SignerConfig{Store: l.store, Trail: l.db.Audit(), Key: l.key})
	for round := range 2 {
		for i := range 12 {
			stream := fmt.Sprintf("skp-mut-%d", i%3)
			if _, err := l.store.Append(ctx, stream, eventstore.Any, eventstore.EventData{
				ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(),
				Actor: eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"}, Reason: fmt.Sprintf("r%d-%d", round, i),
				Data: []byte(fmt.Sprintf(`{"round":%d,"i":%d}`, round, i)),
			}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := projections.CatchUp(ctx, l.store, l.db.Sink(audit.Name), projections.CatchUpOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := signer.SignNow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := projections.CatchUp(ctx, l.store, l.db.Sink(audit.Name), projections.CatchUpOptions{}); err != nil {
		t.Fatal(err)
	}
	for ev, err := range l.store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		l.byPosition[ev.Position] = ev
		if ev.Stream == audit.CheckpointStream {
			l.checkpoints = append(l.checkpoints, ev.Position)
		} else {
			l.positions = append(l.positions, ev.Position)
		}
	}
	if len(l.positions) != 24 || len(l.checkpoints) != 2 {
		t.Fatalf("read back %d events and %d checkpoints, want 24 and 2", len(l.positions), len(l.checkpoints))
	}
	if r := l.verify(t); !r.OK {
		t.Fatalf("the untouched ledger does not verify: %+v", r)
	}
	return l
}

func (l *mutationLedger) verify(t *testing.T) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), l.store, audit.VerifyOptions{Keys: []*merkle.Verifier{l.key.Verifier()}, Stored: l.db.Audit(), WriterKeys: l.writers})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tamper runs SQL as an operator with direct database access would: the
// append-only triggers are bypassed (session_replication_role = replica).
func (l *mutationLedger) tamper(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		sql = strings.NewReplacer("$ES.", l.es+".", "$RM.", l.rm+".").Replace(sql)
		tag, err := tx.Exec(ctx, sql, args...)
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("tamper changed no row: %s", sql)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// forge inserts, as a superuser can (an INSERT passes the append-only
// triggers), an unsigned event with a correctly recomputed chain hash as the
// next revision of stream, at a position just after after. It returns the
// forged event's position.
func (l *mutationLedger) forge(t *testing.T, stream string, after eventstore.Position) eventstore.Position {
	t.Helper()
	var head eventstore.Event
	for _, pos := range l.positions {
		if e := l.byPosition[pos]; e.Stream == stream {
			head = e
		}
	}
	d := eventstore.EventData{ID: uuid.New(), Type: "skp.rating_revised.v1", SchemaVersion: 1, OccurredAt: eventstore.NormalizeTime(time.Now()),
		Actor: eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"}, Reason: "forged", Data: []byte(`{"work_result":"SANGAT_BAIK"}`)}
	rev := head.Revision + 1
	h := eventstore.ChainHash(head.Hash, stream, rev, &d)
	pos := after + 7 // free: every append here is one event, k = 1
	l.tamper(t, `INSERT INTO $ES.events (position, revision, event_id, schema_version, occurred_at, recorded_at, stream, type,
		actor_id, actor_role, correlation_id, causation_id, reason, data, hash)
		VALUES ($1, $2, $3, 1, $4, now(), $5, $6, $7, $8, '', '', $9, $10, $11)`,
		int64(pos), int64(rev), d.ID, d.OccurredAt, stream, d.Type, d.Actor.ID, d.Actor.Role, d.Reason, d.Data, h[:])
	return pos
}

// TestMutationsAreDetectedAndNamed edits, deletes, swaps and reorders rows
// of the events table and of the audit tables; verification must fail every
// time and name the position of (one of) the events concerned.
func TestMutationsAreDetectedAndNamed(t *testing.T) {
	type mutation struct {
		name  string
		apply func(t *testing.T, l *mutationLedger) []eventstore.Position // the positions a problem may name
		// problem, when set, must be in the first problem's text.
		problem string
	}
	mid := func(l *mutationLedger) eventstore.Position { return l.positions[5] }
	last := func(l *mutationLedger, stream string) eventstore.Position {
		var p eventstore.Position
		for _, pos := range l.positions {
			if l.byPosition[pos].Stream == stream && pos < l.checkpoints[1] {
				p = pos
			}
		}
		return p
	}
	mutations := []mutation{
		{name: "events: data edited", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := mid(l)
			l.tamper(t, `UPDATE $ES.events SET data = convert_to('{"forged":true}', 'UTF8') WHERE position = $1`, int64(p))
			return []eventstore.Position{p}
		}},
		{name: "events: reason edited", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := l.positions[0]
			l.tamper(t, `UPDATE $ES.events SET reason = 'forged' WHERE position = $1`, int64(p))
			return []eventstore.Position{p}
		}},
		{name: "events: recorded_at moved", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := mid(l)
			l.tamper(t, `UPDATE $ES.events SET recorded_at = recorded_at - interval '1 day' WHERE position = $1`, int64(p))
			return []eventstore.Position{p}
		}},
		{name: "events: row deleted in the middle of a stream", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := mid(l)
			l.tamper(t, `DELETE FROM $ES.events WHERE position = $1`, int64(p))
			return l.positions // the next event of the stream, or the orphaned entry
		}},
		{name: "events: last row of a stream deleted", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := last(l, "skp-mut-2")
			l.tamper(t, `DELETE FROM $ES.events WHERE position = $1`, int64(p))
			return append(append([]eventstore.Position{}, l.positions...), l.checkpoints...)
		}},
		{name: "events: data of two rows swapped", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			a, b := l.positions[2], l.positions[7]
			l.tamper(t, `UPDATE $ES.events e SET data = o.data FROM $ES.events o
				WHERE (e.position, o.position) IN (($1::bigint, $2::bigint), ($2::bigint, $1::bigint))`, int64(a), int64(b))
			return []eventstore.Position{a, b}
		}},
		{name: "events: two rows reordered (positions swapped)", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			a, b := l.positions[3], l.positions[4]
			l.tamper(t, `UPDATE $ES.events SET position = 1 WHERE position = $1`, int64(a)) // a free, valid temporary
			l.tamper(t, `UPDATE $ES.events SET position = $1 WHERE position = $2`, int64(a), int64(b))
			l.tamper(t, `UPDATE $ES.events SET position = $1 WHERE position = 1`, int64(b))
			return []eventstore.Position{a, b}
		}},
		{name: "events: forged insert with a valid chain hash, after the last checkpoint", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			// Past what the audit projection has applied: only the missing
			// writer signature can tell.
			return []eventstore.Position{l.forge(t, "skp-mut-1", l.checkpoints[1])}
		}, problem: "unsigned"},
		{name: "events: forged insert with a valid chain hash, before the last checkpoint", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			// After the stream's last event and before the checkpoint: the
			// trail entries from here on shift by one.
			var last eventstore.Position
			for _, pos := range l.positions {
				if l.byPosition[pos].Stream == "skp-mut-0" && pos < l.checkpoints[1] {
					last = pos
				}
			}
			return []eventstore.Position{l.forge(t, "skp-mut-0", last)}
		}},
		{name: "audit: entry reason edited", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := mid(l)
			l.tamper(t, `UPDATE $RM.audit_entries SET reason = 'forged' WHERE position = $1`, int64(p))
			return []eventstore.Position{p}
		}},
		{name: "audit: entry leaf hash edited", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := l.positions[1]
			l.tamper(t, `UPDATE $RM.audit_entries SET leaf_hash = sha256(leaf_hash) WHERE position = $1`, int64(p))
			return []eventstore.Position{p}
		}},
		{name: "audit: entry deleted", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := mid(l)
			l.tamper(t, `DELETE FROM $RM.audit_entries WHERE position = $1`, int64(p))
			return l.positions
		}},
		{name: "audit: two entries swapped", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			a, b := l.positions[8], l.positions[9]
			l.tamper(t, `UPDATE $RM.audit_entries SET seq = 1000000 WHERE position = $1`, int64(a)) // a free temporary
			l.tamper(t, `UPDATE $RM.audit_entries SET seq = seq - 1 WHERE position = $1`, int64(b))
			l.tamper(t, `UPDATE $RM.audit_entries SET seq = 9 WHERE seq = 1000000`)
			return []eventstore.Position{a, b}
		}},
		{name: "audit: tree node edited", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			l.tamper(t, `UPDATE $RM.audit_nodes SET hash = sha256(hash) WHERE level = 2 AND index = 1`)
			return l.positions[4:8]
		}},
		{name: "audit: signed checkpoint edited", apply: func(t *testing.T, l *mutationLedger) []eventstore.Position {
			p := l.checkpoints[0]
			l.tamper(t, `UPDATE $RM.audit_checkpoints SET size = size + 1 WHERE position = $1`, int64(p))
			return []eventstore.Position{p}
		}},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			l := newMutationLedger(t)
			allowed := m.apply(t, l)
			r := l.verify(t)
			if r.OK || len(r.Problems) == 0 {
				t.Fatalf("verification after %q = ok", m.name)
			}
			first := r.Problems[0]
			ok := false
			for _, p := range allowed {
				ok = ok || first.Position == p
			}
			if first.Position == 0 || !ok {
				t.Errorf("first problem %+v names position %d, want one of %v", first, first.Position, allowed)
			}
			if !strings.Contains(first.Problem, m.problem) {
				t.Errorf("first problem %q does not say %q", first.Problem, m.problem)
			}
			t.Logf("%s → %q at position %d", m.name, first.Problem, first.Position)
		})
	}
}
