package form

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// input is a form's input: the API's field names, nested as in its JSON
// ("target.value" is Target.Value).
type input struct {
	Text   string `form:"text"`
	Count  int    `form:"count"`
	Target struct {
		Value float64 `form:"value"`
		Unit  string  `form:"unit,required"`
	} `form:"target"`
	Hidden string `form:"-"`
}

func post(lang string, v url.Values) *page.Request {
	r := httptest.NewRequest(http.MethodPost, "/skp/x/indikator", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return &page.Request{Request: r, Lang: lang}
}

func TestDecode(t *testing.T) {
	key := newKey()
	for _, c := range []struct {
		name     string
		lang     string
		values   url.Values
		ok       bool
		problems map[string]string // field → a word of the problem
		general  bool
	}{
		{"valid", "id", url.Values{"_key": {key}, "_revision": {"7"}, "text": {"Cakupan"}, "target.value": {"95.5"}, "count": {"3"}, "target.unit": {"%"}}, true, nil, false},
		{"not a number", "id", url.Values{"_key": {key}, "target.value": {"banyak"}, "count": {"1.5"}, "target.unit": {"%"}},
			false, map[string]string{"target.value": "angka", "count": "bulat"}, false},
		{"in English", "en", url.Values{"_key": {key}, "target.value": {"lots"}, "target.unit": {"%"}}, false, map[string]string{"target.value": "number"}, false},
		{"required", "id", url.Values{"_key": {key}, "text": {"x"}}, false, map[string]string{"target.unit": "Wajib"}, false},
		{"control character", "id", url.Values{"_key": {key}, "text": {"a\x07b"}, "target.unit": {"%"}}, false, map[string]string{"text": "karakter"}, false},
		{"invalid UTF-8", "en", url.Values{"_key": {key}, "text": {"a\xffb"}, "target.unit": {"%"}}, false, map[string]string{"text": "UTF-8"}, false},
		{"no key", "id", url.Values{"text": {"x"}, "target.unit": {"%"}}, false, nil, true},
		{"a key of a form this site did not render", "id", url.Values{"_key": {"bad\x00key"}, "target.unit": {"%"}}, false, nil, true},
		{"a bad revision", "id", url.Values{"_key": {key}, "_revision": {"-1"}, "target.unit": {"%"}}, false, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in input
			st, ok, err := Decode(post(c.lang, c.values), &in)
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (problems %v, general %v)", ok, c.ok, st.Problems, st.General)
			}
			for f, word := range c.problems {
				p := st.Problem(f)
				if p == nil || !strings.Contains(p.Text, word) || !st.Invalid(f) {
					t.Errorf("problem of %s = %+v, want one saying %q", f, p, word)
				}
			}
			if c.general != (len(st.General) > 0) {
				t.Errorf("general problems = %v", st.General)
			}
			if c.ok {
				if in.Target.Value != 95.5 || in.Count != 3 || in.Text != "Cakupan" || !st.HasRevision || st.Revision != 7 || st.Key != key {
					t.Errorf("decoded %+v, state %+v", in, st)
				}
			}
			// The input is kept for the form that comes back.
			if st.Value("text") != c.values.Get("text") {
				t.Errorf("Value(text) = %q, want what was typed", st.Value("text"))
			}
			if !c.ok && st.Key == "" {
				t.Error("a form that came back has no key")
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	body := "_key=" + newKey() + "&text=" + strings.Repeat("a", 2<<20)
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	r.Body = http.MaxBytesReader(w, r.Body, page.MaxFormBytes)
	var in input
	if _, _, err := Decode(&page.Request{Request: r}, &in); err == nil {
		t.Error("a body over the limit decoded")
	}
}

func TestStateHelpers(t *testing.T) {
	st := State{Values: url.Values{"kind": {"UTAMA"}}, Problems: map[string][]string{"b": {"x"}, "a": {"y", "z"}}}
	if !st.Checked("kind", "UTAMA") || st.Checked("kind", "TAMBAHAN") {
		t.Error("Checked")
	}
	if fs := st.ProblemFields(); len(fs) != 2 || fs[0].Field != "a" || fs[0].Text != "y; z" {
		t.Errorf("ProblemFields = %+v", fs)
	}
	if st.Problem("c") != nil || !st.HasProblems() {
		t.Error("Problem of a field without one")
	}
	if r := st.WithRevision(4); !r.HasRevision || r.Revision != 4 || st.HasRevision {
		t.Error("WithRevision")
	}
}

// TestPostProblems: a form that does not decode, or that the feature's
// Check refuses, comes back through Again with 422 and what was typed, and
// its command does not run.
func TestPostProblems(t *testing.T) {
	key := newKey()
	for _, c := range []struct {
		name   string
		values url.Values
		check  func(st *State)
		field  string
	}{
		{"decoding", url.Values{"_key": {key}, "count": {"x"}, "target.unit": {"%"}}, nil, "count"},
		{"the feature's check", url.Values{"_key": {key}, "text": {"Kamis"}, "target.unit": {"%"}},
			func(st *State) { st.AddProblem("text", textBadValue) }, "text"},
		{"both at once", url.Values{"_key": {key}, "text": {"a\x1bb"}, "count": {"x"}, "target.unit": {"%"}},
			func(st *State) { st.AddProblem("target.unit", textBadValue) }, "target.unit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in input
			ran, again := false, false
			err := Post(httptest.NewRecorder(), post("id", c.values), &in, Step{
				Next:  "/done",
				Check: c.check,
				Run:   func(context.Context, app.Services, domain.Request) error { ran = true; return nil },
				Again: func(st State, status int) error {
					again = true
					if status != http.StatusUnprocessableEntity {
						t.Errorf("status %d", status)
					}
					if !st.Invalid(c.field) || st.Value("text") != c.values.Get("text") || st.Key != key {
						t.Errorf("state %+v", st)
					}
					if c.values.Get("count") == "x" && !st.Invalid("count") {
						t.Errorf("state %+v", st)
					}
					return nil
				},
			})
			if err != nil || ran || !again {
				t.Errorf("err %v, ran %v, again %v", err, ran, again)
			}
		})
	}
}

// A stale form's list of changes never names the giver of a 360° answer.
func TestChangesSinceRedactsAnswers(t *testing.T) {
	giver := domain.Actor{ID: "199106062016062006", Role: domain.RoleFeedbackGiver}
	events := []domain.Stored{
		{Revision: 1, Event: skp.FeedbackRoundClosed{RoundID: "r1"}, Meta: domain.Meta{Actor: domain.Actor{ID: "198502022010012002"}}},
		{Revision: 2, Event: skp.FeedbackRoundAnswered{RoundID: "r1", Group: skp.GroupPeer}, Meta: domain.Meta{Actor: giver}},
	}
	got := ChangesSince("id", events, 0)
	if len(got) != 2 || got[0].Actor.ID != "198502022010012002" || got[1].Actor.ID != skp.RedactedActor {
		t.Errorf("ChangesSince = %+v", got)
	}
}
