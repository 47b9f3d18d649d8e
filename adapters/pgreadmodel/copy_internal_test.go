package pgreadmodel

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestCopyValueEncoding checks the binary COPY fields against their
// PostgreSQL wire forms, texts escaped as every text parameter is, and
// refuses a type it does not know rather than guess.
func TestCopyValueEncoding(t *testing.T) {
	field := func(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }
	id := uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057")
	tests := []struct {
		name string
		v    any
		want []byte
	}{
		{"int8", int64(-2), field([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe})},
		{"int4", int32(7), field([]byte{0, 0, 0, 7})},
		{"int2", int16(-3), field([]byte{0xff, 0xfd})},
		{"bool", true, field([]byte{1})},
		{"text as it is", "Dinas Kesehatan — ✓", field([]byte("Dinas Kesehatan — ✓"))},
		{"text with NUL and invalid UTF-8, escaped", "a\x00b\xff", field([]byte(escapeText("a\x00b\xff")))},
		{"control characters kept", "a\x01\t\x1b[31m", field([]byte("a\x01\t\x1b[31m"))},
		{"empty text", "", field(nil)},
		{"bytea", []byte{1, 2}, field([]byte{1, 2})},
		{"NULL bytea", []byte(nil), []byte{0xff, 0xff, 0xff, 0xff}},
		{"uuid", id, field(id[:])},
		{"timestamptz at PostgreSQL's epoch", time.Date(2000, 1, 1, 7, 0, 0, 0, time.FixedZone("WIB", 7*3600)), field(make([]byte, 8))},
		{"timestamptz truncated to the microsecond", time.Date(2000, 1, 1, 0, 0, 0, 1999, time.UTC), field([]byte{0, 0, 0, 0, 0, 0, 0, 1})},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := appendCopyValue(&buf, tc.v); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !bytes.Equal(buf.Bytes(), tc.want) {
			t.Errorf("%s: encoded % x, want % x", tc.name, buf.Bytes(), tc.want)
		}
	}
	if escapeText("a\x00b\xff") == "a\x00b\xff" {
		t.Fatal("the escape changed: the NUL case above checks nothing")
	}
	for _, v := range []any{3, float64(1), &struct{}{}, nil} {
		var buf bytes.Buffer
		if err := appendCopyValue(&buf, v); err == nil || !strings.Contains(err.Error(), "no binary COPY encoding") {
			t.Errorf("%T: error = %v, want a refusal", v, err)
		}
	}
}
