package web

// The appraisal year in a real browser: people sign in with one-time links
// and do their part through the dashboard's pages and forms only — no API
// call, no domain command in the test body. The test moves the clock
// between the phases of the year, reads the store to check that a double
// submit recorded once, and signs the audit checkpoint as kinerjad's
// signer would; everything else is a click, a key or a typed value.
//
// It runs on the embedded stores (bbolt events, sessions and idempotency,
// in-memory read models) and on PostgreSQL (the read models of
// adapters/pgreadmodel, the sessions of session.Postgres, the idempotency
// records of adapters/pgidempotency); the events are in bbolt in both,
// under the test's clock. Projections are caught up after every form sent,
// as kinerjad's in-process projector does.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
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
}

// newJourneyEnv builds the dashboard on store ("bbolt" or "postgres")
// with nothing recorded.
func newJourneyEnv(t *testing.T, store string) *journeyEnv {
	t.Helper()
	h := newHarness(t)
	env := &journeyEnv{t: t, h: h, catchUp: h.catchUp, shots: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the dashboard's log:\n%s", h.logs.String())
		}
	})
	if store == "bbolt" {
		env.shots = screenshotDir(t)
	}
	if store == "postgres" {
		p := testPool(t)
		schema := freshSchema(t, p)
		ctx := context.Background()
		db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: schema, History: projections.StoreHistory{Store: h.store}, Policy: h.appCfg.Policy})
		if err != nil {
			t.Fatal(err)
		}
		// The sessions and the idempotency records in schemas of their
		// own, as each package migrates its schema with its own version.
		webSchema, idemSchema := schema+"_web", schema+"_idem"
		t.Cleanup(func() {
			p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+webSchema+` CASCADE`)
			p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+idemSchema+` CASCADE`)
		})
		if err := pgidempotency.Migrate(ctx, p, idemSchema); err != nil {
			t.Fatal(err)
		}
		idem, err := pgidempotency.Open(ctx, p, idemSchema)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := session.Migrate(ctx, p, webSchema); err != nil {
			t.Fatal(err)
		}
		sessions, err := session.OpenPostgres(ctx, p, webSchema)
		if err != nil {
			t.Fatal(err)
		}
		h.cfg.Sessions = sessions
		h.rebuild(func(c *app.Config) {
			c.Directory, c.Justifications = db.Directory(), db.Directory()
			c.SKPList, c.Evaluations, c.Objections, c.Audit = db.SKPs(), db.Evaluations(), db.Objections(), db.Audit()
			c.Scores, c.Timeline = db.Scores(), db.Timeline()
			c.Verifier = verifier{store: h.store, keys: []*merkle.Verifier{h.vkey}, trail: db.Audit()}
			c.Positions = pgPositions{db}
			c.Idempotency = idem
		})
		// The signer signs from the in-memory trail; both are caught up.
		env.catchUp = func() { h.catchUp(); h.catchUpSinks(db.Sinks()) }
	}
	handler := h.handler
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
		if r.Method == http.MethodPost {
			env.catchUp()
		}
	}))
	t.Cleanup(env.srv.Close)
	return env
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
	b.do("fill "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), v))
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
		hr.choose("#parent_id", parent)
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
		hr.choose("#unit_id", unit)
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
	// From April A answers to T, so T may be the superior of A's
	// appraisees (a line's superior is the appraiser's own appraiser).
	line(jA, jT, jS, "2026-04-01")

	// The stale form: HR opens P's line form; a colleague in HR changes
	// P's line first; the form comes back with the line as it is now and
	// the input kept, and sent again it applies.
	hr.open("/data-induk/pegawai/" + jP + "/atasan")
	hr.fill("#appraiser_superior_nip", jT)
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
	if !hr.has("#stale") || eval[string](hr, `document.getElementById("appraiser_superior_nip").value`) != jT {
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
	// In a closed select, a typed letter picks the first option starting
	// with it: "P" is Pemerintah Kota Sukamaju.
	hr.do("pick the parent", chromedp.KeyEvent("P"))
	tabTo("unit-submit")
	run(hr, "Enter", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent("\r")))
	hr.expectAt("/data-induk/unit?dibuat=BAPPEDA")
	if got := hr.text("#units"); !strings.Contains(got, "Badan Perencanaan Pembangunan Daerah") {
		t.Errorf("the unit registered by keyboard is not listed: %q", got)
	}

	// ── An auditor sees every step in the trail and verifies it ───────
	h.sign()
	env.catchUp()
	aud := env.person(auditor)
	aud.click(`nav a[href="/audit"]`)
	trail := aud.text("#trail")
	for _, want := range []string{"hr-admin", "hr-admin-2", "employee-" + jP, "unit-BAPPEDA"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the audit trail lacks %q", want)
		}
	}
	aud.click("#verify-now")
	if ok := eval[string](aud, `document.getElementById("verify-result").dataset.ok`); ok != "true" {
		t.Errorf("verification = %q: %s", ok, aud.text("#verify-result"))
	}
	aud.screenshot("audit-jurnal")
}
