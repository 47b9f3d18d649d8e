package web

// The appraisal year in a real browser: people sign in with one-time links
// and do their part through the dashboard's pages and forms only — no API
// call, no domain command in the test body. The test moves the clock
// between the phases of the year, reads the store to check that a double
// submit recorded once, and signs the audit checkpoint as kinerjad's
// signer would; everything else is a click, a key or a typed value.
//
// It runs on the embedded stores (bbolt events, sessions and idempotency,
// in-memory read models) and on PostgreSQL (the events in adapters/pgstore,
// the read models of adapters/pgreadmodel, the sessions of
// session.Postgres, the idempotency records of adapters/pgidempotency, the
// evidence files in blobstore.Postgres). Both stores stamp recorded_at
// with the test's clock (pgstore through Options.Now), since the domain's
// dating rules and the as-of reads compare business time with it. On
// PostgreSQL the journey goes through two dashboards behind a round-robin
// reverse proxy, as through two kinerjad behind a load balancer
// (twoStacks). Projections are caught up after every form sent, by the
// dashboard it was sent to, as kinerjad's in-process projector does.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/blobstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// journeyEnv is the dashboard of one journey on httptest.
type journeyEnv struct {
	t     *testing.T
	h     *harness
	srv   *httptest.Server
	shots string
	// catchUp applies the new events to the read models the pages read.
	catchUp func()
	// events is the PostgreSQL event store of the postgres variant.
	events *pgstore.Store
	// served counts the requests each dashboard of the postgres variant
	// served.
	served [2]atomic.Int64
}

// newJourneyEnv builds the dashboard on store ("bbolt" or "postgres")
// with nothing recorded.
func newJourneyEnv(t *testing.T, store string) *journeyEnv {
	t.Helper()
	var h *harness
	if store == "postgres" {
		h = newHarnessOn(t, func(now func() time.Time) eventstore.Store { return journeyPGStore(t, now) })
	} else {
		h = newHarness(t)
	}
	env := &journeyEnv{t: t, h: h, catchUp: h.catchUp, shots: t.TempDir()}
	env.events, _ = h.store.(*pgstore.Store)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the dashboard's log:\n%s", h.logs.String())
		}
	})
	if store == "bbolt" {
		env.shots = screenshotDir(t)
		handler := h.handler
		env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handler.ServeHTTP(w, r)
			if r.Method == http.MethodPost {
				env.catchUp()
			}
		}))
	} else {
		env.srv = env.twoStacks()
	}
	t.Cleanup(env.srv.Close)
	return env
}

// twoStacks builds, for the postgres variant, two dashboards as two
// kinerjad on one PostgreSQL would be (issue 15): each with its own event
// store client (pgstore, its own pool and head cache), domain services,
// application layer, read-model, session, idempotency and evidence-file
// clients, over the same schemas, and a round-robin reverse proxy in front
// of them, which keeps the browser's Host. A form posted to one is caught up
// by that one's projections, and the redirect after it is served by the
// other. The one-time sign-in links are the harness's (a directory both
// share here; two kinerjad have one each, see docs/operations.md).
func (env *journeyEnv) twoStacks() *httptest.Server {
	t, h := env.t, env.h
	p := testPool(t)
	schema := freshSchema(t, p)
	ctx := context.Background()
	// The sessions, the idempotency records and the evidence files in
	// schemas of their own, as each package migrates its schema with its
	// own version.
	webSchema, idemSchema, blobSchema := schema+"_web", schema+"_idem", schema+"_blob"
	t.Cleanup(func() {
		for _, s := range []string{webSchema, idemSchema, blobSchema} {
			p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+s+` CASCADE`)
		}
	})
	if err := pgidempotency.Migrate(ctx, p, idemSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := blobstore.Migrate(ctx, p, blobSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := session.Migrate(ctx, p, webSchema); err != nil {
		t.Fatal(err)
	}
	// clients opens one stack's clients of the shared schemas and sets
	// them in c; it returns the stack's read-model sinks and sessions.
	clients := func(store eventstore.Store, c *app.Config) ([]projections.Sink, session.Store) {
		db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: schema, History: projections.StoreHistory{Store: store}, Policy: c.Policy})
		if err != nil {
			t.Fatal(err)
		}
		idem, err := pgidempotency.Open(ctx, p, idemSchema)
		if err != nil {
			t.Fatal(err)
		}
		blobs, err := blobstore.OpenPostgres(ctx, p, blobSchema)
		if err != nil {
			t.Fatal(err)
		}
		sessions, err := session.OpenPostgres(ctx, p, webSchema)
		if err != nil {
			t.Fatal(err)
		}
		c.Store = store
		c.Directory, c.Justifications = db.Directory(), db.Directory()
		c.SKPList, c.Evaluations, c.Objections, c.Audit = db.SKPs(), db.Evaluations(), db.Objections(), db.Audit()
		c.Scores, c.Timeline = db.Scores(), db.Timeline()
		c.Verifier = verifier{store: store, keys: []*merkle.Verifier{h.vkey}, trail: db.Audit()}
		c.Positions = pgPositions{db}
		c.Idempotency = idem
		c.Blobs = blobs
		return db.Sinks(), sessions
	}

	// Stack 0 is the harness's own (h.handler, over h.store).
	var sinks0 []projections.Sink
	var sessions0 session.Store
	h.rebuild(func(c *app.Config) { sinks0, sessions0 = clients(h.store, c) })
	h.cfg.Sessions = sessions0
	h.rebuild(func(*app.Config) {})

	// Stack 1: another pgstore client on the same events table, and
	// everything above it anew.
	store1, err := pgstore.Connect(ctx, os.Getenv("KINERJA_TEST_POSTGRES_URL"), pgstore.Options{Schema: env.events.Schema(),
		Now: h.clock.Now, FinalityWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store1.Close() })
	cfg1 := h.appCfg
	dh := &domain.Handler{Log: eventlog.New(store1), Now: h.clock.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	cfg1.Units = &orgunit.Service{Handler: dh, Policy: cfg1.Policy}
	cfg1.Employees = &employee.Service{Handler: dh, Policy: cfg1.Policy}
	cfg1.SKPs = &skp.Service{Handler: dh, Policy: cfg1.Policy}
	cfg1.Distribution = &distribution.Service{Handler: dh, Policy: cfg1.Policy, Pattern: cfg1.Pattern}
	sinks1, sessions1 := clients(store1, &cfg1)
	app1, err := app.New(cfg1)
	if err != nil {
		t.Fatal(err)
	}
	web1 := h.cfg
	web1.App, web1.Sessions = app1, sessions1
	handler1, err := New(web1)
	if err != nil {
		t.Fatal(err)
	}

	// Each stack applies what it wrote before it answers, as kinerjad's
	// in-process projector would soon after; the signer's in-memory trail
	// is caught up too.
	catchUp := func(store eventstore.Store, sinks []projections.Sink) func() {
		return func() { h.catchUp(); h.catchUpSinksFrom(store, sinks) }
	}
	env.catchUp = func() { catchUp(h.store, sinks0)(); catchUp(store1, sinks1)() }
	backends := []*httptest.Server{}
	for _, s := range []struct {
		handler http.Handler
		catchUp func()
	}{{h.handler, catchUp(h.store, sinks0)}, {handler1, catchUp(store1, sinks1)}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.handler.ServeHTTP(w, r)
			if r.Method == http.MethodPost {
				s.catchUp()
			}
		}))
		t.Cleanup(srv.Close)
		backends = append(backends, srv)
	}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		i := next.Add(1) % uint64(len(backends))
		u, _ := url.Parse(backends[i].URL)
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host
		env.served[i].Add(1)
	}}
	return httptest.NewServer(proxy)
}

// journeyPGStore opens a pgstore on a schema of its own in the test
// database, stamping recorded_at with now (the test's clock); the schema is
// dropped when the test ends.
func journeyPGStore(t *testing.T, now func() time.Time) *pgstore.Store {
	t.Helper()
	p := testPool(t)
	schema := fmt.Sprintf("web_events_%d_%d", os.Getpid(), schemaN.Add(1))
	ctx := context.Background()
	if _, err := pgstore.Migrate(ctx, p, schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	// Its own pool (pgstore.Connect): the committers and the LISTEN
	// connection do not take the read models' connections. The database is
	// shared with other test runs, whose transactions may hold the
	// finality horizon back for a while: wait for it longer than the
	// default, so that a read after a write sees the write.
	s, err := pgstore.Connect(ctx, os.Getenv("KINERJA_TEST_POSTGRES_URL"), pgstore.Options{Schema: schema, Now: now, FinalityWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// person opens a browser of c's (a tab in a browser context of its own)
// and signs c in.
func (env *journeyEnv) person(c caller) *tab {
	env.t.Helper()
	b := newTab(env.t, env.srv.URL, env.shots)
	b.signInAs(env.h, c)
	return b
}

// fill replaces the value of the field sel with v, typed.
func (b *tab) fill(sel, v string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	eval[bool](b, fmt.Sprintf(`(() => { document.querySelector(%q).value = ""; return true; })()`, sel))
	b.do("fill "+sel, chromedp.SendKeys(chromedp.CSS(sel), v))
}

// choose selects value in the select sel.
func (b *tab) choose(sel, value string) {
	b.t.Helper()
	b.do("choose "+value+" in "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%q).value`, sel)); got != value {
		b.t.Fatalf("%s has no option %q", sel, value)
	}
}

// has reports whether an element matches sel.
func (b *tab) has(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// expectAt fails unless the page's path and query start with prefix.
func (b *tab) expectAt(prefix string) {
	b.t.Helper()
	if got := b.location(); !strings.HasPrefix(got, prefix) {
		b.t.Fatalf("at %s, want %s…; the page says: %s", got, prefix, b.text("main"))
	}
}

// The cast of the journey (valid NIPs: birth date, TMT, sex, serial).
const (
	jT = "196504041990031004" // Drs. Hendra Gunawan, Wali Kota (JPT_UTAMA)
	jS = "197503032000031003" // Ir. Agus Wibowo, Sekretaris Daerah (JPT_MADYA)
	jA = "198502022010012002" // dr. Siti Rahmawati, Kepala Dinas Kesehatan (JPT_PRATAMA)
	jE = "199001012015031001" // Budi Santoso, Pengelola Data Imunisasi (PELAKSANA)
	jP = "199106062016062006" // Dewi Lestari, Pengadministrasi Umum (PELAKSANA)
)

func TestJourney(t *testing.T) {
	chromium(t)
	for _, store := range []string{"bbolt", "postgres"} {
		t.Run(store, func(t *testing.T) { journey(t, newJourneyEnv(t, store)) })
	}
}

func journey(t *testing.T, env *journeyEnv) {
	h := env.h

	// ── HR sets up the agency ─────────────────────────────────────────
	hr := env.person(hrAdmin)
	hr.click(`nav a[href="/data-induk/unit"]`)
	hr.expectAt("/data-induk/unit")
	newUnit := func(id, name, parent string, shot string) {
		t.Helper()
		hr.click("#unit-new")
		hr.fill("#id", id)
		hr.fill("#name", name)
		hr.fill("#parent_id", parent) // the unit picker: its ID typed
		if shot != "" {
			hr.screenshot(shot)
		}
		hr.click("#unit-submit")
		hr.expectAt("/data-induk/unit?dibuat=" + id)
	}
	newUnit("PEMKOT", "Pemerintah Kota Sukamaju", "", "data-induk-unit-baru")
	newUnit("DINKES", "Dinas Kesehatan", "PEMKOT", "")
	if got := hr.text("#units"); !strings.Contains(got, "Pemerintah Kota Sukamaju") || !strings.Contains(got, "Dinas Kesehatan") {
		t.Fatalf("the unit list shows %q", got)
	}
	hr.screenshot("data-induk-unit")

	// Inline problems: a NIP one digit short and a name with a control
	// character come back beside their fields, the input kept.
	hr.click("#employees-DINKES")
	hr.expectAt("/data-induk/pegawai?unit=DINKES")
	hr.click("#employee-new")
	hr.fill("#nip", "19900101 201503 1 00")
	hr.fill("#name", "Budi Santoso")
	hr.choose(`[name="position.kind"]`, "PELAKSANA")
	hr.fill(`[name="position.title"]`, "Pengelola Data Imunisasi")
	hr.click("#employee-submit")
	if !hr.has("#nip-error") || eval[string](hr, `document.getElementById("nip").getAttribute("aria-invalid")`) != "true" ||
		eval[string](hr, `document.getElementById("nip").value`) != "19900101 201503 1 00" ||
		!strings.Contains(hr.text(".error-summary"), "Formulir belum dapat disimpan") {
		t.Errorf("a short NIP: no problem beside the field, or the input lost: %s", hr.text("main"))
	}
	if got := hr.text("#nip-error"); !strings.Contains(got, "NIP harus 18 angka; yang diisi 17 angka") {
		t.Errorf("the NIP's problem reads %q, want it in Indonesian", got)
	}
	if eval[string](hr, `document.getElementById("unit_id").value`) != "DINKES" || eval[string](hr, `document.getElementById("name").value`) != "Budi Santoso" {
		t.Error("the other fields were not kept")
	}
	hr.screenshot("data-induk-pegawai-baru-galat")
	// The summary links to the field.
	hr.do("follow the summary's link", chromedp.Click(chromedp.CSS(`.error-summary a[href="#nip"]`)))
	if id := eval[string](hr, "document.activeElement.id"); id != "nip" {
		t.Errorf("the summary's link focuses #%s, want #nip", id)
	}
	hr.fill("#nip", "19900101 201503 1 001")
	hr.click("#employee-submit")
	hr.expectAt("/data-induk/pegawai/" + jE + "?dibuat=1")
	hr.screenshot("data-induk-pegawai")

	register := func(nip, name, unit, kind, title string) {
		t.Helper()
		hr.open("/data-induk/pegawai?unit=" + unit)
		hr.click("#employee-new")
		hr.fill("#nip", nip)
		hr.fill("#name", name)
		hr.fill("#unit_id", unit)
		hr.choose(`[name="position.kind"]`, kind)
		hr.fill(`[name="position.title"]`, title)
		hr.click("#employee-submit")
		hr.expectAt("/data-induk/pegawai/" + nip + "?dibuat=1")
	}
	register(jS, "Ir. Agus Wibowo", "PEMKOT", "JPT_MADYA", "Sekretaris Daerah")
	register(jA, "dr. Siti Rahmawati", "DINKES", "JPT_PRATAMA", "Kepala Dinas Kesehatan")
	hr.screenshot("data-induk-pegawai-baru")

	// A double click on the submit button, and the same form sent twice
	// more (a resubmit after a lost answer): recorded once.
	hr.open("/data-induk/pegawai/baru?unit=PEMKOT")
	hr.fill("#nip", jT)
	hr.fill("#name", "Drs. Hendra Gunawan")
	hr.choose(`[name="position.kind"]`, "JPT_UTAMA")
	hr.fill(`[name="position.title"]`, "Wali Kota")
	type sent struct{ A, B string }
	if got := eval[sent](hr, `(async () => {
		const f = document.querySelector('main form[method="post"]');
		const body = new URLSearchParams(new FormData(f));
		const a = await fetch(f.action, {method: "POST", body, redirect: "manual"});
		const b = await fetch(f.action, {method: "POST", body, redirect: "manual"});
		return {A: a.type, B: b.type};
	})()`); got.A != "opaqueredirect" || got.B != "opaqueredirect" {
		t.Errorf("the form sent twice: %+v, want two redirects", got)
	}
	run(hr, "double click", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Evaluate[bool](`(() => {
		const b = document.getElementById("employee-submit"); b.click(); b.click(); return true; })()`)))
	hr.expectAt("/data-induk/pegawai/" + jT)
	if n := h.streamLen(domain.EmployeeStream(jT)); n != 1 {
		t.Errorf("a double click and a resubmit recorded %d events, want 1", n)
	}
	register(jP, "Dewi Lestari", "DINKES", "PELAKSANA", "Pengadministrasi Umum")
	hr.open("/data-induk/pegawai?unit=DINKES")
	for _, n := range []string{jA, jE, jP} {
		if !hr.has(`#employees tr[data-nip="` + n + `"]`) {
			t.Errorf("DINKES's list lacks %s", n)
		}
	}
	hr.screenshot("data-induk-pegawai-unit")

	// Reporting lines from 1 January: A by S (superior T); E and P by A
	// (superior S).
	line := func(nip, appraiser, superior, from string) {
		t.Helper()
		hr.open("/data-induk/pegawai/" + nip)
		hr.click("#line-edit")
		hr.fill("#appraiser_nip", appraiser)
		hr.fill("#appraiser_superior_nip", superior)
		hr.do("date", chromedp.SetValue(chromedp.CSS("#effective_from"), from))
		hr.fill("#paper_ref", "SK 800/1/2026") // effective before today: HR's backfill from the decree
		hr.click("#line-submit")
		hr.expectAt("/data-induk/pegawai/" + nip + "?diubah=1")
	}
	line(jA, jS, jT, "2026-01-01")
	line(jE, jA, jS, "2026-01-01")
	if got := hr.text("#emp-appraiser"); !strings.Contains(got, "dr. Siti Rahmawati") {
		t.Errorf("E's appraiser shows %q", got)
	}
	hr.screenshot("data-induk-pegawai-atasan")
	line(jP, jA, jS, "2026-01-01")

	// The stale form: HR opens P's line form; a colleague in HR changes
	// P's line first; the form comes back with the line as it is now and
	// the input kept, and sent again it applies.
	hr.open("/data-induk/pegawai/" + jP + "/atasan")
	hr.fill("#reason", "Penyesuaian setelah mutasi")
	hr.do("date", chromedp.SetValue(chromedp.CSS("#effective_from"), "2026-04-01"))
	hr2 := env.person(caller{"hr-admin-2", []string{"HR_ADMIN"}})
	hr2.open("/data-induk/pegawai/" + jP + "/atasan")
	hr2.screenshot("data-induk-atasan-form")
	hr2.choose("#capacity", "PLT")
	hr2.fill("#delegation_ref", "SPRIN-12/DINKES/2026")
	hr2.do("date", chromedp.SetValue(chromedp.CSS("#effective_from"), "2026-03-01"))
	hr2.click("#line-submit")
	hr2.expectAt("/data-induk/pegawai/" + jP + "?diubah=1")
	hr.click("#line-submit")
	if !hr.has("#stale") || eval[string](hr, `document.getElementById("effective_from").value`) != "2026-04-01" ||
		eval[string](hr, `document.getElementById("reason").value`) != "Penyesuaian setelah mutasi" {
		t.Fatalf("the stale form: no notice or the input lost: %s", hr.text("main"))
	}
	hr.screenshot("data-induk-atasan-basi")
	hr.click("#line-submit")
	hr.expectAt("/data-induk/pegawai/" + jP + "?diubah=1")
	if n := eval[int](hr, `document.querySelectorAll("#lines tbody tr").length`); n != 3 {
		t.Errorf("P's lines: %d rows, want 3 (January, the colleague's March, April)", n)
	}

	// Correcting master data: P's post gets its proper title.
	hr.click("#position-edit")
	hr.fill(`[name="position.title"]`, "Pengadministrasi Perkantoran")
	hr.fill("#decree_ref", "SK-BKPSDM/821.2/014/2026")
	hr.screenshot("data-induk-jabatan")
	hr.click("#position-submit")
	hr.expectAt("/data-induk/pegawai/" + jP + "?diubah=1")
	if got := hr.text("#emp-position"); !strings.Contains(got, "Pengadministrasi Perkantoran") {
		t.Errorf("P's post shows %q", got)
	}

	// Keyboard only: a unit registered with Tab, typing and Enter.
	hr.open("/data-induk/unit/baru")
	tabTo := func(id string) {
		t.Helper()
		for range 40 {
			if eval[string](hr, "document.activeElement.id") == id {
				return
			}
			hr.do("tab", chromedp.KeyEvent("\t"))
		}
		t.Fatalf("Tab never reached #%s", id)
	}
	tabTo("id")
	hr.do("type the code", chromedp.KeyEvent("BAPPEDA"))
	tabTo("name")
	hr.do("type the name", chromedp.KeyEvent("Badan Perencanaan Pembangunan Daerah"))
	tabTo("parent_id")
	// The unit picker: the parent's ID typed (its list offers the
	// nearest units; Tab leaves it).
	hr.do("type the parent", chromedp.KeyEvent("PEMKOT"))
	tabTo("unit-submit")
	run(hr, "Enter", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent("\r")))
	hr.expectAt("/data-induk/unit?dibuat=BAPPEDA")
	if got := hr.text("#units"); !strings.Contains(got, "Badan Perencanaan Pembangunan Daerah") {
		t.Errorf("the unit registered by keyboard is not listed: %q", got)
	}

	// Correcting a unit: BAPPEDA's name; DINKES's head and its
	// organisation predikat.
	hr.click(`a[href="/data-induk/unit/BAPPEDA"]`)
	hr.fill("#name", "Badan Perencanaan Pembangunan, Riset dan Inovasi Daerah")
	hr.click("#rename-submit")
	hr.expectAt("/data-induk/unit/BAPPEDA?diubah=1")
	if got := hr.text("h1"); !strings.HasPrefix(got, "Badan Perencanaan Pembangunan, Riset dan Inovasi Daerah") {
		t.Errorf("BAPPEDA's page after the rename: %q", got)
	}
	hr.open("/data-induk/unit/DINKES")
	hr.choose("#head_nip", jA)
	hr.do("date", chromedp.SetValue(chromedp.CSS("#effective_from"), "2026-01-01"))
	hr.fill("#head_paper_ref", "SK 821.2/1/2026")
	hr.click("#head-submit")
	hr.expectAt("/data-induk/unit/DINKES?diubah=1")
	hr.fill("#period", "2026")
	hr.choose("#predikat", "BAIK")
	hr.fill("#paper_ref", "BA-PREDIKAT-2026") // HR enters it from paper (issue 11)
	hr.click("#perf-submit")
	hr.expectAt("/data-induk/unit/DINKES?diubah=1")
	if got := hr.text("#unit"); !strings.Contains(got, "dr. Siti Rahmawati") {
		t.Errorf("DINKES's head shows %q", got)
	}
	hr.screenshot("data-induk-unit-detail")

	// ── The year of the SKPs, as far as the dashboard has the forms ──
	streams := []string{"employee-" + jP, "unit-BAPPEDA", "unit-DINKES"}
	if skps := env.yearOfSKPs(); skps != nil {
		streams = append(streams, skps...)
	}

	// ── An auditor sees every step in the trail and verifies it ───────
	h.sign()
	env.catchUp()
	aud := env.person(auditor)
	aud.click(`nav a[href="/audit"]`)
	trail := aud.text("#trail")
	for _, want := range append([]string{"hr-admin", "hr-admin-2"}, streams...) {
		if !strings.Contains(trail, want) {
			t.Errorf("the audit trail lacks %q", want)
		}
	}
	aud.click("#verify-now")
	if ok := eval[string](aud, `document.getElementById("verify-result").dataset.ok`); ok != "true" {
		t.Errorf("verification = %q: %s", ok, aud.text("#verify-result"))
	}
	aud.screenshot("audit-jurnal")
	env.eventsInPostgres()
}

// eventsInPostgres checks, in the postgres variant, that the year's events
// are rows of pgstore's table, stamped with the test's clock from January
// to December, not with the database's.
func (env *journeyEnv) eventsInPostgres() {
	t := env.t
	if env.events == nil {
		return
	}
	var n int
	var first, last time.Time
	err := env.events.Pool().QueryRow(context.Background(), `SELECT count(*), min(recorded_at), max(recorded_at) FROM `+
		env.events.Schema()+`.events`).Scan(&n, &first, &last)
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, err := range env.h.store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		read++
	}
	t.Logf("PostgreSQL holds %d events, recorded %s … %s; the two dashboards served %d and %d requests", n,
		first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339), env.served[0].Load(), env.served[1].Load())
	if env.served[0].Load() < 50 || env.served[1].Load() < 50 {
		t.Errorf("the proxy did not share the journey between the dashboards: %d and %d requests", env.served[0].Load(), env.served[1].Load())
	}
	if n == 0 || n != read {
		t.Errorf("pgstore's table holds %d events, the store reads %d", n, read)
	}
	if first.In(policy.WIB).Format("2006-01") != "2026-01" {
		t.Errorf("the first event was recorded at %s, want the test's January", first)
	}
	if want := env.h.clock.Now().In(policy.WIB).Format("2006-01"); env.has("GET /skp/{id}/penilaian/{period}/keberatan/ajukan") && last.In(policy.WIB).Format("2006-01") != want {
		t.Errorf("the last event was recorded at %s, want the month of the test's last phase (%s)", last, want)
	}
}

// check clicks the radio button or checkbox sel (no page load follows).
func (b *tab) check(sel string) {
	b.t.Helper()
	b.do("check "+sel, chromedp.Click(chromedp.CSS(sel)))
	if !eval[bool](b, fmt.Sprintf(`document.querySelector(%q).checked`, sel)) {
		b.t.Fatalf("%s is not checked after a click", sel)
	}
}

// has reports whether the dashboard has the page pattern.
func (env *journeyEnv) has(pattern string) bool {
	return slices.Contains(env.h.handler.Routes(), pattern)
}

// pick chooses, in the select sel, the first option whose text contains
// text, and returns its value.
func (b *tab) pick(sel, text string) string {
	b.t.Helper()
	v := eval[string](b, fmt.Sprintf(`(() => { const s = document.querySelector(%q);
		const o = [...s.options].find(o => o.value !== "" && o.textContent.includes(%q));
		if (!o) return ""; s.value = o.value; return o.value; })()`, sel, text))
	if v == "" {
		b.t.Fatalf("%s has no option with %q: %s", sel, text, b.text(sel))
	}
	return v
}

// skpID is the SKP's ID in a path /skp/{id}/….
func skpID(t *testing.T, path string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(path, "/skp/")
	if !ok {
		t.Fatalf("%s is no SKP's page", path)
	}
	id, _, _ := strings.Cut(rest, "/")
	id, _, _ = strings.Cut(id, "?")
	id, _, _ = strings.Cut(id, "#")
	return id
}

// yearOfSKPs does the SKPs' year in the browser, phase by phase, as far as
// the dashboard has the forms (each phase is skipped, and says so, when
// its pages are not there), and returns the streams the auditor should
// find in the trail.
func (env *journeyEnv) yearOfSKPs() []string {
	t, h := env.t, env.h
	if !env.has("GET /skp/baru") {
		t.Log("journey: no planning forms (GET /skp/baru): the year stops after HR's master data")
		return nil
	}
	at := func(mo time.Month, d, hh int) { h.clock.Set(time.Date(2026, mo, d, hh, 0, 0, 0, policy.WIB)) }

	// ── Planning: A's SKP (a JPT: its RHK cites the Perjanjian Kinerja),
	// established by S; then E's, cascaded from A's RHK, established by A.
	at(time.January, 6, 9)
	plan := func(who caller, nip, rhkText, indText, target, unit string, cascade bool) (*tab, string) {
		t.Helper()
		b := env.person(who)
		b.open("/skp/baru")
		if v := eval[string](b, `document.getElementById("nip").value`); v == "" {
			b.fill("#nip", nip)
		}
		b.fill("#year", "2026")
		b.check("#approach-KUANTITATIF")
		b.click("#draft-submit")
		b.expectAt("/skp/")
		id := skpID(t, b.location())
		b.open("/skp/" + id + "/rencana")
		b.click("#rhk-add")
		b.fill("#text", rhkText)
		b.check("#kind-UTAMA")
		if cascade {
			b.pick("#intervened_rhk_id", "imunisasi")
		} else {
			b.fill("#pk_ref", "PK-DINKES-2026-01")
		}
		if nip == jE {
			b.screenshot("skp-rhk-cascade")
		}
		b.click("#rhk-submit")
		b.expectAt("/skp/" + id + "/rencana")
		b.click(".add-indicator")
		b.check("#aspect-KUANTITAS")
		b.fill("#text", indText)
		b.fill(`[name="target.value"]`, target)
		b.fill(`[name="target.unit"]`, unit)
		b.click("#indicator-submit")
		b.expectAt("/skp/" + id + "/rencana")
		if nip == jE {
			b.screenshot("skp-rencana")
		}
		b.click("#plan-submit")
		b.expectAt("/skp/" + id)
		return b, id
	}
	establish := func(who caller, id string) {
		t.Helper()
		b := env.person(who)
		b.open("/skp/" + id + "/rencana")
		b.click("#plan-establish")
		b.expectAt("/skp/" + id)
		b.open("/skp/" + id)
		if got := b.text("#skp-status"); got != "Ditetapkan" {
			t.Errorf("SKP %s after establishing: %q, want Ditetapkan", id, got)
		}
	}
	_, skpA := plan(caller{jA, nil}, jA, "Meningkatnya cakupan imunisasi dasar lengkap", "Cakupan imunisasi dasar lengkap", "95", "%", false)
	establish(caller{jS, nil}, skpA)
	emp, skpE := plan(caller{jE, nil}, jE, "Terlaksananya imunisasi di 5 puskesmas", "Puskesmas yang melaksanakan imunisasi", "5", "puskesmas", true)
	establish(caller{jA, nil}, skpE)
	emp.open("/skp/" + skpE)
	emp.screenshot("skp-ditetapkan")
	streams := []string{"skp-" + skpA, "skp-" + skpE}

	// ── Execution: E records the first quarter with an evidence file; a
	// colleague (P) and the appraiser give feedback.
	if !env.has("GET /skp/{id}/realisasi") {
		t.Log("journey: no execution forms (GET /skp/{id}/realisasi): the year stops after planning")
		return streams
	}
	at(time.March, 27, 14)
	emp = env.person(caller{jE, nil})
	emp.open("/skp/" + skpE)
	emp.click("#act-realise")
	emp.pick("#period", "Q1")
	emp.pick("#indicator_id", "Puskesmas")
	emp.fill("#value", "2")
	emp.fill("#narrative", "2 puskesmas telah melaksanakan imunisasi")
	emp.screenshot("skp-realisasi")
	emp.click("#realisation-submit")
	emp.expectAt("/skp/" + skpE)
	pdf := filepath.Join(t.TempDir(), "laporan-q1.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	emp.open("/skp/" + skpE)
	emp.click("#act-evidence")
	emp.pick("#indicator_id", "Puskesmas")
	emp.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{pdf}))
	emp.screenshot("skp-bukti")
	emp.click("#evidence-submit")
	emp.expectAt("/skp/" + skpE)
	if !strings.Contains(emp.text("main"), "laporan-q1.pdf") {
		t.Errorf("E's SKP does not show the uploaded evidence file")
	}
	feedback := func(who caller, text string) {
		t.Helper()
		b := env.person(who)
		// A colleague may give feedback but not read the SKP: the form
		// is opened from its address (as from a link sent to them).
		b.open("/skp/" + skpE + "/umpan-balik")
		b.fill("#text", text)
		if who.sub == jP {
			b.screenshot("skp-umpan-balik")
		}
		b.click("#feedback-submit")
		if b.has(".error-summary") {
			t.Fatalf("feedback by %s refused: %s", who.sub, b.text(".error-summary"))
		}
	}
	feedback(caller{jP, nil}, "Kerja sama tim sangat baik.")
	feedback(caller{jA, nil}, "Bagus, pertahankan koordinasi dengan puskesmas.")

	// ── The year's rating, issued and delivered by A.
	if !env.has("GET /skp/{id}/penilaian/{period}/nilai") {
		t.Log("journey: no rating forms (GET /skp/{id}/penilaian/{period}/nilai): the year stops after execution")
		return streams
	}
	// A period is rated only after it ends: the year's rating in January.
	h.clock.Set(time.Date(2027, time.January, 5, 10, 0, 0, 0, policy.WIB))
	appr := env.person(caller{jA, nil})
	appr.open("/skp/" + skpE + "/penilaian/2026/nilai")
	appr.check("#work_result-DI_BAWAH_EKSPEKTASI")
	appr.check("#behaviour-SESUAI_EKSPEKTASI")
	appr.fill("#rationale", "Dua dari lima puskesmas; laporan Q4 belum masuk")
	appr.screenshot("penilaian-nilai")
	appr.click("#rate-submit")
	appr.expectAt("/skp/" + skpE + "/penilaian")
	appr.open("/skp/" + skpE + "/penilaian/2026/terbitkan")
	appr.screenshot("penilaian-terbitkan")
	appr.click("#issue-submit")
	appr.expectAt("/skp/" + skpE + "/penilaian")

	// ── E objects within the window; S asks both parties, each answers;
	// S decides.
	if !env.has("GET /skp/{id}/penilaian/{period}/keberatan/ajukan") {
		t.Log("journey: no objection forms: the year stops after the rating")
		return streams
	}
	h.clock.Set(time.Date(2027, time.January, 7, 10, 0, 0, 0, policy.WIB))
	obj := "/skp/" + skpE + "/penilaian/2026/keberatan"
	emp = env.person(caller{jE, nil})
	emp.open(obj)
	emp.click("#file-link")
	emp.fill("#reasons", "Data Q4 belum lengkap saat dinilai; laporan terlampir")
	emp.screenshot("keberatan-ajukan")
	emp.click("#file-submit")
	emp.expectAt(obj)
	sup := env.person(caller{jS, nil})
	for _, from := range []string{"APPRAISER", "EMPLOYEE"} {
		sup.open(obj)
		sup.click("#request-link")
		sup.check("#from-" + from)
		sup.click("#request-submit")
		sup.expectAt(obj)
	}
	explain := func(b *tab, text string) {
		t.Helper()
		b.open(obj)
		b.click("#explain-link")
		b.fill("#text", text)
		b.click("#explain-submit")
		b.expectAt(obj)
	}
	explain(env.person(caller{jA, nil}), "Data Q4 terlambat masuk saat penilaian")
	explain(emp, "Laporan Q4 lima puskesmas terlampir")
	sup.open(obj)
	sup.click("#decide-link")
	sup.screenshot("keberatan-putusan")
	sup.check("#outcome-CHANGED")
	sup.check("#work_result-SESUAI_EKSPEKTASI")
	sup.check("#behaviour-SESUAI_EKSPEKTASI")
	sup.fill("#decision_text", "Bukti Q4 diterima; hasil kerja sesuai ekspektasi")
	sup.click("#decide-submit")
	sup.expectAt(obj)
	emp.open("/skp/" + skpE)
	if got := emp.text("main"); !strings.Contains(got, "Baik") {
		t.Errorf("E's SKP after the decision does not show Baik")
	}
	emp.screenshot("skp-setelah-keberatan")
	return streams
}
