package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestViewsFirstFoldMeasure measures the first fold of the calibration,
// consequence and development views over a seeded bbolt data directory
// (kinerjactl seed, its checkpoint signed): wall and CPU time of the
// process (cpusample.Self). A measurement aid for docs/benchmarks.md, skipped unless
// KINERJA_VIEWS_FOLD_DATA names the directory:
//
//	KINERJA_VIEWS_FOLD_DATA=/tmp/views/fold go test -count=1 -v -run TestViewsFirstFoldMeasure ./adapters/app
func TestViewsFirstFoldMeasure(t *testing.T) {
	dir := MeasureEnv(t, "KINERJA_VIEWS_FOLD_DATA")
	pem, err := os.ReadFile(filepath.Join(dir, "writer-keyring.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := eventstore.ParseKeyring(pem)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "audit-signing.pub"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := boltstore.Open(filepath.Join(dir, "kinerja.db"), boltstore.Options{Keyring: ring})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	head, _ := s.Head(ctx)
	a := &App{cfg: Config{Store: eventstore.NewAuthenticatedStore(s, ring), AuditKey: strings.TrimSpace(string(pub))}}
	for i := range 2 {
		var skps, pubs int
		var err error
		wall, cpu := Measure(func() {
			err = a.withViews(ctx, func(v *viewsCache) error {
				skps, pubs = len(v.states), len(v.pubs)
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fold %d over %d events: wall %.2f s, CPU %.2f s; %d SKPs, %d publications", i+1, head, wall.Seconds(), cpu, skps, pubs)
	}
}
