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

// Names refuse the bidirectional overrides and isolates (issue 9, the
// trust items): each of the nine, at the edges of the ranges, and nothing
// else that is fit text.
func TestNameProblem(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"Budi Santoso", ""},
		{"عبد الله", ""},          // a right-to-left name needs no control
		{"Budi\u200fSantoso", ""}, // RLM, an implicit mark: allowed
		{"Budi\u2029", ""},        // a separator, not a control
		{"\u2029\u202a", domain.MsgBidiControl},
		{"Budi\u202eotnaS", domain.MsgBidiControl},
		{"\u202b", domain.MsgBidiControl},
		{"\u202c", domain.MsgBidiControl},
		{"\u202d", domain.MsgBidiControl},
		{"a\u2066b", domain.MsgBidiControl},
		{"a\u2067b", domain.MsgBidiControl},
		{"a\u2068b", domain.MsgBidiControl},
		{"a\u2069", domain.MsgBidiControl},
		{"\u2065\u206a", ""}, // just outside the isolates
		{"\u2029\u202f", ""}, // just outside the embeddings and overrides
		{"a\x00\u202e", domain.MsgControlChar},
	} {
		if got := domain.NameProblem(tc.in); got != tc.want {
			t.Errorf("NameProblem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
