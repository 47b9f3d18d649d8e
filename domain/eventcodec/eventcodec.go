// Package eventcodec is the one place that knows every stored event type of
// the ledger: it encodes events to their JSON contract, decodes stored JSON
// back (through the upcaster chain, to the latest shape), and lists the
// registered types for projections and golden tests.
//
// Event names are explicit and versioned ("skp.rating_assigned.v1"), never
// derived from Go type names. The JSON of every type is fixed by a golden
// file in testdata/; changing a stored field means a new schema version and
// an upcaster registered in [upcasters], never an edit of the old shape.
package eventcodec

import (
	"slices"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/consequence"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// upcasters convert older stored shapes to the current ones. Stored bytes
// are never rewritten; the chain runs on every read. To change a shape, add
// an entry here, for example
//
//	{FromType: "skp.rating_assigned.v1", FromVersion: 1,
//	 ToType: "skp.rating_assigned.v2", ToVersion: 1, Up: addPolicyVersion}
//
// and bump the version in the type's Spec; or, for a new name, rename the
// old one to it ({FromType: "x.v1", ToType: "x.v2", ToVersion: 1}), moving
// the old shape's golden file to testdata/upcast/, where a test reads it
// through the chain. See domain.Upcaster.
var upcasters = []domain.Upcaster{
	// Version 2 of a delivery and of a filing may carry the paper of a
	// backfill (domain.md §10). A version 1 event was recorded by its own
	// actor, never as a backfill: its JSON is the version 2 shape without
	// "backfill", unchanged.
	{FromType: "skp.evaluation_issued.v1", FromVersion: 1, ToType: "skp.evaluation_issued.v1", ToVersion: 2, Up: unchanged},
	// Ratings gained the identity of the 360° summary they were given
	// beside (issue 14); older ones had none.
	{FromType: "skp.rating_assigned.v1", FromVersion: 1, ToType: "skp.rating_assigned.v1", ToVersion: 2, Up: unchanged},
	{FromType: "skp.rating_revised.v1", FromVersion: 1, ToType: "skp.rating_revised.v1", ToVersion: 2, Up: unchanged},
	{FromType: "skp.objection_filed.v1", FromVersion: 1, ToType: "skp.objection_filed.v1", ToVersion: 2, Up: unchanged},
	{FromType: "skp.objection_filed_late.v1", FromVersion: 1, ToType: "skp.objection_filed_late.v1", ToVersion: 2, Up: unchanged},
	// Version 2 of an indicator may override its aspect's direction (issue
	// 11, capaian); a version 1 indicator reads by its aspect: the shape
	// without "direction", unchanged.
	{FromType: "skp.indicator_added.v1", FromVersion: 1, ToType: "skp.indicator_added.v1", ToVersion: 2, Up: unchanged},
	{FromType: "skp.indicator_changed.v1", FromVersion: 1, ToType: "skp.indicator_changed.v1", ToVersion: 2, Up: unchanged},
	// Issue 11: the organisation predikat records its setter's capacity and
	// basis; v1 entries were HR_ADMIN's, without a basis.
	{FromType: "unit.performance_rated.v1", FromVersion: 1, ToType: "unit.performance_rated.v2", ToVersion: 1, Up: orgunit.UpcastPerformanceRatedV1},
	// Issue 9 §3: version 2 of a reporting line, a post change and a unit
	// head may carry the decree of an HR backfill (an effective date before
	// the recording day). A version 1 event is the version 2 shape without
	// "backfill", unchanged: it was recorded before the rule and keeps its
	// meaning (no stored event is reinterpreted as a backfill).
	{FromType: "employee.reporting_line_assigned.v1", FromVersion: 1, ToType: "employee.reporting_line_assigned.v1", ToVersion: 2, Up: unchanged},
	{FromType: "employee.position_changed.v1", FromVersion: 1, ToType: "employee.position_changed.v1", ToVersion: 2, Up: unchanged},
	{FromType: "unit.head_assigned.v1", FromVersion: 1, ToType: "unit.head_assigned.v1", ToVersion: 2, Up: unchanged},
}

// unchanged is the upcaster of a shape that only gained an optional field
// whose absence means what the older version meant.
func unchanged(data []byte) ([]byte, error) { return data, nil }

var registry = build()

func build() *domain.Registry {
	specs := slices.Concat(
		orgunit.Events(),
		employee.Events(),
		skp.Events(),
		distribution.Events(),
		consequence.Events(),
	)
	r, err := domain.NewRegistry(specs, upcasters)
	if err != nil {
		panic(err) // a programming error, caught by every test of this package
	}
	return r
}

// Registry returns the registry of every event type.
func Registry() *domain.Registry { return registry }

// Encode returns the stored name, schema version and JSON of e.
func Encode(e domain.Event) (eventType string, schemaVersion int, data []byte, err error) {
	return registry.Encode(e)
}

// Decode returns the event stored as (eventType, schemaVersion, data), upcast
// to its latest shape. Unknown types fail with [domain.ErrUnknownEventType].
// The most frequent types are decoded without reflection when their JSON
// is as Encode writes it (fast.go), with the same result.
func Decode(eventType string, schemaVersion int, data []byte) (domain.Event, error) {
	if fast, ok := fastFor(eventType, schemaVersion); ok {
		if e, ok := fast(data); ok {
			return e, nil
		}
	}
	return registry.Decode(eventType, schemaVersion, data)
}

// Types returns the names of every registered event type, sorted.
func Types() []string { return registry.Types() }
