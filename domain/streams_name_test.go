package domain_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
)

// streamNameRE is the rule ValidStreamName implemented with a regexp
// before it became a loop: the reference the loop is checked against.
var streamNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@=+-]*$`)

// TestValidStreamNameIsTheRegexp: the loop accepts exactly what the
// regexp (and the length bound) accepted, on every one- and two-byte
// string, on names made of the edge bytes, and on random ones.
func TestValidStreamNameIsTheRegexp(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := len(s) <= domain.MaxStreamNameLen && streamNameRE.MatchString(s)
		if got := domain.ValidStreamName(s); got != want {
			t.Errorf("ValidStreamName(%q) = %v, the regexp says %v", s, got, want)
		}
	}
	check("")
	for a := range 256 {
		check(string([]byte{byte(a)}))
		for b := range 256 {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	edge := "aAzZ09_.:@=+-$/ \n\x00\x7f\xff/`[{"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var sb strings.Builder
		for range rng.IntN(12) + 1 {
			sb.WriteByte(edge[rng.IntN(len(edge))])
		}
		check(sb.String())
		check("skp-" + sb.String())
	}
	check(strings.Repeat("a", domain.MaxStreamNameLen))
	check(strings.Repeat("a", domain.MaxStreamNameLen+1))
	check("skp-199001012015031001-2026\n")
}

// BenchmarkValidStreamName prices the check of a GET's stream name, the
// loop against the regexp it replaced.
//
//	go test -run '^$' -bench ValidStreamName -benchmem ./domain/
func BenchmarkValidStreamName(b *testing.B) {
	const name = "skp-199001012015031001-2026"
	b.Run("loop", func(b *testing.B) {
		for range b.N {
			if !domain.ValidStreamName(name) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for range b.N {
			if !streamNameRE.MatchString(name) {
				b.Fatal("refused")
			}
		}
	})
}
