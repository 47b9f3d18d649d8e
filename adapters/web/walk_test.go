package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// openedPage is a GET page the walk opened: its route, the URL that opened
// it, who it answered 200 with HTML (nil: anybody), the answer, and the
// wall and CPU time of that first answer.
type openedPage struct {
	pattern, url string
	who          *caller
	resp         response
	took, cpu    time.Duration
}

// isHTML reports whether r is an HTML page.
func isHTML(r response) bool { return strings.HasPrefix(r.header.Get("Content-Type"), "text/html") }

// fillRoute is path with its parameters taken from params; ok is false
// when params lacks one of them (or has it empty).
func fillRoute(path string, params map[string]string) (u string, ok bool) {
	missing := false
	u = routeParam.ReplaceAllStringFunc(path, func(m string) string {
		v, ok := params[routeParam.FindStringSubmatch(m)[1]]
		missing = missing || !ok || v == ""
		return v
	})
	return strings.TrimSuffix(u, "{$}"), !missing
}

// openRoute fills pattern's path from each sample that has its parameters
// in turn and asks for it as each of the sample's callers (else people)
// until an answer is 200 and, when html, HTML: that answer, timed; ok false
// when none is.
func (h *harness) openRoute(pattern string, html bool, samples []budgetSample, people []*caller) (p openedPage, ok bool) {
	h.t.Helper()
	_, path, _ := strings.Cut(pattern, " ")
	for _, s := range samples {
		u, filled := fillRoute(path, s.params)
		if !filled {
			continue
		}
		who := s.who
		if who == nil {
			who = people
		}
		for _, c := range who {
			c0, t0 := cpuTime(), time.Now()
			r := h.get(c, u)
			took, cpu := time.Since(t0), cpuTime()-c0
			if r.status == http.StatusOK && (!html || isHTML(r)) {
				return openedPage{pattern: pattern, url: u, who: c, resp: r, took: took, cpu: cpu}, true
			}
		}
	}
	return openedPage{}, false
}

// openEveryPage is the route walk of the budget, root-budget and
// accessibility tests: every GET route of the router that is not in
// notPages is opened as the first of its sample's callers (or of people;
// a nil caller is anonymous) to whom it answers 200 with HTML, its path
// parameters filled from the first sample that has them all and opens it,
// and fn is given the page. It returns the GET routes no sample opened
// (unopenedPages), in the router's order, for the caller to fail on or
// log.
func (h *harness) openEveryPage(samples []budgetSample, people []*caller, fn func(openedPage)) (unopened []string) {
	h.t.Helper()
	routes := h.handler.Routes()
	opened := map[string]bool{}
	for _, pattern := range routes {
		method, _, ok := strings.Cut(pattern, " ")
		if !ok || method != http.MethodGet {
			continue
		}
		if _, skip := notPages[pattern]; skip {
			continue
		}
		if p, ok := h.openRoute(pattern, true, samples, people); ok {
			opened[pattern] = true
			fn(p)
		}
	}
	return unopenedPages(routes, opened, notPages)
}

// checkNotPages fails t for each route of notPages that a sample opens
// with 200 and HTML: allowlisted as not a page, it had better not be one.
func (h *harness) checkNotPages(t *testing.T, samples []budgetSample, people []*caller) {
	t.Helper()
	for _, pattern := range h.handler.Routes() {
		why, listed := notPages[pattern]
		if !listed {
			continue
		}
		if p, ok := h.openRoute(pattern, false, samples, people); ok && isHTML(p.resp) {
			t.Errorf("%s is allowlisted as not an HTML page (%s), but %s answers 200 with HTML", pattern, why, p.url)
		}
	}
}

// samplesOf are samples with params each, opened by the walk's people.
func samplesOf(params []map[string]string) []budgetSample {
	out := make([]budgetSample, len(params))
	for i, p := range params {
		out[i] = budgetSample{params: p}
	}
	return out
}

// The walk itself over a harness with nothing recorded: anonymously, with
// one empty sample, it opens the sign-in page (a route without parameters that
// answers anybody) and names the start page (which sends the anonymous
// to sign in) and every route with parameters as unopened; a sample fills
// a route's parameters, and a sample lacking one (or giving it empty) does
// not open it.
func TestOpenEveryPage(t *testing.T) {
	h := newHarness(t)
	var opened []string
	unopened := h.openEveryPage(samplesOf([]map[string]string{{}}), []*caller{nil}, func(p openedPage) {
		if p.who != nil || p.resp.status != http.StatusOK || !isHTML(p.resp) || p.url != strings.TrimPrefix(p.pattern, "GET ") {
			t.Errorf("opened %+v", p)
		}
		opened = append(opened, p.pattern)
	})
	if !slices.Contains(opened, "GET /masuk") {
		t.Errorf("the sign-in page was not opened: %q", opened)
	}
	for _, want := range []string{"GET /{$}", "GET /skp/{id}"} {
		if !slices.Contains(unopened, want) {
			t.Errorf("%s is not named unopened: %q", want, unopened)
		}
	}
	for _, p := range unopened {
		if slices.Contains(opened, p) || !strings.HasPrefix(p, "GET ") {
			t.Errorf("unopened names %s", p)
		}
		if _, listed := notPages[p]; listed {
			t.Errorf("unopened names %s, which notPages allowlists", p)
		}
	}
	if u, ok := fillRoute("/skp/{id}/penilaian/{period}", map[string]string{"id": "S1", "period": "2025"}); !ok || u != "/skp/S1/penilaian/2025" {
		t.Errorf("filled %q, %v", u, ok)
	}
	for _, params := range []map[string]string{{"id": "S1"}, {"id": "S1", "period": ""}} {
		if u, ok := fillRoute("/skp/{id}/penilaian/{period}", params); ok {
			t.Errorf("%v filled %q", params, u)
		}
	}
	if u, ok := fillRoute("/{$}", nil); !ok || u != "/" {
		t.Errorf("the start page filled %q, %v", u, ok)
	}
}
