package deadlinestore_test

import (
	"context"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// TestPostgresRecordsSettings: the PostgreSQL state records the settings'
// fingerprint as deadlines.db does: none at first, then the one set, the
// last set wins, and Reset (of the items and checkpoint) keeps it.
func TestPostgresRecordsSettings(t *testing.T) {
	b, done := pgOpener(t)(t)
	defer done()
	r, ok := b.(deadlines.SettingsRecorder)
	if !ok {
		t.Fatal("deadlinestore.Postgres does not record its settings")
	}
	ctx := context.Background()
	if fp, err := r.SettingsFingerprint(ctx); err != nil || fp != "" {
		t.Fatalf("a new schema records %q (%v); want none", fp, err)
	}
	for _, fp := range []string{"v1 first", "v1 second"} {
		if err := r.SetSettingsFingerprint(ctx, fp); err != nil {
			t.Fatal(err)
		}
		if got, err := r.SettingsFingerprint(ctx); err != nil || got != fp {
			t.Fatalf("recorded %q (%v); want %q", got, err, fp)
		}
	}
	if err := b.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := r.SettingsFingerprint(ctx); err != nil || got != "v1 second" {
		t.Fatalf("after Reset: %q (%v); want the settings kept", got, err)
	}
}
