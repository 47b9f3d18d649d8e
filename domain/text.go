package domain

import "unicode/utf8"

// Text the ledger stores must survive every store and read model as it was
// written. PostgreSQL text cannot hold NUL (a projection that meets one
// fails for ever, and events are immutable), other C0 control characters
// garble reports, CSV and terminals, and invalid UTF-8 would be silently
// replaced by the JSON encoder, so the stored value would not be the one
// sent. Tab, LF and CR are the control characters a human text may hold.

// ForbiddenRune reports whether r may not appear in stored text: a C0
// control character other than tab, LF and CR.
func ForbiddenRune(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r'
}

// Messages of a text problem, as a [FieldError] shows them.
const (
	MsgInvalidUTF8   = "must be valid UTF-8"
	MsgControlChar   = "must not contain NUL or other control characters (tab, LF and CR aside)"
	MsgLoneSurrogate = "must not contain an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
)

// TextProblem returns what makes s unfit to store (one of the Msg
// constants), or "" when it is fit.
func TextProblem(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ForbiddenRune(rune(c)) {
				return MsgControlChar
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return MsgInvalidUTF8
		}
		i += size
	}
	return ""
}

// MsgBidiControl is the problem of a name holding a bidirectional override
// or isolate.
const MsgBidiControl = "must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)"

// BidiControl reports whether r is a bidirectional embedding, override or
// isolate (U+202A–U+202E, U+2066–U+2069). In a name they reorder what a
// reader sees without changing what is stored: "Budi" can be made to show
// as someone else's name in the dashboard, a report or an exported CSV, so
// that a list looks right while it names another person ("Trojan Source").
// Right-to-left scripts need none of them; the implicit marks (U+200E,
// U+200F) stay allowed.
func BidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// NameProblem returns what makes s unfit as a name (of an employee, an
// official, a unit, a post): a [TextProblem], or a bidirectional control
// ([MsgBidiControl]); "" when it is fit.
func NameProblem(s string) string {
	if p := TextProblem(s); p != "" {
		return p
	}
	for _, r := range s {
		if BidiControl(r) {
			return MsgBidiControl
		}
	}
	return ""
}
