package readmodeltest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// The cast of the journey. Units:
//
//	PEMKOT (head S)
//	├── BAPPEDA
//	├── DINKES
//	│   ├── PUSKESMAS1 (head B)
//	│   └── PUSKESMAS2
//	└── DISDIK (head H)
//	    └── SD1
//
// Reporting lines (appraiser / superior): S: U/W; A, H, X: S/U; B, E*, Q*:
// A/S; P*: B/A; D*: H/S.
var (
	nipU = "196001011985031001" // JPT_UTAMA, PEMKOT, no SKP
	nipW = "196102021986032002" // JPT_UTAMA, PEMKOT, no SKP
	nipS = "197003031995031003" // JPT_MADYA, PEMKOT
	nipA = "197504042000032004" // JPT_PRATAMA, DINKES
	nipH = "197805052003031005" // ADMINISTRATOR, DISDIK
	nipB = "198006062005032006" // PENGAWAS, PUSKESMAS1
	nipX = "198507072010031007" // PELAKSANA, BAPPEDA: no SKP (missing)

	nipE = [4]string{ // PELAKSANA, DINKES
		"199001012015031011", // E1: late, amended to version 2
		"199002022015032012", // E2: cancelled, then a second SKP in DRAFT
		"199003032015031013", // E3: DRAFT
		"199004042015032014", // E4: returned, SUBMITTED again
	}
	nipP = [2]string{ // PELAKSANA, PUSKESMAS1
		"199105052016031015", // P1: quarters, annual, objection decided CHANGED
		"199106062016032016", // P2: revision with reason, objection withdrawn
	}
	nipQ = [2]string{ // PELAKSANA, PUSKESMAS2
		"199207072017031017", // Q1: objection open (overdue)
		"199208082017032018", // Q2: no SKP (missing)
	}
	// D1..D6 in DISDIK, D7..D10 in SD1 (JF): eight BAIK, two SANGAT_BAIK.
	nipD = func() (out [10]string) {
		for i := range out {
			out[i] = fmt.Sprintf("1993%02d%02d2018%02d%d0%02d", i+1, i+10, i+1, 1+i%2, 20+i)
		}
		return out
	}()
)

const hrAdmin = "hr-admin"

var (
	wib      = policy.WIB
	jan1     = calendar.MustNew(2026, 1, 1)
	start    = time.Date(2026, 1, 5, 9, 0, 0, 0, wib)
	registry = time.Date(2026, 1, 2, 8, 0, 0, 0, wib)
)

// Journey is what the journey recorded, for the assertions.
type Journey struct {
	Store eventstore.Store
	Clock *domaintest.Clock
	// SKP ids by holder.
	SKP map[string]string
	// E2Cancelled is E2's first (cancelled) SKP; SKP[E2] is the second.
	E2Cancelled string
	// Objection ids: P1's (decided), P2's (withdrawn), Q1's (open, filed
	// first) and D1's (open, filed last).
	ObjP1, ObjP2, ObjQ1, ObjD1 string
	// FiledQ1 and FiledD1 are the filing instants of the open objections.
	FiledQ1, FiledD1 time.Time
	// Key signs the audit checkpoints.
	Key *merkle.Signer
}

type journey struct {
	tb    testing.TB
	ctx   context.Context
	clock *domaintest.Clock
	units *orgunit.Service
	emps  *employee.Service
	skps  *skp.Service
	dist  *distribution.Service
	j     *Journey
}

func (g *journey) req(caller string, roles ...domain.Role) domain.Request {
	return domain.Request{Caller: domain.Principal{ID: caller, Roles: roles}, CorrelationID: "journey", OccurredAt: g.clock.Now()}
}

func (g *journey) hr() domain.Request { return g.req(hrAdmin, domain.RoleHRAdmin) }

func (g *journey) ok(_ domain.Committed, err error) {
	g.tb.Helper()
	if err != nil {
		g.tb.Fatalf("journey: %v", err)
	}
}

func (g *journey) at(t time.Time) { g.clock.Set(t) }

// establish drafts, plans, submits and establishes the SKP of who, linked
// to the appraiser's RHK (or citing the Perjanjian Kinerja for JPT posts),
// and returns its id and its RHK.
func (g *journey) establish(who, appraiser, link string, pk bool) (id, rhk string) {
	g.tb.Helper()
	id = g.draft(who, who)
	rhk = g.plan(who, id, link, pk)
	g.ok(g.skps.Submit(g.ctx, g.req(who), skp.Submit{SKPID: id}))
	g.ok(g.skps.Establish(g.ctx, g.req(appraiser), skp.Establish{SKPID: id}))
	return id, rhk
}

func (g *journey) draft(caller, who string, roles ...domain.Role) string {
	g.tb.Helper()
	id, _, err := g.skps.Draft(g.ctx, g.req(caller, roles...), skp.Draft{NIP: who, Year: 2026, Approach: "KUANTITATIF"})
	if err != nil {
		g.tb.Fatalf("journey: draft for %s: %v", who, err)
	}
	return id
}

func (g *journey) plan(who, id, link string, pk bool) string {
	g.tb.Helper()
	f := skp.RHKFields{Text: "Terlaksananya layanan " + who[:4], Kind: "UTAMA", IntervenedRHKID: link}
	if pk {
		f = skp.RHKFields{Text: "Meningkatnya kinerja organisasi", Kind: "UTAMA", PKRef: "PK-2026-" + who[:6]}
	}
	rhk, _, err := g.skps.AddRHK(g.ctx, g.req(who), skp.AddRHK{SKPID: id, RHKFields: f})
	if err != nil {
		g.tb.Fatalf("journey: add RHK to %s: %v", id, err)
	}
	if _, _, err := g.skps.AddIndicator(g.ctx, g.req(who), skp.AddIndicator{SKPID: id, RHKID: rhk, IndicatorFields: skp.IndicatorFields{
		Aspect: "KUANTITAS", Text: "Jumlah layanan", Target: skp.Target{Value: 100, Unit: "layanan"}}}); err != nil {
		g.tb.Fatalf("journey: add indicator to %s: %v", id, err)
	}
	return rhk
}

func (g *journey) rate(appraiser, id, period, wr, bh, reason string) {
	g.tb.Helper()
	g.rateWith(appraiser, id, period, wr, bh, reason, "sesuai bukti dukung")
}

func (g *journey) rateWith(appraiser, id, period, wr, bh, reason, rationale string) {
	g.tb.Helper()
	g.ok(g.skps.Rate(g.ctx, g.req(appraiser), skp.Rate{SKPID: id, Period: period, WorkResult: wr, Behaviour: bh, Rationale: rationale, Reason: reason}))
}

// HostileText is a string no PostgreSQL text column can hold as it is
// (NUL, the read models' escape character U+FFFF followed by what an
// escape looks like, bytes that are not UTF-8) among other control
// characters. The API and the event log refuse such text now (issue 9),
// but events already in a store carry it: older versions let it through.
// The journey writes it with markers (hostileMarked) that LegacyStore
// turns into these bytes, and both read-model backends must store them and
// answer identically. (JSON decoding turns each byte that is not UTF-8
// into U+FFFD, in both.)
const HostileText = "Puskesmas\x00Dua\x01\t\x1b[31m\u2028\uffff0\uffff\uffffx41 \xff\xfe\\u0000"

// hostileMarked is HostileText as the journey writes it.
const hostileMarked = "Puskesmas" + markNUL + "Dua" + markSOH + "\t" + markESC + "[31m\u2028\uffff0\uffff\uffffx41 " + markFF + markFE + "\\u0000"

// The markers LegacyStore replaces, and what with (in the JSON data).
const (
	markNUL = "{{NUL}}"
	markSOH = "{{SOH}}"
	markESC = "{{ESC}}"
	markFF  = "{{xFF}}"
	markFE  = "{{xFE}}"
)

var legacyBytes = strings.NewReplacer(markNUL, `\u0000`, markSOH, `\u0001`, markESC, `\u001b`, markFF, "\xff", markFE, "\xfe")

// LegacyStore wraps the store a journey writes to (StoreFunc: build the
// event log over it) so that the journey can write what older versions
// of the API let into stores: in the data of every event appended, the
// journey's markers become NUL, control characters and bytes that are not
// UTF-8. The hash chain covers the bytes stored, as it did then.
func LegacyStore(s eventstore.Store) eventstore.Store { return legacyStore{s} }

type legacyStore struct{ eventstore.Store }

func (s legacyStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	out := make([]eventstore.EventData, len(events))
	for i, e := range events {
		if bytes.Contains(e.Data, []byte("{{")) {
			e.Data = []byte(legacyBytes.Replace(string(e.Data)))
		}
		out[i] = e
	}
	return s.Store.Append(ctx, stream, expected, out...)
}

func (g *journey) issue(appraiser, id, period string) {
	g.tb.Helper()
	g.ok(g.skps.Issue(g.ctx, g.req(appraiser), skp.Issue{SKPID: id, Period: period}))
}

func (g *journey) object(who, id string) string {
	g.tb.Helper()
	oid, _, err := g.skps.FileObjection(g.ctx, g.req(who), skp.FileObjection{SKPID: id, Period: "2026", Reasons: "bukti dukung belum dipertimbangkan"})
	if err != nil {
		g.tb.Fatalf("journey: objection on %s: %v", id, err)
	}
	return oid
}

const (
	above = "DI_ATAS_EKSPEKTASI"
	meets = "SESUAI_EKSPEKTASI"
	below = "DI_BAWAH_EKSPEKTASI"
)

// testKey is a fixed Ed25519 key, so that signed checkpoints are the same
// on every run and backend.
func testKey(tb testing.TB) *merkle.Signer {
	tb.Helper()
	skey, _, err := merkle.GenerateKey("kinerja-readmodeltest", bytes.NewReader(bytes.Repeat([]byte{42}, 64)))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := merkle.ParseSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// runJourney drives the domain services through a year of appraisal. Every
// identifier and time comes from the fixed clock and ID generator, so the
// events (and their hashes) are the same on every run.
func runJourney(tb testing.TB, open StoreFunc) *Journey {
	tb.Helper()
	clock := domaintest.NewClock(registry)
	store, log := open(tb, clock.Now)
	ids := &domaintest.IDs{}
	h := &domain.Handler{Log: log, Now: clock.Now, NewID: ids.New}
	pol := policy.Default()
	g := &journey{tb: tb, ctx: context.Background(), clock: clock,
		units: &orgunit.Service{Handler: h, Policy: pol}, emps: &employee.Service{Handler: h, Policy: pol},
		skps: &skp.Service{Handler: h, Policy: pol}, dist: &distribution.Service{Handler: h, Policy: pol, Pattern: distribution.SE3_2023},
		j: &Journey{Store: store, Clock: clock, SKP: map[string]string{}, Key: testKey(tb)}}

	// Master data.
	for _, u := range []orgunit.Register{
		{ID: "PEMKOT", Name: "Pemerintah Kota"},
		{ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"},
		{ID: "BAPPEDA", Name: "Bappeda", ParentID: "PEMKOT"},
		{ID: "DISDIK", Name: "Dinas Pendidikan", ParentID: "PEMKOT"},
		{ID: "PUSKESMAS2", Name: hostileMarked, ParentID: "DINKES"},
		{ID: "PUSKESMAS1", Name: "Puskesmas Satu", ParentID: "DINKES"},
		{ID: "SD1", Name: "SD Negeri 1", ParentID: "DISDIK"},
	} {
		g.ok(g.units.Register(g.ctx, g.hr(), u))
	}
	type reg struct {
		nip, unit string
		kind      employee.PositionKind
	}
	regs := []reg{{nipU, "PEMKOT", employee.JPTUtama}, {nipW, "PEMKOT", employee.JPTUtama}, {nipS, "PEMKOT", employee.JPTMadya},
		{nipA, "DINKES", employee.JPTPratama}, {nipH, "DISDIK", employee.Administrator}, {nipB, "PUSKESMAS1", employee.Pengawas},
		{nipX, "BAPPEDA", employee.Pelaksana}}
	for _, n := range nipE {
		regs = append(regs, reg{n, "DINKES", employee.Pelaksana})
	}
	for _, n := range nipP {
		regs = append(regs, reg{n, "PUSKESMAS1", employee.Pelaksana})
	}
	for _, n := range nipQ {
		regs = append(regs, reg{n, "PUSKESMAS2", employee.Pelaksana})
	}
	for i, n := range nipD {
		u := "DISDIK"
		if i >= 6 {
			u = "SD1"
		}
		regs = append(regs, reg{n, u, employee.JF})
	}
	for _, r := range regs {
		name, title := "Pegawai "+r.nip[:8]+r.nip[15:], string(r.kind)+" "+r.unit
		if r.nip == nipP[1] {
			// Copied into the SKP's events, which the event log checks
			// today: what it lets through, but PostgreSQL text must escape.
			name, title = "Pegawai\uffff0"+r.nip[15:]+"\x7f", title+" \uffff\uffffx41"
		}
		g.ok(g.emps.Register(g.ctx, g.hr(), employee.Register{NIP: r.nip, Name: name, UnitID: r.unit,
			Position: employee.Position{Kind: r.kind, Title: title}}))
	}
	line := func(emp, appr, sup string, from calendar.Date) {
		tb.Helper()
		g.ok(g.emps.AssignReportingLine(g.ctx, domaintest.MasterData(g.hr(), from), employee.AssignReportingLine{NIP: emp, AppraiserNIP: appr, SuperiorNIP: sup, EffectiveFrom: from}))
	}
	line(nipS, nipU, nipW, jan1)
	line(nipA, nipS, nipU, jan1)
	line(nipH, nipS, nipU, jan1)
	line(nipX, nipS, nipU, jan1)
	line(nipB, nipA, nipS, jan1)
	for _, n := range append(nipE[:], nipQ[:]...) {
		line(n, nipA, nipS, jan1)
	}
	for _, n := range nipP {
		line(n, nipB, nipA, jan1)
	}
	for _, n := range nipD {
		line(n, nipH, nipS, jan1)
	}
	// A line recorded later but effective earlier does not replace the one
	// in effect (the directory keeps the latest effective date).
	line(nipE[2], nipB, nipA, calendar.MustNew(2025, 12, 1))
	for _, h := range []orgunit.AssignHead{{UnitID: "PEMKOT", HeadNIP: nipS, EffectiveFrom: jan1}, {UnitID: "DISDIK", HeadNIP: nipH, EffectiveFrom: jan1},
		{UnitID: "PUSKESMAS1", HeadNIP: nipB, EffectiveFrom: jan1}} {
		g.ok(g.units.AssignHead(g.ctx, domaintest.MasterData(g.hr(), h.EffectiveFrom), h))
	}
	g.ok(g.units.RatePerformance(g.ctx, g.hr(), orgunit.RatePerformance{UnitID: "DISDIK", Period: "2026", Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"}))
	g.ok(g.units.RatePerformance(g.ctx, g.hr(), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"}))
	g.ok(g.units.RatePerformance(g.ctx, g.req(hrAdmin, domain.RoleHRAdmin), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BUTUH_PERBAIKAN", Reason: "koreksi hasil evaluasi", PaperRef: "BA-PREDIKAT-2026"}))

	// Plans, top down (each UTAMA RHK links to the appraiser's RHK).
	g.at(start)
	j := g.j
	var rhkS, rhkA, rhkH, rhkB string
	j.SKP[nipS], rhkS = g.establish(nipS, nipU, "", true)
	j.SKP[nipA], rhkA = g.establish(nipA, nipS, "", true)
	j.SKP[nipH], rhkH = g.establish(nipH, nipS, rhkS, false)
	j.SKP[nipB], rhkB = g.establish(nipB, nipA, rhkA, false)
	_ = rhkH

	// E1: submitted in January, established late, amended to version 2.
	j.SKP[nipE[0]] = g.draft(nipE[0], nipE[0])
	g.plan(nipE[0], j.SKP[nipE[0]], rhkA, false)
	g.ok(g.skps.Submit(g.ctx, g.req(nipE[0]), skp.Submit{SKPID: j.SKP[nipE[0]]}))
	// E2: drafted by HR on the employee's behalf, cancelled, drafted again.
	j.E2Cancelled = g.draft(hrAdmin, nipE[1], domain.RoleHRAdmin)
	g.ok(g.skps.Cancel(g.ctx, g.req(hrAdmin, domain.RoleHRAdmin), skp.Cancel{SKPID: j.E2Cancelled, Reason: "salah tahun"}))
	j.SKP[nipE[1]] = g.draft(nipE[1], nipE[1])
	// E3: a draft.
	j.SKP[nipE[2]] = g.draft(nipE[2], nipE[2])
	// E4: submitted, returned, submitted again.
	j.SKP[nipE[3]] = g.draft(nipE[3], nipE[3])
	g.plan(nipE[3], j.SKP[nipE[3]], rhkA, false)
	g.ok(g.skps.Submit(g.ctx, g.req(nipE[3]), skp.Submit{SKPID: j.SKP[nipE[3]]}))
	g.ok(g.skps.Return(g.ctx, g.req(nipA), skp.Return{SKPID: j.SKP[nipE[3]], Reason: "indikator belum terukur"}))
	g.ok(g.skps.Submit(g.ctx, g.req(nipE[3]), skp.Submit{SKPID: j.SKP[nipE[3]]}))
	// P1, P2, Q1 and the ten of DISDIK: established on time.
	for _, n := range nipP {
		j.SKP[n], _ = g.establish(n, nipB, rhkB, false)
	}
	j.SKP[nipQ[0]], _ = g.establish(nipQ[0], nipA, rhkA, false)
	for _, n := range nipD {
		j.SKP[n], _ = g.establish(n, nipH, rhkH, false)
	}

	// February: E1 established late, then amended.
	g.at(time.Date(2026, 2, 10, 10, 0, 0, 0, wib))
	g.ok(g.skps.Establish(g.ctx, g.req(nipA), skp.Establish{SKPID: j.SKP[nipE[0]]}))
	g.ok(g.skps.Amend(g.ctx, g.req(nipA), skp.Amend{SKPID: j.SKP[nipE[0]], Reason: "penyesuaian target"}))
	g.ok(g.skps.AcknowledgePlan(g.ctx, g.req(nipE[0]), skp.AcknowledgePlan{SKPID: j.SKP[nipE[0]]})) // the employee signs too
	g.ok(g.skps.Establish(g.ctx, g.req(nipA), skp.Establish{SKPID: j.SKP[nipE[0]]}))
	// A new line for E1 from July.
	line(nipE[0], nipB, nipA, calendar.MustNew(2026, 7, 1))

	// The year: P1's realisations, evidence, feedback and quarterly ratings.
	p1 := j.SKP[nipP[0]]
	v, _, err := g.skps.Load(g.ctx, p1)
	if err != nil || v == nil {
		tb.Fatalf("journey: load %s: %v", p1, err)
	}
	view := v.View(g.clock.Now())
	ind := view.Versions[0].RHK[0].Indicators[0].ID
	for q := 1; q <= 4; q++ {
		day := 28
		if q == 4 {
			day = 10
		}
		g.at(time.Date(2026, time.Month(3*q), day, 10, 0, 0, 0, wib))
		per := fmt.Sprintf("2026-Q%d", q)
		g.ok2(g.skps.RecordRealisation(g.ctx, g.req(nipP[0]), skp.RecordRealisation{SKPID: p1, Period: per, IndicatorID: ind, Value: float64(20 * q)}))
		// A period is rated only after it ends: on the second day of the
		// next quarter (Q4: 2 January, before the annual ratings).
		g.at(time.Date(2026, time.Month(3*q+1), 2, 10, 0, 0, 0, wib))
		g.rate(nipB, p1, per, meets, meets, "")
		g.issue(nipB, p1, per)
	}
	g.ok2(g.skps.AttachEvidence(g.ctx, g.req(nipP[0]), skp.AttachEvidence{SKPID: p1, IndicatorID: ind, URI: "https://arsip.example.go.id/p1.pdf",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Filename: "p1.pdf", MediaType: "application/pdf", Size: 2048}))
	g.ok2(g.skps.GiveFeedback(g.ctx, g.req(nipB), skp.GiveFeedback{SKPID: p1, Text: "pertahankan"}))
	g.ok2(g.skps.GiveFeedback(g.ctx, g.req(nipP[1]), skp.GiveFeedback{SKPID: p1, Text: "kerja sama baik"}))

	// January: annual ratings, once the year has ended (the dates of this
	// section are three weeks after the December ones they replace).
	g.at(time.Date(2027, 1, 5, 10, 0, 0, 0, wib))
	g.rate(nipB, p1, "2026", meets, meets, "")
	g.rateWith(nipB, j.SKP[nipP[1]], "2026", below, meets, "", "rationale "+markNUL+" with NUL and "+hostileMarked)
	g.rate(nipB, j.SKP[nipP[1]], "2026", meets, meets, "bukti dukung tambahan diterima")
	g.rate(nipA, j.SKP[nipQ[0]], "2026", meets, below, "")
	for i, n := range nipD {
		wr, bh := meets, meets
		if i >= 8 {
			wr, bh = above, above
		}
		g.rate(nipH, j.SKP[n], "2026", wr, bh, "")
	}
	g.at(time.Date(2027, 1, 6, 10, 0, 0, 0, wib))
	g.issue(nipB, p1, "2026")
	g.issue(nipB, j.SKP[nipP[1]], "2026")
	g.issue(nipA, j.SKP[nipQ[0]], "2026")
	g.at(time.Date(2027, 1, 8, 10, 0, 0, 0, wib))
	g.issue(nipH, j.SKP[nipD[0]], "2026")

	// The unit leader (head of PEMKOT) justifies DISDIK's distribution.
	g.ok(g.dist.Justify(g.ctx, g.req(nipS), distribution.Justify{UnitID: "DISDIK", Period: "2026",
		Counts: distribution.Counts{rating.Baik: 8, rating.SangatBaik: 2}, Justification: "capaian unit di atas target"}))

	// Objections.
	g.at(time.Date(2027, 1, 10, 9, 0, 0, 0, wib))
	j.FiledQ1 = g.clock.Now()
	j.ObjQ1 = g.object(nipQ[0], j.SKP[nipQ[0]])
	j.ObjP1 = g.object(nipP[0], p1)
	j.ObjP2 = g.object(nipP[1], j.SKP[nipP[1]])
	g.at(time.Date(2027, 1, 11, 9, 0, 0, 0, wib))
	for _, from := range []string{"APPRAISER", "EMPLOYEE"} {
		if _, _, err := g.skps.RequestExplanation(g.ctx, g.req(nipA), skp.RequestExplanation{SKPID: p1, Period: "2026", From: from}); err != nil {
			tb.Fatalf("journey: request explanation: %v", err)
		}
	}
	g.ok(g.skps.WithdrawObjection(g.ctx, g.req(nipP[1]), skp.WithdrawObjection{SKPID: j.SKP[nipP[1]], Period: "2026", Reason: "sudah dijelaskan"}))
	g.at(time.Date(2027, 1, 12, 9, 0, 0, 0, wib))
	g.ok(g.skps.SubmitExplanation(g.ctx, g.req(nipB), skp.SubmitExplanation{SKPID: p1, Period: "2026", Text: "penilaian sesuai bukti"}))
	g.ok(g.skps.SubmitExplanation(g.ctx, g.req(nipP[0]), skp.SubmitExplanation{SKPID: p1, Period: "2026", Text: "bukti triwulan IV belum dinilai"}))
	g.at(time.Date(2027, 1, 18, 9, 0, 0, 0, wib))
	g.ok(g.skps.DecideObjection(g.ctx, g.req(nipA), skp.DecideObjection{SKPID: p1, Period: "2026", Outcome: "CHANGED",
		WorkResult: above, Behaviour: above, DecisionText: "bukti triwulan IV mendukung"}))
	g.at(time.Date(2027, 1, 22, 9, 0, 0, 0, wib))
	j.FiledD1 = g.clock.Now()
	j.ObjD1 = g.object(nipD[0], j.SKP[nipD[0]])

	// DINKES works in WITA (issue 13), then WIT: the directory keeps the
	// last; its sub-units keep the agency's zone.
	g.ok(g.units.SetZone(g.ctx, g.hr(), orgunit.SetZone{UnitID: "DINKES", Zone: "WITA"}))
	g.ok(g.units.SetZone(g.ctx, g.hr(), orgunit.SetZone{UnitID: "DINKES", Zone: "WIT"}))
	return j
}

func (g *journey) ok2(_ string, c domain.Committed, err error) {
	g.tb.Helper()
	g.ok(c, err)
}

// signCheckpoint signs a checkpoint of trail (as projected) into the
// ledger with the journey's key.
func signCheckpoint(tb testing.TB, j *Journey, trail audit.TreeReader) audit.Checkpoint {
	tb.Helper()
	s := audit.NewSigner(audit.SignerConfig{Store: j.Store, Trail: trail, Key: j.Key, Every: 1, Now: j.Clock.Now})
	c, signed, err := s.SignNow(context.Background())
	if err != nil || !signed {
		tb.Fatalf("sign checkpoint: signed %v, %v", signed, err)
	}
	return c
}
