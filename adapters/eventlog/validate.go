package eventlog

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Every event is appended through Encode, whatever edge decided it (the
// API, the dashboard's forms, an import), so this is where the ledger
// refuses text it could not keep: every string of the payload and of the
// envelope is checked with domain.TextProblem, and the envelope's fields
// against the store's limits. A problem is a *domain.ValidationError (422
// in the API) naming the JSON field, before anything is written: an event
// the stores or the read models cannot hold would be immutable and would
// stop them for ever (issue 9 §1).

// validate checks e's payload and envelope.
func validate(e domain.NewEvent) error {
	var v domain.ValidationError
	checkValue(&v, "", reflect.ValueOf(e.Event))
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"reason", e.Meta.Reason, eventstore.MaxReasonLen},
		{"actor", e.Meta.Actor.ID, eventstore.MaxActorFieldLen},
		{"actor.role", string(e.Meta.Actor.Role), eventstore.MaxActorFieldLen},
		{"correlation_id", e.Meta.CorrelationID, eventstore.MaxIDFieldLen},
		{"causation_id", e.Meta.CausationID, eventstore.MaxIDFieldLen},
	} {
		if msg := domain.TextProblem(f.value); msg != "" {
			v.Add(f.name, "%s", msg)
		} else if len(f.value) > f.max {
			v.Add(f.name, "at most %d bytes of UTF-8, got %d", f.max, len(f.value))
		}
	}
	return v.Err()
}

var (
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
)

// checkValue records a problem for every unfit string in rv, named by its
// JSON path as encoding/json would write it: object fields by their JSON
// names joined with dots, array elements as [i], map entries by their key
// (a problem in a key itself is recorded under the map's path).
//
// Values that marshal themselves (time.Time, calendar.Date, period.Period)
// are not entered: the domain's are built from numbers, never from text.
func checkValue(v *domain.ValidationError, path string, rv reflect.Value) {
	switch rv.Kind() {
	case reflect.Invalid:
		return
	case reflect.String:
		if msg := domain.TextProblem(rv.String()); msg != "" {
			v.Add(orData(path), "%s", msg)
		}
		return
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			checkValue(v, path, rv.Elem())
		}
		return
	}
	if t := rv.Type(); t.Implements(textMarshaler) || t.Implements(jsonMarshaler) {
		return
	}
	switch rv.Kind() {
	case reflect.Struct:
		t := rv.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, embedded := jsonName(f)
			switch {
			case name == "-":
			case embedded:
				checkValue(v, path, rv.Field(i))
			default:
				checkValue(v, join(path, name), rv.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return // []byte is base64 in JSON: any bytes are fine
		}
		for i := range rv.Len() {
			checkValue(v, path+"["+strconv.Itoa(i)+"]", rv.Index(i))
		}
	case reflect.Map:
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key()
			key := fmt.Sprint(k.Interface())
			if k.Kind() == reflect.String {
				if msg := domain.TextProblem(k.String()); msg != "" {
					v.Add(orData(path), "a key %s", msg)
					continue
				}
			}
			checkValue(v, join(path, key), iter.Value())
		}
	}
}

// jsonName returns a struct field's JSON name ("-" when it is not
// encoded) and whether its fields are promoted into the parent (an
// embedded struct without a name in its tag).
func jsonName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if tag == "-" {
		return "-", false
	}
	if name == "" {
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if f.Anonymous && t.Kind() == reflect.Struct {
			return "", true
		}
		return f.Name, false
	}
	return name, false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// orData names a problem at the payload's root "data".
func orData(path string) string {
	if path == "" {
		return "data"
	}
	return path
}
