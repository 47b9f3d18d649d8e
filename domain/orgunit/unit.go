// Package orgunit provides organisation units (unit kerja): their
// registration as a tree, the organisation predikat each unit receives per
// period (capaian kinerja organisasi, domain.md §4.3), and who heads each
// unit over time.
//
// A unit lives in the stream unit-{unit_id}. Its parent must exist when it
// is registered and never changes, and ids are unique (the registration is
// the stream's first event), so the units form a tree without cycles by
// construction. [BuildTree] rebuilds and checks the tree from a set of
// registrations, for projections.
//
// The organisation predikat of a period may be set and changed; a change
// needs a reason and records the value it replaces.
package orgunit

import (
	"slices"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Unit is the state of one organisation unit, rebuilt from its events.
type Unit struct {
	id, name, parent string
	zone             string
	registeredAt     time.Time
	revision         uint64
	predikat         map[string]rating.OrgPredikat
	history          []PredikatChange
	heads            []headEntry
}

type headEntry struct {
	nip      string
	from     calendar.Date
	backfill *bizdate.Backfill
}

// PredikatChange is one recorded organisation predikat.
type PredikatChange struct {
	// Period is the period rated.
	Period string `json:"period"`
	// Predikat is the value set.
	Predikat rating.OrgPredikat `json:"predikat"`
	// Previous is the value replaced, "" the first time.
	Previous rating.OrgPredikat `json:"previous,omitempty"`
	// Reason justifies a change.
	Reason string `json:"reason,omitempty"`
	// Capacity, SetterUnitID, BasisRef and PaperRef say who set it, how,
	// and on what document (see [PerformanceRated]).
	Capacity     Capacity `json:"capacity"`
	SetterUnitID string   `json:"setter_unit_id,omitempty"`
	BasisRef     string   `json:"basis_ref,omitempty"`
	PaperRef     string   `json:"paper_ref,omitempty"`
	// Actor set it.
	Actor domain.Actor `json:"actor"`
	// OccurredAt is business time; RecordedAt ledger time.
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Replay rebuilds a unit from its stream. It returns nil when the events
// hold no registration (a missing stream). Appliers never fail: they apply
// facts already decided.
func Replay(events []domain.Stored) *Unit {
	var u *Unit
	for _, e := range events {
		if r, ok := e.Event.(Registered); ok && u == nil {
			u = &Unit{id: r.UnitID, name: r.Name, parent: r.ParentID, registeredAt: e.Meta.OccurredAt, predikat: map[string]rating.OrgPredikat{}}
		}
		if u != nil {
			u.apply(e)
		}
	}
	return u
}

func (u *Unit) apply(e domain.Stored) {
	u.revision = e.Revision
	switch ev := e.Event.(type) {
	case PerformanceRated:
		u.predikat[ev.Period] = ev.Predikat
		u.history = append(u.history, PredikatChange{
			Period: ev.Period, Predikat: ev.Predikat, Previous: ev.Previous, Reason: ev.Reason,
			Capacity: ev.Capacity, SetterUnitID: ev.SetterUnitID, BasisRef: ev.BasisRef, PaperRef: ev.PaperRef,
			Actor: e.Meta.Actor, OccurredAt: e.Meta.OccurredAt, RecordedAt: e.RecordedAt,
		})
	case HeadAssigned:
		u.heads = append(u.heads, headEntry{nip: ev.HeadNIP, from: ev.EffectiveFrom, backfill: ev.Backfill})
	case Renamed:
		u.name = ev.Name
	case ZoneSet:
		u.zone = ev.Zone
	}
}

// ID returns the unit's identifier.
func (u *Unit) ID() string { return u.id }

// Parent returns the parent unit's identifier, "" for a root.
func (u *Unit) Parent() string { return u.parent }

// Predikat returns the organisation predikat of period (canonical text).
func (u *Unit) Predikat(period string) (rating.OrgPredikat, bool) {
	p, ok := u.predikat[period]
	return p, ok
}

// HeadOn returns the head in effect on day d: the assignment with the latest
// effective date not after d (the later-recorded one among equal dates).
func (u *Unit) HeadOn(d calendar.Date) (string, bool) {
	h, found := u.headEntryOn(d)
	return h.nip, found && h.nip != ""
}

func (u *Unit) headEntryOn(d calendar.Date) (headEntry, bool) {
	best, found := headEntry{}, false
	for _, h := range u.heads {
		if !h.from.After(d) && (!found || !h.from.Before(best.from)) {
			best, found = h, true
		}
	}
	return best, found
}

// View is a unit as the API shows it.
type View struct {
	// ID, Name and ParentID are the registration.
	ID       string `json:"id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id,omitempty"`
	// Revision is the revision of the stream's last event.
	Revision uint64 `json:"revision"`
	// Performance maps each rated period to its organisation predikat.
	Performance map[string]rating.OrgPredikat `json:"performance"`
	// History lists every predikat ever set, with superseded values.
	History []PredikatChange `json:"history"`
	// Head is the head in effect on the date the view was asked for.
	Head string `json:"head_nip,omitempty"`
	// Zone is the time zone the unit works in (WIB, WITA or WIT), "" for
	// the agency's.
	Zone string `json:"zone,omitempty"`
	// HeadBackfill is the decree of that head's assignment when HR entered
	// it effective before the day it was recorded (domain.md §10).
	HeadBackfill *bizdate.Backfill `json:"head_backfill,omitempty"`
}

// View returns the unit's state, with the head in effect on day d.
func (u *Unit) View(d calendar.Date) View {
	perf := make(map[string]rating.OrgPredikat, len(u.predikat))
	for k, v := range u.predikat {
		perf[k] = v
	}
	v := View{
		ID: u.id, Name: u.name, ParentID: u.parent, Revision: u.revision, Zone: u.zone,
		Performance: perf, History: slices.Clone(u.history),
	}
	if h, ok := u.headEntryOn(d); ok && h.nip != "" {
		v.Head, v.HeadBackfill = h.nip, h.backfill
	}
	return v
}
