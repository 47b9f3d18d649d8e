package httpapi

// The test harness: the API over real parts, a bbolt event store, the
// domain services on the EventLog over it, the in-memory read models
// (adapters/memreadmodel) caught up before every request as the
// in-process projections of embedded mode would be, the audit signer and
// verifier, the bbolt idempotency store, and tokens signed with the
// embedded key. One settable clock drives the handler, the store's
// recorded_at, the server and token validation.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// The cast (as in domain/skp's tests). E is appraised by A whose superior
// is S; A by S (superior T); P is E's colleague in DINKES; X works in
// BAPPEDA.
const (
	nipE = "199001012015031001" // employee, PELAKSANA, DINKES
	nipA = "198502022010012002" // appraiser, JPT_PRATAMA, DINKES
	nipS = "197503032000031003" // appraiser's superior, JPT_MADYA, PEMKOT
	nipT = "196504041990031004" // S's appraiser, JPT_UTAMA, PEMKOT
	nipP = "199106062016062006" // peer, PELAKSANA, DINKES
	nipX = "199207072017071007" // outsider, PELAKSANA, BAPPEDA
	nipU = "197909092005091009" // T's superior, JPT_MADYA, PEMKOT
)

// Callers.
var (
	hr      = caller{"hr-admin", []string{"HR_ADMIN"}}
	aud     = caller{"auditor-1", []string{"AUDITOR"}}
	analyst = caller{"analyst-1", []string{"HR_ANALYST"}}
	clerk   = caller{"clerk-1", []string{"GRIEVANCE_CLERK"}}
	empE    = caller{nipE, nil}
	apprA   = caller{nipA, nil}
	supS    = caller{nipS, nil}
	peerP   = caller{nipP, nil}
	outX    = caller{nipX, nil}
)

type caller struct {
	sub   string
	roles []string
}

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, policy.WIB)

type harness struct {
	t      testing.TB
	ctx    context.Context
	dir    string
	clock  *domaintest.Clock
	store  eventstore.Store
	model  *memreadmodel.Model
	signer *audit.Signer
	vkey   *merkle.Verifier
	akey   *merkle.Signer
	key    *authkey.Key
	idem   *boltstore.Idempotency
	srv    *Server
	// reqContext, when set, gives each request its context (a test that
	// attributes the statements a request sends: skpread_claimless_pg_test).
	reqContext func(*http.Request) context.Context
	cfg        settings
	logs       *syncBuffer

	catchMu sync.Mutex
	// paused names the projections catchUp leaves behind (a lagging
	// projection), under catchMu.
	paused map[string]bool
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
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

type positions struct{ m *memreadmodel.Model }

func (p positions) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	s := p.m.Sink(name)
	if s == nil {
		return 0, fmt.Errorf("no projection %s", name)
	}
	return s.Checkpoint(ctx)
}

type verifier struct {
	store eventstore.Store
	keys  []*merkle.Verifier
	trail audit.Stored
}

func (v verifier) Verify(ctx context.Context) (audit.Report, error) {
	return audit.Verify(ctx, v.store, audit.VerifyOptions{Keys: v.keys, Stored: v.trail})
}

func (v verifier) VerifyAgency(ctx context.Context, agency string) (audit.Report, error) {
	opts := audit.AgencyVerifyOptions{Agency: agency, Keys: v.keys}
	if s, ok := v.trail.(audit.AgencyStored); ok {
		opts.Stored = s
	}
	return audit.VerifyAgency(ctx, v.store, opts)
}

var (
	contractOnce  sync.Once
	sharedChecker *contractChecker
)

// contract returns the checker every answer of the harness goes through:
// each one must match openapi.json.
func contract(t testing.TB) *contractChecker {
	contractOnce.Do(func() { sharedChecker = newContractChecker(t) })
	return sharedChecker
}

// newHarness starts the API on a new data directory; change adjusts the
// configuration of the application layer and of the API.
func newHarness(t testing.TB, change ...func(*settings)) *harness {
	t.Helper()
	return newHarnessOn(t, "bolt", change...)
}

// newHarnessOn is newHarness on the event store named by backend: "bolt",
// or "postgres" (a fresh schema on KINERJA_TEST_POSTGRES_URL; skipped when
// unset unless KINERJA_REQUIRE_INTEGRATION=1). PostgreSQL stamps recorded_at
// with its own clock; the commands' clock is still h.clock.
func newHarnessOn(t testing.TB, backend string, change ...func(*settings)) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: domaintest.NewClock(start), logs: &syncBuffer{}}
	var store eventstore.Store
	switch backend {
	case "bolt":
		bs, err := boltstore.Open(filepath.Join(h.dir, "kinerja.db"), boltstore.Options{Now: h.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bs.Close() })
		store = bs
	case "postgres":
		store = postgresStore(t)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	h.store = store
	var err error
	h.key, err = authkey.LoadOrCreate(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := merkle.GenerateKey("kinerja-test", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := merkle.ParseSigner(skey)
	h.akey = ns
	h.vkey, _ = merkle.NewVerifier(vkey)
	h.model = memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: store}, Now: h.clock.Now})
	h.signer = audit.NewSigner(audit.SignerConfig{Store: store, Trail: h.model.Audit(), Key: ns, Now: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h.openServer(change...)
	return h
}

// openServer (re)creates the API and its idempotency store on h's data
// directory, as a restart of kinerjad would.
func (h *harness) openServer(change ...func(*settings)) {
	h.t.Helper()
	idem, err := boltstore.OpenIdempotency(filepath.Join(h.dir, "idempotency.db"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.idem = idem
	h.t.Cleanup(func() { idem.Close() })
	pol := policy.Default()
	handler := &domain.Handler{Log: eventlog.New(h.store), Now: h.clock.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	auth, err := jwtauth.New(jwtauth.Config{Keys: jwtauth.Static{h.key.ID(): h.key.Public()}, Issuer: authkey.Issuer, Audience: authkey.Audience, Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	h.cfg = settings{appConfig: app.Config{
		Units:        &orgunit.Service{Handler: handler, Policy: pol},
		Employees:    &employee.Service{Handler: handler, Policy: pol},
		SKPs:         &skp.Service{Handler: handler, Policy: pol},
		Distribution: &distribution.Service{Handler: handler, Policy: pol, Pattern: distribution.SE3_2023},
		Store:        h.store,
		Directory:    h.model.Directory(), Justifications: h.model.Directory(),
		SKPList:     h.model.SKPs(),
		Evaluations: h.model.Evaluations(),
		Scores:      h.model.Scores(),
		Objections:  h.model.Objections(),
		Timeline:    h.model.Timeline(),
		Audit:       h.model.Audit(),
		Verifier:    verifier{store: h.store, keys: []*merkle.Verifier{h.vkey}, trail: h.model.Audit()},
		Positions:   positions{h.model},
		Idempotency: idem,
		DocumentKey: h.akey,
		Policy:      pol,
		Now:         h.clock.Now,
		Logger:      slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, Config: Config{Authenticator: auth}}
	if h.cfg.appConfig.Blobs, err = blobstore.OpenFolder(filepath.Join(h.dir, blobstore.FolderName)); err != nil {
		h.t.Fatal(err)
	}
	for _, c := range change {
		c(&h.cfg)
	}
	core, err := app.New(h.cfg.appConfig)
	if err != nil {
		h.t.Fatal(err)
	}
	cfg := h.cfg.Config
	cfg.App = core
	h.srv, err = New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
}

// restart closes the idempotency store and opens a new server on the same
// data directory.
func (h *harness) restart() {
	h.t.Helper()
	if err := h.idem.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.openServer()
}

// catchUp applies every stored event to every read model.
func (h *harness) catchUp() {
	h.t.Helper()
	h.catchMu.Lock()
	defer h.catchMu.Unlock()
	for _, sink := range h.model.Sinks() {
		if h.paused[sink.Name()] {
			continue
		}
		cp, err := sink.Checkpoint(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		var batch []projections.Event
		for ev, err := range h.store.ReadAll(h.ctx, eventstore.ReadAllOptions{After: cp}) {
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

// pause leaves the named projections behind from now on (none: every
// projection catches up again).
func (h *harness) pause(names ...string) {
	h.catchMu.Lock()
	defer h.catchMu.Unlock()
	h.paused = map[string]bool{}
	for _, n := range names {
		h.paused[n] = true
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

// token signs a token for c valid from now.
func (h *harness) token(c caller) string {
	h.t.Helper()
	tok, err := h.key.Sign(authkey.Claims{Subject: c.sub, Roles: c.roles, Agency: tokenAgency[c.sub], IssuedAt: h.clock.Now(), TTL: time.Hour})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// response is an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) problem(t testing.TB) Problem {
	t.Helper()
	var p Problem
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, r.status, r.body)
	}
	r.decode(t, &p)
	return p
}

// request is one call: who, method, path, body (a value to encode, a
// string or []byte sent as is, or nil) and headers as name/value pairs.
func (h *harness) request(who *caller, method, path string, body any, headers ...string) response {
	h.t.Helper()
	h.catchUp()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != nil {
		req.Header.Set("Authorization", "Bearer "+h.token(*who))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if h.reqContext != nil {
		req = req.WithContext(h.reqContext(req))
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	resp := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	contract(h.t).check(h.t, req, resp)
	return resp
}

// must is request that fails the test unless the answer has status want.
func (h *harness) must(want int, who caller, method, path string, body any, headers ...string) response {
	h.t.Helper()
	r := h.request(&who, method, path, body, headers...)
	if r.status != want {
		h.t.Fatalf("%s %s as %s = %d %s, want %d", method, path, who.sub, r.status, r.body, want)
	}
	return r
}

// refused checks that a call is answered with a problem of status and
// code.
func (h *harness) refused(status int, code string, who *caller, method, path string, body any, headers ...string) Problem {
	h.t.Helper()
	r := h.request(who, method, path, body, headers...)
	if r.status != status {
		h.t.Fatalf("%s %s = %d %s, want %d %s", method, path, r.status, r.body, status, code)
	}
	p := r.problem(h.t)
	if p.Code != code || p.Status != status || p.Type != problemTypeBase+code || p.Title == "" || p.Errors == nil {
		h.t.Fatalf("%s %s problem = %+v, want code %s", method, path, p, code)
	}
	return p
}

// cast registers the units, the employees and their reporting lines.
func (h *harness) cast() {
	h.t.Helper()
	for _, u := range []CreateUnitBody{{ID: "PEMKOT", Name: "Pemerintah Kota"}, {ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"},
		{ID: "BAPPEDA", Name: "Bappeda", ParentID: "PEMKOT"}} {
		h.must(http.StatusCreated, hr, "POST", "/v1/units", u)
	}
	for _, e := range []struct{ nip, unit, kind string }{
		{nipE, "DINKES", "PELAKSANA"}, {nipA, "DINKES", "JPT_PRATAMA"}, {nipS, "PEMKOT", "JPT_MADYA"}, {nipT, "PEMKOT", "JPT_UTAMA"},
		{nipP, "DINKES", "PELAKSANA"}, {nipX, "BAPPEDA", "PELAKSANA"}, {nipU, "PEMKOT", "JPT_MADYA"},
	} {
		h.must(http.StatusCreated, hr, "POST", "/v1/employees", CreateEmployeeBody{NIP: e.nip, Name: "Pegawai " + e.nip[:8], UnitID: e.unit,
			Position: PositionBody{Kind: e.kind, Title: "Jabatan " + e.kind}})
	}
	for _, l := range [][3]string{{nipE, nipA, nipS}, {nipP, nipA, nipS}, {nipA, nipS, nipT}, {nipS, nipT, nipU}} {
		h.must(http.StatusOK, hr, "PUT", "/v1/employees/"+l[0]+"/reporting-line",
			map[string]string{"appraiser_nip": l[1], "appraiser_superior_nip": l[2], "effective_from": "2026-01-01", "paper_ref": decree})
	}
}

// decree is the paper_ref with which the fixtures enter master data
// effective before the harness's day (an HR backfill from the SK).
const decree = "SK 800/1/2026"

// decreed is the common part of a master-data body effective before today.
func decreed() common { d := decree; return common{PaperRef: &d} }

// skpView decodes an SKP representation.
func skpView(t testing.TB, r response) skp.View {
	t.Helper()
	var v skp.View
	r.decode(t, &v)
	if r.header.Get("ETag") != etag(v.Revision) {
		t.Fatalf("ETag = %q, want %q", r.header.Get("ETag"), etag(v.Revision))
	}
	return v
}

// establishedA drafts, plans and establishes A's SKP (a JPT post citing the
// PK) and returns its id and RHK, the target of E's cascading link.
func (h *harness) establishedA() (id, rhk string) {
	h.t.Helper()
	id = skpView(h.t, h.must(http.StatusCreated, apprA, "POST", "/v1/skps", DraftBody{NIP: nipA, Year: 2026, Approach: "KUANTITATIF"})).ID
	var c Created
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Meningkatnya cakupan imunisasi", Kind: "UTAMA", PKRef: "PK-DINKES-2026-01"}).decode(h.t, &c)
	rhk = c.RHKID
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/rhk/"+rhk+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Cakupan imunisasi dasar lengkap", Target: TargetBody{Value: 95, Unit: "%"}})
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/submit", nil)
	h.must(http.StatusOK, supS, "POST", "/v1/skps/"+id+"/establish", nil)
	return id, rhk
}

// establishedE drafts, plans and establishes E's SKP with an RHK cascaded
// from A's, and returns its id, RHK and indicator.
func (h *harness) establishedE(rhkA string) (id, rhk, ind string) {
	h.t.Helper()
	id = skpView(h.t, h.must(http.StatusCreated, empE, "POST", "/v1/skps", DraftBody{NIP: "19900101 201503 1 001", Year: 2026, Approach: "KUANTITATIF"})).ID
	var c Created
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Terlaksananya imunisasi di 5 puskesmas", Kind: "UTAMA", IntervenedRHKID: rhkA}).decode(h.t, &c)
	rhk = c.RHKID
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/rhk/"+rhk+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Puskesmas yang melaksanakan imunisasi", Target: TargetBody{Value: 5, Unit: "puskesmas"}}).decode(h.t, &c)
	ind = c.IndicatorID
	h.must(http.StatusOK, empE, "POST", "/v1/skps/"+id+"/submit", nil)
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/establish", nil)
	return id, rhk, ind
}

// streamLen returns the number of events in stream.
func (h *harness) streamLen(stream string) int {
	h.t.Helper()
	n := 0
	for _, err := range h.store.ReadStream(h.ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			return n
		}
		n++
	}
	return n
}

// headLen returns the number of events in the store.
func (h *harness) headLen() eventstore.Position {
	h.t.Helper()
	p, err := h.store.Head(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func mustDate(s string) calendar.Date {
	d, err := calendar.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}
