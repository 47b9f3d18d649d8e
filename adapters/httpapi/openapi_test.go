package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gorilla/mux"
)

// TestOpenAPIUpToDate regenerates the document and compares it with the
// committed, embedded openapi.json (-update rewrites it).
func TestOpenAPIUpToDate(t *testing.T) {
	got, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, openAPIDoc) {
		t.Fatal("openapi.json is stale: run go test ./adapters/httpapi -run TestOpenAPIUpToDate -update and review the diff")
	}
}

// loadOpenAPI loads and validates the embedded document with kin-openapi.
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	return doc
}

// TestOpenAPIMatchesRoutes walks the router: every route is documented,
// and every documented operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %s, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	h := newHarness(t)
	var routed []string
	err := h.srv.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // the /v1 subrouter itself
		}
		methods, err := route.GetMethods()
		if err != nil {
			t.Errorf("route %s has no method", tmpl)
			return nil
		}
		for _, m := range methods {
			routed = append(routed, m+" "+tmpl)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(documented)
	slices.Sort(routed)
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("openapi.json documents %s, which is not routed", d)
		}
	}
	if len(routed) < 50 {
		t.Errorf("only %d routes", len(routed))
	}
	// The document served is the embedded one.
	r := h.request(nil, "GET", "/openapi.json", nil)
	if r.status != http.StatusOK || !bytes.Equal(r.body, openAPIDoc) {
		t.Errorf("GET /openapi.json = %d", r.status)
	}
}

// contractChecker validates answers against the document.
type contractChecker struct {
	router routers.Router
}

func newContractChecker(t testing.TB) *contractChecker {
	t.Helper()
	doc := loadOpenAPI(t)
	doc.Servers = nil
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contractChecker{router: r}
}

// check validates one answer to req (JSON and problem bodies; CSV and
// XLSX only by status and media type).
func (c *contractChecker) check(t testing.TB, req *http.Request, resp response) {
	t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return // an unknown path or method: its 404/405 is tested elsewhere
	}
	ct := resp.header.Get("Content-Type")
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.status,
		Header: resp.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true,
			ExcludeResponseBody: !(strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/problem+json"))},
	}
	in.SetBodyBytes(resp.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match openapi.json: %v\nbody: %.600s", req.Method, req.URL, resp.status, err, resp.body)
	}
}

// errRecorder is a testing.TB that keeps the errors reported to it.
type errRecorder struct {
	testing.TB
	errs []string
}

func (r *errRecorder) Errorf(format string, args ...any) { r.errs = append(r.errs, format) }
func (r *errRecorder) Helper()                           {}

// TestContractCheckerCatchesDrift makes sure the harness's check is not
// vacuous: an answer of the wrong shape or status is reported.
func TestContractCheckerCatchesDrift(t *testing.T) {
	c := newContractChecker(t)
	req, _ := http.NewRequest("GET", "/v1/units/PEMKOT", nil)
	hdr := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for _, resp := range []response{
		{status: 200, header: hdr, body: []byte(`{"id": 7}`)},
		{status: 418, header: hdr, body: []byte(`{}`)},
	} {
		rec := &errRecorder{TB: t}
		c.check(rec, req, resp)
		if len(rec.errs) == 0 {
			t.Errorf("answer %d %s passed the contract check", resp.status, resp.body)
		}
	}
}
