package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// unfitText are raw JSON string contents (between the quotes) the ledger
// must refuse in any text field (issue 9 §1).
var unfitText = []struct{ name, raw string }{
	{"NUL escape", `a\u0000b`},
	{"ESC escape", `\u001b[31m`},
	{"backspace escape", `a\bb`},
	{"form feed escape", `a\fb`},
	{"unit separator at the end", `ab\u001f`},
	{"invalid UTF-8 byte", "a\xffb"},
	{"truncated UTF-8", "a\xc3"},
	{"UTF-8 of a surrogate", "\xed\xa0\x80"},
	{"lone high surrogate", `a\ud800b`},
	{"lone low surrogate", `\udc00`},
	{"high surrogate before another escape", `\ud83d\u0041`},
}

// dateFields are JSON strings that hold dates, not text: anything but a
// date in them is a 400, as for any value of the wrong type.
var dateFields = map[string]bool{"effective_from": true, "follow_up_on": true, "expires_on": true}

// stringLeaves returns the JSON path of every string in body.
func stringLeaves(body map[string]any) []string {
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case string:
			out = append(out, prefix)
		case map[string]any:
			for k, e := range x {
				walk(member(prefix, k), e)
			}
		}
	}
	walk("", body)
	sort.Strings(out)
	return out
}

// withRaw returns body as JSON with the string at path replaced by raw
// (string contents, sent as they are).
func withRaw(body map[string]any, path, raw string) []byte {
	const mark = "\x01MARK\x01"
	var set func(m map[string]any, keys []string) map[string]any
	set = func(m map[string]any, keys []string) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		if len(keys) == 1 {
			out[keys[0]] = mark
		} else {
			inner, _ := out[keys[0]].(map[string]any)
			if inner == nil {
				inner = map[string]any{}
			}
			out[keys[0]] = set(inner, keys[1:])
		}
		return out
	}
	b, err := json.Marshal(set(body, strings.Split(path, ".")))
	if err != nil {
		panic(err)
	}
	quoted, _ := json.Marshal(mark)
	return bytes.Replace(b, quoted, []byte(`"`+raw+`"`), 1)
}

// Every text field of every mutation route, and the reason every mutation
// may carry, refuses NUL, other C0 control characters, invalid UTF-8 and
// unpaired surrogates with 422 naming the field, and appends nothing; the
// valid body still succeeds afterwards. Before this was enforced, 40 of
// these requests answered 500 (a reason the store refused) and the others
// 2xx, storing the text or a silent U+FFFD in its place.
func TestUnfitTextRefusedOnEveryRoute(t *testing.T) {
	for _, c := range mutationCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			f := h.setUp(c)
			body, path := c.body(f), c.path(f)
			fields := append(stringLeaves(body), "reason")
			head := h.headLen()
			for _, field := range fields {
				for _, u := range unfitText {
					r := h.request(&c.who, c.method, path, withRaw(body, field, u.raw))
					if dateFields[field] {
						// Not text: a date with such bytes is not a date.
						if r.status != http.StatusBadRequest {
							t.Errorf("%s with %s = %d %s; want 400", field, u.name, r.status, r.body)
						}
						continue
					}
					if r.status != http.StatusUnprocessableEntity {
						t.Errorf("%s with %s = %d %s; want 422", field, u.name, r.status, r.body)
						continue
					}
					p := r.problem(t)
					if p.Code != "validation_failed" || !slices.ContainsFunc(p.Errors, func(e domain.FieldError) bool { return e.Field == field }) {
						t.Errorf("%s with %s: problem %+v does not name the field", field, u.name, p)
					}
				}
			}
			long := strings.Repeat("é", eventstore.MaxReasonLen/2+1) // fewer characters than any domain limit, more bytes than the store's
			r := h.request(&c.who, c.method, path, withRaw(body, "reason", long))
			if r.status != http.StatusUnprocessableEntity || r.problem(t).Errors[0].Field != "reason" {
				t.Errorf("a reason over the store's limit = %d %s; want 422 naming reason", r.status, r.body)
			}
			if got := h.headLen(); got != head {
				t.Fatalf("refused requests appended %d events", got-head)
			}
			h.must(c.status, c.who, c.method, path, body)
		})
	}
}

// Tab, LF and CR are text; so is U+FFFD sent as itself, and every plane of
// Unicode. They are stored as sent.
func TestTextThatIsFit(t *testing.T) {
	h := newHarness(t)
	c := mutationCases()[slices.IndexFunc(mutationCases(), func(c routeCase) bool { return c.name == "skps.feedback" })]
	f := h.setUp(c)
	for _, text := range []string{"baris satu\r\nbaris dua\ttab", "pengganti \ufffd apa adanya", "emoji 👍 dan 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "pemisah\u2028baris"} {
		body := c.body(f)
		body["text"] = text
		h.must(http.StatusCreated, c.who, c.method, c.path(f), body)
		var evs EventList
		h.must(http.StatusOK, aud, "GET", "/v1/skps/"+f.id+"/events", nil).decode(t, &evs)
		var data struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(evs.Items[len(evs.Items)-1].Data, &data); err != nil || data.Text != text {
			t.Errorf("stored text = %q, %v; want %q", data.Text, err, text)
		}
	}
	// An escaped surrogate pair is one character, not two halves.
	body := withRaw(c.body(f), "text", `\ud83d\udc4d`)
	h.must(http.StatusCreated, c.who, c.method, c.path(f), body)
}

// A caller whose token names a subject the ledger could not record (a
// control character, over the store's limit) is not authenticated.
func TestUnrecordableSubject(t *testing.T) {
	h := newHarness(t)
	for _, sub := range []string{"hr\x00admin", "hr\x1badmin", strings.Repeat("s", eventstore.MaxActorFieldLen+1)} {
		h.refused(http.StatusUnauthorized, "unauthenticated", &caller{sub, []string{"HR_ADMIN"}}, "GET", "/v1/units", nil)
	}
}

// A body that is not a JSON object, null included, is malformed on every
// mutation route, whether the route needs a body or not (null used to
// decode as an empty command: 422, or a success for the routes without a
// required field).
func TestBodyMustBeAnObject(t *testing.T) {
	h := newHarness(t)
	h.cast()
	for _, c := range mutationCases() {
		path := c.path(fixture{id: nipE + "-2026", rhkE: "R", indE: "I"})
		for _, body := range []string{"null", " null ", "[]", `"x"`, "1", "true"} {
			h.refused(http.StatusBadRequest, "invalid_request", &c.who, c.method, path, body)
		}
	}
}

// IDs in the path that no stream could be named by (control characters,
// invalid UTF-8, over the store's 200 characters) are resources that do
// not exist, on every route: never a 5xx (PUT /v1/units/%00/head gave 500).
func TestUnnameableIDsInPaths(t *testing.T) {
	h := newHarness(t)
	f := h.setUp(routeCase{stage: stageEstablished})
	ids := []string{"%00", "%FF", "%01x", "a%20b", "%E2%80%AE", strings.Repeat("a", 300)}
	for _, c := range mutationCases() {
		for _, id := range ids {
			g := fixture{rhkA: f.rhkA, id: id, rhkE: id, indE: id}
			path := strings.NewReplacer("/DINKES/", "/"+id+"/", nipP, id).Replace(c.path(g))
			if r := h.request(&c.who, c.method, path, c.body(f)); r.status >= 500 {
				t.Errorf("%s %s = %d %s", c.method, path, r.status, r.body)
			}
		}
	}
	for _, p := range []string{"/v1/skps/X", "/v1/skps/X/events", "/v1/skps/X/score-history", "/v1/skps/X/evaluations/2026",
		"/v1/employees/X", "/v1/employees/X/timeline", "/v1/employees/X/score-history", "/v1/units/X"} {
		for _, id := range ids {
			h.refused(http.StatusNotFound, "not_found", &aud, "GET", strings.Replace(p, "X", id, 1), nil)
		}
	}
}
