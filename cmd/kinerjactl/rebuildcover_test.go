package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// ctlErr runs kinerjactl with args and returns its stdout, stderr and error.
func ctlErr(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &out, &errb)
	return out.String(), errb.String(), err
}

// seedSignedPG seeds a PostgreSQL store (the seed signs and witnesses a
// checkpoint over it) and projects it, and returns the flags to reach it
// and the witnessed checkpoint.
func seedSignedPG(t *testing.T) (pg, data string, flags []string, rec audit.WitnessRecord) {
	t.Helper()
	pg, data = postgresURL(t), t.TempDir()
	flags = []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "12", "--year", "2025"}, flags...)...)
	// kinerjad's first start trusts it: its start-up check (the same
	// witness file and audit key) returns the seeded checkpoint.
	ctx := context.Background()
	set, closeWitness, err := wiring.OpenWitnesses(ctx, wiring.IntegrityConfig{}.WithDefaults(data).Witnesses())
	if err != nil {
		t.Fatal(err)
	}
	defer closeWitness()
	vs, err := verifiers(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.Connect(ctx, pg, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trusted, err := wiring.StartupCheck{Store: s, AuditKeys: vs, Witness: set, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.Run(ctx)
	if err != nil || trusted == nil || trusted.Checkpoint.Size == 0 {
		t.Fatalf("kinerjad's start-up check after a PostgreSQL seed = %+v, %v: want the seeded checkpoint trusted", trusted, err)
	}
	head, _ := s.Head(ctx)
	if trusted.Checkpoint.Position != head {
		t.Errorf("the seeded checkpoint is at position %d, the head at %d", trusted.Checkpoint.Position, head)
	}
	return pg, data, flags, *trusted
}

// TestRebuildCoveredByTheWitnessedCheckpoint: on a PostgreSQL store the
// seed signed and witnessed, `projections rebuild all` reads the events
// under the checkpoint by their chain links (it says so) and gives, row for
// row, the read models a rebuild verifying every signature gives.
func TestRebuildCoveredByTheWitnessedCheckpoint(t *testing.T) {
	pg, data, flags, rec := seedSignedPG(t)
	mustCtl(t, append([]string{"projections", "rebuild", "all", "--cover=false"}, flags...)...)
	verified := readModelDigests(t, pg, data)
	_, stderr, err := ctlErr(append([]string{"projections", "rebuild", "all"}, flags...)...)
	if err != nil {
		t.Fatalf("covered rebuild all: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "witnessed checkpoint of") {
		t.Errorf("the rebuild did not read under the witnessed checkpoint (%d entries): %s", rec.Checkpoint.Size, stderr)
	}
	if covered := readModelDigests(t, pg, data); !maps.Equal(verified, covered) {
		t.Errorf("the covered rebuild differs from the verified one: %v, want %v", covered, verified)
	}
	// Only a rebuild (skps) without the audit projection: the root is
	// computed aside from the events read. (With a CPU profile, written.)
	prof := filepath.Join(t.TempDir(), "rebuild.pprof")
	if _, stderr, err := ctlErr(append([]string{"projections", "rebuild", "skps", "--cpuprofile", prof}, flags...)...); err != nil || !strings.Contains(stderr, "witnessed checkpoint of") {
		t.Fatalf("covered rebuild skps: %v\n%s", err, stderr)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("--cpuprofile %s: %v, %v", prof, fi, err)
	}
}

// TestRebuildRefusesAlteredHistoryUnderTheCheckpoint: a payload byte of an
// event under the witnessed checkpoint changed in the PostgreSQL table,
// its chain hash re-computed (so that the chain links still hold and only
// the root can tell) or not: `projections rebuild all` and a rebuild of one
// projection refuse with an integrity error, swap nothing in, and leave
// the live tables as they were.
func TestRebuildRefusesAlteredHistoryUnderTheCheckpoint(t *testing.T) {
	for _, rechain := range []bool{true, false} {
		t.Run(map[bool]string{true: "chain re-computed", false: "chain broken"}[rechain], func(t *testing.T) {
			pg, data, flags, rec := seedSignedPG(t)
			mustCtl(t, append([]string{"projections", "rebuild", "all"}, flags...)...)
			before := readModelDigests(t, pg, data)
			var rows []statusRow
			json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, flags...)...)), &rows)

			alter(t, pg, rec.Checkpoint.Position, rechain)

			for _, name := range []string{"all", "skps"} {
				_, stderr, err := ctlErr(append([]string{"projections", "rebuild", name}, flags...)...)
				switch {
				case err == nil:
					t.Fatalf("rebuild %s of an altered history succeeded", name)
				case !errors.Is(err, eventstore.ErrIntegrity):
					t.Errorf("rebuild %s = %v, want an integrity error", name, err)
				case rechain && (!errors.Is(err, pgreadmodel.ErrHistoryChanged) || !strings.Contains(err.Error(), "integrity_violation")):
					t.Errorf("rebuild %s = %v, want the root mismatch (integrity_violation)", name, err)
				}
				t.Logf("rebuild %s refused: %v", name, err)
				_ = stderr
				if after := readModelDigests(t, pg, data); !maps.Equal(before, after) {
					t.Errorf("a refused rebuild %s changed the live read models", name)
				}
				var now []statusRow
				json.Unmarshal([]byte(mustCtl(t, append([]string{"projections", "status"}, flags...)...)), &now)
				for i := range now {
					if i < len(rows) && (now[i].Generation != rows[i].Generation || now[i].Rebuilding != "") {
						t.Errorf("after a refused rebuild %s: %+v, want generation %d and no rebuild left", name, now[i], rows[i].Generation)
					}
				}
			}
		})
	}
}

// alter changes one byte of the payload of the last event of a unit's
// stream below position (a letter of a string value: the JSON stays valid),
// in the events table behind the store's back, and, when rechain, stores
// the chain hash re-computed over the altered payload (the event is its
// stream's last: no later link breaks).
func alter(t *testing.T, pg string, below eventstore.Position, rechain bool) {
	t.Helper()
	ctx := context.Background()
	s, err := pgstore.Connect(ctx, pg, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Every stream's last event below the checkpoint.
	last := map[string]eventstore.Event{}
	var order []string
	for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Position >= below {
			break
		}
		if _, ok := last[ev.Stream]; !ok {
			order = append(order, ev.Stream)
		}
		last[ev.Stream] = ev
	}
	var victim eventstore.Event
	var at int
	for _, stream := range order {
		ev := last[stream]
		if ev.Stream == audit.CheckpointStream {
			continue
		}
		// The second letter of a name (a unit's, an employee's).
		if i := bytes.Index(ev.Data, []byte(`"name":"`)); i >= 0 && i+9 < len(ev.Data) && ev.Data[i+9] >= 'a' && ev.Data[i+9] <= 'y' {
			victim, at = ev, i+9
			break
		}
	}
	if victim.Stream == "" {
		t.Fatal("no event to alter")
	}
	data := bytes.Clone(victim.Data)
	data[at]++
	hash := victim.Hash
	if rechain {
		var prev eventstore.Hash
		if victim.Revision > 0 {
			for ev, err := range s.ReadStream(ctx, victim.Stream, eventstore.ReadStreamOptions{From: victim.Revision - 1, Limit: 1}) {
				if err != nil {
					t.Fatal(err)
				}
				prev = ev.Hash
			}
		}
		ed := victim.EventData
		ed.Data = data
		hash = eventstore.ChainHash(prev, victim.Stream, victim.Revision, &ed)
	}
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil { // past the append-only triggers
		t.Fatal(err)
	}
	tag, err := conn.Exec(ctx, `UPDATE kinerja.events SET data = $1, hash = $2 WHERE event_id = $3`, data, hash[:], victim.ID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("alter %s@%d: %v %v", victim.Stream, victim.Revision, tag, err)
	}
	t.Logf("altered %s@%d (position %d), byte %d of its data, chain re-computed: %v", victim.Stream, victim.Revision, victim.Position, at, rechain)
}
