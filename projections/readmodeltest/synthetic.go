package readmodeltest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Synthetic returns about n events of a year of appraisal in an agency, for
// benchmarks: 40 units under one root, employees with valid NIPs and
// reporting lines, and per employee an SKP of about 60 events (draft, three
// RHK with two indicators each, submission, establishment, per quarter six
// realisations, two pieces of evidence, feedback, a rating and its issue;
// the annual rating, a revision for one in ten, the issue, an objection
// with explanations and a decision for one in twenty). Phases run across
// every employee in turn (everyone drafts in January, realises in each
// quarter, is rated in December), so the streams interleave as they do in
// a real ledger: the worst case for caches and batching. Events carry
// their stored JSON (Data, as the event codec writes it) and their decoded
// Payload; positions are dense from 1. The facts are what the domain would
// decide, built directly (not through the services) so that a million
// events take seconds to make.
func Synthetic(n int) []projections.Event {
	g := &synth{out: make([]projections.Event, 0, n+n/10), revs: map[string]uint64{}, at: time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC)}
	emps := max(n/62, 10)
	g.ev(domain.UnitStream("ROOT"), hrAdmin, "HR_ADMIN", orgunit.Registered{UnitID: "ROOT", Name: "Pemerintah Daerah"})
	for u := range 40 {
		id := fmt.Sprintf("U%02d", u)
		g.ev(domain.UnitStream(id), hrAdmin, "HR_ADMIN", orgunit.Registered{UnitID: id, Name: "Unit " + id, ParentID: "ROOT"})
	}
	type person struct {
		nip, unit, appraiser, superior, skp string
		rhk, ind                            []string
	}
	people := make([]person, emps)
	for i := range people {
		p := &people[i]
		p.nip = fmt.Sprintf("19%02d%02d%02d2010%02d%d%03d", 70+(i/999)%25, 1+(i/999/25)%12, 1+(i/999/300)%28, 1+i%12, 1+i%2, 1+i%999)
		if _, err := nip.Parse(p.nip); err != nil {
			panic(err)
		}
		p.unit = fmt.Sprintf("U%02d", i%40)
		p.skp = skp.ID(p.nip, 2026, 1)
	}
	// Appraisers: the first 40 employees head the units and are appraised
	// by employee 0; the others are appraised by their unit's head.
	for i := range people {
		p := &people[i]
		head := i % 40
		p.appraiser, p.superior = people[head].nip, people[0].nip
		if i < 40 {
			p.appraiser, p.superior = people[0].nip, people[1].nip
			if i <= 1 {
				p.appraiser, p.superior = people[2].nip, people[3].nip
			}
		}
		kind := employee.Pelaksana
		if i < 40 {
			kind = employee.Administrator
		}
		g.ev(domain.EmployeeStream(p.nip), hrAdmin, "HR_ADMIN", employee.Registered{NIP: p.nip, ASNType: nip.PNS, Name: "Pegawai " + p.nip[:8],
			UnitID: p.unit, Position: employee.Position{Kind: kind, Title: string(kind)}})
		g.ev(domain.EmployeeStream(p.nip), hrAdmin, "HR_ADMIN", employee.ReportingLineAssigned{NIP: p.nip, AppraiserNIP: p.appraiser,
			AppraiserSuperiorNIP: p.superior, EffectiveFrom: calendar.MustNew(2026, 1, 1), Capacity: employee.Definitif})
	}
	g.advance(72 * time.Hour)
	for i := range people {
		p := &people[i]
		s := domain.SKPStream(p.skp)
		g.ev(s, p.nip, "EMPLOYEE", skp.Drafted{SKPID: p.skp, NIP: p.nip, Year: 2026, Sequence: 1, Approach: skp.Kuantitatif,
			PeriodStart: calendar.MustNew(2026, 1, 1), PeriodEnd: calendar.MustNew(2026, 12, 31),
			Employee:     skp.Snapshot{Name: "Pegawai " + p.nip[:8], UnitID: p.unit, Position: employee.Position{Kind: employee.Pelaksana, Title: "Pelaksana"}},
			AppraiserNIP: p.appraiser, AppraiserSuperiorNIP: p.superior, Cadence: period.Quarterly, PolicyVersion: "PERMENPANRB_6_2022+SE_3_2023"})
	}
	for r := range 3 {
		for i := range people {
			p := &people[i]
			id := g.id()
			p.rhk = append(p.rhk, id)
			g.ev(domain.SKPStream(p.skp), p.nip, "EMPLOYEE", skp.RHKAdded{RHKID: id, Text: fmt.Sprintf("Terlaksananya layanan %d", r), Kind: skp.Utama,
				IntervenedRHKID: "rhk-of-appraiser", IntervenedSKPID: skp.ID(p.appraiser, 2026, 1)})
			for k := range 2 {
				ind := g.id()
				p.ind = append(p.ind, ind)
				g.ev(domain.SKPStream(p.skp), p.nip, "EMPLOYEE", skp.IndicatorAdded{IndicatorID: ind, RHKID: id, Aspect: skp.Kuantitas,
					Text: fmt.Sprintf("Jumlah layanan %d", k), Target: skp.Target{Value: 100, Unit: "layanan"}})
			}
		}
	}
	for i := range people {
		g.ev(domain.SKPStream(people[i].skp), people[i].nip, "EMPLOYEE", skp.Submitted{Version: 1})
	}
	g.advance(10 * 24 * time.Hour)
	for i := range people {
		p := &people[i]
		g.ev(domain.SKPStream(p.skp), p.appraiser, "APPRAISER", skp.Established{Version: 1, Late: i%17 == 0, Deadline: calendar.MustNew(2026, 1, 31),
			AppraiserNIP: p.appraiser, AppraiserSuperiorNIP: p.superior, AppraiserSignedAt: g.at})
	}
	grade := func(i, q int) skp.Scores {
		wr := []rating.Rating{rating.MeetsExpectation, rating.AboveExpectation, rating.MeetsExpectation, rating.BelowExpectation}[(i+q)%4]
		bh := []rating.Rating{rating.MeetsExpectation, rating.AboveExpectation, rating.MeetsExpectation}[(i*7+q)%3]
		return skp.Scores{WorkResult: wr, Behaviour: bh, Predikat: rating.Derive(wr, bh)}
	}
	for q := 1; q <= 4; q++ {
		per := fmt.Sprintf("2026-Q%d", q)
		for _, k := range []int{0, 1, 2, 3, 4, 5} {
			g.advance(7 * 24 * time.Hour)
			for i := range people {
				p := &people[i]
				g.ev(domain.SKPStream(p.skp), p.nip, "EMPLOYEE", skp.RealisationRecorded{RealisationID: g.id(), Period: per, IndicatorID: p.ind[k],
					RHKID: p.rhk[k/2], SKPVersion: 1, Value: float64(10 * q), Narrative: "sesuai rencana"})
			}
		}
		for _, k := range []int{0, 3} {
			for i := range people {
				p := &people[i]
				g.ev(domain.SKPStream(p.skp), p.nip, "EMPLOYEE", skp.EvidenceAttached{EvidenceID: g.id(), IndicatorID: p.ind[k], RHKID: p.rhk[k/2],
					URI: "https://arsip.example.go.id/" + p.nip + ".pdf", SHA256: fmt.Sprintf("%064x", i), Filename: "bukti.pdf", MediaType: "application/pdf", Size: 4096})
			}
		}
		for i := range people {
			p := &people[i]
			g.ev(domain.SKPStream(p.skp), p.appraiser, "APPRAISER", skp.FeedbackGiven{FeedbackID: g.id(), Text: "pertahankan", GiverNIP: p.appraiser, Relationship: skp.FromAppraiser})
		}
		g.advance(24 * time.Hour)
		for i := range people {
			p := &people[i]
			g.ev(domain.SKPStream(p.skp), p.appraiser, "APPRAISER", skp.RatingAssigned{Period: per, Scores: grade(i, q), Rationale: "sesuai bukti", AppraiserNIP: p.appraiser, PolicyVersion: "v"})
		}
		for i := range people {
			p := &people[i]
			g.ev(domain.SKPStream(p.skp), p.appraiser, "APPRAISER", skp.EvaluationIssued{Period: per, Scores: grade(i, q), DeliveredAt: g.at, AppraiserNIP: p.appraiser, PolicyVersion: "v"})
		}
	}
	g.advance(7 * 24 * time.Hour)
	ratings := make([]string, len(people))
	for i := range people {
		p := &people[i]
		ratings[i] = g.ev(domain.SKPStream(p.skp), p.appraiser, "APPRAISER", skp.RatingAssigned{Period: "2026", Scores: grade(i, 5), Rationale: "tahunan", AppraiserNIP: p.appraiser, PolicyVersion: "v"})
	}
	final := make([]skp.Scores, len(people))
	for i := range people {
		p := &people[i]
		final[i] = grade(i, 5)
		if i%10 == 3 {
			prev := final[i]
			final[i] = grade(i, 6)
			if final[i] == prev {
				continue
			}
			g.evReason(domain.SKPStream(p.skp), p.appraiser, "APPRAISER", "bukti tambahan", skp.RatingRevised{Period: "2026", Previous: prev, Scores: final[i],
				Source: skp.SourceAppraiser, Rationale: "ditinjau", Reason: "bukti tambahan", SupersedesEventID: ratings[i], AppraiserNIP: p.appraiser, PolicyVersion: "v"})
		}
	}
	g.advance(24 * time.Hour)
	deadline := g.at.Add(14 * 24 * time.Hour)
	for i := range people {
		p := &people[i]
		g.ev(domain.SKPStream(p.skp), p.appraiser, "APPRAISER", skp.EvaluationIssued{Period: "2026", Scores: final[i], DeliveredAt: g.at,
			ObjectionDeadline: &deadline, AppraiserNIP: p.appraiser, PolicyVersion: "v"})
	}
	g.advance(3 * 24 * time.Hour)
	for i := range people {
		if i%20 != 7 {
			continue
		}
		p := &people[i]
		s, obj := domain.SKPStream(p.skp), g.id()
		g.ev(s, p.nip, "EMPLOYEE", skp.ObjectionFiled{ObjectionID: obj, Period: "2026", Reasons: "keberatan", FiledAt: g.at, AddressedTo: p.superior,
			AppraiserNIP: p.appraiser, Evaluation: final[i], Deadline: deadline})
		g.ev(s, p.superior, "APPRAISER_SUPERIOR", skp.ExplanationRequested{ObjectionID: obj, RequestID: g.id(), From: skp.PartyAppraiser})
		g.ev(s, p.superior, "APPRAISER_SUPERIOR", skp.ExplanationRequested{ObjectionID: obj, RequestID: g.id(), From: skp.PartyEmployee})
		g.ev(s, p.appraiser, "APPRAISER", skp.ExplanationSubmitted{ObjectionID: obj, By: skp.PartyAppraiser, Text: "sesuai"})
		g.ev(s, p.nip, "EMPLOYEE", skp.ExplanationSubmitted{ObjectionID: obj, By: skp.PartyEmployee, Text: "tidak sesuai"})
		g.ev(s, p.superior, "APPRAISER_SUPERIOR", skp.ObjectionDecided{ObjectionID: obj, Period: "2026", Outcome: skp.Upheld, DecisionText: "tetap",
			Previous: final[i], Result: final[i], Final: true})
	}
	return g.out
}

type synth struct {
	out  []projections.Event
	revs map[string]uint64
	at   time.Time
	n    uint64
}

func (g *synth) advance(d time.Duration) { g.at = g.at.Add(d) }

func (g *synth) id() string {
	g.n++
	return g.uuid().String()
}

func (g *synth) uuid() uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], g.n)
	u[0], u[6], u[8] = 0x5e, 0x40, 0x80
	return u
}

func (g *synth) ev(stream, actor, role string, e domain.Event) string {
	return g.evReason(stream, actor, role, "", e)
}

func (g *synth) evReason(stream, actor, role, reason string, e domain.Event) string {
	typ, ver, data, err := eventcodec.Encode(e)
	if err != nil {
		panic(err)
	}
	g.n++
	id := g.uuid()
	g.at = g.at.Add(time.Millisecond)
	rev, ok := g.revs[stream]
	if ok {
		rev++
	}
	g.revs[stream] = rev
	ev := eventstore.Event{EventData: eventstore.EventData{ID: id, Type: typ, SchemaVersion: ver, OccurredAt: g.at,
		Actor: eventstore.Actor{ID: actor, Role: role}, CorrelationID: "bench", Reason: reason, Data: data},
		Stream: stream, Revision: rev, Position: eventstore.Position(len(g.out) + 1), RecordedAt: g.at, Hash: sha256.Sum256(id[:])}
	g.out = append(g.out, projections.Event{Event: ev, Payload: e})
	return id.String()
}

// SyntheticHistory is a projections.History over events (for benchmarks
// whose events are not in a store).
type SyntheticHistory struct {
	byStream map[string][]projections.Event
}

// NewSyntheticHistory indexes events by stream.
func NewSyntheticHistory(events []projections.Event) *SyntheticHistory {
	h := &SyntheticHistory{byStream: map[string][]projections.Event{}}
	for _, ev := range events {
		h.byStream[ev.Stream] = append(h.byStream[ev.Stream], ev)
	}
	return h
}

// Stream implements projections.History.
func (h *SyntheticHistory) Stream(_ context.Context, stream string, upto uint64) ([]projections.Event, error) {
	evs := h.byStream[stream]
	if upto+1 < uint64(len(evs)) {
		evs = evs[:upto+1]
	}
	return evs, nil
}
