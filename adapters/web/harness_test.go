package web

// The test harness, after adapters/httpapi's: the dashboard over real
// parts — a bbolt event store (or pgstore, see newHarnessOn), the domain services on the EventLog over
// it, the in-memory read models (adapters/memreadmodel) caught up after
// seeding as the in-process projections of embedded mode would be, the
// audit signer and verifier, and tokens signed with the embedded key and
// checked by jwtauth. One settable clock drives the domain, the store's
// recorded_at, the handler and token validation.

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/blobstore"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/jwtauth"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// The cast. E is appraised by A, whose superior is S; P (E's colleague in
// DINKES) and Q (in the puskesmas below DINKES) too; A by S (superior T);
// S by T (superior U). X works in BAPPEDA and has no SKP.
const (
	nipE = "199001012015031001" // Budi Santoso, PELAKSANA, DINKES
	nipA = "198502022010012002" // dr. Siti Rahmawati, JPT_PRATAMA, DINKES
	nipS = "197503032000031003" // Ir. Agus Wibowo, JPT_MADYA, PEMKOT
	nipT = "196504041990031004" // Drs. Hendra Gunawan, JPT_UTAMA, PEMKOT
	nipP = "199106062016062006" // Dewi Lestari, PELAKSANA, DINKES
	nipX = "199207072017071007" // Rudi Hartono, PELAKSANA, BAPPEDA
	nipU = "197909092005091009" // Yuni Kartika, JPT_MADYA, PEMKOT
	nipQ = "199303032019032003" // Rina Marlina, PELAKSANA, PKM-SUKAMAJU
)

// Callers (token subjects and roles).
var (
	hrAdmin  = caller{"hr-admin", []string{"HR_ADMIN"}}
	auditor  = caller{"auditor-1", []string{"AUDITOR"}}
	analyst  = caller{"analyst-1", []string{"HR_ANALYST"}}
	clerk    = caller{"clerk-1", []string{"GRIEVANCE_CLERK"}}
	inspektr = caller{"inspektorat", []string{"AUDITOR", "HR_ANALYST", "GRIEVANCE_CLERK"}}
	empE     = caller{nipE, nil}
	empX     = caller{nipX, nil}
)

type caller struct {
	sub   string
	roles []string
}

func (c caller) principal() domain.Principal {
	p := domain.Principal{ID: c.sub, Agency: webTokenAgency[c.sub]}
	for _, r := range c.roles {
		p.Roles = append(p.Roles, domain.Role(r))
	}
	return p
}

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, policy.WIB)

// agency is what the seed recorded, for the tests to check against.
type agency struct {
	skpA, skpE, skpP, skpQ string
	rhkA, rhkE, indE       string
	// beforeDraft is before E's SKP existed; afterRating is just after the
	// first annual rating of E (SESUAI/SESUAI: BAIK, DRAFT); afterRevision
	// just after its revision (DI_BAWAH/SESUAI: BUTUH_PERBAIKAN); the
	// objection decision later made it SESUAI/DI_ATAS: BAIK.
	beforeDraft, afterRating, afterRevision time.Time
}

type harness struct {
	t       testing.TB
	ctx     context.Context
	dir     string
	clock   *domaintest.Clock
	store   eventstore.Store
	model   *memreadmodel.Model
	signer  *audit.Signer
	vkey    *merkle.Verifier
	akey    *merkle.Signer
	key     *authkey.Key
	units   *orgunit.Service
	emps    *employee.Service
	skps    *skp.Service
	handler *Handler
	cfg     Config
	appCfg  app.Config
	app     *app.App
	codes   *session.LoginCodes

	// sessions are the session cookies of the callers signed in so far.
	sessMu   sync.Mutex
	sessions map[string]*http.Cookie
	logs     *syncBuffer
	ag       agency

	catchMu sync.Mutex
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// verifier is the test's Verifier: audit.Verify over the store, as
// wiring.Verifier does.
type verifier struct {
	store eventstore.Store
	keys  []*merkle.Verifier
	trail audit.Stored
}

func (v verifier) Verify(ctx context.Context) (audit.Report, error) {
	return audit.Verify(ctx, v.store, audit.VerifyOptions{Keys: v.keys, Stored: v.trail})
}

type positions struct{ m *memreadmodel.Model }

func (p positions) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	return p.m.Sink(name).Checkpoint(ctx)
}

// newHarness opens the parts on a new data directory, the events in
// bbolt, and builds the dashboard; it seeds nothing.
func newHarness(t testing.TB) *harness { return newHarnessOn(t, nil) }

// newHarnessOn is newHarness with the events in the store openStore opens
// (closed by openStore's own cleanup), stamping recorded_at with now, the
// harness's clock; nil openStore is bbolt in the data directory.
func newHarnessOn(t testing.TB, openStore func(now func() time.Time) eventstore.Store) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: domaintest.NewClock(start), logs: &syncBuffer{}}
	var store eventstore.Store
	if openStore != nil {
		store = openStore(h.clock.Now)
	} else {
		bolt, err := boltstore.Open(filepath.Join(h.dir, "kinerja.db"), boltstore.Options{Now: h.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bolt.Close() })
		store = bolt
	}
	h.store = store
	var err error
	if h.key, err = authkey.LoadOrCreate(h.dir); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := merkle.GenerateKey("kinerja-test", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := merkle.ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	h.akey = ns
	if h.vkey, err = merkle.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	h.model = memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: store}, Now: h.clock.Now})
	h.signer = audit.NewSigner(audit.SignerConfig{Store: store, Trail: h.model.Audit(), Key: ns, Now: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	pol := policy.Default()
	dh := &domain.Handler{Log: eventlog.New(store), Now: h.clock.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	h.units = &orgunit.Service{Handler: dh, Policy: pol}
	h.emps = &employee.Service{Handler: dh, Policy: pol}
	h.skps = &skp.Service{Handler: dh, Policy: pol}
	auth, err := jwtauth.New(jwtauth.Config{Keys: jwtauth.Static{h.key.ID(): h.key.Public()}, Issuer: authkey.Issuer,
		Audience: authkey.Audience, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	idem, err := boltstore.OpenIdempotency(filepath.Join(h.dir, "idempotency.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idem.Close() })
	blobs, err := blobstore.OpenFolder(filepath.Join(h.dir, blobstore.FolderName))
	if err != nil {
		t.Fatal(err)
	}
	h.appCfg = app.Config{
		Blobs:          blobs,
		Units:          h.units,
		Employees:      h.emps,
		SKPs:           h.skps,
		Distribution:   &distribution.Service{Handler: dh, Policy: pol, Pattern: distribution.SE3_2023},
		Store:          store,
		Directory:      h.model.Directory(),
		Justifications: h.model.Directory(),
		SKPList:        h.model.SKPs(),
		Evaluations:    h.model.Evaluations(),
		Scores:         h.model.Scores(),
		Objections:     h.model.Objections(),
		Timeline:       h.model.Timeline(),
		Audit:          h.model.Audit(),
		Verifier:       verifier{store: store, keys: []*merkle.Verifier{h.vkey}, trail: h.model.Audit()},
		Positions:      positions{h.model},
		Idempotency:    idem,
		DocumentKey:    h.akey,
		Policy:         pol,
		Pattern:        distribution.SE3_2023,
		Now:            h.clock.Now,
		Logger:         slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if h.app, err = app.New(h.appCfg); err != nil {
		t.Fatal(err)
	}
	sessions, err := session.OpenBolt(filepath.Join(h.dir, "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close() })
	if h.codes, err = session.OpenLoginCodes(h.dir, h.clock.Now); err != nil {
		t.Fatal(err)
	}
	h.cfg = Config{App: h.app, Sessions: sessions, LoginCodes: h.codes, Authenticator: auth}
	if h.handler, err = New(h.cfg); err != nil {
		t.Fatal(err)
	}
	h.sessions = map[string]*http.Cookie{}
	return h
}

// rebuild makes a new application layer with change applied, and a new
// dashboard on it (the sessions stay: they are in the same store).
func (h *harness) rebuild(change func(*app.Config)) {
	h.t.Helper()
	change(&h.appCfg)
	var err error
	if h.app, err = app.New(h.appCfg); err != nil {
		h.t.Fatal(err)
	}
	h.cfg.App = h.app
	if h.handler, err = New(h.cfg); err != nil {
		h.t.Fatal(err)
	}
}

// seeded is a harness with the agency recorded, the read models caught up
// and a signed checkpoint.
func seeded(t testing.TB) *harness {
	t.Helper()
	h := newHarness(t)
	h.seed()
	h.sign()
	return h
}

// catchUp applies every stored event to every in-memory read model.
func (h *harness) catchUp() {
	h.t.Helper()
	h.catchUpSinks(h.model.Sinks())
}

// catchUpSinks applies every stored event to sinks.
func (h *harness) catchUpSinks(sinks []projections.Sink) {
	h.t.Helper()
	h.catchUpSinksFrom(h.store, sinks)
}

// catchUpSinksFrom applies every event of store to sinks.
func (h *harness) catchUpSinksFrom(store eventstore.Store, sinks []projections.Sink) {
	h.t.Helper()
	h.catchMu.Lock()
	defer h.catchMu.Unlock()
	for _, sink := range sinks {
		cp, err := sink.Checkpoint(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		var batch []projections.Event
		for ev, err := range store.ReadAll(h.ctx, eventstore.ReadAllOptions{After: cp}) {
			if err != nil {
				h.t.Fatal(err)
			}
			batch = append(batch, projections.Event{Event: ev})
		}
		if len(batch) > 0 {
			if err := sink.Apply(h.ctx, batch...); err != nil {
				h.t.Fatalf("projection %s: %v", sink.Name(), err)
			}
		}
	}
}

// sign signs a checkpoint of the trail as it is now.
func (h *harness) sign() audit.Checkpoint {
	h.t.Helper()
	h.catchUp()
	cp, _, err := h.signer.SignNow(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	h.catchUp()
	return cp
}

// token signs a token for c, valid for a day from the clock's now.
func (h *harness) token(c caller) string {
	h.t.Helper()
	tok, err := h.key.Sign(authkey.Claims{Subject: c.sub, Roles: c.roles, Agency: webTokenAgency[c.sub], IssuedAt: h.clock.Now(), TTL: 24 * time.Hour})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// req is a domain request by c now.
func req(c caller) domain.Request { return domain.Request{Caller: c.principal()} }

// reason is req with a reason.
func reason(c caller, why string) domain.Request {
	r := req(c)
	r.Reason = why
	return r
}

// must fails the test on err.
func (h *harness) must(err error, what string) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("seed: %s: %v", what, err)
	}
}

// seed records a small agency through the domain services: units with a
// sub-unit below a sub-unit, employees with valid NIPs and reporting
// lines, SKPs cascaded from the appraiser's (one established late, one
// employee without any), realisations, feedback, quarterly and annual
// ratings, a revision, issues, an objection decided CHANGED and one left
// open past its decision due date.
func (h *harness) seed() {
	h.t.Helper()
	ctx := h.ctx
	mustC := func(_ domain.Committed, err error) error { return err }
	for _, u := range []orgunit.Register{
		{ID: "PEMKOT", Name: "Pemerintah Kota Sukamaju"},
		{ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"},
		{ID: "BAPPEDA", Name: "Badan Perencanaan Pembangunan Daerah", ParentID: "PEMKOT"},
		{ID: "PKM-SUKAMAJU", Name: "Puskesmas Sukamaju", ParentID: "DINKES"},
	} {
		h.must(mustC(h.units.Register(ctx, req(hrAdmin), u)), "unit "+u.ID)
	}
	for _, e := range []struct{ nip, name, unit, kind, title string }{
		{nipE, "Budi Santoso", "DINKES", "PELAKSANA", "Pengelola Data Imunisasi"},
		{nipA, "dr. Siti Rahmawati", "DINKES", "JPT_PRATAMA", "Kepala Dinas Kesehatan"},
		{nipS, "Ir. Agus Wibowo", "PEMKOT", "JPT_MADYA", "Sekretaris Daerah"},
		{nipT, "Drs. Hendra Gunawan", "PEMKOT", "JPT_UTAMA", "Wali Kota"},
		{nipP, "Dewi Lestari", "DINKES", "PELAKSANA", "Pengadministrasi Umum"},
		{nipX, "Rudi Hartono", "BAPPEDA", "PELAKSANA", "Analis Perencanaan"},
		{nipU, "Yuni Kartika", "PEMKOT", "JPT_MADYA", "Asisten Pemerintahan"},
		{nipQ, "Rina Marlina", "PKM-SUKAMAJU", "PELAKSANA", "Bidan Pelaksana"},
	} {
		h.must(mustC(h.emps.Register(ctx, req(hrAdmin), employee.Register{NIP: e.nip, Name: e.name, UnitID: e.unit,
			Position: employee.Position{Kind: employee.PositionKind(e.kind), Title: e.title}})), "employee "+e.name)
	}
	from := calendar.MustNew(2026, time.January, 1)
	for _, l := range [][3]string{{nipE, nipA, nipS}, {nipP, nipA, nipS}, {nipQ, nipA, nipS}, {nipA, nipS, nipT}, {nipS, nipT, nipU}} {
		h.must(mustC(h.emps.AssignReportingLine(ctx, domaintest.MasterDataAt(req(hrAdmin), h.clock.Now(), from), employee.AssignReportingLine{NIP: l[0], AppraiserNIP: l[1],
			SuperiorNIP: l[2], EffectiveFrom: from})), "line "+l[0])
	}
	h.must(mustC(h.units.RatePerformance(ctx, req(hrAdmin), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"})), "unit predikat")
	h.must(mustC(h.units.RatePerformance(ctx, req(hrAdmin), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026-Q1", Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"})), "unit predikat Q1")
	h.clock.Advance(time.Hour)
	h.ag.beforeDraft = h.clock.Now()
	h.clock.Advance(time.Hour)

	ag := &h.ag
	a := caller{nipA, nil}
	s := caller{nipS, nil}
	e := caller{nipE, nil}
	p := caller{nipP, nil}
	q := caller{nipQ, nil}
	var err error
	// Steps of the planning phase are minutes apart, as typed at a desk, so
	// that as_of can tell them apart.
	tick := func() { h.clock.Advance(7 * time.Minute) }
	// A's SKP (a JPT post: its RHK cites the Perjanjian Kinerja).
	ag.skpA, _, err = h.skps.Draft(ctx, req(a), skp.Draft{NIP: nipA, Year: 2026, Approach: "KUANTITATIF"})
	h.must(err, "draft A")
	tick()
	ag.rhkA, _, err = h.skps.AddRHK(ctx, req(a), skp.AddRHK{SKPID: ag.skpA, RHKFields: skp.RHKFields{Text: "Meningkatnya cakupan imunisasi dasar lengkap", Kind: "UTAMA", PKRef: "PK-DINKES-2026-01"}})
	h.must(err, "rhk A")
	tick()
	_, _, err = h.skps.AddIndicator(ctx, req(a), skp.AddIndicator{SKPID: ag.skpA, RHKID: ag.rhkA, IndicatorFields: skp.IndicatorFields{Aspect: "KUANTITAS", Text: "Cakupan imunisasi dasar lengkap", Target: skp.Target{Value: 95, Unit: "%"}}})
	h.must(err, "indicator A")
	tick()
	h.must(mustC(h.skps.Submit(ctx, req(a), skp.Submit{SKPID: ag.skpA})), "submit A")
	tick()
	h.must(mustC(h.skps.Establish(ctx, req(s), skp.Establish{SKPID: ag.skpA})), "establish A")

	// E's, P's and Q's SKPs, cascaded from A's RHK.
	plan := func(who caller, nip, text, ind string, target float64, unit string) (id, rhk, indID string) {
		id, _, err := h.skps.Draft(ctx, req(who), skp.Draft{NIP: nip, Year: 2026, Approach: "KUANTITATIF"})
		h.must(err, "draft "+nip)
		tick()
		rhk, _, err = h.skps.AddRHK(ctx, req(who), skp.AddRHK{SKPID: id, RHKFields: skp.RHKFields{Text: text, Kind: "UTAMA", IntervenedRHKID: ag.rhkA}})
		h.must(err, "rhk "+nip)
		tick()
		indID, _, err = h.skps.AddIndicator(ctx, req(who), skp.AddIndicator{SKPID: id, RHKID: rhk, IndicatorFields: skp.IndicatorFields{Aspect: "KUANTITAS", Text: ind, Target: skp.Target{Value: target, Unit: unit}}})
		h.must(err, "indicator "+nip)
		tick()
		_, _, err = h.skps.AddIndicator(ctx, req(who), skp.AddIndicator{SKPID: id, RHKID: rhk, IndicatorFields: skp.IndicatorFields{Aspect: "WAKTU", Text: "Laporan bulanan tepat waktu", Target: skp.Target{Value: 12, Unit: "laporan"}}})
		h.must(err, "indicator 2 "+nip)
		tick()
		h.must(mustC(h.skps.Submit(ctx, req(who), skp.Submit{SKPID: id})), "submit "+nip)
		tick()
		return id, rhk, indID
	}
	var indP, indQ string
	ag.skpE, ag.rhkE, ag.indE = plan(e, nipE, "Terlaksananya imunisasi di 5 puskesmas", "Puskesmas yang melaksanakan imunisasi", 5, "puskesmas")
	h.must(mustC(h.skps.Establish(ctx, req(a), skp.Establish{SKPID: ag.skpE})), "establish E")
	ag.skpP, _, indP = plan(p, nipP, "Tertibnya administrasi layanan imunisasi", "Berkas layanan yang lengkap", 100, "%")
	h.must(mustC(h.skps.Establish(ctx, req(a), skp.Establish{SKPID: ag.skpP})), "establish P")
	ag.skpQ, _, indQ = plan(q, nipQ, "Terlayaninya imunisasi bayi di wilayah kerja", "Bayi yang diimunisasi", 400, "bayi")
	// Q's SKP is established after the 31 January deadline: late.
	h.clock.Set(time.Date(2026, 2, 9, 10, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.Establish(ctx, req(a), skp.Establish{SKPID: ag.skpQ})), "establish Q late")

	// Execution in the first quarter.
	h.clock.Set(time.Date(2026, 3, 27, 14, 0, 0, 0, policy.WIB))
	_, _, err = h.skps.RecordRealisation(ctx, req(e), skp.RecordRealisation{SKPID: ag.skpE, Period: "2026-Q1", IndicatorID: ag.indE, Value: 2, Narrative: "2 puskesmas telah melaksanakan"})
	h.must(err, "realisation E")
	_, _, err = h.skps.AttachEvidence(ctx, req(e), skp.AttachEvidence{SKPID: ag.skpE, IndicatorID: ag.indE, URI: "https://berkas.example/laporan-q1.pdf",
		SHA256: strings.Repeat("ab", 32), Filename: "laporan-q1.pdf", MediaType: "application/pdf", Size: 20480})
	h.must(err, "evidence E")
	_, _, err = h.skps.RecordRealisation(ctx, req(p), skp.RecordRealisation{SKPID: ag.skpP, Period: "2026-Q1", IndicatorID: indP, Value: 96})
	h.must(err, "realisation P")
	_, _, err = h.skps.RecordRealisation(ctx, req(q), skp.RecordRealisation{SKPID: ag.skpQ, Period: "2026-Q1", IndicatorID: indQ, Value: 110})
	h.must(err, "realisation Q")
	_, _, err = h.skps.GiveFeedback(ctx, req(a), skp.GiveFeedback{SKPID: ag.skpE, About: skp.FeedbackAbout{RHKID: ag.rhkE}, Text: "Bagus, pertahankan koordinasi dengan puskesmas."})
	h.must(err, "feedback A")
	_, _, err = h.skps.GiveFeedback(ctx, req(p), skp.GiveFeedback{SKPID: ag.skpE, About: skp.FeedbackAbout{Behaviour: "KOLABORATIF"}, Text: "Kerja sama tim sangat baik."})
	h.must(err, "feedback P")

	// Quarterly ratings, issued (periodic: final at once).
	h.clock.Set(time.Date(2026, 4, 3, 9, 0, 0, 0, policy.WIB))
	for _, r := range []struct {
		id, wr, bh string
	}{{ag.skpE, "SESUAI_EKSPEKTASI", "DI_ATAS_EKSPEKTASI"}, {ag.skpP, "DI_ATAS_EKSPEKTASI", "DI_ATAS_EKSPEKTASI"}, {ag.skpQ, "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI"}} {
		h.must(mustC(h.skps.Rate(ctx, req(a), skp.Rate{SKPID: r.id, Period: "2026-Q1", WorkResult: r.wr, Behaviour: r.bh, Rationale: "Sesuai rencana triwulan I"})), "rate Q1 "+r.id)
		h.must(mustC(h.skps.Issue(ctx, req(a), skp.Issue{SKPID: r.id, Period: "2026-Q1"})), "issue Q1 "+r.id)
	}
	h.clock.Set(time.Date(2026, 7, 2, 9, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.Rate(ctx, req(a), skp.Rate{SKPID: ag.skpE, Period: "2026-Q2", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Sesuai rencana triwulan II"})), "rate Q2 E")
	h.must(mustC(h.skps.Issue(ctx, req(a), skp.Issue{SKPID: ag.skpE, Period: "2026-Q2"})), "issue Q2 E")

	// The annual evaluations, once the year has ended (a period is rated
	// only after it ends): this part of the year runs nine weeks after the
	// November-December dates it had before that rule, on the same
	// weekdays. P's, issued first; P objects, and nobody decides: the
	// objection is overdue by the harness's "now" (3 March 2027).
	h.clock.Set(time.Date(2027, 1, 4, 9, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.Rate(ctx, req(a), skp.Rate{SKPID: ag.skpP, Period: "2026", WorkResult: "DI_ATAS_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "Administrasi tertib sepanjang tahun"})), "rate P")
	h.must(mustC(h.skps.Issue(ctx, req(a), skp.Issue{SKPID: ag.skpP, Period: "2026"})), "issue P")
	h.clock.Set(time.Date(2027, 1, 8, 9, 0, 0, 0, policy.WIB))
	_, _, err = h.skps.FileObjection(ctx, req(p), skp.FileObjection{SKPID: ag.skpP, Period: "2026", Reasons: "Mohon penjelasan dasar penilaian perilaku"})
	h.must(err, "objection P")

	// E's annual rating, its revision with a reason, issue, objection,
	// explanations from both parties, decision CHANGED.
	h.clock.Set(time.Date(2027, 2, 2, 10, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.Rate(ctx, req(a), skp.Rate{SKPID: ag.skpE, Period: "2026", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target tercapai"})), "rate E")
	ag.afterRating = h.clock.Now().Add(time.Minute)
	h.clock.Set(time.Date(2027, 2, 3, 10, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.Rate(ctx, reason(a, "Data realisasi Q4 dikoreksi"), skp.Rate{SKPID: ag.skpE, Period: "2026", WorkResult: "DI_BAWAH_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Satu puskesmas tertinggal"})), "revise E")
	ag.afterRevision = h.clock.Now().Add(time.Minute)
	h.clock.Set(time.Date(2027, 2, 4, 10, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.Issue(ctx, req(a), skp.Issue{SKPID: ag.skpE, Period: "2026"})), "issue E")
	h.clock.Set(time.Date(2027, 2, 7, 10, 0, 0, 0, policy.WIB))
	_, _, err = h.skps.FileObjection(ctx, req(e), skp.FileObjection{SKPID: ag.skpE, Period: "2026", Reasons: "Data Q4 belum lengkap saat dinilai"})
	h.must(err, "objection E")
	for _, from := range []string{"APPRAISER", "EMPLOYEE"} {
		_, _, err = h.skps.RequestExplanation(ctx, req(s), skp.RequestExplanation{SKPID: ag.skpE, Period: "2026", From: from})
		h.must(err, "explanation request "+from)
	}
	h.must(mustC(h.skps.SubmitExplanation(ctx, req(a), skp.SubmitExplanation{SKPID: ag.skpE, Period: "2026", Text: "Data Q4 terlambat masuk"})), "explanation A")
	h.must(mustC(h.skps.SubmitExplanation(ctx, req(e), skp.SubmitExplanation{SKPID: ag.skpE, Period: "2026", Text: "Bukti Q4 terlampir"})), "explanation E")
	h.clock.Set(time.Date(2027, 2, 9, 10, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.DecideObjection(ctx, req(s), skp.DecideObjection{SKPID: ag.skpE, Period: "2026", Outcome: "CHANGED",
		WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", DecisionText: "Bukti Q4 diterima"})), "decide E")

	// Q's annual rating (not issued).
	h.clock.Set(time.Date(2027, 2, 11, 10, 0, 0, 0, policy.WIB))
	h.must(mustC(h.skps.Rate(ctx, req(a), skp.Rate{SKPID: ag.skpQ, Period: "2026", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target tercapai"})), "rate Q")

	h.clock.Set(time.Date(2027, 3, 3, 10, 0, 0, 0, policy.WIB))
	h.catchUp()
}

// response is an answer of the handler.
type response struct {
	status int
	header http.Header
	body   string
}

// signIn signs c in through a one-time sign-in link, as a person does with
// the link `kinerjactl login-link` prints, and returns the session cookie
// (one per caller and harness).
func (h *harness) signIn(c caller) *http.Cookie {
	h.t.Helper()
	key := c.sub + "|" + strings.Join(c.roles, ",")
	h.sessMu.Lock()
	ck, ok := h.sessions[key]
	h.sessMu.Unlock()
	if ok {
		return ck
	}
	code, _, err := h.codes.Issue(c.principal(), 0)
	if err != nil {
		h.t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/masuk/tautan", strings.NewReader(url.Values{"kode": {code}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := h.serve(r)
	if resp.status != http.StatusSeeOther {
		h.t.Fatalf("sign-in link of %s = %d\n%s", c.sub, resp.status, resp.body)
	}
	ck = cookieNamed(resp, session.CookieName)
	if ck == nil || ck.Value == "" {
		h.t.Fatalf("sign-in link of %s set no session cookie: %v", c.sub, resp.header)
	}
	h.sessMu.Lock()
	h.sessions[key] = ck
	h.sessMu.Unlock()
	return ck
}

// get asks for path as c (nil: anonymous) through c's session.
func (h *harness) get(c *caller, path string, cookies ...*http.Cookie) response {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if c != nil {
		r.AddCookie(h.signIn(*c))
	}
	for _, ck := range cookies {
		r.AddCookie(ck)
	}
	return h.serve(r)
}

// post sends form to path as c, as a same-origin browser form does
// (Sec-Fetch-Site: same-origin), with headers given as name, value pairs.
func (h *harness) post(c *caller, path string, form url.Values, headers ...string) response {
	h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	if c != nil {
		r.AddCookie(h.signIn(*c))
	}
	return h.serve(r)
}

func (h *harness) serve(r *http.Request) response {
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, r)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// must200 is get that fails the test unless the answer is 200.
func (h *harness) must200(c caller, path string) response {
	h.t.Helper()
	r := h.get(&c, path)
	if r.status != http.StatusOK {
		h.t.Fatalf("GET %s as %s = %d, want 200\n%s", path, c.sub, r.status, r.body)
	}
	return r
}
