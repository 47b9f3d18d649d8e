package memreadmodel

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/scores"
)

// TestScoreRowsReloadAcrossBatches: the score table's load reuses one
// batch slice, and gob leaves what it does not send (a zero field, a nil
// pointer) as it finds it. Rows of the second batch whose fields are zero
// where the first batch's row at the same index had them set must come
// back zero, and the first batch's rows keep their own Previous.
func TestScoreRowsReloadAcrossBatches(t *testing.T) {
	const n = snapBatch + snapBatch/2
	src := &scoresTables{}
	src.reset()
	for i := range n {
		e := scores.Entry{SKPID: fmt.Sprintf("skp-%d", i/3), NIP: fmt.Sprintf("nip-%d", i/7), UnitID: "u1", Position: eventstore.Position(i + 1)}
		e.Period = "2026-Q1"
		e.EventID = fmt.Sprintf("ev-%d", i)
		e.Scores = skp.Scores{WorkResult: "SESUAI", Behaviour: "SESUAI", Predikat: "BAIK"}
		e.Source = "APPRAISER"
		e.Actor = domain.Actor{ID: "a1", Role: "APPRAISER"}
		if i < snapBatch { // the first batch: every field set
			e.Previous = &skp.Scores{WorkResult: rating.Rating(fmt.Sprintf("w%d", i)), Behaviour: "DI_BAWAH", Predikat: "CUKUP"}
			e.Rationale, e.Reason, e.ObjectionID = fmt.Sprintf("r%d", i), "objection upheld", fmt.Sprintf("obj-%d", i)
		}
		src.rows[scoreKey{e.SKPID, e.EventID}] = e
	}
	var buf bytes.Buffer
	if err := src.save(gob.NewEncoder(&buf)); err != nil {
		t.Fatal(err)
	}
	dst := &scoresTables{}
	if err := dst.load(gob.NewDecoder(bytes.NewReader(buf.Bytes())), uint64(buf.Len())); err != nil {
		t.Fatal(err)
	}
	if len(dst.rows) != n {
		t.Fatalf("%d rows loaded, %d saved", len(dst.rows), n)
	}
	for k, want := range src.rows {
		if got := dst.rows[k]; !reflect.DeepEqual(got, want) {
			t.Fatalf("row %v:\n got %+v (previous %+v)\nwant %+v (previous %+v)", k, got, got.Previous, want, want.Previous)
		}
	}
	seen := map[*skp.Scores]bool{}
	for _, e := range dst.rows {
		if e.Previous != nil {
			if seen[e.Previous] {
				t.Fatal("two rows share one Previous")
			}
			seen[e.Previous] = true
		}
	}
}

// TestRowBatchesBounded: a batch count the section's length cannot hold
// is refused before anything is sized from it.
func TestRowBatchesBounded(t *testing.T) {
	for _, n := range []int{-1, 1 << 40} {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(n); err != nil {
			t.Fatal(err)
		}
		sized := false
		err := loadRows(gob.NewDecoder(&buf), 1<<20, func(int) { sized = true }, func(*scores.Entry) error { return nil })
		if err == nil || sized {
			t.Errorf("%d batches: err %v, sized %v", n, err, sized)
		}
	}
	// A hint is at most the section's length over minRowBytes.
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(1000); err != nil {
		t.Fatal(err)
	}
	hint := -1
	_ = loadRows(gob.NewDecoder(&buf), 1<<16, func(rows int) { hint = rows }, func(*scores.Entry) error { return nil })
	if hint != (1<<16)/minRowBytes {
		t.Errorf("hint %d for 1,000 batches in 64 KiB, want %d", hint, (1<<16)/minRowBytes)
	}
}
