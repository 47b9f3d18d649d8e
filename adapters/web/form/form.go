// Package form is how the dashboard's forms behave, the same for every
// feature: decoding (github.com/gorilla/schema, into a struct whose `form`
// tags are the API's field names), the problems shown beside each field in
// Indonesian or English, the person's input kept when the form comes back
// with problems, post-redirect-get, the revision the form was rendered
// from (a stale form is caught, never applied over someone else's change),
// and an idempotency key per rendered form (a double click or a resubmit
// records once).
//
// # A form, from rendering to the redirect
//
// The GET handler puts a fresh [State] in its page struct ([New], with the
// revision of what it shows when the form edits an SKP), and the template
// writes `{{template "form-state" .Form}}` inside the <form> (the hidden
// key and revision) and, per field, `{{.Form.Value "text"}}` and
// `{{template "field-error" (.Form.Problem "text")}}`. The POST handler
// calls [Decode] into its input struct and then [Submit] with the command
// to run on the application layer's services: on success the browser is
// redirected (303) to the page that shows the result; on a problem the
// person can fix (invalid values, a state that does not allow it, a form
// rendered from an older revision) the handler renders the same page again
// with the returned State and the status Submit gives (422, 409, 412);
// anything else is an error for the error page.
//
// Field names are the API's (snake_case, dots for nesting: "target.value"),
// so that the domain's validation errors land beside the right field.
package form

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/schema"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// The hidden fields every form carries.
const (
	// KeyField carries the rendered form's idempotency key.
	KeyField = "_key"
	// RevisionField carries the revision the form was rendered from.
	RevisionField = "_revision"
)

// State is what a page struct holds for one form: where it posts, its
// idempotency key and revision, what the person typed, and the problems.
type State struct {
	// Action is the path the form posts to.
	Action string
	// Key is the rendered form's idempotency key.
	Key string
	// Revision is the revision of the record the form was rendered from,
	// when HasRevision.
	Revision    uint64
	HasRevision bool
	// Values are the values posted (kept when the form comes back).
	Values url.Values
	// Problems are the problems of each field, by field name; General
	// those of the form as a whole (a refused rule, a stale form).
	Problems map[string][]string
	General  []string
	// Stale is true when the record changed since the form was rendered:
	// the page shows what it is now and asks to send again.
	Stale bool

	lang string
}

// New returns the state of a freshly rendered form posting to action: a
// new idempotency key, no values, no problems.
func New(r *page.Request, action string) State {
	return State{Action: action, Key: newKey(), lang: r.Lang}
}

// WithRevision returns s carrying the revision rev of the record it edits.
func (s State) WithRevision(rev uint64) State {
	s.Revision, s.HasRevision = rev, true
	return s
}

func newKey() string {
	b := make([]byte, 18)
	rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Value returns what the person typed into field (the first value).
func (s State) Value(field string) string { return s.Values.Get(field) }

// Checked reports whether field was posted with value (a checkbox, a radio
// button, a selected option).
func (s State) Checked(field, value string) bool { return slices.Contains(s.Values[field], value) }

// Invalid reports whether field has a problem.
func (s State) Invalid(field string) bool { return len(s.Problems[field]) > 0 }

// FieldProblem is a field's problem as the "field-error" template shows
// it: the field's ID for aria-describedby, and the text.
type FieldProblem struct {
	// Field is the field's name (its input's id is the same, dots and
	// all, which the template turns into "<field>-error").
	Field string
	// Text is the problem in the page's language.
	Text string
}

// Problem returns field's problem for the "field-error" template, or nil.
func (s State) Problem(field string) *FieldProblem {
	if !s.Invalid(field) {
		return nil
	}
	return &FieldProblem{Field: field, Text: strings.Join(s.Problems[field], "; ")}
}

// HasProblems reports whether the form came back with any problem.
func (s State) HasProblems() bool { return len(s.Problems) > 0 || len(s.General) > 0 }

// ProblemFields lists the fields with problems, in name order (the error
// summary links to each).
func (s State) ProblemFields() []FieldProblem {
	var out []FieldProblem
	for f := range s.Problems {
		out = append(out, *s.Problem(f))
	}
	slices.SortFunc(out, func(a, b FieldProblem) int { return strings.Compare(a.Field, b.Field) })
	return out
}

// AddProblem records a problem the feature found itself (a date outside
// what the form allows, a value it parses): beside field, or for the form
// as a whole when field is "". The form is then rendered again, as for a
// problem Decode found.
func (s *State) AddProblem(field string, t i18n.Text) { s.add(field, t) }

// add records a problem with field ("" for the form as a whole).
func (s *State) add(field string, t i18n.Text) {
	s.addText(field, t.In(s.lang))
}

func (s *State) addText(field, text string) {
	if field == "" {
		s.General = append(s.General, text)
		return
	}
	if s.Problems == nil {
		s.Problems = map[string][]string{}
	}
	s.Problems[field] = append(s.Problems[field], text)
}

// Problems of decoding, beside the field.
var (
	textNumber   = i18n.Text{ID: "Harus berupa angka.", EN: "Must be a number."}
	textInteger  = i18n.Text{ID: "Harus berupa bilangan bulat.", EN: "Must be a whole number."}
	textChoice   = i18n.Text{ID: "Pilihan tidak dikenal.", EN: "Unknown choice."}
	textRequired = i18n.Text{ID: "Wajib diisi.", EN: "Required."}
	textBadText  = i18n.Text{ID: "Berisi karakter yang tidak dapat disimpan (karakter kendali atau UTF-8 tidak sah).", EN: "Holds characters that cannot be kept (control characters or invalid UTF-8)."}
	textBadValue = i18n.Text{ID: "Isian tidak valid.", EN: "Invalid value."}
	textBadForm  = i18n.Text{ID: "Formulir tidak lengkap atau rusak. Buka halamannya lagi.", EN: "The form is incomplete or damaged. Open the page again."}
)

// decoder decodes every form: `form` tags, unknown fields ignored (a form
// carries its hidden fields; a value the struct does not name changes
// nothing), at most 100 items in a list.
var decoder = func() *schema.Decoder {
	d := schema.NewDecoder()
	d.SetAliasTag("form")
	d.IgnoreUnknownKeys(true)
	d.MaxSize(100)
	return d
}()

// Decode reads the posted form of r into dst, a pointer to a struct with
// `form:"name"` tags (",required" for a field that must not be empty), and
// returns the form's State (the posted values, key and revision, and a
// problem beside each field that did not decode, or whose text the ledger
// could not keep). ok is false when there is a problem: render the form
// again with the State. A body that is not a form is a *page.ParamError.
// A multipart body (a form with a file) is parsed too; its files are in
// r.MultipartForm.
func Decode(r *page.Request, dst any) (st State, ok bool, err error) {
	parse := r.ParseForm
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		// A form with a file (a page registered with Router.Upload): the
		// fields into PostForm, the files into MultipartForm (beyond
		// MaxFormBytes in temporary files, removed when the request ends).
		parse = func() error { return r.ParseMultipartForm(page.MaxFormBytes) }
	}
	if err := parse(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return st, false, app.ErrTooLarge
		}
		return st, false, page.BadParam("error.form", "")
	}
	st = State{Action: r.URL.Path, Values: r.PostForm, Key: r.PostForm.Get(KeyField), lang: r.Lang}
	if !app.ValidKey(st.Key) {
		// Not a form this site rendered (or one edited by hand).
		st.Key = newKey()
		st.add("", textBadForm)
		return st, false, nil
	}
	if v := r.PostForm.Get(RevisionField); v != "" {
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil {
			st.add("", textBadForm)
			return st, false, nil
		}
		st.Revision, st.HasRevision = n, true
	}
	for k, vs := range r.PostForm {
		for _, v := range vs {
			if domain.TextProblem(v) != "" {
				st.add(k, textBadText)
				break
			}
		}
	}
	if derr := decoder.Decode(dst, r.PostForm); derr != nil {
		var multi schema.MultiError
		if !errors.As(derr, &multi) {
			st.add("", textBadForm)
		}
		for key, e := range multi {
			var conv schema.ConversionError
			var empty schema.EmptyFieldError
			switch {
			case errors.As(e, &empty):
				st.add(empty.Key, textRequired)
			case errors.As(e, &conv):
				st.add(conv.Key, conversionText(conv.Type))
			default:
				st.add(key, textBadValue)
			}
		}
	}
	return st, !st.HasProblems(), nil
}

// conversionText says what a value of type t must be.
func conversionText(t reflect.Type) i18n.Text {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return textBadValue
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return textNumber
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return textInteger
	case reflect.Bool:
		return textChoice
	}
	return textBadValue
}

// Command is what a form runs: a command on the application layer's
// services (keyed copies, so that the events' IDs derive from the form's
// key), as the caller, with the revision the form was rendered from in
// req.IfMatch.
type Command func(ctx context.Context, svc app.Services, req domain.Request) error

// Submit runs cmd under the form's idempotency key (app.App.Keyed) and
// answers: on success, and for a repeat of a form already applied (a
// double click, a resubmit after a lost answer), a redirect (303) to next
// — post-redirect-get — and done=true. When the command is refused for a
// reason the person can act on, it records the problems in st (beside the
// fields for invalid values; for the form as a whole for a refused rule;
// Stale for a form rendered from an older revision) and returns done=false
// with the status to render the form again with (422, 409, 412). Any other
// failure is returned as err, for the error page.
func Submit(w http.ResponseWriter, r *page.Request, st *State, next string, cmd Command) (done bool, status int, err error) {
	a := r.App()
	req := domain.Request{Caller: r.User, CausationID: st.Key, CorrelationID: st.Key}
	if st.HasRevision {
		rev := st.Revision
		req.IfMatch = &rev
	}
	values := url.Values{}
	for k, vs := range st.Values {
		if k != KeyField {
			values[k] = vs
		}
	}
	key := app.Key{Caller: r.User.ID, Key: st.Key, Fingerprint: app.Fingerprint("form/v1", r.URL.Path, values.Encode())}
	var cmdErr error
	_, _, err = a.Keyed(r.Context(), key, func(ctx context.Context) (app.Answer, bool) {
		cmdErr = cmd(ctx, a.Services(ctx), req)
		if cmdErr != nil && !errors.Is(cmdErr, app.ErrApplied) {
			return app.Answer{}, false
		}
		return app.Answer{Status: http.StatusSeeOther, Header: map[string]string{"Location": next}}, true
	})
	if err == nil {
		err = cmdErr
	}
	switch {
	case err == nil, errors.Is(err, app.ErrApplied):
		http.Redirect(w, r.Request, next, http.StatusSeeOther)
		return true, http.StatusSeeOther, nil
	case errors.Is(err, app.ErrKeyReused):
		// The same rendered form was sent before with other values: a
		// new key, so that sending again is a new request.
		st.Key = newKey()
		st.add("", i18n.Text(app.Describe(err).Text))
		return false, http.StatusUnprocessableEntity, nil
	}
	k := app.Describe(err)
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			// The domain's messages are in English, for API clients
			// too; i18n.Problem shows the ones it knows in Indonesian.
			st.addText(f.Field, i18n.Problem(st.lang, f.Message))
		}
		if len(ve.Fields) == 0 {
			st.add("", i18n.Text(k.Text))
		}
	case errors.Is(err, domain.ErrRevisionMismatch):
		st.Stale = true
		st.add("", i18n.Text(k.Text))
	case errors.Is(err, domain.ErrForbidden), errors.Is(err, domain.ErrInvalidState), errors.Is(err, domain.ErrConflict),
		errors.Is(err, domain.ErrObjectionWindowClosed), errors.Is(err, domain.ErrDistributionBlocked), errors.Is(err, domain.ErrConcurrency),
		errors.Is(err, eventstore.ErrEventTooLarge):
		st.add("", i18n.Text(k.Text))
		if d := app.Detail(err); d != "" {
			st.addText("", d)
		}
	default:
		return false, 0, err
	}
	return false, k.Status, nil
}

// Change is one event recorded after the revision a stale form was
// rendered from: what the "form-stale" template lists.
type Change struct {
	// Revision is the event's revision.
	Revision uint64
	// What is the event's name in the page's language.
	What string
	// Actor recorded it, at RecordedAt.
	Actor      domain.Actor
	RecordedAt time.Time
}

// ChangesSince describes the events of a stream after revision after (a
// stale form's State.Revision) in lang: what someone else changed since
// the form was rendered.
func ChangesSince(lang string, events []domain.Stored, after uint64) []Change {
	var out []Change
	for _, ev := range events {
		if ev.Revision > after {
			c := Change{Revision: ev.Revision, What: i18n.Shared["event."+ev.Event.EventType()].In(lang),
				Actor: ev.Meta.Actor, RecordedAt: ev.RecordedAt}
			if skp.RedactedEvent(ev.Event.EventType()) {
				c.Actor = domain.Actor{ID: skp.RedactedActor} // a 360° answer's giver (docs/feedback360.md)
			}
			out = append(out, c)
		}
	}
	return out
}
