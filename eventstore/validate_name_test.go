package eventstore_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// streamNameRE is the rule ValidateStreamName implemented with a regexp
// before it became a loop: the reference the loop is checked against.
var streamNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@=+-]*$`)

// TestValidateStreamNameIsTheRegexp: the loop refuses exactly what the
// regexp (and the length bound) refused, on every one- and two-byte
// string, on names made of the edge bytes, and on random ones.
func TestValidateStreamNameIsTheRegexp(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := s != "" && len(s) <= eventstore.MaxStreamNameLen && streamNameRE.MatchString(s)
		if got := eventstore.ValidateStreamName(s) == nil; got != want {
			t.Errorf("ValidateStreamName(%q) accepts = %v, the regexp says %v", s, got, want)
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
	check(strings.Repeat("a", eventstore.MaxStreamNameLen))
	check(strings.Repeat("a", eventstore.MaxStreamNameLen+1))
	check("$all")
}
