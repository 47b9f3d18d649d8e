package pgreadmodel

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextEscapeRoundTrips(t *testing.T) {
	tests := []struct {
		name, in, stored string
	}{
		{"empty", "", ""},
		{"ordinary Indonesian text is stored as it is", "Dinas Kesehatan — Puskesmas Satu ✓", "Dinas Kesehatan — Puskesmas Satu ✓"},
		{"control characters PostgreSQL accepts are kept", "a\x01\t\n\r\x1b[31m\x7f\u2028", "a\x01\t\n\r\x1b[31m\x7f\u2028"},
		{"NUL", "a\x00b", "a\uffff0b"},
		{"only NUL", "\x00\x00", "\uffff0\uffff0"},
		{"the escape character itself", "\uffff", "\uffff\uffff"},
		{"what an escape looks like", "\uffff0", "\uffff\uffff0"},
		{"invalid UTF-8", "a\xffb\xfe", "a\uffffxffb\uffffxfe"},
		{"truncated rune", "\xe2\x82", "\uffffxe2\uffffx82"},
		{"surrogate half encoded in UTF-8", "\xed\xa0\x80", "\uffffxed\uffffxa0\uffffx80"},
		{"JSON escape text is not a NUL", `\u0000`, `\u0000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := escapeText(tt.in)
			if got != tt.stored {
				t.Errorf("escapeText(%q) = %q, want %q", tt.in, got, tt.stored)
			}
			if strings.IndexByte(got, 0) >= 0 || !utf8.ValidString(got) {
				t.Errorf("escapeText(%q) = %q: PostgreSQL text cannot hold it", tt.in, got)
			}
			if back := unescapeText(got); back != tt.in {
				t.Errorf("unescapeText(%q) = %q, want %q", got, back, tt.in)
			}
		})
	}
}

// A stored string this package did not escape (a stray U+FFFF) reads back
// as it is rather than failing.
func TestUnescapeToleratesForeignText(t *testing.T) {
	for _, s := range []string{"\uffff", "a\uffffb", "\uffffx", "\uffffxzz", "\uffffx4"} {
		if got := unescapeText(s); got != s {
			t.Errorf("unescapeText(%q) = %q, want it unchanged", s, got)
		}
	}
}

func FuzzTextEscape(f *testing.F) {
	for _, s := range []string{"", "a\x00b", "\uffff0", "\xff", "Puskesmas"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := escapeText(s)
		if strings.IndexByte(e, 0) >= 0 || !utf8.ValidString(e) {
			t.Fatalf("escapeText(%q) = %q", s, e)
		}
		if unescapeText(e) != s {
			t.Fatalf("round trip of %q gave %q", s, unescapeText(e))
		}
	})
}

func TestDocEscapeRoundTrips(t *testing.T) {
	type doc struct {
		Rationale string            `json:"rationale"`
		Tags      map[string]string `json:"tags"`
		Score     float64           `json:"score"`
	}
	in := doc{Rationale: "sesuai\x00bukti \uffff0", Tags: map[string]string{"k\x00": "\uffff"}, Score: 110.25}
	d, err := marshalDoc(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.JSON, `\u0000`) || !d.Valid {
		t.Fatalf("marshalDoc = %q: jsonb cannot hold \\u0000", d.JSON)
	}
	var out doc
	if err := unmarshalDoc([]byte(d.JSON), &out); err != nil {
		t.Fatal(err)
	}
	if out.Rationale != in.Rationale || out.Tags["k\x00"] != "\uffff" || out.Score != in.Score {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	plain, _ := marshalDoc(doc{Rationale: "biasa"})
	if !strings.Contains(plain.JSON, `"rationale":"biasa"`) {
		t.Errorf("an ordinary doc is rewritten: %s", plain.JSON)
	}
}
