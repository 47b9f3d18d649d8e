package pgreadmodel

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// # Storing any bytes an event can carry
//
// PostgreSQL text (and jsonb) cannot hold a NUL character, and text
// refuses invalid UTF-8, but a string in an event can hold both (the
// event store keeps payloads as given). A read model that cannot store a
// value would fail on that event for ever, so every string goes through
// one reversible escape on its way in and out:
//
//   - a string that is valid UTF-8 and holds neither NUL nor the escape
//     character U+FFFF (a Unicode noncharacter, never used in interchange)
//     is stored as it is — every ordinary value, so existing rows, indexes,
//     ordering and SQL comparisons are unchanged;
//   - otherwise NUL is stored as U+FFFF '0', U+FFFF as U+FFFF U+FFFF, and
//     each byte that is not part of valid UTF-8 as U+FFFF 'x' and two hex
//     digits.
//
// For text columns the escape is a pgx codec that this package registers
// on every connection it uses (connPool), for text and text[] parameters,
// and the unescape is in connPool's Scan (pgx scans text into a *string
// without asking the codec): every query of this package goes through
// that one place. jsonb documents are written as JSON text and cast;
// their strings are escaped the same way by marshalDoc and unescaped by
// unmarshalDoc. SQL sees the escaped form: a comparison with a parameter
// (escaped the same way) is exact; a LIKE prefix is exact up to the first
// escaped character.

// escapeRune is the escape character.
const escapeRune = '\uFFFF'

const escapeStr = string(escapeRune)

// needsEscape reports whether s is stored differently from itself.
func needsEscape(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || strings.Contains(s, escapeStr) || !utf8.ValidString(s)
}

// escapeText returns the stored form of s.
func escapeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			const hex = "0123456789abcdef"
			b.WriteString(escapeStr)
			b.WriteByte('x')
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		case r == 0:
			b.WriteString(escapeStr)
			b.WriteByte('0')
		case r == escapeRune:
			b.WriteString(escapeStr + escapeStr)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unescapeText returns the string whose stored form is s. A stored form
// this package did not write (an escape character not followed by 0, x
// and two hex digits, or another escape character) is returned unchanged
// there, so no stored string fails to read.
func unescapeText(s string) string {
	if !strings.Contains(s, escapeStr) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.Index(s, escapeStr)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+len(escapeStr):]
		switch {
		case strings.HasPrefix(rest, "0"):
			b.WriteByte(0)
			s = rest[1:]
		case strings.HasPrefix(rest, escapeStr):
			b.WriteString(escapeStr)
			s = rest[len(escapeStr):]
		case len(rest) >= 3 && rest[0] == 'x' && isHex(rest[1]) && isHex(rest[2]):
			b.WriteByte(unhex(rest[1])<<4 | unhex(rest[2]))
			s = rest[3:]
		default:
			b.WriteString(escapeStr)
			s = rest
		}
	}
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// jsonDoc is a jsonb document as JSON text, its strings already escaped
// (marshalDoc): the text codec sends it as it is. Valid false is NULL.
type jsonDoc struct {
	JSON  string
	Valid bool
}

// marshalDoc returns v as JSON for a jsonb column, its strings (and
// object keys) escaped.
func marshalDoc(v any) (jsonDoc, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return jsonDoc{}, err
	}
	// json.Marshal writes NUL as \u0000 and U+FFFF as itself (invalid
	// UTF-8 it has already replaced); anything else needs no escape.
	if bytes.Contains(b, []byte(`\u0000`)) || bytes.Contains(b, []byte(escapeStr)) {
		if b, err = mapJSONStrings(b, escapeText); err != nil {
			return jsonDoc{}, err
		}
	}
	return jsonDoc{JSON: string(b), Valid: true}, nil
}

// unmarshalDoc decodes a jsonb column's JSON written by marshalDoc into v.
func unmarshalDoc(doc []byte, v any) error {
	if bytes.Contains(doc, []byte(escapeStr)) {
		var err error
		if doc, err = mapJSONStrings(doc, unescapeText); err != nil {
			return err
		}
	}
	return json.Unmarshal(doc, v)
}

// mapJSONStrings rewrites every string and object key of the JSON doc
// through f; numbers keep their text.
func mapJSONStrings(doc []byte, f func(string) string) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case string:
			return f(t)
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, x := range t {
				out[f(k)] = walk(x)
			}
			return out
		}
		return v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(walk(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// escapingTextCodec is PostgreSQL text with the escape: strings (and
// pgtype.Text) are escaped when encoded and unescaped when scanned. It
// prefers the binary format, whose bytes for text are the text itself, so
// that pgx plans every text parameter and result through it (pgx sends a
// string in the text format without asking the codec).
type escapingTextCodec struct{ pgtype.TextCodec }

func (escapingTextCodec) PreferredFormat() int16 { return pgtype.BinaryFormatCode }

func (c escapingTextCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	switch value.(type) {
	case string:
		return encodeEscaped{}
	case pgtype.Text:
		return encodeEscapedText{}
	case jsonDoc:
		return encodeDoc{}
	}
	return c.TextCodec.PlanEncode(m, oid, format, value)
}

type encodeDoc struct{}

func (encodeDoc) Encode(value any, buf []byte) ([]byte, error) {
	d := value.(jsonDoc)
	if !d.Valid {
		return nil, nil
	}
	return append(buf, d.JSON...), nil
}

type encodeEscaped struct{}

func (encodeEscaped) Encode(value any, buf []byte) ([]byte, error) {
	return append(buf, escapeText(value.(string))...), nil
}

type encodeEscapedText struct{}

func (encodeEscapedText) Encode(value any, buf []byte) ([]byte, error) {
	t := value.(pgtype.Text)
	if !t.Valid {
		return nil, nil
	}
	return append(buf, escapeText(t.String)...), nil
}

func (c escapingTextCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	switch target.(type) {
	case *string:
		return scanUnescaped{}
	case *pgtype.Text:
		return scanUnescapedText{}
	}
	return c.TextCodec.PlanScan(m, oid, format, target)
}

type scanUnescaped struct{}

func (scanUnescaped) Scan(src []byte, dst any) error {
	if src == nil {
		return errNullText
	}
	*dst.(*string) = unescapeText(string(src))
	return nil
}

type scanUnescapedText struct{}

func (scanUnescapedText) Scan(src []byte, dst any) error {
	if src == nil {
		*dst.(*pgtype.Text) = pgtype.Text{}
		return nil
	}
	*dst.(*pgtype.Text) = pgtype.Text{String: unescapeText(string(src)), Valid: true}
	return nil
}

var errNullText = errorString("pgreadmodel: cannot scan NULL into *string")

type errorString string

func (e errorString) Error() string { return string(e) }

// registerTextCodec makes m escape text and text[] (see above). It is
// idempotent and cheap once done.
func registerTextCodec(m *pgtype.Map) {
	if t, ok := m.TypeForOID(pgtype.TextOID); ok {
		if _, done := t.Codec.(escapingTextCodec); done {
			return
		}
	}
	text := &pgtype.Type{Name: "text", OID: pgtype.TextOID, Codec: escapingTextCodec{}}
	m.RegisterType(text)
	m.RegisterType(&pgtype.Type{Name: "_text", OID: pgtype.TextArrayOID, Codec: &pgtype.ArrayCodec{ElementType: text}})
}

// connPool runs this package's queries on connections of a pool that
// carry the text codec: each connection gets it the first time it is
// used here. The codec stays on the connection: another user of a shared
// pool (kinerjad shares it with pgidempotency, which keeps a key compared
// with parameters escaped the same way) sees its ordinary strings stored
// as before, and strings PostgreSQL could not store at all stored escaped
// instead of refused.
type connPool struct{ *pgxpool.Pool }

func (p connPool) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := p.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	registerTextCodec(c.Conn().TypeMap())
	return c, nil
}

// Begin starts a transaction on a connection with the codec; it is
// released when the transaction ends.
func (p connPool) Begin(ctx context.Context) (pgx.Tx, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		c.Release()
		return nil, err
	}
	return &releasingTx{Tx: tx, release: sync.OnceFunc(c.Release)}, nil
}

// Query runs sql on a connection with the codec, released when the rows
// are closed.
func (p connPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		c.Release()
		return nil, err
	}
	return &releasingRows{Rows: rows, release: sync.OnceFunc(c.Release)}, nil
}

// QueryRow runs sql on a connection with the codec, released by Scan.
func (p connPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c, err := p.acquire(ctx)
	if err != nil {
		return errRow{err}
	}
	return &releasingRow{row: c.QueryRow(ctx, sql, args...), release: c.Release}
}

type releasingTx struct {
	pgx.Tx
	release func()
}

// Query and QueryRow unescape what they scan, as connPool's do.
func (t *releasingTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return &releasingRows{Rows: rows, release: func() {}}, nil
}

func (t *releasingTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return &releasingRow{row: t.Tx.QueryRow(ctx, sql, args...), release: func() {}}
}

func (t *releasingTx) Commit(ctx context.Context) error {
	defer t.release()
	return t.Tx.Commit(ctx)
}

func (t *releasingTx) Rollback(ctx context.Context) error {
	defer t.release()
	return t.Tx.Rollback(ctx)
}

type releasingRows struct {
	pgx.Rows
	release func()
}

func (r *releasingRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

// Scan unescapes what it scans into strings: pgx scans text into a
// *string without asking the codec.
func (r *releasingRows) Scan(dest ...any) error {
	if err := r.Rows.Scan(dest...); err != nil {
		return err
	}
	unescapeScanned(dest)
	return nil
}

func (r *releasingRows) Close() {
	r.Rows.Close()
	r.release()
}

type releasingRow struct {
	row     pgx.Row
	release func()
}

func (r *releasingRow) Scan(dest ...any) error {
	defer r.release()
	if err := r.row.Scan(dest...); err != nil {
		return err
	}
	unescapeScanned(dest)
	return nil
}

// unescapeScanned unescapes the strings a Scan wrote.
func unescapeScanned(dest []any) {
	for _, d := range dest {
		switch t := d.(type) {
		case *string:
			*t = unescapeText(*t)
		case *[]string:
			for i := range *t {
				(*t)[i] = unescapeText((*t)[i])
			}
		}
	}
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
