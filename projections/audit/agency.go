package audit

// # Agency logs (issue 15)
//
// Besides the global tree of every event, each agency (instansi: a root
// unit of the unit tree, named by that unit's ID) has its own RFC 6962
// log: its entry i is the i-th event of that agency in the global order,
// and its leaf is the same leaf hash as the event's global entry (so it
// commits to the global seq, the stream and the event's chain hash as
// well). Events that belong to no agency (officials placed in no unit,
// process and system streams, …) form the national log, the
// agency "" (NationalLog).
//
// The agency of an event is derived from the log alone, in order, by
// AgencyOfEvent:
//
//   - a unit stream's event belongs to the unit's root (units are never
//     re-parented, so the root of a unit never changes);
//   - an employee stream's event belongs to the agency of the employee's
//     unit after the event: employee.registered.v1 and
//     employee.position_changed.v1 set it, so a cross-agency transfer's
//     event is the destination agency's (its previous_unit_id names the
//     source agency's unit, which the destination's auditor then sees: the
//     transfer is a fact of both, recorded once, and the destination is the
//     agency the employee now answers to);
//   - an SKP stream's event belongs to the agency of the unit in the SKP's
//     drafted snapshot (skp.drafted.v1 employee.unit_id), for the SKP's
//     whole life: an SKP stays with the agency it was drafted in even when
//     its employee moves;
//   - a distribution stream's event (distribution.deviation_justified.v1)
//     and an official's (official.registered.v1) belong to the agency of
//     the unit their payload names (unit_id); without one, the national
//     log;
//   - every other stream belongs to the national log.
//
// The derivation keeps three small maps (unit → root, employee → agency,
// SKP → agency) in the projection's state, rebuilt from the log.

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// NationalLog is the agency of the events that belong to no agency.
const NationalLog = ""

// KeyKind is the kind of a derivation key.
type KeyKind byte

// Derivation key kinds.
const (
	// KeyUnit maps a unit ID to its root unit (its agency).
	KeyUnit KeyKind = 'u'
	// KeyEmployee maps a NIP to the agency of the employee's unit.
	KeyEmployee KeyKind = 'e'
	// KeySKP maps an SKP ID to the agency it was drafted in.
	KeySKP KeyKind = 's'
)

// AgencyKey is a key of the derivation state.
type AgencyKey struct {
	Kind KeyKind `json:"kind"`
	ID   string  `json:"id"`
}

// AgencyUpdate is a change of the derivation state an event makes.
type AgencyUpdate struct {
	Key    AgencyKey `json:"key"`
	Agency string    `json:"agency"`
}

// AgencyLookup reads the derivation state.
type AgencyLookup func(ctx context.Context, k AgencyKey) (agency string, ok bool, err error)

// The event types whose payload the derivation reads.
const (
	typeUnitRegistered          = "unit.registered.v1"
	typeEmployeeRegistered      = "employee.registered.v1"
	typeEmployeePositionChanged = "employee.position_changed.v1"
	typeSKPDrafted              = "skp.drafted.v1"
)

// AgencyOfEvent returns the agency ev belongs to and the derivation-state
// changes it makes (see the section on agency logs). Only the unit
// placement of unit.registered, employee.registered,
// employee.position_changed and skp.drafted is decoded. A payload that
// cannot be read, or a unit never registered, yields the national log: the
// event is still in a log, and the verifier derives the same.
func AgencyOfEvent(ctx context.Context, lookup AgencyLookup, ev eventstore.Event) (string, []AgencyUpdate, error) {
	rootOf := func(unit string) (string, error) {
		if unit == "" {
			return NationalLog, nil
		}
		a, ok, err := lookup(ctx, AgencyKey{KeyUnit, unit})
		if err != nil || !ok {
			return NationalLog, err
		}
		return a, nil
	}
	switch {
	case strings.HasPrefix(ev.Stream, domain.UnitStreamPrefix):
		id := strings.TrimPrefix(ev.Stream, domain.UnitStreamPrefix)
		if ev.Type == typeUnitRegistered {
			var d struct {
				ParentID string `json:"parent_id"`
			}
			if json.Unmarshal(ev.Data, &d) != nil {
				return NationalLog, nil, nil
			}
			root := id
			if d.ParentID != "" {
				r, err := rootOf(d.ParentID)
				if err != nil {
					return "", nil, err
				}
				root = r
			}
			if root == NationalLog {
				return NationalLog, nil, nil
			}
			return root, []AgencyUpdate{{AgencyKey{KeyUnit, id}, root}}, nil
		}
		a, err := rootOf(id)
		return a, nil, err
	case strings.HasPrefix(ev.Stream, domain.EmployeeStreamPrefix):
		nip := strings.TrimPrefix(ev.Stream, domain.EmployeeStreamPrefix)
		if ev.Type == typeEmployeeRegistered || ev.Type == typeEmployeePositionChanged {
			var d struct {
				UnitID string `json:"unit_id"`
			}
			if json.Unmarshal(ev.Data, &d) == nil {
				a, err := rootOf(d.UnitID)
				if err != nil {
					return "", nil, err
				}
				return a, []AgencyUpdate{{AgencyKey{KeyEmployee, nip}, a}}, nil
			}
		}
		a, _, err := lookup(ctx, AgencyKey{KeyEmployee, nip})
		return a, nil, err
	case strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix):
		id := strings.TrimPrefix(ev.Stream, domain.SKPStreamPrefix)
		if ev.Type == typeSKPDrafted {
			var d struct {
				Employee struct {
					UnitID string `json:"unit_id"`
				} `json:"employee"`
			}
			if json.Unmarshal(ev.Data, &d) == nil {
				a, err := rootOf(d.Employee.UnitID)
				if err != nil {
					return "", nil, err
				}
				return a, []AgencyUpdate{{AgencyKey{KeySKP, id}, a}}, nil
			}
		}
		a, _, err := lookup(ctx, AgencyKey{KeySKP, id})
		return a, nil, err
	case unitFact(ev.Stream):
		a, err := rootOf(payloadUnit(ev))
		return a, nil, err
	}
	return NationalLog, nil, nil
}

// officialStreamPrefix begins the stream of an official without a NIP
// (employee.OfficialStream; audit does not import the domain packages).
const officialStreamPrefix = "official-"

// unitFact reports whether stream's events are facts of the unit their
// payload names (unit_id): a distribution justification, an official
// placed in a unit.
func unitFact(stream string) bool {
	return strings.HasPrefix(stream, domain.DistributionStreamPrefix) || strings.HasPrefix(stream, officialStreamPrefix)
}

// payloadUnit returns the payload's unit_id ("" when it has none or cannot
// be read: the national log).
func payloadUnit(ev eventstore.Event) string {
	var d struct {
		UnitID string `json:"unit_id"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return d.UnitID
}

// AgencyEntry is one entry of an agency's log.
type AgencyEntry struct {
	// Agency is the log; Index the entry's number in it (its leaf index).
	Agency string `json:"agency"`
	Index  uint64 `json:"index"`
	// Seq is the event's global entry, and Position its store position.
	Seq      uint64              `json:"seq"`
	Position eventstore.Position `json:"position"`
	// LeafHash is the global entry's leaf hash.
	LeafHash merkle.Hash `json:"leaf_hash"`
}

// AgencyStore is the part of Store that keeps the agency logs and the
// derivation state.
type AgencyStore interface {
	// AgencyOf reads the derivation state; SetAgencyOf changes it (pos is
	// the event that changed it).
	AgencyOf(ctx context.Context, k AgencyKey) (string, bool, error)
	SetAgencyOf(ctx context.Context, k AgencyKey, agency string, pos eventstore.Position) error
	// AgencySize and AgencyFrontier are an agency log's size and frontier.
	// As with Store.Frontier, the frontier may be the store's own slice:
	// the caller must treat it as read-only.
	AgencySize(ctx context.Context, agency string) (uint64, error)
	AgencyFrontier(ctx context.Context, agency string) ([]merkle.Hash, error)
	// AppendAgency stores an agency entry (its Index is the log's current
	// size), the nodes it completed and the new frontier. As with
	// Store.Append, the store may keep the frontier slice as given: the
	// caller must not modify it afterwards.
	AppendAgency(ctx context.Context, e AgencyEntry, nodes []merkle.Node, frontier []merkle.Hash) error
}

// AgencyHead is an agency log's size.
type AgencyHead struct {
	Agency string `json:"agency"`
	Size   uint64 `json:"size"`
}

// AgencyReader is the query side of the agency logs.
type AgencyReader interface {
	// Agencies lists every log (the national one too, when it has
	// entries) with its size, ordered by agency.
	Agencies(ctx context.Context) ([]AgencyHead, error)
	// AgencySize is one log's size (0 for an unknown agency).
	AgencySize(ctx context.Context, agency string) (uint64, error)
	// AgencyNodes reads one log's tree.
	AgencyNodes(agency string) merkle.NodeReader
	// AgencyEntries lists a log's entries with Index in [from, to), at
	// most limit (MaxLimit when ≤ 0 or larger).
	AgencyEntries(ctx context.Context, agency string, from, to uint64, limit int) ([]AgencyEntry, error)
	// AgencyOfSeq returns the agency entry of global entry seq.
	AgencyOfSeq(ctx context.Context, seq uint64) (AgencyEntry, bool, error)
	// LatestAgencyCheckpoint returns an agency's newest signed checkpoint.
	LatestAgencyCheckpoint(ctx context.Context, agency string) (AgencyCheckpoint, bool, error)
	// AgencyCheckpoints returns every signed checkpoint of an agency,
	// oldest first.
	AgencyCheckpoints(ctx context.Context, agency string) ([]AgencyCheckpoint, error)
}

// applyAgency appends ev's entry e to its agency's log.
func applyAgency(ctx context.Context, s Store, ev eventstore.Event, e Entry) error {
	agency, updates, err := AgencyOfEvent(ctx, s.AgencyOf, ev)
	if err != nil {
		return err
	}
	for _, u := range updates {
		if err := s.SetAgencyOf(ctx, u.Key, u.Agency, ev.Position); err != nil {
			return err
		}
	}
	size, err := s.AgencySize(ctx, agency)
	if err != nil {
		return err
	}
	frontier, err := s.AgencyFrontier(ctx, agency)
	if err != nil {
		return err
	}
	t, err := merkle.NewTreeFromFrontier(size, frontier)
	if err != nil {
		return err
	}
	nodes := t.Append(e.LeafHash)
	return s.AppendAgency(ctx, AgencyEntry{Agency: agency, Index: size, Seq: e.Seq, Position: e.Position, LeafHash: e.LeafHash}, nodes, t.Frontier())
}

// KeysRead returns the derivation keys AgencyOfEvent may read for ev, so
// that a store can load them at once for a batch of events.
func KeysRead(ev eventstore.Event) []AgencyKey {
	unitOf := func(field func() string) []AgencyKey {
		if u := field(); u != "" {
			return []AgencyKey{{KeyUnit, u}}
		}
		return nil
	}
	switch {
	case strings.HasPrefix(ev.Stream, domain.UnitStreamPrefix):
		ks := []AgencyKey{{KeyUnit, strings.TrimPrefix(ev.Stream, domain.UnitStreamPrefix)}}
		if ev.Type == typeUnitRegistered {
			ks = append(ks, unitOf(func() string {
				var d struct {
					ParentID string `json:"parent_id"`
				}
				_ = json.Unmarshal(ev.Data, &d)
				return d.ParentID
			})...)
		}
		return ks
	case strings.HasPrefix(ev.Stream, domain.EmployeeStreamPrefix):
		ks := []AgencyKey{{KeyEmployee, strings.TrimPrefix(ev.Stream, domain.EmployeeStreamPrefix)}}
		if ev.Type == typeEmployeeRegistered || ev.Type == typeEmployeePositionChanged {
			ks = append(ks, unitOf(func() string {
				var d struct {
					UnitID string `json:"unit_id"`
				}
				_ = json.Unmarshal(ev.Data, &d)
				return d.UnitID
			})...)
		}
		return ks
	case strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix):
		ks := []AgencyKey{{KeySKP, strings.TrimPrefix(ev.Stream, domain.SKPStreamPrefix)}}
		if ev.Type == typeSKPDrafted {
			ks = append(ks, unitOf(func() string {
				var d struct {
					Employee struct {
						UnitID string `json:"unit_id"`
					} `json:"employee"`
				}
				_ = json.Unmarshal(ev.Data, &d)
				return d.Employee.UnitID
			})...)
		}
		return ks
	case unitFact(ev.Stream):
		return unitOf(func() string { return payloadUnit(ev) })
	}
	return nil
}
