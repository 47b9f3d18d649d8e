package document

import (
	"testing"
	"time"
)

// Whatever text reaches /verify, Open answers ErrBadCode or a code its key
// signed, and never panics.
func FuzzOpen(f *testing.F) {
	key := testKey(&testing.T{}, 1)
	good, err := Seal(Code{Kind: KindEvaluation, SKPID: "199001012015031001-2026", Period: "2026-Q1", Revision: 7, Position: 9,
		PrintedAt: time.Unix(1_800_000_000, 0)}, key)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, good[:20], "", "AQ", "AVM" + good[3:], good + "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Open(s, key.Verifier())
		if err != nil {
			if err != ErrBadCode {
				t.Fatalf("Open(%q) = %v, want ErrBadCode", s, err)
			}
			return
		}
		if s != good {
			// Another text verifying means a second encoding of a code.
			again, _ := Seal(c, key)
			if again != s {
				t.Fatalf("Open accepted %q, which is not the code of what it says (%q)", s, again)
			}
		}
	})
}
