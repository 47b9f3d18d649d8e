package httpapi

// Tenancy isolation (issue 15): every route of the router, derived with
// mux.Walk so that a new route cannot be missed, is called by the agency
// roles of agency B on agency A's resources, and the answer must be the
// one for a resource that does not exist; mutations change nothing; lists
// and reports hold nothing of A. The national roles read what A's own
// readers read, and every mutation is 403 for them.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// tokenAgency is the "agency" claim of the test callers' tokens, by
// subject; callers not named carry none.
var tokenAgency = map[string]string{
	"hr-b": "PEMPROV", "analyst-b": "PEMPROV", "auditor-b": "PEMPROV", "clerk-b": "PEMPROV",
	"auditor-a": "PEMKOT", "analyst-a": "PEMKOT", "hr-a": "PEMKOT", "clerk-a": "PEMKOT",
}

// Callers of the tenancy tests.
var (
	hrB      = caller{"hr-b", []string{"HR_ADMIN"}}
	analystB = caller{"analyst-b", []string{"HR_ANALYST"}}
	audB     = caller{"auditor-b", []string{"AUDITOR"}}
	clerkB   = caller{"clerk-b", []string{"GRIEVANCE_CLERK"}}
	hrAgA    = caller{"hr-a", []string{"HR_ADMIN"}}
	audAgA   = caller{"auditor-a", []string{"AUDITOR"}}
	anAgA    = caller{"analyst-a", []string{"HR_ANALYST"}}
	natAn    = caller{"bkn-analyst", []string{"NATIONAL_ANALYST"}}
	natAud   = caller{"bkn-auditor", []string{"NATIONAL_AUDITOR"}}
	// natHR holds a national role beside an agency role: still never
	// writes.
	natHR = caller{"bkn-hr", []string{"NATIONAL_AUDITOR", "HR_ADMIN"}}
)

const (
	nipB    = "198801012015011011" // an employee of agency B
	nipNone = "198001012005011099" // registered nowhere
)

// unscoped are the route templates the sweep leaves out, each named with
// why. The audit endpoints are swept like every other (per-agency
// Merkle logs).
var unscoped = map[string]string{
	"/v1/ops/projections": "projection status of the deployment, no agency data (positions and lags)",
	"/healthz":            "unauthenticated probe",
	"/readyz":             "unauthenticated probe",
	"/metrics":            "unauthenticated process metrics",
	"/openapi.json":       "the contract",
	"":                    "the router's fallback",
}

// sweepQuery is the query each parameterless read is called with, naming
// agency A's root unit (the sweep swaps it for an unknown unit).
var sweepQuery = map[string]string{
	"/v1/reports/progress":          "?unit=PEMKOT&year=2026",
	"/v1/reports/distribution":      "?unit=PEMKOT&period=2026",
	"/v1/reports/objections":        "?unit=PEMKOT",
	"/v1/objections":                "?unit=PEMKOT",
	"/v1/evaluations":               "?unit=PEMKOT&period=2026",
	"/v1/reports/consequences":      "?unit=PEMKOT&year=2026",
	"/v1/reports/calibration":       "?unit=PEMKOT&year=2026",
	"/v1/reports/development":       "?unit=PEMKOT&year=2026",
	"/v1/reports/improvement-plans": "?unit=PEMKOT",
	"/v1/employees":                 "?unit=PEMKOT",
	"/v1/skps":                      "?nip=" + nipE,
	"/v1/audit/bundle":              "?year=2026&nip=" + nipE,
	"/v1/audit":                     "?agency=PEMKOT",
	"/v1/audit/checkpoint":          "?agency=PEMKOT",
	"/v1/audit/verify":              "?agency=PEMKOT",
}

// asOfRoutes are the reports that take as_of (a past instant or a ledger
// position): the sweep calls each at a few cuts too, as a past state of
// the ledger must be scoped as the present is.
var asOfRoutes = map[string]bool{"/v1/reports/progress": true, "/v1/reports/distribution": true}

// sweepQueries are the queries a route is swept with: sweepQuery's, and
// for a report taking as_of the same at the first position, at a later
// one and at an instant.
func sweepQueries(tpl string) []string {
	q := sweepQuery[tpl]
	if !asOfRoutes[tpl] {
		return []string{q}
	}
	return []string{q, q + "&as_of=1", q + "&as_of=20", q + "&as_of=" + url.QueryEscape(sweepInstant)}
}

// sweepInstant is the as_of instant of the sweep: before the harness's
// clock, after the fixture's first events.
var sweepInstant string

// aTokens are agency A's identifiers, and what replaces each to name a
// resource that does not exist.
var aTokens = [][2]string{
	{"PEMKOT", "NOSUCHROOT"}, {"DINKES", "NOSUCHUNIT"}, {"BAPPEDA", "NOSUCHBAPP"},
	{nipE, "198001012005011091"}, {nipA, "198001012005011092"}, {nipS, "198001012005011093"},
	{nipT, "198001012005011094"}, {nipP, "198001012005011095"}, {nipX, "198001012005011096"}, {nipU, "198001012005011097"},
}

func swapA(s string) string {
	for _, t := range aTokens {
		s = strings.ReplaceAll(s, t[0], t[1])
	}
	return s
}

func unswapA(s string) string {
	for _, t := range aTokens {
		s = strings.ReplaceAll(s, t[1], t[0])
	}
	return s
}

var requestIDField = regexp.MustCompile(`"request_id":"[^"]*"`)

// normal is a response as compared: status and body without the request
// ID, with the unknown identifiers named back as A's.
func normal(r response) string {
	return r.header.Get("Content-Type") + " " + requestIDField.ReplaceAllString(unswapA(string(r.body)), `"request_id":""`)
}

type sweepRoute struct {
	method, tpl string
}

// allRoutes walks the router: every method and path template.
func allRoutes(t *testing.T, s *Server) []sweepRoute {
	t.Helper()
	var out []sweepRoute
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, _ := route.GetPathTemplate()
		methods, _ := route.GetMethods()
		if len(methods) == 0 {
			methods = []string{""}
		}
		for _, m := range methods {
			out = append(out, sweepRoute{m, tpl})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tenancyFixture is agency A (the harness's cast, E's SKP up to an open
// objection) and agency B (a root, a unit, an employee), registered by
// B's HR_ADMIN.
func tenancyFixture(t *testing.T) (*harness, fixture) {
	h := newHarness(t)
	f := h.at(stageObjection)
	h.must(http.StatusCreated, hrB, "POST", "/v1/units", CreateUnitBody{ID: "PEMPROV", Name: "Pemerintah Provinsi"})
	h.must(http.StatusCreated, hrB, "POST", "/v1/units", CreateUnitBody{ID: "DISDIK", Name: "Dinas Pendidikan", ParentID: "PEMPROV"})
	h.must(http.StatusCreated, hrB, "POST", "/v1/employees", CreateEmployeeBody{NIP: nipB, Name: "Pegawai Provinsi", UnitID: "DISDIK",
		Position: PositionBody{Kind: "PELAKSANA", Title: "Pengadministrasi"}})
	return h, f
}

// concrete fills a template with agency A's resources.
func concrete(tpl string, f fixture) string {
	r := strings.NewReplacer("{id}", f.id, "{nip}", nipE, "{period}", "2026", "{rhk_id}", f.rhkE, "{indicator_id}", f.indE,
		"{value}", "BERORIENTASI_PELAYANAN", "{round}", "r1", "{action}", "a1", "{sha256}", strings.Repeat("ab", 32))
	p := r.Replace(tpl)
	if strings.HasPrefix(tpl, "/v1/units/{id}") {
		p = strings.Replace(r.Replace(strings.Replace(tpl, "{id}", "DINKES", 1)), f.id, "DINKES", 1)
	}
	if tpl == "/v1/imports/{id}" {
		p = "/v1/imports/imp-1"
	}
	return p
}

func TestTenancyIsolation(t *testing.T) {
	h, f := tenancyFixture(t)
	sweepInstant = h.clock.Now().UTC().Format(time.RFC3339)
	bodies := map[string]func(fixture) map[string]any{}
	for _, c := range mutationCases() {
		bodies[routeOf(t, h.srv, c.method, c.path(f))] = c.body
	}
	aIDs := []string{"PEMKOT", "DINKES", "BAPPEDA", nipE, nipA, nipS, nipT, nipP, nipX, nipU}
	swept := 0
	for _, rt := range allRoutes(t, h.srv) {
		if why, ok := unscoped[rt.tpl]; ok {
			t.Logf("not swept: %s %s (%s)", rt.method, rt.tpl, why)
			continue
		}
		swept++
		for _, query := range sweepQueries(rt.tpl) {
			pathA := concrete(rt.tpl, f) + query
			var body any
			if b := bodies[rt.method+" "+rt.tpl]; b != nil {
				j, _ := json.Marshal(b(f))
				body = j
			}
			for _, who := range []caller{hrB, analystB, audB, clerkB} {
				before := h.headLen()
				ra := h.request(&who, rt.method, pathA, body)
				var bodyX any
				if j, ok := body.([]byte); ok {
					bodyX = []byte(swapA(string(j)))
				}
				if swapA(pathA) == pathA && (body == nil || swapA(string(body.([]byte))) == string(body.([]byte))) {
					// The call names nothing of A (registering an official,
					// a collection read): it is B's own business; the list
					// check below looks at what it answers.
					if rt.method != http.MethodGet {
						continue
					}
				}
				rx := h.request(&who, rt.method, swapA(pathA), bodyX)
				if rt.method != http.MethodGet {
					if after := h.headLen(); after != before {
						t.Errorf("%s %s as %s: the log grew from %d to %d (A: %d %s)", rt.method, pathA, who.sub, before, after, ra.status, ra.body)
					}
				}
				if ra.status != rx.status || normal(ra) != normal(rx) {
					t.Errorf("%s %s as %s: A's resource answers %d %s; an unknown one %d %s", rt.method, pathA, who.sub, ra.status, ra.body, rx.status, rx.body)
				}
				if ra.status < 300 {
					for _, id := range aIDs {
						if bytes.Contains(ra.body, []byte(id)) && !strings.Contains(pathA, id) {
							t.Errorf("%s %s as %s answers %d with A's %s: %s", rt.method, pathA, who.sub, ra.status, id, ra.body)
							break
						}
					}
				}
				// The same list or report without naming a unit holds nothing
				// of A either (counts included: the body names no A unit or
				// person, and an agency-wide count is B's).
				if rt.method == http.MethodGet && !strings.Contains(rt.tpl, "{") {
					r := h.request(&who, rt.method, rt.tpl+strings.ReplaceAll(strings.ReplaceAll(query, "unit=PEMKOT&", ""), "?unit=PEMKOT", ""), nil)
					for _, id := range aIDs {
						if bytes.Contains(r.body, []byte(id)) {
							t.Errorf("GET %s as %s answers %d with A's %s: %s", rt.tpl, who.sub, r.status, id, r.body)
							break
						}
					}
				}
			}
		}
	}
	if swept < 80 {
		t.Fatalf("swept %d routes: the walk missed the router", swept)
	}
}

// A national role reads what agency A's own readers read (the same
// status, on every GET of A's resources), and never writes: every
// mutation is 403, whatever else the token holds.
func TestTenancyNationalRoles(t *testing.T) {
	h, f := tenancyFixture(t)
	bodies := map[string]func(fixture) map[string]any{}
	for _, c := range mutationCases() {
		bodies[routeOf(t, h.srv, c.method, c.path(f))] = c.body
	}
	for _, rt := range allRoutes(t, h.srv) {
		if _, ok := unscoped[rt.tpl]; ok {
			continue
		}
		path := concrete(rt.tpl, f) + sweepQuery[rt.tpl]
		// The audit verification is a POST that records nothing: a read.
		if rt.method == http.MethodGet || rt.tpl == "/v1/audit/verify" {
			for _, pair := range [][2]caller{{natAn, anAgA}, {natAud, audAgA}} {
				own := h.request(&pair[1], rt.method, path, nil)
				nat := h.request(&pair[0], rt.method, path, nil)
				if own.status != nat.status {
					t.Errorf("GET %s: %s answers %d, %s %d %s", path, pair[1].sub, own.status, pair[0].sub, nat.status, nat.body)
				}
			}
			continue
		}
		var body any
		if b := bodies[rt.method+" "+rt.tpl]; b != nil {
			j, _ := json.Marshal(b(f))
			body = j
		}
		for _, who := range []caller{natAn, natAud, natHR} {
			before := h.headLen()
			r := h.request(&who, rt.method, path, body)
			if r.status != http.StatusForbidden && !(r.status == http.StatusBadRequest || r.status == http.StatusUnsupportedMediaType) {
				t.Errorf("%s %s as %s = %d %s, want 403", rt.method, path, who.sub, r.status, r.body)
			}
			if h.headLen() != before {
				t.Errorf("%s %s as %s changed the log", rt.method, path, who.sub)
			}
		}
	}
}

// Without an agency claim, the agency roles act while the deployment
// holds one agency (every existing token), and nowhere once it holds two.
func TestTenancyClaimlessTokens(t *testing.T) {
	h := newHarness(t)
	f := h.at(stageCast)
	_ = f
	h.must(http.StatusOK, hr, "GET", "/v1/employees/"+nipE, nil)
	h.must(http.StatusOK, hrAgA, "GET", "/v1/employees/"+nipE, nil)
	h.must(http.StatusNotFound, hrB, "GET", "/v1/employees/"+nipE, nil)
	h.must(http.StatusCreated, hrB, "POST", "/v1/units", CreateUnitBody{ID: "PEMPROV", Name: "Pemerintah Provinsi"})
	h.refused(http.StatusNotFound, "not_found", &hr, "GET", "/v1/employees/"+nipE, nil)
	h.refused(http.StatusForbidden, "forbidden", &hr, "POST", "/v1/units", CreateUnitBody{ID: "X1", Name: "X", ParentID: "PEMKOT"})
	h.must(http.StatusOK, hrAgA, "GET", "/v1/employees/"+nipE, nil)
	// An employee's own token needs no claim: relationship roles are
	// unchanged.
	h.must(http.StatusOK, empE, "GET", "/v1/employees/"+nipE, nil)
	var list UnitList
	h.must(http.StatusOK, hrB, "GET", "/v1/units", nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != "PEMPROV" {
		t.Fatalf("B's units = %+v, want PEMPROV alone", list.Items)
	}
	h.must(http.StatusOK, natAn, "GET", "/v1/units", nil).decode(t, &list)
	if len(list.Items) != 4 {
		t.Fatalf("the national analyst's units = %d, want all 4", len(list.Items))
	}
}

// A cross-agency transfer needs the source agency's release: without one,
// the destination's HR_ADMIN moving another agency's employee gets the
// answer of an unknown NIP and records nothing; the source's HR records
// the release (naming the destination), the destination records the
// move, which consumes the release. The source's HR cannot push the
// person out; the history stays whole and follows the person for reads;
// writes on the SKP stay with the agency that drafted it.
func TestTenancyTransfer(t *testing.T) {
	h, f := tenancyFixture(t)
	move := map[string]any{"unit_id": "DISDIK", "kind": "PELAKSANA", "title": "Pengadministrasi", "effective_from": "2027-01-08"}
	posBody := func() map[string]any {
		return map[string]any{"unit_id": move["unit_id"], "position": map[string]any{"kind": "PELAKSANA", "title": "Pengadministrasi"}, "effective_from": move["effective_from"]}
	}
	before := h.headLen()
	p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &hrAgA, "PUT", "/v1/employees/"+nipE+"/position", posBody())
	if h.headLen() != before || len(p.Errors) == 0 || p.Errors[0].Field != "unit_id" {
		t.Fatalf("the source agency's HR pushed the employee out: %+v", p)
	}
	// Without a release, A's employee is to B one that is not registered.
	taken := h.request(&hrB, "PUT", "/v1/employees/"+nipE+"/position", posBody())
	unknown := h.request(&hrB, "PUT", "/v1/employees/"+nipNone+"/position", posBody())
	if taken.status != http.StatusNotFound || h.headLen() != before ||
		normal(taken) != strings.ReplaceAll(normal(unknown), nipNone, nipE) {
		t.Fatalf("B took A's employee without a release: %d %s; unknown NIP: %d %s", taken.status, taken.body, unknown.status, unknown.body)
	}
	today := h.clock.Now()
	release := func(to string, days int) map[string]any {
		return map[string]any{"to_agency": to, "expires_on": today.AddDate(0, 0, days).Format("2006-01-02"), "decree_ref": "800/12/BKPSDM"}
	}
	// B cannot release A's employee to itself; A names a real other agency
	// and a date in range.
	h.refused(http.StatusNotFound, "not_found", &hrB, "PUT", "/v1/employees/"+nipE+"/transfer-release", release("PEMPROV", 30))
	for name, c := range map[string]struct {
		body  map[string]any
		field string
	}{
		"unknown agency":  {release("NOSUCHROOT", 30), "to_agency"},
		"a unit, no root": {release("DISDIK", 30), "to_agency"},
		"own agency":      {release("PEMKOT", 30), "to_agency"},
		"control chars":   {release("PEM\x00PROV", 30), "to_agency"},
		"expired":         {release("PEMPROV", -1), "expires_on"},
		"too far":         {release("PEMPROV", 400), "expires_on"},
		"huge decree":     {map[string]any{"to_agency": "PEMPROV", "expires_on": today.AddDate(0, 0, 30).Format("2006-01-02"), "decree_ref": strings.Repeat("x", 5000)}, "decree_ref"},
	} {
		p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &hrAgA, "PUT", "/v1/employees/"+nipE+"/transfer-release", c.body)
		if len(p.Errors) == 0 || p.Errors[0].Field != c.field || h.headLen() != before {
			t.Fatalf("%s: %+v", name, p)
		}
	}
	h.must(http.StatusOK, hrAgA, "PUT", "/v1/employees/"+nipE+"/transfer-release", release("PEMPROV", 30))
	afterRelease := h.headLen()
	h.must(http.StatusOK, hrAgA, "PUT", "/v1/employees/"+nipE+"/transfer-release", release("PEMPROV", 30))
	if h.headLen() != afterRelease {
		t.Fatal("the same release recorded twice")
	}
	// Released, not moved: the person and their SKPs are still A's only.
	listed := func(who caller, query string) bool {
		t.Helper()
		var page SKPPage
		h.must(http.StatusOK, who, "GET", "/v1/skps"+query, nil).decode(t, &page)
		return slices.ContainsFunc(page.Items, func(s skps.Summary) bool { return s.ID == f.id })
	}
	if listed(hrB, "") || listed(hrB, "?nip="+nipE) {
		t.Fatal("B lists A's SKP of a person A only released")
	}
	h.must(http.StatusOK, hrB, "PUT", "/v1/employees/"+nipE+"/position", posBody())
	// History follows the person into B's SKP lists (the agency's list and
	// the employee's), not into B's unit-filtered lists (by the drafting
	// unit, as the unit reports); A keeps listing the SKP it drafted.
	for _, c := range []struct {
		who   caller
		query string
		want  bool
	}{
		{hrB, "", true}, {hrB, "?nip=" + nipE, true}, {hrB, "?year=2026", true}, {analystB, "", true},
		{hrB, "?unit=DISDIK", false}, {hrB, "?unit=PEMPROV", false},
		{hrAgA, "", true}, {hrAgA, "?nip=" + nipE, true}, {hrAgA, "?unit=DINKES", true},
	} {
		if got := listed(c.who, c.query); got != c.want {
			t.Errorf("GET /v1/skps%s as %s lists A's SKP of the moved person: %v, want %v", c.query, c.who.sub, got, c.want)
		}
	}
	// The person is B's now: B's HR reads them and their earlier SKP; A's
	// HR reads the SKP A made, not the person.
	h.must(http.StatusOK, hrB, "GET", "/v1/employees/"+nipE, nil)
	h.must(http.StatusOK, hrB, "GET", "/v1/skps/"+f.id, nil)
	h.must(http.StatusOK, audB, "GET", "/v1/skps/"+f.id+"/events", nil)
	h.must(http.StatusOK, hrAgA, "GET", "/v1/skps/"+f.id, nil)
	h.refused(http.StatusNotFound, "not_found", &hrAgA, "GET", "/v1/employees/"+nipE, nil)
	// Reading is not writing: B's HR and clerk change nothing on the SKP
	// A drafted.
	moved := h.headLen()
	h.refused(http.StatusForbidden, "forbidden", &hrB, "POST", "/v1/skps/"+f.id+"/cancel", map[string]any{"reason": "Salah input"})
	h.refused(http.StatusForbidden, "forbidden", &hrB, "POST", "/v1/skps/"+f.id+"/close", map[string]any{"effective_from": "2027-01-08", "reason": "Mutasi"})
	if h.headLen() != moved {
		t.Fatal("B's HR wrote on the SKP A drafted")
	}
	if !slices.Contains([]int{http.StatusOK}, h.request(&empE, "GET", "/v1/employees/"+nipE+"/timeline", nil).status) {
		t.Fatal("the employee lost their timeline")
	}
}

// An import may touch only the units and people of the caller's agency:
// B's HR_ADMIN importing rows that name A's unit, or A's appraiser for a
// unit of B, is refused row by row and records nothing, exactly as for
// a unit or an appraiser that does not exist.
func TestTenancyImports(t *testing.T) {
	h, _ := tenancyFixture(t)
	head := h.headLen()
	dated := strings.NewReplacer("2026-01-05", "2027-01-08", "05-01-2026", "08-01-2027").Replace(importFile)
	for _, file := range []string{
		dated, // DINKES rows appraised by A
		"\ufeffNIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;TMT\n" +
			nipN1 + ";Nina;PELAKSANA;Pengadministrasi Umum;DISDIK;" + nipA + ";2027-01-08\n",
	} {
		loc := h.must(http.StatusAccepted, hrB, "POST", "/v1/imports?paper_ref=SK-1%2F2026&filename=pegawai.csv", file, "Content-Type", "text/csv").header.Get("Location")
		st := h.awaitImport(hrB, loc)
		if st.Applied != 0 || h.headLen() != head {
			t.Fatalf("B's import of A's units or appraisers applied %d rows: %+v", st.Applied, st)
		}
		unknown := h.must(http.StatusAccepted, hrB, "POST", "/v1/imports?paper_ref=SK-1%2F2026&filename=pegawai2.csv", swapA(file), "Content-Type", "text/csv").header.Get("Location")
		su := h.awaitImport(hrB, unknown)
		ja, _ := json.Marshal(st.Rows)
		ju, _ := json.Marshal(su.Rows)
		if unswapA(string(ju)) != string(ja) {
			t.Errorf("rows naming A answer\n%s\nrows naming nobody\n%s", ja, ju)
		}
	}
	// A's own HR imports them as before.
	loc := h.must(http.StatusAccepted, hrAgA, "POST", "/v1/imports?paper_ref=SK-1%2F2026&filename=pegawai.csv", dated, "Content-Type", "text/csv").header.Get("Location")
	if st := h.awaitImport(hrAgA, loc); st.Applied != 2 {
		t.Fatalf("A's import: %+v", st)
	}
}

// With the claim required (kinerjad --require-agency-claim), a claimless
// token's agency roles act nowhere even while the deployment holds one
// agency; a token that names the agency acts as before.
func TestTenancyRequireAgencyClaim(t *testing.T) {
	h := newHarness(t, func(s *settings) {
		s.appConfig.RequireAgencyClaim = true
		// The cast's HR_ADMIN names the agency.
		s.Authenticator = principals{inner: s.Authenticator, as: map[string]domain.Principal{
			hr.sub: {ID: hr.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PEMKOT"},
		}}
	})
	h.at(stageCast)
	noClaim := caller{"hr-noclaim", []string{"HR_ADMIN"}}
	before := h.headLen()
	h.refused(http.StatusNotFound, "not_found", &noClaim, "GET", "/v1/employees/"+nipE, nil)
	h.refused(http.StatusForbidden, "forbidden", &noClaim, "POST", "/v1/units", CreateUnitBody{ID: "X1", Name: "X", ParentID: "PEMKOT"})
	if h.headLen() != before {
		t.Fatal("a claimless token wrote")
	}
	h.must(http.StatusOK, hrAgA, "GET", "/v1/employees/"+nipE, nil)
	h.must(http.StatusOK, empE, "GET", "/v1/employees/"+nipE, nil)
}

// An official's unit_id places it in an agency: another agency's unit
// answers as an unknown one, and nothing is recorded.
func TestTenancyOfficialUnit(t *testing.T) {
	h, _ := tenancyFixture(t)
	before := h.headLen()
	theirs := h.request(&hrB, "POST", "/v1/officials", OfficialBody{ID: "KADINKES", Kind: "HEAD_OF_AGENCY", Title: "Kepala", UnitID: "DINKES"})
	none := h.request(&hrB, "POST", "/v1/officials", OfficialBody{ID: "KADINKES", Kind: "HEAD_OF_AGENCY", Title: "Kepala", UnitID: "NOSUCHUNIT"})
	if theirs.status != http.StatusUnprocessableEntity || normal(theirs) != normal(none) || h.headLen() != before {
		t.Fatalf("B placing an official in A's unit: %d %s; an unknown unit: %d %s", theirs.status, theirs.body, none.status, none.body)
	}
	h.must(http.StatusCreated, hrB, "POST", "/v1/officials", OfficialBody{ID: "KADISDIK", Kind: "HEAD_OF_AGENCY", Title: "Kepala", UnitID: "DISDIK"})
}
