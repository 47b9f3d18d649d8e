package memreadmodel

import (
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// splitSnapshot cuts a version 3 file into its header, its sections and
// their frames (as the table says).
func splitSnapshot(t *testing.T, b []byte) (header []byte, frames []sectionFrame, sections [][]byte) {
	t.Helper()
	hl := fixedHeaderLen + int(binary.BigEndian.Uint32(b[20:]))
	header = b[:hl]
	n := int(binary.BigEndian.Uint32(b[hl:]))
	frames, err := decodeSectionTable(b[hl:hl+sectionTableLen(n)], n, binary.BigEndian.Uint64(b[12:]))
	if err != nil {
		t.Fatal(err)
	}
	off := hl + sectionTableLen(n)
	for _, fr := range frames {
		sections = append(sections, b[off:off+int(fr.length)])
		off += int(fr.length)
	}
	return header, frames, sections
}

// TestSnapshotSectionFramesAreChecked: a file whose section table was
// re-sealed with the trusted key (so its signature verifies) is still
// refused when a section's digest, length, place or end is not what the
// table says, and a section's bytes changed under an intact table fail
// their digest before they are decoded.
func TestSnapshotSectionFramesAreChecked(t *testing.T) {
	j, _, path := snapshotOf(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, frames, sections := splitSnapshot(t, good)
	if len(sections) != 7 {
		t.Fatalf("%d sections", len(sections))
	}
	// build writes header | table | sections | trailer, the table built from
	// frames as given (nil: each section's true length and digest) and
	// sealed with the trusted audit key.
	build := func(frames []sectionFrame, sections [][]byte) string {
		if frames == nil {
			for _, s := range sections {
				frames = append(frames, sectionFrame{length: uint64(len(s)), digest: sha256.Sum256(s)})
			}
		}
		table := encodeSectionTable(frames)
		h := append([]byte(nil), header...)
		body := len(table)
		for _, s := range sections {
			body += len(s)
		}
		binary.BigEndian.PutUint64(h[12:], uint64(body))
		trailer, err := seal(h, sha256.Sum256(table), j.Key)
		if err != nil {
			t.Fatal(err)
		}
		out := append(append([]byte(nil), h...), table...)
		for _, s := range sections {
			out = append(out, s...)
		}
		out = append(out, trailer...)
		p := filepath.Join(t.TempDir(), SnapshotFile)
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clone := func() [][]byte {
		out := make([][]byte, len(sections))
		for i, s := range sections {
			out[i] = append([]byte(nil), s...)
		}
		return out
	}
	// The rebuilt file, unchanged, loads: the builder is right.
	m := New(Options{})
	if _, err := m.LoadSnapshot(t.Context(), build(nil, clone()), LoadOptions{Keys: trusted(j), Store: j.Store}); err != nil {
		t.Fatalf("the file rebuilt from its own sections: %v", err)
	}

	// A section's bytes changed, the table as sealed: its digest fails.
	secs := clone()
	secs[3][len(secs[3])/2] ^= 0x40
	mustRefuse(t, "a section's byte flipped", j, j.Store, build(frames, secs), ErrSnapshotSignature)
	// A section's digest wrong in a table the trusted key sealed.
	fr := append([]sectionFrame(nil), frames...)
	fr[2].digest[0] ^= 1
	mustRefuse(t, "a section's digest wrong", j, j.Store, build(fr, clone()), ErrSnapshotSignature)
	// Frames whose lengths do not add up to the body.
	fr = append([]sectionFrame(nil), frames...)
	fr[1].length++
	mustRefuse(t, "a frame longer than its section", j, j.Store, build(fr, clone()), ErrSnapshotCorrupt)
	fr = append([]sectionFrame(nil), frames...)
	fr[6].length--
	mustRefuse(t, "a frame shorter than its section", j, j.Store, build(fr, clone()), ErrSnapshotCorrupt)
	// A boundary moved between two sections (the lengths still add up).
	fr = append([]sectionFrame(nil), frames...)
	fr[0].length -= 5
	fr[1].length += 5
	mustRefuse(t, "a boundary moved", j, j.Store, build(fr, clone()), ErrSnapshotSignature)
	// A table of another count of sections.
	mustRefuse(t, "a section missing", j, j.Store, build(nil, clone()[:6]), ErrSnapshotCorrupt)
	mustRefuse(t, "a section too many", j, j.Store, build(nil, append(clone(), sections[6])), ErrSnapshotCorrupt)
	// Sections reordered (table and body alike, sealed): each is decoded
	// as the Sink of its place, and its name is not that Sink's.
	secs = clone()
	secs[0], secs[1] = secs[1], secs[0]
	mustRefuse(t, "sections reordered", j, j.Store, build(nil, secs), ErrSnapshotCorrupt)
	secs = clone()
	secs[2], secs[3] = secs[3], secs[2]
	mustRefuse(t, "two SKP sections swapped", j, j.Store, build(nil, secs), ErrSnapshotCorrupt)
	// A section truncated, or with bytes after its end, framed to match.
	for i := range sections {
		secs = clone()
		secs[i] = secs[i][:len(secs[i])-3]
		mustRefuse(t, "a truncated section", j, j.Store, build(nil, secs), ErrSnapshotCorrupt)
		secs = clone()
		secs[i] = append(secs[i], 0, 0, 0)
		mustRefuse(t, "bytes after a section's end", j, j.Store, build(nil, secs), ErrSnapshotCorrupt)
	}
	// An empty section.
	secs = clone()
	secs[4] = nil
	mustRefuse(t, "an empty section", j, j.Store, build(nil, secs), ErrSnapshotCorrupt)
}

func trusted(j *readmodeltest.Journey) []*merkle.Verifier {
	return []*merkle.Verifier{j.Key.Verifier()}
}
