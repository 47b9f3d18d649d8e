// Package employee provides employees (pegawai, PNS and PPPK) and their
// effective-dated reporting lines: who appraises them (Pejabat Penilai
// Kinerja) and who is the appraiser's superior (Atasan Pejabat Penilai
// Kinerja), from which date.
//
// An employee lives in the stream employee-{nip}, keyed by the normalised
// 18-digit NIP or NI PPPK. The type (PNS/PPPK), birth date and sex are
// derived from the NIP at registration and never supplied.
//
// Reporting lines are first-class, dated facts (domain.md §7.3 #1): the
// line in effect on a day is the one with the latest effective date not
// after that day; a later date supersedes from that date on, the same date
// corrects. Every rule that asks "who is the appraiser" asks it for the date
// of the action (the event's occurred_at), so history is never rewritten by
// a new assignment. Assigning a line refuses self-appraisal, an appraiser
// who is also the superior, an employee who is their own superior, unknown
// NIPs, an appraiser below Pengawas without a recorded delegation
// (configurable), and a cycle in the appraisal chain on any day the new line
// is in effect.
package employee

import (
	"slices"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// PositionKind is the kind of a post.
type PositionKind string

// Position kinds.
const (
	JPTUtama      PositionKind = "JPT_UTAMA"
	JPTMadya      PositionKind = "JPT_MADYA"
	JPTPratama    PositionKind = "JPT_PRATAMA"
	Administrator PositionKind = "ADMINISTRATOR"
	Pengawas      PositionKind = "PENGAWAS"
	Pelaksana     PositionKind = "PELAKSANA"
	JF            PositionKind = "JF"
)

// PositionKinds lists the kinds from the highest post down.
func PositionKinds() []PositionKind {
	return []PositionKind{JPTUtama, JPTMadya, JPTPratama, Administrator, Pengawas, Pelaksana, JF}
}

// Valid reports whether k is a known kind.
func (k PositionKind) Valid() bool { return slices.Contains(PositionKinds(), k) }

// IsJPT reports whether k is a senior executive post, whose RHK derive from
// the Perjanjian Kinerja instead of a superior's RHK.
func (k PositionKind) IsJPT() bool { return k == JPTUtama || k == JPTMadya || k == JPTPratama }

// MayAppraise reports whether a holder of k may be an appraiser in their own
// post: at least Pengawas (PermenPANRB 6/2022 Art. 1 no. 9).
func (k PositionKind) MayAppraise() bool { return k.IsJPT() || k == Administrator || k == Pengawas }

// Line is a reporting line.
type Line struct {
	// Appraiser is the appraiser's NIP.
	Appraiser string `json:"appraiser_nip"`
	// Superior is the appraiser's superior's NIP.
	Superior string `json:"appraiser_superior_nip"`
	// EffectiveFrom is the first day the line holds.
	EffectiveFrom calendar.Date `json:"effective_from"`
	// Capacity is the appraiser's capacity.
	Capacity Capacity `json:"capacity"`
	// DelegationRef cites a delegation, if any.
	DelegationRef string `json:"delegation_ref,omitempty"`
	// RecordedAt is when the line was recorded.
	RecordedAt time.Time `json:"recorded_at"`
	// Actor recorded it.
	Actor domain.Actor `json:"actor"`
	// Backfill is the decree of a line entered effective before the day it
	// was recorded (domain.md §10), nil otherwise.
	Backfill *bizdate.Backfill `json:"backfill,omitempty"`
}

type posting struct {
	from     calendar.Date // zero for the registration
	position Position
	unit     string
}

// Employee is the state of one employee, rebuilt from its events.
type Employee struct {
	nip       string
	asnType   nip.ASNType
	birthDate calendar.Date
	sex       nip.Sex
	name      string
	postings  []posting
	lines     []Line
	revision  uint64
	// release is the open transfer release, nil when none (or consumed by
	// a position change).
	release *TransferReleased
}

// Replay rebuilds an employee from its stream. It returns nil when the
// events hold no registration. Appliers never fail.
func Replay(events []domain.Stored) *Employee {
	var e *Employee
	for _, s := range events {
		if r, ok := s.Event.(Registered); ok && e == nil {
			e = &Employee{nip: r.NIP, asnType: r.ASNType, birthDate: r.BirthDate, sex: r.Sex, name: r.Name,
				postings: []posting{{position: r.Position, unit: r.UnitID}}}
		}
		if e != nil {
			e.apply(s)
		}
	}
	return e
}

func (e *Employee) apply(s domain.Stored) {
	e.revision = s.Revision
	switch ev := s.Event.(type) {
	case ReportingLineAssigned:
		e.lines = append(e.lines, Line{
			Appraiser: ev.AppraiserNIP, Superior: ev.AppraiserSuperiorNIP, EffectiveFrom: ev.EffectiveFrom,
			Capacity: ev.Capacity, DelegationRef: ev.DelegationRef, RecordedAt: s.RecordedAt, Actor: s.Meta.Actor,
			Backfill: ev.Backfill,
		})
	case PositionChanged:
		e.postings = append(e.postings, posting{from: ev.EffectiveFrom, position: ev.Position, unit: ev.UnitID})
		e.release = nil
	case TransferReleased:
		r := ev
		e.release = &r
	}
}

// ReleasedTo reports whether an open transfer release names agency on
// day d (the release's last day included).
func (e *Employee) ReleasedTo(agency string, d calendar.Date) bool {
	return e.release != nil && agency != "" && e.release.ToAgency == agency && d.Compare(e.release.ExpiresOn) <= 0
}

// NIP returns the employee's normalised NIP.
func (e *Employee) NIP() string { return e.nip }

// Name returns the employee's name.
func (e *Employee) Name() string { return e.name }

// LineOn returns the reporting line in effect on day d.
func (e *Employee) LineOn(d calendar.Date) (Line, bool) {
	return lineOn(e.lines, d)
}

func lineOn(lines []Line, d calendar.Date) (Line, bool) {
	best, found := Line{}, false
	for _, l := range lines {
		if !l.EffectiveFrom.After(d) && (!found || !l.EffectiveFrom.Before(best.EffectiveFrom)) {
			best, found = l, true
		}
	}
	return best, found
}

func (e *Employee) postingOn(d calendar.Date) posting {
	best := e.postings[0]
	for _, p := range e.postings[1:] {
		if !p.from.After(d) && !p.from.Before(best.from) {
			best = p
		}
	}
	return best
}

// PositionOn returns the post held on day d (the registered post before the
// first change).
func (e *Employee) PositionOn(d calendar.Date) Position { return e.postingOn(d).position }

// UnitOn returns the unit on day d.
func (e *Employee) UnitOn(d calendar.Date) string { return e.postingOn(d).unit }

// RecordedUnit returns the unit of the posting recorded last (a transfer
// recorded ahead of its effective date names the destination's unit):
// the audit logs' idea of the employee's agency.
func (e *Employee) RecordedUnit() string { return e.postings[len(e.postings)-1].unit }

// View is an employee as the API shows it.
type View struct {
	// NIP is the normalised 18 digits.
	NIP string `json:"nip"`
	// ASNType, BirthDate and Sex are derived from the NIP.
	ASNType   nip.ASNType   `json:"asn_type"`
	BirthDate calendar.Date `json:"birth_date"`
	Sex       nip.Sex       `json:"sex"`
	// Name is the employee's name.
	Name string `json:"name"`
	// UnitID and Position are those in effect on the view's date.
	UnitID   string   `json:"unit_id"`
	Position Position `json:"position"`
	// ReportingLine is the line in effect on the view's date, if any.
	ReportingLine *Line `json:"reporting_line"`
	// ReportingLines is every line ever recorded, in recording order.
	ReportingLines []Line `json:"reporting_lines"`
	// Revision is the revision of the stream's last event.
	Revision uint64 `json:"revision"`
}

// View returns the employee as of day d.
func (e *Employee) View(d calendar.Date) View {
	p := e.postingOn(d)
	v := View{
		NIP: e.nip, ASNType: e.asnType, BirthDate: e.birthDate, Sex: e.sex, Name: e.name,
		UnitID: p.unit, Position: p.position, ReportingLines: slices.Clone(e.lines), Revision: e.revision,
	}
	if l, ok := e.LineOn(d); ok {
		v.ReportingLine = &l
	}
	return v
}
