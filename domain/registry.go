package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownEventType is returned by [Registry.Decode] for a type that is
// neither registered nor reachable through an upcaster, and by
// [Registry.Encode] for an unregistered event. It is an integration error,
// not a domain error kind.
var ErrUnknownEventType = errors.New("unknown event type")

// EventSpec describes one registered event type: its stored name, the
// latest schema version of its JSON shape, and how to decode it. Build one
// with [Spec].
type EventSpec struct {
	// Type is the stored name, taken from the event's EventType method.
	Type string
	// Version is the latest schema version (at least 1).
	Version int
	decode  func([]byte) (Event, error)
}

// Spec returns the spec of event type T (a struct implementing [Event] with
// a value receiver) at schema version version.
func Spec[T Event](version int) EventSpec {
	var zero T
	return EventSpec{
		Type:    zero.EventType(),
		Version: version,
		decode: func(b []byte) (Event, error) {
			var v T
			if err := json.Unmarshal(b, &v); err != nil {
				return nil, err
			}
			return v, nil
		},
	}
}

// Upcaster turns the stored JSON of one (type, schema version) into the JSON
// of the next shape. It is a pure function over JSON; stored bytes are never
// rewritten, the chain runs on every read. Upcasters may rename a type, for
// example when "skp.rating_given.v1" became "skp.rating_assigned.v1".
type Upcaster struct {
	// FromType and FromVersion name the shape this upcaster reads.
	FromType    string
	FromVersion int
	// ToType and ToVersion name the shape it produces, which is either
	// registered or read by another upcaster.
	ToType    string
	ToVersion int
	// Up converts the JSON.
	Up func(data []byte) ([]byte, error)
}

type typeVersion struct {
	typ string
	ver int
}

// Registry knows every event type and the upcasters from older shapes. It
// is immutable after [NewRegistry] and safe for concurrent use.
type Registry struct {
	specs     map[string]EventSpec
	upcasters map[typeVersion]Upcaster
	types     []string
}

// maxUpcastSteps bounds an upcaster chain, so that a mistaken cycle fails
// loudly instead of looping.
const maxUpcastSteps = 64

// NewRegistry returns a registry of specs and upcasters. It fails on an
// invalid or duplicate name, a version below 1, two upcasters from the same
// shape, or an upcaster chain that does not end at a registered shape.
func NewRegistry(specs []EventSpec, upcasters []Upcaster) (*Registry, error) {
	r := &Registry{specs: map[string]EventSpec{}, upcasters: map[typeVersion]Upcaster{}}
	var errs []error
	for _, s := range specs {
		switch {
		case !ValidEventType(s.Type):
			errs = append(errs, fmt.Errorf("event type %q is not a versioned name such as skp.rating_assigned.v1", s.Type))
		case s.Version < 1:
			errs = append(errs, fmt.Errorf("event type %s: schema version %d, want at least 1", s.Type, s.Version))
		case s.decode == nil:
			errs = append(errs, fmt.Errorf("event type %s: spec not built with Spec", s.Type))
		default:
			if _, dup := r.specs[s.Type]; dup {
				errs = append(errs, fmt.Errorf("event type %s registered twice", s.Type))
				continue
			}
			r.specs[s.Type] = s
			r.types = append(r.types, s.Type)
		}
	}
	for _, u := range upcasters {
		k := typeVersion{u.FromType, u.FromVersion}
		if _, dup := r.upcasters[k]; dup {
			errs = append(errs, fmt.Errorf("two upcasters from %s schema %d", u.FromType, u.FromVersion))
			continue
		}
		if s, ok := r.specs[u.FromType]; ok && s.Version == u.FromVersion {
			errs = append(errs, fmt.Errorf("upcaster from %s schema %d: that is the latest shape", u.FromType, u.FromVersion))
			continue
		}
		r.upcasters[k] = u
	}
	for k := range r.upcasters {
		if _, err := r.latest(k.typ, k.ver); err != nil {
			errs = append(errs, err)
		}
	}
	slices.Sort(r.types)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("event registry: %w", err)
	}
	return r, nil
}

// latest follows the upcaster chain from (typ, ver) to a registered shape.
func (r *Registry) latest(typ string, ver int) (typeVersion, error) {
	k := typeVersion{typ, ver}
	for range maxUpcastSteps {
		if s, ok := r.specs[k.typ]; ok && s.Version == k.ver {
			return k, nil
		}
		u, ok := r.upcasters[k]
		if !ok {
			return k, r.unknown(k)
		}
		k = typeVersion{u.ToType, u.ToVersion}
	}
	return k, fmt.Errorf("upcaster chain from %s schema %d is longer than %d steps (a cycle?)", typ, ver, maxUpcastSteps)
}

func (r *Registry) unknown(k typeVersion) error {
	if s, ok := r.specs[k.typ]; ok {
		return fmt.Errorf("%w: %s schema %d (latest is %d and no upcaster reads %d)", ErrUnknownEventType, k.typ, k.ver, s.Version, k.ver)
	}
	return fmt.Errorf("%w: %s schema %d", ErrUnknownEventType, k.typ, k.ver)
}

// Types returns the names of every registered event type, sorted.
func (r *Registry) Types() []string { return slices.Clone(r.types) }

// Lookup returns the spec of a registered event type.
func (r *Registry) Lookup(eventType string) (EventSpec, bool) {
	s, ok := r.specs[eventType]
	return s, ok
}

// Encode returns the stored name, schema version and JSON of e.
func (r *Registry) Encode(e Event) (eventType string, schemaVersion int, data []byte, err error) {
	if e == nil {
		return "", 0, nil, fmt.Errorf("encode: %w: nil event", ErrUnknownEventType)
	}
	s, ok := r.specs[e.EventType()]
	if !ok {
		return "", 0, nil, fmt.Errorf("encode %T: %w: %s", e, ErrUnknownEventType, e.EventType())
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode %s: %w", s.Type, err)
	}
	return s.Type, s.Version, data, nil
}

// Decode turns stored JSON into the latest shape of its event: it applies
// the upcaster chain from (eventType, schemaVersion) and decodes the result.
// Unknown types and versions fail with [ErrUnknownEventType].
func (r *Registry) Decode(eventType string, schemaVersion int, data []byte) (Event, error) {
	k := typeVersion{eventType, schemaVersion}
	for range maxUpcastSteps {
		if s, ok := r.specs[k.typ]; ok && s.Version == k.ver {
			e, err := s.decode(data)
			if err != nil {
				return nil, fmt.Errorf("decode %s schema %d: %w", eventType, schemaVersion, err)
			}
			return e, nil
		}
		u, ok := r.upcasters[k]
		if !ok {
			return nil, fmt.Errorf("decode: %w", r.unknown(k))
		}
		next, err := u.Up(data)
		if err != nil {
			return nil, fmt.Errorf("upcast %s schema %d: %w", k.typ, k.ver, err)
		}
		data, k = next, typeVersion{u.ToType, u.ToVersion}
	}
	return nil, fmt.Errorf("decode %s schema %d: upcaster chain too long", eventType, schemaVersion)
}
