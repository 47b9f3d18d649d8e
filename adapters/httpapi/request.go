package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	idemStateKey
)

// principal returns the authenticated caller of r (zero outside /v1).
func principal(r *http.Request) domain.Principal {
	p, _ := r.Context().Value(principalKey).(domain.Principal)
	return p
}

// principalOf returns the authenticated caller of a request's context.
func principalOf(ctx context.Context) domain.Principal {
	p, _ := ctx.Value(principalKey).(domain.Principal)
	return p
}

// requestID returns r's request ID ("" outside AccessLog).
func requestID(r *http.Request) string { return record(r).id }

// validToken reports whether s is 1 to max printable ASCII characters
// (header values the API keeps: request, correlation and idempotency keys).
func validToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func newID() string {
	if u, err := uuid.NewV7(); err == nil {
		return u.String()
	}
	return uuid.NewString()
}

// limitBody caps request bodies at MaxBodyBytes (the evidence upload's at
// the evidence file limit); reading past it fails with
// *http.MaxBytesError (413).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.bodyLimit(r)
		if r.ContentLength > limit {
			s.writeError(w, r, errTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// authenticate is the /v1 middleware: a valid bearer token or 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			s.writeError(w, r, &authError{errors.New("no bearer token")})
			return
		}
		p, err := s.cfg.Authenticator.Authenticate(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			s.writeError(w, r, &authError{err})
			return
		}
		if p.ID == "" {
			s.writeError(w, r, &authError{errors.New("the token names no caller")})
			return
		}
		if domain.TextProblem(p.ID) != "" || len(p.ID) > eventstore.MaxActorFieldLen {
			// Every event the caller causes records the name; the ledger
			// could not keep this one.
			s.writeError(w, r, &authError{errors.New("the token's subject is not a name the ledger can record")})
			return
		}
		ctx := r.Context()
		if pf := s.prefetch[mux.CurrentRoute(r)]; pf != nil {
			// The route's reads and what the tenancy check needs, in one
			// round trip (readPrefetched).
			ctx = pf(ctx, p, r)
		}
		// Tenancy: a token without an agency keeps its agency roles only
		// while the deployment holds one agency (app.Principal).
		if p, err = s.app.Principal(ctx, p); err != nil {
			s.writeError(w, r, err)
			return
		}
		record(r).subject = p.ID
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, principalKey, p)))
	})
}

// common is what every mutation body may carry besides its own fields.
type common struct {
	// OccurredAt is business time (default now; never in the future).
	OccurredAt *time.Time `json:"occurred_at,omitempty"`
	// Reason justifies the request; commands that need one read it.
	Reason string `json:"reason,omitempty"`
	// PaperRef makes the request a backfill: the entry of an act done
	// earlier on signed paper, dated up to the backfill's maximum age back
	// (domain.md §10). Only roles that hold the backfill of the act may
	// send it (else 403).
	PaperRef *string `json:"paper_ref,omitempty"`
	// OnBehalfOf names the signer of the paper (an NIP) for whom a
	// backfilling clerk records it; only with paper_ref.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
}

// readBody reads r's body (bounded by limitBody).
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, tooLarge.Limit)
	case err != nil:
		return nil, badRequest("", "reading the body: %v", err)
	}
	return b, nil
}

// decodeBody decodes r's JSON body into v. An empty body is allowed unless
// required; unknown fields, wrong types and trailing data are 400.
func decodeBody(r *http.Request, v any, required bool) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSON(b, v, required)
}

// decodeJSON is decodeBody on bytes (the fuzz tests call it). A body that
// decodes is then read for text the ledger may not store and for nulls in
// fields that cannot be null (checkBody): 422 naming each such field.
func decodeJSON(b []byte, v any, required bool) error {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		if required {
			return badRequest("", "a JSON body is required")
		}
		return nil
	}
	if trimmed[0] != '{' {
		// encoding/json decodes null into a struct as "nothing", which
		// would make `null` an empty command (issue 9 §4).
		return badRequest("", "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "the body holds more than one JSON value")
	}
	return checkBody(b, v)
}

// jsonError turns a decoding error into a 400 naming the field.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest("", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return badRequest("", "the body must be a JSON object")
		}
		return badRequest(field, "must be %s", kindName(typ.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: unexpected end")
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return badRequest(strings.Trim(name, `"`), "unknown field")
	}
	return badRequest("", "invalid value: %s", strings.TrimPrefix(msg, "json: "))
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

// domainRequest builds the domain request of a mutation from r and the
// body's common part.
func domainRequest(r *http.Request, c common) (domain.Request, error) {
	req := domain.Request{
		Caller:      principal(r),
		CausationID: requestID(r),
		Reason:      strings.TrimSpace(c.Reason),
	}
	if len(req.Reason) > eventstore.MaxReasonLen {
		// Every route refuses it alike, whether its command stores the
		// reason or not; the store could not keep it.
		return req, domain.Invalid("reason", "at most %d bytes of UTF-8, got %d", eventstore.MaxReasonLen, len(req.Reason))
	}
	req.CorrelationID = r.Header.Get("X-Correlation-ID")
	if !validToken(req.CorrelationID, 100) {
		req.CorrelationID = req.CausationID
	}
	if c.OccurredAt != nil {
		req.OccurredAt = *c.OccurredAt
		if req.OccurredAt.IsZero() {
			return req, domain.Invalid("occurred_at", "must be a time with zone")
		}
	}
	switch {
	case c.PaperRef != nil:
		req.Backfill = &domain.BackfillRequest{PaperRef: *c.PaperRef, OnBehalfOf: c.OnBehalfOf}
	case c.OnBehalfOf != "":
		return req, domain.Invalid("on_behalf_of", "only with paper_ref (a backfill)")
	}
	m, err := parseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return req, err
	}
	req.IfMatch = m
	return req, nil
}

// parseIfMatch reads If-Match: `"<revision>"` (or W/"<revision>", or the
// bare number); "*" and an empty header impose nothing.
func parseIfMatch(h string) (*uint64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return nil, nil
	}
	v := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil, badRequest("If-Match", `must be the ETag of a representation, "<revision>"`)
	}
	return &n, nil
}

// etag is the ETag of a representation at revision rev.
func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	// A known length spares the chunked encoding (and its extra writes).
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err = w.Write(b)
	if err != nil {
		return nil // the client went away; nothing to tell it
	}
	return nil
}

// writeVersioned writes v, a representation at revision rev, with its
// ETag.
func writeVersioned(w http.ResponseWriter, status int, rev uint64, v any) error {
	w.Header().Set("ETag", etag(rev))
	return writeJSON(w, status, v)
}

// pathVar returns the path variable name.
func pathVar(r *http.Request, name string) string { return mux.Vars(r)[name] }

// query reads the query parameters of a read.
type query struct {
	r      *http.Request
	errs   []error
	vals   url.Values // parsed at the first get of a request with a query
	parsed bool
}

func newQuery(r *http.Request) *query { return &query{r: r} }

// get is r.URL.Query().Get(name), parsing the query once per request (and
// not at all when it is empty, as on most reads).
func (q *query) get(name string) string {
	if q.r.URL.RawQuery == "" {
		return ""
	}
	if !q.parsed {
		q.vals, q.parsed = q.r.URL.Query(), true
	}
	return q.vals.Get(name)
}

func (q *query) str(name string, max int) string {
	v := q.get(name)
	if len(v) > max {
		q.errs = append(q.errs, badRequest(name, "at most %d characters", max))
		return ""
	}
	if msg := domain.TextProblem(v); msg != "" {
		// No read model holds such text, and PostgreSQL refuses it as a
		// query parameter (22021, a 500): the parameter is malformed.
		q.errs = append(q.errs, badRequest(name, "%s", msg))
		return ""
	}
	return v
}

// enum reads a parameter that must be one of values (or absent: "").
// Unknown enumeration values are 400 (api.md), not a filter that matches
// nothing.
func (q *query) enum(name string, values []string) string {
	v := q.get(name)
	if v == "" || slices.Contains(values, v) {
		return v
	}
	q.errs = append(q.errs, badRequest(name, "must be one of %s", strings.Join(values, ", ")))
	return ""
}

func (q *query) int(name string, def, min, max int) int {
	v := q.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		q.errs = append(q.errs, badRequest(name, "must be an integer from %d to %d", min, max))
		return def
	}
	return n
}

func (q *query) uint(name string) (uint64, bool) {
	v := q.get(name)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		q.errs = append(q.errs, badRequest(name, "must be a non-negative integer"))
		return 0, false
	}
	return n, true
}

func (q *query) time(name string) time.Time {
	t, _ := q.timeOpt(name)
	return t
}

// timeOpt is time that also says whether the parameter was given: the zero
// instant (0001-01-01T00:00:00Z) is a time a client may send.
func (q *query) timeOpt(name string) (time.Time, bool) {
	v := q.get(name)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && strings.Contains(v, " ") {
		// An unencoded "+07:00" arrives as " 07:00" (a '+' in a query
		// means a space); take it as the client meant it.
		t, err = time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+"))
	}
	if err != nil {
		q.errs = append(q.errs, badRequest(name, "must be an RFC 3339 time with zone, e.g. 2026-03-31T10:00:00+07:00"))
		return time.Time{}, false
	}
	return t, true
}

func (q *query) boolPtr(name string) *bool {
	v := q.get(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.errs = append(q.errs, badRequest(name, "must be true or false"))
		return nil
	}
	return &b
}

func (q *query) err() error { return errors.Join(q.errs...) }
