package domain_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
)

func TestTextProblem(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"Dinas Kesehatan", ""},
		{"tab\tLF\nCR\r", ""},
		{"é 👍 \ufffd \u2028 \x7f", ""}, // DEL and the C1 range are not C0
		{"\x00", domain.MsgControlChar},
		{"a\x1fb", domain.MsgControlChar},
		{"\x0b", domain.MsgControlChar},
		{"\xff", domain.MsgInvalidUTF8},
		{"a\xe2\x82", domain.MsgInvalidUTF8},
		{"\xed\xa0\x80", domain.MsgInvalidUTF8}, // a surrogate in UTF-8
		{"\xc0\x80", domain.MsgInvalidUTF8},     // an overlong NUL
	} {
		if got := domain.TextProblem(tc.in); got != tc.want {
			t.Errorf("TextProblem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
