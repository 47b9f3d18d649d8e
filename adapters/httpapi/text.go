package httpapi

import (
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
)

// encoding/json replaces invalid UTF-8 and unpaired surrogate escapes
// ("\ud800") with U+FFFD as it decodes, so the domain would store a value
// the client never sent; and it turns "\u0000" into a NUL that PostgreSQL
// cannot hold. checkBody reads the raw body instead, after it decoded
// (so it is one well-formed JSON value), and names every string that holds
// invalid UTF-8, an unpaired surrogate or a C0 control character other than
// tab, LF and CR by its JSON path: object members joined with dots
// ("position.title"), array elements as [i] ("items[2].text"). A bad
// object key is named by the object's path (and "" at the top).
//
// adapters/eventlog checks every event it encodes as well, whatever edge it
// came from; this check is the one that sees what the client sent.

// checkBody returns a *domain.ValidationError listing each string of the
// JSON value b that the ledger may not store, and each null given for a
// field of v that cannot be null (see mayBeNull), or nil. v is what b
// decoded into.
func checkBody(b []byte, v any) error {
	s := textScanner{b: b}
	s.value("", nil, 0)
	t := reflect.TypeOf(v)
	for _, n := range s.nulls {
		if !mayBeNull(t, n.segs) {
			s.v.Add(n.path, "must not be null (leave the field out instead)")
		}
	}
	return s.v.Err()
}

// mayBeNull reports whether the field at segs (member names and [i]) of a
// value of type t may be JSON null. encoding/json decodes null into any
// other type as "leave it as it is", the zero value: `"value": null` would
// record a realisation of 0 (issue 9 §4). Pointers, slices, maps and
// interfaces take null as "none", which their fields mean.
func mayBeNull(t reflect.Type, segs []string) bool {
	for _, seg := range segs {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByJSONName(t, seg)
			if !ok {
				return true // not a field: the decoder refused it already
			}
			t = f.Type
		case reflect.Map, reflect.Slice, reflect.Array:
			t = t.Elem()
		default:
			return true
		}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return true
	}
	return false
}

// fieldByJSONName finds the field encoding/json decodes member name into,
// promoted fields of embedded structs included.
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			if inner, ok := fieldByJSONName(f.Type, name); ok {
				return inner, true
			}
			continue
		}
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if strings.EqualFold(tag, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// maxTextDepth stops the scan of a deeper value; encoding/json refuses
// values nested deeper than 10,000 levels before it gets here.
const maxTextDepth = 10_000

type textScanner struct {
	b     []byte
	i     int
	v     domain.ValidationError
	nulls []nullAt
}

// nullAt is where a null was found: its display path and its segments.
type nullAt struct {
	path string
	segs []string
}

func (s *textScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans the value at s.i, named path (segs: its member names and
// [i] indexes).
func (s *textScanner) value(path string, segs []string, depth int) {
	s.ws()
	if s.i >= len(s.b) || depth > maxTextDepth {
		s.i = len(s.b)
		return
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] == '}' {
				s.i++
				return
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			key, problem := s.str()
			if problem != "" {
				s.v.Add(path, "a member name %s", problem)
			}
			s.ws()
			s.i++ // ':'
			s.value(member(path, key), append(segs[:len(segs):len(segs)], key), depth+1)
		}
	case '[':
		s.i++
		for n := 0; ; {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] == ']' {
				s.i++
				return
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			idx := "[" + strconv.Itoa(n) + "]"
			s.value(path+idx, append(segs[:len(segs):len(segs)], idx), depth+1)
			n++
		}
	case '"':
		if _, problem := s.str(); problem != "" {
			s.v.Add(path, "%s", problem)
		}
	default: // a number, true, false or null
		if s.b[s.i] == 'n' {
			s.nulls = append(s.nulls, nullAt{path, segs})
		}
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

func member(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// str scans the string at s.i (its opening quote) and returns it decoded,
// with the first problem it holds ("" for none).
func (s *textScanner) str() (string, string) {
	s.i++ // '"'
	var out []byte
	problem := ""
	note := func(p string) {
		if problem == "" {
			problem = p
		}
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), problem
		case c == '\\':
			r := s.escape()
			switch {
			case r < 0:
				note(domain.MsgLoneSurrogate)
				r = utf8.RuneError
			case domain.ForbiddenRune(r):
				note(domain.MsgControlChar)
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			// A raw control character is not valid JSON; the decoder has
			// refused it already.
			out = append(out, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				note(domain.MsgInvalidUTF8)
			}
			out = append(out, s.b[s.i:s.i+size]...)
			s.i += size
		}
	}
	return string(out), problem
}

// escape decodes the escape at s.i (its backslash): a rune, or -1 for an
// unpaired surrogate.
func (s *textScanner) escape() rune {
	if s.i+1 >= len(s.b) {
		s.i = len(s.b)
		return 0
	}
	c := s.b[s.i+1]
	s.i += 2
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'u':
	default: // '"', '\\', '/'
		return rune(c)
	}
	r := s.hex4()
	if !utf16.IsSurrogate(r) {
		return r
	}
	if r >= 0xdc00 || s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
		return -1 // a low surrogate first, or a high one with nothing after
	}
	save := s.i
	s.i += 2
	lo := s.hex4()
	if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
		return dec
	}
	s.i = save // the next escape is not the low half; scan it on its own
	return -1
}

// hex4 reads four hex digits at s.i.
func (s *textScanner) hex4() rune {
	if s.i+4 > len(s.b) {
		s.i = len(s.b)
		return utf8.RuneError
	}
	n, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 32)
	s.i += 4
	if err != nil {
		return utf8.RuneError
	}
	return rune(n)
}
