package httpapi

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestNoTwoRoutesMatchOnePath: the router tries the routes in the order
// they were registered (the SKP routes first, for the cost of a GET), so
// that order must decide nothing: no two routes with the same method may
// have templates that match one path. Two segments overlap when both are
// the same literal, when one is a variable whose pattern matches the other
// literal, or when both are variables (counted as overlapping unless both
// are plain literals that differ).
func TestNoTwoRoutesMatchOnePath(t *testing.T) {
	h := newHarness(t)
	type route struct{ method, tpl string }
	var routes []route
	err := h.srv.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := r.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := r.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			routes = append(routes, route{m, tpl})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"/v1/skps/{id}", "/v1/skps/search", true},
		{"/v1/skps/{id:[0-9]+}", "/v1/skps/search", false},
		{"/v1/skps/{id}/x", "/v1/units/{id}/x", false},
		{"/v1/skps/{id}", "/v1/skps/{id}/x", false},
	} {
		if got := templatesOverlap(c.a, c.b); got != c.want {
			t.Errorf("templatesOverlap(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if len(routes) < 20 {
		t.Fatalf("walked %d routes: the walk found too few to prove anything", len(routes))
	}
	for i, a := range routes {
		for _, b := range routes[i+1:] {
			if a.method == b.method && templatesOverlap(a.tpl, b.tpl) {
				t.Errorf("%s %s and %s %s match one path: the registration order decides which serves it", a.method, a.tpl, b.method, b.tpl)
			}
		}
	}
}

// segmentPattern is the anchored expression a template segment matches.
func segmentPattern(seg string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for seg != "" {
		i := strings.IndexByte(seg, '{')
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(seg))
			break
		}
		b.WriteString(regexp.QuoteMeta(seg[:i]))
		j := strings.IndexByte(seg[i:], '}')
		if j < 0 {
			b.WriteString(regexp.QuoteMeta(seg[i:]))
			break
		}
		v := seg[i+1 : i+j]
		if k := strings.IndexByte(v, ':'); k >= 0 {
			b.WriteString("(?:" + v[k+1:] + ")")
		} else {
			b.WriteString("[^/]+")
		}
		seg = seg[i+j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func templatesOverlap(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		av, bv := strings.Contains(as[i], "{"), strings.Contains(bs[i], "{")
		switch {
		case !av && !bv:
			if as[i] != bs[i] {
				return false
			}
		case av && !bv:
			if !segmentPattern(as[i]).MatchString(bs[i]) {
				return false
			}
		case !av && bv:
			if !segmentPattern(bs[i]).MatchString(as[i]) {
				return false
			}
		}
	}
	return true
}
