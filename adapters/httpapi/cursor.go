package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// Page cursors are opaque to clients. A read model's own cursor (the SKP
// id a page ends at) is easy to forge: base64 of any id answers 200 with a
// page that starts wherever the client chose, or an empty one. The API
// therefore seals every cursor it issues with a checksum over the cursor
// and the query it belongs to (the caller and the filters, never the page
// size), and refuses any other cursor with 400: a made-up cursor, an edited
// one, or one of another query or caller.
//
// The checksum is not a secret MAC: whoever reads this code can compute
// one, and gains nothing by it, since a cursor only says where a page the
// caller may see starts; every item is still filtered by what the caller
// may see. Without a key, cursors survive restarts and work across several
// kinerjad processes.

// cursorSumLen is how many bytes of the checksum a cursor carries.
const cursorSumLen = 12

// sealCursor returns the cursor a client gets for inner, a read model's
// cursor, issued for the query named by scope.
func sealCursor(inner string, scope ...string) string {
	s := cursorSum(inner, scope)
	return base64.RawURLEncoding.EncodeToString(append(s[:cursorSumLen:cursorSumLen], inner...))
}

// openCursor returns the read model's cursor inside c ("" for ""), or a
// 400 naming the cursor when c is not one sealCursor issued for scope.
func openCursor(c string, scope ...string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) <= cursorSumLen {
		return "", badCursor()
	}
	inner := string(b[cursorSumLen:])
	if s := cursorSum(inner, scope); !bytes.Equal(s[:cursorSumLen], b[:cursorSumLen]) {
		return "", badCursor()
	}
	return inner, nil
}

func badCursor() error {
	return badRequest("cursor", "not one this service issued for this query; start again without a cursor")
}

// cursorSum is the length-prefixed SHA-256 of the cursor and its scope (as
// app.Fingerprint hashes a request).
func cursorSum(inner string, scope []string) [32]byte {
	var out [32]byte
	hex.Decode(out[:], []byte(app.Fingerprint(append([]string{"kinerja/cursor/v1", inner}, scope...)...)))
	return out
}
