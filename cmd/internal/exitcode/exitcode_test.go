package exitcode

import (
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, OK},
		{flag.ErrHelp, OK},
		{Usage(flag.ErrHelp), OK},
		{fmt.Errorf("parse: %w", flag.ErrHelp), OK},
		{boom, Error},
		{Usage(boom), UsageErr},
		{Usagef("--x: %w", boom), UsageErr},
		{fmt.Errorf("run: %w", Usage(boom)), UsageErr},
		{Failed(boom), Verify},
		{fmt.Errorf("restore: %w", Failed(boom)), Verify},
		{Usage(nil), OK},
		{Failed(nil), OK},
	} {
		if got := Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if err := Usage(boom); !errors.Is(err, boom) || err.Error() != "boom" {
		t.Errorf("Usage hides its error: %v", err)
	}
}
