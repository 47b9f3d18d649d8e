package httpapi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/domain"
)

// commandBodies names every mutation body, for the fuzz test and its
// corpus (testdata/fuzz/FuzzCommandBodies: a few seeds per body, named
// after it).
var commandBodies = map[string]func() any{
	"units.create":           func() any { return new(CreateUnitBody) },
	"units.performance":      func() any { return new(RateUnitBody) },
	"units.head":             func() any { return new(AssignHeadBody) },
	"units.justification":    func() any { return new(JustifyDistributionBody) },
	"employees.create":       func() any { return new(CreateEmployeeBody) },
	"employees.line":         func() any { return new(ReportingLineBody) },
	"employees.position":     func() any { return new(PositionChangeBody) },
	"skps.draft":             func() any { return new(DraftBody) },
	"skps.rhk":               func() any { return new(RHKBody) },
	"skps.indicator":         func() any { return new(IndicatorBody) },
	"skps.expectation":       func() any { return new(ExpectationBody) },
	"skps.action":            func() any { return new(ActionBody) },
	"skps.close":             func() any { return new(CloseBody) },
	"skps.realisation":       func() any { return new(RealisationBody) },
	"skps.evidence":          func() any { return new(EvidenceBody) },
	"skps.feedback":          func() any { return new(FeedbackBody) },
	"evaluations.rate":       func() any { return new(RateBody) },
	"evaluations.issue":      func() any { return new(IssueBody) },
	"objections.file":        func() any { return new(ObjectionBody) },
	"objections.request":     func() any { return new(ExplanationRequestBody) },
	"objections.explanation": func() any { return new(ExplanationBody) },
	"objections.decision":    func() any { return new(DecisionBody) },
}

// FuzzCommandBodies decodes arbitrary bytes as each command body, as the
// handlers do (unknown fields refused, one JSON value). Decoding never
// panics; a failure is always a 400 invalid_request naming what is wrong,
// or a 422 naming the fields with text the ledger may not store;
// and what decodes survives a round trip through JSON unchanged, so the
// API and the OpenAPI document describe the same shape.
func FuzzCommandBodies(f *testing.F) {
	names := make([]string, 0, len(commandBodies))
	for n := range commandBodies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f.Add(n, []byte(`{}`))
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		mk, ok := commandBodies[name]
		if !ok {
			mk = commandBodies[names[len(data)%len(names)]]
		}
		v := mk()
		err := decodeJSON(data, v, true)
		if err != nil {
			switch p := problemOf(err); {
			case errors.Is(err, errInvalidRequest) && p.Status == 400 && p.Code == "invalid_request":
			case errors.Is(err, domain.ErrValidation) && p.Status == 422 && len(p.Errors) > 0:
				// Well-formed, with text the ledger may not store.
			default:
				t.Fatalf("decode error %v gives problem %+v, want 400 invalid_request or 422 naming fields", err, p)
			}
			return
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode %T: %v", v, err)
		}
		w := mk()
		if err := decodeJSON(enc, w, true); err != nil {
			t.Fatalf("re-decode %s as %T: %v", enc, w, err)
		}
		if diff := cmp.Diff(v, w, cmp.Exporter(func(reflect.Type) bool { return true }), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("round trip of %s changed %T (-first +second):\n%s", data, v, diff)
		}
	})
}

// TestCorpusCoversEveryBody keeps the committed corpus in step with the
// bodies.
func TestCorpusCoversEveryBody(t *testing.T) {
	seen := map[string]int{}
	for _, name := range corpusNames(t) {
		seen[name]++
	}
	for n := range commandBodies {
		if seen[n] < 2 {
			t.Errorf("testdata/fuzz/FuzzCommandBodies has %d seeds for %s, want at least 2", seen[n], n)
		}
	}
}

// corpusNames returns the body name of every committed seed.
func corpusNames(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", "FuzzCommandBodies")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) < 3 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s is not a seed of FuzzCommandBodies", e.Name())
		}
		name, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out = append(out, name)
	}
	return out
}

// FuzzMutationRoutes sends arbitrary bodies to every mutation route, each
// on its own ledger brought to a state where the route's valid body
// succeeds (routes_test.go), and requires that no body makes the API fail:
// never a 5xx. The seeds are each route's valid body and the bodies that
// answered 500 before the ledger checked text at its boundary (a reason
// with NUL, a reason over the store's limit in bytes), which every `go
// test` run replays.
func FuzzMutationRoutes(f *testing.F) {
	cases := mutationCases()
	type target struct {
		c routeCase
		h *harness
		x fixture
	}
	targets := map[string]*target{}
	for _, c := range cases {
		h := newHarness(f)
		x := h.setUp(c)
		targets[c.name] = &target{c, h, x}
		valid, err := json.Marshal(c.body(x))
		if err != nil {
			f.Fatal(err)
		}
		// The refused ones first, while the route's state is the one its
		// valid body succeeds in (they used to reach the store's append).
		f.Add(c.name, withRaw(c.body(x), "reason", `a\u0000b`))
		f.Add(c.name, withRaw(c.body(x), "reason", strings.Repeat("é", 5000)))
		f.Add(c.name, []byte("null"))
		f.Add(c.name, valid)
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		tg, ok := targets[name]
		if !ok {
			tg = targets[cases[len(body)%len(cases)].name]
		}
		tg.h.t = t
		r := tg.h.request(&tg.c.who, tg.c.method, tg.c.path(tg.x), body)
		if r.status >= 500 {
			t.Fatalf("%s %s with %q = %d %s", tg.c.method, tg.c.path(tg.x), body, r.status, r.body)
		}
	})
}
