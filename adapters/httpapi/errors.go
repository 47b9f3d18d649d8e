package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// handlerFunc is an API handler: it writes a success response itself and
// returns any failure, which [Server.handle] renders as a problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Errors of the HTTP layer itself. The domain's kinds (domain.ErrNotFound,
// …) are the others the table knows.
var (
	// errInvalidRequest: malformed JSON, wrong types, unknown fields, bad
	// query parameters or headers (a *requestError carries the field).
	errInvalidRequest = errors.New("invalid request")
	// errUnauthenticated: no token or a bad one.
	errUnauthenticated = errors.New("unauthenticated")
	// errTooLarge: the body is over the limit.
	errTooLarge = errors.New("payload too large")
	// errKeyReused: an Idempotency-Key repeated with another request.
	errKeyReused = errors.New("idempotency key reused with a different request")
	// errMethodNotAllowed: the path exists, the method does not.
	errMethodNotAllowed = errors.New("method not allowed")
	// errUnavailable: the service is not ready.
	errUnavailable = errors.New("unavailable")
)

// problemRow is one row of the error table.
type problemRow struct {
	kind   error
	status int
	code   string
	title  string
}

// problemTable maps every error kind to its status and stable code (api.md,
// "Errors"). The first row whose kind matches (errors.Is) wins; anything
// else is 500 internal.
var problemTable = []problemRow{
	{errInvalidRequest, http.StatusBadRequest, "invalid_request", "The request is malformed"},
	{errUnauthenticated, http.StatusUnauthorized, "unauthenticated", "Authentication required"},
	{domain.ErrForbidden, http.StatusForbidden, "forbidden", "Not allowed"},
	{domain.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{directory.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{skps.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{errMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed"},
	{skps.ErrBadCursor, http.StatusBadRequest, "invalid_request", "The request is malformed"},
	{domain.ErrConflict, http.StatusConflict, "conflict", "The resource already exists"},
	// The stream kept changing under the command until it gave up
	// (app.Streams): nothing was written, the caller may repeat it after
	// Retry-After. Not "conflict", which says the resource already exists
	// and repeating will not help.
	{domain.ErrConcurrency, http.StatusConflict, "contention", "The resource kept changing; repeat the request"},
	{domain.ErrInvalidState, http.StatusConflict, "invalid_state", "Not allowed in the current state"},
	{domain.ErrRevisionMismatch, http.StatusPreconditionFailed, "revision_mismatch", "If-Match names an older revision"},
	{errTooLarge, http.StatusRequestEntityTooLarge, "payload_too_large", "The body is too large"},
	{errHeaderTooLarge, http.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "The request headers are too large"},
	{errNotImplemented, http.StatusNotImplemented, "not_implemented", "Not implemented"},
	{eventstore.ErrEventTooLarge, http.StatusRequestEntityTooLarge, "payload_too_large", "The body is too large"},
	{domain.ErrValidation, http.StatusUnprocessableEntity, "validation_failed", "Invalid values"},
	{domain.ErrObjectionWindowClosed, http.StatusUnprocessableEntity, "objection_window_closed", "The objection window is closed"},
	{errKeyReused, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key reused with a different request"},
	{errUnavailable, http.StatusServiceUnavailable, "unavailable", "Not ready"},
	{eventstore.ErrNoSpace, http.StatusInsufficientStorage, "insufficient_storage", "The store is out of space"},
	{eventstore.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "A dependency is unavailable"},
	{context.Canceled, 499, "canceled", "The client went away"},
}

var internalRow = problemRow{nil, http.StatusInternalServerError, "internal", "Internal error"}

// notFoundDetail is the detail of every 404.
const notFoundDetail = "no such resource, or the caller may not see it"

// problemTypeBase prefixes the code in a problem's "type".
const problemTypeBase = "urn:kinerja:problem:"

// Problem is an RFC 9457 problem detail, the body of every error answer
// (application/problem+json).
type Problem struct {
	// Type is a URI naming the kind: "urn:kinerja:problem:" + Code.
	Type string `json:"type"`
	// Title is a short summary of the kind.
	Title string `json:"title"`
	// Status is the HTTP status.
	Status int `json:"status"`
	// Detail explains this occurrence; generic for 500.
	Detail string `json:"detail"`
	// Code is the stable machine-readable code of api.md.
	Code string `json:"code"`
	// Errors lists each invalid field (validation_failed, invalid_request).
	Errors []domain.FieldError `json:"errors"`
	// RequestID is the X-Request-ID of the request, for support.
	RequestID string `json:"request_id,omitempty"`
}

// requestError is a 400 about one field, parameter or header.
type requestError struct {
	field, msg string
}

func (e *requestError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

func (e *requestError) Unwrap() error { return errInvalidRequest }

func badRequest(field, format string, args ...any) error {
	return &requestError{field: field, msg: fmt.Sprintf(format, args...)}
}

// authError wraps why a token was refused; only the kind is shown.
type authError struct{ err error }

func (e *authError) Error() string { return "unauthenticated: " + e.err.Error() }
func (e *authError) Unwrap() error { return errUnauthenticated }

// problemOf maps err to its problem (without the request ID).
func problemOf(err error) Problem {
	err = faultOf(err)
	row := internalRow
	for _, r := range problemTable {
		if errors.Is(err, r.kind) {
			row = r
			break
		}
	}
	p := Problem{Type: problemTypeBase + row.code, Title: row.title, Status: row.status, Code: row.code, Errors: []domain.FieldError{}}
	var ve *domain.ValidationError
	var re *requestError
	switch {
	case row.status == http.StatusNotFound:
		// One body for every 404: "missing" and "you may not see it" must
		// not differ (api.md, Errors), whichever handler, domain rule or
		// read model said it, so the detail never comes from the error.
		p.Detail = notFoundDetail
	case row.status == http.StatusInternalServerError:
		p.Detail = "an internal error occurred; it has been logged with the request ID"
	case row.status == http.StatusUnauthorized:
		p.Detail = "a valid bearer token is required (missing, expired or invalid)"
	case row.code == "payload_too_large":
		p.Detail = "the request body is over the limit"
	case row.kind == eventstore.ErrNoSpace:
		// The cause is logged; a client learns only what it can act on.
		p.Detail = "the store is out of space and nothing was written; an operator must free space"
	case row.kind == eventstore.ErrUnavailable:
		p.Detail = "a dependency (the database, the disk) is unavailable and nothing was written; repeat the request after Retry-After"
	case row.kind == errHeaderTooLarge:
		p.Detail = "the request's headers are over the server's limit"
	case row.kind == errNotImplemented:
		p.Detail = "the request uses a transfer coding this server does not implement"
	case row.kind == domain.ErrConcurrency:
		p.Detail = "the resource kept changing while the request ran and nothing was written; repeat it after Retry-After"
	case row.kind == skps.ErrBadCursor:
		p.Detail = "cursor: not one this service issued"
		p.Errors = append(p.Errors, domain.FieldError{Field: "cursor", Message: "not one this service issued"})
	case errors.As(err, &ve):
		p.Detail = "the request has invalid values; see errors"
		p.Errors = append(p.Errors, ve.Fields...)
	case errors.As(err, &re):
		p.Detail = re.Error()
		if re.field != "" {
			p.Errors = append(p.Errors, domain.FieldError{Field: re.field, Message: re.msg})
		}
	default:
		p.Detail = err.Error()
	}
	return p
}

// handle turns a handlerFunc into an http.Handler that renders its error.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError renders err as a problem and logs it: 5xx with the error,
// others at debug level with the code only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	if errors.Is(err, domain.ErrConcurrency) {
		// Retryable: not the answer a repeat of the key should get.
		if st, ok := r.Context().Value(idemStateKey).(*idemState); ok {
			st.retryable.Store(true)
		}
	}
	p.RequestID = requestID(r)
	record(r).code = p.Code
	route := routeTemplate(r)
	switch {
	case p.Status >= 500:
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "request_failed", slog.String("request_id", p.RequestID),
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", p.Status), slog.String("error", err.Error()))
	default:
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "request_refused", slog.String("request_id", p.RequestID),
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", p.Status), slog.String("code", p.Code))
	}
	b, _ := json.Marshal(p)
	// Nothing a handler set before it failed (an ETag, a Location, a
	// projection position) describes the error; a 404 in particular must
	// look the same whatever was found first.
	h := w.Header()
	for k := range h {
		if k != "X-Request-Id" {
			delete(h, k)
		}
	}
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="kinerja", error="invalid_token"`)
	}
	if after := retryAfter(p.Code); after != "" {
		h.Set("Retry-After", after)
	}
	h.Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	w.Write(b)
}

// retryAfter is the Retry-After (seconds) of the answers a client should
// repeat later: contention clears when the other writers are done, an
// outage of a dependency takes longer.
func retryAfter(code string) string {
	switch code {
	case "contention":
		return "1"
	case "unavailable":
		return "5"
	}
	return ""
}

// routeTemplate returns the matched route's path template, or "unmatched".
func routeTemplate(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "unmatched"
}
